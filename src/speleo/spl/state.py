"""The query built so far while compiling a pipeline, and the compile context.

Each command takes the State and extends it: a filter merges into the current
SELECT when it can; anything else wraps the current SELECT into a CTE and starts
a new SELECT over it (the sqlglot pipe-syntax / PRQL shape).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo

from sqlglot import exp

from speleo.errors import SplUnsupportedError
from speleo.spl.cse import Extracted

BASE_COLUMNS = ["_time", "_raw", "host", "source", "sourcetype", "index",
                "_indextime", "linecount", "_offset", "_flags", "_fields"]
EVENTS_TABLE = "__events__"
ORD = "__speleo_ord"
ROW_JSON = "__speleo_row"   # the row as JSON, after a SQL PIVOT in a subsearch (State.open_row)
NO_FIELDS = "__speleo_no_fields"   # the one column of a search whose results have no field left (ordered_select)
OUTER = "__speleo_outer"   # placeholder table of a subsearch filter's outer columns (see State.filter)


@dataclass
class CompileContext:
    """What the compiler needs from its caller (see the public API)."""

    now: float
    tz: tzinfo
    field_sql: Callable[[str], exp.Expression]
    macros: Mapping[str, object] = field(default_factory=dict)
    default_earliest: float | None = None
    default_latest: float | None = None
    lookups_dir: object | None = None      # a pathlib.Path: CSV lookup files (lookup, inputlookup, outputlookup)
    sid: str | None = None                 # the search's id, when the caller has one (addinfo's info_sid)
    knowledge: object | None = None        # speleo.knowledge.Knowledge (event types, tags, data models);
                                           # None: the shipped ones
    run_subsearch: Callable | None = None  # (CompiledSearch, max rows) -> (rows as dicts, truncated): runs a
                                           # subsearch whose results are search text first (spl/rawsub.py)


def tbl(relation):
    """A relation for `.from_()`: a name becomes a Table node without sqlglot's parser (about
    15x cheaper; compiling builds hundreds of these); an expression is returned as it is."""
    return exp.Table(this=exp.to_identifier(relation)) if isinstance(relation, str) else relation


def star_from(name: str) -> exp.Select:
    """`SELECT * FROM name`, built without sqlglot's parser (compiling builds hundreds of these)."""
    return exp.Select(expressions=[exp.Star()], from_=exp.From(this=exp.Table(this=exp.to_identifier(name))))


def ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def col(name: str) -> exp.Column:
    return exp.Column(this=ident(name))


def tz_name(tz: tzinfo) -> str:
    """An IANA name or UTC offset that DuckDB's timezone() understands."""
    key = getattr(tz, "key", None)
    if key:
        return key
    offset = tz.utcoffset(None)
    if offset is None or offset.total_seconds() == 0:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@dataclass
class State:
    """The relation built so far: CTEs, the open SELECT, its columns and row order."""

    ctx: CompileContext
    query: str
    select: exp.Select = field(default_factory=lambda: star_from(EVENTS_TABLE))
    columns: list[str] = field(default_factory=lambda: list(BASE_COLUMNS))
    ctes: list[tuple[str, exp.Select]] = field(default_factory=list)
    order: list[exp.Ordered] | None = None
    order_cols: set[str] = field(default_factory=set)
    hidden_ord: bool = False
    events: bool = True
    transforming: bool = False
    sorted_by_user: bool = False
    events_sql: exp.Select | None = None
    subs: list = field(default_factory=list)        # (earliest, latest, indexes) of each subsearch compiled
    post: list = field(default_factory=list)        # steps applied to the Arrow result (cluster, outputlookup)
    bindings: dict = field(default_factory=dict)    # field name -> expression (mvfilter lambda variable)
    auto_json: object | None = None                 # spath automatic extraction: name -> expression
    top_level: bool = False                         # the main search (not a subsearch or branch): may add post steps
    time_range: tuple = (None, None)                # the search's (earliest, latest) epoch bounds (addinfo)
    mv: set = field(default_factory=set)            # columns known to hold lists (makemv, eval of a multivalue,
                                                    # rex max_match, values()/list()): kind "mv", unnested by stats by
    later: list = field(default_factory=list)       # the commands after the one compiling (look-ahead)
    leading: bool = False                           # compiling the pipeline's first command, a generating one
    open_columns: bool = False                      # a SQL PIVOT (chart/timechart/xyseries by) made columns
                                                    # known only when it runs (a subsearch, no post step)
    open_row: bool = False                          # with open_columns: the hidden ROW_JSON column holds each
                                                    # row as JSON, so later commands read the PIVOT's columns
    stream_ord: object | None = None                # while stats compiles: the column giving the order results arrive in
    fields_kept: bool = False                       # a `fields` keep list ran: fields not kept read as NULL
    fields_removed: set = field(default_factory=set)   # names `fields -` removed: they read as NULL
    notes: list = field(default_factory=list)       # messages for the searcher found while compiling
    formats: list = field(default_factory=list)     # fieldformat commands, applied to the final results
    bucket_listing: list | None = None              # dbinspect: the index patterns whose buckets it lists
    summary: object | None = None                   # tstats over acceleration summaries (commands.datamodel.SummaryUse)

    # -- building blocks ---------------------------------------------------------
    def wrap(self) -> None:
        """Close the current SELECT as a CTE and open `SELECT * FROM` it."""
        name = f"s{len(self.ctes)}"
        self.ctes.append((name, self.select))
        self.select = star_from(name)

    def is_simple(self) -> bool:
        s = self.select
        return not any(s.args.get(k) for k in ("group", "limit", "order", "qualify", "distinct", "having")) \
            and not isinstance(s.expressions[0], exp.Alias) and len(s.expressions) == 1 \
            and isinstance(s.expressions[0], exp.Star) and not s.expressions[0].args.get("replace")

    def filter(self, cond: exp.Expression) -> None:
        """AND a condition into the current SELECT (wrapping first if it cannot merge). Columns
        qualified with OUTER (a subsearch filter's references to the search) get the name of
        the relation the SELECT reads."""
        if not self.is_simple():
            self.wrap()
        frm = self.select.args["from_"].this
        name = frm.alias_or_name

        def qualify(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Column) and node.table == OUTER:
                return exp.Column(this=node.this.copy(), table=exp.to_identifier(name))
            return node

        self.select = self.select.where(cond.transform(qualify, copy=False), copy=False)

    def has_raw(self) -> bool:
        return self.events and "_raw" in self.columns

    def field(self, name: str) -> exp.Expression:
        """A field: a column, a search-time extraction (events only), or NULL."""
        if name in self.bindings:
            return self.bindings[name].copy()
        if name in self.columns:
            return col(name)
        if self.fields_kept or self.removed(name):
            return exp.null()   # Splunk Search Reference: fields (a field it removed is gone for later commands)
        if self.has_raw() and (name in ("eventtype", "tag") or name.startswith("tag::")):
            from speleo.spl.commands.knowledge import knowledge_field

            return knowledge_field(self, name)
        if self.has_raw():
            extracted = Extracted(this=self._only_present(self.ctx.field_sql(name)), name=exp.Literal.string(name))
            if self.auto_json is not None:      # spath without path=: JSON paths of the input first
                if "{}" in name:   # a `{}` path gives a list (spath_jsonpath): the fallback too
                    extracted = exp.Case(ifs=[exp.If(this=exp.Is(this=extracted.copy(), expression=exp.null()),
                                                     true=exp.null())],
                                         default=exp.Anonymous(this="list_value", expressions=[extracted]))
                return exp.Coalesce(this=self.auto_json(name), expressions=[extracted])
            return extracted
        if self.open_row and self.open_columns and not name.startswith("__speleo"):
            # a column a SQL PIVOT may have made (chart/timechart/xyseries with a split in a
            # subsearch): its value as text from the row's JSON, null when the column is not there
            from speleo.spl.nodes import NumText

            path = exp.Literal.string('$."' + name.replace("\\", "\\\\").replace('"', '\\"') + '"')
            value = exp.Anonymous(this="json_extract_string", expressions=[col(ROW_JSON), path])
            is_double = exp.EQ(this=exp.Anonymous(this="json_type", expressions=[col(ROW_JSON), path.copy()]),
                               expression=exp.Literal.string("DOUBLE"))
            as_double = exp.Cast(this=value.copy(), to=exp.DataType.build("DOUBLE"))
            return exp.Case(ifs=[exp.If(this=is_double, true=NumText(this=as_double))], default=value)   # 2.0 -> "2"
        return exp.null()

    def removed(self, name: str) -> bool:
        """Whether `fields -` removed `name`: named, or matched by one of its wildcards
        (commands/fields.py `wildcard_matches`)."""
        if name in self.fields_removed:
            return True
        from speleo.spl.commands.fields import wildcard_matches

        return any("*" in p and wildcard_matches(p, name) for p in self.fields_removed)

    def reopen_fields(self) -> None:
        """A command that extracts from the events again (spath, xmlkv, fromjson, extract, kv)
        after `fields`: the fields it finds exist again, as in Splunk."""
        self.fields_kept = False
        self.fields_removed = set()

    def _only_present(self, expr: exp.Expression) -> exp.Expression:
        """An extraction may read `sourcetype` or `_fields`; once a command dropped or renamed
        them, they read as NULL instead of failing to bind."""
        present = set(self.columns)

        def fix(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Column) and not node.table and node.name not in present:
                return exp.null()
            return node

        return expr.transform(fix, copy=False)

    def tz_literal(self) -> exp.Literal:
        return exp.Literal.string(tz_name(self.ctx.tz))

    def start_generated(self, count: int, time: exp.Expression | None = None) -> None:
        """Make this search start with `count` generated results (makeresults, and the empty
        relation of a command whose rows come from a post step: rest, loadjob), with `_time`
        = `time` (null when None), kept in generation order by a hidden row number."""
        rows = exp.Anonymous(this="range", expressions=[exp.Literal.number(count)])
        self.ctes = []
        self.select = exp.select(exp.alias_(time if time is not None else exp.null(), ident("_time")),
                                 exp.alias_(exp.column("range"), ident(ORD))).from_(exp.Table(this=rows))
        self.columns = ["_time"]
        self.events = False
        self.transforming = True
        self.set_order([exp.Ordered(this=col(ORD))], {ORD})
        self.hidden_ord = True
        self.events_sql = None

    # -- row order -----------------------------------------------------------------
    def set_order(self, keys: list[exp.Ordered], columns: set[str]) -> None:
        self.order, self.order_cols = keys, columns

    def protect_order(self, touched: set[str] | None) -> None:
        """Before a stage changes columns the order uses, pin the order in a hidden column."""
        if not self.order or self.order_cols == {ORD}:
            return
        if touched is not None and not (touched & self.order_cols) and not self._uses_extraction():
            return
        self.wrap()
        rn = exp.Window(this=exp.RowNumber(), order=exp.Order(expressions=[o.copy() for o in self.order]))
        src = self.select.args["from_"].this.copy()
        if self.hidden_ord:
            self.select = exp.select(exp.Star(replace=[exp.alias_(rn, ident(ORD))])).from_(src)
        else:
            self.select = exp.select(exp.Star(), exp.alias_(rn, ident(ORD))).from_(src)
        self.order = [exp.Ordered(this=col(ORD), desc=False)]
        self.order_cols, self.hidden_ord = {ORD}, True

    def _uses_extraction(self) -> bool:
        return any(c not in self.columns for c in self.order_cols)

    def keep_list(self) -> list[str]:
        """Hidden columns a projection must carry along."""
        return [ORD] if self.hidden_ord else []

    def ordered_select(self) -> exp.Select:
        """`SELECT * [EXCLUDE hidden] FROM <current> ORDER BY <order>`, closing the current stage."""
        self.wrap()
        if not self.columns and not self.open_columns:
            # every field removed (`stats count by host | fields - *`): results without a field
            # are no results (SQL has no empty SELECT list); one placeholder column, no rows
            return exp.select(exp.alias_(exp.null(), ident(NO_FIELDS))) \
                .from_(self.select.args["from_"].this.copy()).where(exp.false())
        star = exp.Star(except_=[col(ORD)]) if self.hidden_ord else exp.Star()
        sel = exp.select(star).from_(self.select.args["from_"].this.copy())
        if self.order:
            sel = sel.order_by(*[o.copy() for o in self.order], copy=False)
        return sel

    def fail(self, message: str, node) -> SplUnsupportedError:
        return SplUnsupportedError(message, self.query, node.start, max(node.end, node.start + 1))
