"""lookup, inputlookup, outputlookup over CSV files in the home's lookups folder; inputcsv and
outputcsv over its `csv` folder (Splunk: $SPLUNK_HOME/var/run/splunk/csv).

Splunk Search Reference: lookup, inputlookup, outputlookup. A table name is a file of
`CompileContext.lookups_dir` (`name` or `name.csv`); names with a path separator or `..`
are refused. The CSV is read by DuckDB's `read_csv` of a path the compiler resolved (a
literal in the SQL tree); its header is read when compiling so the columns are known.
"""

from __future__ import annotations

import csv
from pathlib import Path

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.cursor import as_bool
from speleo.spl.functions import mv, text, text_any
from speleo.spl.state import col, ident, State, tbl

MAX_MATCHES = 100          # transforms.conf max_matches default for lookups that are not time-based


def safe_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and ".." not in name and not name.startswith(".") \
        and "\x00" not in name


def csv_dir(state: State) -> Path | None:
    """The folder of inputcsv/outputcsv: `csv` beside the lookups folder (`<home>/csv`)."""
    folder = state.ctx.lookups_dir
    return None if folder is None else Path(folder).parent / "csv"


def lookup_path(state: State, table: str, node: ast.Node, must_exist: bool = True, csv_files: bool = False) -> Path:
    """The CSV file of a lookup table, inside lookups_dir only (`csv_files`: of inputcsv and
    outputcsv, inside `csv_dir`)."""
    what = "CSV file" if csv_files else "lookup table"
    folder = csv_dir(state) if csv_files else state.ctx.lookups_dir
    if not safe_name(table):
        raise state.fail(f"invalid {what} name {table!r} (no '/', '\\\\' or '..')", node)
    if folder is None:
        raise state.fail("lookups need a lookups folder (no home given to the compiler)" if not csv_files
                         else "CSV files need a home (none given to the compiler)", node)
    folder = Path(folder)
    names = [table] if table.lower().endswith((".csv", ".csv.gz")) else [table + ".csv", table]
    for n in names:
        p = folder / n
        if p.is_file():
            return p
    if must_exist:
        if csv_files:
            raise state.fail(f"CSV file {table!r} not found in {folder.name}/ (write it with `| outputcsv {table}`)", node)
        raise state.fail(f"lookup table {table!r} not found (add it with `speleo lookup add`)", node)
    return folder / names[0]


def _header(state: State, path: Path, node: ast.Node) -> list[str]:
    import gzip

    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as f:   # a byte-order mark is not part of the header
        row = next(csv.reader(f), None)
    if not row:
        raise state.fail(f"lookup table {path.name!r} has no header row", node)
    return row


def _keys_unique(path: Path, keys: list[str], header: list[str]) -> bool:
    import gzip

    idx = [header.index(k) for k in keys]
    seen: set[tuple] = set()
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as f:   # a byte-order mark is not part of the header
        reader = csv.reader(f)
        next(reader, None)
        for row in reader:
            key = tuple(row[i] if i < len(row) else "" for i in idx)
            if key in seen:
                return False
            seen.add(key)
    return True


def read_csv(path: Path) -> exp.Expression:
    """`read_csv('<path>', header=true, all_varchar=true)` as a table expression."""
    args = [exp.Literal.string(str(path)),
            exp.EQ(this=exp.column("header"), expression=exp.true()),
            exp.EQ(this=exp.column("all_varchar"), expression=exp.true())]
    return exp.Table(this=exp.Anonymous(this="read_csv", expressions=args))


def compile_lookup(state: State, cmd: ast.LookupCmd) -> None:
    """Splunk Search Reference: lookup. Each result gets the output fields of the lookup rows
    whose lookup fields equal (case-sensitively) its event fields. Without OUTPUT every other
    column of the table is an output. OUTPUT overwrites the fields (no match: null); OUTPUTNEW
    only fills results where the field is null. Several matching rows (up to 100, file order)
    give multivalue fields; a table whose keys are unique gives single values."""
    path = lookup_path(state, cmd.table, cmd)
    header = _header(state, path, cmd)
    keys = [(lf, ef) for lf, ef in cmd.inputs]
    for lf, _ in keys:
        if lf not in header:
            raise state.fail(f"lookup field {lf!r} is not a column of {cmd.table!r}", cmd)
    outputs = cmd.outputs or [(c, c) for c in header if c not in {k for k, _ in keys}]
    for lf, _ in outputs:
        if lf not in header:
            raise state.fail(f"output field {lf!r} is not a column of {cmd.table!r}", cmd)
    unique = _keys_unique(path, [k for k, _ in keys], header)
    # The lookup side: one row per key combination.
    ordered = exp.select(exp.Star(), exp.alias_(exp.Window(this=exp.RowNumber()), ident("__speleo_n"))) \
        .from_(read_csv(path))
    kcols = [exp.alias_(col(lf), ident(f"__speleo_k{i}")) for i, (lf, _) in enumerate(keys)]
    ocols = []
    for i, (lf, _) in enumerate(outputs):
        if unique:
            agg = exp.Anonymous(this="first", expressions=[col(lf)])
        else:
            lst = exp.Anonymous(this="list", expressions=[exp.Order(this=col(lf), expressions=[
                exp.Ordered(this=col("__speleo_n"))])])
            lst = exp.Filter(this=lst, expression=exp.Where(this=exp.Not(this=exp.Is(this=col(lf), expression=exp.null()))))
            agg = exp.Anonymous(this="list_slice", expressions=[lst, exp.Literal.number(1),
                                                                exp.Literal.number(MAX_MATCHES)])
        ocols.append(exp.alias_(agg, ident(f"__speleo_o{i}")))
    side = exp.select(*kcols, *ocols).from_(exp.Subquery(this=ordered, alias=exp.TableAlias(this=ident("__speleo_csv")))) \
        .where(exp.and_(*[exp.Not(this=exp.Is(this=col(lf), expression=exp.null())) for lf, _ in keys]), copy=False) \
        .group_by(*[exp.Literal.number(i + 1) for i in range(len(keys))], copy=False)
    names = [ef for _, ef in outputs]
    state.protect_order(set(names))
    state.wrap()
    src = state.select.args["from_"].this.copy()
    on = exp.and_(*[exp.EQ(this=text(state.field(ef)), expression=col(f"__speleo_k{i}"))
                    for i, (_, ef) in enumerate(keys)])
    new: list[exp.Expression] = []
    replace: list[exp.Expression] = []
    lists = set()
    for i, (_, ef) in enumerate(outputs):
        value: exp.Expression = col(f"__speleo_o{i}")
        was_list = ef in state.mv and ef in state.columns
        if cmd.mode == "OUTPUTNEW" and unique:
            # the field's own value where it has one (a list stays a list; a number, such as
            # stats' min(_time), as its text: the table's values are text)
            own = state.field(ef)
            value = exp.Coalesce(this=own, expressions=[mv((value, "str"))]) if was_list else \
                exp.Coalesce(this=text_any(own), expressions=[value])
        elif cmd.mode == "OUTPUTNEW":
            value = exp.Case(ifs=[exp.If(this=exp.Not(this=exp.Is(this=state.field(ef), expression=exp.null())),
                                         true=mv_of(state.field(ef)))], default=value)
        if not unique or (cmd.mode == "OUTPUTNEW" and was_list):
            lists.add(ef)
        target = replace if ef in state.columns else new
        target.append(exp.alias_(value, ident(ef)))
    drop = [col(f"__speleo_k{i}") for i in range(len(keys))] + [col(f"__speleo_o{i}") for i in range(len(outputs))]
    star = exp.Star(except_=drop, replace=replace or None)
    joined = exp.Join(this=exp.Subquery(this=side, alias=exp.TableAlias(this=ident("__speleo_lk"))),
                      on=on, side="LEFT")
    sel = exp.select(star, *new).from_(tbl(src))
    sel.append("joins", joined)
    state.select = sel
    state.columns = state.columns + [n for n in dict.fromkeys(names) if n not in state.columns]
    state.mv = (state.mv - set(names)) | lists


def mv_of(e: exp.Expression) -> exp.Expression:
    from speleo.spl.functions import mv

    return mv((e, "any"))


def compile_inputlookup(state: State, cmd: ast.InputlookupCmd) -> None:
    """Splunk Search Reference: inputlookup. The rows of the table (values as text) in file
    order, filtered by `where <search>`; `start=` skips rows, `max=` keeps at most that many.
    `append=true` adds them after the current results (also after another inputlookup); as the
    search's first command it has none to add to, and gives the rows alone."""
    from speleo.spl.commands.search import search_condition

    csv_files = getattr(cmd, "command", "inputlookup") == "inputcsv"
    path = lookup_path(state, cmd.table, cmd, csv_files=csv_files)
    header = _header(state, path, cmd)
    for key in cmd.options:
        if key not in ("append", "start", "max", "strict"):
            raise state.fail(f"{'inputcsv' if csv_files else 'inputlookup'} {key}= is not supported", cmd)
    sub = State(ctx=state.ctx, query=state.query)
    sub.select = exp.select(exp.Star(), exp.alias_(exp.Window(this=exp.RowNumber()), ident("__speleo_ord"))) \
        .from_(read_csv(path))
    sub.columns = list(header)
    sub.events, sub.transforming, sub.hidden_ord = False, True, True
    sub.order, sub.order_cols = [exp.Ordered(this=col("__speleo_ord"))], {"__speleo_ord"}
    if cmd.where is not None:
        sub.filter(search_condition(sub, cmd.where))
    start = int(cmd.options.get("start", "0") or 0)
    if start:
        sub.filter(exp.GT(this=col("__speleo_ord"), expression=exp.Literal.number(start)))
    if "max" in cmd.options:
        sub.wrap()
        sub.select = sub.select.order_by(exp.Ordered(this=col("__speleo_ord")), copy=False) \
            .limit(int(cmd.options["max"]), copy=False)
    if as_bool(cmd.options.get("append", "false")) and not state.leading:
        from speleo.spl.commands.combine import append_state

        append_state(state, sub)
        return
    state.ctes, state.select, state.columns = sub.ctes, sub.select, sub.columns
    state.events, state.transforming = False, True
    state.order, state.order_cols, state.hidden_ord = sub.order, sub.order_cols, True
    state.events_sql = None


def compile_outputlookup(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: outputlookup. Writes the results to the CSV file (after the
    search ran, with every result row); `append=true` adds rows, `max=` limits them. The
    results pass through unchanged. Multivalue fields are written newline-separated."""
    table = cmd.args[0]
    command = cmd.name
    if not table.lower().endswith((".csv",)) and "." in table.rsplit("/", 1)[-1] and not safe_name(table):
        raise state.fail(f"invalid lookup table name {table!r}", cmd)
    allowed = ("append", "max", "create_empty", "override_if_empty", "createinapp")
    if command == "outputcsv":   # Splunk: .csv is added to a name without it; the dispatch folder is not kept
        allowed = ("append", "create_empty", "override_if_empty", "singlefile")
        if table.lower().endswith(".gz") or len(table.encode()) > 200:
            raise state.fail(f"outputcsv {table[:60]!r}: write a plain CSV name of at most 200 bytes "
                             "(outputcsv does not compress)", cmd)
        if not table.lower().endswith(".csv"):
            table += ".csv"
        if as_bool(cmd.options.get("dispatch", "false")) or as_bool(cmd.options.get("usexml", "false")):
            raise state.fail("outputcsv dispatch=true and usexml=true are not supported", cmd)
    for key in cmd.options:
        if key not in allowed and not (command == "outputcsv" and key in ("dispatch", "usexml")):
            raise state.fail(f"{command} {key}= is not supported", cmd)
    path = lookup_path(state, table, cmd, must_exist=False, csv_files=command == "outputcsv")
    state.post.append({"kind": command, "path": str(path),
                       "append": as_bool(cmd.options.get("append", "false")),
                       "max": int(cmd.options["max"]) if "max" in cmd.options else None,
                       "create_empty": as_bool(cmd.options.get("create_empty", "true")),
                       "override_if_empty": as_bool(cmd.options.get("override_if_empty", "true"))})
    if state.events:
        state.transforming = True
