"""The webhook action (Splunk Alerting Manual, "Use a webhook alert action").

`action.webhook.param.url` receives an HTTP POST with `Content-Type: application/json` and
the body `{"result": {first or current row}, "sid", "results_link", "search_name", "owner",
"app"}` (Splunk's payload; headers and body are not templatable, as in Splunk). Speleo's
choices: a 10 s timeout (`action.webhook.param.timeout`), no retry, a non-2xx answer is a
failure with its status.
"""

from __future__ import annotations

import httpx

from speleo.alerts.actions import ActionContext, ActionError, register_action


def payload(ctx: ActionContext) -> dict:
    return {"result": {k: v for k, v in ctx.result.items()}, "sid": str(ctx.job.get("sid", "")),
            "results_link": ctx.results_link, "search_name": ctx.name, "owner": ctx.owner,
            "app": str(ctx.attrs.get("app", "search"))}


def post_webhook(ctx: ActionContext) -> str:
    url = ctx.render(ctx.params.get("param.url", "")).strip()
    if not url.lower().startswith(("http://", "https://")):
        raise ActionError(f"alert '{ctx.name}': action.webhook.param.url = {url!r}: give an http:// or https:// URL")
    timeout = float(ctx.params.get("param.timeout") or 10)
    try:
        resp = httpx.post(url, json=payload(ctx), timeout=timeout,
                          headers={"User-Agent": "Speleo-Webhook/1.0"})
    except httpx.TimeoutException:
        raise ActionError(f"alert '{ctx.name}': the webhook {url} did not answer within {timeout:g} s") from None
    except httpx.HTTPError as e:
        raise ActionError(f"alert '{ctx.name}': the webhook {url} could not be reached: {e}") from None
    if not 200 <= resp.status_code < 300:
        raise ActionError(f"alert '{ctx.name}': the webhook {url} answered HTTP {resp.status_code}")
    return f"POST {url}: HTTP {resp.status_code}"


register_action("webhook", post_webhook, maxtime_secs=60)
