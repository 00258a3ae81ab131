/* Alerts page: save an alert (POST /services/saved/searches), list scheduled searches with
   next run and last result, history, enable/disable, silence for an hour, fired alerts. */
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) { if (k === "text") e.textContent = v; else if (k === "onclick") e.onclick = v; else e.setAttribute(k, v); }
    for (const k of kids) if (k != null) e.append(k);
    return e;
  }
  const when = (t) => !t ? "—" : new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
  function table(id, cols, rows, empty) {
    const box = $(id); box.textContent = "";
    if (!rows.length) { box.append(h("div", { class: "empty", text: empty })); return; }
    const head = h("tr", {}, ...cols.map(([label]) => h("th", { text: label })));
    const body = h("tbody", {}, ...rows.map(r => h("tr", {}, ...cols.map(([, fn]) => h("td", {}, fn(r))))));
    box.append(h("table", { class: "grid" }, h("thead", {}, head), body));
  }
  function fail(text) { $("error").textContent = text; $("error").hidden = false; }
  async function call(method, path, form) {
    const opts = { method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf } };
    if (form) { opts.body = new URLSearchParams(form); opts.headers["Content-Type"] = "application/x-www-form-urlencoded"; }
    const r = await fetch(path + (path.includes("?") ? "&" : "?") + "output_mode=json", opts);
    if (r.status === 401) { location.href = "/login?next=/alerts"; return null; }
    const b = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((b.messages && b.messages[0] && b.messages[0].text) || r.statusText);
    return b;
  }
  const base = (name) => "/services/saved/searches/" + encodeURIComponent(name);
  async function history(name) {
    $("history-name").textContent = name;
    const b = await call("GET", base(name) + "/history");
    table("history", [["scheduled", r => when(r.content.scheduled_time)], ["status", r => r.content.status],
      ["results", r => String(r.content.result_count ?? "")], ["fired", r => r.content.triggered ? (r.content.suppressed ? "suppressed" : "yes") : "no"],
      ["actions", r => r.content.alert_actions || ""], ["reason", r => r.content.reason || ""]], b.entry, "No runs yet.");
  }
  async function act(fn) { try { await fn(); await load(); } catch (e) { fail(e.message); } }
  async function load() {
    const b = await call("GET", "/services/saved/searches?count=0");
    if (!b) return;
    table("alerts", [["name", r => h("a", { href: "#", text: r.name, onclick: (ev) => { ev.preventDefault(); history(r.name).catch(e => fail(e.message)); } })],
      ["schedule", r => r.content.is_scheduled ? r.content.cron_schedule : "—"],
      ["condition", r => r.content.alert_condition || (r.content.alert_type === "always" ? "always" : `${r.content.alert_type} ${r.content.alert_comparator} ${r.content.alert_threshold}`)],
      ["actions", r => r.content.actions || "—"], ["next run", r => r.content.next_scheduled_time || "—"],
      ["fired", r => String(r.content.triggered_alert_count)],
      ["", r => h("span", {},
        h("button", { class: "small", text: r.content.disabled ? "Enable" : "Disable",
          onclick: () => act(() => call("POST", base(r.name), { disabled: r.content.disabled ? "0" : "1" })) }), " ",
        h("button", { class: "small", text: "Silence 1 h",
          onclick: () => act(() => call("POST", base(r.name) + "/suppress", { expiration: "3600" })) }))]],
      b.entry, "No saved searches yet: save one below, or import a savedsearches.conf with 'speleo saved import'.");
    const f = await call("GET", "/services/alerts/fired_alerts");
    const rows = [];
    for (const e of f.entry) {
      const one = await call("GET", "/services/alerts/fired_alerts/" + encodeURIComponent(e.name));
      rows.push(...one.entry.map(x => x.content));
    }
    rows.sort((a, b) => b.trigger_time - a.trigger_time);
    table("fired", [["triggered", r => r.trigger_time_rendered], ["saved search", r => r.savedsearch_name], ["severity", r => String(r.severity)],
      ["results", r => String(r.triggered_alerts)], ["actions", r => r.actions || "—"], ["expires", r => r.expiration_time_rendered]],
      rows, "Nothing fired.");
  }
  function formData() {
    const fd = new FormData($("new-alert"));
    const out = {};
    for (const [k, v] of fd.entries()) if (v !== "" && k !== "preset") out[k] = v;
    out.is_scheduled = "1";
    const actions = [];
    if (out["action.email.to"]) actions.push("email");
    if (out["action.webhook.param.url"]) actions.push("webhook");
    if (actions.length) out.actions = actions.join(",");
    if (out["alert.suppress.period"]) out["alert.suppress"] = "1";
    if (out.alert_type === "always") { delete out.alert_comparator; delete out.alert_threshold; }
    if (out.alert_condition) out.alert_type = "custom";
    return out;
  }
  $("preset").addEventListener("change", () => { if ($("preset").value) $("cron").value = $("preset").value; });
  $("new-alert").addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(async () => { await call("POST", "/services/saved/searches", formData()); $("form-msg").textContent = "Saved."; });
  });
  $("test-send").addEventListener("click", () => act(async () => {
    const data = formData();
    const name = data.name || "test";
    data.name = name + " (test " + Date.now() + ")";
    data.is_scheduled = "0";
    await call("POST", "/services/saved/searches", data);
    try {
      const d = await call("POST", base(data.name) + "/dispatch", { trigger_actions: "1" });
      const hist = await call("GET", base(data.name) + "/history");
      const run = hist.entry.find(e => e.name === d.sid);
      $("form-msg").textContent = run ? `Test run: ${run.content.result_count} results; ${run.content.reason || ""}` : "Test run done.";
    } finally {
      await call("DELETE", base(data.name));
      await call("DELETE", "/services/alerts/fired_alerts/" + encodeURIComponent(data.name)).catch(() => null);
    }
  }));
  const q = new URLSearchParams(location.search).get("q");
  if (q) $("new-search").value = q;
  load().catch(e => fail(e.message));
})();
