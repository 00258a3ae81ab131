/* Problems list and the create form (over /api/v1/problems). */
"use strict";
(() => {
  const { $, h, when, fail, call, table, formData } = SpeleoOps;
  async function load() {
    const b = await call("GET", "/api/v1/problems");
    if (!b) return;
    table($("list"), [["id", r => h("a", { href: "/problems/" + r.id, text: String(r.id) })], ["status", r => r.status],
      ["statement", r => h("a", { href: "/problems/" + r.id, text: r.statement })], ["occurrences", r => String(r.occurrences)],
      ["signatures", r => String(r.signatures)], ["created", r => when(r.created_at)]], b.problems, "No problems recorded.");
  }
  $("create").onsubmit = async (ev) => {
    ev.preventDefault();
    const f = formData(ev.target);
    f.services = (f.services || "").split(",").map(s => s.trim()).filter(Boolean);
    f.incidents = (f.incidents || "").split(",").map(s => parseInt(s, 10)).filter(n => !isNaN(n));
    try { const p = await call("POST", "/api/v1/problems", f); if (p) location.href = "/problems/" + p.id; }
    catch (e) { fail(e.message); }
  };
  load().catch(e => fail(e.message));
})();
