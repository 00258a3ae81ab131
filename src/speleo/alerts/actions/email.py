"""The email action (Splunk alert_actions.conf [email], savedsearches.conf `action.email.*`).

Parameters: `to` (required), `cc`, `bcc`, `from`, `subject` (default "Splunk Alert: $name$",
the shipped alert_actions.conf value), `message.alert`, `sendresults`, `inline`, `format`
(table, raw or csv: how inline results look), `sendcsv` (attach results.csv), `maxresults`
(10,000), `mailserver` (HOST[:PORT], default localhost:25), `use_ssl` (SMTPS), `use_tls`
(STARTTLS), `auth_username` / `auth_password`, `timeout` (seconds, 30), `sslVerifyServerCert`
(Splunk alert_actions.conf; Speleo default true: the server's certificate is checked) and
`ssl_ca` (Speleo: a PEM file of the CAs to trust instead of the system's). Every text parameter
takes tokens. The server-wide mail server comes from `speleo serve --smtp-server` or `[email]`
in `<home>/alert_actions.conf`; `action.email.mailserver` overrides it per alert.
"""

from __future__ import annotations

import csv
import html
import io
import smtplib
import ssl
from email.message import EmailMessage

from speleo.alerts.actions import ActionContext, ActionError, register_action
from speleo.alerts.spec import parse_bool

DEFAULTS = {"subject": "Splunk Alert: $name$", "message.alert": "The alert condition for '$name$' was triggered.",
            "format": "table", "maxresults": "10000", "mailserver": "localhost", "from": "speleo@localhost",
            "timeout": "30"}


def _flag(ctx: ActionContext, key: str, default: bool = False) -> bool:
    v = ctx.params.get(key)
    return default if v in (None, "") else parse_bool(v, f"action.email.{key}")


def _addresses(ctx: ActionContext, key: str) -> list[str]:
    raw = ctx.render(ctx.params.get(key, ""))
    return [a.strip() for a in raw.replace(";", ",").split(",") if a.strip()]


def results_csv(fields: list[str], rows: list[dict]) -> str:
    names = fields or sorted({k for r in rows for k in r})
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(names)
    for r in rows:
        w.writerow(["\n".join(map(str, v)) if isinstance(v, list) else ("" if v is None else v)
                    for v in (r.get(n) for n in names)])
    return buf.getvalue()


def _table_html(fields: list[str], rows: list[dict]) -> str:
    names = fields or sorted({k for r in rows for k in r})
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r.get(n, '')))}</td>" for n in names) + "</tr>"
                   for r in rows)
    return f"<table border=\"1\" cellpadding=\"3\"><tr>{head}</tr>{body}</table>"


def build_message(ctx: ActionContext) -> EmailMessage:
    """The email for one trigger (raises ActionError without recipients)."""
    to, cc, bcc = _addresses(ctx, "to"), _addresses(ctx, "cc"), _addresses(ctx, "bcc")
    if not (to or cc or bcc):
        raise ActionError(f"alert '{ctx.name}': action.email.to is empty; give at least one address")
    msg = EmailMessage()
    msg["Subject"] = ctx.render(ctx.params.get("subject")).replace("\n", " ")
    msg["From"] = ctx.render(ctx.params.get("from"))
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    rows = ctx.rows[: int(ctx.params.get("maxresults") or 10000)]
    text = ctx.render(ctx.params.get("message.alert"))
    intro = (f"{text}\n\nAlert: {ctx.name}\nSearch: {ctx.attrs.get('search', '')}\n"
             f"Results: {ctx.job.get('resultCount', len(ctx.rows))}\nView results: {ctx.results_link}\n")
    inline = _flag(ctx, "sendresults") and _flag(ctx, "inline")
    fmt = ctx.params.get("format") or "table"
    msg.set_content(intro + ("\n" + results_csv(ctx.fields, rows) if inline and fmt in ("csv", "raw") else ""))
    if inline and fmt == "table":
        msg.add_alternative(f"<p>{html.escape(text)}</p><p>Alert: {html.escape(ctx.name)}</p>"
                            + _table_html(ctx.fields, rows), subtype="html")
    if _flag(ctx, "sendcsv"):
        msg.add_attachment(results_csv(ctx.fields, rows).encode("utf-8"), maintype="text", subtype="csv",
                           filename="results.csv")
    return msg


def _server(ctx: ActionContext) -> tuple[str, int]:
    raw = (ctx.params.get("mailserver") or "localhost").strip()
    host, _, port = raw.rpartition(":") if ":" in raw else (raw, "", "")
    ssl_on = _flag(ctx, "use_ssl")
    try:
        return host or raw, int(port) if port else (465 if ssl_on else 25)
    except ValueError:
        raise ActionError(f"alert '{ctx.name}': action.email.mailserver = {raw!r}: give HOST or HOST:PORT") from None


def _tls(ctx: ActionContext) -> ssl.SSLContext:
    ca = (ctx.params.get("ssl_ca") or "").strip() or None
    tls = ssl.create_default_context(cafile=ca)
    if not _flag(ctx, "sslVerifyServerCert", True):
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
    return tls


def send_email(ctx: ActionContext) -> str:
    msg = build_message(ctx)
    host, port = _server(ctx)
    timeout = float(ctx.params.get("timeout") or 30)
    recipients = _addresses(ctx, "to") + _addresses(ctx, "cc") + _addresses(ctx, "bcc")
    try:
        if _flag(ctx, "use_ssl"):
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=_tls(ctx))
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            if _flag(ctx, "use_tls"):
                smtp.starttls(context=_tls(ctx))
            user = ctx.params.get("auth_username")
            if user:
                smtp.login(user, ctx.params.get("auth_password", ""))
            refused = smtp.send_message(msg, to_addrs=recipients)
    except (OSError, smtplib.SMTPException) as e:
        raise ActionError(f"alert '{ctx.name}': the mail server {host}:{port} did not take the email: {e} "
                          "(check action.email.mailserver or speleo serve --smtp-server)") from e
    if refused:
        return f"sent to {len(recipients) - len(refused)} of {len(recipients)} recipients; refused: {', '.join(refused)}"
    return f"sent to {len(recipients)} recipient(s) via {host}:{port}"


register_action("email", send_email, track_alert=True, maxtime_secs=300, defaults=DEFAULTS)
