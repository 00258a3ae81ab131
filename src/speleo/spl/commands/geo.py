"""iplocation and xpath (Splunk Search Reference: iplocation, xpath): values computed by Python
functions on the search's DuckDB connection (query/udf.py)."""

from __future__ import annotations

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.commands.rows import assign_many, options
from speleo.spl.cursor import as_bool
from speleo.spl.functions import text
from speleo.spl.nodes import GeoLookup, XPathValues
from speleo.spl.state import State


def compile_iplocation(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: iplocation. `iplocation [prefix=<string>] [allfields=<bool>]
    [lang=<string>] <ip-address-fieldname>` adds City, Country, Region, lat and lon (with
    `allfields=true` also Continent, MetroCode and Timezone), each name preceded by `prefix`,
    from the GeoIP database (query/geoip.py; `lang=`: the names' language, English where the
    database has none in it). An address the database does not hold (a private one) gets no
    fields; one it holds without a city gets an empty City. lat and lon are numbers. Splunk's
    allfields also lists `_time`, which iplocation does not change here either. Fails at
    compile time when no GeoIP database can be opened."""
    from speleo.query import geoip

    options(state, cmd, {"prefix", "allfields", "lang"})
    if len(cmd.args) != 1:
        raise state.fail("iplocation takes one field: the IP address field, as in iplocation clientip", cmd)
    try:
        geoip.open_reader()
    except geoip.GeoIPUnavailable as e:
        raise state.fail(str(e), cmd) from None
    allfields = cmd.options.get("allfields", "false")
    if allfields.lower() not in ("true", "t", "1", "yes", "y", "false", "f", "0", "no", "n"):
        raise state.fail(f"iplocation allfields= takes true or false, not {allfields!r}", cmd)
    prefix = cmd.options.get("prefix", "")
    lang = cmd.options.get("lang", "en") or "en"
    names = geoip.ALL_FIELDS if as_bool(cmd.options.get("allfields", "false")) else geoip.FIELDS
    ip = text(state.field(cmd.args[0]))
    values: dict[str, exp.Expression] = {}
    for name in names:
        value: exp.Expression = GeoLookup(this=ip.copy(), field=exp.Literal.string(name), lang=exp.Literal.string(lang))
        if name in ("lat", "lon"):
            value = exp.TryCast(this=value, to=exp.DataType.build("DOUBLE"))
        if prefix + name in state.columns:   # an address with no location adds no field: the old value stays
            old = state.field(prefix + name)
            old = exp.TryCast(this=text(old), to=exp.DataType.build("DOUBLE")) if name in ("lat", "lon") else text(old)
            value = exp.Coalesce(this=value, expressions=[old])
        values[prefix + name] = value
    assign_many(state, values)


def compile_xpath(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: xpath. `xpath [outfield=<field>] <xpath-string> [field=<field>]
    [default=<string>]`: the values the path selects in the XML of `field` (default `_raw`) go
    to `outfield` (default `xpath`), a multivalue field when there are several; `default=` is
    the value when there are none (else no value). Paths: Python ElementTree's XPath subset, as
    Splunk documents, with a final `/@attr` or `/text()` (query/xpath.py). A path outside it
    fails at compile time."""
    from speleo.query import xpath

    options(state, cmd, {"outfield", "field", "default"})
    if len(cmd.args) != 1:
        raise state.fail("xpath takes one XPath, as in xpath outfield=name \"//bar/@nickname\"", cmd)
    path = cmd.args[0]
    try:
        xpath.check(path)
    except xpath.XPathError as e:
        raise state.fail(str(e), cmd) from None
    out = cmd.options.get("outfield", "xpath")
    source = text(state.field(cmd.options.get("field", "_raw")))
    value: exp.Expression = XPathValues(this=source, path=exp.Literal.string(path))
    if "default" in cmd.options:
        value = exp.Coalesce(this=value, expressions=[exp.Array(expressions=[exp.Literal.string(cmd.options["default"])])])
    state.mv.add(out)
    assign_many(state, {out: value})
