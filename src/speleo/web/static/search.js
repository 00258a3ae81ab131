/* Speleo search page. Written for Speleo; charts come from charts.js. */
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const CSRF = document.querySelector('meta[name="csrf-token"]').content;
  const PAGE = 50, FETCH_LIMIT = 1000;
  const TABS = ["events", "stats", "patterns", "viz"];
  const state = { body: null, page: 0, tab: "events", chart: "column", sort: null, openField: null, terms: [], view: SearchPanels.viewPrefs() };

  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "on") for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
      else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const k of kids) if (k != null) e.append(k);
    return e;
  }

  // -- URL <-> form ------------------------------------------------------------------
  let updateHl = () => {};
  function setQ(v) { $("q").value = v; updateHl(); }
  function readUrl() {
    const p = new URLSearchParams(location.search);
    setQ(p.get("q") || "");
    picker.set(p.get("earliest") || "", p.get("latest") || "");
    state.tab = TABS.includes(p.get("tab")) ? p.get("tab") : "events";
    state.chart = p.get("chart") || "column";
  }
  // the time picker (timepicker.js): presets, relative, date and time, advanced, real-time
  const picker = TimePicker.attach({ button: $("range-btn"), panel: $("tp-panel"), text: $("range-text"), onApply: () => run(true) });
  function rangeValues() { return picker.get(); }
  function writeUrl(push) {
    const [e, l] = rangeValues();
    const p = new URLSearchParams();
    if ($("q").value.trim()) p.set("q", $("q").value.trim());
    if (e) p.set("earliest", e);
    if (l) p.set("latest", l);
    if (state.tab !== "events") p.set("tab", state.tab);
    if (state.chart !== "column") p.set("chart", state.chart);
    const url = "/?" + p.toString();
    if (url !== location.pathname + location.search) history[push ? "pushState" : "replaceState"](null, "", url);
  }
  // exact dates typed as 2015-05-17T10:00 (local time) become epochs; modifiers pass through
  // the server reads every form (epoch, ISO 8601 date, -24h...) with the CLI's parser (timefmt.to_epoch)
  function toApiTime(v) { return v ? v : null; }

  // -- running: each search is a job on the server (POST /web/api/jobs, then polled) ------------
  let seq = 0, current = null;
  const api = (method, url, body) => fetch(url, {
    method, credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF },
    body: body == null ? undefined : JSON.stringify(body),
  });
  const sleep = (ms) => new Promise(r => setTimeout(r, ms));
  function toLogin() { location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search); }
  function fmtBytes(n) {
    if (n == null) return "";
    const u = ["B", "KB", "MB", "GB", "TB"]; let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
  }
  const plural = (n, w) => `${n.toLocaleString()} ${w}${n === 1 ? "" : "s"}`;
  function showJob(job) {
    $("job").hidden = false;
    const pr = job.progress || {}, bar = $("job-progress");
    // an event search read in batches reports the share of bytes read; others DuckDB's estimate of the step running
    const batched = pr.percent != null;
    const pct = batched ? pr.percent : pr.step_percent;
    if (pct != null) bar.value = pct; else bar.removeAttribute("value"); // no value = indeterminate
    let where = "";
    if (batched) where = ` · ${pr.buckets_done.toLocaleString()} of ${plural(pr.buckets, "bucket")} searched` +
      (pr.bytes ? ` (${fmtBytes(pr.bytes_done)} of ${fmtBytes(pr.bytes)})` : "");   // ClickHouse: time slices, no bytes
    else if (pr.buckets != null) where = ` · ${plural(pr.buckets, "bucket")} (${fmtBytes(pr.bytes)})`;
    const step = !batched && pr.step_percent != null ? ` ${Math.round(pr.step_percent)}% of this step` : "";
    $("job-text").textContent = `Searching…${step} · ${job.elapsed_secs.toFixed(1)}s${where}`;
    $("job").dataset.state = job.state; $("job").dataset.id = job.id;
  }
  function endJob() { $("job").hidden = true; $("go").disabled = false; current = null; }
  async function cancelJob(job) {
    if (!job) return;
    job.cancelled = true;
    try { await api("DELETE", "/web/api/jobs/" + encodeURIComponent(job.id)); } catch (_) { /* gone already */ }
  }
  async function run(push = true) {
    const q = $("q").value.trim();
    if ($("q").value !== q) setQ(q);
    writeUrl(push);
    if (!q) { reportReady(); return; }
    const my = ++seq;
    if (current) cancelJob(current);
    stopLive();
    const [e, l] = rangeValues();
    const rt = TimePicker.realtimeWindow(e, l);
    if (rt != null) { startLive(q, e, rt, my); return; }
    $("error").hidden = true;
    $("summary").textContent = "";
    $("go").disabled = true;
    let resp, body;
    try {
      resp = await api("POST", "/web/api/jobs", { search: q, earliest: toApiTime(e), latest: toApiTime(l), limit: FETCH_LIMIT, history: !REPORT });
      body = await resp.json();
    } catch (err) {
      body = { error: { message: "The server did not answer: " + err } };
    }
    if (my !== seq) { if (resp && resp.ok) cancelJob(body); return; }
    if (resp && resp.status === 401) { toLogin(); return; }
    if (!resp || !resp.ok) { endJob(); showError(q, body.error || { message: resp.statusText }); return; }
    const job = current = { id: body.id };
    showJob(body);
    let delay = 100, shown = false; // shown: partial results of this job are on the page
    const show = (result) => {
      if (!shown) {
        state.page = 0; state.sort = null; state.openField = null; state.terms = termsOf(q);
        // a new search shows its own kind of answer: events, or the statistics of a transforming one
        if (result.kind === "events" && state.tab === "stats") state.tab = "events";
        if (result.kind !== "events" && state.tab === "events") state.tab = "stats";
      }
      // an event someone opened while partial results arrived stays open in the final answer
      state.reopen = shown && !result.partial ? openEventKeys() : null;
      shown = true;
      state.body = result; state.jobId = result.partial ? null : job.id; state.pages = new Map(); state.summary = null;
      if (!result.partial) state.statsPage = 0;
      window.speleoLastSearch = { q, body: result, at: Date.now() / 1000,   // read by pin.js ("Add to incident")
        rowAt: (i) => (state.shown && i >= state.shown.start && i < state.shown.start + state.shown.rows.length)
          ? state.shown.rows[i - state.shown.start] : ((result.events || [])[i]) };   // events past the first 1,000 too
      render();
    };
    while (true) {
      await sleep(delay); delay = Math.min(delay * 1.5, 500);
      if (my !== seq || job.cancelled) return;
      try {
        resp = await api("GET", "/web/api/jobs/" + encodeURIComponent(job.id));
        body = await resp.json();
      } catch (err) { body = { state: "failed", error: { message: "The server did not answer: " + err } }; resp = null; }
      if (my !== seq || job.cancelled) return;
      if (resp && resp.status === 401) { toLogin(); return; }
      if (resp && !resp.ok) body = { state: "failed", error: body.error || { message: resp.statusText } };
      if (body.state === "running") {
        showJob(body);
        if (body.partial) show(body.partial); // events found so far: newest first, with the count and timeline so far
        continue;
      }
      endJob();
      if (body.state === "done") {
        show(body.result); // the final answer replaces the partial one
        reportReady();
      } else if (body.state === "cancelled") {
        reportReady();
        $("summary").textContent = `Search cancelled after ${body.elapsed_secs.toFixed(1)}s` +
          (shown ? ": the results shown come from the part searched." : ".");
      } else {
        showError(q, body.error || { message: "search failed" });
      }
      return;
    }
  }
  // -- real-time (live tail): polled over a sliding window until stopped (search-panels.js) -------------
  let live = null;
  function stopLive() {
    if (!live) return false;
    live.stop(); live = null;
    endJob(); $("job-cancel").textContent = "Cancel";
    delete document.body.dataset.live;
    return true;
  }
  function startLive(q, earliest, windowSecs, my) {
    $("error").hidden = true; $("go").disabled = false;
    state.page = 0; state.sort = null; state.openField = null; state.terms = termsOf(q); state.jobId = null;
    $("job").hidden = false; $("job-progress").removeAttribute("value"); $("job-cancel").textContent = "Stop";
    $("job-text").textContent = `Real-time over the last ${TimePicker.windowWords(windowSecs)}: starting…`;
    document.body.dataset.live = "running";
    live = SearchPanels.live({ search: q, earliest, windowSecs, onUpdate: (body) => {
      if (my !== seq) return;
      if (body.kind === "events" && state.tab !== "events" && state.tab !== "patterns") state.tab = "events";
      if (body.kind !== "events" && state.tab === "events") state.tab = "stats";
      body.live = true; body.elapsed_secs = 0;
      state.body = body; state.pages = new Map(); state.summary = null;
      const at = new Date().toLocaleTimeString();
      $("job-text").textContent = `Real-time over the last ${TimePicker.windowWords(windowSecs)} · ` +
        (body.kind === "events" ? `${body.added.toLocaleString()} new · ` : "") + `updated ${at}`;
      $("job").dataset.state = "live";
      render();
    }, onError: (err, resp) => {
      if (resp && resp.status === 401) { toLogin(); return; }
      stopLive(); showError(q, err);
    } });
  }
  $("job-cancel").addEventListener("click", async () => {
    if (stopLive()) { $("summary").append(" · real-time search stopped"); document.body.dataset.live = "stopped"; return; }
    const job = current;
    if (!job) return;
    seq++; endJob();
    await cancelJob(job);
    $("summary").textContent = "Search cancelled.";
    $("summary").dataset.cancelled = "1";
  });

  // report mode (?report=1, the scheduled reports' renderer): the answer without the page's controls
  const REPORT = new URLSearchParams(location.search).get("report") === "1";
  function reportReady() { if (REPORT) { delete document.body.dataset.reportPending; document.body.dataset.reportReady = "1"; } }
  if (REPORT) {
    document.body.classList.add("report");
    document.body.dataset.reportPending = "1";
    const title = $("report-title"), p = new URLSearchParams(location.search);
    const fmt = (v) => v && isFinite(+v) ? new Date(+v * 1000).toISOString().slice(0, 19).replace("T", " ") + " UTC" : (v || "");
    title.textContent = p.get("q") || ""; title.hidden = false;
    $("report-range").textContent = `${fmt(p.get("earliest")) || "all time"} → ${fmt(p.get("latest")) || "now"}`;
    $("report-range").hidden = false;
  }
  function showError(q, err) {
    reportReady();
    const box = $("error");
    box.textContent = "";
    box.append(h("strong", { text: "Error: " }), err.message || "search failed");
    if (err.start != null && err.end != null) {
      const s = Math.max(0, err.start), e = Math.max(s + 1, err.end);
      box.append(h("pre", { class: "err-query" }, q.slice(0, s), h("span", { class: "err-span", text: q.slice(s, e) || " " }), q.slice(e)));
      if (err.column != null) box.append(h("div", { class: "err-pos", text: `at line ${err.line || 1}, column ${err.column}` }));
    }
    if (err.suggestion) box.append(h("div", { text: "Hint: " + err.suggestion }));
    box.hidden = false;
    $("summary").textContent = "";
    // stale (or partial) results under an error confuse: clear them
    state.body = null;
    $("timeline-wrap").hidden = true;
    for (const id of ["events", "pager", "fields", "stats", "chart"]) $(id).textContent = "";
    $("export-csv").disabled = $("export-json").disabled = true;
    const input = $("q");
    if (err.start != null) { input.focus(); input.setSelectionRange(err.start, Math.max(err.start, err.end || err.start)); }
    if (err.start != null) SplHighlight.render($("q-hl"), $("q").value, [Math.max(0, err.start), Math.max(err.start + 1, err.end || err.start + 1)]);
  }

  // the literal words and field values of the search part, to highlight
  function termsOf(q) {
    const first = q.split("|")[0];
    const out = [];
    const re = /(\w[\w.]*)\s*(?:!=|>=|<=|=|<|>)\s*("[^"]*"|\S+)|"([^"]*)"|(\S+)/g;
    let m;
    while ((m = re.exec(first))) {
      if (m[1]) { if (!/^(index|sourcetype|source|host|earliest|latest)$/i.test(m[1]) && !/!=/.test(m[0])) out.push(m[2].replace(/^"|"$/g, "")); }
      else if (m[3]) out.push(m[3]);
      else if (m[4] && !/^(AND|OR|NOT|search|\(|\))$/i.test(m[4]) && !m[4].startsWith("-")) out.push(m[4].replace(/[()]/g, ""));
    }
    return out.map(t => t.replace(/\*/g, "")).filter(t => t.length > 0);
  }
  function highlight(text) {
    const frag = document.createDocumentFragment();
    if (!state.terms.length) { frag.append(text); return frag; }
    const esc = state.terms.map(t => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).sort((a, b) => b.length - a.length);
    const re = new RegExp("(" + esc.join("|") + ")", "gi");
    let last = 0, m;
    while ((m = re.exec(text))) {
      if (!m[0]) { re.lastIndex++; continue; }
      frag.append(text.slice(last, m.index), h("mark", { text: m[0] }));
      last = m.index + m[0].length;
    }
    frag.append(text.slice(last));
    return frag;
  }

  // -- rendering ---------------------------------------------------------------------------
  function render() {
    const b = state.body;
    const rows = b.kind === "events" ? b.events : b.results;
    const noun = b.kind === "events" ? "events" : "results";
    $("summary").innerHTML = "";
    delete $("summary").dataset.cancelled;
    const count = h("strong", { id: "event-count", "data-total": b.total, text: b.total.toLocaleString() });
    if (b.partial) {
      // still searching: what the buckets read so far hold (newest first)
      count.dataset.partial = "1";
      $("summary").append(h("span", { class: "spinner", "aria-hidden": "true" }), count, ` ${noun} so far` +
        (b.truncated ? ` (showing the newest ${rows.length.toLocaleString()})` : "") + " · still searching…");
    } else if (b.live) {
      count.dataset.live = "1";
      $("summary").append(count, b.kind === "events" ? ` events shown (the newest ${(1000).toLocaleString()} at most) · ${b.in_window.toLocaleString()} in the window now` : ` results over the window`);
    } else {
      $("summary").append(count,
        ` ${noun} · ${b.elapsed_secs}s`);
    }
    if (!b.partial && state.jobId) $("summary").append(" · ", h("a", { id: "inspect-job", href: "/jobs?sid=" + encodeURIComponent(state.jobId), text: "Inspect job" }));
    // the server's notes on the search (e.g. an index the user's roles may not search)
    for (const m of b.messages || []) $("summary").append(h("div", { class: "search-message", text: m }));
    renderTimeline(b);
    $("export-csv").disabled = $("export-json").disabled = !rows.length;
    state.page = Math.max(0, Math.min(state.page, Math.ceil(rowCount(b) / PAGE) - 1));
    // an event someone opened stays open while partial results arrive; the final answer redraws
    const reading = b.partial && document.querySelector('#events .toggle[aria-expanded="true"]');
    if (!reading) renderEvents();
    renderFields(); renderStats(); renderChart(); selectTab(state.tab, false);
    if (!b.partial && state.jobId && b.kind === "events" && b.events.length) loadSummary();
  }
  // rows the pager can reach: every event (or result row) of a finished search, those found so far while it runs
  function rowCount(b) {
    const kept = (b.kind === "events" ? b.events : b.results).length;
    return b.partial || !state.jobId ? kept : Math.max(kept, b.total);
  }
  // one page of rows: from the answer when it holds them, else from the finished job on the server
  async function pageRows(p) {
    const b = state.body, kept = b.kind === "events" ? b.events : b.results, start = p * PAGE;
    if (start + PAGE <= kept.length || kept.length >= rowCount(b)) return kept.slice(start, start + PAGE);
    if (state.pages.has(p)) return state.pages.get(p);
    const resp = await api("GET", `/web/api/jobs/${encodeURIComponent(state.jobId)}/rows?offset=${start}&count=${PAGE}`);
    const body = await resp.json();
    if (!resp.ok) throw new Error((body.error || {}).message || resp.statusText);
    const rows = body[b.kind === "events" ? "events" : "results"];
    state.pages.set(p, rows);
    return rows;
  }
  function pager(box, current, go) {
    box.textContent = "";
    const pages = Math.ceil(rowCount(state.body) / PAGE);
    if (pages <= 1) return;
    box.append(h("button", { type: "button", text: "‹ Prev", on: { click: () => go(current - 1) }, ...(current ? {} : { disabled: "" }) }));
    for (let p = 0; p < pages; p++) {
      if (pages > 12 && Math.abs(p - current) > 3 && p !== 0 && p !== pages - 1) { if (p === 1 || p === pages - 2) box.append(h("span", { class: "muted", text: "…" })); continue; }
      box.append(h("button", { type: "button", text: String(p + 1), "data-page": p, ...(p === current ? { "aria-current": "page" } : {}), on: { click: () => go(p) } }));
    }
    box.append(h("button", { type: "button", text: "Next ›", class: "next", on: { click: () => go(current + 1) }, ...(current < pages - 1 ? {} : { disabled: "" }) }));
  }

  // the timeline over the whole range searched (a true time axis: empty bins are zero-height,
  // so the gaps show); while searching, the bins found so far over the same axis
  function renderTimeline(b) {
    const tl = b.timeline || {}, buckets = tl.buckets || [];
    $("timeline-wrap").hidden = !buckets.length || !!b.live;
    if (!buckets.length) return;
    const span = tl.span_secs;
    const fin = (v) => v != null && isFinite(v);
    const lo = fin(tl.axis_earliest) ? tl.axis_earliest : fin(tl.earliest_epoch) ? tl.earliest_epoch : buckets[0].epoch;
    const hi = fin(tl.axis_latest) ? tl.axis_latest : fin(tl.latest_epoch) ? tl.latest_epoch : buckets[buckets.length - 1].epoch + span;
    const off = SpeleoCharts.zoneOffset(buckets);
    $("timeline-label").textContent = b.partial ? `Events found so far, by ${spanText(span)}` :
      `${SpeleoCharts.fmtEpoch(lo, off)} – ${SpeleoCharts.fmtEpoch(hi, off)}, bins of ${spanText(span)} · click a bar or drag across to zoom in`;
    $("zoom-out").hidden = !["date", "advanced"].includes($("range-btn").dataset.kind);
    // the range boxes get readable times in the server's zone (the server reads them in it)
    const narrow = (a, z) => { picker.set(SpeleoCharts.fmtEpoch(a, off), SpeleoCharts.fmtEpoch(z, off)); run(true); };
    SpeleoCharts.timeline($("timeline"), { buckets, span, lo, hi }, (bk) => narrow(bk.epoch, bk.epoch + span), narrow);
  }
  function spanText(s) {
    const units = [[2592000, "month"], [604800, "week"], [86400, "day"], [3600, "hour"], [60, "minute"], [1, "second"]];
    for (const [n, u] of units) if (s >= n && s % n === 0) return `${s / n} ${u}${s / n > 1 ? "s" : ""}`;
    return `${s}s`;
  }

  async function renderEvents() {
    const list = $("events"), b = state.body, want = state.page;
    list.textContent = ""; $("pager").textContent = "";
    if (b.kind !== "events") { list.append(h("li", { class: "empty", text: "This search transforms events: see Statistics and Visualization." })); return; }
    if (!b.events.length) { list.append(h("li", { class: "empty", text: "No events match in this time range." })); return; }
    let rows;
    try { rows = await pageRows(want); } catch (err) { list.append(h("li", { class: "empty", text: "Could not read this page: " + err.message })); return; }
    if (state.body !== b || state.page !== want) return;   // another search or page since
    list.textContent = "";
    const start = want * PAGE;
    state.shown = { start, rows };
    applyView();
    if (state.view.mode === "table") list.append(eventsTable(rows, start));
    else rows.forEach((ev, i) => list.append(eventItem(ev, start + i)));
    state.reopen = null;
    list.dataset.page = String(want);
    pager($("pager"), want, (p) => { state.page = p; renderEvents(); list.scrollIntoView({ block: "start" }); });
  }
  // display modes: list (time, text, selected fields, details), raw (the text only), table
  // (time and the selected fields as columns); comfortable or compact rows
  function applyView() {
    const list = $("events"), v = state.view;
    list.dataset.view = v.mode; list.dataset.density = v.density;
    document.querySelectorAll("[data-view]").forEach(b => b.setAttribute("aria-checked", String(b.dataset.view === v.mode)));
    document.querySelectorAll("[data-density]").forEach(b => b.setAttribute("aria-checked", String(b.dataset.density === v.density)));
  }
  function setView(change) {
    state.view = { ...state.view, ...change };
    SearchPanels.setViewPrefs(state.view);
    applyView();
    if (state.body && state.body.kind === "events") renderEvents();
  }
  function eventsTable(rows, start) {
    const cols = ["_time", ...selectedFields().filter(k => rows.some(ev => ev[k] != null))];
    if (cols.length === 1) cols.push("_raw");
    const li = h("li", { class: "event-table" });
    const head = h("tr", {}, ...cols.map(c => h("th", { scope: "col", text: c })));
    const tb = h("tbody");
    rows.forEach((ev, i) => tb.append(h("tr", { "data-index": start + i }, ...cols.map(c => h("td", { class: c === "_raw" ? "rawcell" : "" },
      c === "_time" ? h("time", { datetime: ev._time || "", text: shortIso(ev._time) }) : c === "_raw" ? highlight(String(ev._raw ?? "")) : String(ev[c] ?? ""))))));
    li.append(h("table", { class: "grid", id: "events-table" }, h("thead", {}, head), tb));
    return li;
  }
  // the events shown open now, by place and content (the final answer keeps them open where they still are)
  const eventKey = (ev, idx) => `${idx}\u0000${ev._time || ""}\u0000${String(ev._raw ?? "").slice(0, 500)}`;
  function openEventKeys() {
    const keys = new Set(), shown = state.shown;
    if (!shown) return keys;
    for (const li of document.querySelectorAll("#events li.event")) {
      if (!li.querySelector('.toggle[aria-expanded="true"]')) continue;
      const idx = +li.dataset.index, ev = shown.rows[idx - shown.start];
      if (ev) keys.add(eventKey(ev, idx));
    }
    return keys;
  }
  function eventItem(ev, idx) {
    if (state.view.mode === "raw") return h("li", { class: "event raw-only", "data-index": idx }, h("pre", { class: "raw" }, highlight(String(ev._raw ?? ""))));
    const li = h("li", { class: "event", "data-index": idx });
    const details = h("div", { class: "ev-fields", hidden: "" });
    const toggle = h("button", { type: "button", class: "toggle", "aria-expanded": "false", "aria-label": "Show fields", text: "▶" });
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", String(!open)); toggle.textContent = open ? "▶" : "▼";
      if (!open && !details.childNodes.length) details.append(fieldsTable(ev), sourceBox(ev));
      details.hidden = open;
    });
    li.append(toggle, h("time", { datetime: ev._time || "", text: shortIso(ev._time) }),
      h("pre", { class: "raw" }, highlight(String(ev._raw ?? ""))),
      h("div", { class: "meta" }, ...selectedFields().filter(k => ev[k] != null).map(k => h("span", {}, `${k}=`, h("b", { text: String(ev[k]) })))),
      details);
    if (state.reopen && state.reopen.has(eventKey(ev, idx))) toggle.click();
    return li;
  }
  function sourceBox(ev) {
    const box = h("div", { class: "source-box" });
    if (ev._offset == null || ev._offset < 0 || !ev.source || !ev.index) return box;
    const btn = h("button", { type: "button", class: "small show-source", text: "Show source" });
    btn.addEventListener("click", async () => {
      btn.disabled = true;
      const t = Date.parse(ev._time || "");
      const p = new URLSearchParams({ index: ev.index, source: ev.source, offset: String(ev._offset), lines: "5" });
      if (!isNaN(t)) p.set("time", String(t / 1000));
      let body, resp;
      try { resp = await api("GET", "/web/api/source?" + p); body = await resp.json(); }
      catch (err) { body = { error: { message: String(err) } }; }
      btn.remove();
      if (!resp || !resp.ok) { box.append(h("div", { class: "source-na", text: "Source not available: " + ((body.error || {}).message || "error") })); return; }
      if (!body.available) { box.append(h("div", { class: "source-na", text: "Source not available: " + body.reason + "." })); return; }
      const pre = h("pre", { class: "source", "aria-label": `Lines of ${ev.source} around this event` });
      for (const ln of body.lines) pre.append(h("span", { class: ln.event ? "src-line src-event" : "src-line", "data-offset": ln.offset, text: ln.text }));
      box.append(h("div", { class: "source-head muted", text: `${ev.source} · byte ${ev._offset}` }), pre);
    });
    box.append(btn);
    return box;
  }
  function shortIso(t) {
    const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d{1,3})?/.exec(t || "");
    return m ? `${m[1]} ${m[2]}${m[3] || ""}` : (t || "");
  }
  const HIDDEN = new Set(["_raw", "_time", "_indextime", "_offset", "_flags", "linecount"]);
  function fieldsTable(ev) {
    const t = h("table", {}), tb = h("tbody");
    t.append(tb);
    for (const k of Object.keys(ev).sort(fieldOrder)) {
      if (k === "_raw") continue;
      const vals = Array.isArray(ev[k]) ? ev[k] : [ev[k]];
      const cell = h("td", { class: "v" });
      vals.forEach(v => cell.append(
        h("button", { type: "button", class: "val", "data-field": k, title: `Add ${k}=${v} to the search`, text: String(v), on: { click: () => addFilter(k, v, false) } }),
        h("button", { type: "button", class: "excl", title: `Exclude ${k}=${v}`, "aria-label": `Exclude ${k}=${v}`, text: "≠", on: { click: () => addFilter(k, v, true) } }), " "));
      tb.append(h("tr", {}, h("td", { class: "k", text: k }), cell));
    }
    return t;
  }
  function fieldOrder(a, b) {
    const first = ["_time", "host", "source", "sourcetype", "index"];
    const ia = first.indexOf(a), ib = first.indexOf(b);
    if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    return a.localeCompare(b);
  }
  function quoteVal(v) { v = String(v); return /^[\w.:/@-]+$/.test(v) ? v : '"' + v.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"'; }
  function addFilter(field, value, exclude) {
    const q = $("q").value.trim(), term = `${field}${exclude ? "!=" : "="}${quoteVal(value)}`;
    const i = q.indexOf("|");
    setQ(i < 0 ? `${q} ${term}`.trim() : `${q.slice(0, i).trim()} ${term} ${q.slice(i)}`);
    state.tab = "events";
    run(true);
  }

  // the fields sidebar: counts and top values over every matching event (the job's summary,
  // GET /web/api/jobs/{id}/summary), or over a sample that says how large; before the summary
  // arrives (and while searching), over the events on the page
  async function loadSummary() {
    const id = state.jobId, b = state.body;
    try {
      const resp = await api("GET", `/web/api/jobs/${encodeURIComponent(id)}/summary`);
      const body = await resp.json();
      if (resp.ok && state.body === b) { state.summary = body; renderFields(); }
    } catch (_) { /* the page's own counts stay */ }
  }
  function localSummary(evs) {
    const m = new Map();
    for (const ev of evs) for (const [k, v] of Object.entries(ev)) {
      if (HIDDEN.has(k)) continue;
      const f = m.get(k) || { name: k, count: 0, vals: new Map() };
      f.count++;
      for (const x of [].concat(v)) f.vals.set(String(x), (f.vals.get(String(x)) || 0) + 1);
      m.set(k, f);
    }
    return [...m.values()].map(f => ({ name: f.name, count: f.count, distinct: f.vals.size,
      top: [...f.vals.entries()].sort((a, c) => c[1] - a[1]).slice(0, 10).map(([value, count]) => ({ value, count })) }))
      .sort((a, c) => c.count - a.count || a.name.localeCompare(c.name));
  }
  const SELECTED_KEY = "speleo.selectedFields";
  function selectedFields() {
    try { const v = JSON.parse(localStorage.getItem(SELECTED_KEY)); if (Array.isArray(v)) return v; } catch (_) { /* default */ }
    return ["host", "source", "sourcetype"];
  }
  function toggleSelected(k) {
    const sel = selectedFields(), i = sel.indexOf(k);
    if (i >= 0) sel.splice(i, 1); else sel.push(k);
    localStorage.setItem(SELECTED_KEY, JSON.stringify(sel));
    renderFields(); renderEvents();
  }
  function renderFields() {
    const box = $("fields"), b = state.body;
    const filter = ($("fields-filter") || {}).value || "";
    box.textContent = "";
    if (b.kind !== "events" || !b.events.length) { box.hidden = b.kind !== "events"; return; }
    box.hidden = false;
    const sum = state.summary, list = sum ? sum.fields : localSummary(b.events);
    const base = sum ? sum.events_read : b.events.length;
    const label = sum ? (sum.sample ? `sample: the newest ${sum.events_read.toLocaleString()} of ${sum.total.toLocaleString()} events`
      : `all ${sum.total.toLocaleString()} events`) : `${b.partial ? "found so far" : "this page's answer"}: ${plural(b.events.length, "event")}`;
    const input = h("input", { id: "fields-filter", type: "search", placeholder: "Filter fields", "aria-label": "Filter fields", value: filter });
    input.addEventListener("input", () => { renderFields(); const i = $("fields-filter"); i.focus(); i.setSelectionRange(i.value.length, i.value.length); });
    box.append(h("h3", { text: "Fields" }), h("div", { id: "fields-basis", class: "muted small-note", "data-sample": sum ? String(sum.sample) : "page", text: label }), input);
    const sel = selectedFields();
    const shown = list.filter(f => f.name.toLowerCase().includes(filter.toLowerCase()));
    const section = (title, fields, id) => {
      if (!fields.length) return;
      const ul = h("ul", { id });
      for (const f of fields) {
        const k = f.name, li = h("li", { "data-field": k });
        const kind = f.numeric ? "#" : "a";
        const btn = h("button", { type: "button", "aria-expanded": String(state.openField === k) },
          h("span", { class: "ftype", "aria-label": f.numeric ? "number" : "text", title: f.numeric ? "every value is a number" : "text values", text: kind }),
          h("span", { class: "fname", text: k }), h("span", { class: "fcount", text: f.count.toLocaleString() }));
        btn.addEventListener("click", () => { state.openField = state.openField === k ? null : k; renderFields(); });
        const star = h("button", { type: "button", class: "star", "aria-pressed": String(sel.includes(k)),
          "aria-label": `${sel.includes(k) ? "Unselect" : "Select"} ${k} (shown under each event)`, text: sel.includes(k) ? "★" : "☆" });
        star.addEventListener("click", () => toggleSelected(k));
        li.append(h("div", { class: "frow" }, star, btn));
        if (state.openField === k) li.append(topValues(f, base));
        ul.append(li);
      }
      box.append(h("h4", { text: title }), ul);
    };
    section("Selected fields", shown.filter(f => sel.includes(f.name)), "fields-selected");
    // interesting: in at least 20% of the events (Splunk's rule)
    section("Interesting fields", shown.filter(f => !sel.includes(f.name) && f.count >= 0.2 * base), "fields-interesting");
    section("Other fields", shown.filter(f => !sel.includes(f.name) && f.count < 0.2 * base), "fields-other");
  }
  function pbar(pct) { const d = h("div", { class: "pbar" }); d.style.width = pct.toFixed(1) + "%"; return d; }
  function topValues(f, base) {
    const k = f.name, t = h("table");
    for (const { value, count } of f.top) {
      const pct = 100 * count / Math.max(f.count, 1);
      t.append(h("tr", {}, h("td", { class: "v" }, h("button", { type: "button", text: value, on: { click: () => addFilter(k, value, false) } }),
        pbar(pct)),
        h("td", { class: "num", text: count.toLocaleString() }), h("td", { class: "num muted", text: pct.toFixed(1) + "%" })));
    }
    const box = h("div", { class: "topvals" }, h("div", { class: "muted", text:
      `Top ${f.top.length} of ${f.distinct.toLocaleString()}${f.distinct_capped ? "+" : ""} values · in ${(100 * f.count / Math.max(base, 1)).toFixed(1)}% of events` }), t);
    if (f.numeric) box.append(h("div", { class: "numeric muted", text: `min ${f.numeric.min.toLocaleString()} · max ${f.numeric.max.toLocaleString()} · avg ${(+f.numeric.mean.toFixed(2)).toLocaleString()}` }));
    const report = (spl) => { setQ(`${$("q").value.trim()} | ${spl}`); run(true); };
    box.append(h("div", { class: "freports" },
      h("button", { type: "button", class: "link", text: "Top values", on: { click: () => report(`top limit=20 ${k}`) } }),
      h("button", { type: "button", class: "link", text: "Rare values", on: { click: () => report(`rare limit=20 ${k}`) } }),
      f.numeric ? h("button", { type: "button", class: "link", text: "Average over time", on: { click: () => { state.tab = "viz"; state.chart = "line"; report(`timechart avg(${k})`); } } })
        : h("button", { type: "button", class: "link", text: "Top values by time", on: { click: () => { state.tab = "viz"; state.chart = "line"; report(`timechart count by ${k} limit=10`); } } })));
    return box;
  }

  function tableRows() {
    const b = state.body;
    return b.kind === "events" ? b.events : b.results;
  }
  function columns() {
    const b = state.body;
    if (b.kind === "events") return b.fields.filter(f => !f.startsWith("_") || f === "_time" || f === "_raw").slice(0, 12);
    return b.fields;
  }
  // a table of results: all of them when the answer holds them all (sorting over all), else
  // page by page from the finished job (every row reachable; sorting within the page)
  async function renderStats() {
    const box = $("stats"), b = state.body;
    box.textContent = ""; $("stats-pager").textContent = "";
    if (b.kind === "events") { box.append(h("div", { class: "empty", text: "Statistics appear for transforming searches, e.g. | stats count by status, | top uri, | timechart count." })); return; }
    if (!b.results.length) { box.append(h("div", { class: "empty", text: "No results." })); return; }
    const cols = columns(), all = rowCount(b) <= b.results.length, want = state.statsPage || 0;
    let rows = [...b.results];
    if (!all) {
      try { rows = [...await pageRows(want)]; }
      catch (err) { box.append(h("div", { class: "empty", text: "Could not read this page: " + err.message })); return; }
      if (state.body !== b || (state.statsPage || 0) !== want) return;
    }
    if (state.sort) {
      const { col, dir } = state.sort;
      rows.sort((x, y) => { const a = x[col], c = y[col]; const r = (typeof a === "number" && typeof c === "number") ? a - c : String(a ?? "").localeCompare(String(c ?? ""), undefined, { numeric: true }); return dir * r; });
    }
    const numeric = new Set(cols.filter(c => rows.every(r => r[c] == null || typeof r[c] === "number")));
    const head = h("tr");
    for (const c of cols) {
      const sorted = state.sort && state.sort.col === c;
      const th = h("th", { class: numeric.has(c) ? "num" : "", "aria-sort": sorted ? (state.sort.dir > 0 ? "ascending" : "descending") : "none" },
        h("button", { type: "button", text: c + (sorted ? (state.sort.dir > 0 ? " ▲" : " ▼") : ""), on: { click: () => {
          state.sort = { col: c, dir: sorted && state.sort.dir > 0 ? -1 : 1 }; renderStats(); } } }));
      head.append(th);
    }
    const tb = h("tbody");
    for (const r of rows.slice(0, 2000)) tb.append(h("tr", {}, ...cols.map(c => h("td", { class: numeric.has(c) ? "num" : "", text: r[c] == null ? "" : (Array.isArray(r[c]) ? r[c].join(", ") : String(r[c])) }))));
    box.textContent = "";
    box.append(h("table", { class: "grid", id: "stats-table", "data-page": want }, h("thead", {}, head), tb));
    if (!all) pager($("stats-pager"), want, (p) => { state.statsPage = p; renderStats(); });
  }

  // the Patterns tab: the cluster command's templates over the events (search-panels.js)
  const patterns = SearchPanels.patterns({ box: $("patterns"), head: $("patterns-head"), select: $("patterns-t") });
  let patternsFor = null;
  function showPatterns(again) {
    const b = state.body;
    if (!b || b.partial) return;
    if (b.kind !== "events") { patterns.cancel(); patternsFor = null; $("patterns").textContent = ""; $("patterns-head").textContent = "Patterns are found in events: run a search without a transforming command."; return; }
    if ((patternsFor === b || (b.live && patternsFor && patternsFor.live)) && !again) return;
    patternsFor = b;
    const q = $("q").value.trim(), [e, l] = b.live ? [`-${b.window_secs}s`, ""] : rangeValues();
    patterns.show(q, e, l, b.live ? b.in_window : b.total, (terms) => {
      const i = q.indexOf("|");
      setQ(i < 0 ? `${q} ${terms.join(" ")}` : `${q.slice(0, i).trim()} ${terms.join(" ")} ${q.slice(i)}`);
      selectTab("events", false); run(true);
    });
  }
  $("patterns-t").addEventListener("change", () => showPatterns(true));

  function renderChart() {
    const b = state.body;
    document.querySelectorAll("[data-chart]").forEach(x => x.setAttribute("aria-pressed", String(x.dataset.chart === state.chart)));
    let rows, xField, yFields;
    if (b.kind === "events") {
      rows = (b.timeline.buckets || []).map(k => ({ _time: k.time, count: k.count })); xField = "_time"; yFields = ["count"];
    } else {
      rows = b.results; const cols = b.fields;
      yFields = cols.filter(c => rows.length && rows.every(r => r[c] == null || typeof r[c] === "number") && c !== "_time");
      xField = cols.find(c => !yFields.includes(c)) || cols[0];
      if (yFields.length > 1 && !cols.includes("_time") && xField === cols[0] && yFields.includes(cols[0])) yFields = yFields.filter(c => c !== xField);
    }
    SpeleoCharts.chart($("chart"), state.chart, rows, xField, yFields, null, { dataTable: true });
  }

  function selectTab(tab, push = true) {
    state.tab = tab;
    for (const t of TABS) {
      $("tab-" + t).setAttribute("aria-selected", String(t === tab));
      $("tab-" + t).tabIndex = t === tab ? 0 : -1;
      $("panel-" + t).hidden = t !== tab;
    }
    if (push) writeUrl(false);
    if (tab === "patterns") showPatterns();
  }

  // -- export ------------------------------------------------------------------------------
  function download(name, type, text) {
    const a = h("a", { href: URL.createObjectURL(new Blob([text], { type })), download: name });
    document.body.append(a); a.click(); a.remove();
  }
  function csvCell(v) {
    if (v == null) return "";
    if (Array.isArray(v)) v = v.join("\n");
    v = String(v);
    return /[",\n\r]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
  }
  // the columns Speleo keeps for itself, left out of a CSV of raw events unless asked for
  const INTERNAL = new Set(["_fields", "_offset", "_flags", "_indextime", "linecount"]);
  // a finished search exports every row, streamed by the server; partial results export what is shown
  function exportAll(fmt) {
    const p = new URLSearchParams({ format: fmt, internal: String($("export-internal").checked) });
    const a = h("a", { href: `/web/api/jobs/${encodeURIComponent(state.jobId)}/export?${p}`, download: "" });
    document.body.append(a); a.click(); a.remove();
  }
  function exportCsv() {
    if (state.jobId) return exportAll("csv");
    const internal = $("export-internal").checked;
    const cols = state.body.kind === "events" ? state.body.fields.filter(f => internal || !INTERNAL.has(f)) : columns();
    const lines = [cols.map(csvCell).join(",")].concat(tableRows().map(r => cols.map(c => csvCell(r[c])).join(",")));
    download("speleo-results.csv", "text/csv", lines.join("\r\n") + "\r\n");
  }
  function exportJson() { if (state.jobId) return exportAll("json"); download("speleo-results.json", "application/json", JSON.stringify(tableRows(), null, 2)); }

  // -- saved searches (GET/POST/DELETE /api/v1/saved-searches) -----------------------------------
  function togglePanel(which, open) {
    const panel = $(which + "-panel"), btn = $(which + "-open");
    open = open ?? panel.hidden;
    panel.hidden = !open; btn.setAttribute("aria-expanded", String(open));
    return open;
  }
  async function saveSearch(replace) {
    const name = $("save-name").value.trim(), q = $("q").value.trim(), msg = $("save-msg");
    msg.textContent = ""; msg.className = "msg";
    if (!name) { $("save-name").focus(); return; }
    if (!q) { msg.textContent = "Type a search first."; msg.classList.add("bad"); return; }
    const [e, l] = rangeValues();
    const resp = await api("POST", "/api/v1/saved-searches", { name, search: q, earliest: e || null, latest: l || null, replace: !!replace });
    const body = await resp.json().catch(() => ({}));
    if (resp.status === 409) {
      msg.classList.add("bad");
      msg.append(`"${name}" exists already. `, h("button", { type: "button", class: "link", id: "save-replace", text: "Replace it", on: { click: () => saveSearch(true) } }));
      return;
    }
    if (!resp.ok) { msg.classList.add("bad"); msg.textContent = (body.error || {}).message || resp.statusText; return; }
    msg.classList.add("ok"); msg.textContent = `Saved as "${body.name}".`;
    setTimeout(() => { if (msg.classList.contains("ok")) togglePanel("save", false); }, 1200);
  }
  function savedUrl(sv) {
    const p = new URLSearchParams({ q: sv.search });
    if (sv.earliest) p.set("earliest", sv.earliest);
    if (sv.latest) p.set("latest", sv.latest);
    return "/?" + p;
  }
  async function loadSaved() {
    const box = $("saved-list");
    box.textContent = "Loading…";
    const resp = await api("GET", "/api/v1/saved-searches");
    const body = await resp.json().catch(() => ({}));
    box.textContent = "";
    if (!resp.ok) { box.append(h("div", { class: "msg bad", text: (body.error || {}).message || resp.statusText })); return; }
    const list = body.saved_searches || [];
    if (!list.length) { box.append(h("div", { class: "muted", text: "No saved searches yet: run a search, then Save." })); return; }
    const ul = h("ul", { class: "saved" });
    for (const sv of list) {
      const range = sv.earliest || sv.latest ? `${sv.earliest || "…"} → ${sv.latest || "now"}` : "all time";
      const open = h("a", { href: savedUrl(sv), class: "saved-open", text: sv.name });
      open.addEventListener("click", (ev) => {
        ev.preventDefault(); togglePanel("saved", false);
        history.pushState(null, "", savedUrl(sv)); readUrl(); run(false);
      });
      const del = h("button", { type: "button", class: "small saved-delete", "aria-label": `Delete saved search ${sv.name}`, text: "Delete" });
      del.addEventListener("click", async () => {
        if (!confirm(`Delete the saved search "${sv.name}"?`)) return;
        const r = await api("DELETE", "/api/v1/saved-searches/" + sv.id);
        if (r.ok || r.status === 404) loadSaved();
      });
      ul.append(h("li", { "data-id": sv.id, "data-name": sv.name },
        h("div", { class: "saved-main" }, open, h("code", { class: "saved-q", text: sv.search }), h("span", { class: "muted saved-range", text: range })), del));
    }
    box.append(ul);
  }
  $("save-open").addEventListener("click", () => {
    togglePanel("saved", false);
    if (togglePanel("save")) { $("save-msg").textContent = ""; $("save-name").focus(); }
  });
  $("save-cancel").addEventListener("click", () => { togglePanel("save", false); $("save-open").focus(); });
  $("save-panel").addEventListener("submit", (e) => { e.preventDefault(); saveSearch(false); });
  $("saved-open").addEventListener("click", () => { togglePanel("save", false); togglePanel("history", false); if (togglePanel("saved")) loadSaved(); });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { togglePanel("save", false); togglePanel("saved", false); togglePanel("history", false); }
  });

  // -- wiring --------------------------------------------------------------------------------
  $("search-form").addEventListener("submit", (e) => { e.preventDefault(); run(true); });
  updateHl = SplHighlight.attach($("q"), $("q-hl"), () => run(true));
  document.querySelectorAll("[data-view]").forEach(b => b.addEventListener("click", () => setView({ mode: b.dataset.view })));
  document.querySelectorAll("[data-density]").forEach(b => b.addEventListener("click", () => setView({ density: b.dataset.density })));
  applyView();
  // search history: your searches, newest first, each with Run (search-panels.js)
  const hist = SearchPanels.history({ panel: $("history-panel"), list: $("history-list"), filter: $("history-filter"),
    describe: TimePicker.describe, onRun: (q, e, l) => {
      $("history-open").setAttribute("aria-expanded", "false");
      setQ(q); picker.set(e, l); run(true);
    } });
  $("history-open").addEventListener("click", () => {
    togglePanel("save", false); togglePanel("saved", false);
    if (togglePanel("history")) { hist.load(); $("history-filter").focus(); }
  });
  $("zoom-out").addEventListener("click", () => { history.back(); });
  document.querySelectorAll('[role="tab"]').forEach((t, i, all) => {
    t.addEventListener("click", () => selectTab(t.dataset.tab));
    t.addEventListener("keydown", (e) => {
      const d = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (d) { const n = all[(i + d + all.length) % all.length]; n.focus(); selectTab(n.dataset.tab); }
    });
  });
  document.querySelectorAll("[data-chart]").forEach(b => b.addEventListener("click", () => {
    state.chart = b.dataset.chart; writeUrl(false);
    document.querySelectorAll("[data-chart]").forEach(x => x.setAttribute("aria-pressed", String(x === b)));
    if (state.body) renderChart();
  }));
  $("export-csv").addEventListener("click", exportCsv);
  $("export-json").addEventListener("click", exportJson);
  window.addEventListener("popstate", () => { readUrl(); run(false); });
  readUrl();
  document.body.dataset.ready = "1";
  selectTab(state.tab, false);
  if ($("q").value) run(false); else $("q").focus();
})();
