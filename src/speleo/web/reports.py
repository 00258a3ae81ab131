"""Scheduled reports: the `report` alert action renders a saved search's results, or any page of
the web (a dashboard: `/app/dashboards/<name>`), with headless Chromium and emails it as a PDF,
a PNG or a CSV (Splunk: "Schedule reports", "Schedule PDF delivery").

A saved search enables it with the alert scheduler's keys (cron, `dispatch.*`) and:

    action.report = 1
    action.report.param.format = pdf            # pdf | png | csv (default pdf)
    action.report.param.to = a@example.com, b@example.com
    action.report.param.url = /app/dashboards/ops   # optional: a page of this server to render
    action.report.param.subject = Weekly errors     # optional (tokens allowed: $name$, $trigger_date$)
    action.report.param.tab = viz                   # optional: events | stats | viz (the search page)

Without `param.url` the page is the search page with the saved search's query over the range
the run searched (epoch bounds computed at the run's time, so a late render shows the same
range), drawn by the same code the web shows (`static/search.js`, `charts.js`) in its report
mode (`&report=1`: no header, search bar or pager). CSV needs no browser: the run's rows (at most
the scheduler's 10,000) in their column order.

Signing in: the renderer gets a server-side web session of the saved search's owner (falling
back to `admin` when the owner is not a web user), issued for this render only and revoked when
it ends; its cookie goes to Chromium only for this server's address and is never logged or
written anywhere. The mail goes through `speleo.ops.notify.Notifier.email` (recorded in
`notification_attempts`, ref ("report", name)); a failed delivery fails the action, which the
scheduler records in the run like any action (`alert_actions` of the run, `_internal`).

The browser: `$SPELEO_CHROMIUM` or `/usr/bin/chromium`, driven by Playwright (its sync API, in the
action's worker thread).
"""

from __future__ import annotations

import csv
import io
import os
from urllib.parse import urlencode, urlsplit

from speleo.alerts.actions import ActionContext, ActionError, register_action
from speleo.web.sessions import COOKIE

FORMATS = {"pdf": "application/pdf", "png": "image/png", "csv": "text/csv"}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
RENDER_TIMEOUT_SECS = 90.0
# a page says it has drawn everything with <body data-report-ready>; pages that do not (yet) are
# taken as drawn when the network is idle and no spinner or busy region is left
READY_JS = """() => document.body && (document.body.dataset.reportReady === '1' ||
  (document.readyState === 'complete' && !document.querySelector('.spinner, [aria-busy="true"]')
   && !document.body.dataset.reportPending))"""


def chromium_path() -> str:
    return os.environ.get("SPELEO_CHROMIUM") or "/usr/bin/chromium"


def recipients(ctx: ActionContext) -> list[str]:
    raw = ctx.render(ctx.params.get("param.to", ""))
    to = [a.strip() for a in raw.replace(";", ",").split(",") if a.strip()]
    if not to:
        raise ActionError(f"report '{ctx.name}': action.report.param.to is empty: give the addresses to mail it to")
    return to


def page_path(ctx: ActionContext, time_bounds) -> str:
    """The path (with query) of the page to render: `param.url` (a path of this server only: the
    renderer carries a session) or the search page over the run's range."""
    url = ctx.params.get("param.url", "").strip()
    if url:
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith("//"):
            raise ActionError(f"report '{ctx.name}': action.report.param.url = {url!r}: give a path of this server, "
                              "e.g. /app/dashboards/ops (the renderer signs in, so it renders nothing elsewhere)")
        return url
    earliest, latest = time_bounds(ctx.job.get("earliestTime") or None, ctx.job.get("latestTime") or None,
                                   ctx.trigger_time)
    query = {"q": str(ctx.job.get("search") or ctx.attrs.get("search", "")), "report": "1"}
    if earliest is not None:
        query["earliest"] = repr(float(earliest))
    if latest is not None:
        query["latest"] = repr(float(latest))
    tab = ctx.params.get("param.tab", "").strip()
    if tab in ("events", "stats", "viz"):
        query["tab"] = tab
    return "/?" + urlencode(query)


def csv_bytes(ctx: ActionContext) -> bytes:
    names = list(ctx.fields) or sorted({k for r in ctx.rows for k in r})
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(names)
    for r in ctx.rows:
        out.writerow(["\n".join(map(str, v)) if isinstance(v, list) else ("" if v is None else v)
                      for v in (r.get(n) for n in names)])
    return buf.getvalue().encode("utf-8")


def render(base_url: str, path: str, cookie: str, fmt: str, timeout_secs: float = RENDER_TIMEOUT_SECS) -> bytes:
    """`path` of the server at `base_url` as PDF (A4 landscape, backgrounds) or PNG (full page),
    signed in with the session `cookie`. Raises ActionError when the browser cannot."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
            try:
                # our own server, maybe with a self-signed certificate (speleo serve --tls-cert)
                context = browser.new_context(viewport={"width": 1280, "height": 900}, ignore_https_errors=True)
                context.add_cookies([{"name": COOKIE, "value": cookie, "url": base_url, "httpOnly": True}])
                page = context.new_page()
                page.set_default_timeout(timeout_secs * 1000)
                resp = page.goto(base_url + path, wait_until="networkidle")
                if resp is not None and resp.status >= 400:
                    raise ActionError(f"the page {path} answered HTTP {resp.status}")
                if "/login" in urlsplit(page.url).path:
                    raise ActionError("the renderer was sent to the sign-in page: its session was refused")
                page.wait_for_function(READY_JS)
                if fmt == "png":
                    return page.screenshot(full_page=True, type="png")
                page.emulate_media(media="screen")
                return page.pdf(format="A4", landscape=True, print_background=True,
                                margin={"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"})
            finally:
                browser.close()
    except PlaywrightError as e:
        raise ActionError(f"headless Chromium ({chromium_path()}) could not render {path}: "
                          f"{str(e).splitlines()[0]}") from None


def install(runtime, web) -> None:
    """Register the `report` action with this server's sessions, clock and notifier."""
    users = web.users

    def report(ctx: ActionContext) -> str:
        fmt = (ctx.params.get("param.format") or "pdf").strip().lower()
        if fmt not in FORMATS:
            raise ActionError(f"report '{ctx.name}': action.report.param.format = {fmt!r}: use pdf, png or csv")
        to = recipients(ctx)
        stamp = ctx.token("trigger_date") or "report"
        filename = f"{_safe_name(ctx.name)}-{stamp}.{fmt}"
        if fmt == "csv":
            if ctx.params.get("param.url", "").strip():
                raise ActionError(f"report '{ctx.name}': csv is the saved search's results; "
                                  "a page (action.report.param.url) is sent as pdf or png")
            data = csv_bytes(ctx)
        else:
            path = page_path(ctx, runtime.time_bounds)
            user = _renderer_user(users, ctx.owner)
            cookie, _session = web.sessions.issue(user.id, "report renderer")
            try:
                data = render(_own_url(runtime), path, cookie, fmt)
            finally:
                web.sessions.revoke(cookie, "report rendered")
        subject = ctx.render(ctx.params.get("param.subject") or "Speleo report: $name$")
        text = (f"The scheduled report \"{ctx.name}\" ({fmt.upper()}, {len(data):,} bytes) is attached.\n"
                f"Search: {ctx.job.get('search', '')}\nResults: {ctx.job.get('resultCount', '')}\n")
        attempt = runtime.notifier.email(to, subject, text, attachments=[(filename, data, FORMATS[fmt])],
                                         ref=("report", ctx.name[:64]))
        if not attempt.ok:
            raise ActionError(f"report '{ctx.name}': the mail was not delivered: {attempt.detail}")
        return f"{fmt} report ({len(data):,} bytes) mailed to {len(to)} recipient(s)"

    register_action("report", report, maxtime_secs=RENDER_TIMEOUT_SECS + 60,
                    defaults={"param.format": "pdf"})


def _renderer_user(users, owner: str):
    from speleo.errors import NotFoundError

    for name in (owner, "admin"):
        try:
            user = users.by_name(name)
        except NotFoundError:
            continue
        if not user.disabled:
            return user
    raise ActionError(f"no enabled web user {owner!r} (nor 'admin') to render the report as")


def _own_url(runtime) -> str:
    """This server's own address (`server.json`'s URL; a wildcard bind is reached on loopback)."""
    import json

    try:
        url = json.loads(runtime.home.server_file.read_text())["url"]
    except (OSError, ValueError, KeyError):
        url = f"http://{runtime.bind}:{runtime.port}"
    for wildcard in ("0.0.0.0", "[::]", "::"):
        url = url.replace(f"//{wildcard}:", "//127.0.0.1:")
    return url.rstrip("/")


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:60] or "report"
