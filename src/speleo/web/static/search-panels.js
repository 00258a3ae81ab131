/* Parts of the search page around its results (written for Speleo): the search history panel,
   the Patterns tab (the `cluster` command's templates over the results), real-time searches
   (polling POST /web/api/live) and the event display preferences kept in this browser. */
"use strict";
const SearchPanels = (() => {
  const CSRF = document.querySelector('meta[name="csrf-token"]').content;
  const api = (method, url, body) => fetch(url, {
    method, credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF },
    body: body == null ? undefined : JSON.stringify(body),
  });
  const sleep = (ms) => new Promise(r => setTimeout(r, ms));
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "on") for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
      else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
    }
    for (const k of kids) if (k != null) e.append(k);
    return e;
  }
  const ago = (t) => {
    const s = Math.max(0, Date.now() / 1000 - t);
    if (s < 60) return "just now";
    for (const [n, u] of [[86400, "day"], [3600, "hour"], [60, "minute"]]) if (s >= n) { const k = Math.floor(s / n); return `${k} ${u}${k > 1 ? "s" : ""} ago`; }
    return "";
  };

  // -- search history (GET /web/api/history) ------------------------------------------------
  /* the panel lists your searches, newest first; "Run" puts one back in the search bar with its
     range and runs it: onRun(search, earliest, latest) */
  function history({ panel, list, filter, describe, onRun }) {
    let timer = null;
    async function load() {
      const p = new URLSearchParams({ limit: "100" });
      if (filter.value.trim()) p.set("contains", filter.value.trim());
      const resp = await api("GET", "/web/api/history?" + p);
      const body = await resp.json().catch(() => ({}));
      list.textContent = "";
      if (!resp.ok) { list.append(h("div", { class: "msg bad", text: (body.error || {}).message || resp.statusText })); return; }
      const rows = body.history || [];
      if (!rows.length) { list.append(h("div", { class: "muted", text: filter.value ? "No search of yours holds that text." : "No searches yet: the searches you run appear here." })); return; }
      const ul = h("ul", { class: "saved history" });
      for (const r of rows) {
        const run = h("button", { type: "button", class: "small history-run", text: "Run",
          "aria-label": `Run again: ${r.search}`, on: { click: () => { panel.hidden = true; onRun(r.search, r.earliest || "", r.latest || ""); } } });
        const counts = r.result_count == null ? r.state : `${Number(r.result_count).toLocaleString()} results`;
        ul.append(h("li", { "data-search": r.search, "data-runs": r.runs },
          h("div", { class: "saved-main" }, h("code", { class: "history-q", text: r.search }),
            h("span", { class: "muted saved-range", text: describe(r.earliest, r.latest) }),
            h("span", { class: "muted history-when", text: `${ago(r.last_run)} · ${counts}${r.runs > 1 ? ` · run ${r.runs} times` : ""}` })),
          run));
      }
      list.append(ul);
    }
    filter.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(load, 200); });
    return { load };
  }

  // -- waiting for a job (the Patterns tab's own search) -------------------------------------
  async function jobResult(search, earliest, latest, isCurrent) {
    let resp = await api("POST", "/web/api/jobs", { search, earliest: earliest || null, latest: latest || null, limit: 1000 });
    let body = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error((body.error || {}).message || resp.statusText);
    const id = body.id;
    for (let delay = 150; ; delay = Math.min(delay * 1.5, 600)) {
      if (!isCurrent()) { api("DELETE", "/web/api/jobs/" + encodeURIComponent(id)); return null; }
      if (body.state === "done") return body.result;
      if (body.state && body.state !== "running") throw new Error((body.error || {}).message || "the search " + body.state);
      await sleep(delay);
      resp = await api("GET", "/web/api/jobs/" + encodeURIComponent(id));
      body = await resp.json().catch(() => ({}));
      if (!resp.ok) throw new Error((body.error || {}).message || resp.statusText);
    }
  }

  // -- patterns ------------------------------------------------------------------------------
  const PATTERN_SAMPLE = 10000;   // events clustered at most (the newest)
  /* the literal words of a template ("<*> user <*> failed login") as search terms */
  function patternTerms(template) {
    const words = [];
    for (const tok of template.split(/\s+/)) {
      if (tok.includes("<*>")) continue;
      for (const w of tok.split(/[^\w.@-]+/)) if (w && !words.includes(w)) words.push(w);
    }
    return words.map(w => /^(AND|OR|NOT|TO)$/i.test(w) ? `"${w}"` : w);
  }
  /* the base search of a query: the events part, before the first pipe (its own commands kept
     when they are not transforming: the page only calls this for event searches) */
  function patternsSearch(q, sensitivity) {
    return `${q} | head ${PATTERN_SAMPLE} | cluster showcount=true showtemplate=true t=${sensitivity} | sort - cluster_count | head 100 | table cluster_count cluster_template`;
  }
  function patterns({ box, head, select }) {
    let seq = 0;
    async function show(q, earliest, latest, total, onSearch) {
      const my = ++seq;
      box.textContent = "";
      const sample = Math.min(total, PATTERN_SAMPLE);
      head.textContent = "";
      head.append(h("span", { class: "spinner", "aria-hidden": "true" }), ` Finding patterns in ${sample === total ? "the" : "the newest"} ${sample.toLocaleString()} events…`);
      let res;
      try { res = await jobResult(patternsSearch(q, select.value), earliest, latest, () => my === seq); }
      catch (err) { if (my === seq) { head.textContent = ""; box.append(h("div", { class: "error-box", text: "Patterns: " + err.message })); } return; }
      if (!res || my !== seq) return;
      const rows = res.results || [];
      head.textContent = `${rows.length.toLocaleString()} pattern${rows.length === 1 ? "" : "s"} in ${sample === total ? "all" : "the newest"} ${sample.toLocaleString()} events` +
        (rows.length >= 100 ? " (the 100 largest)" : "") + " · click a pattern to search for its words";
      const tb = h("tbody");
      for (const r of rows) {
        const terms = patternTerms(r.cluster_template || "");
        const pct = 100 * r.cluster_count / Math.max(sample, 1);
        const bar = h("div", { class: "pbar" }); bar.style.width = pct.toFixed(1) + "%";
        tb.append(h("tr", { "data-count": r.cluster_count },
          h("td", { class: "num", text: Number(r.cluster_count).toLocaleString() }),
          h("td", { class: "num muted", text: pct.toFixed(1) + "%" }),
          h("td", { class: "pattern" }, h("button", { type: "button", class: "pattern-open", "data-terms": terms.join(" "),
            title: "Search for the events with these words", on: { click: () => onSearch(terms) } },
          ...(r.cluster_template || "").split(/(<\*>)/).map(part => part === "<*>" ? h("span", { class: "wild", text: "<*>" }) : part)), bar)));
      }
      box.append(h("table", { class: "grid", id: "patterns-table" },
        h("thead", {}, h("tr", {}, h("th", { class: "num", text: "events" }), h("th", { class: "num", text: "%" }), h("th", { text: "pattern" }))), tb));
    }
    return { show, cancel: () => { seq++; } };
  }

  // -- real-time searches (POST /web/api/live, polled) ------------------------------------------
  const LIVE_EVERY_MS = 1500, LIVE_KEEP = 1000;
  /* Poll a real-time search until stop() (or a failure): onUpdate({kind, events|results, added,
     in_window, cursor, fields}) after every poll; events newest first, the newest LIVE_KEEP kept. */
  function live({ search, earliest, windowSecs, onUpdate, onError }) {
    let stopped = false, cursor = null, events = [], fields = new Set();
    (async () => {
      while (!stopped) {
        const t0 = Date.now();
        let resp, body;
        try {
          resp = await api("POST", "/web/api/live", { search, window_secs: windowSecs, cursor, earliest });
          body = await resp.json();
        } catch (err) { body = { error: { message: "The server did not answer: " + err } }; }
        if (stopped) return;
        if (!resp || !resp.ok) { stopped = true; onError(body.error || { message: resp ? resp.statusText : "failed" }, resp); return; }
        cursor = body.cursor ?? cursor;
        if (body.kind === "events") {
          events = body.events.concat(events).slice(0, LIVE_KEEP);
          body.fields.forEach(f => fields.add(f));
          onUpdate({ ...body, events, added: body.events.length, fields: [...fields], total: events.length });
        } else onUpdate({ ...body, added: 0 });
        await sleep(Math.max(200, LIVE_EVERY_MS - (Date.now() - t0)));
      }
    })();
    return { stop: () => { stopped = true; }, get stopped() { return stopped; } };
  }

  // -- event display: list, raw or table; comfortable or compact (kept in this browser) ---------
  const VIEW_KEY = "speleo.eventView";
  function viewPrefs() {
    try {
      const v = JSON.parse(localStorage.getItem(VIEW_KEY)) || {};
      return { mode: ["list", "raw", "table"].includes(v.mode) ? v.mode : "list", density: v.density === "compact" ? "compact" : "comfortable" };
    } catch (_) { return { mode: "list", density: "comfortable" }; }
  }
  function setViewPrefs(p) { localStorage.setItem(VIEW_KEY, JSON.stringify(p)); }

  return { history, patterns, patternTerms, live, viewPrefs, setViewPrefs };
})();
