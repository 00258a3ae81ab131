"""Search-time field extraction, as SQL.

A field that is not a base column is computed from `_raw` when a search uses it, as Splunk
does at search time (Splunk Search Reference, "About fields"): an indexed field stored in
`_fields` first (HEC `fields`, syslog facility/severity), then the sourcetype's regular
expression extractions first, then JSON (dotted paths for nested objects) when the event is a
JSON object, then automatic `key=value` pairs. The result is VARCHAR, or NULL when the event
does not have the field. Patterns and names are literals in the sqlglot tree, never SQL text.
"""

from __future__ import annotations

import dataclasses
import re
from functools import lru_cache

from sqlglot import exp

from speleo import sourcetypes
from speleo.storage.profile import Profile
from speleo.storage.schema import BASE_COLUMNS

RE2_SPECIAL = set("\\.^$*+?{}[]|()")


def re2_escape(text: str) -> str:
    """Escape a literal for both RE2 and Python `re` (only the metacharacters)."""
    return "".join("\\" + c if c in RE2_SPECIAL else c for c in text)


def column(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def _regex_group(source: exp.Expression, regex: str, group: int) -> exp.Expression:
    extracted = exp.RegexpExtract(this=source, expression=exp.Literal.string(regex), group=exp.Literal.number(group))
    return exp.func("nullif", extracted, exp.Literal.string(""))


def single_group(regex: str, name: str) -> str:
    """Rewrite `regex` so that group `name` is its only capturing group (number 1).

    Other groups become non-capturing: DuckDB's RE2 takes group numbers 0-9 only, and one
    group is all an extraction needs.
    """
    out, i, in_class = [], 0, False
    while i < len(regex):
        c = regex[i]
        if c == "\\":
            out.append(regex[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if regex[i + 1 : i + 2] == "]":
                out.append("[]")
                i += 2
                continue
        elif c == "(":
            m = re.match(r"\(\?P<(\w+)>", regex[i:])
            if m:
                out.append("(" if m.group(1) == name else "(?:")
                i += m.end()
                continue
            if not regex.startswith("(?", i):
                out.append("(?:")
                i += 1
                continue
        out.append(c)
        i += 1
    return "".join(out)


Table = tuple[tuple[str, sourcetypes.Extraction], ...]
BUILTIN_TABLE: Table = tuple((st.name, ext) for st in sourcetypes.BUILTIN.values() for ext in st.extractions)


def extraction_table(props=None) -> Table:
    """(sourcetype, extraction) pairs: the built-ins, then `extractions` from props.toml sections."""
    extra = []
    for st_name, settings in (props.sourcetypes.items() if props else ()):
        extra += [(st_name, sourcetypes.Extraction(rx)) for rx in settings.get("extractions", ())]
    return BUILTIN_TABLE + tuple(extra)


def _sourcetype_extractions(name: str, table: Table, single: bool = False) -> exp.Expression | None:
    """CASE sourcetype WHEN st THEN COALESCE(every regex of st that defines `name`) END; with
    `single` (every event read has the one sourcetype of `table`), the COALESCE alone. An
    extraction on another field reads that field as the same sourcetype computes it."""
    by_st: dict[str, list[exp.Expression]] = {}
    for st_name, ext in table:
        if name not in re.compile(ext.regex).groupindex:
            continue
        if ext.field in BASE_COLUMNS:
            src: exp.Expression = column(ext.field)
        else:
            src = _chained(ext.field, st_name, tuple(pair for pair in table if pair[0] == st_name)).copy()
        by_st.setdefault(st_name, []).append(_extracted(src, ext, name))
    values = {st: v[0] if len(v) == 1 else exp.func("coalesce", *v) for st, v in by_st.items()}
    if single and len(values) == 1:
        return next(iter(values.values()))
    ifs = [exp.If(this=exp.EQ(this=column("sourcetype"), expression=exp.Literal.string(st)), true=v)
           for st, v in values.items()]
    return exp.Case(ifs=ifs) if ifs else None


@lru_cache(maxsize=1024)
def _chained(name: str, st_name: str, own: Table) -> exp.Expression:
    """Field `name` as the sourcetype `st_name` computes it, for an extraction that reads it
    (`own`: that sourcetype's extractions): its own extractions of `name`, then JSON when the
    sourcetype is JSON, then key=value when it has them (as `sourcetypes.extract_fields`)."""
    st = sourcetypes.get(st_name)
    parts = [_sourcetype_extractions(name, own, single=True), _json_extraction(name) if st.json else None,
             _kv_extraction(name) if st.kv else None]
    found = [p for p in parts if p is not None] or [exp.Null()]
    return found[0] if len(found) == 1 else exp.func("coalesce", *found)


def _extracted(src: exp.Expression, ext: sourcetypes.Extraction, name: str) -> exp.Expression:
    """Group `name` of the extraction's regex in `src`, translated by its `values` table:
    list_element(values, list_position(keys, lower(text))), NULL for text not in the table (a
    CASE would repeat the extraction once per key, which DuckDB plans slowly)."""
    from speleo.spl.functions import pcre_feature

    if pcre_feature(ext.regex) is not None:   # look-around, back-references: the regex package, as rex does
        from speleo.spl.nodes import PcreExtract

        found = PcreExtract(this=src, expression=exp.Literal.string(ext.regex), group=exp.Literal.string(name))
    else:
        found = _regex_group(src, single_group(ext.regex, name), 1)
    if not ext.values:
        return found
    keys = exp.Array(expressions=[exp.Literal.string(k) for k, _ in ext.values])
    values = exp.Array(expressions=[exp.Literal.string(v) for _, v in ext.values])
    return exp.func("list_element", values, exp.func("list_position", keys, exp.func("lower", found)))


def json_path(name: str) -> str:
    """JSON path of a dotted field name: `connections.active` -> `$."connections"."active"`."""
    parts = [p.replace('"', '\\"') for p in name.split(".")]
    return "$." + ".".join(f'"{p}"' for p in parts)


JSON_SPLIT_DOTS = 5   # a name with at most this many dots tries every way its dots split keys (32 paths)


def json_paths(name: str) -> list[str]:
    """JSON paths a dotted field name may stand for, the most likely first. A JSON field's name
    is its keys joined by dots (Splunk's KV_MODE=json), and a key may itself hold dots
    (`server_zones.hg.nginx.org.requests` is `server_zones` > `hg.nginx.org` > `requests`): every
    grouping of the parts into keys is tried, each dot a separator first, for names with at most
    JSON_SPLIT_DOTS dots; a longer name tries its parts as keys, then the whole name as one key.
    Shape: `a.b` -> [`$."a"."b"`, `$."a.b"`]."""
    parts = name.split(".")
    if len(parts) == 1:
        return [json_path(name)]
    if len(parts) - 1 > JSON_SPLIT_DOTS:
        return [json_path(name), json_path_flat(name)]
    groupings = []
    for mask in range(2 ** (len(parts) - 1)):   # bit i set: the dot after part i joins, not separates
        keys, cur = [], parts[0]
        for i, part in enumerate(parts[1:]):
            if mask >> i & 1:
                cur += "." + part
            else:
                keys.append(cur)
                cur = part
        keys.append(cur)
        groupings.append(keys)
    groupings.sort(key=lambda keys: -len(keys))   # stable: fewer joined dots first
    return ["$." + ".".join('"' + k.replace('"', '\\"') + '"' for k in keys) for keys in groupings]


def _json_extraction(name: str) -> exp.Expression:
    raw = column("_raw")
    is_obj = exp.and_(
        exp.func("starts_with", raw, exp.Literal.string("{")),
        exp.func("json_valid", raw),
    )
    values = [exp.func("json_extract_string", raw.copy(), exp.Literal.string(p)) for p in json_paths(name)]
    value = values[0] if len(values) == 1 else exp.func("coalesce", *values)
    return exp.Case(ifs=[exp.If(this=is_obj, true=value)])


KEY_LEFT = r'(?:^|[^A-Za-z0-9_.\-])'   # a key starts the text or follows a character not allowed in keys


def kv_pattern(name: str) -> str:
    """Regex for an unquoted `name=value` with the key bounded on the left; group 1 is the value
    (empty when the value is quoted: see `kv_quoted_pattern`)."""
    return KEY_LEFT + re2_escape(name) + r'=([^\s,;"&]*)'


def kv_quoted_pattern(name: str) -> str:
    """Regex for `name="quoted value"`; group 1 is the value without its quotes."""
    return KEY_LEFT + re2_escape(name) + r'="([^"]*)"'


def _guarded_group(needle: str, pattern: str) -> exp.Expression:
    """Group 1 of `pattern` in `_raw`, NULL when empty; the regex runs only on events whose text
    contains `needle` (the guard is on the regex's input, not a CASE around its result, which
    DuckDB evaluates much more slowly when most events match)."""
    raw = column("_raw")
    guarded = exp.Case(ifs=[exp.If(this=exp.func("contains", raw, exp.Literal.string(needle)), true=raw.copy())])
    extracted = exp.RegexpExtract(this=guarded, expression=exp.Literal.string(pattern), group=exp.Literal.number(1))
    return exp.func("nullif", extracted, exp.Literal.string(""))


def _kv_extraction(name: str) -> exp.Expression:
    """`name=value` from `_raw`: the unquoted form, else (only in events containing `name="`) the
    quoted one. Two single-group regexes cost less in DuckDB than one with a group per form, or
    than trimming the quotes off one match."""
    return exp.func("coalesce", _guarded_group(name + "=", kv_pattern(name)),
                    _guarded_group(name + '="', kv_quoted_pattern(name)))


def _indexed(name: str) -> exp.Expression:
    """The value of an indexed field (the `_fields` JSON object), else NULL."""
    value = exp.func("json_extract_string", column("_fields"), exp.Literal.string(json_path_flat(name)))
    has = exp.Not(this=exp.Is(this=column("_fields"), expression=exp.Null()))
    return exp.Case(ifs=[exp.If(this=has, true=value)])


def json_path_flat(name: str) -> str:
    """JSON path of a key that may itself contain dots (indexed field names are flat)."""
    return '$."' + name.replace('"', '\\"') + '"'


@lru_cache(maxsize=4096)
def _field_sql_cached(name: str, table: Table, profile: Profile | None = None) -> exp.Expression:
    if profile is not None:   # only the branches the events read can take
        table = tuple((st, ext) for st, ext in table if st in profile.sourcetypes)
    parts = [
        _indexed(name) if profile is None or profile.fields else None,
        _sourcetype_extractions(name, table, single=profile is not None and len(profile.sourcetypes) == 1
                                and not profile.null_sourcetype),
        _json_extraction(name) if profile is None or profile.json else None,
        _kv_extraction(name),
    ]
    parts = [p for p in parts if p is not None]
    return parts[0] if len(parts) == 1 else exp.func("coalesce", *parts)


def _field(name: str, table: Table, profile: Profile | None = None) -> exp.Expression:
    if name in BASE_COLUMNS:
        return column(name)
    return _field_sql_cached(name, table, profile).copy()


def field_sql(name: str) -> exp.Expression:
    """SQL expression (sqlglot) for a search-time field of the `__events__` relation.

    Base columns come back as plain column references; anything else as the extraction
    chain above (built-in sourcetypes only). Returns a fresh copy the caller may embed.
    """
    return _field(name, BUILTIN_TABLE)


DATE_PARTS = {   # Splunk's default date_* fields: name -> strftime format
    "date_second": "%S", "date_minute": "%M", "date_hour": "%H", "date_mday": "%d",
    "date_year": "%Y", "date_month": "%B", "date_wday": "%A",
}


def date_field(name: str, tz_name: str) -> exp.Expression:
    """`date_hour`, `date_wday`... of `_time` in the zone `tz_name` (Splunk: "Use default fields").

    Numbers without leading zeros, month and weekday names in lower case, as Splunk gives them.
    Splunk reads them from the timestamp as written in the event; Speleo from `_time` in the
    configured zone, which is the same for events written in that zone.
    """
    local = exp.func("timezone", exp.Literal.string(tz_name), exp.func("to_timestamp", column("_time")))
    text = exp.func("strftime", local, exp.Literal.string(DATE_PARTS[name]))
    if name in ("date_month", "date_wday"):
        return exp.func("lower", text)
    return exp.cast(exp.cast(text, "INT"), "VARCHAR")


_DIGITS_GROUP = re.compile(r"(?:\\d|\[0-9\])(?:\{\d+(?:,\d*)?\}|\+|\*)?")


def _group_text(regex: str, name: str) -> str | None:
    """The text of the named group `name` of `regex` (between its parentheses), or None."""
    from speleo.spl.regexwalk import structural

    m = re.search(r"\(\?P?<" + re.escape(name) + ">", regex)
    if not m:
        return None
    depth = 1
    for i in structural(regex, m.end()):
        if regex[i] == "(":
            depth += 1
        elif regex[i] == ")":
            depth -= 1
            if depth == 0:
                return regex[m.end():i]
    return None


@lru_cache(maxsize=1024)
def digits_only_sourcetypes(name: str, table: Table) -> frozenset:
    """The sourcetypes whose own extractions of `name` can only give digits (every regex of the
    sourcetype naming it reads `_raw`, has no value table, and its group is `\\d{3}`, `\\d+`,
    `[0-9]*`...): there, a value numerically equal to an integer holds that integer's digits."""
    found: dict[str, bool] = {}
    for st_name, ext in table:
        if name not in re.compile(ext.regex).groupindex:
            continue
        text = _group_text(ext.regex, name)
        ok = ext.field == "_raw" and not ext.values and text is not None and bool(_DIGITS_GROUP.fullmatch(text))
        found[st_name] = found.get(st_name, True) and ok
    return frozenset(st for st, ok in found.items() if ok)


class FieldSql:
    """The `field_sql` callable of a compile (see `field_sql_for`); `used` records whether the
    search extracted any field, so the engine knows whether specializing it can help."""

    def __init__(self, props=None, tz_name: str = "UTC", profile: Profile | None = None) -> None:
        self.props, self.tz_name, self.profile = props, tz_name, profile
        self.table = extraction_table(props)
        self.used = False

    def __call__(self, name: str) -> exp.Expression:
        if name in DATE_PARTS:
            return date_field(name, self.tz_name)
        if name not in BASE_COLUMNS:
            self.used = True
        return _field(name, self.table, self.profile)

    def digits_only_sourcetypes(self, name: str) -> frozenset:
        """See the module function: for this compile's extraction table (props included)."""
        return digits_only_sourcetypes(name, self.table)

    def specialized(self, profile: Profile) -> "FieldSql":
        """The same extraction for events described by `profile` (storage.profile)."""
        return FieldSql(self.props, self.tz_name, profile)

    def for_columns(self, present: set[str]) -> "FieldSql":
        """The extraction where only the columns `present` can be read: without `sourcetype`
        (a command dropped it) no sourcetype's regexes apply, also when the profile has one
        sourcetype (whose regexes would otherwise apply to every event)."""
        if self.profile is None or "sourcetype" in present or not self.profile.sourcetypes:
            return self
        return FieldSql(self.props, self.tz_name, dataclasses.replace(self.profile, sourcetypes=frozenset()))


def field_sql_for(props=None, tz_name: str = "UTC", profile: Profile | None = None) -> FieldSql:
    """`field_sql` that also applies the `extractions` of a props.toml, gives the `date_*`
    fields in the zone `tz_name`, and, given the profile of the buckets a search reads, leaves
    out the branches (indexed fields, other sourcetypes' regexes, JSON) none of their events
    can take."""
    return FieldSql(props, tz_name, profile)
