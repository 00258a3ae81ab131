/* Speleo indexes page: the licence record (chart, budget banner), indexes, one index's settings
   (Splunk's indexes.conf names, saved with PATCH /api/v1/indexes/{name}), buckets by state with
   sizes measured on disk, archives; "Run retention now" (POST /api/v1/retention/run). */
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const CSRF = document.querySelector('meta[name="csrf-token"]').content;
  const SETTINGS = ["frozenTimePeriodInSecs", "maxTotalDataSizeMB", "maxDataSize", "maxHotSpanSecs", "maxWarmDBCount",
    "homePath", "coldPath", "thawedPath", "coldToFrozenDir", "volume", "coldCompressionLevel"];
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) { if (k === "text") e.textContent = v; else e.setAttribute(k, v); }
    for (const k of kids) if (k != null) e.append(k);
    return e;
  }
  const bytes = (n) => { if (n == null) return "missing"; const u = ["B", "KB", "MB", "GB", "TB"]; let i = 0; n = Number(n) || 0; while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; } return (i ? n.toFixed(1) : n) + " " + u[i]; };
  const when = (t) => t == null ? "—" : new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
  function table(id, cols, rows, empty) {
    const box = $(id); box.textContent = "";
    if (!rows.length) { box.append(h("div", { class: "empty", text: empty })); return; }
    const head = h("tr", {}, ...cols.map(([label, , num]) => h("th", { class: num ? "num" : "", text: label })));
    const body = h("tbody", {}, ...rows.map(r => h("tr", {}, ...cols.map(([, fn, num]) => h("td", { class: num ? "num" : "" }, fn(r))))));
    box.append(h("table", { class: "grid" }, h("thead", {}, head), body));
  }
  function fail(message) { $("error").textContent = message; $("error").hidden = false; }
  async function api(method, path, body) {
    const r = await fetch(path, { method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF }, body: body ? JSON.stringify(body) : undefined });
    if (r.status === 401) { location.href = "/login?next=/indexes"; throw new Error("signed out"); }
    const data = await r.json();
    if (!r.ok) throw new Error((data.error && data.error.message) || r.statusText);
    return data;
  }
  async function license() {
    const u = await api("GET", "/api/v1/license/usage?by=index&days=30");
    const st = u.status;
    $("license-status").textContent = `today (${st.day}): ${bytes(st.bytes)}` + (st.budget_bytes ? ` of a ${bytes(st.budget_bytes)} daily budget` : " (no budget set)")
      + `; dropped by ingest filters today: ${bytes(st.filtered_bytes)}; warnings in 30 days: ${st.warnings_30d.length}`;
    if (st.exceeded) { $("license-banner").textContent = `Today's indexing volume (${bytes(st.bytes)}) is over the daily budget (${bytes(st.budget_bytes)}). Indexing goes on.`; $("license-banner").hidden = false; }
    const names = [...new Set(u.rows.map(r => r.index))];
    const byDay = {};
    for (const r of u.rows) { byDay[r.day] = byDay[r.day] || { day: r.day }; byDay[r.day][r.index] = r.bytes; }
    const rows = Object.values(byDay).map(d => { for (const n of names) d[n] = d[n] || 0; return d; });
    SpeleoCharts.chart($("license-chart"), "column", rows, "day", names);
  }
  async function show(name) {
    const d = await api("GET", "/api/v1/indexes/" + encodeURIComponent(name));
    $("detail").hidden = false; $("detail-title").textContent = `${name}: ${d.events.toLocaleString()} events, ${bytes(d.disk_bytes)} on disk`;
    const form = $("settings"); form.textContent = "";
    for (const k of SETTINGS) {
      const input = h("input", { name: k, value: String(d.settings[k] ?? ""), size: "40" });
      form.append(h("label", {}, h("span", { text: k + (d.explicit_settings.includes(k) ? "" : " (default)") + " " }), input), h("br"));
    }
    form.dataset.index = name; form.dataset.initial = JSON.stringify(d.settings);
    table("buckets", [["id", b => String(b.id), 1], ["state", b => b.state], ["earliest", b => when(b.earliest)], ["latest", b => when(b.latest)],
      ["events", b => b.events.toLocaleString(), 1], ["on disk", b => bytes(b.disk_bytes), 1],
      ["note", b => (b.kept_by_newer_event ? "kept by a newer event" : "") + (b.future_dated ? " future-dated" : "")]], d.buckets, "No buckets.");
    table("archives", [["location", a => a.location], ["earliest", a => when(a.min_time)], ["latest", a => when(a.max_time)],
      ["events", a => a.event_count.toLocaleString(), 1], ["size", a => bytes(a.size_bytes), 1]], d.archives, "Nothing archived.");
  }
  async function save() {
    const form = $("settings"), initial = JSON.parse(form.dataset.initial), changes = {};
    for (const input of form.querySelectorAll("input")) if (input.value !== String(initial[input.name] ?? "")) changes[input.name] = input.value;
    if (!Object.keys(changes).length) { $("saved").textContent = "nothing changed"; return; }
    await api("PATCH", "/api/v1/indexes/" + encodeURIComponent(form.dataset.index), changes);
    $("saved").textContent = "saved: " + Object.keys(changes).join(", ");
    await show(form.dataset.index);
  }
  async function retention() {
    const r = await api("POST", "/api/v1/retention/run", {});
    $("saved").textContent = `retention: ${r.actions.length} buckets moved, ${r.failures.length} failures`;
    await load();
  }
  async function load() {
    const list = await api("GET", "/api/v1/indexes");
    table("indexes", [["index", r => h("a", { href: "#" + r.name, text: r.name }), 0], ["events", r => r.events.toLocaleString(), 1],
      ["buckets", r => String(r.buckets), 1], ["size", r => bytes(r.size_bytes), 1], ["earliest", r => when(r.earliest)], ["latest", r => when(r.latest)]],
      list, "No indexes.");
    if (location.hash.length > 1) await show(decodeURIComponent(location.hash.slice(1)));
  }
  const guard = (fn) => () => fn().catch(e => fail(e.message));
  window.addEventListener("hashchange", guard(load));
  $("save").addEventListener("click", guard(save));
  $("retention").addEventListener("click", guard(retention));
  guard(license)(); guard(load)();
})();
