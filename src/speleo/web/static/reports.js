/* The report pages: /reports/{response,availability,capacity,disks} over /api/v1/reports/...
   Every chart is followed by a table with the same figures (its text alternative); the page
   prints without its navigation and form (a PDF renderer can load it as it is). */
"use strict";
(() => {
  const KINDS = ["response", "availability", "capacity", "disks"];
  const asked = location.pathname.split("/")[2];
  const kind = KINDS.includes(asked) ? asked : "response";
  const $ = (s, r = document) => r.querySelector(s);
  const out = $("#report");
  const TITLES = { response: "Response times", availability: "Availability and error budgets",
                   capacity: "Capacity and utilisation", disks: "Disk health" };
  document.querySelectorAll(".report-tabs a").forEach(a => { if (a.dataset.report === kind) a.setAttribute("aria-current", "page"); });
  document.querySelectorAll(".report-form [data-for]").forEach(l => { l.hidden = !l.dataset.for.split(" ").includes(kind); });
  $("#title").textContent = TITLES[kind] || "Report";
  const SINCE = { response: "all time", capacity: "-7d", disks: "-30d" };
  $("#report-form [name=since]").placeholder = SINCE[kind] || "";
  $("#print").addEventListener("click", () => window.print());

  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(k == null ? "-" : String(k)));
    return e;
  }
  function table(head, rows, caption) {
    const t = h("table", { class: "grid" });
    if (caption) t.append(h("caption", {}, caption));
    t.append(h("thead", {}, h("tr", {}, ...head.map(x => h("th", { scope: "col" }, x)))));
    const b = h("tbody");
    rows.forEach(r => b.append(h("tr", {}, ...r.map(c => c instanceof Node ? h("td", {}, c) : h("td", {}, c)))));
    t.append(b);
    return t;
  }
  function dur(s) {
    if (s == null) return "-";
    s = Math.round(s);
    if (s >= 86400) return `${Math.floor(s / 86400)}d${String(Math.floor(s % 86400 / 3600)).padStart(2, "0")}h`;
    if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor(s % 3600 / 60)).padStart(2, "0")}m`;
    if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
    return `${s}s`;
  }
  const pct = v => v == null ? "-" : (v * 100).toFixed(3) + "%";
  const num = (v, d = 1) => v == null ? "-" : Number(v).toFixed(d);
  const times = v => v == null ? "- (no events)" : Number(v).toFixed(2) + "x";
  const utc = t => t == null ? "-" : new Date(t * 1000).toISOString().slice(0, 16).replace("T", " ") + "Z";
  function chart(type, rows, x, ys, label) {
    const fig = h("figure");
    const c = h("div", { class: "chart", role: "img", "aria-label": label + " (the table below gives the same figures)" });
    fig.append(c, h("figcaption", {}, label));
    setTimeout(() => SpeleoCharts.chart(c, type, rows, x, ys), 0);
    return fig;
  }

  function response(rep) {
    const dl = h("dl", { class: "defs" });
    rep.definitions.forEach(d => dl.append(h("dt", {}, `${d.measure} (${d.name})`), h("dd", {}, `= ${d.definition}`)));
    out.append(h("h2", {}, "Definitions"), dl,
      h("p", { class: "muted" }, "Each measure as mean / median / p90 (nearest rank); n counts the incidents that have both timestamps."));
    const hours = v => v == null ? 0 : +(v / 3600).toFixed(2);
    for (const [g, groups] of Object.entries(rep.by)) {
      out.append(h("h2", {}, `By ${g}`));
      out.append(chart(g === "month" ? "line" : "column", groups.map(x => ({ key: x.key, "MTTD h": hours(x.mttd.mean),
        "MTTA h": hours(x.mtta.mean), "MTTM h": hours(x.mttm.mean), "MTTR h": hours(x.mttr.mean) })), "key",
        ["MTTD h", "MTTA h", "MTTM h", "MTTR h"], `Mean times in hours by ${g}`));
      out.append(table([g, "incidents", "MTTD", "MTTA", "MTTM", "MTTR"], [{ key: "all", ...rep.overall }, ...groups].map(x =>
        [x.key, x.incidents, ...["mttd", "mtta", "mttm", "mttr"].map(m =>
          `${dur(x[m].mean)} / ${dur(x[m].median)} / ${dur(x[m].p90)} (n=${x[m].n})`)])));
    }
  }

  function availability(rep) {
    if (!rep.slos.length) out.append(h("p", {}, "No SLOs yet: create one with 'speleo slo create' or POST /api/v1/slos."));
    rep.slos.forEach(r => {
      const s = r.slo, sec = h("section");
      sec.append(h("h2", {}, `${s.name} (${s.service}): ${s.objective}% over ${s.window_days} days`),
        h("p", {}, `Availability ${pct(r.availability)} (${r.good} good of ${r.total}); error budget left ${pct(r.budget_left)}; burn rate ${num(r.burn_rate, 2)}.`),
        chart("line", r.periods.map(p => ({ period: p.period, "availability %": p.availability == null ? 0 : +(p.availability * 100).toFixed(4),
          "objective %": s.objective })), "period", ["availability %", "objective %"], `Availability per ${rep.period}`),
        table(["period", "good", "total", "availability", "met"], r.periods.map(p => [p.period, p.good, p.total, pct(p.availability),
          p.met == null ? "-" : p.met ? "yes" : "NO"])),
        table(["burn-rate alert", "long window", "short window", "factor", "firing"], r.burn_windows.map(w =>
          [w.alert, `${times(w.burn_long)} over ${w.long}`, `${times(w.burn_short)} over ${w.short}`, w.factor, w.firing ? "FIRING" : "no"]), "Multi-window burn rates"),
        table(["bad period start", "end", "bad events", "events"], r.bad_periods.map(b => [utc(b.start), utc(b.end), b.bad, b.total]), "Bad periods (5-minute buckets above the error budget)"),
        table(["incident", "severity", "from", "to", "bad events", "share of budget"], r.incidents.map(i =>
          [`#${i.id}`, i.severity, utc(i.start), utc(i.end), i.bad_events, pct(i.budget_share)]), "Incidents that consumed the budget"));
      out.append(sec);
    });
  }

  function capacity(rep) {
    // per service (the forwarder's --service): its hosts' mean CPU and memory, fullest disk, summed traffic
    (rep.services || []).forEach(sv => {
      out.append(h("h2", {}, `Service ${sv.service} (${sv.hosts.length} host${sv.hosts.length === 1 ? "" : "s"}: ${sv.hosts.join(", ")})`),
        chart("line", sv.series.map(p => ({ time: utc(p.time), "cpu %": p.cpu_percent || 0, "memory %": p.memory_percent || 0,
          "fullest disk %": p.disk_percent || 0 })), "time", ["cpu %", "memory %", "fullest disk %"], `Utilisation of service ${sv.service}`));
    });
    if ((rep.services || []).length) {
      out.append(h("h2", {}, "Utilisation per service"), table(["service", "hosts", "cpu avg / max %", "memory avg / max %",
        "fullest disk avg / max %", "net in avg B/s", "net out avg B/s"], rep.services.map(x => [x.service, x.hosts.join(", "),
        `${num(x.cpu_avg)} / ${num(x.cpu_max)}`, `${num(x.memory_avg)} / ${num(x.memory_max)}`, `${num(x.disk_avg)} / ${num(x.disk_max)}`,
        num(x.net_recv_avg, 0), num(x.net_sent_avg, 0)]), "Services: CPU and memory averaged over their hosts' samples, network summed over their hosts"));
    }
    rep.hosts.forEach(hh => {
      out.append(h("h2", {}, hh.host), chart("line", hh.series.map(p => ({ time: utc(p.time), "cpu %": p.cpu_percent || 0,
        "memory %": p.memory_percent || 0, "fullest disk %": p.disk_percent || 0 })), "time", ["cpu %", "memory %", "fullest disk %"],
        `Utilisation of ${hh.host}`));
    });
    out.append(h("h2", {}, "Utilisation per host"), table(["host", "service", "cpu avg / max %", "memory avg / max %", "fullest disk avg / max %",
      "net in avg B/s", "net out avg B/s"], rep.hosts.map(x => [x.host, (x.services || []).join(", ") || "-", `${num(x.cpu_avg)} / ${num(x.cpu_max)}`,
      `${num(x.memory_avg)} / ${num(x.memory_max)}`, `${num(x.disk_avg)} / ${num(x.disk_max)}`, num(x.net_recv_avg, 0), num(x.net_sent_avg, 0)])));
    out.append(h("h2", {}, "Days until full"), h("p", { class: "muted" }, `Least-squares fit of used bytes since ${utc(rep.forecast_since)}.`),
      table(["host", "mount", "used GB", "total GB", "growth GB/day", "days until full", "full on"], rep.filesystems.map(f =>
        [f.host, f.mount, num(f.used / 2 ** 30), num(f.total / 2 ** 30), num(f.growth_bytes_per_day == null ? null : f.growth_bytes_per_day / 2 ** 30, 3),
         f.days_until_full == null ? f.status : num(f.days_until_full), utc(f.full_at)])));
  }

  function disks(rep) {
    out.append(table(["risk", "host", "device", "model", "serial", "readings", "why"], rep.drives.map(d =>
      [h("span", { class: "risk-" + d.risk }, d.risk), d.host, d.device, d.model, d.serial, d.readings, d.reasons.join("; ") || "-"]), "Drives, worst first"));
    rep.drives.forEach(d => {
      const attrs = Object.entries(d.attributes);
      out.append(h("h2", {}, `${d.host} ${d.device} (${d.risk})`), table(["figure", "first", "last", "change", "trend"],
        attrs.map(([n, a]) => [n, a.first, a.last, a.delta, a.trend])));
      const rising = attrs.filter(([, a]) => a.trend === "rising");
      if (rising.length) {
        const times = [...new Set(rising.flatMap(([, a]) => a.series.map(p => p[0])))].sort();
        out.append(chart("line", times.map(t => Object.fromEntries([["time", utc(t)], ...rising.map(([n, a]) =>
          [n, (a.series.find(p => p[0] === t) || [t, null])[1]])])), "time", rising.map(([n]) => n), `Rising figures of ${d.device}`));
      }
    });
    if (rep.flagged.length) out.append(table(["time", "host", "reason"], rep.flagged.map(f => [utc(f.time), f.host, f.reason]), "Flagged documents (kept)"));
    out.append(h("p", { class: "muted" }, "Alert when a figure rises: " + rep.alert_example));
  }

  let seq = 0;   // a report asked for while another loads replaces it (the older answer is dropped)
  async function run() {
    const my = ++seq;
    const f = new FormData($("#report-form"));
    const q = new URLSearchParams();
    for (const k of ["since", "until", "severity", "period", "service"]) if (f.get(k)) q.set(k, f.get(k));
    if (kind === "capacity" && f.get("host")) q.set("host", f.get("host"));
    $("#error").hidden = true;
    out.textContent = "Loading…";
    const r = await fetch(`/api/v1/reports/${kind}?${q}`, { credentials: "same-origin" });
    const body = await r.json().catch(() => ({}));
    if (my !== seq) return;
    out.textContent = "";
    if (!r.ok) { $("#error").hidden = false; $("#error").textContent = (body.error && body.error.message) || r.statusText; return; }
    $("#generated").textContent = "Generated " + utc(Date.now() / 1000);
    ({ response, availability, capacity, disks }[kind] || response)(body);
  }
  $("#report-form").addEventListener("submit", e => { e.preventDefault(); run(); });
  run();
})();
