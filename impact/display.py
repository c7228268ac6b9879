"""HTML blocks for review notebooks: the verdict card, criteria, metric tables, data, methods.

Every block is built with ``xml.etree.ElementTree``, so every string from a spec or the data
is escaped. Each function returns an :class:`HTMLBlock`, which Jupyter shows as HTML; the
verdict payload is a separate :class:`Payload` with the verdict MIME type that the runner
reads and the report leaves out.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from impact import adoption as adoption_module
from impact import message, numbers, warehouse
from impact.adoption_review import AdoptionReview
from impact.prepost import OBSERVATIONAL, PrepostResult
from impact.review import ReviewResult
from impact.spec import Metric
from impact.stats.adoption import Share
from impact.stats.compare import Comparison
from impact.verdict import MIME_TYPE, MetricVerdict, format_effect, status_words

__all__ = [
    "HTMLBlock",
    "Payload",
    "adoption",
    "contents",
    "criteria",
    "data_summary",
    "guardrails",
    "methods",
    "model_checks",
    "observational",
    "payload",
    "primary",
    "provenance",
    "secondary",
    "verdict_card",
]


OUTCOME_WORDS = {
    "ship": "Ship",
    "iterate": "Iterate",
    "revert": "Revert",
    "keep_running": "Keep running",
    "invalid": "Invalid",
}
MISSING = numbers.MISSING  # shown where a number is not available
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
.impact-swipe { display: none; margin: 0.3rem 0 0 0; color: #555; font-size: 0.8rem; }
div.impact table.impact-table td { overflow-wrap: break-word; }
div.impact table.impact-table td:last-child { overflow-wrap: anywhere; }
@media (max-width: 700px) { .impact-swipe { display: block; }
  .impact-scroll { border-right: 3px solid #d0d0d0; }
  div.impact .impact-scroll table.impact-table th:first-child,
  div.impact .impact-scroll table.impact-table td:first-child { position: sticky; left: 0;
    background: #fff; z-index: 1; } }
@media (max-width: 480px) { .impact-card h1 { font-size: 1.5rem; }
  .impact-card { padding: 0.6rem 0.7rem !important; } .impact-card ul { margin-left: 0.4rem; }
  .impact table { font-size: 0.8rem; } .impact th, .impact td { padding: 0.2rem 0.3rem; } }
@media print { .impact-card { break-inside: avoid; } }
"""


# The essentials of STYLE as inline styles, so that an untrusted notebook (which drops
# <style> elements) still shows the card's frame, the flags and aligned numbers.
INLINE = {
    "impact-card": "border:3px solid #555;border-radius:8px;padding:1rem 1.25rem;"
    "overflow-wrap:anywhere",
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


def _term(word: str, shown: str | None = None) -> ET.Element:
    """A term with its explanation on hover and to screen readers."""
    return _el("abbr", shown or word, title=TERMS[word])


def _ci(comparison: Comparison) -> ET.Element:
    return _term("CI", _level(comparison))


def _root(*children: ET.Element | str | None, class_: str = "") -> HTMLBlock:
    return HTMLBlock(_el("div", *children, class_=f"impact {class_}".strip()))


def _table(
    headers: Sequence[ET.Element | str], rows: list[list[ET.Element | str]], numeric: set[int]
) -> ET.Element:
    head = _el("tr", *[_el("th", h, scope="col") for h in headers])
    body = [
        _el(
            "tr",
            *[
                _el("td", cell, class_="num") if i in numeric else _el("td", cell)
                for i, cell in enumerate(row)
            ],
        )
        for row in rows
    ]
    table = _el("table", _el("thead", head), _el("tbody", *body), class_="impact-table")
    wrapped = _el(
        "div",
        table,
        class_="impact-scroll",
        role="region",
        tabindex="0",
        **{"aria-label": "table (scrolls sideways on a narrow screen)"},
    )
    if len(headers) <= 3:
        return wrapped
    hint = _el(
        "p", "⇆ this table scrolls sideways", class_="impact-swipe", **{"aria-hidden": "true"}
    )
    return _el("div", hint, wrapped)


def _status(status: str) -> ET.Element:
    """The status as what its rule checked: "✔ improved: the interval excludes 0 and ..."."""
    label, _, checked = status_words(status).partition(": ")
    mark = _el("span", f"{STATUS_MARK.get(status, '')} {label}", class_="status")
    if not checked:
        return mark
    return _el("span", mark, _el("span", f": {checked}", class_="note"))


def _value(metric: Metric, value: float | None, group: tuple[float | None, ...] = ()) -> str:
    return numbers.value(numbers.of(metric), value, group=group)


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
        return numbers.relative_interval(low, high, estimate=estimate)
    return numbers.interval(numbers.of(metric), low, high, estimate=estimate)


def _p(value: float | None) -> str:
    return numbers.p_value(value)


def _level(comparison: Comparison) -> str:
    return f"{(1 - comparison.alpha) * 100:.3g}% CI"


Compared = ReviewResult | PrepostResult  # reviews that compare metrics
Reviewed = ReviewResult | PrepostResult | AdoptionReview


def _arm_headers(result: Reviewed) -> tuple[str, str]:
    """What the two columns of a comparison are: arms, or counterfactual and actual."""
    if isinstance(result, PrepostResult):
        return "counterfactual per day", "actual per day"
    return "control", "treatment"


# --------------------------------------------------------------------------- blocks


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
    which = ORDINALS[index] if index < len(ORDINALS) else f"number {index + 1}"
    count = COUNTS[len(spec.reviews) - 1] if len(spec.reviews) <= len(COUNTS) else "several"
    return (
        f"Intervals are {level} because this is the {which} of {count} looks: the "
        f"{alpha:.0%} chance of a false alarm is shared between the looks, so each look "
        "asks for more than one alone would."
    )


def _dates(result: Reviewed) -> str:
    last = (result.look.as_of - dt.timedelta(days=1)).date()
    return f"launched {result.spec.launch_date}, data up to {last}"


def _lead(result: Reviewed) -> ET.Element:
    """The primary metric (or the funnel) in one glance: from, to, by how much, against what."""
    if isinstance(result, AdoptionReview):
        funnel, block = result.adoption.funnel, result.adoption.block
        steps = [("saw it", funnel.exposed, block.thresholds.exposed)] if funnel.exposed else []
        steps += [("tried it", funnel.tried, block.thresholds.tried)]
        steps += [
            (f"came back in {block.repeat_weeks} weeks", funnel.repeat, block.thresholds.repeat)
        ]
        words = " → ".join(
            f"{_share(share)} {name} (needs {threshold:.0%})" for name, share, threshold in steps
        )
        return _el(
            "div",
            _el("p", _el("strong", f"{funnel.eligible:,} eligible: "), words),
            _el("p", _dates(result), class_="meta"),
            class_="impact-lead",
        )
    item = result.primary
    metric, c = item.metric, item.comparison
    assert metric.target is not None
    prepost = isinstance(result, PrepostResult)
    name = metric.name + (" per day" if prepost else "")
    before, after = ("counterfactual", "actual") if prepost else ("control", "treatment")
    relative_target = metric.target.relative
    target = _effect(
        metric,
        metric.good_sign * metric.target.magnitude,
        "relative" if relative_target else "absolute",
    )
    if prepost:
        assert isinstance(result, PrepostResult)
        counts = (
            f"observational (no control group): a model of the {result.series.pre_days:,} "
            f"days before launch, {result.series.post_days:,} days since"
        )
    else:
        assert isinstance(result, ReviewResult)
        n = result.table.metrics[metric.name]
        counts = f"{n.control.n:,} control, {n.treatment.n:,} treatment units"
    relative = _effect(metric, c.relative_effect, "relative", (c.relative_ci_lower,))
    return _el(
        "div",
        _el(
            "p",
            _el("strong", f"{name}: "),
            f"{_value(metric, c.control, (c.treatment,))} → "
            f"{_value(metric, c.treatment, (c.control,))} ({before} → {after})",
        ),
        _el(
            "p",
            _el("strong", f"{_effect(metric, c.effect, group=(c.ci_lower, c.ci_upper))} "),
            f"({relative}); ",
            _ci(c),
            f" {_interval(metric, c.ci_lower, c.ci_upper, estimate=c.effect)}; target {target}",
        ),
        _el("p", f"{counts}; {_dates(result)}", class_="meta"),
        class_="impact-lead",
    )


def _step(result: Reviewed) -> ET.Element | None:
    """The step of the adoption funnel to fix, named, when adoption falls short."""
    found = result.adoption
    if found is None or found.funnel.met or result.verdict.outcome == "ship":
        return None
    return _el(
        "p",
        _el("strong", "The step to fix: "),
        f"{message.STEPS[found.funnel.diagnosis]}. ",
        message.DIAGNOSES[found.funnel.diagnosis].capitalize() + ".",
        class_="step",
    )


def verdict_card(result: Reviewed) -> HTMLBlock:
    """The first screen: outcome, the spec's action, the primary metric from baseline to what
    was observed, every reason, registration, why this level, and what happens next."""
    verdict, spec, look = result.verdict, result.spec, result.look
    kind = "final review" if look.final else "interim review"
    if not look.registered:
        kind = "monitoring run (not a registered review: it never decides)"
    meta = f"{look.label} {kind} · owner {spec.owner}"
    flags = []
    for check in result.checks:
        if not check.passed:
            mark = "⚠ " if check.blocking else "! "
            flags.append(
                _el(
                    "div",
                    mark + check.detail,
                    class_="impact-flag" + (" blocking" if check.blocking else ""),
                )
            )
    trust = getattr(result, "trust", None)
    if trust is not None and trust.data_source is not None:
        flags.append(
            _el(
                "div",
                f"! data read from {warehouse.safe(trust.location)}, given instead of the "
                f"spec's data.source ({warehouse.safe(spec.data.source or '')}); data "
                f"fingerprint {result.data_fingerprint[:12]}",
                class_="impact-flag",
            )
        )
    next_review = (
        f"Next review: {look.next_review}, when the data up to the day before are in."
        if look.next_review
        else f"This was the last review: the decision is to {verdict.action}."
    )
    registration = next(
        (check.detail for check in result.checks if check.name == "registration" and check.passed),
        None,
    )
    style = _el("style", STYLE)
    shown_elsewhere = {check.detail for check in result.checks}
    reasons = [reason for reason in verdict.reasons if reason not in shown_elsewhere]
    card = _el(
        "div",
        _el("p", spec.title, class_="title"),
        _el("h1", f"{OUTCOME_MARK[verdict.outcome]} {OUTCOME_WORDS[verdict.outcome]}"),
        _el("p", _el("strong", "Action: "), verdict.action, class_="action"),
        _step(result),
        _lead(result),
        _el("p", _el("strong", next_review), class_="next"),
        _el("ul", *[_el("li", reason) for reason in reasons]),
        *flags,
        None
        if isinstance(result, AdoptionReview)
        else _el("p", _level_words(result), class_="meta"),
        _el("p", meta, class_="meta"),
        _el("p", _el("em", spec.hypothesis.sentence())),
        _el("p", f"Pre-registration: {registration}.", class_="meta") if registration else None,
        class_=f"impact-card impact-outcome-{verdict.outcome}",
        style=f"{INLINE['impact-card']};border-color:{OUTCOME_COLOUR[verdict.outcome]}",
        role="region",
        **{"aria-label": "verdict"},
    )
    return _root(style, card)


def criteria(result: Compared) -> HTMLBlock:
    """What was pre-registered beside what was observed, one row per deciding metric."""
    rows: list[list[ET.Element | str]] = []
    judged = [("primary", result.primary), *[("guardrail", g) for g in result.guardrails]]
    for role, item in judged:
        metric = item.metric
        comparison = item.comparison
        if role == "primary":
            assert metric.target is not None
            scale = "relative" if metric.target.relative else "absolute"
            target = _effect(metric, metric.good_sign * metric.target.magnitude, scale)
            rule = f"{metric.direction} by at least {target}"
        else:
            assert metric.margin is not None
            scale = "relative" if metric.margin.relative else "absolute"
            margin = _effect(metric, -metric.good_sign * metric.margin.magnitude, scale)
            rule = f"not worse than {margin}"
        estimate = comparison.relative_effect if scale == "relative" else comparison.effect
        low, high = (
            (comparison.relative_ci_lower, comparison.relative_ci_upper)
            if scale == "relative"
            else (comparison.ci_lower, comparison.ci_upper)
        )
        rows.append(
            [
                metric.name,
                role,
                rule,
                _effect(metric, estimate, scale, (low, high)),
                _interval(metric, low, high, scale, estimate),
                _status(item.status),
            ]
        )
    level = _ci(result.primary.comparison)
    headers: list[ET.Element | str] = [
        "metric",
        "role",
        "pre-registered",
        "observed",
        level,
        "status",
    ]
    return _root(_table(headers, rows, numeric={3, 4}), _units_note(result))


def _units_note(result: Compared) -> ET.Element:
    """What the units of the changes are, once."""
    return _el(
        "p",
        "Changes of a share are in ",
        _term("pp"),
        " (percentage points); relative changes (",
        _term("relative"),
        ") in % of the control's value. ",
        _level_words(result),
        class_="note",
    )


def _cells(m: Metric, c: Comparison) -> list[ET.Element | str]:
    """Name, control, treatment, effect, interval and relative effect of a comparison."""
    return [
        m.name,
        _value(m, c.control, (c.treatment,)),
        _value(m, c.treatment, (c.control,)),
        _effect(m, c.effect, group=(c.ci_lower, c.ci_upper)),
        _interval(m, c.ci_lower, c.ci_upper, estimate=c.effect),
        _effect(m, c.relative_effect, "relative", (c.relative_ci_lower, c.relative_ci_upper)),
    ]


def _metric_rows(items: list[MetricVerdict]) -> list[list[ET.Element | str]]:
    rows: list[list[ET.Element | str]] = []
    for item in items:
        m, c = item.metric, item.comparison
        rows.append(
            [
                *_cells(m, c),
                _interval(
                    m, c.relative_ci_lower, c.relative_ci_upper, "relative", c.relative_effect
                ),
                _p(c.p_value),
                _status(item.status),
            ]
        )
    return rows


def _headers(result: Reviewed) -> list[ET.Element | str]:
    return [
        "metric",
        *_arm_headers(result),
        "effect",
        _term("CI"),
        _term("relative"),
        _term("CI", "relative CI"),
        _term("p"),
        "status",
    ]


def _with_notes(table: ET.Element, items: list[tuple[Metric, Comparison]]) -> list[ET.Element]:
    notes = [_el("p", f"{m.name}: {c.note}.", class_="note") for m, c in items if c.note]
    return [table, *notes]


def _cuped_line(result: Reviewed, metric: Metric) -> ET.Element | None:
    if not isinstance(result, ReviewResult) or not metric.cuped:
        return None
    found = result.analyses[metric.name]
    if found.cuped_applied and found.adjustment is not None:
        adjustment = found.adjustment
        unadjusted = (found.unadjusted.ci_lower, found.unadjusted.ci_upper)
        return _el(
            "p",
            f"{metric.name}: ",
            _term("CUPED"),
            f"-adjusted with the same metric in the {metric.window}-day "
            f"pre-period: variance reduced by {adjustment.variance_reduction or 0:.1%} "
            f"(correlation {adjustment.correlation or 0:.2f}). Without it: "
            f"{_effect(metric, found.unadjusted.effect, group=unadjusted)} "
            f"({_interval(metric, *unadjusted, estimate=found.unadjusted.effect)}).",
            class_="note",
        )
    return _el("p", f"{metric.name}: {found.cuped_note}.", class_="note")


def _caps_line(result: Reviewed, metric: Metric) -> ET.Element | None:
    if not isinstance(result, ReviewResult):
        return None
    caps = result.table.metrics[metric.name].caps
    if not caps:
        return None
    limits = ", ".join(f"{name} at {value:,.4g}" for name, value in caps.items())
    return _el(
        "p",
        f"{metric.name}: per-unit values ",
        _term("winsorized"),
        f" at the pre-registered {metric.cap:g} quantile of both arms ({limits}).",
        class_="note",
    )


def _primary_table(result: Compared, item: MetricVerdict) -> list[ET.Element | None]:
    """The primary metric's description and its comparison table, with any notes."""
    metric = item.metric
    return [
        _el("p", metric.description) if metric.description else None,
        *_with_notes(
            _table(_headers(result), _metric_rows([item]), {1, 2, 3, 4, 5, 6, 7}),
            [(metric, item.comparison)],
        ),
    ]


def _counted(metric: Metric) -> str:
    """Which units a metric counts, in words."""
    if metric.window is not None:
        return f"Units whose {metric.window}-day window had ended"
    if metric.matures_after is not None:
        return f"Units exposed at least {metric.matures_after} days before as_of, with a value"
    return f"Units with a value in column {metric.column}"


def primary(result: Compared) -> HTMLBlock:
    """The primary metric in full: the comparison, CUPED, power and the effect by week."""
    if isinstance(result, PrepostResult):
        return _series_primary(result)
    item = result.primary
    metric = item.metric
    n = result.table.metrics[metric.name]
    look = result.look
    power = result.power
    parts: list[ET.Element | None] = [
        *_primary_table(result, item),
        _el(
            "p",
            f"{_counted(metric)}: "
            f"{n.control.n:,} control, {n.treatment.n:,} treatment. {_level(item.comparison)}s "
            f"(level {item.comparison.alpha:.4g}). {item.reason}",
            class_="note",
        ),
        _cuped_line(result, metric),
        _caps_line(result, metric),
    ]
    if power.achieved is not None and power.mde is not None and power.target is not None:
        parts.append(
            _el(
                "p",
                f"Power: at this look the test had {power.achieved:.0%} power to detect the "
                f"target ({_effect(metric, metric.good_sign * power.target)}); the smallest "
                f"effect it detects with {result.spec.decision.power:.0%} power is "
                f"{_effect(metric, metric.good_sign * power.mde)}.",
                class_="note",
            )
        )
    if result.weeks:
        rows: list[list[ET.Element | str]] = [
            [
                f"week {index + 1}",
                _value(metric, week.control, (week.treatment,)),
                _value(metric, week.treatment, (week.control,)),
                _effect(metric, week.effect, group=(week.ci_lower, week.ci_upper)),
                _interval(metric, week.ci_lower, week.ci_upper, estimate=week.effect),
            ]
            for index, week in enumerate(result.weeks)
        ]
        parts += [
            _el("h3", "Novelty check: the effect by week since exposure"),
            _el(
                "p",
                "The same units, with events counted in each week of their window. An effect "
                "that shrinks week by week may be novelty that fades; these rows describe, "
                "they do not decide.",
                class_="note",
            ),
            _table(
                ["week", "control", "treatment", "effect", _level(item.comparison)],
                rows,
                numeric={1, 2, 3, 4},
            ),
        ]
    if look.information:
        parts.append(
            _el(
                "p",
                f"Look {len(look.information)} of {len(result.spec.reviews)}: ",
                _term("information fraction"),
                f" {look.information[-1]:.2f}; the level of this look is "
                f"{look.alpha:.4g} (Lan-DeMets O'Brien-Fleming spending of alpha = "
                f"{result.spec.decision.alpha:g}).",
                class_="note",
            )
        )
    return _root(*parts)


def _heading(title: str) -> ET.Element:
    """A section's heading, with the anchor the contents line links to."""
    return _el("h2", title, id=title.replace(" ", "-"))


def contents(result: Reviewed) -> HTMLBlock:
    """The contents line: a link to each section that has something to show."""
    sections = [
        ("Primary metric", not isinstance(result, AdoptionReview)),
        ("Guardrails", bool(getattr(result, "guardrails", None))),
        ("Secondary metrics", bool(getattr(result, "secondary", None))),
        ("Adoption", result.adoption is not None and not isinstance(result, AdoptionReview)),
        ("Can the model be trusted?", isinstance(result, PrepostResult)),
        ("The data behind it", True),
        ("Methods and assumptions", True),
        ("Provenance", True),
    ]
    links: list[ET.Element | str] = [_el("strong", "Contents: ")]
    for title, shown in sections:
        if shown:
            if len(links) > 1:
                links.append(" · ")
            links.append(_el("a", title, href="#" + title.replace(" ", "-")))
    return _root(_el("p", *links))


def guardrails(result: Compared) -> HTMLBlock | None:
    """Each guardrail with its margin and status, under its heading (None without any)."""
    if not result.guardrails:
        return None
    rows = _metric_rows(result.guardrails)
    table = _table(_headers(result), rows, {1, 2, 3, 4, 5, 6, 7})
    reasons = _el("ul", *[_el("li", g.reason) for g in result.guardrails])
    extra = [
        line
        for g in result.guardrails
        for line in (_cuped_line(result, g.metric), _caps_line(result, g.metric))
    ]
    return _root(
        _heading("Guardrails"),
        *_with_notes(table, [(g.metric, g.comparison) for g in result.guardrails]),
        reasons,
        *extra,
    )


def secondary(result: Compared) -> HTMLBlock | None:
    """Secondary metrics with Benjamini-Hochberg q-values, labelled exploratory, under their
    heading (None without any)."""
    if not result.secondary:
        return None
    rows: list[list[ET.Element | str]] = [
        [*_cells(item.metric, item.comparison), _p(item.comparison.p_value), _p(item.q_value)]
        for item in result.secondary
    ]
    headers: list[ET.Element | str] = [
        "metric",
        *_arm_headers(result),
        "effect",
        _term("CI"),
        _term("relative"),
        _term("p"),
        _term("q (BH)"),
    ]
    return _root(
        _heading("Secondary metrics"),
        _el(
            "p",
            "Exploratory: these metrics never decide the verdict. q-values control the false "
            "discovery rate across them (Benjamini-Hochberg).",
            class_="note",
        ),
        *_with_notes(
            _table(headers, rows, {1, 2, 3, 4, 5, 6, 7}),
            [(s.metric, s.comparison) for s in result.secondary],
        ),
        *[
            line
            for s in result.secondary
            for line in (_cuped_line(result, s.metric), _caps_line(result, s.metric))
        ],
    )


def data_summary(result: Reviewed) -> HTMLBlock:
    """The data behind the verdict: units per arm (or days), dates, as_of, checks."""
    if isinstance(result, AdoptionReview):
        return _root(_table(["", "value"], _adoption_data(result), numeric=set()), _checks(result))
    if isinstance(result, PrepostResult):
        return _root(_table(["", "value"], _series_data(result), numeric=set()), _checks(result))
    population = result.table.population
    spec = result.spec
    rows: list[list[ET.Element | str]] = [
        [f"units in {arm}", f"{n:,}"] for arm, n in population.units.items()
    ]
    rows += [
        [
            "planned split",
            ", ".join(f"{arm} {share:.0%}" for arm, share in (spec.data.split or {}).items()),
        ],
        [
            "first exposure",
            f"{population.first_exposure:%Y-%m-%d %H:%M} UTC"
            if population.first_exposure
            else MISSING,
        ],
        [
            "last exposure",
            f"{population.last_exposure:%Y-%m-%d %H:%M} UTC"
            if population.last_exposure
            else MISSING,
        ],
        ["as_of (nothing at or after it is read)", f"{result.look.as_of:%Y-%m-%d %H:%M} UTC"],
        [
            "newest event read",
            f"{result.newest_event:%Y-%m-%d %H:%M} UTC"
            if result.events_read
            else "no events table read: every metric is a column of the units table",
        ],
        ["analysed from", str(spec.data.start or spec.launch_date)],
        ["segment", spec.data.segment or "all units"],
        ["data source", _source_words(result)],
    ]
    trust = result.trust
    if trust is not None and trust.joins is not None:
        rows.append(["ids", f"{trust.joins.types()}; {trust.joins.sentence()}"])
    if trust is not None and trust.outcomes:
        rows.append(["outcomes of column metrics", trust.outcomes])
    for name, m in result.table.metrics.items():
        rows.append(
            [
                _el("span", _term("mature units"), f" for {name}"),
                f"{m.control.n:,} control, {m.treatment.n:,} treatment",
            ]
        )
    daily = _daily(trust.completeness) if trust is not None and trust.completeness else None
    return _root(_table(["", "value"], rows, numeric=set()), daily, _checks(result))


def _source_words(result: ReviewResult) -> str:
    """Where the data were read from, and whether that replaced the spec's data.source."""
    trust = result.trust
    spec_source = warehouse.safe(result.spec.data.source)
    if trust is None or trust.data_source is None:
        return spec_source
    return (
        f"{warehouse.safe(trust.location)}, given instead of the spec's data.source "
        f"({spec_source}); fingerprint {result.data_fingerprint[:12]}"
    )


def _daily(completeness: Any) -> ET.Element:
    """Events per day from launch to as_of, a week per row, with the thin-day rule."""
    days = list(completeness.days)
    rows: list[list[ET.Element | str]] = []
    for start in range(0, len(days), 7):
        week = days[start : start + 7]
        cells: list[ET.Element | str] = [f"{week[0].day:%a %Y-%m-%d}"]
        cells += [f"{d.seen:,}" for d in week] + [""] * (7 - len(week))
        rows.append(cells)
    caption = _el(
        "p",
        "Events per day up to as_of. A day below "
        f"{completeness.min_share:.0%} of the fewest of the day before, the same weekday a week "
        "before and that weekday before launch would mean the data are not complete.",
        class_="note",
    )
    table = _table(
        ["week from", *[f"day {n}" for n in range(1, 8)]], rows, numeric=set(range(1, 8))
    )
    return _el("div", caption, table)


def _checks(result: Reviewed) -> ET.Element:
    return _table(
        ["check", "result", "detail"],
        [
            [
                c.name,
                "passed" if c.passed else ("blocks the verdict" if c.blocking else "warning"),
                c.detail,
            ]
            for c in result.checks
        ],
        numeric=set(),
    )


def methods(result: Reviewed) -> HTMLBlock:
    """The methods behind the numbers and the assumptions the verdict rests on."""
    if isinstance(result, AdoptionReview):
        return _root(_el("ul", *[_el("li", item) for item in ADOPTION_METHODS]))
    if isinstance(result, PrepostResult):
        return _series_methods(result)
    look, alpha = result.look, result.spec.decision.alpha
    if look.information:
        looks = (
            f"Looks: the registered reviews are looks of one test. Alpha = {alpha:g} is spent "
            "over them with Lan-DeMets O'Brien-Fleming spending on the information fraction "
            "(units whose primary window has ended at the look, over those expected at the "
            "final look; projected from accrual at an interim look, observed at the final "
            "one, whose boundary is solved given the boundaries the earlier looks used, as "
            "their verdict.json records them, so that all looks together spend exactly "
            f"alpha). This look: fraction {look.information[-1]:.2f}, level {look.alpha:.4g}; "
            "every interval and test in this report, guardrails included, uses that level."
        )
    elif not look.registered:
        looks = (
            f"This is a monitoring run, not a registered review: its intervals use the spec's "
            f"alpha = {alpha:g} and it never decides."
        )
    else:
        looks = f"This look uses the spec's alpha = {alpha:g}."
    items = [
        "Proportions: difference of shares with the unpooled normal interval and test, no "
        "continuity correction. Means: Welch's t interval and test on Welch-Satterthwaite "
        "degrees of freedom. Ratios (sum of numerators over sum of denominators): the delta "
        "method with the numerator-denominator covariance. Relative effects: Fieller's "
        "interval, which excludes 0 exactly when the absolute test rejects.",
        looks,
        "CUPED (where the spec asks for it): the same metric in a window of the same length "
        "ending at each unit's exposure is the covariate, with an indicator for units that had "
        "no events then (they keep a 0, never dropped); ratios are linearized; one slope for "
        "both arms, or one per arm when the split is unequal. It is skipped, and the report "
        "says so, when no unit has pre-period data or the correlation is negligible.",
        "Caps (where the spec registers one): per-unit values above the registered quantile "
        "of both arms are set to it, before any comparison.",
        "A unit counts for a metric only once its whole window has ended by as_of; events "
        "count from the unit's exposure to the end of its window, and never at or after as_of.",
        "Guardrails: ok when the interval's harmful end stays inside the margin (non-inferiority "
        "at half the look's level), breached when the harm is significant and at least the "
        "margin, unclear otherwise. No correction across guardrails. Secondary metrics never "
        "decide; their q-values are Benjamini-Hochberg.",
        "Assumptions: units do not affect each other (no interference); the assignment was "
        "random and stable; the metric data are complete up to as_of. Estimates from a stop "
        "at an interim look tend to run high.",
    ]
    return _root(_el("ul", *[_el("li", item) for item in items]))


def payload(result: Reviewed) -> Payload:
    """The verdict.json payload as a display output (the runner reads it; the report drops it)."""
    return Payload(result.to_json())


def _provenance_source(result: Reviewed) -> str:
    """What was read: the spec's data.source, or the override given instead of it."""
    trust = getattr(result, "trust", None)
    spec_source = warehouse.safe(result.spec.data.source or "")
    if trust is None or trust.data_source is None:
        return f"{spec_source} (the spec's data.source)"
    return (
        f"{warehouse.safe(trust.location)} (given with --data-source or the notebook's "
        f"data_source, instead of the spec's {spec_source})"
    )


def provenance(result: Reviewed) -> HTMLBlock:
    """The footer: what this report was computed from, and with what."""
    payload = result.to_json()
    registration = payload["registration"]
    registered = (
        f"registered {registration['registered_at']}"
        + (" (demo fixture)" if registration.get("fixture") else "")
        if registration["registered"]
        else "not registered"
    )
    rows: list[list[ET.Element | str]] = [
        ["spec", f"{result.spec.id} ({result.spec.path.name})"],
        ["spec sha256", registration["spec_sha256"]],
        ["registration", registered],
        ["checkpoint", f"{result.look.label}, as_of {result.look.as_of:%Y-%m-%d %H:%M} UTC"],
        ["review clock (today)", result.today.isoformat()],
        ["data source", _provenance_source(result)],
        ["data fingerprint (sha256)", result.data_fingerprint],
        ["run", f"started {payload['run']['started_at']}, statistics took {result.seconds:.2f} s"],
        [
            "versions",
            f"impact {payload['run']['impact_version']}, Python {platform.python_version()}, "
            + ", ".join(
                f"{name} {metadata.version(name)}"
                for name in ("duckdb", "pandas", "scipy", "statsmodels")
            ),
        ],
    ]
    return _root(_table(["provenance", ""], rows, numeric=set()), class_="impact-footer")


# --------------------------------------------------------------------------- prepost


def observational(result: PrepostResult) -> HTMLBlock:
    """What a review without a control group can and cannot show, said plainly."""
    return _root(
        _el("div", _el("strong", "Observational evidence. "), OBSERVATIONAL, class_="impact-flag")
    )


def _series_primary(result: PrepostResult) -> HTMLBlock:
    item = result.primary
    metric = item.metric
    modelled = result.models[metric.name]
    effect = modelled.effect
    look = result.look
    parts: list[ET.Element | None] = [
        *_primary_table(result, item),
        _el(
            "p",
            f"The average effect per day over the {result.series.post_days} days since launch, "
            f"against a counterfactual fit on the {result.series.pre_days} days before. "
            f"{_level(item.comparison)}s (level {item.comparison.alpha:.4g}). {item.reason}",
            class_="note",
        ),
    ]
    if metric.flow:
        parts.append(
            _el(
                "p",
                f"Cumulative effect since launch: "
                f"{_effect(metric, effect.cumulative, group=effect.cumulative_ci)} "
                f"({_interval(metric, *effect.cumulative_ci, estimate=effect.cumulative)}), "
                "from the joint forecast "
                "distribution of all post-launch days.",
                class_="note",
            )
        )
    if look.information:
        parts.append(
            _el(
                "p",
                f"Look {len(look.information)} of {len(result.spec.reviews)}: this look spends "
                f"{look.alpha:.4g} of alpha = {result.spec.decision.alpha:g} (O'Brien-Fleming "
                "spending on the share of post-launch days, split between the looks).",
                class_="note",
            )
        )
    return _root(*parts)


def model_checks(result: PrepostResult) -> HTMLBlock:
    """How far the model can be trusted: its parts, placebo windows, held-back forecast."""
    rows: list[list[ET.Element | str]] = []
    for name, modelled in result.models.items():
        fit, placebos, holdout = modelled.fit, modelled.placebos, modelled.holdout
        parts = ["local level", *(["trend"] if fit.trend else [])]
        if fit.seasonality:
            parts.append(f"{fit.seasonality}-day seasonality")
        if modelled.metric.controls:
            parts.append("controls " + ", ".join(modelled.metric.controls))
        held = (
            MISSING
            if holdout is None
            else f"{holdout.days} days: MAPE "
            + (f"{holdout.mape:.1%}" if holdout.mape is not None else MISSING)
            + f", {holdout.coverage:.0%} of days inside their {(1 - holdout.alpha):.0%} band"
        )
        rows.append(
            [
                name,
                ", ".join(parts),
                "no: degenerate" if modelled.problems else ("yes" if fit.converged else "no"),
                f"{placebos.excluded} of {placebos.count}",
                _p(placebos.rank_p),
                held,
            ]
        )
    headers: list[ET.Element | str] = [
        "series",
        "model",
        "converged",
        "placebos showing an effect",
        _term("placebo rank p"),
        _el("span", "held-back forecast (", _term("MAPE"), ")"),
    ]
    return _root(
        _el(
            "p",
            "Placebo launches: the same model, with the same parameters, forecasting windows "
            "of the same length inside the pre-period, where nothing launched. A calibrated "
            f"model finds an effect in about {result.spec.decision.alpha:.0%} of them; more "
            f"than {2 * result.spec.decision.alpha:.0%} (of at least 10) makes the verdict "
            "invalid. The placebo rank p-value is the share of placebos at least as extreme "
            "as the real effect; when it is too large, a claimed effect is only inconclusive.",
            class_="note",
        ),
        _table(headers, rows, numeric={3, 4}),
    )


def _series_data(result: PrepostResult) -> list[list[ET.Element | str]]:
    daily, spec = result.series, result.spec
    return [
        ["first day fitted", f"{daily.dates[0]:%Y-%m-%d}"],
        ["launch day", f"{daily.dates[daily.launch]:%Y-%m-%d}"],
        ["last day read", f"{daily.dates[-1]:%Y-%m-%d}"],
        ["days before launch (fit)", f"{daily.pre_days:,}"],
        ["days since launch", f"{daily.post_days:,}"],
        ["as_of (nothing at or after it is read)", f"{result.look.as_of:%Y-%m-%d %H:%M} UTC"],
        ["series table", spec.data.series or MISSING],
        ["data source", warehouse.safe(spec.data.source)],
    ]


def _series_methods(result: PrepostResult) -> HTMLBlock:
    alpha = result.spec.decision.alpha
    items = [
        "The counterfactual: a structural time-series model (statsmodels UnobservedComponents) "
        "of each daily series, with a local level, the trend and the seasonality the spec "
        "registers, and the control series as regressors whose coefficients are part of the "
        "state, so their uncertainty reaches the forecast. Its variances are fit on the "
        "pre-period by maximum likelihood, with a weak prior on the level's variance scaled by "
        "what the controls leave unexplained; the forecast of the post-period from the "
        "pre-period is what would have happened without the launch. It mixes a model whose "
        "level does not move (weighted by how well the data support it) with the fitted one "
        "at several values of its variances, so the uncertainty of the variances reaches the "
        "interval. A fit that claims to predict every day almost exactly is a failed check.",
        "The average effect per day is the mean of actual minus counterfactual. Its interval "
        "(and the cumulative one, for flows) comes from the joint forecast distribution of all "
        "post-launch days, not from summing each day's variance. The relative effect divides "
        "by the counterfactual mean; its interval is unbounded when that mean is not told apart "
        "from 0.",
        f"Looks: alpha = {alpha:g} is split between the registered reviews as O'Brien-Fleming "
        "spending on the share of post-launch days allots it (conservative, since the looks "
        "overlap).",
        "Placebo launches inside the pre-period check the model's calibration; see the model "
        "checks above. A control series that itself moved at launch is flagged: if the launch "
        "reached it, the counterfactual absorbs part of the effect.",
        "The rule of the verdict is the experiment's, applied to the average effect per day. "
        "This is observational evidence. " + OBSERVATIONAL,
    ]
    return _root(_el("ul", *[_el("li", item) for item in items]))


# --------------------------------------------------------------------------- adoption


ADOPTION_METHODS = [
    "Eligible: the units table's units inside data.segment (in an experiment, the treatment "
    "arm's units of the review). Exposed, tried: units with the exposure or feature event at "
    "or after 00:00 UTC of the launch date and before as_of. Repeat: units with the feature "
    "event in at least repeat_weeks distinct weeks, a week being seven days counted from the "
    "launch date. Shares are of eligible units, with Wilson intervals.",
    "Met: every share at or above its threshold. Diagnosis: the first step that falls short, "
    "judged on the share of the step before (exposed of eligible against thresholds.exposed; "
    "tried of exposed against thresholds.tried / thresholds.exposed; repeat of tried against "
    "thresholds.repeat / thresholds.tried). Without an exposure event, discoverability and "
    "communication cannot be told apart.",
    "Retention is a landmark comparison: among units active in week 1 (any event but the "
    "feature and exposure events), adopters tried the feature in week 1, and each group's "
    "share active in each later week is compared (difference of shares, unpooled normal "
    "interval). Fixing the groups at week 1 avoids immortal-time bias (a unit that stays "
    "longer has more time to try the feature). It is an association: people who try a "
    "feature early differ from those who do not.",
    "Difference in differences (with data.pre_period and an event primary metric): each "
    "unit's weekly primary metric after week 1 minus its weekly mean over the pre-period, "
    "adopters against the others (Welch); the pre-trend check is the same comparison between "
    "the pre-period's two halves. Observational: it assumes the groups would have moved in "
    "parallel without the feature.",
]


def _share(value: Share | None) -> str:
    return MISSING if value is None or value.value is None else f"{value.value:.1%}"


def _share_interval(value: Share | None) -> str:
    if value is None or value.lower is None or value.upper is None:
        return MISSING
    return f"{value.lower:.1%} to {value.upper:.1%}"


def adoption(result: Reviewed) -> HTMLBlock | None:
    """The adoption funnel, its diagnosis, the breakdown, retention and the difference in
    differences, under a heading beside other designs (None without an adoption block)."""
    found = result.adoption
    if found is None:
        return None
    block, funnel = found.block, found.funnel
    limits = block.thresholds
    steps: list[tuple[str, Share | None, float | None]] = []
    if funnel.exposed is not None:
        steps.append(("exposed", funnel.exposed, limits.exposed))
    steps += [("tried", funnel.tried, limits.tried), ("repeat", funnel.repeat, limits.repeat)]
    rows: list[list[ET.Element | str]] = [
        ["eligible", f"{funnel.eligible:,}", "100%", MISSING, MISSING, MISSING]
    ]
    for name, step, threshold in steps:
        assert step is not None
        reached = step.value is not None and threshold is not None and step.value >= threshold
        rows.append(
            [
                name,
                f"{step.units:,}",
                _share(step),
                _share_interval(step),
                f"{threshold:.0%}" if threshold is not None else MISSING,
                _el(
                    "span",
                    f"{'✔ met' if reached else '✖ short'}: {_share(step)} of eligible "
                    f"against {threshold:.0%}"
                    if threshold is not None
                    else MISSING,
                    class_="status",
                ),
            ]
        )
    level = f"{(1 - result.spec.decision.alpha) * 100:.4g}% CI"
    parts: list[ET.Element | None] = [
        None if isinstance(result, AdoptionReview) else _heading("Adoption"),
        _el(
            "div",
            _el("strong", "Diagnosis: "),
            adoption_module.sentence(found) + ".",
            class_="impact-flag" if not funnel.met else "",
        ),
        _table(
            ["step", "units", "share of eligible", level, "threshold", "status"], rows, {1, 2, 3}
        ),
    ]
    if found.breakdown:
        parts.append(_el("h3", f"By {block.breakdown}"))
        parts.append(
            _table(
                [
                    str(block.breakdown),
                    "eligible",
                    "exposed",
                    "tried",
                    "repeat",
                    "what falls short",
                ],
                [
                    [
                        group.group or MISSING,
                        f"{group.eligible:,}",
                        _share(group.exposed),
                        _share(group.tried),
                        _share(group.repeat),
                        message.DIAGNOSES[group.diagnosis],
                    ]
                    for group in found.breakdown
                ],
                numeric={1, 2, 3, 4},
            )
        )
    retention = found.retention
    parts.append(_el("h3", "Do adopters come back? (association, not an effect)"))
    if retention.weeks:
        parts.append(
            _el(
                "p",
                f"Among the {retention.adopters[0].total:,} adopters (tried in week 1) and "
                f"{retention.others[0].total:,} other units active in week 1, the share active "
                "in each later week. Those who try a feature early differ from those who do not, "
                "so a gap here is not what the feature caused.",
                class_="note",
            )
        )
        gap_rows: list[list[ET.Element | str]] = []
        for index, week in enumerate(retention.weeks):
            gap = retention.gaps.get(week)
            gap_rows.append(
                [
                    f"week {week}",
                    _share(retention.adopters[index]),
                    _share(retention.others[index]),
                    f"{gap.effect * 100:+.1f} pp" if gap and gap.effect is not None else MISSING,
                    f"{gap.ci_lower * 100:+.1f} to {gap.ci_upper * 100:+.1f} pp"
                    if gap and gap.ci_lower is not None and gap.ci_upper is not None
                    else MISSING,
                ]
            )
        parts.append(
            _table(
                ["week", "adopters active", "others active", "gap", level], gap_rows, {1, 2, 3, 4}
            )
        )
    else:
        parts.append(_el("p", "No whole week after week 1 yet.", class_="note"))
    if found.trend is not None:
        trend = found.trend
        change = trend.change
        parts.append(
            _el(
                "p",
                f"Difference in differences (observational): adopters' weekly {trend.metric} "
                f"changed by {change.effect:+.4g} more than the others' since launch "
                f"({level} {change.ci_lower:+.4g} to {change.ci_upper:+.4g}). "
                + (
                    "The groups moved in parallel before launch."
                    if trend.parallel
                    else "But their trends already differed before launch "
                    f"({trend.pretrend.effect:+.4g} a week, {level} "
                    f"{trend.pretrend.ci_lower:+.4g} to {trend.pretrend.ci_upper:+.4g}), so this "
                    "difference is not credible."
                ),
                class_="note",
            )
        )
    elif found.trend_note:
        parts.append(_el("p", f"No difference in differences: {found.trend_note}.", class_="note"))
    return _root(*parts)


def _adoption_data(result: AdoptionReview) -> list[list[ET.Element | str]]:
    spec = result.spec
    block = result.adoption.block
    return [
        ["eligible units", f"{result.adoption.funnel.eligible:,}"],
        ["segment", spec.data.segment or "all units"],
        ["feature event", block.feature_event],
        ["exposure event", block.exposure_event or "none registered"],
        ["events counted from", f"{spec.launch_date} 00:00 UTC"],
        ["as_of (nothing at or after it is read)", f"{result.look.as_of:%Y-%m-%d %H:%M} UTC"],
        ["newest event read", f"{result.newest_event:%Y-%m-%d %H:%M} UTC"],
        ["data source", warehouse.safe(spec.data.source)],
    ]
