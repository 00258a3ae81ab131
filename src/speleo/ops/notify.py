"""Notifications of the operations workflows: email and webhooks, every attempt recorded.

One sender for escalations, stakeholder updates, action-item reminders and scheduled
reports, so that each of them is recorded the same way and tested once:

    notifier = Notifier.for_home(home, db, clock, smtp_server="127.0.0.1:2525")
    attempt = notifier.email(["oncall@example.com"], "SEV2: checkout errors", "...",
                             ref=("incident", "42"))
    attempt.ok, attempt.detail          # True, "sent to 1 recipient(s) via 127.0.0.1:2525"

Settings come from `<home>/alert_actions.conf` (Splunk alert_actions.conf.spec): `[email]`
`mailserver` (HOST or HOST:PORT), `from`, `use_ssl`, `use_tls`, `auth_username`,
`auth_password`, `sslVerifyServerCert`, `ssl_ca`, `timeout`; `[webhook] allow_list` (shell
patterns a URL must match when set). `speleo serve --smtp-server HOST:PORT` overrides the mail
server.

Delivery failures never raise: the `Attempt` says `ok=False` and why, and it is recorded in
the `notification_attempts` table (time UTC epoch seconds, channel, target, subject, outcome,
the record it concerns). Bad arguments (no recipient, a URL that is not http(s)) raise
`InputError`. Secrets (the SMTP password) are never written into an attempt's detail.

Webhook payload styles:
- `json`: `{"title", "text", "fields": {..}, "link"}`;
- `slack`: Slack incoming-webhook `{"text", "blocks": [section(mrkdwn), fields, context]}`;
- `teams`: a Microsoft Teams incoming-webhook `MessageCard` (`@type`, `summary`, `title`,
  `text`, `sections[0].facts`, `potentialAction` OpenUri for the link).
The answer's body is never read and redirects are not followed (docs/decisions/0020).
"""

from __future__ import annotations

import fnmatch
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Iterable, Literal

import httpx
from sqlalchemy import Boolean, Float, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from speleo.clock import Clock, SystemClock
from speleo.conffile import read_conf
from speleo.errors import InputError
from speleo.ops.db import Base, Database

Style = Literal["json", "slack", "teams"]
MAX_DETAIL = 500          # characters of a failure's text kept in an attempt
MAX_ATTACHMENT = 25 << 20  # bytes: a larger attachment is refused (most mail servers refuse it anyway)


class AttemptRow(Base):
    """One delivery attempt (`notification_attempts`)."""

    __tablename__ = "notification_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[float] = mapped_column(Float, nullable=False, index=True)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    target: Mapped[str] = mapped_column(String(500), nullable=False)
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False)
    ref_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ref_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


@dataclass(frozen=True)
class Attempt:
    """One recorded attempt: `at` in epoch seconds UTC, `channel` "email" or "webhook"."""

    id: int
    at: float
    channel: str
    target: str
    subject: str
    ok: bool
    detail: str
    ref_type: str | None = None
    ref_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at, "channel": self.channel, "target": self.target,
                "subject": self.subject, "ok": self.ok, "detail": self.detail,
                "ref_type": self.ref_type, "ref_id": self.ref_id}


def _flag(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "t", "yes", "y", "on")


@dataclass(frozen=True)
class MailSettings:
    """Where and how email goes (Splunk alert_actions.conf `[email]` keys, see the module doc)."""

    host: str = "localhost"
    port: int = 25
    sender: str = "speleo@localhost"
    use_ssl: bool = False
    use_tls: bool = False
    username: str = ""
    password: str = field(default="", repr=False)
    verify_cert: bool = True
    ca_file: str = ""
    timeout_secs: float = 30.0

    @classmethod
    def from_settings(cls, s: dict[str, str]) -> "MailSettings":
        """From `[email]` settings; raises InputError for a mailserver that is not HOST[:PORT]."""
        raw = (s.get("mailserver") or "localhost").strip()
        use_ssl = _flag(s.get("use_ssl"))
        host, sep, port = raw.rpartition(":")
        if not sep:
            host, port = raw, ""
        try:
            port_no = int(port) if port else (465 if use_ssl else 25)
        except ValueError:
            raise InputError(f"alert_actions.conf [email] mailserver = {raw!r}: give HOST or HOST:PORT") from None
        try:
            timeout = float(s.get("timeout") or 30)
        except ValueError:
            raise InputError(f"alert_actions.conf [email] timeout = {s.get('timeout')!r}: give seconds") from None
        return cls(host or raw, port_no, (s.get("from") or "speleo@localhost").strip(), use_ssl,
                   _flag(s.get("use_tls")), s.get("auth_username") or "", s.get("auth_password") or "",
                   _flag(s.get("sslVerifyServerCert"), True), s.get("ssl_ca") or "", timeout)

    def tls_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca_file or None)
        if not self.verify_cert:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx


def conf_sections(home_root: Path) -> dict[str, dict[str, str]]:
    """`<home>/alert_actions.conf` as {stanza: settings} ({} when the file does not exist)."""
    path = Path(home_root) / "alert_actions.conf"
    out: dict[str, dict[str, str]] = {}
    if path.exists():
        for st in read_conf(path).merged():
            out.setdefault(st.name, {}).update(st.settings)
    return out


def _one_line(text: str) -> str:
    """Header-safe text: CR/LF never reach a header (no header injection)."""
    return " ".join(str(text).split())[:300]


def chat_payload(style: Style, title: str, text: str, fields: dict[str, Any] | None = None,
                 link: str | None = None) -> dict[str, Any]:
    """The JSON body of a webhook in STYLE (see the module doc)."""
    fields = {str(k): "" if v is None else str(v) for k, v in (fields or {}).items()}
    if style == "json":
        return {"title": title, "text": text, "fields": fields, "link": link}
    if style == "slack":
        blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*\n{text}"}}]
        if fields:
            blocks.append({"type": "section",
                           "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in list(fields.items())[:10]]})
        if link:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{link}|Open in Speleo>"}]})
        return {"text": f"{title}: {text}", "blocks": blocks}
    if style == "teams":
        card: dict[str, Any] = {"@type": "MessageCard", "@context": "https://schema.org/extensions",
                                "summary": title, "title": title, "text": text,
                                "sections": [{"facts": [{"name": k, "value": v} for k, v in fields.items()]}]}
        if link:
            card["potentialAction"] = [{"@type": "OpenUri", "name": "Open in Speleo",
                                        "targets": [{"os": "default", "uri": link}]}]
        return card
    raise InputError(f"webhook style {style!r}: give json, slack or teams")


class Notifier:
    """Sends email and webhooks and records every attempt (see the module doc)."""

    def __init__(self, db: Database, mail: MailSettings | None = None, clock: Clock | None = None,
                 webhook_allow_list: Iterable[str] = ()) -> None:
        self.db = db
        self.mail = mail or MailSettings()
        self.clock = clock or SystemClock()
        self.allow_list = [p for p in webhook_allow_list if p]

    @classmethod
    def for_home(cls, home, db: Database, clock: Clock | None = None, smtp_server: str | None = None) -> "Notifier":
        """From `<home>/alert_actions.conf`; `smtp_server` (HOST:PORT) overrides `[email] mailserver`."""
        sections = conf_sections(home.root)
        email = dict(sections.get("email", {}))
        if smtp_server:
            email["mailserver"] = smtp_server
        allow = [p.strip() for p in sections.get("webhook", {}).get("allow_list", "").split(",")]
        return cls(db, MailSettings.from_settings(email), clock, allow)

    # -- sending -------------------------------------------------------------------------------

    def email(self, to: list[str], subject: str, text: str, *, html: str | None = None,
              attachments: Iterable[tuple[str, bytes, str]] = (), ref: tuple[str, str] | None = None) -> Attempt:
        """Send one email to `to` (addresses) and record it. Attachments: (filename, bytes, "type/subtype").

        Raises InputError without a valid recipient or with an attachment over 25 MiB.
        """
        rcpt = [a.strip() for a in to if a and "@" in a and not any(c in a for c in "\r\n<>,; ")]
        if not rcpt:
            raise InputError(f"no valid email address in {list(to)!r}: give addresses like name@example.com")
        msg = EmailMessage()
        msg["Subject"] = _one_line(subject)
        msg["From"] = _one_line(self.mail.sender)
        msg["To"] = ", ".join(rcpt)
        msg.set_content(text)
        if html:
            msg.add_alternative(html, subtype="html")
        for name, data, mime in attachments:
            if len(data) > MAX_ATTACHMENT:
                raise InputError(f"attachment {name!r} is {len(data)} bytes; the limit is {MAX_ATTACHMENT} bytes")
            main, _, sub = (mime or "application/octet-stream").partition("/")
            msg.add_attachment(data, maintype=main, subtype=sub or "octet-stream", filename=_one_line(name))
        ok, detail = self._smtp_send(msg, rcpt)
        return self._record("email", ", ".join(rcpt), subject, ok, detail, ref)

    def _smtp_send(self, msg: EmailMessage, rcpt: list[str]) -> tuple[bool, str]:
        m = self.mail
        try:
            if m.use_ssl:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(m.host, m.port, timeout=m.timeout_secs, context=m.tls_context())
            else:
                smtp = smtplib.SMTP(m.host, m.port, timeout=m.timeout_secs)
            with smtp:
                if m.use_tls:
                    smtp.starttls(context=m.tls_context())
                if m.username:
                    smtp.login(m.username, m.password)
                refused = smtp.send_message(msg, to_addrs=rcpt)
        except (OSError, smtplib.SMTPException) as e:
            text = str(e).replace(m.password, "***") if m.password else str(e)
            return False, (f"the mail server {m.host}:{m.port} did not take the email: {text} "
                           "(check [email] mailserver in alert_actions.conf or speleo serve --smtp-server)")
        if refused:
            return False, f"refused by the mail server for: {', '.join(refused)}"
        return True, f"sent to {len(rcpt)} recipient(s) via {m.host}:{m.port}"

    def webhook(self, url: str, *, title: str, text: str, fields: dict[str, Any] | None = None,
                link: str | None = None, style: Style = "json", ref: tuple[str, str] | None = None,
                timeout_secs: float = 10.0) -> Attempt:
        """POST one JSON payload in STYLE to `url` and record it.

        Raises InputError for a URL that is not http(s), one outside `[webhook] allow_list`, or an
        unknown style; an unreachable or non-2xx endpoint is a failed attempt (no retry here:
        the caller decides, e.g. an escalation step).
        """
        url = (url or "").strip()
        if not url.lower().startswith(("http://", "https://")):
            raise InputError(f"webhook URL {url!r}: give an http:// or https:// URL")
        if self.allow_list and not any(fnmatch.fnmatchcase(url, p) for p in self.allow_list):
            raise InputError(f"webhook URL {url!r} matches no [webhook] allow_list pattern of alert_actions.conf")
        body = chat_payload(style, title, text, fields, link)
        try:
            with httpx.stream("POST", url, json=body, timeout=timeout_secs, follow_redirects=False,
                              headers={"User-Agent": "Speleo-Notify/1.0"}) as resp:
                status = resp.status_code
        except httpx.TimeoutException:
            return self._record("webhook", url, title, False, f"no answer within {timeout_secs:g} s", ref)
        except httpx.HTTPError as e:
            return self._record("webhook", url, title, False, f"could not be reached: {e}", ref)
        ok = 200 <= status < 300
        return self._record("webhook", url, title, ok, f"HTTP {status}" + ("" if ok else " (not 2xx)"), ref)

    # -- the record ----------------------------------------------------------------------------

    def _record(self, channel: str, target: str, subject: str, ok: bool, detail: str,
                ref: tuple[str, str] | None) -> Attempt:
        at = self.clock.time()
        row = AttemptRow(at=at, channel=channel, target=target[:500], subject=_one_line(subject)[:300], ok=ok,
                         detail=detail[:MAX_DETAIL], ref_type=ref[0] if ref else None,
                         ref_id=str(ref[1]) if ref else None)
        with self.db.session() as s:
            s.add(row)
            s.flush()
            return _attempt(row)

    def attempts(self, ref: tuple[str, str] | None = None, limit: int = 100) -> list[Attempt]:
        """Recorded attempts, newest first (all, or those about `ref`), at most `limit` (≤ 10,000)."""
        q = select(AttemptRow).order_by(AttemptRow.at.desc(), AttemptRow.id.desc()).limit(max(1, min(limit, 10_000)))
        if ref:
            q = q.where(AttemptRow.ref_type == ref[0], AttemptRow.ref_id == str(ref[1]))
        with self.db.session() as s:
            return [_attempt(r) for r in s.scalars(q)]


def _attempt(r: AttemptRow) -> Attempt:
    return Attempt(r.id, r.at, r.channel, r.target, r.subject, r.ok, r.detail, r.ref_type, r.ref_id)
