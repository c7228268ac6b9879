"""The decision rule: classified metrics and checks -> a verdict with its reasons.

Effects are oriented so that positive is good. With the look's interval [lo, hi] and the
target T > 0, the primary metric is (first match wins):

    harm                  hi < 0
    target_met            lo > 0 and hi >= T
    below_target          lo > 0 and hi < T
    no_meaningful_effect  lo <= 0 and hi < T
    inconclusive          otherwise

A guardrail with margin M is ``ok`` when lo > -M, ``breach`` when hi < 0 and the estimate
<= -M, otherwise ``unclear``. A relative threshold is judged on Fieller's interval; when
that interval is unbounded, harm and breach follow the absolute interval's sign (a clear
harm is never hidden), and nothing else is claimed. The outcome, first match wins: invalid
(a blocking check failed, or too little data at the final look without a clear harm),
revert (primary harm or a guardrail breach), ship (target met and every guardrail ok),
keep_running (an interim look or a monitoring run), and at the final look the spec's
``on_no_effect`` when the target is ruled out, otherwise iterate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, NamedTuple

from impact import formats
from impact.spec import Effect, LaunchSpec, Metric
from impact.stats.compare import Comparison

__all__ = [
    "MIME_TYPE",
    "SHORT_OF_TARGET_WORDS",
    "STATUS_WORDS",
    "Check",
    "Look",
    "MetricVerdict",
    "Oriented",
    "Verdict",
    "decide",
    "decide_adoption",
    "format_effect",
    "guardrail_status",
    "judge_guardrail",
    "judge_primary",
    "orient",
    "orient_absolute",
    "primary_status",
    "secondary_harm",
    "status_words",
]

MIME_TYPE = "application/vnd.impact.verdict.v1+json"
"""The MIME type of the verdict payload that a template's last cell displays."""

STATUS_WORDS = {
    "target_met": "improved: the interval excludes 0 and reaches the target",
    "below_target": "improved, short of the target: the interval excludes 0 but not the target",
    "no_meaningful_effect": "target ruled out: the whole interval is below the target",
    "inconclusive": "inconclusive: the interval includes 0 and the target",
    "harm": "worse: the whole interval is on the harmful side of 0",
    "ok": "held: the interval stays inside the margin",
    "breach": "breached: the interval is on the harmful side and the estimate beyond the margin",
    "unclear": "unclear: harm beyond the margin is not ruled out",
}
"""What each status checked, in words: the report and verdict.md show these, not the codes."""

SHORT_OF_TARGET_WORDS = (
    "improved, the target not ruled out: the interval excludes 0 and reaches the target, but "
    "the estimate is short of it"
)
"""target_met with the estimate below the target: the rule ships on a target the interval
still reaches (DESIGN.md), and "target met" would claim more than the data show."""


NO_INTERVAL = "too little data: no interval at this look"


def status_words(status: str) -> str:
    """The words for a status code (the code itself, spaced, when it has none).

    Examples:
        >>> status_words("target_met")
        'improved: the interval excludes 0 and reaches the target'
    """
    return STATUS_WORDS.get(status, status.replace("_", " "))


PrimaryStatus = Literal[
    "harm", "target_met", "below_target", "no_meaningful_effect", "inconclusive"
]
GuardrailStatus = Literal["ok", "breach", "unclear"]
Outcome = Literal["ship", "iterate", "revert", "keep_running", "invalid"]
Scale = Literal["absolute", "relative"]


class Oriented(NamedTuple):
    """An effect and its interval, oriented so that positive is good.

    Attributes:
        estimate: the oriented point estimate.
        lower: the oriented lower bound.
        upper: the oriented upper bound.
        threshold: the target or margin magnitude on the same scale.
        scale: "absolute" (metric units) or "relative" (a share of the control).
    """

    estimate: float
    lower: float
    upper: float
    threshold: float
    scale: Scale


def orient(metric: Metric, comparison: Comparison, threshold: Effect) -> Oriented | None:
    """Put a comparison on the threshold's scale, oriented by the metric's direction.

    Absolute thresholds are judged on the absolute interval, relative ones (``+6%``) on
    Fieller's interval for the relative effect. None when that interval is not available.
    """
    if threshold.relative:
        values = (
            comparison.relative_effect,
            comparison.relative_ci_lower,
            comparison.relative_ci_upper,
        )
    else:
        values = (comparison.effect, comparison.ci_lower, comparison.ci_upper)
    estimate, lower, upper = values
    if estimate is None or lower is None or upper is None:
        return None
    scale: Scale = "relative" if threshold.relative else "absolute"
    if metric.good_sign > 0:
        return Oriented(estimate, lower, upper, threshold.magnitude, scale)
    return Oriented(-estimate, -upper, -lower, threshold.magnitude, scale)


def orient_absolute(metric: Metric, comparison: Comparison, threshold: Effect) -> Oriented | None:
    """A relative threshold judged on the absolute interval, for when Fieller's is unbounded.

    The threshold becomes its share of the control mean (``+10%`` of 0.0015 is 0.00015), so
    the estimate is beyond the threshold exactly when the relative estimate is. Only harm and
    breach are read from it: an unbounded relative interval never shows a target met or a
    guardrail held, but the absolute interval's sign shows a clear harm.
    """
    if comparison.effect is None or comparison.ci_lower is None or comparison.ci_upper is None:
        return None
    scale = abs(comparison.control or 0.0)
    magnitude = threshold.magnitude * scale if threshold.relative else threshold.magnitude
    effect, lower, upper = comparison.effect, comparison.ci_lower, comparison.ci_upper
    if metric.good_sign > 0:
        return Oriented(effect, lower, upper, magnitude, "absolute")
    return Oriented(-effect, -upper, -lower, magnitude, "absolute")


def primary_status(lower: float, upper: float, target: float) -> PrimaryStatus:
    """Classify an oriented interval against the target (see the module docstring).

    Examples:
        >>> primary_status(0.01, 0.04, 0.02), primary_status(-0.01, 0.015, 0.02)
        ('target_met', 'no_meaningful_effect')
    """
    if upper < 0:
        return "harm"
    if lower > 0:
        return "target_met" if upper >= target else "below_target"
    if upper < target:
        return "no_meaningful_effect"
    return "inconclusive"


def guardrail_status(lower: float, upper: float, estimate: float, margin: float) -> GuardrailStatus:
    """Classify an oriented guardrail interval against its margin.

    Examples:
        >>> guardrail_status(-0.004, 0.002, -0.001, 0.005)
        'ok'
    """
    if lower > -margin:
        return "ok"
    if upper < 0 and estimate <= -margin:
        return "breach"
    return "unclear"


def format_effect(
    metric: Metric, value: float, scale: Scale = "absolute", *, group: tuple[float | None, ...] = ()
) -> str:
    """An effect in the metric's units (impact/formats.py): percentage points for shares,
    the registered unit or currency otherwise, % for relative; ``group`` holds the numbers
    read with it (its interval), which share its decimals.

    Examples:
        >>> from impact.spec import Metric
        >>> m = Metric(name="c", kind="proportion", event="buy", window="14d", direction="increase")
        >>> format_effect(m, 0.0312), format_effect(m, 0.05, "relative")
        ('+3.12 pp', '+5.0%')
    """
    if scale == "relative":
        return formats.relative(value, group=group)
    return formats.change(formats.of(metric), value, group=group)


def _interval(metric: Metric, comparison: Comparison, scale: Scale, level: float) -> str:
    if scale == "relative":
        low, high = comparison.relative_ci_lower, comparison.relative_ci_upper
        estimate = comparison.relative_effect
    else:
        low, high = comparison.ci_lower, comparison.ci_upper
        estimate = comparison.effect
    if low is None or high is None:
        return "no interval"
    if scale == "relative":
        shown = formats.relative_interval(low, high, estimate=estimate)
    else:
        shown = formats.interval(formats.of(metric), low, high, estimate=estimate)
    return f"{(1 - level) * 100:.3g}% CI {shown}"


@dataclass(frozen=True)
class MetricVerdict:
    """A decision metric's comparison, its status and the reason in words.

    Attributes:
        metric: the metric's definition.
        comparison: the statistics at this look.
        status: the primary or guardrail status.
        oriented: the oriented interval on the threshold's scale (None when unavailable).
        reason: one sentence a reader can check against the numbers.
    """

    metric: Metric
    comparison: Comparison
    status: str
    oriented: Oriented | None
    reason: str

    @property
    def words(self) -> str:
        """What the status checked, in words; a metric with no interval (nothing matured
        or too few units in an arm) says so instead of describing an interval."""
        if self.comparison.ci_lower is None or self.comparison.ci_upper is None:
            return NO_INTERVAL
        if self.short_of_target:
            return SHORT_OF_TARGET_WORDS
        return status_words(self.status)

    @property
    def short_of_target(self) -> bool:
        """Whether the status is target_met while the estimate is below the target: the
        interval reaches the target, so it is not ruled out, but not shown met either."""
        return (
            self.status == "target_met"
            and self.oriented is not None
            and self.oriented.estimate < self.oriented.threshold
        )

    @property
    def label(self) -> str:
        """The status in two or three words, for a chart's title ("target met", "target not
        ruled out", "below target")."""
        return "target not ruled out" if self.short_of_target else self.status.replace("_", " ")


def _effect_words(metric: Metric, comparison: Comparison, scale: Scale) -> str:
    estimate = comparison.relative_effect if scale == "relative" else comparison.effect
    if scale == "relative":
        group = (comparison.relative_ci_lower, comparison.relative_ci_upper)
    else:
        group = (comparison.ci_lower, comparison.ci_upper)
    shown = (
        format_effect(metric, estimate, scale, group=group) if estimate is not None else "unknown"
    )
    return f"{shown} ({_interval(metric, comparison, scale, comparison.alpha)})"


def judge_primary(metric: Metric, comparison: Comparison) -> MetricVerdict:
    """Classify the primary metric and say why."""
    assert metric.target is not None
    oriented = orient(metric, comparison, metric.target)
    scale: Scale = "relative" if metric.target.relative else "absolute"
    target = format_effect(metric, metric.good_sign * metric.target.magnitude, scale)
    if oriented is None:
        why = comparison.note or "no interval"
        fallback = orient_absolute(metric, comparison, metric.target)
        if fallback is not None and fallback.upper < 0:
            words = _effect_words(metric, comparison, "absolute")
            return MetricVerdict(
                metric,
                comparison,
                "harm",
                fallback,
                f"{metric.name} got worse: {words}; the whole interval is on the harmful side "
                f"of 0 (the relative interval is unbounded: {why}, so harm is read from the "
                "absolute interval).",
            )
        return MetricVerdict(
            metric,
            comparison,
            "inconclusive",
            None,
            f"{metric.name}: cannot be judged against the target {target} ({why}).",
        )
    status = primary_status(oriented.lower, oriented.upper, oriented.threshold)
    words = _effect_words(metric, comparison, scale)
    reason = {
        "harm": f"{metric.name} got worse: {words}; the whole interval is on the harmful side.",
        "target_met": (
            f"{metric.name} improved: {words}; the interval excludes 0 and reaches the "
            f"target {target}"
            + (
                ", but the estimate is short of it: the target is not ruled out, not shown met."
                if oriented.estimate < oriented.threshold
                else "."
            )
        ),
        "below_target": (
            f"{metric.name} improved, short of the target: {words}; the interval excludes 0 "
            f"but stays below the target {target}."
        ),
        "no_meaningful_effect": (
            f"{metric.name} changed by {words}: the whole interval is below the target "
            f"{target}, so the target is ruled out."
        ),
        "inconclusive": (
            f"{metric.name} changed by {words}: the interval includes both 0 and the target "
            f"{target}, so the data cannot tell whether it is reached."
        ),
    }[status]
    return MetricVerdict(metric, comparison, status, oriented, reason)


def judge_guardrail(metric: Metric, comparison: Comparison) -> MetricVerdict:
    """Classify a guardrail against its margin and say why."""
    assert metric.margin is not None
    oriented = orient(metric, comparison, metric.margin)
    scale: Scale = "relative" if metric.margin.relative else "absolute"
    margin = format_effect(metric, -metric.good_sign * metric.margin.magnitude, scale)
    if oriented is None:
        why = comparison.note or "no interval"
        fallback = orient_absolute(metric, comparison, metric.margin)
        if fallback is not None and (
            guardrail_status(fallback.lower, fallback.upper, fallback.estimate, fallback.threshold)
            == "breach"
        ):
            words = _effect_words(metric, comparison, "absolute")
            return MetricVerdict(
                metric,
                comparison,
                "breach",
                fallback,
                f"guardrail {metric.name} breached its margin {margin}: {words}; the interval "
                f"is on the harmful side of 0 and the estimate beyond the margin (the relative "
                f"interval is unbounded: {why}, so the breach is read from the absolute "
                "interval).",
            )
        return MetricVerdict(
            metric,
            comparison,
            "unclear",
            None,
            f"guardrail {metric.name}: cannot be judged against the margin {margin} ({why}).",
        )
    status = guardrail_status(oriented.lower, oriented.upper, oriented.estimate, oriented.threshold)
    words = _effect_words(metric, comparison, scale)
    reason = {
        "ok": f"guardrail {metric.name} held: {words}, inside the margin {margin}.",
        "breach": f"guardrail {metric.name} breached its margin {margin}: {words}.",
        "unclear": (
            f"guardrail {metric.name} is unclear: {words}; harm beyond the margin {margin} "
            "is not ruled out."
        ),
    }[status]
    return MetricVerdict(metric, comparison, status, oriented, reason)


def secondary_harm(
    metric: Metric, comparison: Comparison, q_value: float | None, alpha: float
) -> str | None:
    """A reason line when a secondary metric got significantly worse, else None.

    Significant means a Benjamini-Hochberg q-value below ``alpha`` with the interval on the
    harmful side of 0. Secondary metrics never decide: the line is reported, not weighed.
    """
    if q_value is None or q_value >= alpha or comparison.effect is None:
        return None
    low, high = comparison.ci_lower, comparison.ci_upper
    if low is None or high is None:
        return None
    harmful = high < 0 if metric.good_sign > 0 else low > 0
    if not harmful:
        return None
    words = _effect_words(metric, comparison, "absolute")
    return (
        f"secondary {metric.name} got worse: {words}, q = {q_value:.2g}; secondary metrics "
        "are monitored and never decide, but this harm is worth a look."
    )


@dataclass(frozen=True)
class Check:
    """A check of the data or the registration.

    Attributes:
        name: a short identifier, such as ``sample_ratio``.
        passed: whether the check passed.
        p_value: the test's p-value, where the check is a test.
        detail: what was found, in words.
        blocking: a failed blocking check makes the verdict invalid; others only warn.
    """

    name: str
    passed: bool
    p_value: float | None
    detail: str
    blocking: bool


@dataclass(frozen=True)
class Look:
    """Where a review sits among the pre-registered checkpoints.

    Attributes:
        days: days after launch.
        as_of: 00:00 UTC of launch_date + days.
        registered: whether the checkpoint is one of the spec's reviews.
        final: whether it is the last registered review.
        next_review: the date of the next registered review (None after the final one).
        alpha: the two-sided level used at this look.
        information: the information fraction of each registered look so far (empty for
            a monitoring run).
        levels: the nominal level of each of those looks' boundaries.
        boundaries: each of those looks' two-sided z boundary (infinity: spends nothing).
        earlier: for each earlier registered look, the boundary it used as its published
            verdict.json records it (infinity: it never ran, so it spent nothing), or None
            where no published verdict could be looked for (its planned boundary is used).
        basis: what the information fraction counts: ``units`` whose primary metric has
            matured, or ``time`` (the look's share of the time to the final look) for data
            without exposure times or ``data.accrual_end``.
        today: the review's clock (None where it is not known): a next review whose date
            has passed by then is due now, not upcoming.
    """

    days: int
    as_of: dt.datetime
    registered: bool
    final: bool
    next_review: dt.date | None
    alpha: float
    information: tuple[float, ...] = ()
    levels: tuple[float, ...] = ()
    boundaries: tuple[float, ...] = ()
    earlier: tuple[float | None, ...] = ()
    basis: Literal["units", "time"] = "units"
    today: dt.date | None = None

    @property
    def label(self) -> str:
        """The checkpoint as output files name it, e.g. ``28d``."""
        return f"{self.days}d"

    @property
    def next_due(self) -> bool:
        """Whether the next registered review's date has passed by the review's clock (a
        look run again, or late)."""
        return (
            self.next_review is not None
            and self.today is not None
            and (self.next_review <= self.today)
        )

    def next_words(self) -> str:
        """When the next registered review is, in words ("" after the final one)."""
        if self.next_review is None:
            return ""
        if self.next_due:
            return f"the next review, on {self.next_review}, is due now"
        return f"next review on {self.next_review}"


@dataclass(frozen=True)
class Verdict:
    """The outcome, the spec's words for it, and every reason."""

    outcome: Outcome
    action: str
    reasons: tuple[str, ...]


def decide(
    spec: LaunchSpec,
    look: Look,
    primary: MetricVerdict,
    guardrails: list[MetricVerdict],
    checks: list[Check],
    too_little_data: str | None,
    power_note: str | None = None,
    notes: tuple[str, ...] = (),
) -> Verdict:
    """Apply the outcome order of DESIGN.md to a look.

    A clear harm (the primary's or a guardrail breach) leads the metric reasons whatever
    the outcome, and at the final look it outranks "too little data": the interval already
    shows the harm, so more data would not change the action.

    Args:
        spec: the launch spec (for the words of each outcome).
        look: the checkpoint being reviewed.
        primary: the judged primary metric.
        guardrails: the judged guardrails.
        checks: data and registration checks.
        too_little_data: why there are too few units (an arm under min_units), or None.
        power_note: what the primary comparison could detect, added to the reasons of an
            iterate or keep_running outcome.
        notes: reported lines that never decide (a significant harm on a secondary metric).
    """
    words = spec.decision
    judged = [primary, *guardrails]
    harmful = [m for m in judged if m.status in ("harm", "breach")]
    metric_reasons = [
        *(m.reason for m in harmful),
        *(m.reason for m in judged if m not in harmful),
        *notes,
    ]
    failed = [check for check in checks if check.blocking and not check.passed]
    warnings = [check.detail for check in checks if not check.blocking and not check.passed]

    def verdict(
        outcome: Outcome, action: str, lead: list[str], tail: tuple[str, ...] = ()
    ) -> Verdict:
        return Verdict(outcome, action, tuple([*lead, *metric_reasons, *tail, *warnings]))

    if failed:
        return verdict("invalid", "fix the problem and rerun", [c.detail for c in failed])
    if too_little_data and look.final:
        if harmful:
            return verdict("revert", words.on_failure, [], (too_little_data,))
        return verdict("invalid", "collect more data", [too_little_data])
    next_words = look.next_words()
    if not look.registered:
        return verdict(
            "keep_running",
            "keep running",
            [
                f"monitoring run at {look.label}: not a registered review, so it never decides"
                + (f"; {next_words}" if next_words else "")
            ],
        )
    if too_little_data:
        return verdict("keep_running", "keep running", [too_little_data, next_words])
    if harmful:
        return verdict("revert", words.on_failure, [])
    if primary.status == "target_met" and all(g.status == "ok" for g in guardrails):
        return verdict("ship", words.on_success, [])
    extra = (power_note,) if power_note else ()
    if not look.final:
        return verdict(
            "keep_running", "keep running", [f"interim review at {look.label}; {next_words}"], extra
        )
    if primary.status == "no_meaningful_effect":
        if spec.on_no_effect == "revert":
            return verdict("revert", words.on_failure, [])
        return verdict("iterate", words.on_inconclusive, [])
    return verdict("iterate", words.on_inconclusive, [], extra)


def decide_adoption(
    spec: LaunchSpec,
    look: Look,
    met: bool,
    diagnosis: str,
    checks: list[Check],
    too_little_data: str | None,
) -> Verdict:
    """The outcome of a design: adoption review.

    invalid (a blocking check failed, or too little data at the final look); keep_running (a
    monitoring run, or too little data at an interim look); ship when every threshold is met;
    keep_running at an interim look; otherwise iterate, with the diagnosis as the reason.

    Args:
        spec: the launch spec (for the words of each outcome).
        look: the checkpoint being reviewed.
        met: whether every threshold of the funnel is met.
        diagnosis: the diagnosis in one sentence.
        checks: registration (and data) checks.
        too_little_data: why there are too few eligible units, or None.
    """
    words = spec.decision
    failed = [check.detail for check in checks if check.blocking and not check.passed]
    warnings = tuple(check.detail for check in checks if not check.blocking and not check.passed)
    if failed:
        return Verdict("invalid", "fix the problem and rerun", (*failed, diagnosis, *warnings))
    if too_little_data and look.final:
        return Verdict("invalid", "collect more data", (too_little_data, *warnings))
    next_words = look.next_words()
    if not look.registered:
        lead = f"monitoring run at {look.label}: not a registered review, so it never decides"
        return Verdict("keep_running", "keep running", (lead, diagnosis, *warnings))
    if too_little_data:
        return Verdict("keep_running", "keep running", (too_little_data, next_words, *warnings))
    if met:
        return Verdict("ship", words.on_success, (diagnosis, *warnings))
    if not look.final:
        lead = f"interim review at {look.label}; {next_words}"
        return Verdict("keep_running", "keep running", (lead, diagnosis, *warnings))
    return Verdict("iterate", words.on_inconclusive, (diagnosis, *warnings))
