/* Speleo jobs page: your search jobs (GET /web/api/jobs) and the inspector of one
   (GET /web/api/jobs/{id}/inspect: phases and their seconds, buckets and row groups read and
   skipped, the SQL that ran, the search log). */
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "on") for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
      else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
    }
    for (const k of kids) if (k != null) e.append(k);
    return e;
  }
  const get = async (url) => { const r = await fetch(url, { credentials: "same-origin" }); const b = await r.json(); if (!r.ok) throw new Error((b.error || {}).message || r.statusText); return b; };
  const when = (t) => new Date(t * 1000).toISOString().slice(0, 19).replace("T", " ") + " UTC";
  function rerun(j) {
    const p = new URLSearchParams({ q: j.search });
    if (j.earliest != null) p.set("earliest", String(j.earliest));
    if (j.latest != null) p.set("latest", String(j.latest));
    return "/?" + p;
  }
  async function load() {
    try {
      const { jobs } = await get("/web/api/jobs");
      const box = $("jobs"); box.textContent = "";
      if (!jobs.length) { box.append(h("div", { class: "muted", text: "No search jobs in the last 10 minutes." })); return; }
      const tb = h("tbody");
      for (const j of jobs) tb.append(h("tr", { "data-id": j.id },
        h("td", {}, h("code", { text: j.search })), h("td", { text: j.state }), h("td", { text: when(j.started) }),
        h("td", { class: "num", text: j.elapsed_secs.toFixed(2) + " s" }), h("td", { class: "num", text: j.total == null ? "" : j.total.toLocaleString() }),
        h("td", {}, h("button", { type: "button", class: "small inspect", text: "Inspect", on: { click: () => inspect(j.id) } }), " ",
          h("a", { href: rerun(j), text: "Run again" }))));
      box.append(h("table", { class: "grid" }, h("thead", {}, h("tr", {}, ...["Search", "State", "Started", "Took", "Events/results", ""].map(c => h("th", { text: c })))), tb));
    } catch (e) { $("error").textContent = e.message; $("error").hidden = false; }
  }
  async function inspect(id) {
    const j = await get("/web/api/jobs/" + encodeURIComponent(id) + "/inspect");
    const box = $("inspect"); box.textContent = "";
    $("inspector").hidden = false;
    box.append(h("p", {}, h("code", { text: j.search }), ` · ${j.state} · ${j.elapsed_secs.toFixed(3)} s`));
    box.append(h("h3", { text: "Phases" }), h("table", { class: "grid", id: "phases" }, h("tbody", {}, ...j.phases.map(p =>
      h("tr", {}, h("td", { text: p.name }), h("td", { class: "num", text: p.secs.toFixed(4) + " s" }))))));
    const sh = j.sharing || {};
    const shared = sh.reused ? `Reused ${sh.reused} time${sh.reused === 1 ? "" : "s"}: identical searches started within ${sh.share_secs} s were answered by this job instead of running again (${sh.viewers} viewer${sh.viewers === 1 ? "" : "s"}).`
      : sh.shareable ? `Not reused: no identical search started within ${sh.share_secs} s of it.` : "Not shareable: started by the search page, which always runs its own job.";
    box.append(h("h3", { text: "Job reuse" }), h("p", { id: "sharing", text: shared }));
    if (sh.base) box.append(h("p", { id: "base-job" }, "A post-process search over the results of base job ",
      h("a", { href: "/jobs?sid=" + encodeURIComponent(sh.base), text: sh.base }), " (it did not read the events again)."));
    const plan = j.plan || {}, sc = j.scanned || {};
    const facts = [["Buckets read", plan.buckets], ["Buckets skipped by time", plan.buckets_skipped_by_time],
      ["Buckets skipped by terms", plan.buckets_skipped_by_terms], ["Row groups skipped by terms", plan.row_groups_skipped_by_terms],
      ["Row groups read partially", plan.row_groups_read_partially], ["Events in buckets read", sc.events_in_buckets_read],
      ["Bytes in buckets read", sc.bytes_in_buckets_read]];
    box.append(h("h3", { text: "What was read" }), h("table", { class: "grid", id: "scanned" }, h("tbody", {}, ...facts.filter(f => f[1] != null).map(([k, v]) =>
      h("tr", {}, h("td", { text: k }), h("td", { class: "num", text: Number(v).toLocaleString() }))))));
    if (plan.sql) box.append(h("h3", { text: "SQL run by DuckDB" }), h("pre", { class: "sql", id: "sql", text: plan.sql }));
    box.append(h("h3", { text: "Search log" }), h("pre", { class: "sql", id: "search-log", text: j.log.map(l => `${when(l.time)} ${l.level} ${l.text}`).join("\n") }));
    $("inspector").scrollIntoView({ block: "start" });
  }
  load().then(() => {
    const want = new URLSearchParams(location.search).get("sid");
    if (want) inspect(want);
    document.body.dataset.ready = "1";
  });
})();
