"""Data models as Splunk defines them (Splunk Knowledge Manager Manual: "About data models";
the data model JSON of `default/data/models/<Model>.json`).

A model (`modelName`) holds datasets (`objects`), each with `objectName`, `parentName`
(`BaseEvent`, `BaseSearch` or another dataset of the model), `constraints` (a list of
`{"search": ...}`: a search that selects its events; a child dataset adds its own to its
parent's), `fields` (`fieldName`, `type`, `required`, `multivalue`) and `calculations`
(`calculationType` Eval with `expression`, Rex with `inputField` and `expression`, Lookup with
`lookupName`; each names its `outputFields`). Every dataset of a `BaseEvent` root also has
`_time`, `host`, `source` and `sourcetype`.

Shipped models are in `speleo/defaults/datamodels/*.json` (Speleo's own rendering of the Common
Information Model's field lists); a home's models are `<home>/datamodels/*.json` and replace a
shipped model of the same name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from speleo.errors import InputError, NotFoundError

ROOT_PARENTS = ("BaseEvent", "BaseSearch", "BaseTransaction", "BaseInterface")
BASE_FIELDS = ("_time", "host", "source", "sourcetype")
FIELD_TYPES = ("string", "number", "boolean", "ipv4", "timestamp", "childCount", "objectCount")
DEFAULTS_DIR = Path(__file__).resolve().parent / "defaults" / "datamodels"
MAX_MODEL_BYTES = 4 * 1024 * 1024
SUMMARY_FORMAT = 1   # the layout of acceleration summaries: a new one makes every summary out of date
# Models of Splunk's premium apps and of Splunk itself, not part of the CIM Speleo ships: a search
# naming one is refused with the reason (lower-case name -> why).
SPLUNK_ONLY = {
    "risk": "Splunk Enterprise Security's risk framework (the risk index that its risk-based alerting writes)",
    "assets_and_identities": "Splunk Enterprise Security's asset and identity lookups",
    "identity_management": "Splunk Enterprise Security's asset and identity lookups",
    "threat_intelligence": "Splunk Enterprise Security's threat intelligence framework",
    "incident_management": "Splunk Enterprise Security's notable events",
    "splunk_audit": "Splunk's own audit events (_audit), which Speleo records in its own form",
    "domain_analysis": "Splunk Enterprise Security's WHOIS domain analysis",
    "ueba": "Splunk User Behavior Analytics",
    "change_analysis": "a CIM model retired in favour of Change (whose root dataset leaves file and registry "
                       "changes to Endpoint)",
}


@dataclass(frozen=True)
class DmField:
    name: str
    type: str = "string"
    required: bool = False
    multivalue: bool = False


@dataclass(frozen=True)
class Calculation:
    """An Eval (`expression`: an eval expression), Rex (`expression`: a regex with named groups
    over `input_field`) or Lookup calculation, and the fields it outputs."""

    kind: str
    outputs: tuple[str, ...]
    expression: str = ""
    input_field: str = "_raw"
    lookup: str = ""


@dataclass
class Dataset:
    name: str
    parent: str
    constraints: list[str] = field(default_factory=list)
    fields: list[DmField] = field(default_factory=list)
    calculations: list[Calculation] = field(default_factory=list)


@dataclass
class DataModel:
    name: str
    display_name: str
    description: str
    datasets: dict[str, Dataset]
    source: str = "shipped"            # "shipped" or the file it was read from
    raw: dict = field(default_factory=dict, repr=False)

    def roots(self) -> list[Dataset]:
        return [d for d in self.datasets.values() if d.parent in ROOT_PARENTS or d.parent not in self.datasets]

    def lineage(self, name: str) -> list[Dataset]:
        """The datasets from the root down to `name` (NotFoundError if the model has none)."""
        if name not in self.datasets:
            raise NotFoundError(f"data model {self.name!r} has no dataset {name!r} "
                                f"(it has: {', '.join(self.datasets)})")
        chain, seen = [], set()
        d = self.datasets[name]
        while d is not None and d.name not in seen:
            seen.add(d.name)
            chain.append(d)
            d = self.datasets.get(d.parent)
        return chain[::-1]

    def lineage_path(self, name: str) -> str:
        return ".".join(d.name for d in self.lineage(name))

    def constraints(self, name: str) -> list[str]:
        """Every constraint search of `name` and its ancestors, root first."""
        return [c for d in self.lineage(name) for c in d.constraints]

    def fields(self, name: str) -> dict[str, DmField]:
        """Fields of `name`: the base fields, then each ancestor's, then its own."""
        out = {n: DmField(n, "timestamp" if n == "_time" else "string", True) for n in BASE_FIELDS}
        for d in self.lineage(name):
            for f in d.fields:
                out[f.name] = f
            for c in d.calculations:
                for o in c.outputs:
                    out.setdefault(o, DmField(o))
        return out

    def calculation(self, name: str, fieldname: str) -> Calculation | None:
        """The calculation that gives `fieldname` in dataset `name` (nearest dataset first)."""
        for d in reversed(self.lineage(name)):
            for c in reversed(d.calculations):
                if fieldname in c.outputs:
                    return c
        return None

    def digest(self) -> str:
        """A fingerprint of the model's definition (16 hex digits): an acceleration summary
        built from another definition is out of date (speleo.query.acceleration)."""
        import hashlib

        text = json.dumps(self.raw, sort_keys=True, default=str) if self.raw else repr(self.datasets)
        return hashlib.sha256(f"{SUMMARY_FORMAT}\n{text}".encode()).hexdigest()[:16]

    def summary(self) -> dict:
        return {"name": self.name, "display_name": self.display_name, "description": self.description,
                "source": self.source,
                "datasets": [{"name": d.name, "lineage": self.lineage_path(d.name),
                              "constraints": self.constraints(d.name),
                              "fields": [f.name for f in d.fields]} for d in self.datasets.values()]}


def _problem(where: str, what: str) -> InputError:
    return InputError(f"{where}: {what}; see Splunk's data model JSON (modelName, objects with objectName, "
                      "parentName, constraints, fields, calculations)")


def _text(obj: dict, key: str, where: str, default: str | None = None) -> str:
    value = obj.get(key, default)
    if not isinstance(value, str) or (default is None and not value):
        raise _problem(where, f"'{key}' must be a non-empty string")
    return value


def _calculation(c: dict, where: str) -> Calculation:
    kind = _text(c, "calculationType", where).lower()
    outs = tuple(_text(o, "fieldName", where) for o in c.get("outputFields") or [] if isinstance(o, dict))
    if not outs:
        raise _problem(where, "a calculation needs 'outputFields' with a fieldName")
    if kind == "eval":
        return Calculation("eval", outs, expression=_text(c, "expression", where))
    if kind == "rex":
        return Calculation("rex", outs, expression=_text(c, "expression", where),
                           input_field=_text(c, "inputField", where, "_raw") or "_raw")
    if kind == "lookup":
        return Calculation("lookup", outs, lookup=str(c.get("lookupName") or ""))
    if kind == "geoip":
        return Calculation("geoip", outs)
    raise _problem(where, f"unknown calculationType {c.get('calculationType')!r} (Eval, Rex, Lookup, GeoIP)")


def _dataset(obj: dict, where: str) -> Dataset:
    name = _text(obj, "objectName", where)
    where = f"{where}: dataset {name!r}"
    cons = []
    for c in obj.get("constraints") or []:
        search = c.get("search") if isinstance(c, dict) else None
        if not isinstance(search, str):
            raise _problem(where, "each constraint must be {\"search\": \"...\"}")
        if search.strip():
            cons.append(search.strip())
    fields = []
    for f in obj.get("fields") or []:
        if not isinstance(f, dict):
            raise _problem(where, "each field must be an object with fieldName")
        fname = _text(f, "fieldName", where)
        ftype = f.get("type", "string")
        if ftype not in FIELD_TYPES:
            raise _problem(where, f"field {fname!r} has type {ftype!r} (one of {', '.join(FIELD_TYPES)})")
        if fname in BASE_FIELDS:
            continue
        fields.append(DmField(fname, ftype, bool(f.get("required", False)), bool(f.get("multivalue", False))))
    calcs = [_calculation(c, where) for c in obj.get("calculations") or [] if isinstance(c, dict)]
    return Dataset(name, str(obj.get("parentName") or "BaseEvent"), cons, fields, calcs)


def parse_datamodel(data: dict, where: str = "<data model>", source: str = "shipped") -> DataModel:
    """A data model from Splunk's JSON (already decoded). Raises InputError naming `where`."""
    if not isinstance(data, dict):
        raise _problem(where, "the file must hold one JSON object")
    name = _text(data, "modelName", where)
    objects = data.get("objects")
    if not isinstance(objects, list) or not objects:
        raise _problem(where, "'objects' must be a non-empty list of datasets")
    datasets: dict[str, Dataset] = {}
    for obj in objects:
        if not isinstance(obj, dict):
            raise _problem(where, "each entry of 'objects' must be an object")
        d = _dataset(obj, where)
        if d.name in datasets:
            raise _problem(where, f"dataset {d.name!r} is defined twice")
        datasets[d.name] = d
    for d in datasets.values():
        if d.parent not in ROOT_PARENTS and d.parent not in datasets:
            raise _problem(where, f"dataset {d.name!r} has parentName {d.parent!r}, which is neither a dataset "
                           f"of the model nor one of {', '.join(ROOT_PARENTS)}")
    model = DataModel(name, str(data.get("displayName") or name), str(data.get("description") or ""),
                      datasets, source, data)
    for d in datasets.values():
        if len(model.lineage(d.name)) > 32 or (model.lineage(d.name)[0].parent not in ROOT_PARENTS):
            raise _problem(where, f"dataset {d.name!r} has a parent cycle")
    return model


def read_datamodel(path: Path, source: str | None = None) -> DataModel:
    """Read one data model JSON file (at most 4 MiB). Raises InputError naming the file."""
    p = Path(path)
    if p.stat().st_size > MAX_MODEL_BYTES:
        raise InputError(f"{p}: a data model file is at most {MAX_MODEL_BYTES} bytes")
    try:
        data = json.loads(p.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{p}: not a JSON data model ({e})") from None
    return parse_datamodel(data, str(p), source or str(p))


def load_dir(folder: Path, source: str | None = None) -> tuple[dict[str, DataModel], list[str]]:
    """Every `*.json` model of a folder; problems (one per unreadable file) are returned."""
    models: dict[str, DataModel] = {}
    problems: list[str] = []
    if not folder.is_dir():
        return models, problems
    for p in sorted(folder.glob("*.json")):
        try:
            m = read_datamodel(p, source)
            models[m.name] = m
        except InputError as e:
            problems.append(str(e))
    return models, problems


def shipped() -> dict[str, DataModel]:
    return load_dir(DEFAULTS_DIR, "shipped")[0]
