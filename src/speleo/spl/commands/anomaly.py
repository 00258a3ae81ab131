"""anomalydetection: events whose field values are rare together.

Splunk Search Reference 9.1+, anomalydetection
(https://help.splunk.com/splunk-enterprise/spl-search-reference/9.1/search-commands/anomalydetection):
`anomalydetection [method=histogram|zscore|iqr] [action=...] [pthresh=<num>] [cutoff=<bool>]
[<field-list>]`; method=zscore "performs like the anomalousvalue command", method=iqr "like the
outlier command" (with outlier's `action=remove|transform`, `param`, `uselower`, `mark`).

Every method needs all the results at once: it runs on the result table after DuckDB (post
steps `anomalydetection`, query/anomaly.py, and `outlier` for iqr).
"""

from __future__ import annotations

from speleo.spl import ast
from speleo.spl.commands.extra import is_option
from speleo.spl.cursor import Cursor
from speleo.spl.state import State
from speleo.spl.tokens import T, Token

ACTIONS = {"histogram": ("filter", "annotate", "summary"), "zscore": ("filter", "annotate", "summary"),
           "iqr": ("remove", "rm", "transform", "tf")}
OPTIONS = {"method", "action", "pthresh", "cutoff", "param", "uselower", "mark"}
IQR_ONLY = ("param", "uselower", "mark")
AV_OPTIONS = ("minsupcount", "maxanofreq", "minsupfreq", "minnormfreq")
_BOOLS = ("true", "t", "1", "yes", "y", "false", "f", "0", "no", "n")
HISTOGRAM_FIELDS = ["log_event_prob", "probable_cause", "probable_cause_freq", "max_freq"]
SUMMARY_FIELDS = ["num_anomalies", "thresh", "max_logprob", "min_logprob", "1st_quartile", "3rd_quartile"]
ZSCORE_SUMMARY_FIELDS = ["fieldname", "count", "distinct_count", "mean", "stdev", "isNum", "catAnoFreq%",
                         "numAnoFreq%", "supportFreq%"]


def parse_anomalydetection(cur: Cursor, word: Token) -> ast.ArgsCmd:
    """Options and field names in any order; every value is checked where it is written, and
    the options that do not fit the method are named."""
    toks: dict[str, Token] = {}
    fields: list[str] = []
    while not cur.at_end():
        if cur.accept(T.COMMA):
            continue
        if is_option(cur):
            key = cur.peek()
            name = key.value.lower()
            if name in AV_OPTIONS:
                raise cur.unsupported(f"anomalydetection {name}= (anomalousvalue's field selection) is not "
                                      "supported: name the fields to consider instead", key)
            if name not in OPTIONS:
                raise cur.error(f"anomalydetection: unknown option {key.value!r} (options: method, action, "
                                "pthresh, cutoff; with method=iqr param, uselower, mark)", key)
            cur.i += 2
            value = cur.next()
            if value.kind not in (T.WORD, T.STRING, T.NUMBER):
                raise cur.error(f"anomalydetection: expected a value for {name}", value)
            toks[name] = value
            continue
        fields.append(cur.name("an option or a field name").value)
    method = _value(toks, "method", "histogram").lower()
    if method not in ACTIONS:
        raise cur.error(f"anomalydetection method={toks['method'].value}: use histogram, zscore or iqr", toks["method"])
    action = _value(toks, "action", "transform" if method == "iqr" else "filter").lower()
    if action not in ACTIONS[method]:
        raise cur.error(f"anomalydetection action={toks['action'].value}: with method={method} use "
                        f"{', '.join(ACTIONS[method])}", toks["action"])
    _check_fits(cur, method, toks)
    opts = {"method": method, "action": action}
    for name in ("pthresh", "cutoff", "param", "uselower", "mark"):
        if name in toks:
            opts[name] = _checked(cur, name, toks[name])
    return ast.ArgsCmd("anomalydetection", opts, fields)


def _value(toks: dict[str, Token], name: str, default: str) -> str:
    return toks[name].value if name in toks else default


def _check_fits(cur: Cursor, method: str, toks: dict[str, Token]) -> None:
    if method == "iqr" and "pthresh" in toks:
        raise cur.error("anomalydetection pthresh= is not used with method=iqr (outlier's param= sets its bounds)",
                        toks["pthresh"])
    if method != "histogram" and "cutoff" in toks:
        raise cur.error("anomalydetection cutoff= applies only to method=histogram", toks["cutoff"])
    for name in IQR_ONLY:
        if method != "iqr" and name in toks:
            raise cur.error(f"anomalydetection {name}= applies only to method=iqr", toks[name])


def _checked(cur: Cursor, name: str, tok: Token) -> str:
    text_ = tok.value
    if name in ("cutoff", "uselower", "mark"):
        if text_.lower() not in _BOOLS:
            raise cur.error(f"anomalydetection {name}={text_}: expected true or false", tok)
        return text_
    try:
        number = float(text_)
    except ValueError:
        number = float("nan")
    if name == "pthresh" and not 0 < number < 1:
        raise cur.error(f"anomalydetection pthresh={text_}: expected a probability between 0 and 1", tok)
    if name == "param" and not 0 <= number < float("inf"):
        raise cur.error(f"anomalydetection param={text_}: expected a number of 0 or more", tok)
    return text_


def compile_anomalydetection(state: State, cmd: ast.ArgsCmd) -> None:
    """The fields are the ones listed, else every field of the results not starting with `_`
    (on events: their search-time fields too, read after the search as `table *` reads them). method=iqr is outlier's step with outlier's
    defaults (action=transform, param=2.5). method=histogram and method=zscore: see
    query/anomaly.py, which says what Speleo chose where the Reference is silent."""
    from speleo.spl.commands.opscmds import extract_for_later
    from speleo.spl.commands.stats import _assign
    from speleo.spl.cursor import as_bool

    if not state.top_level:
        raise state.fail("anomalydetection is not supported in a subsearch", cmd)
    o = cmd.options
    names = list(dict.fromkeys(cmd.args))
    for name in names:
        if name not in state.columns:
            _assign(state, name, state.field(name))
    extract_for_later(state)
    columns = [c for c in state.columns if not c.startswith("__speleo")]
    if not names and state.has_raw():
        # no field list over events: every search-time field of each event (automatic key=value,
        # JSON, the sourcetype's extractions) is read first, as `table *` does, so the bare
        # command scores the events' fields and not only host/source/sourcetype/index
        state.post.append({"kind": "extracted", "patterns": ["*"], "row_wise": True, "columns": columns})
    if o["method"] == "iqr":
        state.post.append({"kind": "outlier", "fields": names, "param": float(o.get("param", "2.5")),
                           "remove": o["action"] in ("remove", "rm"), "uselower": as_bool(o.get("uselower", "false")),
                           "mark": as_bool(o.get("mark", "false")), "columns": columns})
        return
    if o["action"] == "summary":
        expected = SUMMARY_FIELDS if o["method"] == "histogram" else ZSCORE_SUMMARY_FIELDS
    else:
        expected = columns + (HISTOGRAM_FIELDS if o["method"] == "histogram" else [])
    state.post.append({"kind": "anomalydetection", "method": o["method"], "action": o["action"], "fields": names,
                       "pthresh": float(o["pthresh"]) if "pthresh" in o else None,
                       "cutoff": as_bool(o.get("cutoff", "true")), "columns": list(dict.fromkeys(expected))})
    if o["action"] == "summary":
        state.transforming = True
