/* Speleo admin page: data inputs (monitors, uploads), HEC tokens, users and roles, over the API
   routes that require the matching capabilities (a user without one sees that section's error). */
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const CSRF = document.querySelector('meta[name="csrf-token"]').content;
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "on") for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
      else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
    }
    for (const k of kids) if (k != null) e.append(k);
    return e;
  }
  async function api(method, url, body, raw) {
    const headers = { "X-CSRF-Token": CSRF };
    if (!raw) headers["Content-Type"] = "application/json";
    const resp = await fetch(url, { method, credentials: "same-origin", headers, body: raw ? body : body == null ? undefined : JSON.stringify(body) });
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error((data.error || {}).message || (data.detail || resp.statusText));
    return data;
  }
  function table(cols, rows, cells) {
    const t = h("table", { class: "grid" }, h("thead", {}, h("tr", {}, ...cols.map(c => h("th", { text: c })))));
    const tb = h("tbody");
    for (const r of rows) tb.append(h("tr", {}, ...cells(r).map(c => h("td", {}, c))));
    t.append(tb);
    return t;
  }
  const say = (id, text, ok) => { const m = $(id); m.textContent = text; m.className = "msg " + (ok ? "ok" : "bad"); };
  const form = (f) => Object.fromEntries(new FormData(f).entries());
  async function section(box, msg, load) {
    try { await load(); } catch (e) { $(box).textContent = ""; say(msg, e.message, false); }
  }

  // -- data inputs -----------------------------------------------------------------------
  function loadInputs() {
    return section("inputs", "inputs-msg", async () => {
      const st = await api("GET", "/api/v1/status");
      const inputs = st.inputs || [];
      $("inputs").textContent = "";
      if (!inputs.length) { $("inputs").append(h("div", { class: "muted", text: "No inputs yet." })); return; }
      $("inputs").append(table(["Id", "Kind", "Path", "Index", "Sourcetype", ""], inputs, (i) => [
        String(i.id ?? ""), String(i.kind || "monitor"), String(i.path || i.source || ""), String(i.index || ""), String(i.sourcetype || ""),
        h("button", { type: "button", class: "small", "aria-label": `Remove input ${i.path || i.id}`, text: "Remove", on: { click: async () => {
          if (!confirm(`Remove the input ${i.path || i.id}? Its events stay indexed.`)) return;
          try { await api("DELETE", "/api/v1/inputs/" + encodeURIComponent(i.id)); say("inputs-msg", "Input removed.", true); loadInputs(); }
          catch (e) { say("inputs-msg", e.message, false); }
        } } })]));
    });
  }
  $("monitor-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = form(e.target);
    try {
      const r = await api("POST", "/api/v1/inputs/monitor", { path: v.path, index: v.index, sourcetype: v.sourcetype || null });
      say("inputs-msg", `Monitoring ${v.path} (input ${r.id}).`, true); e.target.reset(); loadInputs();
    } catch (err) { say("inputs-msg", err.message, false); }
  });
  $("upload-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target, file = f.file.files[0];
    if (!file) return;
    const p = new URLSearchParams({ filename: file.name, index: f.index.value });
    if (f.sourcetype.value) p.set("sourcetype", f.sourcetype.value);
    say("inputs-msg", `Uploading ${file.name}…`, true);
    try {
      const r = await api("POST", "/api/v1/inputs/upload?" + p, file, true);
      say("inputs-msg", `${r.filename}: ${(r.events ?? r.events_indexed ?? 0).toLocaleString()} events indexed into ${f.index.value}.`, true);
      $("inputs-msg").dataset.events = String(r.events ?? r.events_indexed ?? "");
    } catch (err) { say("inputs-msg", err.message, false); }
  });

  // -- HEC tokens --------------------------------------------------------------------------
  function loadHec() {
    return section("hec", "hec-msg", async () => {
      const { tokens } = await api("GET", "/api/v1/hec-tokens");
      $("hec").textContent = "";
      if (!tokens.length) { $("hec").append(h("div", { class: "muted", text: "No tokens yet." })); return; }
      $("hec").append(table(["Name", "Default index", "Sourcetype", "Ack", "State", ""], tokens, (t) => [
        t.name, t.default_index, t.sourcetype || "", t.ack ? "yes" : "no", t.disabled ? "disabled" : "enabled",
        h("span", {},
          h("button", { type: "button", class: "small", text: t.disabled ? "Enable" : "Disable", on: { click: async () => {
            try { await api("PATCH", "/api/v1/hec-tokens/" + encodeURIComponent(t.name), { disabled: !t.disabled }); loadHec(); } catch (e) { say("hec-msg", e.message, false); } } } }), " ",
          h("button", { type: "button", class: "small", text: "Delete", on: { click: async () => {
            if (!confirm(`Delete the HEC token ${t.name}? Senders using it are refused from now on.`)) return;
            try { await api("DELETE", "/api/v1/inputs/http/" + encodeURIComponent(t.name)); loadHec(); } catch (e) { say("hec-msg", e.message, false); } } } }))]));
    });
  }
  $("hec-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = form(e.target);
    try {
      const r = await api("POST", "/api/v1/hec-tokens", { name: v.name, index: v.index, sourcetype: v.sourcetype || null, ack: !!v.ack });
      say("hec-msg", "", true);
      $("hec-msg").append(`Token ${r.name} created. Copy it now, it is not shown again: `, h("code", { id: "hec-secret", text: r.token }));
      e.target.reset(); loadHec();
    } catch (err) { say("hec-msg", err.message, false); }
  });

  // -- users and roles ----------------------------------------------------------------------
  const list = (text) => String(text || "").split(",").map(s => s.trim()).filter(Boolean);
  function loadUsers() {
    return section("users", "users-msg", async () => {
      const { users } = await api("GET", "/api/v1/users");
      $("users").textContent = "";
      $("users").append(table(["Name", "Roles", "State", "Sessions", ""], users, (u) => {
        const roles = h("input", { value: (u.roles || []).join(", "), "aria-label": `Roles of ${u.name}`, class: "roles-input" });
        const save = h("button", { type: "button", class: "small", text: "Save roles", on: { click: async () => {
          try {
            await api("PATCH", "/api/v1/users/" + encodeURIComponent(u.name), { roles: list(roles.value) });
            say("users-msg", `Roles of ${u.name}: ${list(roles.value).join(", ")}.`, true); loadUsers();
          } catch (e) { say("users-msg", e.message, false); } } } });
        return [u.name, h("span", {}, roles, " ", save), u.disabled ? "disabled" : "enabled", String(u.sessions ?? ""),
          h("button", { type: "button", class: "small", text: u.disabled ? "Enable" : "Disable", on: { click: async () => {
            try { await api("PATCH", "/api/v1/users/" + encodeURIComponent(u.name), { disabled: !u.disabled }); loadUsers(); } catch (e) { say("users-msg", e.message, false); } } } })];
      }));
    });
  }
  $("user-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = form(e.target);
    try {
      await api("POST", "/api/v1/users", { name: v.name, password: v.password, roles: list(v.roles) });
      say("users-msg", `User ${v.name} added.`, true); e.target.reset(); loadUsers();
    } catch (err) { say("users-msg", err.message, false); }
  });

  // the role form: a new role, or the role being edited (its name then fixed)
  const LIMITS = ["srchMaxTime", "srchJobsQuota", "srchMaxRowsRead", "srchMaxMemory"];
  const limitsText = (r) => LIMITS.filter(k => r[k] != null).map(k => `${k}=${r[k] === 0 ? "none" : Number(r[k]).toLocaleString()}`).join(", ") || "-";
  let editing = null;
  function roleForm(role, catalogue) {
    const f = $("role-form");
    editing = role ? role.name : null;
    f.name.value = role ? role.name : ""; f.name.readOnly = !!role;
    f.imports.value = role ? (role.importRoles || []).join(", ") : "";
    f.allowed.value = role ? (role.srchIndexesAllowed || []).join(", ") : "";
    f.default.value = role ? (role.srchIndexesDefault || []).join(", ") : "";
    for (const k of LIMITS) f[k].value = role && role[k] != null ? String(role[k]) : "";
    if (catalogue) {
      const box = $("role-caps");
      box.querySelectorAll("label").forEach(l => l.remove());
      for (const c of catalogue) box.append(h("label", { class: "cap" }, h("input", { type: "checkbox", name: "cap", value: c }), " " + c));
    }
    const mine = new Set(role ? role.capabilities || [] : []);
    f.querySelectorAll("input[name=cap]").forEach(i => { i.checked = mine.has(i.value); });
    $("role-form-title").textContent = role ? `Edit role ${role.name}` : "New role";
    $("role-save").textContent = role ? "Save role" : "Create role";
    $("role-new").hidden = !role;
  }
  function loadRoles() {
    return section("roles", "roles-msg", async () => {
      const body = await api("GET", "/api/v1/roles");
      const roles = body.roles || [];
      if (body.capabilities && !$("role-caps").querySelector("input")) roleForm(null, body.capabilities);
      $("roles").textContent = "";
      $("roles").append(table(["Role", "Inherits", "Capabilities", "Indexes allowed", "Default indexes", "Search limits", ""], roles, (r) => [
        r.name + (r.builtin ? " (built-in)" : ""), (r.importRoles || []).join(", "), (r.capabilities || []).join(", ") || "none",
        (r.srchIndexesAllowed || []).join(", "), (r.srchIndexesDefault || []).join(", "), limitsText(r),
        h("span", {},
          h("button", { type: "button", class: "small", text: "Edit", "aria-label": `Edit role ${r.name}`, on: { click: () => {
            roleForm(r); $("role-form").scrollIntoView({ block: "nearest" }); } } }), " ",
          r.builtin ? null : h("button", { type: "button", class: "small", text: "Delete", "aria-label": `Delete role ${r.name}`, on: { click: async () => {
            if (!confirm(`Delete the role ${r.name}? Users keep their other roles.`)) return;
            try { await api("DELETE", "/api/v1/roles/" + encodeURIComponent(r.name)); say("roles-msg", `Role ${r.name} deleted.`, true); if (editing === r.name) roleForm(null); loadRoles(); }
            catch (e) { say("roles-msg", e.message, false); } } } }))]));
    });
  }
  $("role-new").addEventListener("click", () => roleForm(null));
  $("role-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    const body = { capabilities: [...f.querySelectorAll("input[name=cap]:checked")].map(i => i.value),
                   importRoles: list(f.imports.value), srchIndexesAllowed: list(f.allowed.value),
                   srchIndexesDefault: list(f.default.value) };
    // a limit left empty: not set (removed when editing); the server checks and converts the text ("10m", "2GB")
    for (const k of LIMITS) { const v = f[k].value.trim(); if (v) body[k] = v; else if (editing) body[k] = null; }
    try {
      if (editing) await api("PATCH", "/api/v1/roles/" + encodeURIComponent(editing), body);
      else await api("POST", "/api/v1/roles", { name: f.name.value.trim(), ...body });
      say("roles-msg", `Role ${f.name.value.trim()} ${editing ? "saved" : "created"}.`, true);
      roleForm(null); loadRoles();
    } catch (err) { say("roles-msg", err.message, false); }
  });
  Promise.all([loadInputs(), loadHec(), loadUsers(), loadRoles()]).then(() => { document.body.dataset.ready = "1"; });
})();
