"""iplocation (Splunk Search Reference: iplocation)."""

from __future__ import annotations

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.commands.rows import assign_many, options
from speleo.spl.cursor import as_bool
from speleo.spl.functions import text
from speleo.spl.nodes import GeoLookup
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
        geoip._open()
    except geoip.GeoIPUnavailable as e:
        raise state.fail(str(e), cmd) from None
    prefix = cmd.options.get("prefix", "")
    lang = cmd.options.get("lang", "en") or "en"
    names = geoip.ALL_FIELDS if as_bool(cmd.options.get("allfields", "false")) else geoip.FIELDS
    ip = text(state.field(cmd.args[0]))
    values: dict[str, exp.Expression] = {}
    for name in names:
        value: exp.Expression = GeoLookup(this=ip.copy(), field=exp.Literal.string(name), lang=exp.Literal.string(lang))
        if name in ("lat", "lon"):
            value = exp.TryCast(this=value, to=exp.DataType.build("DOUBLE"))
        values[prefix + name] = value
    assign_many(state, values)
