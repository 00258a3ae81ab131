"""Simple XML dashboards and forms converted to the native format (spec 4.1 and 4.4).

`<row>/<panel>` become a grid layout (the panels of a row share its 1440 px width, 400 px per
row), `<search base>` a `ds.chain`, `<search ref>` a `ds.savedSearch`, the time input a
`input.timerange` (a time input without a token is the global one, token `global_time`, which
every search without its own `<earliest>/<latest>` inherits through `defaults`). A Dashboard
Studio file in its XML wrapper (`<dashboard version="2"><definition>`) gives its JSON.
What cannot be converted (drilldown elements, custom JS/CSS, unknown visualizations, inputs
inside panels) becomes a warning, never a failure.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from speleo.errors import InputError

WIDTH, ROW_HEIGHT = 1440, 400
GLOBAL_TIME = "global_time"
CHARTS = {"line": "splunk.line", "area": "splunk.area", "column": "splunk.column", "bar": "splunk.bar",
          "pie": "splunk.pie"}
INPUTS = {"time": "input.timerange", "dropdown": "input.dropdown", "radio": "input.dropdown",
          "text": "input.text", "multiselect": "input.multiselect", "checkbox": "input.multiselect"}
INPUT_OPTIONS = ("prefix", "suffix", "valuePrefix", "valueSuffix", "delimiter", "fieldForLabel", "fieldForValue")


def parse_xml(text: str) -> ET.Element:
    """The root element of a Simple XML file. Raises InputError (with line and column) for
    malformed XML, and refuses DOCTYPE/ENTITY declarations (entity expansion)."""
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise InputError("dashboard XML: DOCTYPE and ENTITY declarations are not accepted; remove them")
    try:
        return ET.fromstring(text)
    except ET.ParseError as e:
        line, col = e.position
        raise InputError(f"dashboard XML is not well-formed at line {line}, column {col + 1}: {e.msg}; "
                         "fix the XML (every tag closed, & written &amp;)") from None


def is_xml(text: str) -> bool:
    return text.lstrip().startswith("<")


def convert(text: str) -> tuple[dict, list[str]]:
    """(native dashboard, warnings) of a Simple XML `<dashboard>` / `<form>`, or of a Studio
    definition wrapped in `<dashboard version="2">`. Raises InputError for XML that is not a
    dashboard at all."""
    root = parse_xml(text)
    if root.tag not in ("dashboard", "form"):
        raise InputError(f"dashboard XML: the root element is <{root.tag}>; a Simple XML dashboard starts with "
                         "<dashboard> or <form>")
    definition = root.find("definition")
    if root.get("version") == "2" or definition is not None:
        try:
            return json.loads((definition.text if definition is not None else "") or ""), []
        except ValueError as e:
            raise InputError(f"dashboard XML: the <definition> is not JSON ({e}); put the Studio JSON in it") from None
    return _Converter(root).run()


def _text(el, tag: str, default=None):
    child = el.find(tag) if el is not None else None
    return child.text.strip() if child is not None and child.text is not None else default


class _Converter:
    def __init__(self, root: ET.Element) -> None:
        self.root = root
        self.warnings: list[str] = []
        self.doc: dict = {"title": _text(root, "label", ""), "description": _text(root, "description", ""),
                          "inputs": {}, "defaults": {}, "visualizations": {}, "dataSources": {}}
        self.counts: dict[str, int] = {}

    def new_id(self, prefix: str) -> str:
        self.counts[prefix] = self.counts.get(prefix, 0) + 1
        return f"{prefix}_{self.counts[prefix]}"

    def run(self) -> tuple[dict, list[str]]:
        root = self.root
        for el in root:
            if el.tag == "search":
                self.search(el, el.get("id") or self.new_id("ds_search"))
        global_inputs = []
        for fs in root.findall("fieldset"):
            if fs.get("submitButton", "false").lower() == "true":
                self.warnings.append("fieldset submitButton: Speleo runs the searches when an input changes")
            for inp in fs.findall("input"):
                global_inputs.append(self.input(inp))
        if any(i["type"] == "input.timerange" and i["options"]["token"] == GLOBAL_TIME for i in self.doc["inputs"].values()):
            self.doc["defaults"] = {"dataSources": {"ds.search": {"options": {"queryParameters": {
                "earliest": f"${GLOBAL_TIME}.earliest$", "latest": f"${GLOBAL_TIME}.latest$"}}}}}
        if root.get("refresh"):
            opts = self.doc["defaults"].setdefault("dataSources", {}).setdefault("global", {}).setdefault("options", {})
            opts.update({"refresh": root.get("refresh"), "refreshType": "interval"})
        for attr in ("script", "stylesheet"):
            if root.get(attr):
                self.warnings.append(f"<{root.tag} {attr}=...>: custom JS/CSS is not run by Speleo")
        structure = []
        for r, row in enumerate(root.findall("row")):
            structure += self.row(row, r, global_inputs)
        self.doc["layout"] = {"type": "grid", "options": {"width": WIDTH}, "globalInputs": global_inputs,
                              "structure": structure}
        return self.doc, self.warnings

    def search(self, el: ET.Element, ds_id: str) -> str:
        """A data source of a <search> element; answers its id."""
        opts: dict = {}
        if el.get("base"):
            ds = {"type": "ds.chain", "options": {"extend": el.get("base"), "query": _text(el, "query", "")}}
        elif el.get("ref"):
            ds = {"type": "ds.savedSearch", "options": {"ref": el.get("ref")}}
        else:
            ds = {"type": "ds.search", "options": {"query": _text(el, "query", "")}}
        opts = ds["options"]
        earliest, latest = _text(el, "earliest"), _text(el, "latest")
        if (earliest or latest) and ds["type"] != "ds.chain":
            opts["queryParameters"] = {"earliest": earliest or "", "latest": latest or "now"}
        if _text(el, "refresh"):
            opts["refresh"] = _text(el, "refresh")
            opts["refreshType"] = _text(el, "refreshType", "delay")
        if el.get("id"):
            ds["name"] = el.get("id")
        self.doc["dataSources"][ds_id] = ds
        return ds_id

    def input(self, el: ET.Element) -> str:
        kind = el.get("type", "text")
        in_id = f"input_{el.get('token') or GLOBAL_TIME}"
        itype = INPUTS.get(kind)
        if itype is None:
            self.warnings.append(f"<input type=\"{kind}\">: not an input type Speleo draws; shown as a text box")
            itype = "input.text"
        opts: dict = {"token": el.get("token") or GLOBAL_TIME}
        default = el.find("default")
        if itype == "input.timerange":
            e, lt = _text(default, "earliest"), _text(default, "latest")
            if e is not None or lt is not None:
                opts["defaultValue"] = f"{e or ''},{lt or 'now'}"
            elif default is not None and default.text and default.text.strip():
                self.warnings.append(f"input {in_id}: time default {default.text.strip()!r} (a preset name) is "
                                     "not converted; last 24 hours is used")
        else:
            values = [v.text.strip() for v in el.findall("default") + el.findall("initialValue") if v.text]
            if values:
                opts["defaultValue"] = values if itype == "input.multiselect" else values[0]
            items = [{"label": (c.text or "").strip(), "value": c.get("value", "")} for c in el.findall("choice")]
            if items:
                opts["items"] = items
        for name in INPUT_OPTIONS:
            if _text(el, name) is not None or el.find(name) is not None:
                opts[name] = el.find(name).text or ""
        inp = {"type": itype, "title": _text(el, "label", opts["token"]), "options": opts}
        if el.find("search") is not None:
            inp["dataSources"] = {"primary": self.search(el.find("search"), f"ds_{in_id}")}
        if el.get("searchWhenChanged", "true").lower() == "false":
            self.warnings.append(f"input {in_id}: searchWhenChanged=false is not kept; Speleo searches on change")
        if el.find("change") is not None:
            self.warnings.append(f"input {in_id}: <change> handlers are not converted")
        self.doc["inputs"][in_id] = inp
        return in_id

    def row(self, row: ET.Element, r: int, global_inputs: list[str]) -> list[dict]:
        panels = row.findall("panel") or ([row] if len(row) else [])
        blocks = []
        width = WIDTH // max(len(panels), 1)
        for i, panel in enumerate(panels):
            for inp in panel.findall("input"):
                self.warnings.append(f"row {r + 1} panel {i + 1}: its input {inp.get('token')!r} is shown with the "
                                     "dashboard's inputs")
                global_inputs.append(self.input(inp))
            viz_id = self.panel(panel, f"row {r + 1} panel {i + 1}")
            if viz_id:
                blocks.append({"item": viz_id, "type": "block",
                               "position": {"x": i * width, "y": r * ROW_HEIGHT, "w": width, "h": ROW_HEIGHT}})
        return blocks

    def panel(self, panel: ET.Element, where: str) -> str | None:
        el = next((c for c in panel if c.tag not in ("title", "input", "description")), None)
        if el is None:
            return None
        viz_id = self.new_id("viz")
        options = {o.get("name"): (o.text or "").strip() for o in el.findall("option") if o.get("name")}
        viz: dict = {"title": _text(panel, "title") or _text(el, "title") or "", "options": options}
        if el.tag == "chart":
            kind = options.get("charting.chart", "column")
            viz["type"] = CHARTS.get(kind, f"splunk.{kind}")   # unknown: a placeholder (model.validate warns)
        elif el.tag in ("table", "single", "event"):
            viz["type"] = {"table": "splunk.table", "single": "splunk.singlevalue", "event": "splunk.events"}[el.tag]
        elif el.tag == "html":
            viz["type"] = "splunk.markdown"
            viz["options"] = {"markdown": "".join(el.itertext()).strip()}
            self.warnings.append(f"{where}: <html> is shown as text (no markup, no scripts)")
        else:
            viz["type"] = f"splunk.{el.tag}"   # map, viz...: a placeholder (model.validate warns)
        if el.find("drilldown") is not None:
            self.warnings.append(f"{where}: <drilldown> actions are not converted; a click opens the search page")
        search = el.find("search")
        if search is not None:
            viz["dataSources"] = {"primary": self.search(search, search.get("id") or self.new_id("ds_search"))}
        self.doc["visualizations"][viz_id] = viz
        return viz_id
