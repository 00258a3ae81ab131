/* Speleo learning pages over /api/v1/postmortems, /api/v1/actions and /api/v1/checklists:
   /postmortems[?id=N]   a post-mortem's phase, its gate (the rules that block the next phase), the
                         timeline (accept/reject in phase 1), issues, actions, export links;
   /actions              the backlog: open and overdue actions by team, owner, source and age;
   /checklists[?run=N]   checklist runs: release, pause point, items with their evidence, sign-off.
   Every text from the API goes in with textContent (never as HTML). */
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const CSRF = document.querySelector('meta[name="csrf-token"]').content;
  const params = new URLSearchParams(location.search);
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v; else if (k === "onclick") e.addEventListener("click", v); else e.setAttribute(k, v);
    }
    for (const k of kids) if (k != null) e.append(k);
    return e;
  }
  const when = (t) => t == null ? "—" : new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
  function table(cols, rows, empty) {
    if (!rows.length) return h("div", { class: "empty", text: empty });
    const head = h("tr", {}, ...cols.map(([label]) => h("th", { text: label })));
    const body = h("tbody", {}, ...rows.map(r => h("tr", {}, ...cols.map(([, fn]) => { const v = fn(r); return h("td", {}, v instanceof Node ? v : String(v ?? "")); }))));
    return h("div", { class: "table-wrap" }, h("table", { class: "grid" }, h("thead", {}, head), body));
  }
  function fail(message) { $("error").textContent = message; $("error").hidden = false; }
  async function api(method, path, body) {
    const r = await fetch(path, { method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF }, body: body ? JSON.stringify(body) : undefined });
    if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search); throw new Error("signed out"); }
    const data = await r.json();
    if (!r.ok) throw new Error((data.error && data.error.message) || r.statusText);
    return data;
  }
  const act = (fn) => async () => { try { $("error").hidden = true; await fn(); await route(); } catch (e) { fail(e.message); } };
  const view = $("view");

  // -- post-mortems ------------------------------------------------------------------------
  const PHASES = ["timeline", "issues", "actions", "complete"];
  async function postmortems() {
    const { postmortems } = await api("GET", "/api/v1/postmortems");
    view.append(h("h2", { text: "Post-mortems" }), table([
      ["#", r => h("a", { href: `/postmortems?id=${r.id}`, text: String(r.id) })], ["incident", r => r.incident_id],
      ["phase", r => r.phase], ["facilitator", r => r.facilitator || "—"], ["title", r => r.title]],
      postmortems, "No post-mortem yet: start one from a resolved incident ('speleo postmortem start INCIDENT')."));
  }
  async function postmortem(id) {
    const pm = await api("GET", `/api/v1/postmortems/${id}`);
    view.append(h("h2", { text: pm.title }),
      h("p", { class: "muted", text: `Incident ${pm.incident_id} · facilitator ${pm.facilitator || "—"} · attendees ${pm.attendees.join(", ") || "—"}` }),
      h("ol", { class: "phases", "aria-label": "Phases" }, ...PHASES.map(p => h("li", p === pm.phase ? { "aria-current": "step", class: "current" } : {}, h(p === pm.phase ? "strong" : "span", { text: p })))));
    const gate = h("section", { id: "gate" }, h("h3", { text: pm.phase === "complete" ? "Complete" : `Gate to leave phase ${pm.phase}` }));
    if (pm.phase !== "complete") {
      gate.append(pm.gate.length ? h("ul", {}, ...pm.gate.map(g => h("li", {}, h("code", { text: g.rule }), " " + g.message))) : h("p", { text: "Nothing blocks the next phase." }));
      const agreed = h("input", { type: "checkbox", id: "agreed" });
      if (pm.phase === "timeline") gate.append(h("label", {}, agreed, " The facilitator records that everyone agrees on the timeline "));
      gate.append(h("button", { type: "button", id: "advance", onclick: act(() => api("POST", `/api/v1/postmortems/${id}/advance`, { agreed: agreed.checked })), text: "Advance" }));
    }
    view.append(gate, h("h3", { text: "Timeline" }), table([
      ["#", e => e.id], ["time", e => when(e.at)], ["what", e => e.text], ["source", e => e.source],
      ["state", e => e.state + (e.impact_start ? " · impact start" : "") + (e.detection ? " · detection" : "") + (e.late ? " · late" : "")],
      ["search", e => e.link ? h("a", { href: e.link, text: "re-run" }) : ""],
      ["", e => pm.phase !== "timeline" ? "" : h("span", {},
        h("button", { type: "button", class: "link", onclick: act(() => api("PATCH", `/api/v1/postmortems/${id}/entries/${e.id}`, { state: "accepted" })), text: "accept" }), " ",
        h("button", { type: "button", class: "link", onclick: act(() => api("PATCH", `/api/v1/postmortems/${id}/entries/${e.id}`, { state: "rejected" })), text: "reject" }), " ",
        h("button", { type: "button", class: "link", onclick: act(() => api("PATCH", `/api/v1/postmortems/${id}/entries/${e.id}`, { impact_start: true })), text: "impact start" }), " ",
        h("button", { type: "button", class: "link", onclick: act(() => api("PATCH", `/api/v1/postmortems/${id}/entries/${e.id}`, { detection: true })), text: "detection" }))]],
      pm.entries, "No entries."),
      h("h3", { text: "Issues" }), table([["#", i => i.id], ["issue", i => i.text + (i.late ? " (late)" : "")], ["entries", i => i.entries.join(", ")]], pm.issues, "No issue yet (phase 2)."),
      h("h3", { text: "Actions" }), table([["#", a => a.id], ["issue", a => a.source_item], ["action", a => a.title], ["type", a => a.type],
        ["owner", a => a.owner], ["due", a => when(a.due_at)], ["expected result", a => a.expected], ["status", a => a.status],
        ["warnings", a => a.warnings.join("; ")]], pm.actions, "No action yet (phase 3)."),
      forms(pm),
      h("p", {}, h("a", { href: `/api/v1/postmortems/${id}/export?format=html`, text: "Printable page" }), " · ",
        h("a", { href: `/api/v1/postmortems/${id}/export?format=markdown`, text: "Markdown" })));
  }

  // what the current phase records: entries (any phase but complete; late after phase 1), issues, actions
  function forms(pm) {
    if (pm.phase === "complete") return null;
    const id = pm.id;
    const field = (name, attrs) => h("label", {}, name + " ", h("input", { name, ...attrs }));
    const values = (form) => Object.fromEntries(new FormData(form).entries());
    const epoch = (v) => Date.parse(v.length === 10 ? v + "T00:00:00Z" : (/Z$|[+-]\d\d:\d\d$/.test(v) ? v : v + "Z")) / 1000;
    const submit = (form, fn) => { form.addEventListener("submit", (ev) => { ev.preventDefault(); act(() => fn(values(form)))(); }); return form; };
    const box = h("section", { id: "record" });
    box.append(h("h3", { text: pm.phase === "timeline" ? "Add a timeline entry" : "Add a late timeline entry" }),
      submit(h("form", { id: "entry-form", class: "settings" }, field("at", { placeholder: "2026-12-04T08:00:00Z", required: "" }),
        field("text", { required: "", size: "50" }), h("button", { type: "submit", text: "Add entry" })),
      (v) => api("POST", `/api/v1/postmortems/${id}/entries`, { at: epoch(v.at), text: v.text })));
    if (pm.phase !== "timeline") {
      box.append(h("h3", { text: "Add an issue" }),
        submit(h("form", { id: "issue-form", class: "settings" }, field("text", { required: "", size: "50" }),
          field("entries", { placeholder: "entry numbers, e.g. 3, 7", required: "" }), h("button", { type: "submit", text: "Add issue" })),
        (v) => api("POST", `/api/v1/postmortems/${id}/issues`, { text: v.text, entries: v.entries.split(/[ ,]+/).filter(Boolean).map(Number) })));
    }
    if (pm.phase === "actions") {
      const type = h("select", { name: "type" }, ...["detect", "prevent", "mitigate", "process"].map(t => h("option", { value: t, text: t })));
      const issue = h("select", { name: "issue" }, ...pm.issues.map(i => h("option", { value: String(i.id), text: `${i.id}: ${i.text}` })));
      box.append(h("h3", { text: "Add an action" }),
        submit(h("form", { id: "action-form", class: "settings" }, h("label", {}, "issue ", issue), field("title", { size: "40", placeholder: "add an alert on ..." }),
          field("owner", { required: "" }), field("expected", { size: "40", placeholder: "an alert fires within 5 minutes" }),
          field("due", { type: "date", required: "" }), h("label", {}, "type ", type), h("button", { type: "submit", text: "Add action" })),
        (v) => api("POST", `/api/v1/postmortems/${id}/actions`, { issue: Number(v.issue), title: v.title || undefined, owner: v.owner,
          expected: v.expected || undefined, due_at: epoch(v.due), type: v.type })));
    }
    return box;
  }

  // -- actions ---------------------------------------------------------------------------------
  async function actions() {
    const [b, { actions }] = await Promise.all([api("GET", "/api/v1/actions/backlog"), api("GET", "/api/v1/actions?status=open")]);
    view.append(h("h2", { text: "Action backlog" }), h("p", { id: "backlog-summary", text: `${b.open} open, ${b.overdue} overdue` }));
    for (const [key, label] of [["by_team", "By team"], ["by_owner", "By owner"], ["by_source", "By source"], ["by_age", "By age"]]) {
      view.append(h("h3", { text: label }), table([["", g => g.key], ["open", g => g.open], ["overdue", g => g.overdue]], b[key], "Nothing open."));
    }
    view.append(h("h3", { text: "Open actions" }), table([["#", a => a.id], ["due", a => when(a.due_at) + (a.overdue ? " (overdue)" : "")],
      ["owner", a => a.owner], ["team", a => a.team || "—"], ["type", a => a.type], ["source", a => `${a.source_type} ${a.source_id}`],
      ["action", a => a.title], ["age (days)", a => a.age_days]], actions, "No open action."));
  }

  // -- checklists ------------------------------------------------------------------------------
  async function checklists() {
    const { runs } = await api("GET", "/api/v1/checklists/runs");
    view.append(h("h2", { text: "Checklist runs" }), table([
      ["#", r => h("a", { href: `/checklists?run=${r.id}`, text: String(r.id) })], ["checklist", r => r.template],
      ["release", r => `${r.release.name} ${r.release.version}`], ["at", r => when(r.release.at)], ["who", r => r.release.who],
      ["signed off", r => r.signed_off_at ? `${r.signed_off_by}, ${when(r.signed_off_at)}` : (r.blocking.length ? `blocked (${r.blocking.length})` : "ready")]],
      runs, "No run yet ('speleo checklist run TEMPLATE --release NAME --version V')."));
  }
  async function run(id) {
    const r = await api("GET", `/api/v1/checklists/runs/${id}`);
    view.append(h("h2", { text: `${r.template}: release ${r.release.name} ${r.release.version}` }),
      h("p", { class: "muted", text: `by ${r.release.who} at ${when(r.release.at)} · pause point: ${r.pause_point}` }),
      table([["#", i => i.id], ["item", i => i.name], ["kind", i => i.kind + (i.required ? "" : " (optional)")], ["status", i => i.status],
        ["evidence", i => i.evidence.length ? `${when(i.evidence[i.evidence.length - 1].at)}: ${i.evidence[i.evidence.length - 1].detail || ""}` : "—"],
        ["", i => r.signed_off_at ? "" : h("button", { type: "button", class: "link", onclick: act(() => api("POST", `/api/v1/checklists/runs/${id}/items/${i.id}/confirm`, { ok: true })), text: i.kind === "manual" ? "confirm" : "check" })]],
      r.items, "No items."),
      h("p", { id: "signoff-state", text: r.signed_off_at ? `Signed off by ${r.signed_off_by} at ${when(r.signed_off_at)}` : (r.blocking.length ? `Sign-off blocked by: ${r.blocking.join(", ")}` : "Every required item passed.") }));
    if (!r.signed_off_at) {
      view.append(h("button", { type: "button", onclick: act(() => api("POST", `/api/v1/checklists/runs/${id}/check`)), text: "Run automated checks" }), " ",
        h("button", { type: "button", onclick: act(() => api("POST", `/api/v1/checklists/runs/${id}/signoff`)), text: "Sign off" }));
    }
  }

  async function route() {
    view.textContent = "";
    const page = location.pathname.slice(1);
    const nav = $(`nav-${page}`);
    if (nav) nav.setAttribute("aria-current", "page");
    try {
      if (page === "postmortems") await (params.get("id") ? postmortem(params.get("id")) : postmortems());
      else if (page === "actions") await actions();
      else await (params.get("run") ? run(params.get("run")) : checklists());
    } catch (e) { fail(e.message); }
  }
  route();
})();
