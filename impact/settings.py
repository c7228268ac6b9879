"""Project settings: the report's look (logo, colours, footer text) for every review.

Set in the project's ``pyproject.toml`` under ``[tool.impact.report]``, or in an
``impact.toml`` under ``[report]``; the nearest such file above the spec wins (an
``impact.toml`` before a ``pyproject.toml`` in the same folder)::

    [tool.impact.report]
    logo = "brand/logo.png"            # relative to the settings file; embedded in the report
    logo_alt = "Checkout team"
    footer = "Checkout team · questions to #checkout-analytics"
    colors = {accent = "#0b5fff", text = "#1b1b1b", background = "#ffffff"}

The runner passes the look to the report template it already has (``impact/templates/
report``), which draws a header, a footer and a few CSS rules from it: no nbconvert template
is copied. The quarter review wears the same look, and so does the portfolio page
(``reports/index.html``, drawn by ``impact.portfolio`` with the same header, footer and
rules). Every value is checked (colours are ``#rrggbb``, the logo an image file of at most
512 KB) and escaped; a wrong one is bad input (exit 2) naming the file and the key.
"""

from __future__ import annotations

import base64
import difflib
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from impact.errors import SpecError

__all__ = ["ReportLook", "report_look"]

LOGO_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}
LOGO_LIMIT = 512 * 1024  # bytes: the report stays small enough to mail
KEYS = ("logo", "logo_alt", "footer", "colors")
COLORS = ("accent", "text", "background")
_HEX = set("0123456789abcdefABCDEF")


@dataclass(frozen=True)
class ReportLook:
    """The report's look from project settings (the defaults when there are none).

    Attributes:
        source: the settings file it was read from, or None.
        logo: the logo as a data URI, or None.
        logo_alt: the logo's alt text.
        footer: a line of text at the foot of every report, or None.
        colors: ``accent``, ``text`` and ``background`` as ``#rrggbb`` (only those set).
    """

    source: Path | None = None
    logo: str | None = None
    logo_alt: str = "logo"
    footer: str | None = None
    colors: dict[str, str] = field(default_factory=dict)

    def resources(self) -> dict[str, str]:
        """What the report template draws: ``header``, ``footer`` (HTML) and ``css``."""
        return {
            "header": _html(self.header()),
            "footer": _html(self.footer_element()),
            "css": self.css(),
        }

    def header(self) -> ET.Element | None:
        """The logo's header, or None without a logo."""
        if self.logo is None:
            return None
        header = ET.Element("header", {"class": "impact-look-header"})
        ET.SubElement(header, "img", {"src": self.logo, "alt": self.logo_alt, "height": "40"})
        return header

    def footer_element(self) -> ET.Element | None:
        """The footer line, or None without one."""
        if self.footer is None:
            return None
        footer = ET.Element("footer", {"class": "impact-look-footer"})
        footer.text = self.footer
        return footer

    def css(self, body: str = "body.jp-Notebook") -> str:
        """The look's style rules for a page whose body matches ``body``: the notebook
        reports' (the default), or ``body`` for the portfolio page, drawn without nbconvert."""
        rules = [
            ".impact-look-header { padding: 0.5rem 0; margin-bottom: 0.5rem; }",
            ".impact-look-footer { max-width: 72rem; margin: 0 auto; padding: 0.75rem 1rem; "
            "font-size: 0.85rem; color: #444; }",
        ]
        accent = self.colors.get("accent")
        if accent:
            rules += [
                f"{body} h1, {body} h2 {{ color: {accent}; }}",
                # the verdict card's outcome keeps its own colour: a brand's red is no revert
                f"{body} .impact-card h1 {{ color: inherit; }}",
                f"{body} a {{ color: {accent}; }}",
                f".impact-look-header {{ border-bottom: 3px solid {accent}; }}",
                f".impact-look-footer {{ border-top: 3px solid {accent}; }}",
            ]
        if "text" in self.colors:
            rules.append(f"{body} {{ color: {self.colors['text']}; }}")
        if "background" in self.colors:
            rules.append(f"{body} {{ background: {self.colors['background']}; }}")
        return "\n".join(rules)


def _html(element: ET.Element | None) -> str:
    return "" if element is None else ET.tostring(element, encoding="unicode", method="html")


def report_look(start: Path) -> ReportLook:
    """The report's look for a spec in folder ``start``: from the nearest settings file.

    Raises:
        SpecError: the settings file cannot be read, or a value is wrong (exit 2).
    """
    for folder in (start.absolute(), *start.absolute().parents):
        for name, keys in (("impact.toml", ("report",)), ("pyproject.toml", ("tool", "impact"))):
            path = folder / name
            if path.is_file():
                document = _read(path)
                section: Any = document
                for key in keys:
                    section = section.get(key, {}) if isinstance(section, dict) else {}
                if name == "impact.toml":
                    _known_tables(path, document, "[")
                if name == "pyproject.toml":
                    _known_tables(path, section, "[tool.impact.")
                    section = section.get("report", {}) if isinstance(section, dict) else {}
                return _look(path, section, "[report]" if name == "impact.toml" else None)
    return ReportLook()


def _known_tables(path: Path, tables: Any, prefix: str) -> None:
    """Refuse a table impact does not read where it reads its own (a misspelt ``[report]``
    would otherwise be ignored)."""
    if not isinstance(tables, dict):
        return
    for name in tables:
        if name == "tool" and prefix == "[":
            raise SpecError(
                f"{path}: [tool...]: impact.toml takes [report] (without the tool.impact. "
                "of pyproject.toml)"
            )
        if name != "report":
            raise SpecError(
                f'{path}: {prefix}{name}]: unknown table; did you mean "{prefix}report]"?'
            )


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise SpecError(f"{path}: the project settings cannot be read ({error})") from None


def _look(path: Path, section: Any, table: str | None) -> ReportLook:
    where = f"{path}: {table or '[tool.impact.report]'}"
    if not isinstance(section, dict):
        raise SpecError(f"{where} must be a table of logo, logo_alt, footer and colors")
    for key in section:
        if key not in KEYS:
            raise SpecError(f"{where}.{key}: unknown key{_did_you_mean(key, KEYS)}")
    colors = section.get("colors", {})
    if not isinstance(colors, dict):
        raise SpecError(f'{where}.colors must be a table, such as {{accent = "#0b5fff"}}')
    for key, value in colors.items():
        if key not in COLORS:
            raise SpecError(f"{where}.colors.{key}: unknown colour{_did_you_mean(key, COLORS)}")
        if not (
            isinstance(value, str)
            and len(value) == 7
            and value[0] == "#"
            and set(value[1:]) <= _HEX
        ):
            raise SpecError(
                f"{where}.colors.{key}: {value!r} is not a colour; write #rrggbb, such as #0b5fff"
            )
    texts = {}
    for key in ("logo_alt", "footer"):
        value = section.get(key)
        if value is not None and not isinstance(value, str):
            raise SpecError(f"{where}.{key}: {value!r} is not text; write it in quotes")
        texts[key] = value
    return ReportLook(
        source=path,
        logo=_logo(path, where, section.get("logo")),
        logo_alt=texts["logo_alt"] or "logo",
        footer=texts["footer"],
        colors={key: str(value).lower() for key, value in colors.items()},
    )


def _logo(settings: Path, where: str, value: Any) -> str | None:
    """The logo file as a data URI (the report opens with no network)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise SpecError(f"{where}.logo: {value!r} is not a path; write it in quotes")
    file = settings.parent / value
    kind = LOGO_TYPES.get(file.suffix.lower())
    if kind is None:
        raise SpecError(
            f"{where}.logo: {value} is not an image file; use {', '.join(sorted(LOGO_TYPES))}"
        )
    try:
        data = file.read_bytes()
    except OSError as error:
        raise SpecError(
            f"{where}.logo: {file} cannot be read ({error.strerror}); the path is relative to "
            f"{settings.name}"
        ) from None
    if len(data) > LOGO_LIMIT:
        raise SpecError(
            f"{where}.logo: {value} is {len(data) // 1024} KB; at most {LOGO_LIMIT // 1024} KB "
            "is embedded in each report"
        )
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def _did_you_mean(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f'; did you mean "{close[0]}"?' if close else f"; use {', '.join(known)}"
