"""Splunk's token substitution (Simple XML reference, "Token usage in dashboards").

`$name$` is replaced by the token's value; `$$` is a literal `$`; a filter after `|` changes
how the value is written: `|s` quotes it as an SPL string (`"..."`, with `"` and `\\` escaped),
`|h` escapes it for HTML, `|u` encodes it for a URL, `|n` leaves it as is (the default in
Speleo: values are inserted unchanged unless a filter says otherwise). A reference to a token
that has no value leaves the text unresolved: the caller gets the missing names and does not
run the search ("waiting for input").
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote

TOKEN_RE = re.compile(r"\$\$|\$([A-Za-z0-9_.:\-]+)((?:\|[shun])*)\$")
FILTERS = {
    "s": lambda v: '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"',
    "h": lambda v: html.escape(v, quote=True),
    "u": lambda v: quote(v, safe=""),
    "n": lambda v: v,
}


def references(text: str) -> set[str]:
    """The token names `text` refers to (`$$` is no reference)."""
    return {m.group(1) for m in TOKEN_RE.finditer(text or "") if m.group(1)}


def substitute(text: str, values: dict[str, str]) -> tuple[str, set[str]]:
    """(`text` with its tokens replaced, the names of the tokens without a value). With missing
    names, the returned text still holds their `$name$` references."""
    missing: set[str] = set()

    def one(m: re.Match) -> str:
        name = m.group(1)
        if not name:
            return "$"
        value = values.get(name)
        if value is None:
            missing.add(name)
            return m.group(0)
        value = str(value)
        for f in (m.group(2) or "").split("|")[1:]:
            value = FILTERS[f](value)
        return value

    return TOKEN_RE.sub(one, text or ""), missing


def input_value(raw, *, prefix: str = "", suffix: str = "", value_prefix: str = "", value_suffix: str = "",
                delimiter: str = " ") -> str:
    """The value an input gives its token (Simple XML input options): a multiselect's values each
    wrapped in `value_prefix`/`value_suffix` and joined by `delimiter`, then the whole in
    `prefix`/`suffix`. `raw` is a string or a list of strings."""
    if isinstance(raw, list):
        body = delimiter.join(f"{value_prefix}{v}{value_suffix}" for v in raw)
    else:
        body = str(raw)
    return f"{prefix}{body}{suffix}"
