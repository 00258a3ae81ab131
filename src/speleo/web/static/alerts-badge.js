/* The count of fired alerts in the header (GET /services/alerts/fired_alerts), and the search
   page's "Save as alert" link carrying the current query. */
"use strict";
(() => {
  const badge = document.getElementById("fired-count");
  if (badge) {
    fetch("/services/alerts/fired_alerts?output_mode=json&count=0", { credentials: "same-origin" })
      .then(r => r.ok ? r.json() : null)
      .then(b => {
        if (!b) return;
        const n = b.entry.reduce((a, e) => a + (e.content.triggered_alert_count || 0), 0);
        badge.textContent = n ? String(n) : "";
        badge.title = n ? `${n} fired alerts not yet expired` : "";
      }).catch(() => {});
  }
  const link = document.getElementById("save-alert");
  const q = document.getElementById("q");
  if (link && q) link.addEventListener("click", () => { link.href = "/alerts?q=" + encodeURIComponent(q.value); });
})();
