"""Problem signatures: what makes a new incident or alert firing recognisable as a known problem.

Four kinds (models.SIGNATURE_KINDS):

- `alert`: an alert rule (saved search) name; matches a firing of that alert, exactly.
- `pattern`: a log pattern in drain3's template form (the template miner behind the `cluster`
  command, `speleo.query.post`): tokens split on whitespace, `<*>` (or a drain3 mask such as
  `<NUM>`, `<IP>`, or a lone `*`) stands for one variable token, every other token must be equal.
  A message matches when it has as many tokens and every literal token is equal (drain3's own
  rule for a message against a cluster's template).
- `stack`: the hash of a stack trace's normalised frames: Python (`File "...", line N, in f`),
  Java/JVM (`at pkg.Class.method(File.java:N)`) and JavaScript (`at f (file.js:N:M)`) frames,
  reduced to module/class and function (no line numbers, no directories, no addresses, no
  lambda numbers), hashed with SHA-256 (the first 16 hex digits). Same code path = same hash.
- `search`: a service + error pair from a saved search's results: matches a result row whose
  service field (default `service`) and error field (default `error`) hold those values.

A signature that matches everything is refused at creation (`validate`): a pattern without a
literal token, a stack trace without frames, an empty alert name or pair.

`Matcher` is compiled once from every signature (dict lookups for alert names, stack hashes
and service/error pairs; patterns indexed by token count and one literal token), so matching
an alert and its events against 1,000 signatures costs a few dict look-ups per event
(bench/problems_bench.py).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from speleo.errors import InputError

MAX_VALUE = 2000           # characters of a signature value
MAX_EVENTS_SHOWN = 3       # matched events kept in a match's explanation
WILDCARD = re.compile(r"^(<[A-Z*]*>|\*)$")

# -- stack traces --------------------------------------------------------------------------
_PY_FRAME = re.compile(r'^\s*File "([^"]+)", line \d+, in (\S+)', re.M)
_JVM_FRAME = re.compile(r"^\s*at ([\w$.<>/]+)\(([^)]*)\)", re.M)
_JS_FRAME = re.compile(r"^\s*at (?:(\S+) \()?([^()\s]+?):\d+:\d+\)?\s*$", re.M)
_LAMBDA = re.compile(r"\$\$Lambda\$[\w/]+|\$\d+|0x[0-9a-fA-F]+")


def frames(trace: str) -> list[str]:
    """The normalised frames of a stack trace (outermost first as written), [] when none is found.

    Python `File "/srv/app/db.py", line 12, in connect` -> `db.py:connect`; JVM
    `at com.shop.Db.connect(Db.java:88)` -> `com.shop.Db.connect`; JavaScript
    `at connect (/srv/app/db.js:12:5)` -> `db.js:connect`.
    """
    text = str(trace or "")
    out: list[str] = []
    for m in _PY_FRAME.finditer(text):
        out.append(f"{_base(m.group(1))}:{m.group(2)}")
    if out:
        return out
    for m in _JVM_FRAME.finditer(text):
        out.append(_LAMBDA.sub("", m.group(1)))
    if out:
        return out
    for m in _JS_FRAME.finditer(text):
        out.append(f"{_base(m.group(2))}:{_LAMBDA.sub('', m.group(1) or '<anonymous>')}")
    return out


def _base(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def stack_hash(trace_frames: list[str]) -> str:
    return hashlib.sha256("\n".join(trace_frames).encode()).hexdigest()[:16]


_HASH = re.compile(r"^[0-9a-f]{16}$")


# -- patterns ------------------------------------------------------------------------------
def pattern_tokens(template: str) -> list[str | None]:
    """The template's tokens, None for a wildcard token."""
    return [None if WILDCARD.match(t) else t for t in str(template).split()]


# -- validation ----------------------------------------------------------------------------
def validate(kind: str, value: Any, details: dict | None = None) -> tuple[str, dict]:
    """The stored (value, details) of a new signature; raises InputError when it is unusable,
    including one that would match everything (a pattern with no literal token, a trace
    without frames). `details` per kind: pattern -> nothing; stack -> the value is a trace
    (its frames are kept) or a 16-hex-digit hash; search -> `service`, `error`, and optional
    `service_field`, `error_field`, `saved_search`."""
    details = dict(details or {})
    if kind not in ("alert", "pattern", "stack", "search"):
        raise InputError(f"signature kind: '{kind}' is not one of alert, pattern, stack, search")
    text = str(value if value is not None else "")
    if len(text) > 20 * MAX_VALUE:
        raise InputError(f"signature value: {len(text)} characters, {20 * MAX_VALUE} at most")
    if kind == "alert":
        name = text.strip()
        if not name or name in ("*", "<*>"):
            raise InputError("alert signature: give the alert's (saved search's) exact name; '*' would match "
                             "every alert and is refused")
        return _short(name), {}
    if kind == "pattern":
        tokens = pattern_tokens(text)
        if not tokens:
            raise InputError("pattern signature: the template is empty")
        if not any(t is not None and re.search(r"[A-Za-z0-9]", t) for t in tokens):
            raise InputError(f"pattern signature '{text.strip()}' matches everything of its length: it has no "
                             "literal word (every token is <*> or punctuation); keep the words that identify "
                             "the failure, e.g. 'connection to <*> refused after <*> retries'")
        return _short(" ".join("<*>" if t is None else t for t in tokens)), {}
    if kind == "stack":
        h = text.strip().lower()
        if _HASH.match(h):
            return h, {}
        fr = frames(text)
        if not fr:
            raise InputError("stack signature: no frame found in the trace (Python 'File \"...\", line N, in f', "
                             "Java 'at pkg.Class.method(File.java:N)' or JavaScript 'at f (file.js:N:M)' lines), "
                             "or give the 16-hex-digit hash")
        return stack_hash(fr), {"frames": fr[:50]}
    service = str(details.get("service") or "").strip()
    error = str(details.get("error") or "").strip()
    if not service or not error or "*" in (service, error):
        raise InputError("search signature: give both the service and the error value (a pair that matches "
                         "any service or any error would match everything)")
    out = {"service": service, "error": error, "service_field": str(details.get("service_field") or "service"),
           "error_field": str(details.get("error_field") or "error")}
    if details.get("saved_search"):
        out["saved_search"] = str(details["saved_search"]).strip()
    return _short(f"{service}|{error}"), out


def _short(v: str) -> str:
    if len(v) > MAX_VALUE:
        raise InputError(f"signature value: {len(v)} characters, {MAX_VALUE} at most")
    return v


# -- matching ------------------------------------------------------------------------------
@dataclass
class Match:
    """One signature that matched: which (id, problem, kind, value), how strongly (0..1, and a
    word), on which events (up to MAX_EVENTS_SHOWN, with `_time` and `_raw`), and why."""

    signature_id: int
    problem_id: int
    kind: str
    value: str
    strength: float
    events: list[dict] = field(default_factory=list)
    matched_events: int = 0
    why: str = ""

    @property
    def strength_word(self) -> str:
        return "strong" if self.strength >= 0.9 else "medium" if self.strength >= 0.6 else "weak"

    def to_dict(self) -> dict:
        return {"signature_id": self.signature_id, "problem_id": self.problem_id, "kind": self.kind,
                "value": self.value, "strength": round(self.strength, 3), "strength_word": self.strength_word,
                "matched_events": self.matched_events, "events": self.events, "why": self.why}


@dataclass(frozen=True)
class _Pattern:
    sid: int
    problem_id: int
    value: str
    tokens: tuple[str | None, ...]
    specificity: float


class Matcher:
    """Every signature, precompiled. `match(alert_names, rows)` -> the matches, strongest first.

    `signatures`: dicts with id, problem_id, kind, value, details (SignatureRow.to_dict()).
    """

    def __init__(self, signatures: Iterable[dict]) -> None:
        self.alerts: dict[str, list[tuple[int, int]]] = {}
        self.stacks: dict[str, list[tuple[int, int]]] = {}
        self.pairs: dict[tuple[str, str], dict[tuple[str, str], list[tuple[int, int]]]] = {}
        self.patterns: dict[tuple[int, int, str], list[_Pattern]] = {}
        self.positions: dict[int, set[int]] = {}
        self.size = 0
        for sig in signatures:
            self._add(sig)

    def _add(self, sig: dict) -> None:
        ref = (sig["id"], sig["problem_id"])
        kind, value, det = sig["kind"], sig["value"], sig.get("details") or {}
        self.size += 1
        if kind == "alert":
            self.alerts.setdefault(value, []).append(ref)
        elif kind == "stack":
            self.stacks.setdefault(value, []).append(ref)
        elif kind == "search":
            fields = (det.get("service_field", "service"), det.get("error_field", "error"))
            self.pairs.setdefault(fields, {}).setdefault((det["service"], det["error"]), []).append(ref)
        elif kind == "pattern":
            tokens = tuple(pattern_tokens(value))
            literals = [(i, t) for i, t in enumerate(tokens) if t is not None]
            pos, tok = max(literals, key=lambda it: len(it[1]))  # the longest literal: the rarest, usually
            p = _Pattern(sig["id"], sig["problem_id"], value, tokens, len(literals) / len(tokens))
            self.patterns.setdefault((len(tokens), pos, tok), []).append(p)
            self.positions.setdefault(len(tokens), set()).add(pos)

    def match(self, alert_names: Iterable[str] = (), rows: Iterable[dict] = ()) -> list[Match]:
        """The signatures matched by these alert firings (names) and events / result rows (dicts with
        `_raw` and fields). One Match per signature, strongest first, then by signature id."""
        found: dict[int, Match] = {}
        for name in alert_names:
            for sid, pid in self.alerts.get(name, ()):
                found.setdefault(sid, Match(sid, pid, "alert", name, 1.0, why=f"the alert '{name}' fired"))
        for row in rows:
            self._match_row(row, found)
        return sorted(found.values(), key=lambda m: (-m.strength, m.signature_id))

    def _hit(self, found: dict[int, Match], ref: tuple[int, int], kind: str, value: str, strength: float,
             row: dict, why: str) -> None:
        m = found.get(ref[0])
        if m is None:
            m = found[ref[0]] = Match(ref[0], ref[1], kind, value, strength, why=why)
        m.matched_events += 1
        if len(m.events) < MAX_EVENTS_SHOWN:
            m.events.append({k: row.get(k) for k in ("_time", "_raw", "host", "source", "sourcetype") if k in row})

    def _match_row(self, row: dict, found: dict[int, Match]) -> None:
        raw = row.get("_raw")
        if isinstance(raw, str) and raw:
            if self.patterns:
                tokens = raw.split()
                for pos in self.positions.get(len(tokens), ()):
                    for p in self.patterns.get((len(tokens), pos, tokens[pos]), ()):
                        if all(t is None or t == tokens[i] for i, t in enumerate(p.tokens)):
                            self._hit(found, (p.sid, p.problem_id), "pattern", p.value, p.specificity, row,
                                      f"events have the log pattern '{p.value}' "
                                      f"({sum(t is not None for t in p.tokens)} of {len(p.tokens)} tokens literal)")
            if self.stacks and ("File \"" in raw or "\tat " in raw or "    at " in raw or "\nat " in raw):
                fr = frames(raw)
                if fr:
                    h = stack_hash(fr)
                    for ref in self.stacks.get(h, ()):
                        self._hit(found, ref, "stack", h, 1.0, row,
                                  f"an event's stack trace has the same {len(fr)} normalised frames (hash {h})")
        for (sf, ef), pairs in self.pairs.items():
            s, e = row.get(sf), row.get(ef)
            if s is None or e is None:
                continue
            for ref in pairs.get((str(s), str(e)), ()):
                self._hit(found, ref, "search", f"{s}|{e}", 0.9, row,
                          f"a result has {sf}={s} and {ef}={e}")
