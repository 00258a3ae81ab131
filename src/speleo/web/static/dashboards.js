/* The dashboards list (GET /api/v1/dashboards) and "create": an empty dashboard (PUT). */
"use strict";
(() => {
  const CSRF = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const api = (method, url, body) => fetch(url, { method, credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF }, body: body == null ? undefined : JSON.stringify(body) });
  function fail(msg) { $("error").hidden = false; $("error").textContent = msg; }
  async function load() {
    const r = await api("GET", "/api/v1/dashboards");
    if (!r.ok) return fail(((await r.json()).error || {}).message || r.statusText);
    const rows = (await r.json()).dashboards, box = $("list");
    box.textContent = "";
    if (!rows.length) { box.innerHTML = '<p class="empty">No dashboard yet.</p>'; return; }
    const t = document.createElement("table"); t.className = "grid"; t.id = "dashboards-table";
    t.innerHTML = "<thead><tr><th>Title</th><th>Name</th><th class=num>Panels</th><th>Warnings</th></tr></thead>";
    const tb = document.createElement("tbody");
    for (const d of rows) {
      const tr = document.createElement("tr");
      const a = document.createElement("a"); a.href = "/app/dashboards/" + encodeURIComponent(d.name); a.textContent = d.title;
      const cells = [a, d.name, String(d.panels), d.warnings.length ? d.warnings.join("; ") : ""];
      cells.forEach((c, i) => { const td = document.createElement("td"); if (i === 2) td.className = "num";
        if (typeof c === "string") td.textContent = c; else td.append(c); tr.append(td); });
      tb.append(tr);
    }
    t.append(tb); box.append(t);
  }
  $("new-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const name = $("new-name").value.trim();
    const doc = { title: name, dataSources: {}, visualizations: {}, inputs: {},
      layout: { type: "grid", options: { width: 1440 }, structure: [] } };
    const r = await api("PUT", "/api/v1/dashboards/" + encodeURIComponent(name), doc);
    if (!r.ok) return fail(((await r.json()).error || {}).message || r.statusText);
    location.href = "/app/dashboards/" + encodeURIComponent(name) + "?edit=1";
  });
  load();
})();
