/* One incident: facts and MTTx times, known problems with their plan of attack (time-box
   countdown, then "restore now"; diagnostics run with one click), roles, stakeholder updates,
   and the timeline (each entry from a search links to the search page over the exact range). */
"use strict";
(() => {
  const { $, h, when, dur, fail, call, table, formData, item } = SpeleoOps;
  const base = "/api/v1/incidents/" + item;
  let countdowns = [], skew = 0;
  async function act(fn) { try { await fn(); await load(); } catch (e) { fail(e.message); } }
  function renderPlans(b) {
    const box = $("plans"); box.textContent = ""; countdowns = [];
    skew = b.now - Date.now() / 1000;   // the server's clock decides when the time-box ends
    if (!b.problems.length) { box.append(h("div", { class: "empty", text: "No known problem matched this incident." })); return; }
    for (const lk of b.problems) {
      const p = lk.problem, plan = lk.plan;
      const sec = h("div", { class: "plan" }, h("h3", {}, h("a", { href: "/problems/" + p.id, text: `Problem ${p.id}` }), ` [${p.status}] ${p.statement}`),
        h("p", { class: "muted", text: `${lk.link.how === "signature" ? "Matched" : "Linked"}: ${lk.link.reason}` }));
      if (p.workaround) sec.append(h("p", { text: "Workaround: " + p.workaround }));
      if (!plan) { sec.append(h("p", { class: "muted", text: "No plan of attack yet." })); box.append(sec); continue; }
      const clock = h("p", { class: "countdown", "aria-live": "polite" });
      countdowns.push([clock, lk.timebox_ends_at, plan.timebox_minutes]);
      sec.append(h("p", { text: `Plan of attack v${plan.version} (owner ${plan.owner}, reviewed ${plan.reviewed_at ? when(plan.reviewed_at) : "never"})` }), clock);
      const diags = h("ol", { start: "0" });
      plan.diagnostics.forEach((d, n) => diags.append(h("li", {}, `${d.name}: `, h("code", { text: d.search || "saved search " + d.saved_search }),
        ` (${d.earliest} .. ${d.latest}) `,
        h("button", { class: "small", text: "Run", onclick: () => act(() => call("POST", base + "/diagnostics", { problem_id: p.id, diagnostic: n })) }))));
      sec.append(h("h4", { text: "Diagnostics" }), diags);
      if (plan.people.length) sec.append(h("h4", { text: "People" }), h("ul", {}, ...plan.people.map(x => h("li", { text: `${x.role}: ${x.who}` }))));
      if (plan.runbook) sec.append(h("h4", { text: "Restore runbook" }), h("pre", { text: plan.runbook }));
      const c = plan.communication;
      if (c && (c.template || c.audience)) sec.append(h("h4", { text: "Communication" }), h("p", { text: `${c.audience || ""} by ${c.channel} to ${(c.to || []).join(", ") || "—"}: ${c.template}` }));
      if (c && c.template) $("update").elements.template.value ||= c.template;
      box.append(sec);
    }
    tick();
  }
  function tick() {
    const now = Date.now() / 1000 + skew;
    for (const [el, ends, mins] of countdowns) {
      const left = ends - now;
      el.className = left > 0 ? "countdown" : "countdown expired";
      el.textContent = left > 0 ? `Time-box ${mins} min: ${dur(left)} left for diagnostics` : "Time-box over: restore now.";
    }
  }
  async function load() {
    const inc = await call("GET", base);
    if (!inc) return;
    document.title = `Incident ${inc.id} · Speleo`;
    $("title").textContent = `Incident ${inc.id} [${inc.severity}, ${inc.status}] ${inc.title}`;
    $("facts").textContent = `services: ${inc.services.join(", ") || "—"} · dedup key: ${inc.dedup_key || "—"} · ` +
      Object.entries(inc.durations).map(([k, v]) => `${k} ${dur(v)}`).join(" · ");
    table($("times"), [["timestamp", r => r[0]], ["UTC", r => when(r[1])]],
      ["impact_started_at", "detected_at", "declared_at", "acknowledged_at", "mitigated_at", "resolved_at", "closed_at"].map(k => [k.replace(/_at$/, "").replace("_", " "), inc[k]]), "");
    table($("roles"), [["role", r => r.role], ["who", r => r.who], ["from", r => when(r.assumed_at)], ["until", r => r.renounced_at ? when(r.renounced_at) : "now"]],
      inc.roles, "Nobody holds a role yet.");
    table($("timeline"), [["when", r => when(r.at)], ["kind", r => r.kind],
      ["what", r => h("span", {}, r.text, r.details && r.details.grouping ? h("div", { class: "muted", text: "why: " + r.details.grouping }) : null,
        r.kind === "diagnostic" ? diagTable(r.details) : null)],
      ["by", r => `${r.actor} (${r.source})`], ["search", r => r.link ? h("a", { href: r.link, text: "re-run" }) : ""]],
      inc.timeline.slice().reverse(), "Empty timeline.");
    renderPlans(await call("GET", base + "/problems"));
  }
  function diagTable(d) {
    const rows = d.rows || [], cols = (d.fields || []).filter(f => !f.startsWith("_") || f === "_raw" || f === "_time").slice(0, 8);
    if (!rows.length) return h("div", { class: "muted", text: "no results" });
    return h("table", { class: "grid" }, h("thead", {}, h("tr", {}, ...cols.map(c => h("th", { text: c })))),
      h("tbody", {}, ...rows.slice(0, 20).map(r => h("tr", {}, ...cols.map(c => h("td", { text: r[c] == null ? "" : String(r[c]) }))))));
  }
  $("ack").onclick = () => act(() => call("POST", base + "/ack"));
  $("mitigate").onclick = () => act(() => call("PATCH", base, { status: "mitigated" }));
  $("resolve").onclick = () => act(() => call("POST", base + "/resolve", {}));
  $("assign").onsubmit = (ev) => { ev.preventDefault(); act(() => call("POST", base + "/roles", formData(ev.target))); };
  $("note").onsubmit = (ev) => { ev.preventDefault(); act(() => call("POST", base + "/timeline", { kind: "note", text: formData(ev.target).text })); ev.target.reset(); };
  $("update").onsubmit = (ev) => {
    ev.preventDefault();
    const f = formData(ev.target), list = (s) => (s || "").split(",").map(x => x.trim()).filter(Boolean);
    f.emails = list(f.emails); f.webhooks = list(f.webhooks);
    act(async () => { const e = await call("POST", base + "/updates", f); $("update-msg").textContent = `sent ${e.details.sent}, failed ${e.details.failed}`; });
  };
  setInterval(tick, 1000);
  setInterval(() => load().catch(() => {}), 15000);
  load().catch(e => fail(e.message));
})();
