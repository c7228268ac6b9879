"""The metric sections: the registered criteria, the primary metric, guardrails, secondary."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from impact import formats
from impact.prepost import PrepostResult
from impact.report.blocks import (
    Compared,
    HTMLBlock,
    Reviewed,
    _and,
    _arm_headers,
    _ci,
    _effect,
    _el,
    _heading,
    _interval,
    _level,
    _level_words,
    _p,
    _root,
    _status,
    _table,
    _term,
    _value,
)
from impact.review import ReviewResult
from impact.spec import Metric
from impact.stats.compare import Comparison
from impact.verdict import MetricVerdict


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
        path = "metrics.primary." if role == "primary" else f"metrics.guardrails[{metric.name}]."
        amended = _amended_after_launch(result, path)
        rows.append(
            [
                metric.name,
                role,
                _el("span", rule, *[_el("strong", f" ⚠ {words}") for words in amended]),
                _effect(metric, estimate, scale, (low, high)),
                _interval(metric, low, high, scale, estimate),
                _status(item.status, item.words),
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


def _amended_after_launch(result: Compared, path: str) -> list[str]:
    """How amendments after launch changed the fields under ``path`` (a metric's), in words:
    such a criterion was not fixed before the data came in."""
    return [
        f"amended after launch (amendment {amendment['number']}): "
        f"{change['field'].removeprefix(path)} was {change['old']}"
        for amendment in result.registration.amended_after_launch
        for change in amendment.get("changes", [])
        if change["field"].startswith(path) and change["field"] in amendment["deciding_fields"]
    ]


def _units_note(result: Compared) -> ET.Element:
    """What the units of the changes are, once (percentage points only when a metric of the
    table is a share)."""
    reference = "counterfactual's" if isinstance(result, PrepostResult) else "control's"
    judged = [result.primary, *result.guardrails]
    shares: list[ET.Element | str]
    if any(formats.of(item.metric).format == "percent" for item in judged):
        shares = ["Changes of a share are in ", _term("pp"), " (percentage points); relative "]
    else:
        shares = ["Relative "]
    return _el(
        "p",
        *shares,
        "changes (",
        _term("relative"),
        f") in % of the {reference} value. ",
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
                _status(item.status, item.words),
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


def _weeks_line(result: ReviewResult) -> ET.Element | None:
    """Why the weeks' effects differ from the whole window's, from the numbers: each week
    counts only its own days (and the last may be partial)."""
    metric = result.primary.metric
    analysed = result.analyses[metric.name]
    whole = analysed.unadjusted
    weeks = [week for week in result.weeks if week.effect is not None]
    if metric.window is None or whole.effect is None or whole.control is None or not weeks:
        return None
    window = f"{metric.window}-day"
    headline = _effect(metric, whole.effect)
    if analysed.cuped_applied:
        headline += f" ({_effect(metric, result.primary.comparison.effect)} with CUPED)"
    plain = " before CUPED" if analysed.cuped_applied else ""
    below = all(abs(week.effect or 0.0) < abs(whole.effect) for week in weeks)
    lead = (
        f"Why each week's effect is below the {headline} over the whole {window} window: "
        if below
        else f"How the weeks relate to the {headline} over the whole {window} window: "
    )
    rates = [_value(metric, week.control) for week in weeks]
    listed = _and(rates)
    if metric.kind == "proportion":
        counted = f"a week counts a unit with {metric.event} in that week, the window a unit "
        counted += "with it at any time in it"
        noun = "rate"
    elif metric.value == "max":
        counted = "a week counts a unit's largest value in that week, the window its largest "
        counted += "in any week"
        noun = "value"
    else:
        together = _effect(metric, sum(week.effect or 0.0 for week in weeks))
        counted = ""
        noun = ""
    body = (
        f"{counted}, so the control's weekly {noun}s ({listed}) are each below its {window} "
        f"{noun} ({_value(metric, whole.control)}{plain}), and each week's effect is on that "
        "smaller "
        "base."
        if noun
        else f"a week counts only the {metric.event} events of that week, so the weeks add up "
        f"to the window: their effects make {together} together."
    )
    partial = metric.window % 7
    tail = (
        f" Week {len(result.weeks)} holds only the last {partial} days of the window."
        if partial
        else ""
    )
    return _el("p", lead + body + tail, class_="note")


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
                f"Power: at this look the test had {formats.power(power.achieved)} power to "
                f"detect the target ({_effect(metric, metric.good_sign * power.target)}); the "
                f"smallest effect it detects with {result.spec.decision.power:.0%} power is "
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
            _weeks_line(result),
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
