"""The native dashboard format: the Dashboard Studio JSON subset of the spec (section 4.2).

A dashboard is a JSON object with `title`, `description`, `inputs`, `defaults`,
`visualizations`, `dataSources` and `layout` (Splunk Dashboard Studio definition). `validate`
checks it and answers warnings for what Speleo shows as a placeholder or ignores; structural
mistakes raise `InputError` naming the path in the JSON (e.g. `dataSources.ds_1.options.query`)
and what to do. `resolve` turns the data sources and the current token values into the searches
the page runs (query, time range, refresh, base data source).
"""

from __future__ import annotations

import copy
import re

from speleo.dashboards import tokens as tok
from speleo.errors import InputError

DS_TYPES = ("ds.search", "ds.chain", "ds.savedSearch")
VIZ_TYPES = ("splunk.line", "splunk.area", "splunk.column", "splunk.bar", "splunk.pie", "splunk.singlevalue",
             "splunk.table", "splunk.events", "splunk.markdown")
INPUT_TYPES = ("input.timerange", "input.dropdown", "input.multiselect", "input.text", "input.number")
LAYOUT_TYPES = ("absolute", "grid")
IGNORED_TOP = ("expressions", "applicationProperties")
TOP_KEYS = ("title", "description", "inputs", "defaults", "visualizations", "dataSources", "layout") + IGNORED_TOP
DEFAULT_TIMERANGE = "-24h@h,now"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


def check_name(name: str) -> str:
    """A dashboard name (its file name and URL part): letters, digits, `_ . -`, at most 100.
    Raises InputError."""
    if not isinstance(name, str) or not NAME_RE.match(name) or name.endswith(".json"):
        raise InputError(f"dashboard name {name!r}: use 1 to 100 letters, digits, '_', '.', '-', starting with a "
                         "letter or digit (it becomes the file name and the URL /app/dashboards/<name>)")
    return name


def _fail(path: str, what: str, todo: str) -> InputError:
    return InputError(f"dashboard {path}: {what}; {todo}")


def _obj(doc: dict, key: str, path: str) -> dict:
    v = doc.get(key, {})
    if not isinstance(v, dict):
        raise _fail(f"{path}{key}", f"is a {type(v).__name__}", "make it a JSON object {id: {...}}")
    return v


def validate(doc) -> list[str]:
    """Check a dashboard definition; answer the warnings (unknown visualization types shown as
    placeholders, ignored keys). Raises InputError for what cannot be shown."""
    if not isinstance(doc, dict):
        raise _fail("(top)", "is not a JSON object", "send an object with visualizations, dataSources, layout")
    warnings = [f"key {k!r} at the top is not part of the dashboard format and is ignored"
                for k in doc if k not in TOP_KEYS]
    warnings += [f"{k} is accepted and ignored" for k in IGNORED_TOP if k in doc]
    for key in ("title", "description"):
        if key in doc and not isinstance(doc[key], str):
            raise _fail(key, "is not a string", "write it as text")
    sources = _obj(doc, "dataSources", "")
    for ds_id, ds in sources.items():
        _check_source(ds_id, ds, sources)
    _check_chains(sources)
    vizs = _obj(doc, "visualizations", "")
    for viz_id, viz in vizs.items():
        warnings += _check_viz(viz_id, viz, sources)
    inputs = _obj(doc, "inputs", "")
    for in_id, inp in inputs.items():
        _check_input(in_id, inp, sources)
    _obj(doc, "defaults", "")
    warnings += _check_layout(doc.get("layout"), vizs, inputs)
    return warnings


def _check_source(ds_id: str, ds, sources: dict) -> None:
    path = f"dataSources.{ds_id}"
    if not isinstance(ds, dict):
        raise _fail(path, "is not an object", 'write {"type": "ds.search", "options": {"query": "..."}}')
    if ds.get("type") not in DS_TYPES:
        raise _fail(f"{path}.type", f"{ds.get('type')!r} is not a data source type Speleo runs",
                    f"use one of {', '.join(DS_TYPES)}")
    opts = ds.get("options", {})
    if not isinstance(opts, dict):
        raise _fail(f"{path}.options", "is not an object", "write the options as a JSON object")
    need = {"ds.search": "query", "ds.chain": "query", "ds.savedSearch": "ref"}[ds["type"]]
    if not isinstance(opts.get(need), str) or not opts[need].strip():
        raise _fail(f"{path}.options.{need}", "is missing or empty",
                    "give the SPL to run" if need == "query" else "give the name of a saved search")
    if ds["type"] == "ds.chain" and opts.get("extend") not in sources:
        raise _fail(f"{path}.options.extend", f"{opts.get('extend')!r} is no data source of this dashboard",
                    f"name the base data source's id (one of {', '.join(sorted(sources)) or 'none'})")
    if opts.get("refreshType", "delay") not in ("delay", "interval"):
        raise _fail(f"{path}.options.refreshType", f"{opts['refreshType']!r} is unknown", "use delay or interval")
    if "refresh" in opts:
        parse_duration(opts["refresh"], f"{path}.options.refresh")


def _check_chains(sources: dict) -> None:
    for ds_id in sources:
        seen, cur = [ds_id], sources[ds_id]
        while cur.get("type") == "ds.chain":
            nxt = cur["options"]["extend"]
            if nxt in seen:
                raise _fail(f"dataSources.{ds_id}.options.extend", "the chain loops (" + " -> ".join(seen + [nxt]) + ")",
                            "make the chain end at a ds.search or ds.savedSearch")
            seen.append(nxt)
            cur = sources[nxt]


def _check_viz(viz_id: str, viz, sources: dict) -> list[str]:
    path = f"visualizations.{viz_id}"
    if not isinstance(viz, dict) or not isinstance(viz.get("type"), str):
        raise _fail(path, "has no type", 'write {"type": "splunk.line", "dataSources": {"primary": "ds_id"}}')
    warnings = []
    if viz["type"] not in VIZ_TYPES:
        warnings.append(f"{path}.type: {viz['type']!r} is not drawn by Speleo; a placeholder is shown")
    primary = (viz.get("dataSources") or {}).get("primary") if isinstance(viz.get("dataSources"), dict) else None
    if primary is not None and primary not in sources:
        raise _fail(f"{path}.dataSources.primary", f"{primary!r} is no data source of this dashboard",
                    f"use one of {', '.join(sorted(sources)) or '(add a data source first)'}")
    if primary is None and viz["type"] not in ("splunk.markdown",) and viz["type"] in VIZ_TYPES:
        warnings.append(f"{path}.dataSources.primary is missing: the panel stays empty")
    return warnings


def _check_input(in_id: str, inp, sources: dict) -> None:
    path = f"inputs.{in_id}"
    if not isinstance(inp, dict) or inp.get("type") not in INPUT_TYPES:
        got = inp.get("type") if isinstance(inp, dict) else inp
        raise _fail(f"{path}.type", f"{got!r} is not an input type", f"use one of {', '.join(INPUT_TYPES)}")
    opts = inp.get("options") or {}
    if not isinstance(opts.get("token"), str) or not opts["token"]:
        raise _fail(f"{path}.options.token", "is missing", "name the token the input sets, e.g. \"host\"")
    items = opts.get("items")
    if items is not None and not (isinstance(items, list) and all(isinstance(i, dict) and "value" in i for i in items)):
        raise _fail(f"{path}.options.items", "is not a list of {label, value}", 'write [{"label": "All", "value": "*"}]')
    primary = (inp.get("dataSources") or {}).get("primary")
    if primary is not None and primary not in sources:
        raise _fail(f"{path}.dataSources.primary", f"{primary!r} is no data source", "name a data source id")


def layouts(doc: dict) -> list[dict]:
    """The layouts to draw: one for `absolute`/`grid`, one per tab for the tabbed form; each
    {id, label, type, options, structure, inputs}."""
    lay = doc.get("layout") or {}
    if "tabs" in lay:
        defs = lay.get("layoutDefinitions") or {}
        return [{"id": t["layoutId"], "label": t.get("label", t["layoutId"]), "type": defs[t["layoutId"]].get("type", "grid"),
                 "options": defs[t["layoutId"]].get("options", {}), "structure": defs[t["layoutId"]].get("structure", []),
                 "inputs": defs[t["layoutId"]].get("inputs", [])}
                for t in (lay["tabs"].get("items") or [])]
    return [{"id": "layout_1", "label": doc.get("title", ""), "type": lay.get("type", "grid"),
             "options": lay.get("options", {}), "structure": lay.get("structure", []), "inputs": []}]


def _check_layout(lay, vizs: dict, inputs: dict) -> list[str]:
    if not isinstance(lay, dict):
        raise _fail("layout", "is missing", 'add {"type": "grid", "structure": [...]} placing the visualizations')
    warnings = []
    for i, name in enumerate(lay.get("globalInputs") or []):
        if name not in inputs:
            raise _fail(f"layout.globalInputs[{i}]", f"{name!r} is no input", "name an id under inputs")
    if "tabs" in lay:
        items = (lay.get("tabs") or {}).get("items")
        defs = lay.get("layoutDefinitions")
        if not isinstance(items, list) or not isinstance(defs, dict):
            raise _fail("layout.tabs", "needs tabs.items and layoutDefinitions",
                        'write {"tabs": {"items": [{"layoutId": "l1", "label": "One"}]}, "layoutDefinitions": {"l1": {...}}}')
        for i, t in enumerate(items):
            if not isinstance(t, dict) or t.get("layoutId") not in defs:
                raise _fail(f"layout.tabs.items[{i}].layoutId", f"{t.get('layoutId') if isinstance(t, dict) else t!r} "
                            "is not under layoutDefinitions", "name a layout of layoutDefinitions")
        for lid, d in defs.items():
            warnings += _check_structure(d, f"layout.layoutDefinitions.{lid}", vizs, inputs)
    else:
        warnings += _check_structure(lay, "layout", vizs, inputs)
    return warnings


def _check_structure(lay, path: str, vizs: dict, inputs: dict) -> list[str]:
    if not isinstance(lay, dict):
        raise _fail(path, "is not an object", "write {type, structure}")
    if lay.get("type", "grid") not in LAYOUT_TYPES:
        raise _fail(f"{path}.type", f"{lay.get('type')!r} is unknown", "use absolute or grid")
    structure = lay.get("structure", [])
    if not isinstance(structure, list):
        raise _fail(f"{path}.structure", "is not a list", "list the blocks [{item, type, position}]")
    for i, block in enumerate(structure):
        p = f"{path}.structure[{i}]"
        if not isinstance(block, dict) or (block.get("item") not in vizs and block.get("item") not in inputs):
            got = block.get("item") if isinstance(block, dict) else block
            raise _fail(f"{p}.item", f"{got!r} is no visualization or input", "name an id under visualizations")
        pos = block.get("position")
        if pos is not None and not (isinstance(pos, dict) and all(isinstance(pos.get(k, 0), (int, float)) for k in "xywh")):
            raise _fail(f"{p}.position", "is not {x, y, w, h} in pixels", 'write {"x": 0, "y": 0, "w": 600, "h": 300}')
    return []


DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|secs|m|min|mins|h|hr|hrs|d)?\s*$")
UNITS = {None: 1, "s": 1, "sec": 1, "secs": 1, "m": 60, "min": 60, "mins": 60, "h": 3600, "hr": 3600, "hrs": 3600,
         "d": 86400}


def parse_duration(value, path: str = "refresh") -> float:
    """Seconds of a refresh (`30s`, `5m`, `1h`, or a number of seconds: Simple XML <refresh>).
    Raises InputError."""
    m = DURATION_RE.match(str(value))
    if not m or float(m.group(1)) <= 0:
        raise _fail(path, f"{value!r} is not a duration", "write 30s, 5m, 1h or a number of seconds above 0")
    return float(m.group(1)) * UNITS[m.group(2)]


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def source_options(doc: dict, ds_id: str) -> dict:
    """A data source's options after the defaults (spec 4.2): `defaults.dataSources.global`,
    then `defaults.dataSources.<type>`, then the data source's own options."""
    ds = doc["dataSources"][ds_id]
    dflt = (doc.get("defaults") or {}).get("dataSources") or {}
    opts = _merge((dflt.get("global") or {}).get("options") or {}, (dflt.get(ds["type"]) or {}).get("options") or {})
    return _merge(opts, ds.get("options") or {})


def token_defaults(doc: dict) -> dict[str, str]:
    """The token values of the inputs' defaults: a time range sets `<token>.earliest` and
    `<token>.latest` (default `-24h@h,now`); a multiselect's list is joined as Simple XML does."""
    values: dict[str, str] = {}
    for inp in (doc.get("inputs") or {}).values():
        opts = inp.get("options") or {}
        token, dv = opts["token"], opts.get("defaultValue")
        if inp["type"] == "input.timerange":
            earliest, _, latest = str(dv or DEFAULT_TIMERANGE).partition(",")
            values[f"{token}.earliest"], values[f"{token}.latest"] = earliest, latest or "now"
        elif dv is not None and dv != []:
            values[token] = input_token_value(inp, dv)
    return values


def input_token_value(inp: dict, raw) -> str:
    """The token value an input gives for the chosen `raw` value(s) (prefix/suffix, and for a
    multiselect valuePrefix/valueSuffix/delimiter: Simple XML input options)."""
    o = inp.get("options") or {}
    if inp["type"] == "input.multiselect" and not isinstance(raw, list):
        raw = [raw]
    return tok.input_value(raw, prefix=o.get("prefix", ""), suffix=o.get("suffix", ""),
                           value_prefix=o.get("valuePrefix", ""), value_suffix=o.get("valueSuffix", ""),
                           delimiter=o.get("delimiter", " "))


def resolve(doc: dict, values: dict[str, str], saved=None) -> dict[str, dict]:
    """Each data source with the tokens replaced: {ds_id: {type, query, earliest, latest,
    refresh (seconds or None), refreshType, extend, missing (token names without a value)}}.
    `saved(name)` answers a saved search's (query, earliest, latest) for `ds.savedSearch`, or
    raises NotFoundError. A chain inherits its base's time range and missing tokens."""
    out: dict[str, dict] = {}
    for ds_id, ds in (doc.get("dataSources") or {}).items():
        opts = source_options(doc, ds_id)
        params = opts.get("queryParameters") or {}
        query, earliest, latest = opts.get("query", ""), params.get("earliest"), params.get("latest")
        if ds["type"] == "ds.savedSearch":
            query, s_earliest, s_latest = saved(opts["ref"]) if saved else ("", None, None)
            earliest, latest = earliest or s_earliest, latest or s_latest
        q, missing = tok.substitute(query, values)
        e, m1 = tok.substitute(earliest, values) if earliest else (None, set())
        lt, m2 = tok.substitute(latest, values) if latest else (None, set())
        out[ds_id] = {"type": ds["type"], "query": q, "earliest": e, "latest": lt,
                      "refresh": parse_duration(opts["refresh"]) if opts.get("refresh") else None,
                      "refreshType": opts.get("refreshType", "delay"), "extend": opts.get("extend"),
                      "missing": sorted(missing | m1 | m2)}
    for ds_id, r in out.items():   # a chain runs over its base: its range and waiting state are the base's
        base = r
        while base["extend"]:
            base = out[base["extend"]]
            r["missing"] = sorted(set(r["missing"]) | set(base["missing"]))
        if r["type"] == "ds.chain":
            r["earliest"], r["latest"] = base["earliest"], base["latest"]
    return out
