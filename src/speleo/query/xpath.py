"""XPath over XML field values for the `xpath` command (Splunk Search Reference: xpath).

Splunk's xpath "supports the syntax described in the Python Standard Library" (ElementTree's
XPath subset), and Speleo runs that same subset: `tag`, `*`, `.`, `//`, `..`, `[@attrib]`,
`[@attrib='value']`, `[tag]`, `[tag='text']`, `[position]`. As Splunk's examples need, a path
may end in `/@name` (the attribute's value) or `/text()`, a path starting with `/` or `//` is
read from the top of the value, and the value may hold several top-level elements (it is read
inside a wrapper element). The XML declaration and a DOCTYPE are skipped rather than giving
no result as in Splunk (its documentation names that as a limit); entities a DOCTYPE would
declare are therefore never expanded.

`values(text, path)`: the texts (an element's text content, whitespace-trimmed) or attribute
values the path selects, in document order, at most `MAX_VALUES` of them and `MAX_OUTPUT_CHARS`
in all (nested elements each repeat their children's text); None when there are none, the
value is not XML, or it is longer than `MAX_XML_CHARS`. Raises `XPathError` for a path ElementTree refuses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import lru_cache

MAX_XML_CHARS = 1_000_000
MAX_OUTPUT_CHARS = 1_000_000   # of all the values of one event
MAX_VALUES = 10_000            # values of one event
_PROLOGUE = re.compile(r"^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!DOCTYPE(?:[^\[>]|\[[^\]]*\])*>\s*)?", re.I)
_TAIL = re.compile(r"^(?P<path>.*?)(?:/@(?P<attr>[\w:.-]+)|/text\(\))?$", re.S)


class XPathError(ValueError):
    """An XPath expression outside ElementTree's subset."""


@lru_cache(maxsize=256)
def _compile(path: str) -> tuple[str, str | None]:
    if "|" in path:
        raise XPathError(f"xpath: {path!r} is not in the XPath syntax xpath supports: ElementTree has no "
                         "union (|); run xpath once per path")
    m = _TAIL.match(path.strip())
    inner, attr = m.group("path"), m.group("attr")
    if inner.startswith("//"):
        inner = "." + inner
    elif inner.startswith("/"):
        inner = "./" + inner[1:] if len(inner) > 1 else "."
    elif not inner:
        inner = "."
    try:
        ET.Element("probe").findall(inner)
    except (SyntaxError, KeyError, TypeError, IndexError, ValueError) as e:
        raise XPathError(f"xpath: {path!r} is not in the XPath syntax xpath supports (Python ElementTree's: "
                         "tag, *, ., //, .., [@attr], [@attr='value'], [tag], [tag='text'], [n], and a final "
                         "/@attr or /text())") from None
    return inner, attr


def check(path: str) -> None:
    """Raise XPathError when `path` is outside the supported syntax."""
    _compile(path)


def values(text: str | None, path: str) -> list[str] | None:
    """See the module's docstring."""
    if text is None or len(text) > MAX_XML_CHARS:
        return None
    inner, attr = _compile(path)
    body = _PROLOGUE.sub("", text, count=1)
    try:
        root = ET.fromstring(f"<speleo-xpath-root>{body}</speleo-xpath-root>")
    except ET.ParseError:
        return None
    out, size = [], 0
    for el in root.iterfind(inner):
        if attr is not None:
            v = el.get(attr)
            if v is None:
                continue
        elif len(el):   # an element holding others: its text content, bounded (nesting makes it quadratic)
            parts, n = [], 0
            for piece in el.itertext():
                parts.append(piece)
                n += len(piece)
                if n > MAX_OUTPUT_CHARS:
                    break
            v = "".join(parts).strip()
        else:
            v = (el.text or "").strip()
        out.append(v[:MAX_OUTPUT_CHARS])
        size += len(v)
        if size > MAX_OUTPUT_CHARS or len(out) >= MAX_VALUES:   # bounded whatever the nesting
            break
    return out or None
