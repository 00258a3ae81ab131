"""Release manifests for code-roll verification.

Three forms are accepted (splunk-features.md 2.5):

- `sha256sum` output: `<64 hex digits><space><space or *><relative path>` per line (a line
  starting with `\\` has `\\\\` and `\\n` escapes in its path, as sha256sum writes them);
- a list of paths expected to change, one relative path per line;
- JSON: `{"manifest_version": 1, "roll_id": "...", "ignore": ["logs/**"], "files": [{"path":
  "bin/run.sh", "sha256": "...", "type": "file"}, ...]}`.

Text forms may mix both kinds of line; blank lines and lines starting with `#` are skipped.
Paths are relative to the verified folder, `/`-separated, without `..`. Every bad line is an
error naming the file, the line and what to write instead; nothing is guessed.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from speleo.alerts.fschange.scanner import display
from speleo.errors import InputError

HASH_LINE = re.compile(r"^([0-9a-fA-F]+)\s[ *]?(.*)$")
SHA256_HEX = 64
MAX_ERRORS_SHOWN = 10
LINE_HELP = "write '<sha256>  <relative path>' (as sha256sum prints it) or a relative path alone"


class ManifestError(InputError):
    """A manifest that cannot be used; the message lists each bad line and what to do."""


@dataclass(frozen=True)
class ManifestEntry:
    """One expected path: its SHA-256 when the manifest gives one (None: "expected to change"),
    its type when given (file, dir, symlink), where it was declared (`line`)."""

    path: str
    sha256: str | None = None
    kind: str | None = None
    line: int = 0


@dataclass
class Manifest:
    """Expected paths by relative path, and globs of paths never reported as unexpected."""

    entries: dict[str, ManifestEntry] = field(default_factory=dict)
    ignore: list[str] = field(default_factory=list)
    roll_id: str | None = None
    source: str = ""

    def ignored(self, rel: str) -> bool:
        return any(fnmatch.fnmatchcase(rel, g) or (g.endswith("/**") and rel == g[:-3]) for g in self.ignore)


def load(path: str | Path) -> Manifest:
    """Read a manifest file. Raises ManifestError (bad lines) or InputError (unreadable)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ManifestError(f"{p}: not UTF-8 text ({e}); a manifest is sha256sum output, a path list or JSON") from e
    except OSError as e:
        raise InputError(f"{p}: cannot read the manifest: {e.strerror}") from e
    return parse(text, str(p))


def parse(text: str, source: str = "<manifest>") -> Manifest:
    """Parse manifest text (JSON when it starts with `{`). Raises ManifestError."""
    m = _parse_json(text, source) if text.lstrip().startswith("{") else _parse_lines(text, source)
    if not m.entries:
        raise ManifestError(f"{source}: lists no path; write one '<sha256>  <relative path>' or "
                            "relative path per line (e.g. the output of 'speleo fschange manifest DIR')")
    return m


def check_rel_path(raw: str) -> str | None:
    """The problem with a manifest path, or None when it is a clean relative path."""
    if not raw:
        return "no path after the hash"
    if raw.startswith("/"):
        return f"'{raw}' is absolute; paths are relative to the verified folder (drop the leading '/')"
    parts = raw.split("/")
    if ".." in parts:
        return f"'{raw}' contains '..'; paths must stay inside the verified folder"
    if "\0" in raw:
        return "the path contains a NUL character"
    return None


def normalize(raw: str) -> str:
    """`./a//b/` → `a/b`."""
    return "/".join(p for p in raw.split("/") if p not in ("", "."))


def _parse_lines(text: str, source: str) -> Manifest:
    m = Manifest(source=source)
    errors: list[str] = []
    for n, line in enumerate(text.splitlines(), 1):
        entry, problem = _parse_line(line, n)
        if problem:
            errors.append(f"line {n}: {problem}")
        elif entry is not None:
            first = m.entries.get(entry.path)
            if first is not None:
                errors.append(f"line {n}: '{entry.path}' is already listed on line {first.line}; keep one of them")
            else:
                m.entries[entry.path] = entry
    _raise_if(errors, source)
    return m


def _parse_line(line: str, n: int) -> tuple[ManifestEntry | None, str | None]:
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None, None
    escaped = line.startswith("\\")
    body = line[1:] if escaped else line
    body = body.rstrip("\r\n")
    match = HASH_LINE.match(body)
    digest = None
    path = body.strip()
    if match and (len(match.group(1)) == SHA256_HEX or len(match.group(1)) >= 16):
        if len(match.group(1)) != SHA256_HEX:
            return None, (f"'{match.group(1)[:20]}...' has {len(match.group(1))} hex digits, a SHA-256 has "
                          f"{SHA256_HEX}; {LINE_HELP}")
        digest, path = match.group(1).lower(), match.group(2)
    if escaped:
        path = path.replace("\\n", "\n").replace("\\\\", "\\")
    problem = check_rel_path(path)
    if problem:
        return None, f"{problem}; {LINE_HELP}"
    return ManifestEntry(normalize(path), digest, "file" if digest else None, n), None


def _parse_json(text: str, source: str) -> Manifest:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ManifestError(f"{source}: line {e.lineno} column {e.colno}: not valid JSON ({e.msg})") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), list):
        raise ManifestError(f"{source}: a JSON manifest is an object with a \"files\" list "
                            '(e.g. {"manifest_version": 1, "files": [{"path": "bin/run.sh", "sha256": "..."}]})')
    ignore = doc.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(g, str) for g in ignore):
        raise ManifestError(f"{source}: \"ignore\" must be a list of globs such as [\"logs/**\"]")
    m = Manifest(ignore=list(ignore), roll_id=doc.get("roll_id"), source=source)
    errors: list[str] = []
    for i, item in enumerate(doc["files"]):
        where = f"files[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            errors.append(f"{where}: each file is an object with a \"path\"")
            continue
        problem = check_rel_path(item["path"])
        digest = item.get("sha256")
        kind = item.get("type")
        if problem:
            errors.append(f"{where}: {problem}")
        elif digest is not None and not (isinstance(digest, str) and re.fullmatch(r"[0-9a-fA-F]{64}", digest)):
            errors.append(f"{where}: \"sha256\" must be 64 hex digits")
        elif kind not in (None, "file", "dir", "symlink"):
            errors.append(f"{where}: \"type\" must be file, dir or symlink, not {kind!r}")
        else:
            path = normalize(item["path"])
            if path in m.entries:
                errors.append(f"{where}: '{path}' is listed twice")
            m.entries[path] = ManifestEntry(path, digest.lower() if digest else None, kind, i + 1)
    _raise_if(errors, source)
    return m


def _raise_if(errors: list[str], source: str) -> None:
    if not errors:
        return
    more = len(errors) - MAX_ERRORS_SHOWN
    shown = "\n  ".join(errors[:MAX_ERRORS_SHOWN])
    tail = f"\n  ... and {more} more" if more > 0 else ""
    raise ManifestError(f"{source}: {len(errors)} bad line(s); nothing was checked:\n  {shown}{tail}")


def from_tree(root: str, entries) -> str:
    """A sha256sum-style manifest of the regular files of a scan (`entries`: path → Entry)."""
    prefix = root.rstrip("/") + "/"
    lines = [f"{e.hash}  {display(p[len(prefix):])}" for p, e in sorted(entries.items()) if e.kind == "file" and e.hash]
    return "\n".join(lines) + ("\n" if lines else "")


def lookup_csv(manifest: Manifest, root: str) -> str:
    """The manifest as a CSV lookup table (`path` absolute under `root`, `expected_sha256`
    empty for "expected to change"), for code-roll alerts written in SPL (docs/alerts-fschange.md)."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["path", "expected_sha256"])
    base = root.rstrip("/")
    for path, e in sorted(manifest.entries.items()):
        w.writerow([f"{base}/{path}", e.sha256 or ""])
    return buf.getvalue()
