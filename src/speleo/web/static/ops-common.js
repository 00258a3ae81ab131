/* Shared helpers of the operations pages (incidents, problems, status): element builder, API
   calls with the session's CSRF token, times in UTC, tables. Written for Speleo. */
"use strict";
window.SpeleoOps = (() => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v;
      else if (k === "onclick") e.onclick = v;
      else if (v !== null && v !== undefined) e.setAttribute(k, v);
    }
    for (const k of kids) if (k != null) e.append(k);
    return e;
  }
  const when = (t) => t == null ? "—" : new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
  const dur = (s) => s == null ? "—" : `${Math.floor(s / 3600)}h${String(Math.floor(s % 3600 / 60)).padStart(2, "0")}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  function fail(text) { const b = $("error"); if (b) { b.textContent = text; b.hidden = false; } else alert(text); }
  async function call(method, path, body) {
    const opts = { method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf } };
    if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
    const r = await fetch(path, opts);
    if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); return null; }
    const b = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((b.error && b.error.message) || r.statusText);
    return b;
  }
  function table(box, cols, rows, empty) {
    box.textContent = "";
    if (!rows.length) { box.append(h("div", { class: "empty", text: empty })); return; }
    const head = h("tr", {}, ...cols.map(([label]) => h("th", { text: label })));
    const body = h("tbody", {}, ...rows.map(r => h("tr", {}, ...cols.map(([, fn]) => h("td", {}, fn(r))))));
    box.append(h("table", { class: "grid" }, h("thead", {}, head), body));
  }
  function formData(form) {
    const out = {};
    for (const [k, v] of new FormData(form).entries()) if (String(v).trim() !== "") out[k] = String(v).trim();
    return out;
  }
  return { $, h, when, dur, fail, call, table, formData, item: document.body.dataset.item };
})();
