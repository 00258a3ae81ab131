"""What an alert action receives: `ActionContext`, and token substitution.

Tokens (Splunk Alerting Manual, "Use tokens in email notifications"; custom alert action
tokens): `$name$`, `$description$`, `$app$`, `$owner$`, `$cron_schedule$`, `$search$`,
`$results_link$`, `$trigger_date$`, `$trigger_time$`, `$alert.severity$`,
`$result.<field>$` (the first row in digest mode, the current row per result),
`$job.<property>$` (`sid`, `resultCount`, `earliestTime`, `latestTime`, `search`...),
`$server.<property>$` (`serverName`, `version`). An unknown token becomes empty text.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

TOKEN = re.compile(r"\$([A-Za-z0-9_.:\-]+)\$")


class ActionError(Exception):
    """An action that could not do its work; the message says why and what to do."""


@dataclass
class ServerContext:
    """What actions need from the server: its home, mail defaults and an event writer.

    `write_events(index, sourcetype, source, host, events)` journals events (each a dict with
    `_time`, `_raw` and fields) into a user index; None where nothing may be indexed (backtests).
    `email_defaults`: `[email]` settings of `<home>/alert_actions.conf` and `--smtp-server`.
    `clock`: the server's clock, for actions that write records stamped with "now" (incident).
    """

    home: Any
    tz: dt.tzinfo
    server_name: str = "speleo"
    base_url: str = "http://127.0.0.1:8000"
    email_defaults: dict[str, str] = field(default_factory=dict)
    write_events: Callable[..., int] | None = None
    clock: Any = None   # the server's `speleo.clock` clock (None: the system clock)

    @property
    def scripts_dir(self) -> Path:
        """Where `action.script.filename` is looked up (Splunk: `$SPLUNK_HOME/bin/scripts`)."""
        return Path(self.home.root) / "bin" / "scripts"


@dataclass
class ActionContext:
    """One trigger of one saved search, as one action sees it.

    `rows`: every result of the trigger (digest mode: the run's results; per result: the one
    row); `result`: the row `$result.*$` reads; `params`: the action's `action.<name>.<param>`
    values over its defaults; `job`: sid, resultCount, earliestTime, latestTime, search.
    """

    name: str
    attrs: dict[str, Any]
    owner: str
    params: dict[str, str]
    rows: list[dict]
    result: dict
    job: dict[str, Any]
    trigger_time: float
    server: ServerContext
    fields: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)   # what the action left out, and why (reported)

    @property
    def results_link(self) -> str:
        return f"{self.server.base_url}/app/search/search?sid={self.job.get('sid', '')}"

    def token(self, name: str) -> str:
        """The value of one token (without the dollars); empty when unknown."""
        if name.startswith("result."):
            return _text(self.result.get(name[7:]))
        if name.startswith("job."):
            return _text(self.job.get(name[4:]))
        if name.startswith("server."):
            return _text({"serverName": self.server.server_name, "version": "9.2.0",
                          "build": "speleo"}.get(name[7:]))
        local = dt.datetime.fromtimestamp(self.trigger_time, self.server.tz)
        simple = {
            "name": self.name, "description": self.attrs.get("description", ""), "app": self.attrs.get("app", "search"),
            "owner": self.owner, "cron_schedule": self.attrs.get("cron_schedule", ""),
            "search": self.attrs.get("search", ""), "results_link": self.results_link,
            "trigger_date": local.strftime("%B %d, %Y"), "trigger_time": str(int(self.trigger_time)),
            "trigger_timeHMS": local.strftime("%H:%M:%S"), "alert.severity": self.attrs.get("alert.severity", 3),
        }
        return _text(simple.get(name, self.attrs.get(name, "")))

    def render(self, text: str | None) -> str:
        """`text` with every `$token$` replaced."""
        return TOKEN.sub(lambda m: self.token(m.group(1)), text or "")


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (list, tuple)):
        return "\n".join(_text(x) for x in v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
