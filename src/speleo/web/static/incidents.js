/* Incidents list and the declare form (over /api/v1/incidents). */
"use strict";
(() => {
  const { $, h, when, fail, call, table, formData } = SpeleoOps;
  async function load() {
    const b = await call("GET", "/api/v1/incidents" + ($("open-only").checked ? "?open=true" : ""));
    if (!b) return;
    table($("list"), [["id", r => h("a", { href: "/incidents/" + r.id, text: String(r.id) })], ["severity", r => r.severity],
      ["status", r => r.status], ["title", r => h("a", { href: "/incidents/" + r.id, text: r.title })],
      ["services", r => r.services.join(", ")], ["declared", r => when(r.declared_at)], ["resolved", r => when(r.resolved_at)]],
      b.incidents, "No incidents.");
  }
  $("open-only").onchange = () => load().catch(e => fail(e.message));
  $("declare").onsubmit = async (ev) => {
    ev.preventDefault();
    const f = formData(ev.target);
    f.services = (f.services || "").split(",").map(s => s.trim()).filter(Boolean);
    try { const inc = await call("POST", "/api/v1/incidents", f); if (inc) location.href = "/incidents/" + inc.id; }
    catch (e) { fail(e.message); }
  };
  load().catch(e => fail(e.message));
})();
