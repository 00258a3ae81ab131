"""Dashboards as files: `<home>/dashboards/<name>.json`, one per dashboard, pretty-printed with
sorted keys (so a diff shows what changed and teams can keep them in git).

`load_text` accepts the native JSON, a Simple XML dashboard/form, or a Studio definition in its
XML wrapper; Simple XML is converted on load and its warnings are answered with the result.
Writes go through a temporary file and a rename (a crash leaves the old or the new file).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from speleo.dashboards import model, simplexml
from speleo.errors import InputError, NotFoundError

MAX_BYTES = 2 * 1024 * 1024   # a dashboard file larger than this is refused (nothing unbounded)


@dataclass
class Dashboard:
    name: str
    definition: dict
    warnings: list[str] = field(default_factory=list)
    source_format: str = "json"    # json | simplexml (what was given when it was imported)
    updated: float | None = None   # file modification time, epoch seconds

    def summary(self) -> dict:
        d = self.definition
        return {"name": self.name, "title": d.get("title") or self.name, "description": d.get("description", ""),
                "panels": len(d.get("visualizations") or {}), "updated": self.updated, "warnings": self.warnings}


def load_text(text: str, name_hint: str = "dashboard") -> tuple[dict, list[str], str]:
    """(definition, warnings, source format) of a dashboard file's text. Raises InputError."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise InputError(f"dashboard {name_hint}: larger than {MAX_BYTES // 1024 // 1024} MB; split it")
    if simplexml.is_xml(text):
        doc, warnings = simplexml.convert(text)
        fmt = "simplexml"
    else:
        try:
            doc = json.loads(text)
        except ValueError as e:
            raise InputError(f"dashboard {name_hint}: not JSON ({e}) nor Simple XML; fix the file") from None
        warnings, fmt = [], "json"
    return doc, warnings + model.validate(doc), fmt


def dumps(doc: dict) -> str:
    """The file text: 2-space indentation, keys sorted, a final newline."""
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class DashboardStore:
    """The dashboards of one home."""

    def __init__(self, home_root: Path) -> None:
        self.dir = Path(home_root) / "dashboards"

    def path(self, name: str) -> Path:
        return self.dir / f"{model.check_name(name)}.json"

    def names(self) -> list[str]:
        if not self.dir.is_dir():
            return []
        return sorted(p.stem for p in self.dir.glob("*.json") if model.NAME_RE.match(p.stem))

    def list(self) -> list[Dashboard]:
        """Every dashboard; a file that does not load is listed with its error as a warning."""
        out = []
        for name in self.names():
            try:
                out.append(self.get(name))
            except InputError as e:
                out.append(Dashboard(name, {"title": name}, [f"does not load: {e}"]))
        return out

    def get(self, name: str) -> Dashboard:
        """Raises NotFoundError, InputError (a file edited by hand into something invalid)."""
        p = self.path(name)
        try:
            text = p.read_text(encoding="utf-8")
            mtime = p.stat().st_mtime
        except FileNotFoundError:
            raise NotFoundError(f"no dashboard {name!r} (see 'speleo dashboard list')") from None
        doc, warnings, fmt = load_text(text, str(p))
        return Dashboard(name, doc, warnings, fmt, mtime)

    def put(self, name: str, text_or_doc, *, replace: bool = True) -> Dashboard:
        """Store a dashboard from its text (JSON or Simple XML) or its parsed JSON; answers it
        with its warnings. Raises InputError (invalid), ConflictError (exists, replace=False)."""
        from speleo.errors import ConflictError

        if isinstance(text_or_doc, str):
            doc, warnings, fmt = load_text(text_or_doc, name)
        else:
            doc, warnings, fmt = text_or_doc, model.validate(text_or_doc), "json"
        p = self.path(name)
        if not replace and p.exists():
            raise ConflictError(f"dashboard {name!r} exists; remove it first or replace it")
        self.dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(dumps(doc))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Dashboard(name, doc, warnings, fmt, p.stat().st_mtime)

    def remove(self, name: str) -> None:
        """Raises NotFoundError."""
        try:
            self.path(name).unlink()
        except FileNotFoundError:
            raise NotFoundError(f"no dashboard {name!r} (see 'speleo dashboard list')") from None
