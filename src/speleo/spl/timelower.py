"""DuckDB SQL for Speleo's StrfTime node: a Splunk time format as a concatenation of DuckDB
strftime calls and computed parts (spl/timefmt.py splits the format)."""

from __future__ import annotations

from sqlglot import exp

from speleo.spl.timefmt import strftime_pieces, zone_abbreviations

BIGINT = exp.DataType.build("BIGINT")
VARCHAR = exp.DataType.build("VARCHAR")


def _fn(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _text(e: exp.Expression) -> exp.Expression:
    return exp.Cast(this=e, to=VARCHAR.copy())


def _lit(v) -> exp.Expression:
    return exp.Literal.string(v) if isinstance(v, str) else exp.Literal.number(v)


def _offset(epoch: exp.Expression, local: exp.Expression) -> exp.Expression:
    """The zone's UTC offset in seconds at `epoch`: local wall-clock seconds minus UTC seconds."""
    return exp.Cast(this=exp.Round(this=exp.Sub(this=_fn("epoch", local), expression=epoch)), to=BIGINT.copy())


def _offset_text(off: exp.Expression) -> exp.Expression:
    sign = exp.Case(ifs=[exp.If(this=exp.LT(this=off.copy(), expression=_lit(0)), true=_lit("-"))], default=_lit("+"))
    a = exp.Abs(this=off.copy())
    hours = exp.IntDiv(this=a, expression=_lit(3600))
    minutes = exp.IntDiv(this=exp.Mod(this=a.copy(), expression=_lit(3600)), expression=_lit(60))
    return _fn("printf", _lit("%s%02d%02d"), sign, hours, minutes)


def _subseconds(epoch: exp.Expression, digits: int) -> exp.Expression:
    """The fraction of the second, rounded to microseconds, as `digits` digits (3, 6 or 9)."""
    whole = exp.Floor(this=epoch.copy())
    us = _fn("least", exp.Cast(this=exp.Round(this=exp.Mul(this=exp.paren(exp.Sub(this=epoch.copy(), expression=whole)),
                                                           expression=_lit(1_000_000))), to=BIGINT.copy()),
             _lit(999_999))
    scaled = {3: exp.IntDiv(this=us, expression=_lit(1000)), 6: us, 9: exp.Mul(this=us, expression=_lit(1000))}[digits]
    return _fn("lpad", _text(scaled), _lit(digits), _lit("0"))


def strftime_sql(epoch: exp.Expression, fmt: str, tz: str, local: exp.Expression) -> exp.Expression:
    """`epoch` (seconds UTC) formatted with the Splunk format `fmt` in zone `tz`; `local` is the
    naive local timestamp of `epoch` in `tz`."""
    parts: list[exp.Expression] = []
    for kind, value in strftime_pieces(fmt):
        if kind == "duck":
            parts.append(_fn("strftime", local.copy(), _lit(value)))
        elif kind == "pad":
            parts.append(_fn("lpad", _fn("strftime", local.copy(), _lit(value)), _lit(2), _lit(" ")))
        elif kind == "subsec":
            parts.append(_subseconds(epoch, int(value)))
        elif kind == "epoch":
            parts.append(_text(exp.Cast(this=exp.Floor(this=epoch.copy()), to=BIGINT.copy())))
        elif kind == "offset":
            parts.append(_offset_text(_offset(epoch.copy(), local.copy())))
        elif kind == "zone":
            off = _offset(epoch.copy(), local.copy())
            names = zone_abbreviations(tz)
            ifs = [exp.If(this=exp.EQ(this=off.copy(), expression=_lit(o)), true=_lit(n)) for o, n in names.items()]
            parts.append(exp.Case(ifs=ifs, default=_offset_text(off)) if ifs else _offset_text(off))
        elif kind == "century":
            parts.append(_text(exp.IntDiv(this=_fn("year", local.copy()), expression=_lit(100))))
        else:   # isoyear2
            parts.append(_fn("right", _fn("strftime", local.copy(), _lit("%G")), _lit(2)))
    if not parts:
        return exp.Case(ifs=[exp.If(this=exp.Is(this=epoch.copy(), expression=exp.null()), true=exp.null())],
                        default=_lit(""))
    out = parts[0]
    for p in parts[1:]:
        out = exp.DPipe(this=out, expression=p)   # || : null epoch -> null text
    return out
