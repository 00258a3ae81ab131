/* The search page's time picker (written for Speleo): presets, relative ranges built from
   Splunk time modifiers (-2h@h), a date-and-time range with the browser's calendars, real-time
   windows (rt-5m .. rt), and an advanced form taking raw earliest/latest modifiers. The range
   is a pair of strings as Splunk writes them in a URL (earliest, latest; "" = unbounded) and is
   described in words on the button that opens the picker. */
"use strict";
const TimePicker = (() => {
  const PRESETS = [
    ["-15m", "", "Last 15 minutes"], ["-60m", "", "Last 60 minutes"], ["-4h", "", "Last 4 hours"],
    ["-24h", "", "Last 24 hours"], ["-7d", "", "Last 7 days"], ["-30d", "", "Last 30 days"],
    ["@d", "", "Today"], ["-1d@d", "@d", "Yesterday"], ["", "", "All time"],
  ];
  const REALTIME = [["rt-30s", "rt", "30 second window"], ["rt-1m", "rt", "1 minute window"],
    ["rt-5m", "rt", "5 minute window"], ["rt-30m", "rt", "30 minute window"], ["rt-1h", "rt", "1 hour window"]];
  const UNIT = { s: ["second", 1], m: ["minute", 60], h: ["hour", 3600], d: ["day", 86400], w: ["week", 604800],
    mon: ["month", 2592000], q: ["quarter", 7776000], y: ["year", 31536000] };
  const ALIAS = { sec: "s", secs: "s", second: "s", seconds: "s", min: "m", mins: "m", minute: "m", minutes: "m",
    hr: "h", hrs: "h", hour: "h", hours: "h", day: "d", days: "d", week: "w", weeks: "w", month: "mon", months: "mon",
    qtr: "q", quarter: "q", quarters: "q", yr: "y", year: "y", years: "y" };
  const unitOf = (u) => UNIT[u] ? u : ALIAS[(u || "").toLowerCase()];
  const plural = (n, w) => `${n} ${w}${n === 1 ? "" : "s"}`;

  /* a relative modifier as parts: {sign, n, unit, snap} for "-2h@h", "@d", "-1d@d", "now"; else null */
  function parseRelative(v) {
    if (v === "now") return { n: 0, unit: null, snap: null };
    const m = /^(?:([+-])(\d*)([a-zA-Z]+))?(?:@([a-zA-Z]+)\d?)?$/.exec(v || "");
    if (!m || (!m[1] && !m[4])) return null;
    const unit = m[3] ? unitOf(m[3]) : null, snap = m[4] ? unitOf(m[4]) : null;
    if ((m[3] && !unit) || (m[4] && !snap)) return null;
    return { sign: m[1] || "-", n: m[1] ? Number(m[2] || 1) : 0, unit, snap };
  }
  /* "2 hours ago, at the start of the hour"; "the start of today"; "now" */
  function relativeWords(v) {
    const r = parseRelative(v);
    if (!r) return null;
    if (!r.n && !r.snap) return "now";
    if (!r.n && r.snap === "d") return "the start of today";
    const ago = r.n ? `${plural(r.n, UNIT[r.unit][0])} ${r.sign === "+" ? "from now" : "ago"}` : "now";
    return r.snap ? (r.n ? `${ago}, at the start of the ${UNIT[r.snap][0]}` : `the start of this ${UNIT[r.snap][0]}`) : ago;
  }
  /* an absolute bound (epoch seconds or an ISO date-time) as "2026-01-05 09:00:00", else null */
  function absoluteWords(v) {
    if (/^\d+(\.\d+)?$/.test(v)) return new Date(Number(v) * 1000).toISOString().slice(0, 19).replace("T", " ") + " UTC";
    const m = /^(\d{4}-\d\d-\d\d)(?:[T ](\d\d:\d\d(?::\d\d)?))?(.*)$/.exec(v);
    return m ? `${m[1]}${m[2] ? " " + m[2] : ""}${m[3] ? " " + m[3].replace(/^\.\d+/, "") : ""}`.trim() : null;
  }
  /* seconds of a real-time window ("rt-5m" -> 300), null when the range is not real-time */
  function realtimeWindow(e, l) {
    if (!/^rt/i.test(e || "") && !/^rt/i.test(l || "")) return null;
    const r = parseRelative((e || "").slice(2));
    if (!r || !r.unit) return 300;   // "rt" alone: Speleo's real-time is always windowed (5 minutes)
    return r.n * UNIT[r.unit][1];
  }
  function windowWords(secs) {
    for (const u of ["d", "h", "m", "s"]) if (secs % UNIT[u][1] === 0) return plural(secs / UNIT[u][1], UNIT[u][0]);
    return plural(secs, "second");
  }
  /* the range in words: "Last 4 hours", "From 2 hours ago, at the start of the hour to now",
     "2026-01-05 09:00 to 2026-01-05 17:00", "Real-time (5 minute window)", "All time" */
  function describe(e, l) {
    e = e || ""; l = l || "";
    const p = PRESETS.find(x => x[0] === e && x[1] === l);
    if (p) return p[2];
    const rt = realtimeWindow(e, l);
    if (rt != null) return `Real-time (${windowWords(rt).replace(/s$/, "")} window)`;
    const one = (v, none) => !v ? none : absoluteWords(v) || relativeWords(v) || v;
    const from = one(e, "the beginning"), to = one(l, "now");
    if (!l && /ago$/.test(from) && /^-\d+[a-z]+$/i.test(e)) return "Last " + from.replace(/ ago$/, "");
    return `${absoluteWords(e) ? "" : "From "}${from} to ${to}`.replace(/^./, c => c.toUpperCase());
  }
  function kindOf(e, l) {
    if (realtimeWindow(e, l) != null) return "realtime";
    if (PRESETS.some(x => x[0] === (e || "") && x[1] === (l || ""))) return "preset";
    if ([e, l].every(v => !v || parseRelative(v))) return "relative";
    if ([e, l].every(v => !v || absoluteWords(v))) return "date";
    return "advanced";
  }

  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") el.textContent = v; else if (k === "on") for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      else el.setAttribute(k, v);
    }
    for (const k of kids) if (k != null) el.append(k);
    return el;
  }
  function unitSelect(id, withNone, noneText) {
    const s = h("select", { id });
    if (withNone) s.append(h("option", { value: "", text: noneText }));
    for (const u of ["s", "m", "h", "d", "w", "mon", "y"]) s.append(h("option", { value: u, text: UNIT[u][0] + (withNone ? "" : "s") }));
    return s;
  }
  /* one bound of the relative form: [n] [unit] ago, snapped to [unit] -> "-2h@h" ("" when n = 0 and no snap) */
  function relativeRow(prefix, label, allowNow) {
    const n = h("input", { id: prefix + "-n", type: "number", min: "0", step: "1", value: allowNow ? "0" : "1", "aria-label": `${label}: how many` });
    const unit = unitSelect(prefix + "-unit", false);
    unit.value = "h";
    const snap = unitSelect(prefix + "-snap", true, "no snap");
    const row = h("div", { class: "tp-row" }, h("span", { class: "tp-lbl", text: label }), n, unit,
      h("span", { text: "ago, snapped to" }), snap);
    unit.setAttribute("aria-label", `${label}: unit`); snap.setAttribute("aria-label", `${label}: snap to the start of`);
    const value = () => {
      const k = Math.max(0, Math.floor(Number(n.value) || 0));
      const mod = (k ? `-${k}${unit.value}` : "") + (snap.value ? "@" + snap.value : "");
      return mod || (allowNow ? "" : "now");
    };
    const set = (v) => {
      const r = parseRelative(v || "now");
      if (!r) return;
      n.value = String(r.n || 0); if (r.unit) unit.value = r.unit; snap.value = r.snap || "";
    };
    return { row, value, set };
  }
  /* "2026-01-05" + "09:00" -> "2026-01-05T09:00:00" (read by the server in its zone); "" when no date */
  function dateValue(d, t) { return d.value ? `${d.value}T${(t.value || "00:00").padEnd(8, ":00").slice(0, 8)}` : ""; }

  /* Build the picker in `panel` (a hidden popover opened by `button`, whose `text` element shows
     the range in words); `onApply(earliest, latest)` when a range is chosen. Returns
     {set(e, l): show that range, get(): [e, l]}. */
  function attach({ button, panel, text, onApply }) {
    let cur = ["", ""];
    const open = (yes) => {
      panel.hidden = !yes; button.setAttribute("aria-expanded", String(yes));
      if (yes) { fill(); (panel.querySelector(`[data-tp-section="${kindOf(...cur)}"] button, [data-tp-section="${kindOf(...cur)}"] input`) || panel.querySelector("button")).focus(); }
    };
    const apply = (e, l) => { set(e, l); open(false); button.focus(); onApply(e, l); };
    const err = h("div", { class: "msg bad", id: "tp-error", role: "alert" });
    const section = (id, title, ...kids) => h("section", { class: "tp-section", "data-tp-section": id, "aria-label": title }, h("h4", { text: title }), ...kids);
    const presetList = (list, sectionId) => h("div", { class: "tp-presets" }, ...list.map(([e, l, label]) =>
      h("button", { type: "button", class: "tp-preset", "data-earliest": e, "data-latest": l, "data-section": sectionId, text: label, on: { click: () => apply(e, l) } })));
    // relative
    const relE = relativeRow("tp-rel-e", "Earliest", false), relL = relativeRow("tp-rel-l", "Latest", true);
    const relPreview = h("code", { id: "tp-rel-preview" });
    const relUpdate = () => { relPreview.textContent = `earliest=${relE.value()} latest=${relL.value() || "now"}`; };
    for (const el of [relE.row, relL.row]) el.addEventListener("input", relUpdate);
    const relApply = h("button", { type: "button", class: "primary small", id: "tp-rel-apply", text: "Apply", on: { click: () => apply(relE.value(), relL.value()) } });
    // date and time (the browser's calendar and clock inputs)
    const dE = h("input", { type: "date", id: "tp-date-e", "aria-label": "From date" }), tE = h("input", { type: "time", id: "tp-time-e", step: "1", "aria-label": "From time" });
    const dL = h("input", { type: "date", id: "tp-date-l", "aria-label": "To date (empty: now)" }), tL = h("input", { type: "time", id: "tp-time-l", step: "1", "aria-label": "To time" });
    const dateApply = h("button", { type: "button", class: "primary small", id: "tp-date-apply", text: "Apply", on: { click: () => {
      const e = dateValue(dE, tE), l = dateValue(dL, tL);
      if (!e) { err.textContent = "Choose the first date of the range."; dE.focus(); return; }
      if (l && l <= e) { err.textContent = "The end of the range must come after its start."; dL.focus(); return; }
      err.textContent = ""; apply(e, l);
    } } });
    // advanced: raw modifiers (the ids the timeline's zoom fills too)
    const aE = h("input", { id: "earliest", placeholder: "-2h@h, @d, 2015-05-17T10:00, epoch", "aria-label": "Earliest (time modifier)" });
    const aL = h("input", { id: "latest", placeholder: "now, -1h, 2015-05-18T00:00", "aria-label": "Latest (time modifier)" });
    const advApply = () => { err.textContent = ""; apply(aE.value.trim(), aL.value.trim()); };
    for (const i of [aE, aL]) i.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); advApply(); } });
    panel.append(
      section("preset", "Presets", presetList(PRESETS, "preset")),
      section("realtime", "Real-time", h("p", { class: "muted small-note", text: "Keeps adding new events as they are indexed, over a sliding window, until you stop it." }), presetList(REALTIME, "realtime")),
      section("relative", "Relative", relE.row, relL.row, h("div", { class: "tp-row" }, relPreview, relApply)),
      section("date", "Date and time range", h("div", { class: "tp-row" }, h("span", { class: "tp-lbl", text: "Between" }), dE, tE),
        h("div", { class: "tp-row" }, h("span", { class: "tp-lbl", text: "and" }), dL, tL, h("span", { class: "muted", text: "(empty: now)" })), h("div", { class: "tp-row" }, dateApply)),
      section("advanced", "Advanced", h("div", { class: "tp-row" }, h("label", { class: "tp-lbl", for: "earliest", text: "Earliest" }), aE),
        h("div", { class: "tp-row" }, h("label", { class: "tp-lbl", for: "latest", text: "Latest" }), aL),
        h("div", { class: "tp-row" }, h("span", { class: "muted small-note", text: "Splunk time modifiers (-24h, -7d@d, @w1, rt-5m), ISO dates or epoch seconds." }),
          h("button", { type: "button", class: "primary small", id: "tp-adv-apply", text: "Apply", on: { click: advApply } }))),
      err);
    function fill() {
      const [e, l] = cur, kind = kindOf(e, l);
      aE.value = e; aL.value = l;
      if (kind === "relative") { relE.set(e || "-1h"); relL.set(l || "now"); }
      relUpdate();
      const split = (v) => { const m = /^(\d{4}-\d\d-\d\d)(?:[T ](\d\d:\d\d(?::\d\d)?))?/.exec(v || ""); return m ? [m[1], m[2] || "00:00:00"] : ["", ""]; };
      if (kind === "date") { [dE.value, tE.value] = split(e); [dL.value, tL.value] = split(l); }
      panel.querySelectorAll(".tp-preset").forEach(b => b.setAttribute("aria-pressed", String(b.dataset.earliest === e && b.dataset.latest === l)));
    }
    function set(e, l) {
      cur = [e || "", l || ""];
      text.textContent = describe(...cur);
      button.dataset.earliest = cur[0]; button.dataset.latest = cur[1]; button.dataset.kind = kindOf(...cur);
      aE.value = cur[0]; aL.value = cur[1];
    }
    button.addEventListener("click", () => open(panel.hidden));
    panel.addEventListener("keydown", (e) => { if (e.key === "Escape") { open(false); button.focus(); } });
    document.addEventListener("click", (e) => { if (!panel.hidden && !panel.contains(e.target) && !button.contains(e.target)) open(false); });
    set("", "");
    return { set, get: () => [...cur], close: () => open(false) };
  }
  return { attach, describe, realtimeWindow, kindOf, windowWords };
})();
