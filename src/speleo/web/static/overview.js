/* Speleo overview page: indexes, inputs, problems, ingest today (from GET /api/v1/status). */
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) { if (k === "text") e.textContent = v; else e.setAttribute(k, v); }
    for (const k of kids) if (k != null) e.append(k);
    return e;
  }
  const bytes = (n) => { const u = ["B", "KB", "MB", "GB", "TB"]; let i = 0; n = Number(n) || 0; while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; } return (i ? n.toFixed(1) : n) + " " + u[i]; };
  const when = (t) => t == null ? "—" : new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
  function table(id, cols, rows, empty) {
    const box = $(id); box.textContent = "";
    if (!rows.length) { box.append(h("div", { class: "empty", text: empty })); return; }
    const head = h("tr", {}, ...cols.map(([label, , num]) => h("th", { class: num ? "num" : "", text: label })));
    const body = h("tbody", {}, ...rows.map(r => h("tr", {}, ...cols.map(([, fn, num]) => h("td", { class: num ? "num" : "" }, fn(r))))));
    box.append(h("table", { class: "grid" }, h("thead", {}, head), body));
  }
  function card(n, label) { return h("div", { class: "card" }, h("div", { class: "n", text: n }), h("div", { class: "l", text: label })); }
  async function load() {
    const r = await fetch("/api/v1/status", { credentials: "same-origin" });
    if (r.status === 401) { location.href = "/login?next=/overview"; return; }
    const s = await r.json();
    if (!r.ok) { $("error").textContent = (s.error && s.error.message) || r.statusText; $("error").hidden = false; return; }
    if (s.license && s.license.exceeded) {   // the licence budget banner (docs/storage.md)
      $("error").textContent = `Today's indexing volume (${bytes(s.license.bytes)}) is over the daily budget (${bytes(s.license.budget_bytes)}); see Indexes. Indexing goes on.`;
      $("error").hidden = false;
    }
    const flagged = s.problems.reduce((a, p) => a + (p.count || 0), 0);
    $("cards").replaceChildren(card(s.events.toLocaleString(), "events indexed"), card(String(s.indexes.length), "indexes"),
      card(s.ingested_today.events.toLocaleString(), `events ingested today (${s.ingested_today.day})`),
      card(bytes(s.ingested_today.bytes), "ingested today"), card(bytes(s.disk_bytes), "disk used"),
      card(flagged.toLocaleString(), "events flagged or dropped"));
    const search = (name) => h("a", { href: "/?q=" + encodeURIComponent(`index=${name}`), text: name });
    table("indexes", [["index", r => search(r.name)], ["events", r => r.events.toLocaleString(), 1], ["buckets", r => String(r.buckets), 1],
      ["size", r => bytes(r.size_bytes), 1], ["raw", r => bytes(r.raw_bytes), 1], ["earliest", r => when(r.earliest)], ["latest", r => when(r.latest)]],
      s.indexes, "No indexes.");
    const errs = (s.server && s.server.loop_errors) || {};
    table("inputs", [["id", r => String(r.id), 1], ["kind", r => r.kind], ["path", r => r.path ?? "(hidden: needs list_inputs)"], ["index", r => r.index],
      ["sourcetype", r => r.sourcetype || "auto"], ["state", r => r.disabled ? "disabled" : (errs.monitor ? "error: " + errs.monitor : "active")]],
      s.inputs, "No inputs yet: add one with 'speleo add monitor PATH --index main'.");
    table("problems", [["kind", r => r.kind], ["source", r => r.source ?? "(hidden)"], ["reason", r => r.reason], ["events", r => r.count.toLocaleString(), 1],
      ["first", r => when(r.first_at)], ["last", r => when(r.last_at)]], s.problems, "No problems: nothing flagged or dropped.");
  }
  load();
})();
