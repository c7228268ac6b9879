"""What a verdict rests on: the data behind it, the checks, the methods and the provenance."""

from __future__ import annotations

import platform
import xml.etree.ElementTree as ET
from importlib import metadata
from typing import Any

from impact.adoption_review import AdoptionReview
from impact.prepost import PrepostResult
from impact.report.adoption import ADOPTION_METHODS, _adoption_data
from impact.report.blocks import MISSING, HTMLBlock, Payload, Reviewed, _el, _root, _table, _term
from impact.report.prepost import _series_data, _series_methods
from impact.review import ReviewResult
from impact.sources import postgres
from impact.spec import LaunchSpec


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
        ["planned split", _planned_split(spec)],
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


def _planned_split(spec: LaunchSpec) -> str:
    """The registered split, or each rollout stage's split from its start."""

    def split(shares: dict[str, float]) -> str:
        return ", ".join(f"{arm} {share:.0%}" for arm, share in shares.items())

    if spec.rollout:
        return "; ".join(
            f"stage {index} from {stage.start}: {split(stage.split)}"
            for index, stage in enumerate(spec.rollout, start=1)
        )
    return split(spec.data.split or {})


def _source_words(result: ReviewResult) -> str:
    """Where the data were read from, and whether that replaced the spec's data.source."""
    trust = result.trust
    spec_source = postgres.safe(result.spec.data.source)
    if trust is None or trust.data_source is None:
        return spec_source
    return (
        f"{postgres.safe(trust.location)}, given instead of the spec's data.source "
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
        stack=True,  # a detail is a sentence: on a phone it needs the whole width
    )


def _information_words(basis: str) -> str:
    if basis == "time":
        return (
            "the data have no exposure times and no data.accrual_end, so a look's fraction is "
            "its share of the time to the final look, as if units arrived evenly"
        )
    return (
        "units whose primary window has ended at the look, over those expected at the final "
        "look; projected from accrual at an interim look, observed at the final one"
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
            f"({_information_words(look.basis)}; a later look's boundary is solved given the "
            "boundaries the earlier looks used, as their verdict.json records them, so that "
            "all looks together spend exactly alpha). This look: fraction "
            f"{look.information[-1]:.2f}, level {look.alpha:.4g}; "
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
        *_segment_methods(result),
        "Assumptions: units do not affect each other (no interference); the assignment was "
        "random and stable; the metric data are complete up to as_of. Estimates from a stop "
        "at an interim look tend to run high.",
    ]
    return _root(_el("ul", *[_el("li", item) for item in items]))


def _segment_methods(result: ReviewResult) -> list[str]:
    """The methods of a rollout's stages and of registered segments (none without them)."""
    items = []
    if result.phases:
        items.append(
            "Rollout stages: each unit belongs to the stage of its first exposure, and the "
            "sample ratio is checked per stage against that stage's split. Each metric is "
            "compared within each stage (CUPED per stage) and the stages are combined with "
            "weights equal to their shares of the metric's mature units, the average effect "
            "over the units the launch reached; the variance is the weighted sum of the "
            "stages' variances (for means, Welch-Satterthwaite degrees of freedom over "
            "stages). A pooled comparison across stages is biased by anything that drifts "
            "over the launch, so it is only shown beside, never used."
        )
    if result.segments is not None and result.segments.cells:
        cells = len([c for c in result.segments.cells if c.q_value is not None])
        columns = ", ".join(dict.fromkeys(c.column for c in result.segments.cells))
        items.append(
            f"Segments ({columns}, registered before launch): each value is compared with the "
            "same statistics as the whole launch; values with too few units per arm are "
            f"pooled into 'other'. q-values are Benjamini-Hochberg across all {cells} segment "
            "cells, compared with the look's level: they bound the share of false findings "
            "among flagged cells when the cells' tests are independent or positively "
            "dependent (cells of different columns share units). Cochran's Q per metric and "
            "column asks whether the effect differs between values at all; it is not "
            "adjusted across metrics and columns. Segments never change the outcome."
        )
    return items


def payload(result: Reviewed) -> Payload:
    """The verdict.json payload as a display output (the runner reads it; the report drops it)."""
    return Payload(result.to_json())


def _provenance_source(result: Reviewed) -> str:
    """What was read: the spec's data.source, or the override given instead of it."""
    trust = getattr(result, "trust", None)
    spec_source = postgres.safe(result.spec.data.source or "")
    if trust is None or trust.data_source is None:
        return f"{spec_source} (the spec's data.source)"
    return (
        f"{postgres.safe(trust.location)} (given with --data-source or the notebook's "
        f"data_source, instead of the spec's {spec_source})"
    )


def _template_words(template: dict[str, Any], registration: dict[str, Any]) -> str:
    """The notebook template the review ran, its sha256, and any change since registration."""
    kind = "team template" if template["team"] else "built-in template"
    words = f"{template['name']} ({kind}, {template['path']}), sha256 {template['sha256']}"
    if registration.get("template_changed") and not registration.get("template_sha256"):
        words += "; selected after registration (none was registered)"
    elif registration.get("template_changed"):
        words += (
            f"; changed since registration (registered sha256 {registration['template_sha256']})"
        )
    return words


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
        ["template", _template_words(payload["template"], registration)],
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
