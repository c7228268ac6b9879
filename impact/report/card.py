"""The first screen: the verdict card and the contents line."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from impact import message
from impact.adoption_review import AdoptionReview
from impact.payload import bet_json
from impact.prepost import PrepostResult
from impact.report.adoption import _share
from impact.report.blocks import (
    INLINE,
    OUTCOME_COLOUR,
    OUTCOME_MARK,
    OUTCOME_WORDS,
    STYLE,
    HTMLBlock,
    Reviewed,
    _ci,
    _effect,
    _el,
    _interval,
    _level_words,
    _root,
    _value,
)
from impact.review import ReviewResult
from impact.sources import postgres


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
            (
                f"used it in {block.repeat_weeks} different weeks",
                funnel.repeat,
                block.thresholds.repeat,
            )
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
    name = metric.name + (f" per {metric.per}" if prepost else "")
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
    effect = _effect(metric, c.effect, group=(c.ci_lower, c.ci_upper))
    interval = _interval(metric, c.ci_lower, c.ci_upper, estimate=c.effect)
    if result.verdict.outcome == "invalid":  # an estimate the checks do not support is no result
        return _el(
            "div",
            _el(
                "p",
                _el("strong", f"{name}: no effect is claimed. "),
                "The checks below failed, so the estimate is not evidence either way: "
                f"{effect} ({relative}), ",
                _ci(c),
                f" {interval}; target {target}.",
                class_="meta",
            ),
            _el("p", f"{counts}; {_dates(result)}", class_="meta"),
            class_="impact-lead",
        )
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
            _el("strong", f"{effect} "),
            f"({relative}); ",
            _ci(c),
            f" {interval}; target {target}",
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
                f"! data read from {postgres.safe(trust.location)}, given instead of the "
                f"spec's data.source ({postgres.safe(spec.data.source or '')}); data "
                f"fingerprint {result.data_fingerprint[:12]}",
                class_="impact-flag",
            )
        )
    if look.next_review is None:
        next_review = f"This was the last review: the decision is to {verdict.action}."
    elif verdict.outcome in ("ship", "revert"):
        next_review = (
            f"Decided at this interim review: the decision is to {verdict.action}; no later "
            "review is needed."
        )
    elif look.next_due:
        next_review = f"Next review: {look.next_review}, due now (its date has passed)."
    else:
        next_review = f"Next review: {look.next_review}, when the data up to the day before are in."
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


def contents(result: Reviewed) -> HTMLBlock:
    """The contents line: a link to each section that has something to show."""
    sections = [
        ("Primary metric", not isinstance(result, AdoptionReview)),
        ("The bet", not isinstance(result, AdoptionReview) and bet_json(result.spec) is not None),
        ("Guardrails", bool(getattr(result, "guardrails", None))),
        ("Secondary metrics", bool(getattr(result, "secondary", None))),
        ("Segments", bool(getattr(result, "segments", None))),
        ("Rollout stages", bool(getattr(result, "phases", None))),
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
