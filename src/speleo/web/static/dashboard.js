/* A dashboard (/app/dashboards/<name>): inputs set tokens, the server resolves the data sources
   (POST /api/v1/dashboards/<name>/resolve: Splunk's token rules), each search runs as a search job
   (POST /web/api/jobs with share: identical jobs of the last 30 s are reused), a ds.chain runs over
   its base job's result (base_job), only searches whose resolved text changed run again, a search
   with an undefined token waits for input, refresh follows delay/interval. Clicking a chart point
   or a table cell opens the search page on the events behind it. "Edit" moves/resizes panels,
   edits titles and queries, with the JSON source beside. */
"use strict";
(() => {
  const CSRF = document.querySelector('meta[name="csrf-token"]').content;
  const NAME = decodeURIComponent(location.pathname.split("/").pop());
  const $ = (id) => document.getElementById(id);
  const api = (method, url, body) => fetch(url, { method, credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF }, body: body == null ? undefined : JSON.stringify(body) });
  const sleep = (ms) => new Promise(r => setTimeout(r, ms));
  // panels waiting for a search slot (409: the user's quota of running searches) start when one
  // of this page's jobs ends, not on the next 300 ms tick
  let slotWaiters = [];
  const slotFreed = () => new Promise(r => slotWaiters.push(r));
  const freeSlot = () => { const w = slotWaiters; slotWaiters = []; w.forEach(r => r()); };
  const h = (tag, attrs, ...kids) => { const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) { if (k === "text") e.textContent = v; else e.setAttribute(k, v); }
    e.append(...kids); return e; };
  const CHART = { "splunk.line": "line", "splunk.area": "area", "splunk.column": "column", "splunk.bar": "bar", "splunk.pie": "pie" };
  const TIME_PRESETS = [["-15m", "now", "Last 15 minutes"], ["-60m@m", "now", "Last 60 minutes"], ["-4h@m", "now", "Last 4 hours"],
    ["-24h@h", "now", "Last 24 hours"], ["-7d@h", "now", "Last 7 days"], ["-30d@d", "now", "Last 30 days"], ["", "", "All time"]];
  let doc = null, tokens = {}, resolved = {}, runs = {}, tab = 0, editing = false;
  // runs[dsId] = {sig, job, state, body, timer, gen}

  function fail(msg) { $("error").hidden = !msg; $("error").textContent = msg || ""; }
  async function errorOf(r) { try { return ((await r.json()).error || {}).message || r.statusText; } catch (e) { return r.statusText; } }

  async function load() {
    const r = await api("GET", "/api/v1/dashboards/" + encodeURIComponent(NAME));
    if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); return; }
    if (!r.ok) return fail(await errorOf(r));
    const d = await r.json();
    doc = d.definition; tokens = Object.assign({}, d.tokens);
    document.title = (doc.title || NAME) + " · Speleo";
    const w = $("warnings"); w.textContent = ""; w.hidden = !d.warnings.length;
    d.warnings.forEach(x => w.append(h("li", { text: x })));
    render();
    if (new URLSearchParams(location.search).get("edit")) toggleEdit();
    await update();
  }

  // -- layout ---------------------------------------------------------------------------------
  function layouts() {
    const lay = doc.layout || {};
    if (lay.tabs) return lay.tabs.items.map(t => Object.assign({ label: t.label || t.layoutId }, lay.layoutDefinitions[t.layoutId]));
    return [lay];
  }
  function render() {
    $("title").textContent = doc.title || NAME;
    $("description").textContent = doc.description || "";
    renderInputs();
    const ls = layouts(), tabs = $("tabs");
    tabs.textContent = ""; tabs.hidden = ls.length < 2;
    if (tab >= ls.length) tab = 0;
    ls.forEach((l, i) => { const b = h("button", { type: "button", role: "tab", "aria-selected": String(i === tab), text: l.label });
      b.addEventListener("click", () => { tab = i; render(); redrawAll(); }); tabs.append(b); });
    const lay = ls[tab] || {}, canvas = $("canvas"), width = (lay.options || {}).width || 1440;
    canvas.textContent = "";
    canvas.dataset.layout = lay.type || "grid";
    let bottom = 0;
    for (const block of lay.structure || []) {
      const viz = (doc.visualizations || {})[block.item];
      if (!viz) continue;
      const p = block.position || { x: 0, y: bottom, w: width, h: 400 };
      bottom = Math.max(bottom, p.y + p.h);
      canvas.append(panel(block.item, viz, p, width));
    }
    canvas.style.height = bottom + "px";
    if (editing) $("source").value = JSON.stringify(doc, null, 2);
  }
  function panel(id, viz, p, width) {
    const el = h("section", { class: "dash-panel", "data-viz": id, "data-type": viz.type });
    Object.assign(el.style, { left: (100 * p.x / width) + "%", width: (100 * p.w / width) + "%", top: p.y + "px", height: p.h + "px" });
    el.dataset.x = p.x; el.dataset.y = p.y; el.dataset.w = p.w; el.dataset.h = p.h;
    const title = h("h2", { class: "panel-title", text: viz.title || "" });
    const status = h("div", { class: "panel-status", role: "status" });
    const body = h("div", { class: "panel-body" });
    el.append(title, status, body);
    if (!(viz.dataSources || {}).primary) {   // markdown, or a panel bound to nothing
      if (viz.type === "splunk.markdown") draw(body, id, viz, {}, null);
      else status.textContent = "No data source";
      el.dataset.state = "done";
    }
    if (editing) editControls(el, id, viz);
    return el;
  }

  // -- inputs ---------------------------------------------------------------------------------
  function renderInputs() {
    const box = $("inputs"); box.textContent = "";
    const ids = ((doc.layout || {}).globalInputs || []).concat(((layouts()[tab] || {}).inputs) || []);
    for (const id of ids) { const inp = (doc.inputs || {})[id]; if (inp) box.append(inputEl(id, inp)); }
  }
  function setToken(name, value) {
    if (value == null) delete tokens[name]; else tokens[name] = value;
    update();
  }
  function tokenValue(inp, raw) {
    const o = inp.options || {};
    let body = raw;
    if (inp.type === "input.multiselect") {
      if (!raw.length) return null;
      body = raw.map(v => (o.valuePrefix || "") + v + (o.valueSuffix || "")).join(o.delimiter == null ? " " : o.delimiter);
    }
    return (o.prefix || "") + body + (o.suffix || "");
  }
  function inputEl(id, inp) {
    const o = inp.options || {}, tok = o.token;
    const wrap = h("label", { class: "dash-input", "data-input": id }, h("span", { text: inp.title || tok }));
    if (inp.type === "input.timerange") {
      const sel = h("select", { "data-token": tok });
      const cur = [tokens[tok + ".earliest"] || "", tokens[tok + ".latest"] || ""];
      let found = false;
      TIME_PRESETS.forEach(([e, l, label]) => { const opt = h("option", { value: e + "," + l, text: label });
        if (e === cur[0] && (l === cur[1] || (!l && !cur[1]))) { opt.selected = true; found = true; } sel.append(opt); });
      if (!found) sel.append(h("option", { value: cur.join(","), text: cur.join(" to "), selected: "" }));
      sel.addEventListener("change", () => { const [e, l] = sel.value.split(",");
        tokens[tok + ".earliest"] = e; tokens[tok + ".latest"] = l; update(); });
      wrap.append(sel); return wrap;
    }
    if (inp.type === "input.text" || inp.type === "input.number") {
      const f = h("input", { type: inp.type === "input.number" ? "number" : "text", "data-token": tok });
      if (o.defaultValue != null) f.value = o.defaultValue;
      f.addEventListener("change", () => setToken(tok, f.value === "" ? null : tokenValue(inp, f.value)));
      wrap.append(f); return wrap;
    }
    const sel = h("select", { "data-token": tok });
    if (inp.type === "input.multiselect") sel.multiple = true;
    const dflt = [].concat(o.defaultValue == null ? [] : o.defaultValue);
    const fill = (items) => { const chosen = new Set(sel.options.length ? [...sel.selectedOptions].map(x => x.value) : dflt.map(String));
      sel.textContent = "";
      if (!dflt.length && inp.type !== "input.multiselect") sel.append(h("option", { value: "", text: "(choose)" }));
      const seen = new Set();
      for (const it of items) { if (seen.has(String(it.value))) continue; seen.add(String(it.value));
        const opt = h("option", { value: it.value, text: it.label == null ? it.value : it.label });
        if (chosen.has(String(it.value))) opt.selected = true; sel.append(opt); } };
    fill(o.items || []);
    sel.addEventListener("change", () => {
      const vals = [...sel.selectedOptions].map(x => x.value).filter(v => v !== "" || inp.type !== "input.dropdown");
      setToken(tok, inp.type === "input.multiselect" ? tokenValue(inp, vals) : (vals.length ? tokenValue(inp, vals[0]) : null));
    });
    const ds = (inp.dataSources || {}).primary;
    if (ds) wrap.dataset.itemsSource = ds;
    wrap._fill = (rows) => fill((o.items || []).concat(rows.map(r => ({ label: r[o.fieldForLabel || o.fieldForValue], value: r[o.fieldForValue || o.fieldForLabel] }))));
    wrap.append(sel); return wrap;
  }

  // -- searches -------------------------------------------------------------------------------
  let updates = 0;   // token changes in flight: only the newest one's answer counts
  async function update() {
    const seq = ++updates;
    const r = await api("POST", `/api/v1/dashboards/${encodeURIComponent(NAME)}/resolve`, { tokens });
    if (seq !== updates) return;   // an older change answered after a newer one: its searches are stale
    if (!r.ok) return fail(await errorOf(r));
    fail("");
    const body = await r.json();
    if (seq !== updates) return;
    resolved = body.dataSources;
    for (const id of Object.keys(resolved)) maybeRun(id, false);
    for (const id of Object.keys(runs)) if (!resolved[id]) delete runs[id];
  }
  function sig(id) {
    const r = resolved[id];
    return JSON.stringify([r.query, r.earliest, r.latest, r.extend ? sig(r.extend) : null]);
  }
  function maybeRun(id, force) {
    const r = resolved[id], run = runs[id] || (runs[id] = { gen: 0 });
    const s = sig(id);
    if (r.missing.length) { clearTimeout(run.timer); run.sig = s; run.gen++; run.state = "waiting"; show(id); return; }
    if (!force && run.sig === s) return;     // nothing it depends on changed
    if (r.extend && !force) {                // a chain runs when its base has its job...
      const base = runs[r.extend];           // ...or now, when only its own query changed
      if (base && base.job && base.sig === sig(r.extend) && base.state !== "failed") { run.sig = s; start(id); }
      return;
    }
    run.sig = s; start(id);
  }
  function children(id) { return Object.keys(resolved).filter(k => resolved[k].extend === id); }
  async function start(id) {
    const r = resolved[id], run = runs[id], gen = ++run.gen;
    clearTimeout(run.timer);
    run.state = "running"; run.progress = null; run.reused = 0; run.job = null; show(id);
    let body = { search: r.query, earliest: r.earliest || null, latest: r.latest || null, limit: 1000, share: true,
                 keep: children(id).length > 0 };
    if (run.opened != null && run.sig === sig(id)) body.after = run.opened;   // a refresh: newer than what is shown
    if (r.extend) body = { search: r.query, base_job: runs[r.extend].job, limit: 1000 };
    const started = Date.now();
    let job;
    for (;;) {   // too many searches of this user running: wait for one to end (this page's, or 300 ms)
      const resp = await api("POST", "/web/api/jobs", body);
      if (gen !== run.gen) return;
      if (resp.status === 409) { await Promise.race([sleep(300), slotFreed()]); continue; }
      if (!resp.ok) { run.state = "failed"; run.error = await errorOf(resp); show(id); return; }
      job = await resp.json(); break;
    }
    run.job = job.id; run.opened = job.opened;
    children(id).forEach(c => { runs[c] = runs[c] || { gen: 0 }; runs[c].sig = sig(c); if (!resolved[c].missing.length) start(c); });
    while (job.state === "running") {   // a long poll: the answer comes when the job ends (or after 0.5 s)
      run.progress = job.progress; run.reused = job.reused; show(id);
      const resp = await api("GET", "/web/api/jobs/" + job.id + "?wait=0.5");
      if (gen !== run.gen) { freeSlot(); return; }
      if (!resp.ok) { run.state = "failed"; run.error = await errorOf(resp); show(id); freeSlot(); return; }
      job = await resp.json();
    }
    freeSlot();
    run.state = job.state; run.body = job.result; run.reused = job.reused;
    run.error = job.error ? job.error.message : (job.state === "cancelled" ? "cancelled" : null);
    show(id);
    if (r.refresh && !r.extend) {
      const wait = r.refreshType === "interval" ? Math.max(0, r.refresh * 1000 - (Date.now() - started)) : r.refresh * 1000;
      run.timer = setTimeout(() => { if (gen === run.gen) start(id); }, wait);
    }
  }

  // -- drawing --------------------------------------------------------------------------------
  function vizFor(id) { return Object.entries(doc.visualizations || {}).filter(([, v]) => (v.dataSources || {}).primary === id); }
  function redrawAll() { Object.keys(runs).forEach(show); }
  function show(id) {
    const run = runs[id];
    document.querySelectorAll(`[data-items-source="${CSS.escape(id)}"]`).forEach(w => { if (run.state === "done" && run.body) w._fill(run.body.results || run.body.events || []); });
    for (const [vid, viz] of vizFor(id)) {
      const el = document.querySelector(`[data-viz="${CSS.escape(vid)}"]`);
      if (!el) continue;
      el.dataset.state = run.state; el.dataset.query = resolved[id].query; el.dataset.source = id;
      if (run.job) el.dataset.job = run.job;
      el.dataset.reused = String(run.reused || 0);
      const status = el.querySelector(".panel-status"), body = el.querySelector(".panel-body");
      if (run.state === "waiting") { status.textContent = "Waiting for input: " + resolved[id].missing.map(t => "$" + t + "$").join(", "); body.textContent = ""; continue; }
      if (run.state === "running") {
        const pct = run.progress && (run.progress.percent != null ? run.progress.percent : run.progress.step_percent);
        status.textContent = "";
        status.append(h("progress", pct == null ? {} : { max: "100", value: String(pct) }), h("span", { text: pct == null ? " running" : ` ${pct}%` }));
        continue;
      }
      // the job inspector (phases, SQL, log, reuse) of the panel's job, in a new tab
      const inspect = () => run.job ? h("a", { class: "panel-inspect", href: "/jobs?sid=" + encodeURIComponent(run.job),
        target: "_blank", rel: "noopener", text: "Inspect job", "aria-label": "inspect the search job of " + (viz.title || vid) }) : null;
      if (run.state !== "done") { status.textContent = "Search failed: " + (run.error || run.state) + " "; status.append(inspect() || ""); continue; }
      status.textContent = run.reused ? `shared search job (reused ${run.reused}) ` : "";
      status.append(inspect() || "");
      draw(body, vid, viz, run.body, id);
      el.dataset.drawn = String(Date.now());
    }
  }
  function fieldsOf(b) {
    const rows = b.results || b.events || [], cols = b.fields || [];
    let yFields = cols.filter(c => rows.length && rows.every(r => r[c] == null || typeof r[c] === "number") && c !== "_time" && !c.startsWith("_"));
    const xField = cols.find(c => !yFields.includes(c)) || cols[0];
    return { rows, cols, xField, yFields };
  }
  function draw(box, vid, viz, b, dsId) {
    box.textContent = "";
    if (viz.type === "splunk.markdown") { box.append(h("div", { class: "markdown", text: (viz.options || {}).markdown || "" })); return; }
    const { rows, cols, xField, yFields } = fieldsOf(b);
    if (CHART[viz.type]) {
      SpeleoCharts.chart(box, CHART[viz.type], rows, xField, yFields, (i, f) => drill(dsId, rows, i, xField, f));
      return;
    }
    if (viz.type === "splunk.singlevalue") { SpeleoCharts.chart(box, "single", rows, xField, yFields.length ? yFields : cols); return; }
    if (viz.type === "splunk.events") {
      const ul = h("ol", { class: "panel-events" });
      (b.events || []).slice(0, 100).forEach(e => ul.append(h("li", {}, h("span", { class: "muted", text: String(e._time || "") + " " }), e._raw || JSON.stringify(e))));
      box.append(ul); return;
    }
    if (viz.type === "splunk.table") {
      const shown = cols.filter(c => b.kind !== "events" || !c.startsWith("_") || c === "_time" || c === "_raw");
      const t = h("table", { class: "grid" }), head = h("tr");
      shown.forEach(c => head.append(h("th", { text: c })));
      const tb = h("tbody");
      rows.slice(0, Number((viz.options || {}).count) || 100).forEach((r, i) => {
        const tr = h("tr");
        shown.forEach(c => { const td = h("td", { text: r[c] == null ? "" : String(r[c]), "data-field": c, tabindex: "0" });
          td.addEventListener("click", () => drill(dsId, rows, i, c, c)); tr.append(td); });
        tb.append(tr);
      });
      t.append(h("thead", {}, head), tb); box.append(t); return;
    }
    box.append(h("div", { class: "placeholder", text: `${viz.type} is not drawn by Speleo` }));
  }

  // -- drilldown: the events behind a point or a cell, on the search page ------------------------
  function fullQuery(dsId) {
    const r = resolved[dsId];
    return r.extend ? fullQuery(r.extend) + " " + r.query.trim() : r.query.trim();
  }
  const TRANSFORM = /\|\s*(stats|chart|timechart|top|rare|eventstats|streamstats|tstats)\b/;
  function drill(dsId, rows, i, xField, field) {
    const r = resolved[dsId], row = rows[i] || {};
    let q = fullQuery(dsId), earliest = r.earliest || "", latest = r.latest || "";
    const m = TRANSFORM.exec(q), events = m ? q.slice(0, m.index).trim() : q;
    const clauses = [];
    const value = (f) => row[f] == null ? null : String(row[f]);
    if (xField === "_time" && row._time != null) {
      const t = Date.parse(row._time) / 1000, next = rows[i + 1] && Date.parse(rows[i + 1]._time) / 1000;
      const prev = rows[i - 1] && Date.parse(rows[i - 1]._time) / 1000;
      earliest = String(t); latest = String(next || (prev ? t + (t - prev) : t + 1));
      if (field && field !== "count" && m && /\bby\s+\S+/.test(q.slice(m.index)) && !/^(count|sum|avg|max|min)/.test(field))
        clauses.push(`${/\bby\s+(\S+)/.exec(q.slice(m.index))[1]}="${field.replace(/"/g, '\\"')}"`);
    } else if (m && value(xField) != null) {
      clauses.push(`${xField}="${value(xField).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`);
    }
    const target = !m ? q : !clauses.length ? events : events + (events.includes("|") ? " | search " : " ") + clauses.join(" ");
    const p = new URLSearchParams({ q: target });
    if (earliest) p.set("earliest", earliest);
    if (latest) p.set("latest", latest);
    location.href = "/?" + p.toString();
  }

  // -- editor ---------------------------------------------------------------------------------
  function toggleEdit() {
    editing = !editing;
    $("edit").setAttribute("aria-pressed", String(editing));
    $("editor").hidden = !editing;
    document.body.classList.toggle("editing", editing);
    render(); redrawAll();
  }
  function blockOf(id) { return (layouts()[tab].structure || []).find(b => b.item === id); }
  function changed() { $("source").value = JSON.stringify(doc, null, 2); $("saved").textContent = "unsaved changes"; }
  function editControls(el, id, viz) {
    const t = el.querySelector(".panel-title");
    t.contentEditable = "true"; t.setAttribute("aria-label", "panel title");
    t.addEventListener("input", () => { viz.title = t.textContent; changed(); });
    const ds = (viz.dataSources || {}).primary, src = ds && doc.dataSources[ds];
    if (src && src.options && src.options.query != null) {
      const q = h("textarea", { class: "panel-query", "aria-label": "panel query", spellcheck: "false" });
      q.value = src.options.query;
      q.addEventListener("change", () => { src.options.query = q.value; changed(); update(); });
      el.insertBefore(q, el.querySelector(".panel-status"));
    }
    const rm = h("button", { type: "button", class: "panel-remove", text: "Remove", "aria-label": "remove panel" });
    rm.addEventListener("click", () => { const s = layouts()[tab].structure; s.splice(s.indexOf(blockOf(id)), 1);
      delete doc.visualizations[id]; changed(); render(); redrawAll(); });
    const grip = h("div", { class: "panel-resize", title: "drag to resize" });
    el.append(rm, grip);
    drag(el, t, id, "move"); drag(el, grip, id, "resize");
  }
  function drag(el, handle, id, mode) {
    handle.addEventListener("pointerdown", (ev) => {
      if (mode === "move" && document.activeElement === handle && ev.detail > 1) return;
      const canvas = $("canvas"), scale = ((layouts()[tab].options || {}).width || 1440) / canvas.clientWidth;
      const b = blockOf(id); b.position = b.position || { x: Number(el.dataset.x), y: Number(el.dataset.y), w: Number(el.dataset.w), h: Number(el.dataset.h) };
      const start = { x: ev.clientX, y: ev.clientY, p: Object.assign({}, b.position) };
      let moved = false;
      const mv = (e) => { const dx = Math.round((e.clientX - start.x) * scale), dy = Math.round(e.clientY - start.y);
        if (Math.abs(dx) + Math.abs(dy) < 4 && !moved) return;
        moved = true;
        if (mode === "move") { b.position.x = Math.max(0, start.p.x + dx); b.position.y = Math.max(0, start.p.y + dy); }
        else { b.position.w = Math.max(120, start.p.w + dx); b.position.h = Math.max(80, start.p.h + dy); }
        const w = (layouts()[tab].options || {}).width || 1440;
        Object.assign(el.style, { left: (100 * b.position.x / w) + "%", top: b.position.y + "px", width: (100 * b.position.w / w) + "%", height: b.position.h + "px" }); };
      const up = () => { window.removeEventListener("pointermove", mv); if (moved) { changed(); render(); redrawAll(); } };
      window.addEventListener("pointermove", mv); window.addEventListener("pointerup", up, { once: true });
    });
  }
  $("edit").addEventListener("click", toggleEdit);
  $("refresh").addEventListener("click", () => Object.keys(resolved).forEach(id => { if (!resolved[id].extend) maybeRun(id, true); }));
  $("apply").addEventListener("click", () => {
    try { doc = JSON.parse($("source").value); } catch (e) { return fail("The source is not JSON: " + e.message); }
    fail(""); render(); runs = {}; update();
  });
  $("add-panel").addEventListener("click", () => {
    let n = 1; while (doc.dataSources["ds_" + n] || doc.visualizations["viz_" + n]) n++;
    doc.dataSources["ds_" + n] = { type: "ds.search", options: { query: "index=* | stats count by sourcetype" } };
    doc.visualizations["viz_" + n] = { type: "splunk.table", title: "New panel", dataSources: { primary: "ds_" + n }, options: {} };
    const s = layouts()[tab].structure || (layouts()[tab].structure = []);
    const bottom = s.reduce((a, b) => Math.max(a, ((b.position || {}).y || 0) + ((b.position || {}).h || 0)), 0);
    s.push({ item: "viz_" + n, type: "block", position: { x: 0, y: bottom, w: 720, h: 400 } });
    changed(); render(); update();
  });
  $("save").addEventListener("click", async () => {
    try { doc = JSON.parse($("source").value); } catch (e) { return fail("The source is not JSON: " + e.message); }
    const r = await api("PUT", "/api/v1/dashboards/" + encodeURIComponent(NAME), doc);
    if (!r.ok) return fail(await errorOf(r));
    fail(""); $("saved").textContent = "saved";
  });
  load();
})();
