"""Reading Splunk `.conf` files (savedsearches.conf, alert_actions.conf, eventtypes.conf, tags.conf, ...).

Splunk's format (the `*.conf.spec` headers): `[stanza]` lines, `key = value` lines, `#`
comments on their own line, and a value continued on the next line when a line ends with a
backslash (the newline is kept, as Splunk keeps it in multi-line searches). Settings in
`[default]` apply to every stanza that does not set them. Keys before the first stanza belong
to `[default]` too.

`read_conf` returns the stanzas in file order and the problems found, each naming the file
and line, so an import can say what it skipped and go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from speleo.errors import InputError


@dataclass
class Stanza:
    name: str
    line: int
    settings: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)  # key -> line where it was set


@dataclass
class ConfFile:
    stanzas: list[Stanza]
    default: dict[str, str]
    problems: list[str]

    def merged(self) -> list[Stanza]:
        """Stanzas with the `[default]` settings they do not override."""
        out = []
        for st in self.stanzas:
            merged = dict(self.default)
            merged.update(st.settings)
            out.append(Stanza(st.name, st.line, merged, st.lines))
        return out


def _logical_lines(text: str, problems: list[str], path: str):
    """(line number, text) with backslash continuations joined by a newline; a continuation
    the file ends in is kept (without its backslash) and reported in `problems`."""
    buf: list[str] = []
    start = 0
    for n, line in enumerate(text.splitlines(), 1):
        if not buf:
            start = n
        if line.endswith("\\") and not line.endswith("\\\\"):
            buf.append(line[:-1])
            continue
        buf.append(line)
        yield start, "\n".join(buf)
        buf = []
    if buf:
        problems.append(f"{path}:{start}: the file ends inside a continued value (its last line ends with "
                        "a backslash); the value was kept without it, check that the file is whole")
        yield start, "\n".join(buf)


def parse_conf(text: str, path: str = "<conf>") -> ConfFile:
    """Parse conf text; problems (lines that are neither stanza, setting nor comment, repeated
    keys) are reported as `path:line: what`."""
    stanzas: list[Stanza] = []
    default: dict[str, str] = {}
    problems: list[str] = []
    current: Stanza | None = None
    for n, line in _logical_lines(text, problems, path):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if s.startswith("[") and s.endswith("]"):
            name = s[1:-1].strip()
            current = None if name == "default" else Stanza(name, n)
            if current is not None:
                stanzas.append(current)
            continue
        if "=" not in s:
            problems.append(f"{path}:{n}: not a 'key = value' line, a [stanza] or a # comment: {s[:60]!r}")
            continue
        key, value = s.split("=", 1)
        key, value = key.strip(), value.strip()
        target = default if current is None else current.settings
        if key in target:
            problems.append(f"{path}:{n}: {key} set twice in [{current.name if current else 'default'}]; "
                            "the last value wins")
        target[key] = value
        if current is not None:
            current.lines[key] = n
    return ConfFile(stanzas, default, problems)


def read_conf(path: str | Path) -> ConfFile:
    """Read and parse a conf file (UTF-8; a BOM is ignored). Raises OSError if unreadable,
    InputError (naming the file, line and byte) if it is not UTF-8 text."""
    p = Path(path)
    data = p.read_bytes()
    try:
        text = data.decode("utf-8-sig")
        if "\x00" in text:
            raise UnicodeDecodeError("utf-8", data, data.index(b"\x00"), data.index(b"\x00") + 1, "NUL byte")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise InputError(f"{p}:{line}: not a text .conf file (byte {e.start}: {e.reason}); "
                         "give a UTF-8 Splunk .conf file") from None
    return parse_conf(text, str(p))
