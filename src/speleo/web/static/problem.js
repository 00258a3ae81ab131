/* One problem: status and known error record, occurrences and time lost, the plan of attack
   (versioned; edit as JSON, mark reviewed), signatures. */
"use strict";
(() => {
  const { $, h, when, dur, fail, call, table, formData, item } = SpeleoOps;
  const base = "/api/v1/problems/" + item;
  async function act(fn) { try { await fn(); await load(); } catch (e) { fail(e.message); } }
  async function load() {
    const p = await call("GET", base);
    if (!p) return;
    document.title = `Problem ${p.id} · Speleo`;
    $("title").textContent = `Problem ${p.id} [${p.status}] ${p.statement}`;
    $("facts").textContent = `occurrences: ${p.recurrence.occurrences} · time lost: ${dur(p.recurrence.time_lost_secs)} · services: ${p.services.join(", ") || "—"}`;
    const f = $("edit").elements;
    for (const k of ["root_cause", "workaround", "known_error"]) if (document.activeElement !== f[k]) f[k].value = p[k];
    table($("incidents"), [["incident", r => h("a", { href: "/incidents/" + r.incident_id, text: String(r.incident_id) })],
      ["title", r => r.title], ["status", r => r.status], ["impact", r => dur(r.impact_secs)], ["how", r => r.how], ["why", r => r.reason]],
      p.incidents, "No incident linked yet.");
    const box = $("plan"); box.textContent = "";
    if (!p.plan) box.append(h("div", { class: "empty", text: "No plan of attack yet." }));
    else {
      const pl = p.plan;
      box.append(h("p", { text: `v${pl.version} of ${p.plan_versions}, owner ${pl.owner}, reviewed ${pl.reviewed_at ? when(pl.reviewed_at) + " by " + pl.reviewed_by : "never"}; time-box ${pl.timebox_minutes} min` }));
      const body = { diagnostics: pl.diagnostics, timebox_minutes: pl.timebox_minutes, people: pl.people, runbook: pl.runbook, communication: pl.communication };
      box.append(h("pre", { text: JSON.stringify(body, null, 2) }));
      if (!$("plan-form").elements.plan.value) $("plan-form").elements.plan.value = JSON.stringify(body, null, 2);
    }
    table($("signatures"), [["id", r => String(r.id)], ["kind", r => r.kind], ["value", r => h("code", { text: r.value })],
      ["", r => h("button", { class: "small", text: "Remove", onclick: () => act(() => call("DELETE", `${base}/signatures/${r.id}`)) })]],
      p.signatures, "No signature: recurrences are not recognised yet.");
  }
  $("edit").onsubmit = (ev) => { ev.preventDefault(); const f = formData(ev.target); for (const k of ["root_cause", "workaround", "known_error"]) f[k] = ev.target.elements[k].value; act(() => call("PATCH", base, f)); };
  $("plan-form").onsubmit = (ev) => {
    ev.preventDefault();
    let body;
    try { body = JSON.parse(ev.target.elements.plan.value); } catch (e) { fail("The plan is not JSON: " + e.message); return; }
    act(() => call("PUT", base + "/plan", body));
  };
  $("review").onclick = () => act(() => call("POST", base + "/plan/review"));
  $("sig").onsubmit = (ev) => { ev.preventDefault(); act(() => call("POST", base + "/signatures", formData(ev.target))); };
  load().catch(e => fail(e.message));
})();
