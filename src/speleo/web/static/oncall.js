/* Speleo on-call page: who is on call now (GET /api/v1/oncall/who), one schedule as a week or month
   calendar of shifts and gaps in the schedule's own time zone (GET .../schedules/{name}/shifts: each
   shift carries start_local/end_local, so days are the schedule's local days), escalation policies
   and recent escalation chains. */
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const CSRF = document.querySelector('meta[name="csrf-token"]').content;
  let anchor = null;  // "YYYY-MM-DD": a local day of the schedule shown
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) { if (k === "text") e.textContent = v; else e.setAttribute(k, v); }
    for (const k of kids) if (k != null) e.append(k);
    return e;
  }
  const when = (t) => t == null ? "—" : new Date(t * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC";
  function table(id, cols, rows, empty) {
    const box = $(id); box.textContent = "";
    if (!rows.length) { box.append(h("div", { class: "empty", text: empty })); return; }
    const head = h("tr", {}, ...cols.map(([label]) => h("th", { text: label })));
    const body = h("tbody", {}, ...rows.map(r => h("tr", {}, ...cols.map(([, fn]) => h("td", {}, fn(r))))));
    box.append(h("table", { class: "grid" }, h("thead", {}, head), body));
  }
  function fail(e) { $("error").textContent = e.message || String(e); $("error").hidden = false; }
  async function api(path) {
    const r = await fetch(path, { credentials: "same-origin", headers: { "X-CSRF-Token": CSRF } });
    if (r.status === 401) { location.href = "/login?next=/oncall"; throw new Error("signed out"); }
    const data = await r.json();
    if (!r.ok) throw new Error((data.error && data.error.message) || r.statusText);
    return data;
  }
  // calendar days as "YYYY-MM-DD" strings, stepped with UTC dates (no zone arithmetic needed)
  const addDays = (d, n) => new Date(Date.parse(d + "T00:00:00Z") + n * 86400000).toISOString().slice(0, 10);
  const weekday = (d) => (new Date(d + "T00:00:00Z").getUTCDay() + 6) % 7;  // Monday = 0
  const localToday = (tz) => new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
  function firstDay(days) {
    if (days === 7) return addDays(anchor, -weekday(anchor));
    const first = anchor.slice(0, 8) + "01";
    return addDays(first, -weekday(first));
  }
  function spread(items, cells, cls) {
    for (const it of items) {
      const d0 = it.start_local.slice(0, 10), d1 = it.end_local.slice(0, 10), t1 = it.end_local.slice(11, 16);
      for (let d = d0; d <= d1; d = addDays(d, 1)) {
        if (d === d1 && t1 === "00:00" && d !== d0) break;
        const cell = cells[d]; if (!cell) continue;
        const from = d === d0 ? it.start_local.slice(11, 16) : "00:00", to = d === d1 ? t1 : "24:00";
        const label = `${from}–${to} ${it.user || "nobody (gap)"}` + (it.source === "override" ? " (override)" : "");
        cell.append(h("div", { class: "shift " + cls, title: `${it.start_local} → ${it.end_local}`, text: label }));
      }
    }
  }
  async function calendar() {
    const name = $("schedule").value; if (!name) { $("calendar").textContent = "No schedules yet: speleo oncall schedule create NAME --tz ZONE"; return; }
    const sc = await api("/api/v1/oncall/schedules/" + encodeURIComponent(name));
    if (!anchor) anchor = localToday(sc.time_zone);
    const n = Number($("view").value), first = firstDay(n), last = addDays(first, n - 1);
    const start = Date.parse(first + "T00:00:00Z") / 1000 - 86400, end = Date.parse(last + "T00:00:00Z") / 1000 + 2 * 86400;
    const data = await api(`/api/v1/oncall/schedules/${encodeURIComponent(name)}/shifts?start=${start}&end=${end}`);
    $("range").textContent = `${first} – ${last} (${sc.time_zone})`;
    const grid = h("div", { class: "cal-grid" }), cells = {};
    for (const w of ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]) grid.append(h("div", { class: "cal-head", text: w }));
    const today = localToday(sc.time_zone);
    for (let i = 0; i < n; i++) {
      const d = addDays(first, i);
      const cell = h("div", { class: "cal-day" + (d === today ? " today" : ""), "data-day": d }, h("div", { class: "cal-date", text: d.slice(5) }));
      cells[d] = cell; grid.append(cell);
    }
    spread(data.shifts, cells, "on");
    spread(data.gaps.map(g => ({ ...g, user: null })), cells, "gap");
    $("calendar").textContent = ""; $("calendar").append(grid);
    $("layers").textContent = sc.rotations.map(r => `${r.name} (layer ${r.layer}): ${r.users.join(", ")}, ` +
      `${r.kind === "custom" ? `every ${r.length} ${r.unit}` : r.kind}, hand-off ${r.handoff}`).join(" · ") || "No rotations.";
  }
  async function load() {
    const [who, scheds, pols, escs] = await Promise.all([api("/api/v1/oncall/who"), api("/api/v1/oncall/schedules"),
      api("/api/v1/oncall/policies"), api("/api/v1/oncall/escalations?limit=20")]);
    table("now", [["schedule", w => w.schedule], ["on call", w => w.user || "nobody (a gap)"], ["until", w => when(w.until)]],
      who.oncall, "No schedules.");
    const sel = $("schedule"), keep = sel.value; sel.textContent = "";
    for (const s of scheds.schedules) sel.append(h("option", { value: s.name, text: `${s.name} (${s.time_zone})` }));
    if (keep) sel.value = keep;
    const step = (s) => s.kind === "wait" ? `wait ${s.minutes} min` : s.kind === "repeat" ? `repeat ×${s.times}`
      : `${s.kind.replace("_", " ")} ${s.schedule || s.user || s.policy}`;
    table("policies", [["policy", p => p.name + (p.default ? " (default)" : "")], ["services", p => p.services.join(", ")],
      ["steps", p => p.steps.map(step).join(" → ")]], pols.policies, "No escalation policies.");
    table("escalations", [["incident", e => String(e.incident_id)], ["policy", e => e.policy || "—"], ["state", e => e.state],
      ["started", e => when(e.started_at)], ["steps", e => e.steps.map(s => `${s.seq}:${s.state}`).join(" ")]],
      escs.escalations, "No escalations yet.");
    await calendar();
  }
  const move = (sign) => { anchor = addDays(anchor, sign * (Number($("view").value) === 7 ? 7 : 30)); calendar().catch(fail); };
  $("prev").onclick = () => move(-1);
  $("next").onclick = () => move(1);
  $("today").onclick = () => { anchor = null; calendar().catch(fail); };
  $("schedule").onchange = () => { anchor = null; calendar().catch(fail); };
  $("view").onchange = () => calendar().catch(fail);
  load().catch(fail);
})();
