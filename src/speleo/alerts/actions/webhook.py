"""The webhook action (Splunk Alerting Manual, "Use a webhook alert action").

`action.webhook.param.url` receives an HTTP POST with `Content-Type: application/json` and
the body `{"result": {first or current row}, "sid", "results_link", "search_name", "owner",
"app"}` (Splunk's payload; headers and body are not templatable, as in Splunk). Speleo's
choices: a 10 s timeout (`action.webhook.param.timeout`), no retry, a non-2xx answer is a
failure with its status.

Outbound policy (docs/decisions/0020-alert-security.md): only http:// and https://
URLs; redirects are not followed (a 3xx is a failure); the answer's body is never read (its
status is all that counts, so a huge or endless body costs nothing); and when `[webhook]
allow_list` is set in `<home>/alert_actions.conf` (comma-separated shell patterns such as
`https://hooks.example.com/*`), a URL (after tokens) must match one of them.
"""

from __future__ import annotations

import fnmatch

import httpx

from speleo.alerts.actions import ActionContext, ActionError, register_action
from speleo.alerts.conf import read_conf


def allow_list(ctx: ActionContext) -> list[str]:
    """The `[webhook] allow_list` patterns of `<home>/alert_actions.conf` ([] = any URL)."""
    root = getattr(ctx.server.home, "root", None)
    path = root / "alert_actions.conf" if root is not None else None
    if path is None or not path.exists():
        return []
    patterns: list[str] = []
    for st in read_conf(path).merged():
        if st.name == "webhook" and st.settings.get("allow_list"):
            patterns = [p.strip() for p in st.settings["allow_list"].split(",") if p.strip()]
    return patterns


def payload(ctx: ActionContext) -> dict:
    return {"result": {k: v for k, v in ctx.result.items()}, "sid": str(ctx.job.get("sid", "")),
            "results_link": ctx.results_link, "search_name": ctx.name, "owner": ctx.owner,
            "app": str(ctx.attrs.get("app", "search"))}


def post_webhook(ctx: ActionContext) -> str:
    url = ctx.render(ctx.params.get("param.url", "")).strip()
    if not url.lower().startswith(("http://", "https://")):
        raise ActionError(f"alert '{ctx.name}': action.webhook.param.url = {url!r}: give an http:// or https:// URL")
    allowed = allow_list(ctx)
    if allowed and not any(fnmatch.fnmatchcase(url, p) for p in allowed):
        raise ActionError(f"alert '{ctx.name}': the webhook URL {url!r} matches no [webhook] allow_list pattern "
                          "of alert_actions.conf; nothing was sent")
    timeout = float(ctx.params.get("param.timeout") or 10)
    try:
        with httpx.stream("POST", url, json=payload(ctx), timeout=timeout, follow_redirects=False,
                          headers={"User-Agent": "Speleo-Webhook/1.0"}) as resp:
            status = resp.status_code   # the body is not read: nothing it holds matters
    except httpx.TimeoutException:
        raise ActionError(f"alert '{ctx.name}': the webhook {url} did not answer within {timeout:g} s") from None
    except httpx.HTTPError as e:
        raise ActionError(f"alert '{ctx.name}': the webhook {url} could not be reached: {e}") from None
    if 300 <= status < 400:
        raise ActionError(f"alert '{ctx.name}': the webhook {url} answered HTTP {status} (a redirect; "
                          "redirects are not followed: give the final URL)")
    if not 200 <= status < 300:
        raise ActionError(f"alert '{ctx.name}': the webhook {url} answered HTTP {status}")
    return f"POST {url}: HTTP {status}"


register_action("webhook", post_webhook, maxtime_secs=60)
