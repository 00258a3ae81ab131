"""The `[fschange:<path>]` and `[filter:<type>:<name>]` stanzas of a Splunk `inputs.conf`.

Source: Splunk inputs.conf.spec ("File system change monitor"): keys index, signedaudit,
filters, recurse, followLinks, pollPeriod, hashMaxSize, fullEvent, sendEventMaxSize,
sourcetype, host, filesPerDelay, delayInMills, disabled. Keys Speleo does not act on are
reported as notes, never silently dropped; other stanzas are skipped with a note.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from speleo.alerts.fschange.settings import Filter, FsChangeSettings
from speleo.errors import InputError

TRUE = {"1", "true", "t", "yes", "y", "on"}
FALSE = {"0", "false", "f", "no", "n", "off"}
IGNORED_KEYS = {
    "fullEvent": "full-content events are not sent",
    "sendEventMaxSize": "full-content events are not sent",
    "filesPerDelay": "scans are not throttled",
    "delayInMills": "scans are not throttled",
}


@dataclass
class Stanza:
    name: str
    line: int
    keys: dict[str, tuple[str, int]] = field(default_factory=dict)


@dataclass
class FsChangeStanza:
    path: str
    index: str
    settings: FsChangeSettings
    sourcetype: str | None
    host: str | None
    line: int


@dataclass
class ParsedConf:
    inputs: list[FsChangeStanza] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def parse_conf(text: str, source: str) -> list[Stanza]:
    """Stanzas of a .conf file: `[name]`, `key = value`, `#` comments, a trailing `\\` joins the
    next line. Raises InputError for a line that is none of these."""
    stanzas = [Stanza("default", 0)]
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        n, line = i + 1, lines[i].strip()
        while line.endswith("\\") and i + 1 < len(lines):
            i += 1
            line = line[:-1] + "\n" + lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            stanzas.append(Stanza(line[1:-1].strip(), n))
        elif "=" in line:
            key, value = line.split("=", 1)
            stanzas[-1].keys[key.strip()] = (value.strip(), n)
        else:
            raise InputError(f"{source} line {n}: expected '[stanza]' or 'key = value', found {line[:60]!r}")
    return stanzas


def read_inputs_conf(path: str, default_index: str = "main") -> ParsedConf:
    """The fschange inputs of an inputs.conf file. Raises InputError (bad line, bad value)."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    stanzas = parse_conf(text, path)
    filters = {st.name.split(":", 2)[2]: st for st in stanzas if st.name.startswith("filter:") and st.name.count(":") >= 2}
    out = ParsedConf()
    for st in stanzas:
        if st.name.startswith("fschange:"):
            item = _fschange(st, filters, default_index, path, out.notes)
            if item is not None:
                out.inputs.append(item)
        elif st.name not in ("default",) and not st.name.startswith("filter:"):
            out.notes.append(f"line {st.line}: [{st.name}] skipped (this command imports fschange inputs only)")
    return out


def _fschange(st: Stanza, filters: dict[str, Stanza], default_index: str, source: str,
              notes: list[str]) -> FsChangeStanza | None:
    raw_path = st.name[len("fschange:"):]
    path = os.path.expandvars(os.path.expanduser(raw_path))
    where = f"{source} line {st.line} [{st.name}]"
    if "$" in path:
        notes.append(f"{where}: skipped: {raw_path} names an environment variable that is not set")
        return None
    k = {key: v for key, (v, _) in st.keys.items()}
    if _bool(k.get("disabled", "false"), "disabled", where):
        notes.append(f"{where}: skipped: disabled = {k['disabled']}")
        return None
    for key, why in IGNORED_KEYS.items():
        if key in k:
            notes.append(f"{where}: {key} is not supported ({why})")
    if _bool(k.get("followLinks", "false"), "followLinks", where):
        notes.append(f"{where}: followLinks = true: Speleo never follows symbolic links (they could leave the tree); links are recorded as links")
    hash_max = _int(k.get("hashMaxSize", "-1"), "hashMaxSize", where)
    settings = FsChangeSettings(
        poll_period_secs=float(_int(k.get("pollPeriod", "3600"), "pollPeriod", where)),
        hash_algo="none" if hash_max < 0 else "sha256",
        hash_max_size=hash_max,
        recurse=_bool(k.get("recurse", "true"), "recurse", where),
        filters=tuple(_filters(k.get("filters", ""), filters, where)),
        emit_baseline=not _bool(k.get("baselineOnly", "true"), "baselineOnly", where),
        signedaudit=_bool(k.get("signedaudit", "false"), "signedaudit", where),
    )
    return FsChangeStanza(path, k.get("index", default_index), settings, k.get("sourcetype"), k.get("host"), st.line)


def _filters(names: str, filters: dict[str, Stanza], where: str) -> list[Filter]:
    out = []
    for name in [n.strip() for n in names.split(",") if n.strip()]:
        st = filters.get(name)
        if st is None:
            raise InputError(f"{where}: filters names '{name}' but there is no [filter:whitelist:{name}] or "
                             f"[filter:blacklist:{name}] stanza; add it or remove the name")
        allow = st.name.split(":")[1] == "whitelist"
        regexes = sorted(((int(m.group(1)), v) for key, (v, _) in st.keys.items()
                          if (m := re.fullmatch(r"regex(\d+)", key))), key=lambda kv: kv[0])
        for _, rx in regexes:
            out.append(Filter.parse(("+" if allow else "") + "re:" + rx))
    return out


def _bool(v: str, key: str, where: str) -> bool:
    low = v.strip().lower()
    if low in TRUE:
        return True
    if low in FALSE:
        return False
    raise InputError(f"{where}: {key} = {v!r} is not a boolean; write true or false")


def _int(v: str, key: str, where: str) -> int:
    try:
        return int(v.strip())
    except ValueError:
        raise InputError(f"{where}: {key} = {v!r} is not a whole number") from None
