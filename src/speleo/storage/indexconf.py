"""Per-index storage settings with Splunk's names (indexes.conf), kept in the catalog.

Source: Splunk indexes.conf.spec (checked with the project's search tool, and
`../shared/docs/specs/splunk-features.md` section 3.2). Splunk's names and defaults:

| Splunk setting | here | default | unit |
| --- | --- | --- | --- |
| `frozenTimePeriodInSecs` | `frozen_time_period_secs` | none (Splunk: 188,697,600 = 6 years); 30 days for `_internal`/`_audit` | seconds |
| `maxTotalDataSizeMB` | `max_total_data_size_bytes` | 500,000 MB | bytes (set in MB) |
| `maxDataSize` | `max_data_size_bytes` | "auto" = Speleo's warm target (256 MB of raw text) | bytes |
| `maxHotSpanSecs` | `max_hot_span_secs` | 7,776,000 (90 days); values < 3600 are raised to 3600 | seconds |
| `maxWarmDBCount` | `max_warm_db_count` | 300 (0 = roll warm to cold at once) | buckets |
| `homePath` | `home_path` | `<home>/indexes/<name>` | folder |
| `coldPath` | `cold_path` | `<home>/indexes/<name>/colddb` | folder |
| `thawedPath` | `thawed_path` | `<home>/indexes/<name>/thaweddb` | folder |
| `coldToFrozenDir` | `cold_to_frozen_dir` | none: frozen buckets are deleted | folder, or `s3://bucket/prefix` (Speleo's extension) |
| `coldToFrozenScript` | `cold_to_frozen_script` | none | `<interpreter> <script>`, given the bucket file; exit 0 = done (set from the CLI only) |
| `[volume:X] maxVolumeDataSizeMB` | `storage_volumes.max_size_bytes` | none | bytes |
| `promotedFields` (Speleo's own) | `promoted_fields` | none | comma-separated indexed field names: on the ClickHouse backend each gets a column of the index's table (docs/scale-out.md) |
| `coldCompressionLevel` (Speleo's own) | `cold_compression_level` | 15 | zstd level (1-22) a warm bucket is rewritten at when it rolls to cold; 0 copies it unchanged (docs/storage.md) |

Where Speleo differs: a user index has no age limit until one is set (shown as 0): Splunk's
6-year default would silently delete old data loaded on purpose (a year of archived logs, the
test data sets of 2015) the first time a server starts. `maxDataSize` caps the raw text of a merged (warm) bucket, not the
size of a hot bucket on disk (Speleo's hot buckets are one-second files, see
docs/decisions/0001-storage-layout.md); a volume caps the hot+warm+cold size of every index
assigned to it (Splunk caps the paths that reference the volume).

Settings are NULL in the catalog until set: NULL means the default, so a default changed in a
later release applies to every index that never set it. Changing a setting never rewrites a
bucket: it applies from the next retention run or merge on.
"""

from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from speleo.config import INTERNAL_INDEXES, Home
from speleo.errors import InputError, NotFoundError

MB = 1024 * 1024
DEFAULT_FROZEN_SECS = float("inf")   # no age limit (Splunk's default is 188,697,600 s = 6 years)
INTERNAL_FROZEN_SECS = 30 * 86400
DEFAULT_MAX_TOTAL_BYTES = 500_000 * MB
DEFAULT_HOT_SPAN_SECS = 7_776_000
MIN_HOT_SPAN_SECS = 3600
DEFAULT_WARM_COUNT = 300
AUTO_DATA_SIZE_BYTES = 256 * MB   # the store's warm target (storage.store.WARM_TARGET_RAW_BYTES)
# zstd level of the roll to cold (Speleo's own `coldCompressionLevel`): 15 makes the Parquet file ~6%
# smaller than the warm bucket's (level 9) for ~4x the CPU of rewriting at 9 (docs/benchmarks.md,
# section "Cold buckets"); 0 copies the file as before. zstd's levels stop at 22.
DEFAULT_COLD_LEVEL = 15
MAX_COLD_LEVEL = 22

# catalog column -> (Splunk name, SQL type)
COLUMNS = {
    "max_age_secs": ("frozenTimePeriodInSecs", "REAL"),
    "max_size_bytes": ("maxTotalDataSizeMB", "INTEGER"),
    "max_data_size_bytes": ("maxDataSize", "INTEGER"),
    "max_hot_span_secs": ("maxHotSpanSecs", "REAL"),
    "max_warm_db_count": ("maxWarmDBCount", "INTEGER"),
    "home_path": ("homePath", "TEXT"),
    "cold_path": ("coldPath", "TEXT"),
    "thawed_path": ("thawedPath", "TEXT"),
    "cold_to_frozen_dir": ("coldToFrozenDir", "TEXT"),
    "cold_to_frozen_script": ("coldToFrozenScript", "TEXT"),
    "volume_name": ("volume", "TEXT"),
    "promoted_fields": ("promotedFields", "TEXT"),
    "cold_compression_level": ("coldCompressionLevel", "INTEGER"),
}
SPLUNK_TO_COLUMN = {splunk: col for col, (splunk, _) in COLUMNS.items()}

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.I)
_SIZE_UNITS = {"k": 1024, "m": MB, "g": 1024 * MB, "t": 1024 * 1024 * MB}
_AGE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.I)
_AGE_UNITS = {"": 1, "s": 1, "sec": 1, "secs": 1, "m": 60, "min": 60, "mins": 60, "h": 3600, "hr": 3600,
              "hrs": 3600, "d": 86400, "day": 86400, "days": 86400, "w": 7 * 86400, "y": 365 * 86400}


def parse_size(text: str | int, field: str = "size") -> int:
    """Bytes from `500MB`, `10GB`, `1.5 GiB`, `200KB`, `4096B`; a bare number is megabytes
    (Splunk's *MB settings). Units are powers of 1024. Raises InputError naming `field`."""
    if isinstance(text, int):
        return _positive(text * MB, field, text)
    m = _SIZE_RE.match(str(text))
    if not m:
        raise InputError(f"{field}: {text!r} is not a size; write a number and a unit, e.g. 500MB, 10GB, 200KB")
    raw = (m.group(2) or "").lower()
    unit = "b" if raw == "b" else ("" if raw == "" else raw.rstrip("b").rstrip("i"))
    mult = {"": MB, "b": 1}.get(unit) or _SIZE_UNITS.get(unit)
    if mult is None:
        raise InputError(f"{field}: unknown unit in {text!r}; use B, KB, MB, GB or TB")
    return _positive(int(float(m.group(1)) * mult), field, text)


def parse_age(text: str | float, field: str = "age") -> float:
    """Seconds from `30d`, `12h`, `90m`, `3600s`, `2w`, `1y` (365 days); a bare number is
    seconds (Splunk's *Secs settings). Raises InputError naming `field`."""
    if isinstance(text, (int, float)):
        return float(_positive(text, field, text))
    m = _AGE_RE.match(str(text))
    if not m or m.group(2).lower() not in _AGE_UNITS:
        raise InputError(f"{field}: {text!r} is not a duration; write a number and a unit, e.g. 30d, 12h, 90m, 3600s")
    return float(_positive(float(m.group(1)) * _AGE_UNITS[m.group(2).lower()], field, text))


def _positive(value, field: str, text) -> float | int:
    if value <= 0:
        raise InputError(f"{field}: {text!r} must be more than zero")
    return value


@dataclass(frozen=True)
class IndexSettings:
    """The effective settings of one index (defaults filled in). Units: seconds and bytes."""

    name: str
    frozen_time_period_secs: float
    max_total_data_size_bytes: int
    max_data_size_bytes: int
    max_hot_span_secs: float
    max_warm_db_count: int
    home_path: Path
    cold_path: Path
    thawed_path: Path
    cold_to_frozen_dir: str | None
    volume: str | None
    cold_to_frozen_script: str | None = None
    explicit: frozenset[str] = frozenset()   # the Splunk names set on this index (others are defaults)
    promoted_fields: tuple[str, ...] = ()    # indexed fields with a column of their own on ClickHouse
    cold_compression_level: int = DEFAULT_COLD_LEVEL   # zstd level of the roll to cold (0: copy unchanged)

    def to_splunk(self) -> dict:
        """The settings under Splunk's names (sizes in MB as Splunk states them)."""
        return {
            "frozenTimePeriodInSecs": 0 if self.frozen_time_period_secs == float("inf") else int(self.frozen_time_period_secs),
            "maxTotalDataSizeMB": self.max_total_data_size_bytes // MB,
            "maxDataSize": "auto" if "maxDataSize" not in self.explicit else self.max_data_size_bytes // MB,
            "maxHotSpanSecs": int(self.max_hot_span_secs),
            "maxWarmDBCount": self.max_warm_db_count,
            "homePath": str(self.home_path),
            "coldPath": str(self.cold_path),
            "thawedPath": str(self.thawed_path),
            "coldToFrozenDir": self.cold_to_frozen_dir or "",
            "coldToFrozenScript": self.cold_to_frozen_script or "",
            "volume": self.volume or "",
            "promotedFields": ",".join(self.promoted_fields),
            "coldCompressionLevel": self.cold_compression_level,
        }


@dataclass(frozen=True)
class Volume:
    """A storage volume (Splunk `[volume:NAME]`): a size cap shared by the indexes assigned to it."""

    name: str
    max_size_bytes: int | None
    path: str | None = None


VOLUME_SCHEMA = """
CREATE TABLE IF NOT EXISTS storage_volumes (
    name TEXT PRIMARY KEY,
    path TEXT,
    max_size_bytes INTEGER
);
"""


def add_columns(con: sqlite3.Connection) -> None:
    """Add the settings columns and the volumes table to an older catalog (inside a transaction)."""
    have = {r[1] for r in con.execute("PRAGMA table_info(indexes)")}
    for col, (_, typ) in COLUMNS.items():
        if col not in have:
            con.execute(f"ALTER TABLE indexes ADD COLUMN {col} {typ}")
    con.execute(VOLUME_SCHEMA)


def missing_columns(con: sqlite3.Connection) -> bool:
    have = {r[1] for r in con.execute("PRAGMA table_info(indexes)")}
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    return not set(COLUMNS) <= have or "storage_volumes" not in tables


def effective(home: Home, name: str, row: dict) -> IndexSettings:
    """The settings of index `name` from its catalog row (NULL = default)."""
    base = home.indexes_dir / name
    internal = name in INTERNAL_INDEXES
    explicit = frozenset(COLUMNS[c][0] for c in COLUMNS if row.get(c) is not None)
    span = row.get("max_hot_span_secs")
    return IndexSettings(
        name=name,
        frozen_time_period_secs=row.get("max_age_secs") or (INTERNAL_FROZEN_SECS if internal else DEFAULT_FROZEN_SECS),
        max_total_data_size_bytes=row.get("max_size_bytes") or DEFAULT_MAX_TOTAL_BYTES,
        max_data_size_bytes=row.get("max_data_size_bytes") or AUTO_DATA_SIZE_BYTES,
        max_hot_span_secs=max(MIN_HOT_SPAN_SECS, span) if span else DEFAULT_HOT_SPAN_SECS,
        max_warm_db_count=DEFAULT_WARM_COUNT if row.get("max_warm_db_count") is None else row["max_warm_db_count"],
        home_path=Path(row["home_path"]) if row.get("home_path") else base,
        cold_path=Path(row["cold_path"]) if row.get("cold_path") else base / "colddb",
        thawed_path=Path(row["thawed_path"]) if row.get("thawed_path") else base / "thaweddb",
        cold_to_frozen_dir=row.get("cold_to_frozen_dir") or None,
        volume=row.get("volume_name") or None,
        explicit=explicit,
        cold_to_frozen_script=row.get("cold_to_frozen_script") or None,
        promoted_fields=tuple(f for f in (row.get("promoted_fields") or "").split(",") if f),
        cold_compression_level=(DEFAULT_COLD_LEVEL if row.get("cold_compression_level") is None
                                else int(row["cold_compression_level"])),
    )


def load_all(home: Home, catalog) -> dict[str, IndexSettings]:
    """Effective settings of every index, by name."""
    cols = ", ".join(COLUMNS)
    rows = catalog.query(f"SELECT name, {cols} FROM indexes ORDER BY name")
    return {r[0]: effective(home, r[0], dict(zip(COLUMNS, r[1:]))) for r in rows}


def load(home: Home, catalog, name: str) -> IndexSettings:
    """Effective settings of one index. Raises NotFoundError."""
    every = load_all(home, catalog)
    if name not in every:
        raise NotFoundError(f"no index named '{name}' (see 'speleo index list')")
    return every[name]


def volumes(catalog) -> dict[str, Volume]:
    return {r[0]: Volume(r[0], r[2], r[1]) for r in catalog.query("SELECT name, path, max_size_bytes FROM storage_volumes")}


def parse_changes(params: dict, labels: dict[str, str] | None = None) -> dict:
    """Catalog column values from settings under Splunk's names (or the CLI's), checked.

    `params` maps a Splunk name (`frozenTimePeriodInSecs`, `maxTotalDataSizeMB`, `maxDataSize`,
    `maxHotSpanSecs`, `maxWarmDBCount`, `homePath`, `coldPath`, `thawedPath`, `coldToFrozenDir`,
    `volume`; Speleo's own `promotedFields`, `coldCompressionLevel`) to text; an empty value resets
    the setting to its default. Sizes accept units (`500MB`) or a bare number of MB; `maxDataSize`
    also accepts `auto`; ages accept units (`30d`) or a bare number of seconds;
    `coldCompressionLevel` a whole number from 0 to 22. Raises InputError naming the setting (as
    `labels` names it, e.g. the CLI's option), before anything is changed.
    """
    out: dict = {}
    for key, value in params.items():
        try:
            out.update(_parse_one(key, value))
        except InputError as e:
            label = (labels or {}).get(key)
            raise InputError(f"{label}: {str(e).split(': ', 1)[1]}" if label else str(e)) from None
    return out


def _ascii_digits(text: str) -> bool:
    """Whether `text` is digits 0-9 only (`str.isdigit` also accepts "\u00b2", which `int` refuses,
    and other scripts' digits, which `int` reads)."""
    return text.isascii() and text.isdigit()


def _parse_one(key: str, value) -> dict:
    """{catalog column: value} for one setting. Raises InputError."""
    col = SPLUNK_TO_COLUMN.get(key)
    if col is None:
        raise InputError(f"{key}: unknown index setting; known: {', '.join(SPLUNK_TO_COLUMN)}")
    text = None if value is None else str(value).strip()
    if not text or (key == "maxDataSize" and text.lower() in ("auto", "auto_high_volume")):
        return {col: None}
    if key in ("frozenTimePeriodInSecs", "maxHotSpanSecs"):
        return {col: parse_age(text, key)}
    if key in ("maxTotalDataSizeMB", "maxDataSize"):
        return {col: parse_size(text, key)}
    if key == "maxWarmDBCount":
        if not _ascii_digits(text):
            raise InputError(f"{key}: {text!r} is not a whole number of buckets (0 or more)")
        return {col: int(text)}
    if key == "coldCompressionLevel":
        if not _ascii_digits(text) or int(text) > MAX_COLD_LEVEL:
            raise InputError(f"{key}: {text!r} is not a zstd level; write a whole number from 1 (fastest) to "
                             f"{MAX_COLD_LEVEL} (smallest), or 0 to copy warm buckets to cold unchanged")
        return {col: int(text)}
    if key == "coldToFrozenDir" and text.startswith("s3://"):
        if not re.match(r"^s3://[a-z0-9][a-z0-9.\-]{1,62}(/.*)?$", text):
            raise InputError(f"{key}: {text!r} is not an S3 URL like s3://bucket/prefix")
        return {col: text}
    if key == "volume":
        return {col: text}
    if key == "promotedFields":
        names = [f.strip() for f in text.split(",") if f.strip()]
        bad = [f for f in names if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", f)]
        if bad:
            raise InputError(f"{key}: {bad[0]!r} cannot be a column: use letters, digits and '_' "
                             "(at most 63), starting with a letter or '_'")
        if len(names) > 50:
            raise InputError(f"{key}: {len(names)} fields; at most 50 get a column of their own")
        return {col: ",".join(dict.fromkeys(names)) or None}
    if key == "coldToFrozenScript":
        import shlex

        try:
            argv = shlex.split(text)
        except ValueError as e:
            raise InputError(f"{key}: {text!r} does not split into a command: {e}") from e
        missing = [a for a in argv if a.startswith("/") and not Path(a).exists()]
        if missing:
            raise InputError(f"{key}: {missing[0]} does not exist")
        return {col: text}
    return {col: str(Path(text).expanduser().absolute())}


def check_paths(home: Home, catalog, name: str, changes: dict) -> None:
    """Refuse folders that cannot hold buckets: not creatable/writable, inside Speleo's
    journal, or inside (or containing) another index's folders. Raises InputError."""
    others = {n: s for n, s in load_all(home, catalog).items() if n != name}
    for col in ("home_path", "cold_path", "thawed_path", "cold_to_frozen_dir"):
        value = changes.get(col)
        if not value or value.startswith("s3://"):
            continue
        path = Path(value).resolve()
        splunk = COLUMNS[col][0]
        if path == home.root.resolve() or home.journal_dir.resolve() in (path, *path.parents):
            raise InputError(f"{splunk}: {value} is Speleo's home or journal; choose a folder of its own")
        for other, s in others.items():
            for theirs in (s.home_path, s.cold_path, s.thawed_path):
                theirs = theirs.resolve()
                if path == theirs or theirs in path.parents or (path in theirs.parents and col != "cold_to_frozen_dir"):
                    raise InputError(f"{splunk}: {value} overlaps the folders of index '{other}' ({theirs}); "
                                     "every index needs folders of its own")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(f"{splunk}: cannot create {value}: {e.strerror}") from e
        if not os.access(path, os.W_OK | os.X_OK):
            raise InputError(f"{splunk}: {value} is not writable by this user")
    vol = changes.get("volume_name")
    if vol and vol not in volumes(catalog):
        raise InputError(f"volume: no volume named {vol!r}; create it with 'speleo index volume set {vol} --max-size 10GB'")


def apply(home: Home, catalog, name: str, changes: dict) -> IndexSettings:
    """Store checked changes (from `parse_changes`) for index `name`; returns the new settings.
    Raises NotFoundError for an unknown index, InputError for a bad path."""
    load(home, catalog, name)
    check_paths(home, catalog, name, changes)
    if changes:
        sets = ", ".join(f"{c} = ?" for c in changes)   # column names from COLUMNS only, never user text
        assert set(changes) <= set(COLUMNS)
        with catalog.transaction() as con:
            con.execute(f"UPDATE indexes SET {sets} WHERE name = ?", (*changes.values(), name))
    return load(home, catalog, name)


def set_volume(catalog, name: str, max_size: str | None, path: str | None = None) -> Volume:
    """Create or change a volume's size cap (`maxVolumeDataSizeMB`). Raises InputError."""
    if not re.match(r"^[a-z0-9][a-z0-9_\-]{0,79}$", name or ""):
        raise InputError(f"invalid volume name {name!r}: use lower-case letters, digits, '_' and '-'")
    size = parse_size(max_size, "maxVolumeDataSizeMB") if max_size else None
    with catalog.transaction() as con:
        con.execute("INSERT INTO storage_volumes(name, path, max_size_bytes) VALUES (?, ?, ?) ON CONFLICT(name) "
                    "DO UPDATE SET max_size_bytes = excluded.max_size_bytes, path = coalesce(excluded.path, path)",
                    (name, path, size))
    return volumes(catalog)[name]


def with_overrides(s: IndexSettings, **kw) -> IndexSettings:
    """A copy with some fields changed (tests)."""
    return replace(s, **kw)


def as_dict(s: IndexSettings) -> dict:
    d = asdict(s)
    d["explicit"] = sorted(s.explicit)
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}

