"""Argument parsers of the commands beyond the first subset (Splunk Search Reference pages
of each command are cited in each docstring).

Every command here parses into a complete AST node with positions; the ones that are
not compiled yet raise SplUnsupportedError naming the command at compile time
(see `not_compiled`).
"""

from __future__ import annotations

import re

from speleo.errors import SplSyntaxError

from speleo.spl import ast
from speleo.spl.commands.aggregates import parse_agg
from speleo.spl.cursor import Cursor, as_bool
from speleo.spl.exprparse import parse_search_expr
from speleo.spl.state import State
from speleo.spl.tokens import T, Token

# --- shared helpers ------------------------------------------------------------------


def is_option(cur: Cursor) -> bool:
    return cur.peek().kind in (T.WORD, T.STRING) and cur.peek(1).kind is T.OP and cur.peek(1).value == "="


def read_options(cur: Cursor, allowed: set[str] | None, out: dict[str, str] | None = None) -> dict[str, str]:
    """`key=value` pairs at the cursor; keys lower-cased; an unknown key is unsupported."""
    opts = {} if out is None else out
    while is_option(cur) and cur.peek().kind is T.WORD:
        key = cur.peek()
        if allowed is not None and key.value.lower() not in allowed:
            raise cur.unsupported(f"option {key.value!r} is not supported", key)
        cur.i += 2
        value = cur.next()
        if value.kind is T.LPAREN and value.end == cur.peek().start:
            # an unquoted regular expression written as a group (`makemv tokenizer=(\S+)`): the
            # text up to the matching parenthesis
            close = cur.skip_balanced(f"the value of {key.value}")
            opts[key.value.lower()] = cur.query[value.start:close.end]
            continue
        if value.kind not in (T.WORD, T.STRING):
            raise cur.error(f"expected a value for {key.value}", value)
        opts[key.value.lower()] = value.value
    return opts


def sub_cursor(cur: Cursor, stops: tuple[str, ...]) -> Cursor:
    """A cursor over the tokens up to the first top-level word in `stops` (or the end);
    the outer cursor moves past them."""
    depth, j = 0, cur.i
    while cur.tokens[j].kind is not T.EOF:
        tok = cur.tokens[j]
        if depth == 0 and tok.is_word(*stops):
            break
        depth += {T.LPAREN: 1, T.RPAREN: -1}.get(tok.kind, 0)
        j += 1
    end = cur.tokens[j]
    sub = Cursor(cur.query, cur.tokens[cur.i : j] + [Token(T.EOF, "", end.start, end.start)], cur.command)
    cur.i = j
    return sub


def search_until(cur: Cursor, stops: tuple[str, ...]) -> ast.Node | None:
    sub = sub_cursor(cur, stops)
    return parse_search_expr(sub)


def subsearch(cur: Cursor, leading_pipe: bool = False) -> ast.Subsearch:
    from speleo.spl.parser import parse_subsearch

    tok = cur.expect(T.SUBSEARCH, "a subsearch '[ ... ]'")
    return parse_subsearch(cur.query, tok, leading_pipe)


def not_compiled(word: str):
    """The compile entry of a command that is parsed but not compiled yet."""
    def compile_(state: State, cmd: ast.Command) -> None:
        raise state.fail(f"command {word!r} is parsed but not supported by the compiler yet", cmd)
    return compile_


def unsupported(word: str, reason: str):
    """The compile entry of a command Speleo parses but does not run, with the reason."""
    def compile_(state: State, cmd: ast.Command) -> None:
        raise state.fail(f"command {word!r} is not supported: {reason}", cmd)
    return compile_


def _aggs(cur: Cursor, stops: tuple[str, ...]) -> list[ast.Agg]:
    aggs: list[ast.Agg] = []
    while not cur.at_end() and not cur.peek().is_word(*stops) and not is_option(cur):
        if cur.accept(T.COMMA):
            continue
        aggs.append(parse_agg(cur))
    return aggs


def _names(cur: Cursor, stops: tuple[str, ...] = ()) -> list[str]:
    out: list[str] = []
    while not cur.at_end() and not cur.peek().is_word(*stops) and not is_option(cur) \
            and cur.peek().kind in (T.WORD, T.STRING, T.FIELD, T.COMMA):
        if cur.accept(T.COMMA):
            continue
        out.append(cur.next().value)
    return out


# --- tstats / mstats -------------------------------------------------------------------

_TSTATS_OPTS = {"prestats", "local", "append", "summariesonly", "include_reduced_buckets", "allow_old_summaries",
                "chunk_size", "fillnull_value", "max_time", "sid", "datamodel", "nodename"}
_BY = ("by", "groupby")


def _where_clause(cur: Cursor) -> ast.Node | None:
    """tstats' where clause up to `by`/`groupby`: a search whose top-level commas separate
    terms (`where index=a, sourcetype=b`). A bare word is refused: tstats filters on fields
    (Splunk Search Reference: tstats), so a misspelt keyword would otherwise match nothing."""
    sub = sub_cursor(cur, _BY)
    depth, keep = 0, []
    for tok in sub.tokens:
        depth += {T.LPAREN: 1, T.RPAREN: -1}.get(tok.kind, 0)
        if not (depth == 0 and tok.kind is T.COMMA):
            keep.append(tok)
    sub.tokens = keep
    node = parse_search_expr(sub)
    for term in _bare_terms(node):
        raise SplSyntaxError(f"tstats: {term.text!r} in the where clause is not a field comparison (tstats "
                             "filters on fields such as index=main; write TERM(...) for a raw term, or "
                             "'by'/'groupby' before the fields to group by)", cur.query, term.start,
                             max(term.end, term.start + 1))
    return node


def _bare_terms(node: ast.Node | None) -> list[ast.Term]:
    from speleo.spl.exprparse import CaseTerm, TermDirective

    if isinstance(node, (ast.And, ast.Or)):
        return [t for i in node.items for t in _bare_terms(i)]
    if isinstance(node, ast.Not):
        return _bare_terms(node.item)
    if isinstance(node, ast.Term) and not isinstance(node, (TermDirective, CaseTerm)) and node.text != "*":
        return [node]
    return []


def parse_tstats(cur: Cursor, word: Token) -> ast.TstatsCmd:
    """Splunk Search Reference: tstats (and mstats, Metrics Reference). `tstats [opts]
    <stats-func>... [from datamodel=<dm>[.<node>]] [where <search>] [by|groupby <field>...
    [span=<span>]]`."""
    opts = read_options(cur, _TSTATS_OPTS | {"span", "backfill", "update_period"})
    aggs = _aggs(cur, ("from", "where") + _BY)
    read_options(cur, _TSTATS_OPTS, opts)
    if not aggs:
        raise cur.error("expected a statistical function")
    datamodel, where = None, None
    if cur.accept_word("from"):
        tok = cur.next()
        if tok.is_word("datamodel") and cur.accept(T.OP, "="):
            datamodel = cur.name("a data model name").value
        elif tok.kind is T.WORD and tok.value.lower().startswith("datamodel:"):
            datamodel = tok.value.split(":", 1)[1]
        else:
            raise cur.error("expected 'datamodel=<name>' after 'from'", tok)
        read_options(cur, _TSTATS_OPTS, opts)
    if cur.accept_word("where"):
        where = _where_clause(cur)
    by_opts: dict[str, str] = {}
    by: list[str] = []
    if cur.peek().is_word(*_BY):
        cur.next()
        while not cur.at_end():
            if is_option(cur):
                read_options(cur, {"span", "prestats", "summariesonly", "allow_old_summaries",
                                   "fillnull_value"}, by_opts)
            else:
                by += _names(cur)
                if not cur.at_end() and not is_option(cur):
                    raise cur.error("expected a field name")
        if not by:
            raise cur.error("expected a field after 'by'")
    if "datamodel" in opts:
        datamodel = opts.pop("datamodel")
    return ast.TstatsCmd(word.value.lower(), opts, aggs, datamodel, where, by, by_opts)


# --- convert ------------------------------------------------------------------------------

CONVERT_FUNCS = ("auto", "ctime", "dur2sec", "memk", "mktime", "mstime", "none", "num", "rmcomma", "rmunit")


def parse_convert(cur: Cursor, word: Token) -> ast.ConvertCmd:
    """Splunk Search Reference: convert. `convert [timeformat=<fmt>] <func>(<field>) [as <name>]...`."""
    opts = read_options(cur, {"timeformat"})
    items: list[ast.ConvertItem] = []
    while not cur.at_end():
        if cur.accept(T.COMMA):
            continue
        if is_option(cur):
            read_options(cur, {"timeformat"}, opts)
            continue
        fn = cur.next()
        if fn.kind is not T.WORD or fn.value.lower() not in CONVERT_FUNCS:
            raise cur.error(f"expected a conversion function ({', '.join(CONVERT_FUNCS)})", fn)
        cur.expect(T.LPAREN, "'('")
        field = cur.name().value
        close = cur.expect(T.RPAREN, "')'")
        alias = cur.name("a name after 'as'") if cur.accept_word("as") else None
        items.append(ast.ConvertItem(fn.value.lower(), field, alias.value if alias else None,
                                     start=fn.start, end=(alias or close).end))
    if not items:
        raise cur.error("expected a conversion such as ctime(field)")
    return ast.ConvertCmd(opts.get("timeformat"), items)


# --- spath ---------------------------------------------------------------------------------


def parse_spath(cur: Cursor, word: Token) -> ast.SpathCmd:
    """Splunk Search Reference: spath. `spath [input=F] [output=F] [path=P | P]`."""
    opts = read_options(cur, {"input", "output", "path"})
    if not cur.at_end() and "path" not in opts:
        opts["path"] = cur.name("a path").value
        read_options(cur, {"input", "output"}, opts)
    return ast.SpathCmd(opts.get("input"), opts.get("output"), opts.get("path"))


# --- lookups ---------------------------------------------------------------------------------


def _lookup_fields(cur: Cursor, stops: tuple[str, ...]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    while not cur.at_end() and not cur.peek().is_word(*stops):
        if cur.accept(T.COMMA):
            continue
        name = cur.name().value
        alias = cur.name("a name after 'as'").value if cur.accept_word("as") else name
        out.append((name, alias))
    return out


def parse_lookup(cur: Cursor, word: Token) -> ast.LookupCmd:
    """Splunk Search Reference: lookup. `lookup [local=] [update=] <table> (<field> [as <event-field>])...
    [OUTPUT|OUTPUTNEW (<field> [as <event-field>])...]`."""
    opts = read_options(cur, {"local", "update", "event_time_field"})
    table = cur.name("a lookup table name").value
    inputs = _lookup_fields(cur, ("output", "outputnew"))
    if not inputs:
        raise cur.error("expected a lookup field")
    mode_tok = cur.accept_word("output", "outputnew")
    outputs = _lookup_fields(cur, ()) if mode_tok else []
    return ast.LookupCmd(table, opts, inputs, mode_tok.value.upper() if mode_tok else None, outputs)


def parse_inputlookup(cur: Cursor, word: Token) -> ast.InputlookupCmd:
    """Splunk Search Reference: inputlookup. `inputlookup [append=] [start=] [max=] <table> [where <search>]`;
    inputcsv: `inputcsv [append=] [start=] [max=] [events=false] [dispatch=false] <file> [where <search>]`."""
    command = word.value.lower()
    allowed = {"append", "strict", "start", "max"} | ({"events", "dispatch"} if command == "inputcsv" else set())
    opts = read_options(cur, allowed)
    table = cur.name("a CSV file name" if command == "inputcsv" else "a lookup table name").value
    read_options(cur, allowed, opts)
    where = search_until(cur, ()) if cur.accept_word("where") else None
    for key in ("events", "dispatch"):
        if key in opts:
            if as_bool(opts.pop(key)):
                raise cur.unsupported(f"inputcsv {key}=true is not supported (the file's rows are results)", word)
    return ast.InputlookupCmd(table, opts, where, command=command)


def parse_outputlookup(cur: Cursor, word: Token) -> ast.ArgsCmd:
    """Splunk Search Reference: outputlookup. `outputlookup [append=] [create_empty=] [max=] ... <table>`."""
    allowed = {"append", "create_empty", "override_if_empty", "max", "key_field", "createinapp", "output_format",
               "createfile"}
    command = word.value.lower()
    if command == "outputcsv":
        allowed = {"append", "create_empty", "override_if_empty", "dispatch", "usexml", "singlefile"}
    opts = read_options(cur, allowed)
    table = cur.name("a CSV file name" if command == "outputcsv" else "a lookup table name").value
    read_options(cur, allowed, opts)
    return ast.ArgsCmd(command, opts, [table])


# --- subsearch commands ---------------------------------------------------------------------------


def parse_join(cur: Cursor, word: Token) -> ast.JoinCmd:
    """Splunk Search Reference: join. `join [type=inner|outer|left] [usetime=] [earlier=] [overwrite=]
    [max=] [<field>...] [<subsearch>]`."""
    allowed = {"type", "usetime", "earlier", "overwrite", "max", "left", "right", "where"}
    opts: dict[str, str] = {}
    fields: list[str] = []
    while not cur.at_end() and cur.peek().kind is not T.SUBSEARCH:
        if is_option(cur):
            read_options(cur, allowed, opts)
        elif not cur.accept(T.COMMA):
            fields.append(cur.name().value)
    sub = subsearch(cur)
    return ast.JoinCmd(opts, fields, sub)


def parse_append(cur: Cursor, word: Token) -> ast.AppendCmd:
    """Splunk Search Reference: append, appendcols, appendpipe. `append [opts] [<subsearch>]`;
    the appendpipe subpipeline starts with a command."""
    kind = word.value.lower()
    opts = read_options(cur, {"extendtimerange", "maxtime", "maxout", "timeout", "override", "run_in_preview"})
    sub = subsearch(cur, leading_pipe=kind == "appendpipe")
    return ast.AppendCmd(kind, opts, sub)


# --- transaction -------------------------------------------------------------------------------------

_TXN_OPTS = {"name", "maxspan", "maxpause", "maxevents", "startswith", "endswith", "connected", "unifyends",
             "keeporphans", "keepevicted", "maxopentxn", "maxopenevents", "mvlist", "delim", "nullstr", "mvraw"}


def parse_transaction(cur: Cursor, word: Token) -> ast.TransactionCmd:
    """Splunk Search Reference: transaction. `transaction [<field>...] [maxspan=] [maxpause=] [maxevents=]
    [startswith=<filter>] [endswith=<filter>] [connected=] [keepevicted=] [mvlist=] ...`; a filter is
    a quoted search, `(<search>)` or `eval(<expression>)`."""
    fields: list[str] = []
    opts: dict[str, str] = {}
    bounds: dict[str, ast.Node | None] = {}
    while not cur.at_end():
        if cur.accept(T.COMMA):
            continue
        if not is_option(cur):
            fields.append(cur.name().value)
            continue
        key = cur.peek()
        name = key.value.lower()
        if name not in _TXN_OPTS:
            raise cur.unsupported(f"option {key.value!r} is not supported", key)
        cur.i += 2
        if name in ("startswith", "endswith"):
            bounds[name] = _txn_filter(cur)
        else:
            val = cur.next()
            if val.kind not in (T.WORD, T.STRING):
                raise cur.error(f"expected a value for {key.value}", val)
            opts[name] = val.value
    return ast.TransactionCmd(fields, opts, bounds.get("startswith"), bounds.get("endswith"))


def _txn_filter(cur: Cursor) -> ast.Node | None:
    tok = cur.peek()
    if tok.kind is T.STRING:
        cur.next()
        from speleo.spl.tokens import lex

        inner = Cursor(cur.query, lex(cur.query, tok.start + 1, tok.end - 1, "search"), cur.command)
        if tok.value != cur.query[tok.start + 1 : tok.end - 1]:
            return ast.Term(tok.value, True, start=tok.start, end=tok.end)
        return parse_search_expr(inner)
    if tok.kind is T.LPAREN or tok.is_word("eval"):
        is_eval = tok.is_word("eval")
        if is_eval:
            cur.next()
        open_ = cur.expect(T.LPAREN, "'('")
        close = cur.skip_balanced("'('")
        from speleo.spl.exprparse import parse_eval_expr
        from speleo.spl.tokens import lex

        sub = Cursor(cur.query, lex(cur.query, open_.end, close.start, "expr" if is_eval else "search"), cur.command)
        node = parse_eval_expr(sub) if is_eval else parse_search_expr(sub)
        sub.expect_end()
        return node
    if tok.kind is T.WORD:
        cur.next()
        return ast.Term(tok.value, False, start=tok.start, end=tok.end)
    raise cur.error("expected a quoted search, (search) or eval(expression)")


# --- foreach ---------------------------------------------------------------------------------------------

_TEMPLATE = re.compile(r"<<([A-Za-z0-9_]+)>>")


def parse_foreach(cur: Cursor, word: Token) -> ast.ForeachCmd:
    """Splunk Search Reference: foreach. `foreach [mode=] [fieldstr=] [matchstr=] <wc-field>... [<subsearch>]`
    with <<FIELD>>, <<MATCHSTR>>, <<MATCHSEG1>>... placeholders in the subpipeline."""
    opts = read_options(cur, {"mode", "fieldstr", "matchstr", "matchseg1", "matchseg2", "matchseg3", "itemstr"})
    fields: list[str] = []
    while not cur.at_end() and cur.peek().kind is not T.SUBSEARCH:
        if not cur.accept(T.COMMA):
            fields.append(cur.name().value)
    tok = cur.expect(T.SUBSEARCH, "a subpipeline '[ ... ]'")
    # Placeholders become identifiers of the same length so positions stay right.
    text = cur.query[: tok.start] + _TEMPLATE.sub(lambda m: "_" * 2 + m.group(1) + "_" * 2,
                                                  cur.query[tok.start : tok.end]) + cur.query[tok.end :]
    from speleo.spl.parser import parse_range

    body = parse_range(text, tok.start + 1, tok.end - 1, leading_pipe=True)
    return ast.ForeachCmd(fields, opts, cur.query[tok.start + 1 : tok.end - 1], body)


# --- chart / streamstats ------------------------------------------------------------------------------------

_CHART_OPTS = {"limit", "useother", "usenull", "otherstr", "nullstr", "cont", "agg", "sep", "format", "span",
               "bins", "minspan", "start", "end", "aligntime"}


def parse_chart(cur: Cursor, word: Token) -> ast.ChartCmd:
    """Splunk Search Reference: chart. `chart [opts] <stats-func>... [over <row-field>] [by <col-field>...]`."""
    opts = read_options(cur, _CHART_OPTS)
    aggs = _aggs(cur, ("over", "by"))
    if not aggs:
        raise cur.error("expected a statistical function")
    over = None
    by: list[str] = []
    if cur.accept_word("over"):
        over = cur.name().value
        read_options(cur, _CHART_OPTS, opts)
    if cur.accept_word("by"):
        by = _names(cur)
        if not by:
            raise cur.error("expected a field after 'by'")
    read_options(cur, _CHART_OPTS, opts)
    return ast.ChartCmd(opts, aggs, over, by)


def parse_streamstats(cur: Cursor, word: Token) -> ast.StreamstatsCmd:
    """Splunk Search Reference: streamstats. `streamstats [current=] [window=] [global=] [reset_on_change=]
    [time_window=] <stats-func>... [by <field>...]`."""
    allowed = {"current", "window", "global", "allnum", "reset_on_change", "reset_before", "reset_after",
               "time_window"}
    opts = read_options(cur, allowed)
    aggs = _aggs(cur, ("by",))
    if not aggs:
        raise cur.error("expected a statistical function")
    read_options(cur, allowed, opts)          # options may also sit between the functions and `by`
    by = _names(cur) if cur.accept_word("by") else []
    read_options(cur, allowed, opts)
    return ast.StreamstatsCmd(opts, aggs, by)


# --- regex -------------------------------------------------------------------------------------------------


def parse_regex(cur: Cursor, word: Token) -> ast.RegexCmd:
    """Splunk Search Reference: regex. `regex [<field>=|<field>!=]"<regex>"` (default field _raw)."""
    field, negate = "_raw", False
    if cur.peek().kind in (T.WORD, T.STRING) and cur.peek(1).kind is T.OP and cur.peek(1).value in ("=", "!="):
        field = cur.next().value
        negate = cur.next().value == "!="
    tok = cur.next()
    if tok.kind not in (T.STRING, T.WORD):
        raise cur.error("expected a regular expression", tok)
    return ast.RegexCmd(field, negate, tok.value)


# --- simple option + word commands ---------------------------------------------------------------------------

# command -> (allowed options (None: any), minimum words, maximum words)
SIMPLE: dict[str, tuple[set[str] | None, int, int]] = {
    "makecontinuous": ({"span", "bins", "minspan", "start", "end"}, 0, 1),
    "map": ({"search", "maxsearches"}, 0, 1),
    "outlier": ({"action", "mark", "param", "uselower", "type"}, 0, 1000),
    "timewrap": ({"align", "series", "time_format"}, 1, 1),
    "multikv": ({"forceheader", "noheader", "rmorig", "multitable", "conf", "copyattrs", "last_line"}, 0, 10000),
    "apply": (None, 1, 3),                 # Splunk MLTK: apply <model> [as <name>]
    "fit": (None, 1, 200),                 # Splunk MLTK: fit <algorithm> <fields> [from ...] [by ...] [into ...]
    "mvexpand": ({"limit"}, 1, 1),
    "makemv": ({"delim", "tokenizer", "allowempty", "setsv"}, 1, 1),
    "nomv": (set(), 1, 1),
    "makeresults": ({"count", "annotate", "splitby", "format", "data"}, 0, 0),
    "xyseries": ({"grouped", "sep", "format"}, 3, 100),
    "untable": (set(), 3, 3),
    "addtotals": ({"row", "col", "labelfield", "label", "fieldname"}, 0, 100),
    "addcoltotals": ({"labelfield", "label"}, 0, 100),
    "xmlkv": ({"maxinputs"}, 0, 1),
    "iplocation": ({"prefix", "allfields", "lang"}, 1, 1),
    "xpath": ({"outfield", "field", "default"}, 1, 1),
    "fromjson": ({"prefix"}, 1, 1),
    "addinfo": (set(), 0, 0),
    "reverse": (set(), 0, 0),
    "transpose": ({"column_name", "header_field", "include_empty"}, 0, 1),
    "filldown": (set(), 0, 100),
    "mvcombine": ({"delim"}, 1, 1),
    "strcat": ({"allrequired"}, 2, 100),
    "extract": ({"reload", "limit", "maxchars", "mv_add", "clean_keys", "kvdelim", "pairdelim", "segment"}, 0, 100),
    "kv": ({"reload", "limit", "maxchars", "mv_add", "clean_keys", "kvdelim", "pairdelim", "segment"}, 0, 100),
    "delta": ({"p"}, 1, 3),
    "autoregress": ({"p"}, 1, 3),
    "require": (set(), 0, 0),
    "gentimes": ({"start", "end", "increment"}, 0, 0),
    "accum": (set(), 1, 3),
    "uniq": (set(), 0, 0),
    "cluster": ({"t", "showcount", "countfield", "labelfield", "field", "labelonly", "match", "delims", "showtemplate"}, 0, 0),
    "fieldsummary": ({"maxvals"}, 0, 100),
    "collect": ({"index", "source", "sourcetype", "marker", "testmode", "host", "addtime", "file", "spool",
                 "run_in_preview", "output_format", "uselb"}, 0, 0),
    "sendemail": ({"to", "cc", "bcc", "from", "subject", "message", "format", "sendresults", "inline", "sendcsv",
                   "sendpdf", "server", "use_ssl", "use_tls", "maxinputs", "priority", "graceful",
                   "content_type", "footer", "width_sort_columns", "paperorientation", "papersize", "pdfview"},
                  0, 0),
}


def parse_rest(cur: Cursor, word: Token) -> ast.ArgsCmd:
    """Splunk Search Reference: trendline. `trendline (sma|ema|wma)<N>(<field>) [as <name>]...`:
    the arguments are kept as text (the compiler reads them from the query)."""
    args: list[str] = []
    while not cur.at_end():
        args.append(cur.next().value)
    if not args:
        raise cur.error("expected sma<N>(field), ema<N>(field) or wma<N>(field)")
    return ast.ArgsCmd(word.value.lower(), {}, args)


def parse_simple(cur: Cursor, word: Token) -> ast.ArgsCmd:
    """Splunk Search Reference: mvexpand, makemv, nomv, makeresults, xyseries, untable, addtotals,
    addcoltotals, xmlkv, iplocation, fromjson, addinfo, reverse, transpose, filldown, mvcombine,
    strcat, extract/kv, delta, accum, uniq, makecontinuous, map; MLTK apply/fit:
    `[key=value...] [word...]`."""
    name = word.value.lower()
    allowed, lo, hi = SIMPLE[name]
    opts: dict[str, str] = {}
    args: list[str] = []
    while not cur.at_end():
        if is_option(cur):
            read_options(cur, allowed, opts)
        elif cur.accept(T.COMMA):
            continue
        elif cur.peek().is_word("as") and args:
            cur.next()
            args.append("as")
            args.append(cur.name().value)
        else:
            args.append(cur.name().value)
    if len([a for a in args if a != "as"]) < lo:
        raise cur.error(f"needs {lo} field name{'s' if lo > 1 else ''}")
    if len(args) > hi and "as" not in args:
        raise cur.error(f"takes at most {hi} field name{'s' if hi > 1 else ''}")
    return ast.ArgsCmd(name, opts, args)


def parse_from(cur: Cursor, word: Token) -> ast.ArgsCmd:
    """Splunk Search Reference: from. `from <dataset-type>:<name>` or `from <dataset-type> <name>`
    (datamodel, lookup, savedsearch, inputlookup)."""
    tok = cur.name("a dataset such as datamodel:<name>")
    kind, _, name = tok.value.partition(":")
    if not name:
        cur.accept(T.OP, "=")
        name = cur.name("a dataset name").value
    if kind.lower() not in ("datamodel", "lookup", "savedsearch", "inputlookup"):
        raise cur.error("expected datamodel, lookup, savedsearch or inputlookup", tok)
    return ast.ArgsCmd("from", {kind.lower(): name}, [])


def parse_replace(cur: Cursor, word: Token) -> ast.ReplaceCmd:
    """Splunk Search Reference: replace. `replace <wc-string> with <wc-string> [, ...] [in <field>...]`."""
    pairs: list[tuple[str, str]] = []
    while not cur.at_end() and not cur.peek().is_word("in"):
        if cur.accept(T.COMMA):
            continue
        old = cur.name("a value to replace").value
        if not cur.accept_word("with"):
            raise cur.error("expected 'with'")
        pairs.append((old, cur.name("a replacement value").value))
    if not pairs:
        raise cur.error("expected '<value> with <value>'")
    fields = _names(cur) if cur.accept_word("in") else []
    return ast.ReplaceCmd(pairs, fields)
