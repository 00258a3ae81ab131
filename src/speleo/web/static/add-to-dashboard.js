/* "Add to dashboard" on the search page: the search in the URL (q, earliest, latest, the chart
   shown) becomes a panel of a new or existing dashboard (POST /api/v1/dashboards/<name>/panels). */
"use strict";
(() => {
  const CSRF = document.querySelector('meta[name="csrf-token"]').content;
  const open = document.getElementById("dash-add-open");
  if (!open) return;
  const form = document.createElement("form");
  form.className = "popover"; form.id = "dash-add-panel"; form.hidden = true;
  form.innerHTML = `<label for="dash-add-name">Dashboard (new or existing)</label>
    <div class="row"><input id="dash-add-name" list="dash-add-names" required pattern="[A-Za-z0-9][A-Za-z0-9_.\\-]{0,99}" placeholder="name, e.g. web-errors">
    <datalist id="dash-add-names"></datalist></div>
    <label for="dash-add-title">Panel title</label>
    <div class="row"><input id="dash-add-title" maxlength="200">
    <button type="submit" class="primary">Add</button></div>
    <div id="dash-add-msg" class="msg" role="status"></div>`;
  open.insertAdjacentElement("afterend", form);
  const msg = form.querySelector("#dash-add-msg");
  function current() {
    const p = new URLSearchParams(location.search), q = (p.get("q") || "").trim();
    const chart = p.get("chart"), tab = p.get("tab") || "";
    let type = /\|\s*(stats|chart|timechart|top|rare|tstats)\b/.test(q) ? "splunk.table" : "splunk.events";
    if (tab === "viz") type = "splunk." + (chart === "single" ? "singlevalue" : (chart || "column"));
    return { search: q, earliest: p.get("earliest") || null, latest: p.get("latest") || null, type };
  }
  open.addEventListener("click", async () => {
    form.hidden = !form.hidden; open.setAttribute("aria-expanded", String(!form.hidden));
    if (form.hidden) return;
    msg.textContent = "";
    form.querySelector("#dash-add-title").value = current().search.slice(0, 60);
    const r = await fetch("/api/v1/dashboards", { credentials: "same-origin" });
    if (r.ok) { const list = form.querySelector("#dash-add-names"); list.textContent = "";
      for (const d of (await r.json()).dashboards) { const o = document.createElement("option"); o.value = d.name; o.label = d.title; list.append(o); } }
    form.querySelector("#dash-add-name").focus();
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const c = current(), name = form.querySelector("#dash-add-name").value.trim();
    if (!c.search) { msg.textContent = "Run a search first."; return; }
    const r = await fetch(`/api/v1/dashboards/${encodeURIComponent(name)}/panels`, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF },
      body: JSON.stringify(Object.assign(c, { title: form.querySelector("#dash-add-title").value.trim() })) });
    if (!r.ok) { msg.textContent = ((await r.json()).error || {}).message || r.statusText; return; }
    msg.textContent = "";
    const a = document.createElement("a"); a.href = "/app/dashboards/" + encodeURIComponent(name); a.id = "dash-add-link";
    a.textContent = "Added: open the dashboard"; msg.append(a);
  });
})();
