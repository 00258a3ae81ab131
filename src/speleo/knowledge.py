"""Search-time knowledge of a home: event types, tags and data models, merged over the shipped
defaults (Splunk: eventtypes.conf, tags.conf, data/models/*.json).

- `eventtypes.conf`: `[name]` stanzas with `search = <search>` (and optional `disabled = 1`,
  `tags = t1 t2`); an event has the event type when it matches the search.
- `tags.conf`: `[<field>=<value>]` stanzas with `<tag> = enabled|disabled`; an event whose
  `<field>` has `<value>` carries the tag (`eventtype=<name>` tags every event of the type).

Shipped defaults are in `speleo/defaults/`; `<home>/eventtypes.conf`, `<home>/tags.conf` and
`<home>/datamodels/*.json` add to them and replace a stanza or model of the same name.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from speleo import datamodels as dm
from speleo.conffile import ConfFile, parse_conf, read_conf

DEFAULTS = Path(__file__).resolve().parent / "defaults"
_ON = ("enabled", "1", "true", "t", "yes")


@dataclass
class Knowledge:
    """Event types (name -> search), tags ((field, value) -> tags, in file order) and data
    models (name -> DataModel); `problems` lists what was skipped, with file and line."""

    eventtypes: dict[str, str] = field(default_factory=dict)
    tags: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    datamodels: dict[str, dm.DataModel] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def tagged(self, tag: str) -> list[tuple[str, str]]:
        """The (field, value) pairs that carry `tag` (compared case-insensitively)."""
        t = tag.lower()
        return [fv for fv, tags in self.tags.items() if t in (x.lower() for x in tags)]

    def all_tags(self) -> list[str]:
        return sorted({t for tags in self.tags.values() for t in tags})

    def datamodel(self, name: str) -> dm.DataModel:
        from speleo.errors import NotFoundError

        for key, model in self.datamodels.items():
            if key.lower() == name.lower():
                return model
        only = dm.SPLUNK_ONLY.get(name.lower())
        if only:
            raise NotFoundError(f"data model {name!r} is Splunk-only: {only}; Speleo does not ship it "
                                "(if your events fit it, import a model of that name with "
                                "'speleo datamodel import FILE')")
        raise NotFoundError(f"no data model named {name!r} (known: {', '.join(sorted(self.datamodels)) or 'none'}); "
                            "import one with 'speleo datamodel import FILE'")


def _add_eventtypes(k: Knowledge, conf: ConfFile) -> None:
    k.problems += conf.problems
    for st in conf.merged():
        if st.settings.get("disabled", "0").lower() in ("1", "true", "t"):
            k.eventtypes.pop(st.name, None)
            continue
        search = st.settings.get("search", "").strip()
        if not search:
            k.problems.append(f"eventtypes.conf:{st.line}: [{st.name}] has no search; skipped")
            continue
        k.eventtypes[st.name] = search
        for t in st.settings.get("tags", "").split():
            k.tags.setdefault(("eventtype", st.name), []).append(t)


def _add_tags(k: Knowledge, conf: ConfFile) -> None:
    k.problems += conf.problems
    for st in conf.merged():
        fieldname, sep, value = st.name.partition("=")
        if not sep or not fieldname.strip() or not value.strip():
            k.problems.append(f"tags.conf:{st.line}: [{st.name}] is not [<field>=<value>]; skipped")
            continue
        key = (fieldname.strip(), value.strip().strip('"'))
        tags = k.tags.setdefault(key, [])
        for tag, state in st.settings.items():
            if state.strip().lower() in _ON:
                if tag not in tags:
                    tags.append(tag)
            elif tag in tags:
                tags.remove(tag)


def _read(path: Path) -> ConfFile | None:
    return read_conf(path) if path.is_file() else None


@functools.lru_cache(maxsize=1)
def shipped() -> Knowledge:
    """The shipped event types, tags and CIM data models (read once)."""
    k = Knowledge()
    _add_eventtypes(k, read_conf(DEFAULTS / "eventtypes.conf"))
    _add_tags(k, read_conf(DEFAULTS / "tags.conf"))
    k.datamodels.update(dm.shipped())
    return k


def load(root: Path | None) -> Knowledge:
    """Shipped knowledge plus the home at `root` (None: the shipped knowledge only)."""
    base = shipped()
    if root is None:
        return base
    root = Path(root)
    k = Knowledge(dict(base.eventtypes), {key: list(v) for key, v in base.tags.items()},
                  dict(base.datamodels), list(base.problems))
    for name, add in (("eventtypes.conf", _add_eventtypes), ("tags.conf", _add_tags)):
        conf = _read(root / name)
        if conf is not None:
            add(k, conf)
    models, problems = dm.load_dir(root / "datamodels", None)
    k.datamodels.update(models)
    k.problems += problems
    return k


_CACHE: dict[Path, tuple[tuple, Knowledge]] = {}


def _signature(root: Path) -> tuple:
    paths = [root / "eventtypes.conf", root / "tags.conf"] + sorted((root / "datamodels").glob("*.json"))
    out = []
    for p in paths:
        try:
            st = p.stat()
            out.append((str(p), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(p), None, None))
    return tuple(out)


def load_cached(root: Path) -> Knowledge:
    """`load(root)`, read again only when one of its files changed (size or modification time)."""
    root = Path(root)
    sig = _signature(root)
    hit = _CACHE.get(root)
    if hit is None or hit[0] != sig:
        if len(_CACHE) > 64:
            _CACHE.clear()
        hit = (sig, load(root))
        _CACHE[root] = hit
    return hit[1]


def from_text(eventtypes: str = "", tags: str = "", models: list[dict] | None = None,
              base: bool = True) -> Knowledge:
    """Knowledge from conf text (tests, tools): over the shipped one when `base`."""
    k = Knowledge()
    if base:
        b = shipped()
        k = Knowledge(dict(b.eventtypes), {key: list(v) for key, v in b.tags.items()}, dict(b.datamodels))
    _add_eventtypes(k, parse_conf(eventtypes, "eventtypes.conf"))
    _add_tags(k, parse_conf(tags, "tags.conf"))
    for m in models or []:
        model = dm.parse_datamodel(m, "<data model>", "test")
        k.datamodels[model.name] = model
    return k
