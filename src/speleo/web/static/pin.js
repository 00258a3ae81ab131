/* "Add to incident" on the search page: a button on every event and every result row pins it to
   an incident's timeline (POST /api/v1/incidents/{id}/pin) with the search and its absolute
   range, so the entry's link re-runs exactly that search over exactly that range. Reads the
   shown result from window.speleoLastSearch (set by search.js). Written for Speleo. */
"use strict";
(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const epoch = (iso) => iso ? Date.parse(iso) / 1000 : null;
  async function api(method, path, body) {
    const r = await fetch(path, { method, credentials: "same-origin", body: body && JSON.stringify(body),
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" } });
    const b = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((b.error && b.error.message) || r.statusText);
    return b;
  }
  async function pin(row) {
    const last = window.speleoLastSearch;
    if (!last) return;
    try {
      const open = (await api("GET", "/api/v1/incidents?open=true&limit=20")).incidents;
      const list = open.map(i => `${i.id}: [${i.severity}] ${i.title}`).join("\n");
      const answer = prompt(`Add this ${row._raw ? "event" : "result"} to which incident?\n${list || "(no open incident)"}`, open.length ? String(open[0].id) : "");
      if (!answer) return;
      const id = parseInt(answer, 10);
      if (isNaN(id)) throw new Error(`'${answer}' is not an incident number`);
      const keep = {};
      for (const [k, v] of Object.entries(row)) if (!["_fields", "_offset", "_flags", "_indextime"].includes(k)) keep[k] = v;
      const e = await api("POST", `/api/v1/incidents/${id}/pin`, { search: last.q, earliest: epoch(last.body.earliest), latest: epoch(last.body.latest) ?? last.at, row: keep });
      const matched = e.problems_attached.length ? ` Known problem ${e.problems_attached.map(a => a.problem_id).join(", ")} matched.` : "";
      alert(`Added to incident ${id}.${matched}`);
    } catch (err) { alert("Could not add to the incident: " + err.message); }
  }
  function button(getRow) {
    const b = document.createElement("button");
    b.type = "button"; b.className = "small pin-btn"; b.textContent = "Add to incident";
    b.addEventListener("click", (ev) => { ev.stopPropagation(); const r = getRow(); if (r) pin(r); });
    return b;
  }
  function decorate() {
    const last = window.speleoLastSearch;
    if (!last) return;
    for (const li of document.querySelectorAll("li.event[data-index]")) {
      if (li.querySelector(".pin-btn")) continue;
      const idx = Number(li.dataset.index);
      li.append(button(() => last.rowAt ? last.rowAt(idx) : (last.body.events || [])[idx]));
    }
    const t = document.getElementById("stats-table");
    if (!t) return;
    const names = [...t.querySelectorAll("thead th")].map(th => th.textContent.replace(/ [▲▼]$/, ""));
    for (const tr of t.querySelectorAll("tbody tr")) {
      if (tr.querySelector(".pin-btn")) continue;
      const cells = [...tr.children];
      const row = Object.fromEntries(names.map((n, i) => [n, cells[i] ? cells[i].textContent : ""]));
      cells[cells.length - 1].append(button(() => row));
    }
  }
  new MutationObserver(() => decorate()).observe(document.body, { childList: true, subtree: true });
})();
