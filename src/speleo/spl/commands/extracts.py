"""rex mode=sed, fromjson, xmlkv (Splunk Search Reference pages of each command are cited in
each docstring).

fromjson and xmlkv create fields whose names are in the data. On events they register a field
source (`State.auto_json`): a field named later in the search is read from the JSON keys or
XML tags first. On results (no `_raw`) they are post steps on the Arrow result (query/post.py)
and the commands after them are compiled once their columns are known (commands/continuation.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.commands.rows import assign_many, options
from speleo.spl.cursor import Cursor, as_bool
from speleo.spl.functions import pcre_pattern, pcre_template, regex_literal, text
from speleo.spl.nodes import PcreReplace, RegexReplace, re_escape
from speleo.spl.state import State
from speleo.spl.tokens import T, Token, is_digits

# --- rex mode=sed --------------------------------------------------------------------------------


@dataclass
class RexSedCmd(ast.Command):
    """`rex [field=<field>] mode=sed "s/<regex>/<replacement>/<flags>"` or `"y/<from>/<to>/"`:
    `op` is "s" or "y"; for "s", `occurrence` is the N of an N flag (1 without one) and
    `every` the g flag; for "y", `regex` / `replacement` hold the two character lists."""

    field: str
    op: str
    regex: str
    replacement: str
    occurrence: int = 1
    every: bool = False


def _split_sed(cur: Cursor, tok: Token) -> tuple[str, list[str]]:
    """`s/a/b/g` -> ("s", ["a", "b", "g"]): parts split at unescaped delimiters; `\\<delim>`
    becomes the delimiter itself, other escapes are kept for the next step."""
    body = tok.value
    if len(body) < 2 or body[0] not in "sy":
        raise cur.error("expected a sed expression such as \"s/<regex>/<replacement>/g\" or \"y/abc/xyz/\"", tok)
    op, delim = body[0], body[1]
    if delim.isalnum() or delim in " \\":
        raise cur.error(f"invalid sed delimiter {delim!r}", tok)
    parts, cur_part, i = [], "", 2
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            cur_part += nxt if nxt == delim else ch + nxt
            i += 2
            continue
        if ch == delim:
            parts.append(cur_part)
            cur_part = ""
        else:
            cur_part += ch
        i += 1
    parts.append(cur_part)
    if len(parts) != 3:
        raise cur.error(f"a sed expression has three parts separated by {delim!r}", tok)
    return op, parts


def parse_rex(cur: Cursor, word: Token) -> ast.Node:
    """Splunk Search Reference: rex. `rex ... mode=sed <sed-expression>` parses here; any
    other rex goes to the extraction-mode parser (commands/evalcmd.py)."""
    from speleo.spl.commands.evalcmd import parse_rex as parse_extract

    j, sed = cur.i, False
    while cur.tokens[j].kind is not T.EOF:
        if cur.tokens[j].is_word("mode") and cur.tokens[j + 1].kind is T.OP and cur.tokens[j + 1].value == "=":
            sed = cur.tokens[j + 2].value.lower() == "sed"
        j += 1
    if not sed:
        return parse_extract(cur, word)
    opts = cur.options({"field", "mode"}, ignored=frozenset({"offset_field", "max_match"}))
    tok = cur.expect(T.STRING, "a quoted sed expression")
    opts.update(cur.options({"field", "mode"}, ignored=frozenset({"offset_field", "max_match"})))
    cur.expect_end()
    if opts["mode"].value.lower() != "sed":
        raise cur.error("mode must be sed", opts["mode"])
    op, (left, right, flags) = _split_sed(cur, tok)
    field = opts["field"].value if "field" in opts else "_raw"
    if op == "y":
        if flags:
            raise cur.error("y/// takes no flags", tok)
        left, right = _unescape_chars(left), _unescape_chars(right)
        if len(left) != len(right):
            raise cur.error("y/<from>/<to>/ needs two lists of the same length", tok)
        return RexSedCmd(field, "y", left, right, start=word.start, end=tok.end)
    every, occurrence = False, 1
    for m in flags.replace("g", " g ").split():
        if m == "g":
            every = True
        elif is_digits(m) and int(m) > 0:
            occurrence = int(m)
        else:
            raise cur.error(f"unknown sed flag {m!r} (Splunk supports g and a number)", tok)
    if not left:
        raise cur.error("the sed regular expression is empty", tok)
    return RexSedCmd(field, "s", left, right, occurrence, every, start=word.start, end=tok.end)


def _unescape_chars(chars: str) -> str:
    out, i = "", 0
    while i < len(chars):
        if chars[i] == "\\" and i + 1 < len(chars):
            out += {"n": "\n", "t": "\t"}.get(chars[i + 1], chars[i + 1])
            i += 2
        else:
            out += chars[i]
            i += 1
    return out


def re2_replacement(replacement: str) -> str:
    """A sed replacement in RE2's syntax: `\\1`..`\\9` stay group references (`\\0` the whole
    match), `\\n` / `\\t` are a newline / tab, any other escaped character is itself, and a
    literal backslash is doubled (RE2 reads `\\\\` as one backslash)."""
    out, i = "", 0
    while i < len(replacement):
        ch = replacement[i]
        if ch == "\\" and i + 1 < len(replacement):
            nxt = replacement[i + 1]
            if is_digits(nxt):
                out += "\\" + nxt
            else:
                lit = {"n": "\n", "t": "\t"}.get(nxt, nxt)
                out += "\\\\" if lit == "\\" else lit
            i += 2
            continue
        out += "\\\\" if ch == "\\" else ch
        i += 1
    return out


def _sed_template(replacement: str, pattern: str, state: State, node: ast.Node) -> str:
    """A sed replacement as a template of the `regex` package, read as the RE2 path reads it
    (re2_replacement): `\\<digit>` a group (checked by pcre_template), `\\n` / `\\t` a newline
    or tab, any other escaped character itself; an escaped backslash stays a backslash, also
    before a digit (`\\\\1` is a backslash and a 1, as in sed)."""
    re2 = re2_replacement(replacement)   # groups `\\<digit>`, a literal backslash `\\\\`
    out, i = [], 0
    while i < len(re2):
        ch = re2[i]
        if ch == "\\" and i + 1 < len(re2):
            nxt = re2[i + 1]
            out.append(pcre_template("\\" + nxt, pattern, state, node) if is_digits(nxt) else "\\\\")
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def compile_rex(state: State, cmd: ast.Node) -> None:
    """Splunk Search Reference: rex. Extraction mode (commands/evalcmd.py), or mode=sed:
    `s/<regex>/<replacement>/` replaces the first match in the field's value (default `_raw`),
    flag `g` every match, flag `N` the N-th match (`Ng`: the N-th and every later one);
    `\\1`..`\\9` in the replacement are the regex's groups. `y/<from>/<to>/` replaces each
    character of <from> by the character at the same place in <to>. The field gets the new
    text; a result without the field is left as it is."""
    from speleo.spl.commands.evalcmd import compile_rex as compile_extract

    if not isinstance(cmd, RexSedCmd):
        compile_extract(state, cmd)
        return
    value = text(state.field(cmd.field))
    if cmd.op == "y":
        out = exp.Anonymous(this="translate", expressions=[value, exp.Literal.string(cmd.regex),
                                                           exp.Literal.string(cmd.replacement)])
        assign_many(state, {cmd.field: out})
        return
    pcre = pcre_pattern(cmd.regex, state, cmd)
    if pcre is not None:   # look-around, back-references...: the regex package, with sed's flags
        repl = exp.Literal.string(_sed_template(cmd.replacement, cmd.regex, state, cmd))
        out = PcreReplace(this=value, expression=pcre, replacement=repl,
                          occurrence=exp.Literal.number(cmd.occurrence), every=exp.Boolean(this=cmd.every))
        assign_many(state, {cmd.field: out})
        return
    pattern = regex_literal(cmd.regex, state, cmd)
    repl = exp.Literal.string(re2_replacement(cmd.replacement))
    if cmd.occurrence == 1:
        out = _replace(value, pattern, repl, cmd.every)
    else:
        # the text up to the end of the (N-1)-th match is kept; the rest gets the replacement
        chunks = exp.Anonymous(this="regexp_extract_all", expressions=[
            value.copy(), exp.Literal.string("(?s:.*?)(?:" + pattern.this + ")"), exp.Literal.number(0)])
        kept = exp.Anonymous(this="array_to_string", expressions=[exp.Anonymous(this="list_slice", expressions=[
            chunks.copy(), exp.Literal.number(1), exp.Literal.number(cmd.occurrence - 1)]), exp.Literal.string("")])
        rest = exp.Anonymous(this="substr", expressions=[
            value.copy(), exp.Add(this=exp.Anonymous(this="length", expressions=[kept.copy()]),
                                  expression=exp.Literal.number(1))])
        enough = exp.GTE(this=exp.Anonymous(this="len", expressions=[chunks]),
                         expression=exp.Literal.number(cmd.occurrence))
        out = exp.Case(ifs=[exp.If(this=enough, true=exp.DPipe(this=kept, expression=_replace(
            rest, pattern.copy(), repl, cmd.every)))], default=value.copy())
    assign_many(state, {cmd.field: out})


def _replace(value: exp.Expression, pattern: exp.Expression, repl: exp.Expression, every: bool) -> exp.Expression:
    if every:
        return RegexReplace(this=value.copy(), expression=pattern.copy(), replacement=repl.copy())
    return exp.Anonymous(this="regexp_replace", expressions=[value.copy(), pattern.copy(), repl.copy()])


# --- fromjson, xmlkv -------------------------------------------------------------------------------


def _json_value(source: exp.Expression, key: str) -> exp.Expression:
    """The top-level key of a JSON object as text (objects and arrays as JSON text)."""
    valid = exp.Coalesce(this=exp.Anonymous(this="json_valid", expressions=[source.copy()]),
                         expressions=[exp.false()])
    doc = exp.Case(ifs=[exp.If(this=valid, true=exp.Cast(this=source.copy(), to=exp.DataType.build("JSON")))])
    path = '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return exp.Anonymous(this="json_extract_string", expressions=[doc, exp.Literal.string(path)])


def xml_pattern(tag: str) -> str:
    """RE2: the text of the first `<tag>text</tag>` element (attributes allowed, no child elements)."""
    t = re_escape(tag)
    return f"<{t}(?:\\s[^>]*)?>([^<]*)</{t}>"


def _xml_value(source: exp.Expression, tag: str) -> exp.Expression:
    raw = exp.Anonymous(this="regexp_extract", expressions=[source.copy(), exp.Literal.string(xml_pattern(tag)),
                                                            exp.Literal.number(1)])
    return exp.Nullif(this=raw, expression=exp.Literal.string(""))


def _register(state: State, field: str, reader, prefix: str = "") -> None:
    """Later references to a field not yet known read it through `reader(source, key)`."""
    source = text(state.field(field))

    def lookup(name: str, source=source) -> exp.Expression:
        if prefix and not name.startswith(prefix):
            return exp.null()
        key = name[len(prefix):]
        if not key:
            return exp.null()
        return state._only_present(reader(source.copy(), key))

    state.reopen_fields()   # after `fields`: the fields it reads exist again
    prev = state.auto_json
    state.auto_json = lookup if prev is None else (
        lambda n, a=lookup, p=prev: exp.Coalesce(this=a(n), expressions=[p(n)]))


def compile_fromjson(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: fromjson. Every top-level key of the JSON object in the field
    becomes a field (`prefix=` is put before the names). On events a field named later in the
    search is read from the object (as text; nested objects and arrays as JSON text) before
    key=value extraction. On results the keys are found in the data after the search ran:
    values are text, arrays become multivalue fields."""
    options(state, cmd, {"prefix"})
    field, prefix = cmd.args[0], cmd.options.get("prefix", "")
    if state.has_raw():
        _register(state, field, _json_value, prefix)
        return
    if field not in state.columns:
        return      # nothing to read: no field of that name in the results
    state.post.append({"kind": "fromjson", "field": field, "prefix": prefix})


def compile_xmlkv(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: xmlkv. Each `<key>value</key>` element of the field (default
    `_raw`) gives the field `key` (the first element of that name; elements holding other
    elements are skipped). On events a field named later in the search is read from the XML
    before key=value extraction; on results the tags are found in the data after the search
    ran. `maxinputs=` is accepted without effect."""
    options(state, cmd, {"maxinputs"})
    if len(cmd.args) > 1:
        raise state.fail("xmlkv takes one field", cmd)
    field = cmd.args[0] if cmd.args else "_raw"
    if state.has_raw():
        _register(state, field, _xml_value)
        return
    if field not in state.columns:
        return
    state.post.append({"kind": "xmlkv", "field": field})


def extract_with_delimiters(state: State, cmd: ast.ArgsCmd) -> None:
    """extract / kv `pairdelim="<chars>" kvdelim="<chars>"` (Search Reference: extract): pairs
    separated by any of the pairdelim characters, key and value by any kvdelim character. The
    names are only known in the data, so the fields read are those a later command names (a
    result without the pair keeps the field's value)."""
    from speleo.spl.commands.stats import _assign
    from speleo.spl.state import BASE_COLUMNS

    pair = cmd.options.get("pairdelim", " \t")
    kv = cmd.options.get("kvdelim", "=")
    if not kv:
        raise state.fail(f"{cmd.name} kvdelim= must name at least one character", cmd)
    pset = "".join(re_escape(c) for c in pair)
    kset = "".join(re_escape(c) for c in kv)
    raw = text(state.field("_raw"))
    for name in sorted(ast.field_names(state.later)):
        if name in BASE_COLUMNS or name.startswith("__speleo"):
            continue
        start = f"(?:^|[{pset}])" if pset else "^"
        pattern = f"{start}\\s*{re_escape(name)}\\s*[{kset}]\\s*([^{pset}]*)" if pset else \
            f"{start}\\s*{re_escape(name)}\\s*[{kset}](.*)"
        found = exp.Nullif(this=exp.Anonymous(this="regexp_extract", expressions=[
            raw.copy(), exp.Literal.string(pattern), exp.Literal.number(1)]), expression=exp.Literal.string(""))
        _assign(state, name, exp.Coalesce(this=found, expressions=[text(state.field(name))]))


def compile_multikv(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: multikv. Each event holding a table (the output of `ps`, `top`,
    `df`, `netstat`...) becomes one event per row: the header line names the fields (`%` reads
    `pct`, other characters that cannot be in a name `_`), each row's values are split on
    whitespace, the last field taking the rest of the line (a command with arguments). Options:
    `forceheader=<n>` (the header is line n, counted from 1), `noheader=true` (fields
    `Column_1`, `Column_2`...), `rmorig=false` (keep the original events too), `fields <name>...`
    (keep only those fields), `filter <term>...` (only rows holding one of the terms,
    case-insensitive). The events' other fields (`_time`, `host`, `source`...) are copied to
    each row. `multitable`, `conf`, `copyattrs` and `last_line` are refused. The Reference gives
    multikv no field option: it reads `_raw`, also a `_raw` set by `eval _raw=<field>` (a
    search-time field, or results without events); results without `_raw` are refused. Runs on
    the result (post step `multikv`, query/post.py)."""
    for key in ("multitable", "conf", "copyattrs", "last_line"):
        if key in cmd.options:
            raise state.fail(f"multikv {key}= is not supported", cmd)
    if "_raw" not in state.columns:
        raise state.fail("multikv reads the table in _raw only (the Search Reference gives it no field option); "
                         "to read another field, copy it first: eval _raw=<field> | multikv", cmd)
    if not state.top_level:
        raise state.fail("multikv is not supported in a subsearch", cmd)
    fields: list[str] = []
    terms: list[str] = []
    target = None
    for a in cmd.args:
        if a.lower() in ("fields", "filter"):
            target = fields if a.lower() == "fields" else terms
        elif target is None:
            raise state.fail(f"multikv: unexpected {a!r} (write fields <name>... or filter <term>...)", cmd)
        else:
            target.append(a)
    header = cmd.options.get("forceheader")
    if header is not None and (not is_digits(header) or int(header) < 1):
        raise state.fail("multikv forceheader must be a line number from 1", cmd)
    state.post.append({"kind": "multikv", "fields": fields, "filter": terms,
                       "forceheader": int(header) if header else None,
                       "noheader": as_bool(cmd.options.get("noheader", "false")),
                       "rmorig": as_bool(cmd.options.get("rmorig", "true")),
                       "columns": [c for c in state.columns if not c.startswith("__speleo")] + fields})
