"""A captured market page made safe to look at: text and structure only.

Allow-list sanitising with nh3 (ammonia): no script, style, form, frame,
object or meta elements; no event handlers, no style attributes (so no CSS
``url()``), no links anywhere (``href`` dropped), images only from ``data:``
URLs. The result is still served from its own route in a sandboxed frame with
a CSP that forbids scripts and every network load, so a sanitiser gap alone
cannot run code or reach the network.
"""
from __future__ import annotations

import nh3

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small",
    "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}
ATTRIBUTES = {"img": {"src", "alt", "width", "height"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"},
              "*": {"title"}}
DROP_WITH_CONTENT = {"script", "style", "template", "noscript", "iframe", "object", "embed", "svg", "math",
                     "title", "textarea", "select"}


def _attribute(tag: str, name: str, value: str) -> str | None:
    if tag == "img" and name == "src":
        return value if value.strip().lower().startswith("data:image/") else None
    return value


def sanitise(html: str) -> str:
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, clean_content_tags=DROP_WITH_CONTENT,
                     attribute_filter=_attribute, url_schemes={"data"}, link_rel=None, strip_comments=True,
                     url_relative="deny")


def decode(body: bytes, content_type: str | None) -> str:
    charset = None
    if content_type and "charset=" in content_type.lower():
        charset = content_type.lower().split("charset=", 1)[1].split(";")[0].strip().strip('"')
    for encoding in (charset, "utf-8", "cp1251"):
        if not encoding:
            continue
        try:
            return body.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("utf-8", errors="replace")


def safe_page(body: bytes, content_type: str | None) -> str:
    """A whole document: the sanitised page with nothing in its head that could act."""
    return ('<!doctype html><html><head><meta charset="utf-8"><title>captured page</title></head><body>'
            + sanitise(decode(body, content_type)) + "</body></html>")
