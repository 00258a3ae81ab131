/* Speleo's charts. The timeline histogram (click a bar, or drag across bars, to narrow the range)
   is our own SVG. Line/area/column/bar/pie charts use Chart.js when the page loaded it from the
   installed npm package (/static/vendor/chart.js/), else the SVG drawing below; the single value
   is plain HTML. */
"use strict";
const SpeleoCharts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#1f6feb", "#f08c00", "#2f9e44", "#e03131", "#7048e8", "#0c8599", "#d6336c", "#5c940d", "#868e96", "#a61e4d"];
  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  }
  function svg(w, h) { return el("svg", { viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: "none", role: "img" }); }
  function fmtNum(n) {
    if (typeof n !== "number" || !isFinite(n)) return String(n);
    if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(1).replace(/\.0$/, "") + "M";
    if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(1).replace(/\.0$/, "") + "k";
    return Number.isInteger(n) ? String(n) : n.toFixed(2);
  }
  /* a single value in full, grouped by the reader's locale: 10,000 (not "10k") */
  function singleText(v) {
    const n = Number(v);
    if (v == null || v === "" || !isFinite(n)) return String(v ?? "");
    return n.toLocaleString(undefined, { maximumFractionDigits: 6 });
  }
  function niceMax(v) {
    if (v <= 0) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  /* The timeline: a true time axis. tl = {buckets: [{epoch, count, time}], span, lo, hi} where
     [lo, hi) is the axis (the whole range searched, epoch seconds): each bin is drawn at the x of
     its time, bins where nothing happened are zero-height bars, so gaps (outages) show as gaps.
     One tab stop: the SVG; Left/Right (Home/End) move between bins, Enter narrows to the bin
     (onPick(bin)); a drag narrows to the bins dragged over (onRange(earliest, latest)). */
  function timeline(container, tl, onPick, onRange) {
    container.textContent = "";
    const W = 1000, H = 90, bottom = 18, top = 6, span = tl.span;
    const off = zoneOffset(tl.buckets), lo = tl.lo, hi = Math.max(tl.hi, tl.lo + span);
    const bins = padBins(tl.buckets, span, off, lo, hi);
    const xOf = (t) => (t - lo) / (hi - lo) * W;
    const s = svg(W, H);
    const total = bins.reduce((a, b) => a + b.count, 0);
    s.setAttribute("tabindex", "0");
    s.setAttribute("role", "img");
    s.setAttribute("aria-roledescription", "timeline");
    s.setAttribute("aria-label", `Timeline: ${total.toLocaleString()} events from ${fmtEpoch(lo, off)} to ${fmtEpoch(hi, off)}, ` +
      `${bins.length} bins. Left and right arrows move between bins, Enter narrows the search to one.`);
    s.dataset.lo = lo; s.dataset.hi = hi;
    const max = Math.max(1, ...bins.map(b => b.count));
    const bw = Math.max(span / (hi - lo) * W, 0.6);
    const rects = bins.map((b) => {
      const h = b.count ? Math.max(2, (H - top - bottom) * b.count / max) : 0;
      const r = el("rect", { class: b.count ? "bar" : "bar empty", x: xOf(b.epoch) + (bw > 3 ? 0.5 : 0), width: Math.max(bw - (bw > 3 ? 1 : 0), 0.6),
        y: H - bottom - h, height: h, "data-epoch": b.epoch, "data-count": b.count, "data-span": span }, s);
      el("title", {}, r).textContent = `${fmtEpoch(b.epoch, off)}: ${b.count.toLocaleString()} event${b.count === 1 ? "" : "s"}`;
      r.addEventListener("click", () => { if (!dragged) onPick(b); });
      return r;
    });
    // axis: about six ticks at round times
    const tick = niceStep((hi - lo) / 6);
    for (let t = Math.ceil(lo / tick) * tick; t < hi; t += tick) {
      el("line", { class: "tick", x1: xOf(t), x2: xOf(t), y1: H - bottom, y2: H - bottom + 3 }, s);
      el("text", { class: "axis", x: xOf(t) + 2, y: H - 4 }, s).textContent = fmtEpoch(t, off, hi - lo);
    }
    el("text", { class: "axis", x: W - 2, y: 10, "text-anchor": "end" }, s).textContent = fmtNum(max);
    // keyboard: one focusable element, a current bin
    const live = document.createElement("div");
    live.className = "sr-only"; live.setAttribute("aria-live", "polite"); live.id = "timeline-current";
    let cur = -1;
    const setCur = (i) => {
      if (!bins.length) return;
      cur = Math.max(0, Math.min(bins.length - 1, i));
      rects.forEach((r, j) => r.classList.toggle("current", j === cur));
      const b = bins[cur];
      live.textContent = `${fmtEpoch(b.epoch, off)}: ${b.count.toLocaleString()} event${b.count === 1 ? "" : "s"}`;
      s.dataset.current = String(cur);
    };
    s.addEventListener("keydown", (e) => {
      const first = bins.findIndex(b => b.count), k = e.key;
      const moves = { ArrowRight: 1, ArrowLeft: -1, PageDown: 10, PageUp: -10 };
      if (k in moves) setCur(cur < 0 ? (first < 0 ? 0 : first) : cur + moves[k]);
      else if (k === "Home") setCur(0);
      else if (k === "End") setCur(bins.length - 1);
      else if ((k === "Enter" || k === " ") && cur >= 0) onPick(bins[cur]);
      else return;
      e.preventDefault();
    });
    s.addEventListener("focus", () => { if (cur < 0) setCur(Math.max(0, bins.findIndex(b => b.count))); });
    // drag across the axis to select a range of bins
    const sel = el("rect", { class: "sel", x: 0, y: 0, width: 0, height: H - bottom, visibility: "hidden" }, s);
    let start = null, dragged = false;
    const binAt = (clientX) => {
      const box = s.getBoundingClientRect();
      const t = lo + (clientX - box.left) / box.width * (hi - lo);
      return Math.floor(Math.min(hi - 1e-6, Math.max(lo, t)) / span) * span;
    };
    s.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      start = { x: e.clientX, t: binAt(e.clientX) }; dragged = false;
      window.addEventListener("pointermove", move);
      window.addEventListener("pointerup", finish, { once: true });
    });
    const move = (e) => {
      if (!start) return;
      if (!dragged && Math.abs(e.clientX - start.x) < 5) return;
      dragged = true;
      const t = binAt(e.clientX), a = Math.min(t, start.t), b = Math.max(t, start.t) + span;
      sel.setAttribute("x", xOf(a)); sel.setAttribute("width", xOf(b) - xOf(a)); sel.setAttribute("visibility", "visible");
      s.dataset.selection = `${a}-${b}`;
    };
    const finish = (e) => {
      window.removeEventListener("pointermove", move);
      if (!start) return;
      const t = binAt(e.clientX), a = Math.min(t, start.t), b = Math.max(t, start.t) + span;
      start = null;
      if (dragged && onRange) onRange(a, b);
      setTimeout(() => { dragged = false; }, 0); // swallow the click that follows a drag
    };
    container.append(s, live);
  }
  /* the bins over the axis (else the events' range) with zero-count bins where nothing happened (at most 3000) */
  function padBins(buckets, span, off, lo, hi) {
    if (!buckets.length) return [];
    const have = new Map(buckets.map(b => [b.epoch, b]));
    let first = buckets[0].epoch, last = buckets[buckets.length - 1].epoch;
    if ((hi - lo) / span <= 3000) { first = Math.min(first, Math.floor(lo / span) * span); last = Math.max(last, Math.ceil(hi / span) * span - span); }
    if ((last - first) / span > 3000) return buckets;
    const out = [];
    for (let t = first; t <= last; t += span) out.push(have.get(t) || { epoch: t, count: 0, time: isoAt(t, off) });
    return out;
  }
  /* the server zone's offset (seconds) read from the ISO times it wrote, e.g. "...+02:00" */
  function zoneOffset(buckets) {
    const m = /([+-])(\d\d):?(\d\d)$/.exec((buckets[0] || {}).time || "");
    return m ? (m[1] === "-" ? -1 : 1) * (m[2] * 3600 + m[3] * 60) : 0;
  }
  function isoAt(t, off) {
    const sign = off < 0 ? "-" : "+", a = Math.abs(off);
    const z = off ? `${sign}${String(Math.floor(a / 3600)).padStart(2, "0")}:${String(Math.floor(a % 3600 / 60)).padStart(2, "0")}` : "Z";
    return new Date((t + off) * 1000).toISOString().slice(0, 19) + (off ? z : "Z");
  }
  /* epoch seconds as the server zone's wall time: "2015-05-17 10:05:00" (shorter for an axis over `width` seconds) */
  function fmtEpoch(t, off, width) {
    const s = new Date((t + off) * 1000).toISOString().slice(0, 19).replace("T", " ");
    if (width == null) return s;
    if (width > 3 * 86400) return s.slice(0, 10) + (s.slice(11, 16) === "00:00" ? "" : " " + s.slice(11, 16));
    if (width > 600) return s.slice(5, 16);
    return s.slice(11, 19);
  }
  function niceStep(raw) {
    const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
      172800, 604800, 1209600, 2592000, 7776000, 31536000];
    return steps.find(x => x >= raw) || Math.ceil(raw / 31536000) * 31536000;
  }
  function shortTime(iso, span) {
    if (!iso) return "";
    if (span >= 86400) return iso.slice(0, 10);
    if (span >= 60) return iso.slice(5, 16).replace("T", " ");
    return iso.slice(11, 19);
  }

  /* rows: array of objects, xField, yFields (numeric); onPoint(rowIndex, field), when given, is
     called when a point, bar or slice is clicked (dashboards' drilldown) */
  function chart(container, type, rows, xField, yFields, onPoint, opts) {
    draw(container, type, rows, xField, yFields, onPoint);
    if (rows.length && yFields.length) textAlternative(container, type, rows, xField, yFields, !!(opts && opts.dataTable));
  }
  /* what a screen reader is told instead of the picture: a summary as the chart's aria-label
     ("Column chart of count by level, 3 values: highest ERROR 1,200, lowest INFO 1,100") and
     the data as a table (the first 500 rows): under a "Data table" toggle when `visible`, else
     for screen readers only (dashboards' panels keep their size) */
  const NAMES = { line: "Line chart", area: "Area chart", column: "Column chart", bar: "Bar chart", pie: "Pie chart", single: "Single value" };
  function summaryText(type, rows, xField, yFields) {
    const f = yFields[0], vals = rows.map(r => Number(r[f])).filter(v => isFinite(v));
    const fmt = (v) => Number(v).toLocaleString(undefined, { maximumFractionDigits: 2 });
    if (type === "single") return `Single value: ${f} ${fmt(rows[0][f])}`;
    let hi = 0, lo = 0;
    rows.forEach((r, i) => { if (Number(r[f]) > Number(rows[hi][f])) hi = i; if (Number(r[f]) < Number(rows[lo][f])) lo = i; });
    const series = yFields.length > 1 ? ` (${yFields.length} series: ${yFields.slice(0, 5).join(", ")}${yFields.length > 5 ? "…" : ""})` : "";
    return `${NAMES[type] || "Chart"} of ${f} by ${xField}${series}, ${rows.length.toLocaleString()} value${rows.length === 1 ? "" : "s"}` +
      (vals.length ? `: highest ${rows[hi][xField]} ${fmt(rows[hi][f])}, lowest ${rows[lo][xField]} ${fmt(rows[lo][f])}` : "");
  }
  function textAlternative(container, type, rows, xField, yFields, visible) {
    const text = summaryText(type, rows, xField, yFields);
    const pic = container.querySelector("svg, canvas, .single");
    if (pic) { pic.setAttribute("role", "img"); pic.setAttribute("aria-label", text); }
    container.dataset.summary = text;
    const det = document.createElement("details"); det.className = visible ? "chart-data" : "chart-data sr-only";
    if (!visible) det.open = true;
    const sum = document.createElement("summary"); sum.textContent = "Data table";
    const t = document.createElement("table"); t.className = "chart-table";
    const cap = document.createElement("caption"); cap.className = "sr-only"; cap.textContent = text;
    const head = document.createElement("tr");
    for (const c of [xField, ...yFields]) { const th = document.createElement("th"); th.scope = "col"; th.textContent = c; head.append(th); }
    const thead = document.createElement("thead"); thead.append(head);
    const tb = document.createElement("tbody");
    for (const r of rows.slice(0, 500)) {
      const tr = document.createElement("tr");
      for (const c of [xField, ...yFields]) { const td = document.createElement("td"); td.textContent = r[c] == null ? "" : String(r[c]); tr.append(td); }
      tb.append(tr);
    }
    t.append(cap, thead, tb);
    det.append(sum, t);
    container.appendChild(det);
  }
  function draw(container, type, rows, xField, yFields, onPoint) {
    clear(container);
    if (!rows.length || !yFields.length) {
      const d = document.createElement("div"); d.className = "empty";
      d.textContent = "Nothing to chart: run a transforming search with a numeric column (e.g. | stats count by status).";
      container.appendChild(d); return;
    }
    if (type === "single") {
      const v = rows[0][yFields[0]];
      const d = document.createElement("div"); d.className = "single"; d.textContent = singleText(v); d.setAttribute("data-value", v);
      const l = document.createElement("div"); l.className = "single-label"; l.textContent = yFields[0];
      container.append(d, l); return;
    }
    if (window.Chart) return chartjs(container, type, rows, xField, yFields, onPoint);
    container.dataset.renderer = "svg";
    if (onPoint) container.onclick = (ev) => {
      const m = ev.target.closest("[data-row]");
      if (m) onPoint(Number(m.dataset.row), m.dataset.field);
    };
    if (type === "pie") return pie(container, rows, xField, yFields[0]);
    const W = 1000, H = 380, L = 60, R = 150, T = 14, B = 60;
    const s = svg(W, H); s.setAttribute("preserveAspectRatio", "xMidYMid meet");
    const vals = rows.flatMap(r => yFields.map(f => Number(r[f]) || 0));
    const max = niceMax(Math.max(0, ...vals));
    const pw = W - L - R, ph = H - T - B, n = rows.length;
    const labels = rows.map(r => String(r[xField] ?? ""));
    const g = el("g", { class: "grid" }, s), ax = el("g", { class: "axis" }, s);
    const horizontal = type === "bar";
    for (let i = 0; i <= 4; i++) {
      const v = max * i / 4;
      if (horizontal) {
        const x = L + pw * i / 4;
        el("line", { x1: x, x2: x, y1: T, y2: T + ph }, g);
        el("text", { x, y: T + ph + 16, "text-anchor": "middle" }, ax).textContent = fmtNum(v);
      } else {
        const y = T + ph - ph * i / 4;
        el("line", { x1: L, x2: L + pw, y1: y, y2: y }, g);
        el("text", { x: L - 6, y: y + 4, "text-anchor": "end" }, ax).textContent = fmtNum(v);
      }
    }
    const every = Math.max(1, Math.ceil(n / (horizontal ? 25 : 12)));
    if (type === "column" || type === "bar") {
      const band = (horizontal ? ph : pw) / n, inner = band * 0.8 / yFields.length;
      rows.forEach((r, i) => yFields.forEach((f, j) => {
        const v = Number(r[f]) || 0, len = (horizontal ? pw : ph) * v / max;
        const a = { class: "mark", fill: COLORS[j % COLORS.length], "data-value": v, "data-row": i, "data-field": f };
        const rect = horizontal
          ? el("rect", { ...a, x: L, y: T + i * band + band * 0.1 + j * inner, width: len, height: inner }, s)
          : el("rect", { ...a, x: L + i * band + band * 0.1 + j * inner, y: T + ph - len, width: inner, height: len }, s);
        el("title", {}, rect).textContent = `${labels[i]} · ${f}: ${r[f]}`;
      }));
      labels.forEach((lab, i) => {
        if (i % every) return;
        if (horizontal) el("text", { x: L - 6, y: T + (i + 0.5) * band + 4, "text-anchor": "end" }, ax).textContent = trunc(lab, 9);
        else el("text", { x: L + (i + 0.5) * band, y: T + ph + 16, "text-anchor": "middle" }, ax).textContent = trunc(lab, 14);
      });
    } else { // line, area
      const x = i => L + (n === 1 ? pw / 2 : pw * i / (n - 1));
      yFields.forEach((f, j) => {
        const pts = rows.map((r, i) => [x(i), T + ph - ph * (Number(r[f]) || 0) / max]);
        const d = pts.map((p, i) => (i ? "L" : "M") + p[0].toFixed(1) + "," + p[1].toFixed(1)).join("");
        const c = COLORS[j % COLORS.length];
        if (type === "area") el("path", { d: d + `L${x(n - 1)},${T + ph}L${x(0)},${T + ph}Z`, fill: c, "fill-opacity": 0.18, stroke: "none" }, s);
        el("path", { class: "mark", d, fill: "none", stroke: c, "stroke-width": 2 }, s);
        if (n <= 60) pts.forEach((p, i) => el("title", {}, el("circle", { cx: p[0], cy: p[1], r: 3, fill: c, "data-row": i, "data-field": f }, s)).textContent = `${labels[i]} · ${f}: ${rows[i][f]}`);
      });
      labels.forEach((lab, i) => { if (i % every === 0) el("text", { x: x(i), y: T + ph + 16, "text-anchor": "middle" }, ax).textContent = trunc(lab.replace("T", " ").slice(0, 16), 16); });
    }
    legend(s, yFields, W - R + 16, T + 4);
    container.appendChild(s);
  }
  function trunc(s, n) { return s.length > n ? s.slice(0, n - 1) + "…" : s; }
  function legend(s, names, x, y) {
    const g = el("g", { class: "legend" }, s);
    names.slice(0, 12).forEach((nm, i) => {
      el("rect", { x, y: y + i * 20, width: 12, height: 12, fill: COLORS[i % COLORS.length] }, g);
      el("text", { x: x + 18, y: y + i * 20 + 11 }, g).textContent = trunc(String(nm), 18);
    });
  }
  function pie(container, rows, xField, f) {
    const W = 700, H = 380, cx = 190, cy = 190, rad = 170;
    const s = svg(W, H); s.setAttribute("preserveAspectRatio", "xMidYMid meet");
    let data = rows.map((r, i) => ({ label: String(r[xField] ?? ""), v: Math.max(0, Number(r[f]) || 0), row: i })).sort((a, b) => b.v - a.v);
    if (data.length > 10) { const rest = data.slice(9).reduce((a, d) => a + d.v, 0); data = data.slice(0, 9).concat([{ label: "other", v: rest }]); }
    const total = data.reduce((a, d) => a + d.v, 0) || 1;
    let a0 = -Math.PI / 2;
    data.forEach((d, i) => {
      const a1 = a0 + 2 * Math.PI * d.v / total, large = a1 - a0 > Math.PI ? 1 : 0;
      const p = (a) => `${(cx + rad * Math.cos(a)).toFixed(2)},${(cy + rad * Math.sin(a)).toFixed(2)}`;
      const path = d.v >= total ? el("circle", { cx, cy, r: rad }, s)
        : el("path", { d: `M${cx},${cy}L${p(a0)}A${rad},${rad} 0 ${large} 1 ${p(a1)}Z` }, s);
      path.setAttribute("fill", COLORS[i % COLORS.length]); path.setAttribute("class", "mark"); path.setAttribute("stroke", "#fff");
      if (d.row !== undefined) { path.setAttribute("data-row", d.row); path.setAttribute("data-field", f); }
      el("title", {}, path).textContent = `${d.label}: ${d.v} (${(100 * d.v / total).toFixed(1)}%)`;
      a0 = a1;
    });
    legend(s, data.map(d => `${d.label} (${(100 * d.v / total).toFixed(1)}%)`), 400, 30);
    container.appendChild(s);
  }
  /* the same charts drawn by Chart.js (npm package chart.js, served from node_modules) */
  function chartjs(container, type, rows, xField, yFields, onPoint) {
    container.dataset.renderer = "chart.js";
    const box = document.createElement("div"); box.className = "chart-box";
    const canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    box.appendChild(canvas); container.appendChild(box);
    const labels = shortLabels(rows.map(r => String(r[xField] ?? "")));
    const many = yFields.length > 1;
    let config, pieRows = [];
    if (type === "pie") {
      let data = rows.map((r, i) => ({ label: labels[i], v: Math.max(0, Number(r[yFields[0]]) || 0), row: i })).sort((a, b) => b.v - a.v);
      if (data.length > 10) { const rest = data.slice(9).reduce((a, d) => a + d.v, 0); data = data.slice(0, 9).concat([{ label: "other", v: rest }]); }
      pieRows = data.map(d => d.row);
      const total = data.reduce((a, d) => a + d.v, 0) || 1;
      config = { type: "pie", data: { labels: data.map(d => `${d.label} (${(100 * d.v / total).toFixed(1)}%)`),
        datasets: [{ label: yFields[0], data: data.map(d => d.v), backgroundColor: data.map((_, i) => COLORS[i % COLORS.length]), borderColor: "#fff" }] },
        options: { plugins: { legend: { position: "right" } } } };
    } else {
      const horizontal = type === "bar", line = type === "line" || type === "area";
      config = { type: line ? "line" : "bar", data: { labels, datasets: yFields.map((f, j) => ({
          label: f, data: rows.map(r => Number(r[f]) || 0), borderColor: COLORS[j % COLORS.length],
          backgroundColor: line ? COLORS[j % COLORS.length] + "2e" : COLORS[j % COLORS.length],
          fill: type === "area", tension: 0.2, pointRadius: rows.length > 60 ? 0 : 3, borderWidth: line ? 2 : 0 })) },
        options: { indexAxis: horizontal ? "y" : "x", scales: { [horizontal ? "x" : "y"]: { beginAtZero: true },
          [horizontal ? "y" : "x"]: { ticks: { autoSkip: true, autoSkipPadding: 16, maxRotation: 0 } } },
          plugins: { legend: { display: many, position: "right" } } } };
    }
    if (onPoint) config.options.onClick = (ev, els) => {
      if (!els.length) return;
      const e = els[0];
      if (type === "pie") onPoint(pieRows[e.index], yFields[0]);
      else onPoint(e.index, yFields[e.datasetIndex]);
    };
    config.options.animation = false;
    config.options.maintainAspectRatio = false;
    config.options.responsive = true;
    const c = new window.Chart(canvas, config);
    container.dataset.points = String(config.data.datasets.reduce((a, d) => a + d.data.length, 0));
    container.dataset.chartType = c.config.type;
  }
  /* ISO times as short labels: "05-17 10:00" (or "10:00" within one day), seconds only when not :00 */
  function shortLabels(vals) {
    const re = /^(\d{4})-(\d\d-\d\d)T(\d\d:\d\d)(:\d\d)?/;
    if (!vals.length || !vals.every(v => re.test(v))) return vals;
    const m = vals.map(v => re.exec(v));
    const oneDay = m.every(x => x[1] + x[2] === m[0][1] + m[0][2]);
    const secs = m.some(x => x[4] && x[4] !== ":00");
    return m.map(x => (oneDay ? "" : x[2] + " ") + x[3] + (secs ? x[4] || "" : ""));
  }
  function clear(container) {
    container.querySelectorAll("canvas").forEach(cv => { const c = window.Chart && window.Chart.getChart(cv); if (c) c.destroy(); });
    container.textContent = "";
    delete container.dataset.points; delete container.dataset.chartType; delete container.dataset.renderer; delete container.dataset.summary;
    container.onclick = null;
  }
  return { timeline, chart, clear, fmtNum, fmtEpoch, zoneOffset };
})();
