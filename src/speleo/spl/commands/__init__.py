"""The command table: command word -> (argument parser, compiler, lexing mode).

Adding a command = writing `parse_x(cursor, word) -> ast node` and
`compile_x(state, node) -> None` and adding one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from speleo.spl.commands import (
    combine, continuation, evalcmd, events, extra, extracts, fields, gentimes, guards, lookups, more, order, reshape,
    returns, rows, search, sinks, stats, timechart, top,
)
from speleo.spl.commands import datamodel, deletecmd, geo, mapcmd, opscmds, presentcmds, relatecmds
from speleo.spl.commands import anomaly, geostats
from speleo.spl.commands import loadjob, restcmd, summarycmds


@dataclass(frozen=True)
class CommandSpec:
    parse: Callable
    compile: Callable
    mode: str = "search"          # how the arguments are lexed: "search" or "expr"
    streaming: bool = True        # keeps events as events (part of events_sql)


COMMANDS: dict[str, CommandSpec] = {
    "search": CommandSpec(search.parse_search, search.compile_search),
    "delete": CommandSpec(deletecmd.parse_delete, deletecmd.compile_delete, streaming=False),
    "where": CommandSpec(search.parse_where, search.compile_where, mode="expr"),
    "eval": CommandSpec(evalcmd.parse_eval, evalcmd.compile_eval, mode="expr"),
    "rex": CommandSpec(extracts.parse_rex, extracts.compile_rex),
    "fillnull": CommandSpec(evalcmd.parse_fillnull, events.compile_fillnull),
    "stats": CommandSpec(stats.parse_stats, stats.compile_stats_command, streaming=False),
    "eventstats": CommandSpec(stats.parse_stats, stats.compile_eventstats, streaming=False),
    "timechart": CommandSpec(timechart.parse_timechart, timechart.compile_timechart, streaming=False),
    "bin": CommandSpec(stats.parse_bin, stats.compile_bin, streaming=False),
    "bucket": CommandSpec(stats.parse_bin, stats.compile_bin, streaming=False),
    "table": CommandSpec(fields.parse_table, fields.compile_table, streaming=False),
    "fields": CommandSpec(fields.parse_fields, fields.compile_fields, streaming=False),
    "rename": CommandSpec(fields.parse_rename, fields.compile_rename, streaming=False),
    "sort": CommandSpec(order.parse_sort, order.compile_sort, streaming=False),
    "head": CommandSpec(order.parse_head, order.compile_head, streaming=False),
    "tail": CommandSpec(order.parse_head, order.compile_head, streaming=False),
    "dedup": CommandSpec(events.parse_dedup, events.compile_dedup, streaming=False),
    "top": CommandSpec(top.parse_top, top.compile_top, streaming=False),
    "rare": CommandSpec(top.parse_top, top.compile_top, streaming=False),
    "tstats": CommandSpec(extra.parse_tstats, datamodel.compile_tstats, streaming=False),
    "mstats": CommandSpec(extra.parse_tstats, extra.unsupported(
        "mstats", "it reads metrics indexes, which Speleo does not have"), streaming=False),
    "convert": CommandSpec(extra.parse_convert, more.compile_convert),
    "spath": CommandSpec(extra.parse_spath, reshape.compile_spath),
    "lookup": CommandSpec(extra.parse_lookup, lookups.compile_lookup),
    "inputlookup": CommandSpec(extra.parse_inputlookup, lookups.compile_inputlookup, streaming=False),
    "inputcsv": CommandSpec(extra.parse_inputlookup, lookups.compile_inputlookup, streaming=False),
    "outputlookup": CommandSpec(extra.parse_outputlookup, lookups.compile_outputlookup, streaming=False),
    "outputcsv": CommandSpec(extra.parse_outputlookup, lookups.compile_outputlookup, streaming=False),
    "join": CommandSpec(extra.parse_join, combine.compile_join, streaming=False),
    "append": CommandSpec(extra.parse_append, combine.compile_append, streaming=False),
    "appendcols": CommandSpec(extra.parse_append, combine.compile_append, streaming=False),
    "appendpipe": CommandSpec(extra.parse_append, combine.compile_append, streaming=False),
    "transaction": CommandSpec(extra.parse_transaction, events.compile_transaction, streaming=False),
    "return": CommandSpec(returns.parse_return, returns.compile_return, streaming=False),
    "format": CommandSpec(returns.parse_format, returns.compile_format, streaming=False),
    "foreach": CommandSpec(extra.parse_foreach, reshape.compile_foreach, streaming=False),
    "chart": CommandSpec(extra.parse_chart, reshape.compile_chart, streaming=False),
    "streamstats": CommandSpec(extra.parse_streamstats, more.compile_streamstats, streaming=False),
    "regex": CommandSpec(extra.parse_regex, more.compile_regex),
    "makeresults": CommandSpec(extra.parse_simple, more.compile_makeresults, streaming=False),
    "gentimes": CommandSpec(extra.parse_simple, gentimes.compile_gentimes, streaming=False),
}
COMMANDS["union"] = CommandSpec(combine.parse_union, combine.compile_union, streaming=False)
COMMANDS["multisearch"] = CommandSpec(combine.parse_union, combine.compile_union, streaming=False)
COMMANDS["from"] = CommandSpec(extra.parse_from, datamodel.compile_from)
COMMANDS["datamodel"] = CommandSpec(datamodel.parse_datamodel, datamodel.compile_datamodel)
COMMANDS["pivot"] = CommandSpec(datamodel.parse_pivot, datamodel.compile_pivot, streaming=False)
COMMANDS["replace"] = CommandSpec(extra.parse_replace, rows.compile_replace)
COMMANDS["strcat"] = CommandSpec(rows.parse_strcat, rows.compile_strcat)
COMMANDS["rangemap"] = CommandSpec(opscmds.parse_rangemap, opscmds.compile_rangemap)
COMMANDS["setfields"] = CommandSpec(opscmds.parse_setfields, opscmds.compile_setfields)
COMMANDS["fieldformat"] = CommandSpec(evalcmd.parse_eval, opscmds.compile_fieldformat, mode="expr")
COMMANDS["highlight"] = CommandSpec(opscmds.parse_display_only, opscmds.compile_display_only)
COMMANDS["iconify"] = CommandSpec(opscmds.parse_display_only, opscmds.compile_display_only)
COMMANDS["dbinspect"] = CommandSpec(opscmds.parse_dbinspect, opscmds.compile_dbinspect, streaming=False)
COMMANDS["concurrency"] = CommandSpec(opscmds.parse_concurrency, opscmds.compile_concurrency, streaming=False)
COMMANDS["predict"] = CommandSpec(opscmds.parse_predict, opscmds.compile_predict, streaming=False)
COMMANDS["reltime"] = CommandSpec(presentcmds.parse_reltime, presentcmds.compile_reltime)
COMMANDS["tojson"] = CommandSpec(presentcmds.parse_tojson, presentcmds.compile_tojson, streaming=False)
for _name in ("contingency", "counttable", "ctable"):
    COMMANDS[_name] = CommandSpec(relatecmds.parse_contingency, relatecmds.compile_contingency, streaming=False)
COMMANDS["selfjoin"] = CommandSpec(relatecmds.parse_selfjoin, relatecmds.compile_selfjoin, streaming=False)
COMMANDS["localize"] = CommandSpec(relatecmds.parse_localize, relatecmds.compile_localize, streaming=False)
COMMANDS["geostats"] = CommandSpec(geostats.parse_geostats, geostats.compile_geostats, streaming=False)
COMMANDS["anomalydetection"] = CommandSpec(anomaly.parse_anomalydetection, anomaly.compile_anomalydetection,
                                           streaming=False)
COMMANDS["rest"] = CommandSpec(restcmd.parse_restcmd, restcmd.compile_restcmd, streaming=False)
COMMANDS["loadjob"] = CommandSpec(loadjob.parse_loadjob, loadjob.compile_loadjob, streaming=False)
for _name, _parse in (("sistats", stats.parse_stats), ("sitop", top.parse_top), ("sirare", top.parse_top),
                      ("sichart", extra.parse_chart), ("sitimechart", timechart.parse_timechart)):
    COMMANDS[_name] = CommandSpec(_parse, summarycmds.compile_prestats(_name), streaming=False)
COMPILERS = {
    "mvexpand": reshape.compile_mvexpand, "makemv": reshape.compile_makemv, "nomv": reshape.compile_nomv,
    "reverse": reshape.compile_reverse, "delta": reshape.compile_delta, "accum": reshape.compile_accum,
    "addtotals": reshape.compile_addtotals, "addcoltotals": reshape.compile_addcoltotals,
    "xyseries": reshape.compile_xyseries, "untable": reshape.compile_untable,
    "transpose": continuation.compile_transpose, "extract": events.compile_extract, "kv": events.compile_extract,
    "fieldsummary": events.compile_fieldsummary, "cluster": events.compile_cluster,
    "outlier": events.compile_outlier, "timewrap": reshape.compile_timewrap,
    "multikv": extracts.compile_multikv,
    "addinfo": rows.compile_addinfo, "filldown": rows.compile_filldown, "mvcombine": rows.compile_mvcombine,
    "uniq": rows.compile_uniq, "makecontinuous": rows.compile_makecontinuous, "fromjson": extracts.compile_fromjson,
    "autoregress": guards.compile_autoregress, "require": guards.compile_require,
    "xmlkv": extracts.compile_xmlkv, "collect": sinks.compile_collect, "sendemail": sinks.compile_sendemail,
    "iplocation": geo.compile_iplocation, "xpath": geo.compile_xpath,
    "map": mapcmd.compile_map,
}
STREAMING = {"addinfo", "fromjson", "xmlkv", "iplocation", "xpath"}      # per-event: part of the events' SQL (timeline)
for _name, _fn in COMPILERS.items():
    COMMANDS[_name] = CommandSpec(extra.parse_simple, _fn, streaming=_name in STREAMING)
COMMANDS["trendline"] = CommandSpec(extra.parse_rest, reshape.compile_trendline, streaming=False)
COMMANDS["metadata"] = CommandSpec(events.parse_metadata, events.compile_metadata, streaming=False)
COMMANDS["eventcount"] = CommandSpec(events.parse_metadata, events.compile_eventcount, streaming=False)
for _name in extra.SIMPLE:
    COMMANDS.setdefault(_name, CommandSpec(extra.parse_simple, extra.not_compiled(_name), streaming=False))

# Splunk Search Reference command list: known but not implemented -> SplUnsupportedError.
SPLUNK_COMMANDS = frozenset("""
abstract accum addcoltotals addinfo addtotals analyzefields anomalies anomalousvalue anomalydetection
append appendcols appendpipe arules associate audit autoregress bucketdir chart cluster cofilter
collect concurrency contingency counttable ctable convert correlate datamodel dbinspect dbxquery delete delta diff
erex eval eventcount eventstats extract kv fieldformat fieldsummary filldown findtypes folderize
foreach format from gauge gentimes geom geomfilter geostats highlight history iconify inputcsv
inputintelligence inputlookup iplocation join kmeans kvform loadjob localize localop lookup
makecontinuous makemv makeresults map mcollect metadata metasearch meventcollect mpreview msearch
mstats multikv multisearch mvcombine mvexpand nomv outlier outputcsv outputlookup outputtext overlap
pivot predict rangemap redistribute regex reltime require rest return reverse rtorder run savedsearch
script scrub search searchtxn selfjoin sendalert sendemail set setfields sichart sirare sistats
sitimechart sitop spath stats streamstats strcat table tags timechart timewrap tojson transaction
transpose trendline tscollect tstats typeahead typelearner typer union uniq untable walklex x11
xmlkv xmlunescape xpath xyseries apply fit summary score sample fromjson ai replace
""".split())
