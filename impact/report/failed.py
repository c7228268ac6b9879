"""The block that stands where a team template's own cell failed: the verdict stands."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from impact.report.blocks import _el

__all__ = ["section_failed"]


def section_failed(ename: str, evalue: str) -> str:
    """HTML for the report in place of a failed cell's traceback (escaped)."""
    first = evalue.strip().splitlines()[0] if evalue.strip() else ""
    block = _el(
        "div",
        _el("strong", "⚠ This section failed"),
        f" ({ename}: {first[:300]}). The verdict above is the library's and stands; the "
        "executed notebook holds the traceback.",
        class_="impact-flag blocking impact-section-failed",
        role="note",
    )
    return ET.tostring(_el("div", block, class_="impact"), encoding="unicode", method="html")
