"""The building blocks of the report: words, marks, the style sheet, escaped HTML elements,
tables and the cells every section shares.

Every block is built with ``xml.etree.ElementTree``, so every string from a spec or the data
is escaped. Sections return an :class:`HTMLBlock`, which Jupyter shows as HTML; the verdict
payload is a separate :class:`Payload` with the verdict MIME type that the runner reads and the
report leaves out.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from impact import formats
from impact.adoption_review import AdoptionReview
from impact.prepost import PrepostResult
from impact.review import ReviewResult
from impact.spec import Metric
from impact.stats.compare import Comparison
from impact.verdict import MIME_TYPE, format_effect, status_words

OUTCOME_WORDS = {
    "ship": "Ship",
    "iterate": "Iterate",
    "revert": "Revert",
    "keep_running": "Keep running",
    "invalid": "Invalid",
}
MISSING = formats.MISSING  # shown where a number is not available
# A symbol beside each outcome and status, so that nothing is told by colour alone.
OUTCOME_MARK = {"ship": "✔", "iterate": "↻", "revert": "✖", "keep_running": "…", "invalid": "⚠"}
STATUS_MARK = {
    "target_met": "✔",
    "ok": "✔",
    "below_target": "↓",
    "no_meaningful_effect": "○",
    "inconclusive": "?",
    "unclear": "?",
    "harm": "✖",
    "breach": "✖",
}

# Words a reader may not know, explained where they appear (<abbr title>, no script).
TERMS = {
    "CI": "confidence interval: the range of effects these data are consistent with, at this "
    "look's level",
    "pp": "percentage points: the difference of two percentages (33% to 36% is +3 pp, or +9% "
    "relative to 33%)",
    "relative": "the change as a share of the control's (or counterfactual's) value",
    "p": "p-value: how often a difference at least this large would appear by chance if the "
    "launch changed nothing",
    "q (BH)": "q-value (Benjamini-Hochberg): a p-value corrected for looking at several "
    "metrics at once",
    "CUPED": "a variance reduction: each unit's same metric before exposure adjusts its value, "
    "which narrows the interval without moving it on average",
    "winsorized": "values above a pre-registered high quantile set to it, so that a few extreme "
    "units cannot swing the mean",
    "mature units": "units whose whole metric window had ended before the data's cut-off",
    "information fraction": "the share of the final look's units that this look has seen; it "
    "sets how strict this look is",
    "non-inferiority": "a test that the metric is not worse than the margin, rather than that "
    "it improved",
    "MAPE": "mean absolute percentage error of the forecast on days held back from the fit",
    "placebo rank p": "the share of placebo launches whose effect was at least as extreme as the "
    "real one",
    "local level": "a model whose level drifts day by day, learned from the data",
}
ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"]
COUNTS = ["one", "two", "three", "four", "five", "six", "seven", "eight"]

STYLE = """
.impact { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: #1b1b1b; max-width: 72rem; line-height: 1.45; }
.impact-card, .impact-flag { max-width: 60rem; }
div.impact table.impact-table { border-collapse: collapse; margin: 0.5rem 0;
  font-size: 0.92rem; }
div.impact table.impact-table th, div.impact table.impact-table td {
  border-bottom: 1px solid #d0d0d0; padding: 0.3rem 0.6rem; text-align: left;
  vertical-align: top; }
div.impact table.impact-table td.num { text-align: right;
  font-variant-numeric: tabular-nums; white-space: nowrap; }
.impact-card { border: 3px solid #555; border-radius: 8px; padding: 1rem 1.25rem;
  overflow-wrap: anywhere; }
.impact-card h1 { margin: 0 0 0.25rem 0; font-size: 1.9rem; }
.impact-card .title { margin: 0; font-size: 1rem; color: #444; font-weight: 600; }
.impact-card .action { font-size: 1.1rem; margin: 0 0 0.5rem 0; }
.impact-card ul { margin: 0.25rem 0 0.5rem 1.1rem; padding: 0; }
.impact-card .meta { color: #444; font-size: 0.9rem; }
.impact-lead { margin: 0.4rem 0 0.6rem 0; padding: 0.4rem 0.6rem; background: #f4f6f8;
  border-radius: 6px; }
.impact-lead p { margin: 0.15rem 0; }
.impact-card .next { margin: 0.4rem 0; }
.impact-card .step { margin: 0 0 0.5rem 0; }
.impact abbr[title] { text-decoration: underline dotted; cursor: help; }
.impact-outcome-ship { border-color: #009E73; }
.impact-outcome-revert { border-color: #D55E00; }
.impact-outcome-invalid { border-color: #CC79A7; }
.impact-outcome-iterate, .impact-outcome-keep_running { border-color: #E69F00; }
.impact-flag { background: #fff4d6; border-left: 4px solid #E69F00; padding: 0.4rem 0.6rem;
  margin: 0.4rem 0; }
.impact-flag.blocking { background: #fde8ef; border-left-color: #CC79A7; }
.impact .status { white-space: nowrap; font-weight: 600; }
.impact .note { color: #555; font-size: 0.88rem; }
.impact-footer { color: #444; font-size: 0.85rem; border-top: 1px solid #d0d0d0;
  margin-top: 1rem; padding-top: 0.5rem; word-break: break-all; }
.impact-scroll { overflow-x: auto; max-width: 100%; }
.impact-scroll:focus { outline: 2px solid #0072B2; }
div.impact table.impact-table td { overflow-wrap: break-word; }
div.impact table.impact-table td:last-child { overflow-wrap: anywhere; }
@media (max-width: 700px) {
  div.impact table.impact-stack, div.impact table.impact-stack tbody,
  div.impact table.impact-stack tr, div.impact table.impact-stack td { display: block; }
  div.impact table.impact-stack thead { position: absolute; width: 1px; height: 1px;
    overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
  div.impact table.impact-stack tr { border-bottom: 2px solid #d0d0d0; padding: 0.35rem 0; }
  div.impact table.impact-stack td { border: none; padding: 0.05rem 0;
    text-align: left !important; white-space: normal !important; }
  div.impact table.impact-stack td:empty { display: none; }
  div.impact table.impact-stack td::before { content: attr(data-label) ": "; color: #555; }
  div.impact table.impact-stack td:first-child { font-weight: 600; }
  div.impact table.impact-stack td:first-child::before { content: none; } }
@media (max-width: 480px) { .impact-card h1 { font-size: 1.5rem; }
  .impact-card { padding: 0.6rem 0.7rem !important; } .impact-card ul { margin-left: 0.4rem; }
  .impact table { font-size: 0.8rem; } .impact th, .impact td { padding: 0.2rem 0.3rem; } }
@media print { .impact-card { break-inside: avoid; } }
"""


# The essentials of STYLE as inline styles, so that an untrusted notebook (which drops
# <style> elements) still shows the card's frame, the flags and aligned numbers.
INLINE = {
    "impact-card": "border:3px solid #555;border-radius:8px;padding:1rem 1.25rem;"
    "overflow-wrap:break-word",
    "impact-lead": "background:#f4f6f8;border-radius:6px;padding:0.4rem 0.6rem;"
    "margin:0.4rem 0 0.6rem 0",
    "impact-flag": "background:#fff4d6;border-left:4px solid #E69F00;padding:0.4rem 0.6rem;"
    "margin:0.4rem 0",
    "impact-scroll": "overflow-x:auto;max-width:100%",
    "status": "white-space:nowrap;font-weight:600",
    "note": "color:#555;font-size:0.88rem",
    "meta": "color:#444;font-size:0.9rem",
    "num": "text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap",
}
OUTCOME_COLOUR = {
    "ship": "#009E73",
    "revert": "#D55E00",
    "invalid": "#CC79A7",
    "iterate": "#E69F00",
    "keep_running": "#E69F00",
}
BLOCKS = {"p", "div", "li", "h1", "h2", "h3", "tr", "ul", "table", "figure"}


def _inline(element: ET.Element) -> None:
    for child in element.iter():
        styles = [INLINE[name] for name in child.get("class", "").split() if name in INLINE]
        if styles and "style" not in child.attrib:
            child.set("style", ";".join(styles))


def _plain_text(element: ET.Element) -> str:
    """A readable text form of a block: one line per paragraph, item or table row."""
    parts: list[str] = []

    def walk(node: ET.Element) -> None:
        if node.tag in ("style", "script"):
            if node.tail:
                parts.append(node.tail)
            return
        if node.tag in BLOCKS:
            parts.append("\n")
        if node.tag in ("td", "th") and parts and not parts[-1].endswith("\n"):
            parts.append(" | ")
        if node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
        if node.tag in BLOCKS:
            parts.append("\n")
        if node.tail:
            parts.append(node.tail)

    walk(element)
    lines = (" ".join(line.split()) for line in "".join(parts).splitlines())
    return "\n".join(line for line in lines if line)


class HTMLBlock:
    """A piece of HTML that Jupyter displays (and nbconvert keeps) as text/html, with a
    readable plain-text form for consoles and notebook viewers without HTML."""

    def __init__(self, element: ET.Element) -> None:
        self.element = element
        _inline(element)

    def _repr_html_(self) -> str:
        return ET.tostring(self.element, encoding="unicode", method="html")

    def __repr__(self) -> str:
        return _plain_text(self.element)

    def __str__(self) -> str:
        return self._repr_html_()


class Payload:
    """The verdict.json payload as a display output with the verdict MIME type."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def _repr_mimebundle_(self, **_: Any) -> dict[str, Any]:
        outcome = self.data.get("outcome", "")
        return {MIME_TYPE: self.data, "text/plain": f"impact verdict: {outcome}"}

    def __repr__(self) -> str:
        return json.dumps(self.data, indent=2)


def _el(tag: str, *children: ET.Element | str | None, **attributes: str) -> ET.Element:
    """An element with text and child elements (``class_`` sets the class attribute)."""
    element = ET.Element(tag, {key.rstrip("_"): value for key, value in attributes.items()})
    last: ET.Element | None = None
    for child in children:
        if child is None:
            continue
        if isinstance(child, str):
            if last is None:
                element.text = (element.text or "") + child
            else:
                last.tail = (last.tail or "") + child
        else:
            element.append(child)
            last = child
    return element


def _and(words: Sequence[str]) -> str:
    """Words in a sentence: "4", "4 and 8", "2, 4 and 8"."""
    return " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)


def _term(word: str, shown: str | None = None) -> ET.Element:
    """A term with its explanation on hover and to screen readers."""
    return _el("abbr", shown or word, title=TERMS[word])


def _ci(comparison: Comparison) -> ET.Element:
    return _term("CI", _level(comparison))


def _root(*children: ET.Element | str | None, class_: str = "") -> HTMLBlock:
    return HTMLBlock(_el("div", *children, class_=f"impact {class_}".strip()))


def _table(
    headers: Sequence[ET.Element | str],
    rows: list[list[ET.Element | str]],
    numeric: set[int],
    *,
    stack: bool = False,
) -> ET.Element:
    head = _el("tr", *[_el("th", h, scope="col") for h in headers])
    # on a phone a wide table is a stack of lines, each after its column's name (STYLE); so
    # is a narrow one whose cells hold sentences (``stack``)
    wide = stack or len(headers) > 3
    names = [h if isinstance(h, str) else "".join(h.itertext()) for h in headers]
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            td = _el("td", cell, class_="num") if i in numeric else _el("td", cell)
            if wide:
                td.set("data-label", names[i])
            cells.append(td)
        body.append(_el("tr", *cells))
    table = _el(
        "table",
        _el("thead", head),
        _el("tbody", *body),
        class_="impact-table impact-stack" if wide else "impact-table",
    )
    return _el(
        "div",
        table,
        class_="impact-scroll",
        role="region",
        tabindex="0",
        **{"aria-label": "table (scrolls sideways on a narrow screen)"},
    )


def _status(status: str, words: str | None = None) -> ET.Element:
    """The status as what its rule checked: "✔ improved: the interval excludes 0 and ..."
    (``words`` where the metric's own differ from the status's, see MetricVerdict.words)."""
    label, _, checked = (words or status_words(status)).partition(": ")
    mark = _el("span", f"{STATUS_MARK.get(status, '')} {label}", class_="status")
    if not checked:
        return mark
    return _el("span", mark, _el("span", f": {checked}", class_="note"))


def _value(metric: Metric, value: float | None, group: tuple[float | None, ...] = ()) -> str:
    return formats.value(formats.of(metric), value, group=group)


def _effect(
    metric: Metric,
    value: float | None,
    scale: str = "absolute",
    group: tuple[float | None, ...] = (),
) -> str:
    if value is None:
        return MISSING
    return format_effect(metric, value, scale, group=group)  # type: ignore[arg-type]


def _interval(
    metric: Metric,
    low: float | None,
    high: float | None,
    scale: str = "absolute",
    estimate: float | None = None,
) -> str:
    if scale == "relative":
        return formats.relative_interval(low, high, estimate=estimate)
    return formats.interval(formats.of(metric), low, high, estimate=estimate)


def _p(value: float | None) -> str:
    return formats.p_value(value)


def _level(comparison: Comparison) -> str:
    return f"{(1 - comparison.alpha) * 100:.3g}% CI"


Compared = ReviewResult | PrepostResult  # reviews that compare metrics
Reviewed = ReviewResult | PrepostResult | AdoptionReview


def _arm_headers(result: Reviewed) -> tuple[str, str]:
    """What the two columns of a comparison are: arms, or counterfactual and actual."""
    if isinstance(result, PrepostResult):
        return "counterfactual per day", "actual per day"
    return "control", "treatment"


def _heading(title: str) -> ET.Element:
    """A section's heading, with the anchor the contents line links to."""
    return _el("h2", title, id=title.replace(" ", "-"))


def _level_words(result: Reviewed) -> str:
    """Why the intervals have this level, in words, once."""
    look, spec = result.look, result.spec
    level = f"{(1 - look.alpha) * 100:.3g}%"
    alpha = spec.decision.alpha
    if not look.registered:
        return f"Intervals are {level}: the spec's alpha, since a monitoring run never decides."
    if len(spec.reviews) == 1 or not look.information:
        return f"Intervals are {level}: a {alpha:.0%} chance of a false alarm, as registered."
    index = spec.reviews.index(look.days)
    earlier = look.boundaries[:-1]
    if earlier and all(math.isinf(c) for c in earlier):
        return (
            f"Intervals are {level}: the earlier looks tested nothing (nothing had matured, "
            f"or they did not run), so this look has the whole {alpha:.0%} chance of a false "
            "alarm."
        )
    which = ORDINALS[index] if index < len(ORDINALS) else f"number {index + 1}"
    count = COUNTS[len(spec.reviews) - 1] if len(spec.reviews) <= len(COUNTS) else "several"
    one = f"{(1 - alpha) * 100:.3g}%"
    if level == one:  # the earlier looks spent almost none of alpha (little had matured)
        return (
            f"Intervals are {(1 - look.alpha) * 100:.2f}%, this the {which} of {count} looks: "
            f"the {alpha:.0%} chance of a false alarm is shared between the looks, and the "
            f"earlier ones spent almost none of it (little had matured), so this look's level "
            f"is nearly one look's {one}."
        )
    return (
        f"Intervals are {level} because this is the {which} of {count} looks: the "
        f"{alpha:.0%} chance of a false alarm is shared between the looks, so each look "
        "asks for more than one alone would."
    )
