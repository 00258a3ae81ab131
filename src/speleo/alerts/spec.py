"""Saved-search attributes: Splunk's scheduling and alerting keys, one canonical spelling.

Splunk has two spellings for several keys (savedsearches.conf.spec vs. the REST API's
`saved/searches`): `enableSched`/`is_scheduled`, `counttype`/`alert_type`,
`relation`/`alert_comparator`, `quantity`/`alert_threshold`. Both are accepted; the REST
spelling is stored. Percentages: the conf form `relation = drops by`, `quantity = 10%` and
the REST form `alert_comparator = drops by perc`, `alert_threshold = 10` both become
comparator `drops by perc`, threshold `10`.

`normalize(raw)` turns a dict of strings (a conf stanza, a REST form, a JSON body) into the
canonical dict plus the keys it did not use; `AlertSpec.from_attrs` gives the typed view the
scheduler reads; `validate` says, naming the saved search and the key, what is wrong.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from speleo.errors import InputError

ALIASES = {"enableSched": "is_scheduled", "counttype": "alert_type", "relation": "alert_comparator",
           "quantity": "alert_threshold"}
ALERT_TYPES = ("always", "number of events", "number of hosts", "number of sources", "custom")
COMPARATORS = ("greater than", "less than", "equal to", "not equal to", "rises by", "drops by",
               "rises by perc", "drops by perc")
PRIORITIES = ("default", "higher", "highest")
SHARING = ("user", "app", "global")
# "report" (scheduled PDF/PNG/CSV reports) is installed by the server (speleo.web.reports): known everywhere
KNOWN_ACTIONS = ("email", "webhook", "script", "logevent", "lookup", "summary_index", "report")

# canonical key -> (kind, default). Kinds: text, bool, int, duration, list, enum values (tuple)
KEYS: dict[str, tuple[Any, Any]] = {
    "search": ("text", ""),
    "description": ("text", ""),
    "disabled": ("bool", False),
    "is_scheduled": ("bool", False),
    "cron_schedule": ("text", ""),
    "schedule_window": ("text", "0"),
    "schedule_priority": (PRIORITIES, "default"),
    "allow_skew": ("text", "0"),  # N% of the period or a duration
    "realtime_schedule": ("bool", True),
    "max_concurrent": ("int", 1),
    "run_on_startup": ("bool", False),
    "run_n_times": ("int", 0),
    "dispatch.earliest_time": ("text", ""),
    "dispatch.latest_time": ("text", ""),
    "dispatch.ttl": ("text", "2p"),
    "alert_type": (ALERT_TYPES, "always"),
    "alert_comparator": ("text", ""),
    "alert_threshold": ("text", ""),
    "alert_condition": ("text", ""),
    "alert.digest_mode": ("bool", True),
    "alert.suppress": ("bool", False),
    "alert.suppress.period": ("duration", ""),
    "alert.suppress.fields": ("list", []),
    "alert.suppress.group_name": ("text", ""),
    "alert.severity": ("int", 3),
    "alert.expires": ("duration", "24h"),
    "alert.track": (("true", "false", "auto"), "auto"),
    "sharing": (SHARING, "user"),
    "app": ("text", "search"),
}
# keys that change what a run measures: an edit of one forgets the previous run's value
TRIGGER_KEYS = ("search", "dispatch.earliest_time", "dispatch.latest_time", "alert_type", "alert_comparator",
                "alert_threshold", "alert_condition")
# keys whose edit makes run_on_startup run again (Splunk: "search or dispatch arguments")
DISPATCH_KEYS = ("search", "dispatch.earliest_time", "dispatch.latest_time")
_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off", ""}
_DURATION = re.compile(r"^\s*(\d+)\s*(s|sec|secs|m|min|mins|h|hr|hrs|d|day|days|p)?\s*$", re.I)
_UNIT = {"": 1, "s": 1, "sec": 1, "secs": 1, "m": 60, "min": 60, "mins": 60, "h": 3600, "hr": 3600, "hrs": 3600,
         "d": 86400, "day": 86400, "days": 86400}


def parse_bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InputError(f"{key} = {value!r}: expected true/false (or 1/0)")


def duration_secs(value: Any, key: str, period: float | None = None) -> float:
    """`60`, `1m`, `2h`, `1d` -> seconds (a bare number is seconds, Splunk's rule for
    alert.suppress.period and alert.expires); `2p` = 2 periods of the schedule."""
    m = _DURATION.match(str(value))
    if not m:
        raise InputError(f"{key} = {value!r}: expected a duration such as 60, 30s, 10m, 2h or 1d")
    n, unit = int(m.group(1)), (m.group(2) or "").lower()
    if unit == "p":
        return n * (period or 0.0)
    return float(n * _UNIT[unit])


def _action_key(key: str) -> bool:
    return key.startswith("action.") and len(key) > 7


def normalize(raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Canonical attributes and the keys not understood (reported to the user, not stored).

    Raises InputError naming the key when a value has the wrong type.
    """
    out: dict[str, Any] = {}
    unknown: list[str] = []
    for key, value in raw.items():
        key = ALIASES.get(key, key)
        if key == "actions":
            for name in _split_list(value):
                out[f"action.{name}"] = True
        elif key.startswith("rule.") and len(key) > 5:
            out[key] = str(value).strip()
        elif _action_key(key):
            parts = key.split(".", 2)
            out[key] = parse_bool(value, key) if len(parts) == 2 else str(value)
        elif key in KEYS:
            out[key] = _coerce(key, value)
        else:
            unknown.append(key)
    _fold_percent(out)
    return out, unknown


def _split_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def _coerce(key: str, value: Any) -> Any:
    kind = KEYS[key][0]
    if kind == "bool":
        return parse_bool(value, key)
    if kind == "int":
        try:
            return int(str(value).strip())
        except ValueError:
            raise InputError(f"{key} = {value!r}: expected a whole number") from None
    if kind == "list":
        return _split_list(value)
    text = str(value).strip()
    if isinstance(kind, tuple):
        low = text.lower()
        if key == "alert.track" and low in ("1", "0"):
            low = "true" if low == "1" else "false"
        if low not in kind:
            raise InputError(f"{key} = {value!r}: expected one of {', '.join(kind)}")
        return low
    if kind == "duration" and text:
        duration_secs(text, key)
    return text


def _fold_percent(out: dict[str, Any]) -> None:
    """conf `quantity = 10%` with `relation = drops by` -> `drops by perc` and `10`."""
    comp = str(out.get("alert_comparator", "")).strip().lower()
    if "alert_comparator" in out:
        out["alert_comparator"] = comp
    q = str(out.get("alert_threshold", "")).strip()
    if q.endswith("%"):
        if comp in ("rises by", "drops by"):
            out["alert_comparator"] = comp + " perc"
        elif comp not in ("rises by perc", "drops by perc"):
            raise InputError(f"alert_threshold = {q!r}: a percentage needs the comparator 'rises by' or 'drops by' "
                             f"(got {comp or 'none'!r})")
        out["alert_threshold"] = q[:-1].strip()


@dataclass
class AlertSpec:
    """The typed view of one saved search's canonical attributes (defaults filled in)."""

    name: str
    attrs: dict[str, Any]
    actions: dict[str, dict[str, str]] = field(default_factory=dict)  # enabled action -> its params

    def __getitem__(self, key: str) -> Any:
        return self.attrs.get(key, KEYS[key][1] if key in KEYS else None)

    @classmethod
    def from_attrs(cls, name: str, attrs: dict[str, Any]) -> "AlertSpec":
        actions: dict[str, dict[str, str]] = {}
        for key, value in attrs.items():
            parts = key.split(".", 2)
            if parts[0] == "action" and len(parts) == 2 and value:
                actions.setdefault(parts[1], {})
        for key, value in attrs.items():
            parts = key.split(".", 2)
            if parts[0] == "action" and len(parts) == 3 and parts[1] in actions:
                actions[parts[1]][parts[2]] = value
        return cls(name, dict(attrs), actions)

    @property
    def scheduled(self) -> bool:
        return bool(self["is_scheduled"]) and not self["disabled"] and bool(self["cron_schedule"])

    @property
    def digest(self) -> bool:
        """Once per run (alert.digest_mode), except rule types, which trigger once per match."""
        return bool(self["alert.digest_mode"]) and not self.attrs.get("rule.type")

    @property
    def threshold(self) -> float | None:
        t = str(self["alert_threshold"]).strip()
        return float(t) if t else None

    def suppress_period(self) -> float:
        p = self["alert.suppress.period"]
        return duration_secs(p, "alert.suppress.period") if p else 0.0

    def expires_secs(self) -> float:
        return duration_secs(self["alert.expires"] or "24h", "alert.expires")

    def window_secs(self, period: float) -> float:
        """schedule_window in seconds; `auto` = half the period capped at 30 minutes [Decision];
        0 when schedule_priority is not default (Splunk: priority wins over a window)."""
        if self["schedule_priority"] != "default":
            return 0.0
        w = str(self["schedule_window"]).strip().lower()
        if w == "auto":
            return min(period / 2, 1800.0)
        return float(int(w or 0) * 60)

    def skew_secs(self, period: float, owner: str) -> float:
        """This search's `allow_skew` offset in seconds (savedsearches.conf.spec): `N%` of the
        period or a duration, at most the period; the offset is a stable pseudo-random fraction
        of it, derived from (owner, app, name, cron) as the spec suggests, so it does not move
        between restarts and changes only with an edit."""
        import hashlib

        raw = str(self["allow_skew"] or "0").strip()
        if raw in ("", "0"):
            return 0.0
        top = period * float(raw[:-1]) / 100 if raw.endswith("%") else duration_secs(raw, "allow_skew")
        seed = f"{owner}|{self['app']}|{self.name}|{self['cron_schedule']}".encode()
        frac = int(hashlib.sha256(seed).hexdigest()[:8], 16) / 0x100000000
        return round(min(top, period) * frac, 3)

    def tracked(self) -> bool:
        """Whether a trigger is listed in fired alerts (Splunk savedsearches.conf.spec 9.x,
        `alert.track`): true / false, or auto = tracked when an enabled action tracks (its
        alert_actions.conf `track_alert`: email and script in the shipped defaults, and any
        action registered with `track_alert=True`), except searches that always trigger
        (`alert_type = always`), which auto never tracks. The spec's summary table leaves out
        that exception; Splunk's documentation has it, and wins."""
        t = self["alert.track"]
        if t == "auto":
            from speleo.alerts.actions import get_action

            if self["alert_type"] == "always" and not self.attrs.get("alert_condition") \
                    and not self.attrs.get("rule.type"):
                return False
            return any((a := get_action(n)) is not None and a.track_alert for n in self.actions)
        return t == "true"


def validate(spec: AlertSpec, tz: dt.tzinfo, check_spl=None) -> list[str]:
    """Raise InputError (naming the saved search, the key and what to do) for an alert that
    cannot run; returns warnings for settings that are ignored. `check_spl(text)` raises
    SplError for SPL that does not parse (the search, and search + alert_condition)."""
    from speleo.alerts.cron import Schedule

    where = f"saved search {spec.name!r}"
    warnings: list[str] = []
    if not str(spec["search"]).strip():
        raise InputError(f"{where}: search is empty; give the SPL to run")
    sched = None
    if spec["cron_schedule"]:
        sched = Schedule.parse(spec["cron_schedule"], tz, f"{where}: cron_schedule")
    elif spec["is_scheduled"]:
        raise InputError(f"{where}: is_scheduled (enableSched) is set but cron_schedule is empty; "
                         "give a cron schedule such as '*/5 * * * *'")
    _check_window(spec, sched, where)
    _check_skew(spec, where)
    _check_times(spec, tz, where)
    _check_condition(spec, where, warnings)
    _check_throttle(spec, where)
    if not 1 <= int(spec["alert.severity"]) <= 6:
        raise InputError(f"{where}: alert.severity = {spec['alert.severity']}: use 1 (debug) to 6 (fatal)")
    if int(spec["max_concurrent"]) < 1:
        raise InputError(f"{where}: max_concurrent must be 1 or more")
    for name in spec.actions:
        if name not in KNOWN_ACTIONS and not _registered(name):
            raise InputError(f"{where}: action.{name}: no such alert action (known: {', '.join(_all_actions())})")
    _check_action_params(spec, where)
    if check_spl is not None:
        _check_spl(spec, where, check_spl)
    return warnings


# action parameters whose value must be a boolean / a number (Splunk alert_actions.conf.spec),
# checked at creation when they hold no $token$ (else the action would fail at every trigger)
BOOL_PARAMS = {"email": ("sendresults", "inline", "sendcsv", "use_ssl", "use_tls", "sslVerifyServerCert"),
               "lookup": ("append",)}
NUMBER_PARAMS = {"email": ("maxresults", "timeout"), "webhook": ("param.timeout",), "script": ("maxtime",)}


def _check_action_params(spec: AlertSpec, where: str) -> None:
    sev = spec.attrs.get("action.incident.param.severity")
    if "incident" in spec.actions and sev not in (None, "") and "$" not in str(sev):
        from speleo.ops.incidents.service import clean_severity

        try:
            clean_severity(sev)
        except InputError as e:
            raise InputError(f"{where}: action.incident.param.severity: {e}") from None
    for action, keys in BOOL_PARAMS.items():
        for k in keys:
            v = spec.attrs.get(f"action.{action}.{k}")
            if v not in (None, "") and "$" not in str(v):
                try:
                    parse_bool(v, f"action.{action}.{k}")
                except InputError as e:
                    raise InputError(f"{where}: {e}") from None
    for action, keys in NUMBER_PARAMS.items():
        for k in keys:
            v = spec.attrs.get(f"action.{action}.{k}")
            if v in (None, "") or "$" in str(v):
                continue
            try:
                ok = float(v) > 0
            except ValueError:
                ok = False
            if not ok:
                raise InputError(f"{where}: action.{action}.{k} = {v!r}: give a number greater than 0")


def _registered(name: str) -> bool:
    from speleo.alerts.actions import registered_actions

    return name in registered_actions()


def _all_actions() -> list[str]:
    from speleo.alerts.actions import registered_actions

    return sorted(set(KNOWN_ACTIONS) | set(registered_actions()))


def _check_skew(spec: AlertSpec, where: str) -> None:
    raw = str(spec["allow_skew"] or "0").strip()
    try:
        if raw.endswith("%"):
            if not 0 <= float(raw[:-1]) <= 100:
                raise ValueError
        elif raw != "0":
            duration_secs(raw, "allow_skew")
    except (ValueError, InputError):
        raise InputError(f"{where}: allow_skew = {raw!r}: give 0, a percentage of the period (e.g. 50%) "
                         "or a duration (e.g. 5m)") from None


def _check_window(spec: AlertSpec, sched, where: str) -> None:
    w = str(spec["schedule_window"]).strip().lower()
    if w != "auto" and not w.isdigit():
        raise InputError(f"{where}: schedule_window = {w!r}: give whole minutes (e.g. 5) or auto")
    if sched is not None and w.isdigit() and int(w) > 0:
        now = dt.datetime.now(dt.timezone.utc).timestamp()
        if int(w) * 60 >= sched.period(now):
            raise InputError(f"{where}: schedule_window = {w} minutes must be shorter than the schedule's period "
                             f"({sched.period(now) / 60:g} minutes)")


def _check_times(spec: AlertSpec, tz: dt.tzinfo, where: str) -> None:
    from speleo.errors import SplError
    from speleo.spl import parse_relative_time

    for key in ("dispatch.earliest_time", "dispatch.latest_time"):
        value = str(spec[key] or "").strip()
        if value.startswith("rt"):
            raise InputError(f"{where}: {key} = {value!r}: real-time searches are not supported; "
                             "schedule the search (e.g. every minute over -1m) instead")
        if value:
            try:
                parse_relative_time(value, 0.0 + 86400 * 365, tz)
            except SplError as e:
                raise InputError(f"{where}: {key} = {value!r} is not a time modifier ({e}); "
                                 "use e.g. -15m, -1d@d, now or an epoch") from e


def _check_condition(spec: AlertSpec, where: str, warnings: list[str]) -> None:
    kind, comp = spec["alert_type"], spec["alert_comparator"]
    if spec.attrs.get("rule.type"):
        from speleo.alerts.rules import RULE_TYPES

        if spec.attrs["rule.type"] not in (*RULE_TYPES, "seasonal_spike"):
            raise InputError(f"{where}: rule.type = {spec.attrs['rule.type']!r}: use one of "
                             f"{', '.join(sorted((*RULE_TYPES, 'seasonal_spike')))}")
        return
    if spec["alert_condition"]:
        if kind not in ("custom", "always") or comp:
            warnings.append(f"{where}: alert_condition is set, so alert_type/alert_comparator/alert_threshold "
                            "are ignored (Splunk's rule)")
        return
    if kind == "custom":
        raise InputError(f"{where}: alert_type = custom needs alert_condition (an SPL search over the results, "
                         "e.g. 'search count > 10')")
    if kind == "always":
        if comp or str(spec["alert_threshold"]).strip():
            warnings.append(f"{where}: alert_type = always triggers on every run; relation/quantity are ignored")
        return
    if comp not in COMPARATORS:
        raise InputError(f"{where}: alert_comparator (relation) = {comp!r}: use one of {', '.join(COMPARATORS)}")
    try:
        spec.threshold
    except ValueError:
        raise InputError(f"{where}: alert_threshold (quantity) = {spec['alert_threshold']!r}: give a number "
                         "(or N% with rises by / drops by)") from None
    if spec.threshold is None:
        raise InputError(f"{where}: alert_threshold (quantity) is empty; give the number to compare with")


def _check_throttle(spec: AlertSpec, where: str) -> None:
    if not spec["alert.suppress"]:
        return
    if not spec["alert.suppress.period"]:
        raise InputError(f"{where}: alert.suppress is on but alert.suppress.period is empty; give e.g. 10m")
    if not spec["alert.digest_mode"] and not spec["alert.suppress.fields"]:
        raise InputError(f"{where}: per-result alerts (alert.digest_mode = 0) that throttle need "
                         "alert.suppress.fields (the fields whose values identify a result)")


def _check_spl(spec: AlertSpec, where: str, check_spl) -> None:
    from speleo.errors import SplError

    try:
        check_spl(spec["search"])
    except SplError as e:
        raise InputError(f"{where}: search does not parse: {e.message}") from e
    cond = str(spec["alert_condition"]).strip()
    if cond:
        try:
            check_spl(condition_search(spec["search"], cond))
        except SplError as e:
            raise InputError(f"{where}: alert_condition {cond!r} does not parse: {e.message}") from e


def condition_search(search: str, condition: str) -> str:
    """The search whose rows are the rows of `search` that satisfy `alert_condition`
    (Splunk: the condition is a search over the results): `<search> | <condition>`."""
    cond = condition.strip().lstrip("|").strip()
    return f"{search.rstrip()} | {cond}"
