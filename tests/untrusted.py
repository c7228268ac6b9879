"""What JupyterLab shows of an untrusted notebook's HTML output.

JupyterLab passes the HTML output of a notebook it does not trust through its sanitizer
(packages/apputils/src/sanitizer.ts, on sanitize-html): tags outside an allow-list are
removed (``<style>`` and ``<script>`` with their content), attributes outside a per-tag
allow-list are removed (``class``, ``id``, ``style`` and ``title`` are allowed everywhere;
``role``, ``aria-*``, ``tabindex`` on a div and ``data-*`` are not), and each declaration of
an inline style is kept only when its property is allowed and its value matches that
property's pattern. This module applies those rules, for the tags, attributes and style
properties a report uses, and says what it removed; a property it does not know counts as
removed, so a new one is checked against the sanitizer before a test lets it pass.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

__all__ = ["sanitize"]

TAGS = {
    *[
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "code",
        "col",
        "colgroup",
        "dd",
        "del",
        "details",
        "div",
        "dl",
        "dt",
        "em",
    ],
    *[
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "small",
    ],
    *[
        "span",
        "strong",
        "sub",
        "summary",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "time",
        "tr",
        "u",
        "ul",
    ],
}
DROPPED_WITH_CONTENT = {"script", "style", "textarea", "option", "noscript"}
EVERYWHERE = {"class", "dir", "hidden", "id", "lang", "style", "title", "translate"}
BY_TAG = {
    "a": {"href", "hreflang", "name", "rel", "tabindex", "target", "type"},
    "img": {"align", "alt", "border", "height", "name", "src", "width"},
    "th": {"abbr", "align", "colspan", "headers", "rowspan", "scope", "valign", "width"},
    "td": {"abbr", "align", "colspan", "headers", "rowspan", "scope", "valign", "width"},
    "table": {"align", "border", "cellpadding", "cellspacing", "summary", "width"},
    "div": {"align"},
    "p": {"align"},
    "ol": {"start", "type", "reversed"},
    "li": {"type", "value"},
}
_NUMBER = r"[+-]?([0-9]*[.])?[0-9]+"
_LENGTH = rf"({_NUMBER}(px|em|rem|ex|in|cm|mm|pt|pc)|0)"
_LENGTH_OR_SHARE = rf"(0|{_NUMBER}(px|em|rem|ex|in|cm|mm|pt|pc|%))"
_POSITIVE = r"([+]?([0-9]*[.])?[0-9]+(px|em|rem|ex|in|cm|mm|pt|pc|%)|0)"
_COLOUR = (
    r"(#(0x)?[0-9a-f]+|rgb\(\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*\)|black|white|gray|"
    r"grey|red|green|blue|orange|transparent)"
)
_BORDER_STYLE = "(none|hidden|dotted|dashed|solid|double|groove|ridge|inset|outset)"
_BORDER = rf"(((thin|medium|thick|{_LENGTH})|{_BORDER_STYLE}|{_COLOUR})\s*){{1,3}}"
STYLES = {
    "background": rf"{_COLOUR}",
    "background-color": _COLOUR,
    "border": _BORDER,
    "border-top": _BORDER,
    "border-right": _BORDER,
    "border-bottom": _BORDER,
    "border-left": _BORDER,
    "border-color": rf"({_COLOUR}\s*){{1,4}}",
    "border-collapse": "collapse|separate",
    "border-radius": rf"({_LENGTH_OR_SHARE}\s*){{1,4}}",
    "color": _COLOUR,
    "display": "inline|block|inline-block|table|table-cell|flex|grid|none",
    "font-size": rf"xx-small|x-small|small|medium|large|x-large|xx-large|smaller|larger|{_POSITIVE}",
    "font-style": "normal|italic|oblique",
    "font-weight": "normal|bold|bolder|lighter|[1-9]00",
    "line-height": rf"normal|[+]?([0-9]*[.])?[0-9]+|{_POSITIVE}",
    "margin": rf"(({_LENGTH_OR_SHARE}|auto)\s*){{1,4}}",
    "margin-top": rf"{_LENGTH_OR_SHARE}|auto",
    "margin-bottom": rf"{_LENGTH_OR_SHARE}|auto",
    "margin-left": rf"{_LENGTH_OR_SHARE}|auto",
    "margin-right": rf"{_LENGTH_OR_SHARE}|auto",
    "max-width": rf"{_POSITIVE}|none|auto",
    "min-width": rf"{_POSITIVE}|auto",
    "overflow-wrap": "normal|break-word",
    "overflow-x": "visible|hidden|scroll|auto",
    "padding": rf"({_POSITIVE}\s*){{1,4}}",
    "text-align": "left|right|center|justify",
    "vertical-align": rf"baseline|sub|super|top|text-top|middle|bottom|text-bottom|{_LENGTH_OR_SHARE}",
    "white-space": "normal|pre|nowrap|pre-wrap|pre-line",
    "width": rf"{_POSITIVE}|auto",
    "word-break": "normal|keep-all|break-all",
}


def _kept(declaration: str) -> bool:
    name, _, value = declaration.partition(":")
    pattern = STYLES.get(name.strip().lower())
    return pattern is not None and re.fullmatch(pattern, value.strip(), re.I) is not None


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.out: list[str] = []
        self.dropped: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROPPED_WITH_CONTENT:
            self.skipping += 1
            self.dropped.append(f"<{tag}>")
            return
        if self.skipping:
            return
        if tag not in TAGS:
            self.dropped.append(f"<{tag}>")
            return
        kept = []
        for name, value in attrs:
            if name not in EVERYWHERE | BY_TAG.get(tag, set()):
                self.dropped.append(f"{tag}[{name}]")
                continue
            if name == "style":
                declarations = [d.strip() for d in (value or "").split(";") if d.strip()]
                self.dropped += [f"{tag} style {d}" for d in declarations if not _kept(d)]
                value = ";".join(d for d in declarations if _kept(d))
                if not value:
                    continue
            kept.append(f' {name}="{html.escape(value or "", quote=True)}"')
        self.out.append(f"<{tag}{''.join(kept)}>")

    def handle_endtag(self, tag: str) -> None:
        if tag in DROPPED_WITH_CONTENT:
            self.skipping = max(self.skipping - 1, 0)
        elif not self.skipping and tag in TAGS:
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(data)

    def handle_entityref(self, name: str) -> None:
        if not self.skipping:
            self.out.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        if not self.skipping:
            self.out.append(f"&#{name};")


def sanitize(markup: str) -> tuple[str, list[str]]:
    """The HTML an untrusted notebook shows, and what was removed ("<style>",
    "div[role]", "td style font-variant-numeric:tabular-nums")."""
    parser = _Sanitizer()
    parser.feed(markup)
    parser.close()
    return "".join(parser.out), parser.dropped
