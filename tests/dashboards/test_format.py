"""The dashboard format, tokens and Simple XML conversion (spec 4.1, 4.2, 4.5), with expected
values written out by hand from the spec's examples."""

from __future__ import annotations

import json

import pytest

from speleo.dashboards import model, simplexml, tokens
from speleo.dashboards.store import DashboardStore, dumps
from speleo.errors import InputError, NotFoundError

SPEC_XML = """<form version="1.1" refresh="300">
  <label>Errors</label>
  <description>optional</description>
  <search id="base">
    <query>index=main sourcetype=$st$ | fields _time host status</query>
    <earliest>$t.earliest$</earliest><latest>$t.latest$</latest>
    <refresh>60s</refresh><refreshType>delay</refreshType>
  </search>
  <fieldset submitButton="false" autoRun="true">
    <input type="time" token="t" searchWhenChanged="true">
      <label>Time</label><default><earliest>-24h@h</earliest><latest>now</latest></default>
    </input>
    <input type="dropdown" token="st" searchWhenChanged="true">
      <label>Sourcetype</label><choice value="*">All</choice><default>*</default>
      <search><query>| tstats count where index=main by sourcetype</query></search>
      <fieldForLabel>sourcetype</fieldForLabel><fieldForValue>sourcetype</fieldForValue>
      <prefix>"</prefix><suffix>"</suffix>
    </input>
  </fieldset>
  <row>
    <panel>
      <title>Errors by host</title>
      <chart>
        <search base="base"><query>| timechart count by host</query></search>
        <option name="charting.chart">line</option>
      </chart>
    </panel>
    <panel><table><search base="base"><query>| stats count by status</query></search>
      <option name="count">20</option><option name="drilldown">row</option></table></panel>
  </row>
</form>"""

SPEC_JSON = {
    "title": "Errors", "description": "",
    "inputs": {"input_global_trp": {"type": "input.timerange", "title": "Time",
                                    "options": {"token": "global_time", "defaultValue": "-24h@h,now"}},
               "input_st": {"type": "input.dropdown", "title": "Sourcetype",
                            "options": {"token": "st", "defaultValue": "*", "items": [{"label": "All", "value": "*"}]}}},
    "defaults": {"dataSources": {"ds.search": {"options": {"queryParameters":
                 {"earliest": "$global_time.earliest$", "latest": "$global_time.latest$"}}}}},
    "dataSources": {"ds_base": {"type": "ds.search", "name": "base",
                                "options": {"query": "index=main sourcetype=\"$st$\"", "refresh": "1m", "refreshType": "delay"}},
                    "ds_by_host": {"type": "ds.chain", "options": {"extend": "ds_base", "query": "| timechart count by host"}}},
    "visualizations": {"viz_1": {"type": "splunk.line", "title": "Errors by host",
                                 "dataSources": {"primary": "ds_by_host"}, "options": {}}},
    "layout": {"type": "absolute", "options": {"width": 1440, "height": 960},
               "globalInputs": ["input_global_trp", "input_st"],
               "structure": [{"item": "viz_1", "type": "block", "position": {"x": 0, "y": 0, "w": 720, "h": 400}}]},
}


# -- tokens -----------------------------------------------------------------------------------

def test_tokens_replace_values_and_keep_literal_dollars():
    text, missing = tokens.substitute('index=main price>$$5 host=$h$ | eval x="$$$h$"', {"h": "web1"})
    assert text == 'index=main price>$5 host=web1 | eval x="$web1"'
    assert missing == set()


def test_tokens_filters():
    values = {"q": 'say "hi" \\ now', "u": "a b&c"}
    assert tokens.substitute("x=$q|s$", values)[0] == 'x="say \\"hi\\" \\\\ now"'
    assert tokens.substitute("$u|u$", values)[0] == "a%20b%26c"
    assert tokens.substitute("$u|h$", values)[0] == "a b&amp;c"
    assert tokens.substitute("$u|n$", values)[0] == "a b&c"


def test_tokens_missing_are_reported_and_left_in_place():
    text, missing = tokens.substitute("index=$idx$ host=$missing$", {"idx": "web"})
    assert text == "index=web host=$missing$"
    assert missing == {"missing"}
    assert tokens.references("a $x$ $$ $t.earliest$ $y|s$") == {"x", "t.earliest", "y"}


def test_multiselect_value():
    inp = {"type": "input.multiselect", "options": {"token": "h", "prefix": "(", "suffix": ")",
                                                    "valuePrefix": "host=\"", "valueSuffix": "\"", "delimiter": " OR "}}
    assert model.input_token_value(inp, ["a", "b"]) == '(host="a" OR host="b")'


# -- Studio JSON -----------------------------------------------------------------------------

def test_spec_json_validates_and_resolves_with_defaults():
    assert model.validate(SPEC_JSON) == []
    values = model.token_defaults(SPEC_JSON)
    assert values == {"global_time.earliest": "-24h@h", "global_time.latest": "now", "st": "*"}
    r = model.resolve(SPEC_JSON, values)
    # acceptance 7: no queryParameters of its own -> the defaults' $global_time$ tokens
    assert r["ds_base"] == {"type": "ds.search", "query": 'index=main sourcetype="*"', "earliest": "-24h@h",
                            "latest": "now", "refresh": 60.0, "refreshType": "delay", "extend": None, "missing": []}
    assert r["ds_by_host"]["query"] == "| timechart count by host"
    assert (r["ds_by_host"]["extend"], r["ds_by_host"]["earliest"], r["ds_by_host"]["latest"]) == ("ds_base", "-24h@h", "now")


def test_chain_waits_for_its_base_tokens():
    r = model.resolve(SPEC_JSON, {"global_time.earliest": "-1h", "global_time.latest": "now"})
    assert r["ds_base"]["missing"] == ["st"]
    assert r["ds_by_host"]["missing"] == ["st"]


def test_precedence_local_over_type_over_global():
    doc = json.loads(json.dumps(SPEC_JSON))
    doc["defaults"]["dataSources"]["global"] = {"options": {"refresh": "5m", "queryParameters": {"earliest": "-7d"}}}
    doc["dataSources"]["ds_base"]["options"]["queryParameters"] = {"latest": "-1h"}
    opts = model.source_options(doc, "ds_base")
    assert opts["queryParameters"] == {"earliest": "$global_time.earliest$", "latest": "-1h"}
    assert opts["refresh"] == "1m"


@pytest.mark.parametrize("mutate, path", [
    (lambda d: d["dataSources"]["ds_by_host"]["options"].update(extend="nope"), "dataSources.ds_by_host.options.extend"),
    (lambda d: d["dataSources"]["ds_base"]["options"].pop("query"), "dataSources.ds_base.options.query"),
    (lambda d: d["dataSources"]["ds_base"].update(type="ds.test"), "dataSources.ds_base.type"),
    (lambda d: d["visualizations"]["viz_1"]["dataSources"].update(primary="x"), "visualizations.viz_1.dataSources.primary"),
    (lambda d: d["layout"]["structure"][0].update(item="viz_9"), "layout.structure[0].item"),
    (lambda d: d["inputs"]["input_st"]["options"].pop("token"), "inputs.input_st.options.token"),
    (lambda d: d["dataSources"]["ds_base"]["options"].update(refresh="soon"), "dataSources.ds_base.options.refresh"),
    (lambda d: d["dataSources"]["ds_base"].update(type="ds.chain", options={"extend": "ds_by_host", "query": "|x"}),
     "dataSources.ds_base.options.extend"),
])
def test_validation_errors_name_the_path(mutate, path):
    doc = json.loads(json.dumps(SPEC_JSON))
    mutate(doc)
    with pytest.raises(InputError) as e:
        model.validate(doc)
    assert f"dashboard {path}:" in str(e.value)


def test_unknown_visualization_is_a_warning():
    doc = json.loads(json.dumps(SPEC_JSON))
    doc["visualizations"]["viz_2"] = {"type": "splunk.sankey", "dataSources": {"primary": "ds_base"}}
    assert model.validate(doc) == ["visualizations.viz_2.type: 'splunk.sankey' is not drawn by Speleo; a placeholder is shown"]


def test_tabbed_layout():
    doc = json.loads(json.dumps(SPEC_JSON))
    doc["visualizations"]["viz_2"] = {"type": "splunk.table", "dataSources": {"primary": "ds_base"}}
    doc["layout"] = {"globalInputs": ["input_st"], "tabs": {"items": [{"layoutId": "a", "label": "One"},
                                                                      {"layoutId": "b", "label": "Two"}]},
                     "layoutDefinitions": {"a": {"type": "grid", "structure": [{"item": "viz_1", "type": "block"}]},
                                           "b": {"type": "absolute", "structure": [{"item": "viz_2", "type": "block"}]}}}
    assert model.validate(doc) == []
    assert [(x["label"], x["type"], [b["item"] for b in x["structure"]]) for x in model.layouts(doc)] == [
        ("One", "grid", ["viz_1"]), ("Two", "absolute", ["viz_2"])]


# -- Simple XML -----------------------------------------------------------------------------

def test_spec_simple_xml_converts():
    doc, warnings = simplexml.convert(SPEC_XML)
    assert model.validate(doc) == []
    assert doc["title"] == "Errors"
    assert doc["dataSources"]["base"] == {"type": "ds.search", "name": "base", "options": {
        "query": "index=main sourcetype=$st$ | fields _time host status",
        "queryParameters": {"earliest": "$t.earliest$", "latest": "$t.latest$"},
        "refresh": "60s", "refreshType": "delay"}}
    assert doc["inputs"]["input_t"] == {"type": "input.timerange", "title": "Time",
                                        "options": {"token": "t", "defaultValue": "-24h@h,now"}}
    st = doc["inputs"]["input_st"]
    assert st["options"] == {"token": "st", "defaultValue": "*", "items": [{"label": "All", "value": "*"}],
                             "prefix": '"', "suffix": '"', "fieldForLabel": "sourcetype", "fieldForValue": "sourcetype"}
    assert doc["dataSources"][st["dataSources"]["primary"]]["options"]["query"] == "| tstats count where index=main by sourcetype"
    vizs = doc["visualizations"]
    chart, table = (vizs[b["item"]] for b in doc["layout"]["structure"])
    assert chart["type"] == "splunk.line" and chart["title"] == "Errors by host"
    assert table["type"] == "splunk.table" and table["options"] == {"count": "20", "drilldown": "row"}
    assert doc["dataSources"][chart["dataSources"]["primary"]] == {
        "type": "ds.chain", "options": {"extend": "base", "query": "| timechart count by host"}}
    assert [b["position"] for b in doc["layout"]["structure"]] == [
        {"x": 0, "y": 0, "w": 720, "h": 400}, {"x": 720, "y": 0, "w": 720, "h": 400}]
    assert doc["defaults"]["dataSources"]["global"]["options"] == {"refresh": "300", "refreshType": "interval"}
    # acceptance 1 and 2: defaults give -24h@h..now and the prefix/suffix quote the sourcetype
    values = model.token_defaults(doc)
    assert values["t.earliest"] == "-24h@h" and values["t.latest"] == "now" and values["st"] == '"*"'
    values["st"] = model.input_token_value(st, "access")
    r = model.resolve(doc, values)
    assert r["base"]["query"] == 'index=main sourcetype="access" | fields _time host status'
    assert (r["base"]["earliest"], r["base"]["latest"]) == ("-24h@h", "now")
    assert warnings == []


def test_simple_xml_global_time_dollars_and_warnings():
    xml = """<form><label>x</label><fieldset><input type="time"><default><earliest>-4h</earliest></default></input></fieldset>
      <row><panel><single><search><query>index=main price=$$5 | stats count</query></search></single></panel>
      <panel><map><search><query>| inputlookup geo</query></search></map></panel>
      <panel><event><search ref="errors today"></search><drilldown><link>/x</link></drilldown></event></panel></row></form>"""
    doc, warnings = simplexml.convert(xml)
    assert model.validate(doc) == ["visualizations.viz_2.type: 'splunk.map' is not drawn by Speleo; a placeholder is shown"]
    r = model.resolve(doc, model.token_defaults(doc), saved=lambda name: (f"savedsearch {name}", None, None))
    single = doc["visualizations"]["viz_1"]["dataSources"]["primary"]
    assert r[single]["query"] == "index=main price=$5 | stats count"     # acceptance 10
    assert (r[single]["earliest"], r[single]["latest"]) == ("-4h", "now")  # the global time input
    ref = doc["visualizations"]["viz_3"]["dataSources"]["primary"]
    assert r[ref]["query"] == "savedsearch errors today"
    assert warnings == ["row 1 panel 3: <drilldown> actions are not converted; a click opens the search page"]
    assert [b["position"]["w"] for b in doc["layout"]["structure"]] == [480, 480, 480]


def test_simple_xml_errors():
    with pytest.raises(InputError, match="line 1, column"):
        simplexml.convert("<form><row></form>")
    with pytest.raises(InputError, match="DOCTYPE"):
        simplexml.convert('<!DOCTYPE x [<!ENTITY a "b">]><form/>')
    with pytest.raises(InputError, match="root element is <html>"):
        simplexml.convert("<html/>")


def test_studio_definition_in_xml_wrapper():
    xml = f'<dashboard version="2"><label>E</label><definition><![CDATA[{json.dumps(SPEC_JSON)}]]></definition></dashboard>'
    assert simplexml.convert(xml) == (SPEC_JSON, [])


# -- the files -------------------------------------------------------------------------------

def test_store_round_trip(tmp_path):
    store = DashboardStore(tmp_path)
    d = store.put("errors", SPEC_XML)
    assert d.source_format == "simplexml"
    text = (tmp_path / "dashboards" / "errors.json").read_text()
    assert text == dumps(d.definition) and text.startswith('{\n  "dataSources": {')
    assert store.get("errors").definition == d.definition
    assert [s.name for s in store.list()] == ["errors"]
    store.remove("errors")
    with pytest.raises(NotFoundError):
        store.get("errors")
    with pytest.raises(InputError, match="dashboard name"):
        store.put("../evil", SPEC_JSON)
