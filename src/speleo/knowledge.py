"""Search-time knowledge of a home: event types, tags and data models, merged over the shipped
defaults (Splunk: eventtypes.conf, tags.conf, data/models/*.json).

- `eventtypes.conf`: `[name]` stanzas with `search = <search>` (and optional `disabled = 1`,
  `tags = t1 t2`); an event has the event type when it matches the search.
- `tags.conf`: `[<field>=<value>]` stanzas with `<tag> = enabled|disabled`; an event whose
  `<field>` has `<value>` carries the tag (`eventtype=<name>` tags every event of the type).
- `datamodels.conf`: `[<Model>]` stanzas with `acceleration = <bool>`,
  `acceleration.earliest_time = <relative time>` and `acceleration.allow_old_summaries = <bool>`
  (Splunk datamodels.conf.spec); an accelerated model keeps summaries (speleo.query.acceleration).

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
_BOOLS = {"1": True, "true": True, "t": True, "yes": True, "y": True,
          "0": False, "false": False, "f": False, "no": False, "n": False}
# datamodels.conf keys Splunk has that Speleo reads but need not act on: summaries are built as
# soon as a bucket appears (no cron), one bucket at a time (no concurrency setting).
_ACCEL_IGNORED = ("acceleration.cron_schedule", "acceleration.max_time", "acceleration.max_concurrent",
                  "acceleration.backfill_time", "acceleration.manual_rebuilds", "acceleration.poll_buckets_until_maxtime",
                  "acceleration.hunk.compression_codec", "acceleration.hunk.dfs_block_size",
                  "acceleration.hunk.file_format", "acceleration.schedule_priority", "acceleration.source_guid",
                  "acceleration.workload_pool", "dataset.description", "dataset.type", "dataset.commands",
                  "dataset.fields", "dataset.display.diversity", "dataset.display.sample_ratio",
                  "dataset.display.limiting", "dataset.display.currentCommand", "dataset.display.mode",
                  "strict_fields", "tags_whitelist", "tags_allowlist")


@dataclass(frozen=True)
class Acceleration:
    """A data model's acceleration (Splunk datamodels.conf.spec): `enabled` (acceleration),
    `earliest_time` (acceleration.earliest_time: a relative time such as `-1mon`; "" = all time:
    only buckets with events after it are summarized) and `allow_old_summaries`
    (acceleration.allow_old_summaries: tstats may read summaries built from an older
    definition of the model)."""

    enabled: bool = False
    earliest_time: str = ""
    allow_old_summaries: bool = False


@dataclass
class Knowledge:
    """Event types (name -> search), tags ((field, value) -> tags, in file order) and data
    models (name -> DataModel); `problems` lists what was skipped, with file and line."""

    eventtypes: dict[str, str] = field(default_factory=dict)
    tags: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    datamodels: dict[str, dm.DataModel] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    accelerations: dict[str, Acceleration] = field(default_factory=dict)   # lower-case model name -> setting
    summaries_off: str = ""   # why tstats cannot read acceleration summaries here (ClickHouse, inside map); "" = it can

    def acceleration(self, name: str) -> Acceleration:
        """The acceleration setting of model `name` (not accelerated when datamodels.conf is silent)."""
        return self.accelerations.get(name.lower(), Acceleration())

    def accelerated(self) -> list[dm.DataModel]:
        """The models whose acceleration is on, by name."""
        return sorted((m for m in self.datamodels.values() if self.acceleration(m.name).enabled),
                      key=lambda m: m.name.lower())

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


def _bool(value: str, where: str, problems: list[str]) -> bool | None:
    got = _BOOLS.get(value.strip().lower())
    if got is None:
        problems.append(f"{where}: {value!r} is not a boolean (true/false, 1/0); ignored")
    return got


def _add_accelerations(k: Knowledge, conf: ConfFile) -> None:
    """datamodels.conf stanzas (acceleration.earliest_time is kept as written: it is checked
    where it is used, query.acceleration, as the relative-time parser belongs to the SPL layer)."""
    k.problems += conf.problems
    for st in conf.merged():
        if st.name == "default":
            continue
        where = f"datamodels.conf:{st.line}: [{st.name}]"
        enabled, earliest, allow_old = False, "", False
        for key, value in st.settings.items():
            if key == "acceleration":
                enabled = bool(_bool(value, f"{where} acceleration", k.problems))
            elif key == "acceleration.earliest_time":
                earliest = value.strip()
            elif key == "acceleration.allow_old_summaries":
                allow_old = bool(_bool(value, f"{where} {key}", k.problems))
            elif key not in _ACCEL_IGNORED:
                k.problems.append(f"{where}: unknown setting {key!r} (Speleo reads acceleration, "
                                  "acceleration.earliest_time and acceleration.allow_old_summaries)")
        if enabled and not any(m.lower() == st.name.lower() for m in k.datamodels):
            k.problems.append(f"{where}: no data model of that name; nothing to accelerate")
        k.accelerations[st.name.lower()] = Acceleration(enabled, earliest, allow_old)


def _read(path: Path, problems: list[str] | None = None) -> ConfFile | None:
    """The conf file at `path` (None when absent). With `problems`, one that is not UTF-8 text is
    reported there and left out instead of failing every search."""
    if not path.is_file():
        return None
    if problems is None:
        return read_conf(path)
    from speleo.errors import InputError

    try:
        return read_conf(path)
    except (InputError, OSError) as e:
        problems.append(f"{e}; the file is ignored")
        return None


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
    models, problems = dm.load_dir(root / "datamodels", None)
    k.datamodels.update(models)
    k.problems += problems
    for name, add in (("eventtypes.conf", _add_eventtypes), ("tags.conf", _add_tags),
                      ("datamodels.conf", _add_accelerations)):   # after the models: acceleration names them
        conf = _read(root / name, k.problems)
        if conf is not None:
            add(k, conf)
    return k


_CACHE: dict[Path, tuple[tuple, Knowledge]] = {}


def _signature(root: Path) -> tuple:
    paths = [root / "eventtypes.conf", root / "tags.conf", root / "datamodels.conf"] + sorted((root / "datamodels").glob("*.json"))
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
              base: bool = True, datamodels_conf: str = "") -> Knowledge:
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
    _add_accelerations(k, parse_conf(datamodels_conf, "datamodels.conf"))
    return k


def write_acceleration(root: Path, model: str, setting: Acceleration) -> Path:
    """Set model `model`'s acceleration in `<root>/datamodels.conf` (its other stanzas, keys and
    comments kept; written whole, fsynced and renamed in). Returns the file."""
    import os
    import re
    import tempfile

    path = Path(root) / "datamodels.conf"
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    ours = ("acceleration", "acceleration.earliest_time", "acceleration.allow_old_summaries")
    new = [f"acceleration = {'true' if setting.enabled else 'false'}"]
    if setting.earliest_time:
        new.append(f"acceleration.earliest_time = {setting.earliest_time}")
    if setting.allow_old_summaries:
        new.append("acceleration.allow_old_summaries = true")
    out, inside, placed = [], False, False
    for line in lines:
        header = re.match(r"^\s*\[(.*)\]\s*$", line)
        if header:
            inside = header.group(1).strip().lower() == model.lower()
            out.append(line)
            if inside and not placed:
                out += new
                placed = True
            continue
        key = line.split("=", 1)[0].strip().lower() if "=" in line else None
        if inside and key in ours:
            continue
        out.append(line)
    if not placed:
        if out and out[-1].strip():
            out.append("")
        out += [f"[{model}]"] + new
    Path(root).mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".datamodels-", suffix=".conf")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path
