/* Read-only status page: open and recently resolved incidents with their latest update. */
"use strict";
(() => {
  const { $, h, when, fail, call } = SpeleoOps;
  async function load() {
    const b = await call("GET", "/api/v1/status-page");
    if (!b) return;
    const box = $("list"); box.textContent = "";
    if (!b.incidents.length) { box.append(h("div", { class: "empty", text: "All services are operating normally." })); return; }
    for (const i of b.incidents) {
      box.append(h("div", { class: "plan" }, h("h3", { text: `${i.title}` }),
        h("p", { text: `${i.severity} · ${i.status} · ${i.services.join(", ") || "—"} · since ${when(i.declared_at)}${i.resolved_at ? " · resolved " + when(i.resolved_at) : ""}` }),
        i.latest_update ? h("p", { text: `${when(i.latest_update_at)}: ${i.latest_update}` }) : h("p", { class: "muted", text: "No update yet." })));
    }
  }
  setInterval(() => load().catch(() => {}), 30000);
  load().catch(e => fail(e.message));
})();
