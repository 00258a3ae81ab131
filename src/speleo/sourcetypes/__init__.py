"""The sourcetype registry: how a kind of log is broken into events, timed and searched.

The definitions live in one module per family of logs (`classic`, `web`, `databases`,
`network`, `hosts`, `cloud`), each a `base.Family`: its sourcetypes and how to recognise them
from content. A `Sourcetype` bundles the parse settings used at index time (time format, line breaking,
truncation) with the search-time field extractions. `BUILTIN` holds the ones Speleo ships;
`detect()` picks one from a file's path and first lines; `get()` returns one with the
overrides of a `props.toml` applied; `extract_fields()` computes the search-time fields of
one event in Python (the SQL side applies the same regexes in DuckDB).

Every regex here is written for both Python's `re` and RE2 (DuckDB, pyarrow): named groups
use `(?P<name>...)` only, no lookarounds, no backreferences.

props.toml (read by `load_props`)::

    [sourcetype.my_app]
    time_format = "%Y-%m-%d %H:%M:%S"   # also time_prefix, tz, max_timestamp_lookahead
    line_breaker = "^\\d{4}-"
    extractions = ["user=(?P<user>\\w+)"]

    [source."/var/log/app/*.log"]      # glob on the source path; wins over [sourcetype.*]
    sourcetype = "my_app"               # assigns the sourcetype of matching sources
    tz = "Europe/Paris"

Only `load_props` and `detection_sample` do I/O; everything else is pure.
"""

from __future__ import annotations

import fnmatch
import gzip
import json as _json
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from speleo.errors import InputError
from speleo.sourcetypes import classic, cloud, databases, hosts, network, web
from speleo.sourcetypes.base import Extraction, Family, Sourcetype

__all__ = ["BUILTIN", "DETECTION_BYTES", "Extraction", "Family", "Props", "Sourcetype", "detect",
           "detect_in_family", "detection_sample", "extract_fields", "family", "get", "kv_regex", "load_props",
           "message_sourcetype"]


FAMILIES: tuple[Family, ...] = (web.FAMILY, databases.FAMILY, network.FAMILY, hosts.FAMILY, cloud.FAMILY,
                                classic.FAMILY)
BUILTIN: dict[str, Sourcetype] = {st.name: st for fam in (FAMILIES[-1],) + FAMILIES[:-1] for st in fam.sourcetypes}
SYSLOG_HOST_SOURCETYPES = frozenset({"syslog", "linux_secure", "haproxy:http", "cisco:asa", "cisco:ios",
                                     "iptables", "nftables", "ufw", "pfsense:filterlog", "cron"})
"""Sourcetypes whose events start with a syslog header naming the host (the `host` of an input
that names none is taken from it)."""


# ---- detection --------------------------------------------------------------------------
# (sourcetype, signature of one line), most specific first: the families' own signatures
# before the classic ones (an nginx, HAProxy or firewall line is also a syslog or access line).
_SIGNATURES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(regex)) for fam in FAMILIES for name, regex in fam.signatures)
_JSON_KEYS: tuple[tuple[str, tuple[str, ...]], ...] = tuple(rule for fam in FAMILIES for rule in fam.json_keys)
_DETECTORS = tuple(d for fam in FAMILIES for d in fam.detectors)
_PATHS = tuple((base, re.compile(rx), name) for fam in FAMILIES for base, rx, name in fam.paths)
_SECURE_PATH = re.compile(r"(?:^|/)(?:auth\.log|secure)(?:[.\-]|$)")
_SECURE_PROCESS = re.compile(r"^\S+ +\d+ \S+ \S+ (?:sshd|sudo|su|systemd-logind|login)\[")
_KV_LINE = re.compile(r"[A-Za-z_][\w.-]*=\S")
_MIN_SHARE = 0.6


DETECTION_BYTES = 8192  # what oneshot reads for detection; monitor and forwarder read as much


def detection_sample(path: str, head: bytes, size: int = DETECTION_BYTES) -> bytes:
    """The first `size` bytes of a file's content (decompressed for gzip) for `detect`, so that
    every input types one file alike; `head` itself when it is long enough or the file cannot
    be read. (With `load_props`, the only I/O of this module.)"""
    if len(head) >= size:
        return head
    try:
        with open(path, "rb") as f:
            gz = f.read(2) == b"\x1f\x8b"
        with (gzip.open if gz else open)(path, "rb") as f:
            return f.read(size) or head
    except (OSError, EOFError):
        return head


def detect(source: str, sample_lines: list[str]) -> str:
    """Name of the sourcetype that fits `source` (a path) and its first lines.

    Content decides: for JSON lines, the first family rule whose keys all the sample objects
    (60% of them) carry (CloudTrail, Suricata EVE, journald, Windows, Docker), else "json";
    otherwise the families' detectors (Oracle's alert log, MySQL's slow log), then the
    signature that fits at least 60% of the sample lines that may start an event, most
    specific first. Blank lines and continuation lines (indented stack
    frames, `java.io.IOException: ...`, `Caused by:`, `... 12 more`) are not counted, so a
    file that begins inside a stack trace is typed like its siblings. The path refines
    syslog into linux_secure (auth.log, secure), access_combined into nginx_access (a path
    naming nginx) and docker:json into kube:container (/var/log/containers, /var/log/pods).
    Falls back to "json", "kv", "generic"
    (timestamps seen) or "generic_single_line".
    """
    lines = [ln.rstrip("\r\n") for ln in sample_lines if ln.strip() and not ln[:1].isspace()]
    heads = [ln for ln in lines if not _CONTINUATION.match(ln)] or lines
    if not heads:
        return "generic"
    if _share(heads, _looks_json) >= _MIN_SHARE:
        kind = _json_kind(heads)
        if kind == "json":  # a document of records (CloudTrail's files): a signature that starts with `{`
            kind = next((n for n, s in _SIGNATURES if s.pattern.startswith(r"^\s*\{")
                         and _share(heads, lambda ln, s=s: s.match(ln)) >= _MIN_SHARE), kind)
        return _refine(kind, source)
    for detector in _DETECTORS:
        found = detector(source, heads)
        if found:
            return found
    for name, signature in _SIGNATURES:
        if _share(heads, lambda ln, s=signature: s.match(ln) is not None) >= _MIN_SHARE:
            if name == "syslog" and _is_secure(source, heads):
                return "linux_secure"
            return _refine(name, source)
    if _share(heads, lambda ln: len(_KV_LINE.findall(ln)) >= 3) >= _MIN_SHARE:
        return "kv"
    return "generic" if _has_timestamps(heads) else "generic_single_line"


def _refine(name: str, source: str) -> str:
    path = source.replace("\\", "/")
    for base, regex, refined in _PATHS:
        if base == name and regex.search(path):
            return refined
    return name


def _json_kind(lines: list[str]) -> str:
    """The sourcetype of JSON lines: the first sourcetype of `_JSON_KEYS` such that at least 60%
    of the objects carry all the dotted keys of one of its rules, else "json"."""
    docs = []
    for line in lines:
        try:
            doc = _json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict):
            docs.append(doc)
    for name in dict.fromkeys(name for name, _ in _JSON_KEYS):
        rules = [keys for n, keys in _JSON_KEYS if n == name]
        fits = lambda d: any(all(_has_path(d, p) for p in keys) for keys in rules)  # noqa: E731
        if docs and _share(docs, fits) >= _MIN_SHARE:
            return name
    return "json"


def _has_path(doc: dict, dotted: str) -> bool:
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


# Sourcetypes a syslog message received over the network is given from its own text, and a
# substring every message of each must hold (a cheap test before the regex).
_MESSAGE_TYPES = (("cisco:asa", "%"), ("pfsense:filterlog", "filterlog"), ("ufw", "[UFW "),
                  ("iptables", " IN="), ("haproxy:http", "] "), ("cisco:ios", "%"))
_MESSAGE_SIGNATURES = tuple((name, needle, next(rx for n, rx in _SIGNATURES if n == name))
                            for name, needle in _MESSAGE_TYPES)


def message_signatures() -> tuple[tuple[str, str, re.Pattern], ...]:
    """(sourcetype, needle, signature) of the devices `message_sourcetype` recognises: a message
    without any needle is `default` (the syslog listeners test needles for a batch at once)."""
    return _MESSAGE_SIGNATURES


def message_sourcetype(raw: str, default: str = "syslog") -> str:
    """The sourcetype of one syslog message (without its `<PRI>`) received by a syslog listener:
    a network device's own (cisco:asa, cisco:ios, pfsense:filterlog, ufw, iptables,
    haproxy:http) when the message has its layout, else `default`. Splunk's add-ons do the same
    with a TRANSFORMS rule that rewrites the sourcetype of matching syslog events."""
    for name, needle, signature in _MESSAGE_SIGNATURES:
        if needle in raw and signature.match(raw):
            return name
    return default


_CONTINUATION = re.compile(
    r"^(?:Caused by: |\.\.\. \d+ (?:more|common frames omitted)|at [\w$.<>]+\(|"
    r"(?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable)\b)")
_GENERIC = frozenset({"generic", "generic_single_line"})
MAX_FAMILIES = 10_000
_ROTATION = re.compile(r"(?:[.\-_]#)+$")


def family(source: str) -> str:
    """The folder and name of a file without its rotation marks: `/var/log/kafka/server.log`
    for `server.log`, `server.log.1`, `server.log.2016-12-19-16` and `server.log.3.gz`."""
    path = source.replace("\\", "/")
    folder, _, name = path.rpartition("/")
    name = re.sub(r"\.gz$", "", name)
    name = _ROTATION.sub("", re.sub(r"\d+", "#", name))
    return folder + "/" + name


def detect_in_family(source: str, sample_lines: list[str], known: dict[str, str]) -> str:
    """`detect`, kept stable across the rotated files of one log (see `family`).

    `known` maps a family to the sourcetype its first typed file got and is updated (at most
    `MAX_FAMILIES` entries: later families are detected file by file). A file
    whose own sample only says `generic` (say, it starts inside a long stack trace) takes the
    family's sourcetype; a specific detection of its own wins and teaches the family.
    """
    key = family(source)
    name = detect(source, sample_lines)
    if name in _GENERIC and known.get(key, name) not in _GENERIC:
        return known[key]
    if (key in known or len(known) < MAX_FAMILIES) and (name not in _GENERIC or key not in known):
        known[key] = name
    return name


def _share(lines: list[str], test: Any) -> float:
    return sum(1 for ln in lines if test(ln)) / len(lines)


def _looks_json(line: str) -> bool:
    if not line.lstrip().startswith("{"):
        return False
    try:
        return isinstance(_json.loads(line), dict)
    except ValueError:  # a line longer than the sample is cut: its start still says JSON
        return len(line) >= 4000 and line.lstrip().startswith('{"')


def _is_secure(source: str, lines: list[str]) -> bool:
    if _SECURE_PATH.search(source.replace("\\", "/")):
        return True
    return _share(lines, lambda ln: _SECURE_PROCESS.match(ln) is not None) >= 0.5


_TIME_SHAPE = re.compile(
    r"(?:^|\D)(?:\d?\d:\d\d:\d\d|1\d{9}(?:\d{3}|\d{6})?|\d{8}[T -]\d{6})(?:\D|$)")


def _has_timestamps(lines: list[str]) -> bool:
    """Cheap check (no import of speleo.ingest): a clock time or an epoch in a sample line."""
    return any(_TIME_SHAPE.search(ln[:160]) for ln in lines[:20])


# ---- props.toml -------------------------------------------------------------------------
_SETTING_TYPES: dict[str, type | tuple[type, ...]] = {
    "time_format": str, "time_prefix": str, "tz": str, "max_timestamp_lookahead": int, "line_breaker": str,
    "should_linemerge": bool, "max_lines": int, "truncate": int, "extractions": list,
}


@dataclass
class Props:
    """Parsed props.toml: overrides per sourcetype name and per source glob (in file order)."""

    path: Path | None = None
    sourcetypes: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)

    def source_settings(self, source: str | None) -> list[dict[str, Any]]:
        """Settings of every [source."GLOB"] section whose glob matches `source`, in file order."""
        if not source:
            return []
        return [s for glob, s in self.sources.items() if fnmatch.fnmatch(source, glob)]

    def sourcetype_for(self, source: str) -> str | None:
        """The sourcetype assigned to `source` by a [source."GLOB"] section, if any (last wins)."""
        names = [s["sourcetype"] for s in self.source_settings(source) if "sourcetype" in s]
        return names[-1] if names else None


def load_props(path: Path) -> Props:
    """Read and validate a props.toml (see module doc).

    Raises `InputError` naming the file (and the key and section) for unreadable TOML,
    unknown sections or keys, values of the wrong type and regexes that do not compile.
    """
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read props: {exc}") from exc
    props = Props(path=Path(path))
    for kind, sections in data.items():
        if kind not in ("sourcetype", "source") or not isinstance(sections, dict):
            raise InputError(f"{path}: unknown section [{kind}] (expected [sourcetype.NAME] or [source.\"GLOB\"])")
        for name, settings in sections.items():
            label = f'[{kind}."{name}"]'
            checked = _check_settings(settings, label, path, allow_sourcetype=kind == "source")
            (props.sources if kind == "source" else props.sourcetypes)[name] = checked
    return props


def _check_settings(settings: Any, label: str, path: Path, allow_sourcetype: bool) -> dict[str, Any]:
    if not isinstance(settings, dict):
        raise InputError(f"{path}: {label} must be a table")
    allowed = dict(_SETTING_TYPES, **({"sourcetype": str} if allow_sourcetype else {}))
    for key, value in settings.items():
        if key not in allowed:
            raise InputError(f"{path}: unknown key {key!r} in section {label}")
        expected = allowed[key]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise InputError(f"{path}: key {key!r} in section {label} has the wrong type")
        if key in ("max_lines", "truncate", "max_timestamp_lookahead") and value < 1:
            raise InputError(f"{path}: key {key!r} in section {label} must be at least 1")
    settings = dict(settings)
    if isinstance(settings.get("extractions"), list):   # Splunk's (?<name>...) as Python's (?P<name>...)
        settings["extractions"] = [named_groups(r) if isinstance(r, str) else r for r in settings["extractions"]]
    for regex in list(settings.get("extractions", [])):
        problem = check_regex(regex, pcre=True) if isinstance(regex, str) else "must be a string"
        if problem:
            raise InputError(f"{path}: regex {regex!r} in section {label}: {problem}")
    for regex in [settings.get("line_breaker") or "", settings.get("time_prefix") or ""]:
        problem = check_regex(regex) if isinstance(regex, str) else "must be a string"
        if problem:
            raise InputError(f"{path}: regex {regex!r} in section {label}: {problem}")
    return settings


_SPLUNK_NAMED = re.compile(r"(?<!\\)((?:\\\\)*)\(\?<(?=[A-Za-z_])")


def named_groups(regex: str) -> str:
    """Splunk's (PCRE's) named groups `(?<name>...)` written as Python's and RE2's `(?P<name>...)`;
    look-behind `(?<=`, `(?<!` and escaped parentheses are left alone."""
    return _SPLUNK_NAMED.sub(lambda m: m.group(1) + "(?P<", regex)


def check_regex(regex: str, pcre: bool = False) -> str | None:
    """Why `regex` is not usable (a message), or None when it is. Without `pcre` it must run on
    both Python and RE2 (line breaking, time prefixes); with `pcre` (search-time extractions)
    look-around and back-references are allowed too: such an extraction runs in the `regex`
    package at search time (query/fields.py), as Splunk's PCRE runs it."""
    if not pcre:
        if "(?<" in regex.replace("(?P<", ""):
            return "use (?P<name>...) for named groups; lookbehinds are not supported"
        if "(?=" in regex or "(?!" in regex or re.search(r"\\[1-9]", regex):
            return "lookaheads and backreferences are not supported"
    try:
        re.compile(regex)
    except re.error as exc:
        return str(exc)
    return None


def get(name: str, props: Props | None = None, source: str | None = None) -> Sourcetype:
    """The sourcetype `name` (built-in, or defaults for an unknown name) with props applied.

    Settings of [sourcetype.NAME] apply first, then every matching [source."GLOB"]
    (source-specific wins). `extractions` from props are added after the built-in ones.
    """
    st = BUILTIN.get(name) or Sourcetype(name=name)
    if props is None:
        return st
    layers = [props.sourcetypes.get(name, {})] + props.source_settings(source)
    for settings in layers:
        st = _apply(st, settings)
    return st


def _apply(st: Sourcetype, settings: dict[str, Any]) -> Sourcetype:
    known = {f.name for f in fields(Sourcetype)}
    changes = {k: v for k, v in settings.items() if k in known and k != "extractions"}
    if "extractions" in settings:
        changes["extractions"] = st.extractions + tuple(Extraction(r) for r in settings["extractions"])
    return replace(st, **changes)


# ---- search-time fields -----------------------------------------------------------------
_KV_REGEX = r'(?:^|[^A-Za-z0-9_.-])(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)=(?P<value>"[^"]*"|[^\s,;"\])}]*)'
_COMPILED: dict[str, re.Pattern[str]] = {}


def kv_regex() -> str:
    """RE2/Python regex for automatic key=value extraction, groups `key` and `value`.

    Matches `key=value` and `key="quoted value"`; a key starts with a letter or `_` and
    continues with [A-Za-z0-9_.-]. The match may include one character before the key
    (the boundary). A quoted value keeps its double quotes in the `value` group: strip one
    pair (`kv_value`). Empty values are treated as absent fields.
    """
    return _KV_REGEX


def kv_value(value: str) -> str:
    """A `value` group of `kv_regex()` without its surrounding double quotes."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1]
    return value


def group_names(regex: str) -> list[str]:
    """Every group of `regex` in position order, unnamed ones as "" (for DuckDB).

    DuckDB's `regexp_extract(s, regex, [names])` maps the listed names to groups 1, 2, ...
    by POSITION, not by name: pass this list (unnamed groups included) to get fields right.
    """
    compiled = _compiled(regex)
    by_index = {i: n for n, i in compiled.groupindex.items()}
    return [by_index.get(i, "") for i in range(1, compiled.groups + 1)]


def _compiled(regex: str) -> re.Pattern[str]:
    found = _COMPILED.get(regex)
    if found is None:
        found = _COMPILED[regex] = re.compile(regex)
    return found


def extract_fields(raw: str, sourcetype: str, meta: dict[str, Any] | None = None) -> dict[str, str | list[str]]:
    """Search-time fields of one event: {field: value or list of values (multivalue)}.

    Order and precedence: the sourcetype's regex extractions (first non-empty value of a
    field wins), then JSON (dotted paths; arrays of scalars become lists), then automatic
    key=value pairs (repeated keys become lists). Empty or non-participating groups give
    no field. An extraction on another field reads it from `meta` (the event's `source`,
    `host`), an earlier extraction, or the JSON and key=value fields. Unknown sourcetypes use
    the defaults (key=value only).
    """
    st = get(sourcetype)
    out: dict[str, str | list[str]] = {}
    later: dict[str, str | list[str]] | None = None
    for extraction in st.extractions:
        if extraction.field == "_raw":
            text: Any = raw
        elif meta is not None and extraction.field in meta:
            text = meta[extraction.field]
        elif extraction.field in out:
            text = out[extraction.field]
        else:
            if later is None:
                later = _later_fields(raw, st)
            text = later.get(extraction.field)
        if isinstance(text, str):
            _add_regex_fields(out, _compiled(extraction.regex), text, extraction)
    if st.json:
        _add_json_fields(out, raw)
    if st.kv:
        _add_kv_fields(out, raw)
    return out


def _later_fields(raw: str, st: Sourcetype) -> dict[str, str | list[str]]:
    """The JSON and key=value fields of an event (what an extraction on a field may read)."""
    found: dict[str, str | list[str]] = {}
    if st.json:
        _add_json_fields(found, raw)
    if st.kv:
        _add_kv_fields(found, raw)
    return found


def _add_regex_fields(out: dict[str, str | list[str]], pattern: re.Pattern[str], text: str,
                      extraction: Extraction) -> None:
    m = pattern.search(text)
    if m is None:
        return
    for name, value in m.groupdict().items():
        value = extraction.translate(value) if value else None
        if value and name not in out:
            out[name] = value


def _add_json_fields(out: dict[str, str | list[str]], raw: str) -> None:
    try:
        doc = _json.loads(raw)
    except ValueError:
        return
    if isinstance(doc, dict):
        for path, value in _flatten(doc, ""):
            out.setdefault(path, value)


def _flatten(node: Any, prefix: str) -> list[tuple[str, str | list[str]]]:
    if isinstance(node, dict):
        pairs: list[tuple[str, str | list[str]]] = []
        for key, value in node.items():
            pairs.extend(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return pairs
    if isinstance(node, list):
        values = [_scalar(v) for v in node if v is not None]
        return [(prefix, values)] if values else []
    return [] if node is None else [(prefix, _scalar(node))]


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return _json.dumps(value, separators=(",", ":"))
    return str(value)


def _add_kv_fields(out: dict[str, str | list[str]], raw: str) -> None:
    found: dict[str, list[str]] = {}
    for m in _compiled(_KV_REGEX).finditer(raw):
        value = kv_value(m.group("value"))
        if value:
            found.setdefault(m.group("key"), []).append(value)
    for key, values in found.items():
        if key not in out:
            out[key] = values[0] if len(values) == 1 else values
