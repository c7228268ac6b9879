"""One review in Python: a spec and its data at a checkpoint -> a ReviewResult.

This is what a template's cells call::

    result = review.run("specs/demo-checkout.yaml", checkpoint="56d", today="2026-11-26")
    result.verdict.outcome      # "ship"
    result.to_json()            # the verdict.json payload

The clock is a parameter (``today``) so tests and reruns are reproducible; a review never
reads data at or after its ``as_of``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from impact import adoption as adoption_module
from impact import (
    analysis,
    datachecks,
    formats,
    handover,
    looks,
    metrics,
    registry,
    rollout,
    seal,
    segments,
    sources,
)
from impact import spec as spec_module
from impact.adoption import AdoptionResult
from impact.ahead import Ahead
from impact.analysis import Analysis, Power
from impact.errors import SpecError
from impact.looks import sequential_look  # review.sequential_look, as before
from impact.metrics import MetricTable
from impact.payload import (  # review.clean and the others, as before
    checks_json,
    clean,
    comparison_json,
    iso,
    payload_head,
    run_json,
)
from impact.segments import SegmentResult
from impact.sources import contract
from impact.sources.source import Source
from impact.spec import LaunchSpec, Metric
from impact.stats import checks as stat_checks
from impact.stats import multiplicity
from impact.stats.compare import Comparison
from impact.verdict import (
    Check,
    Look,
    MetricVerdict,
    Verdict,
    decide,
    format_effect,
    judge_guardrail,
    judge_primary,
    secondary_harm,
)

__all__ = [
    "DataTrust",
    "Prepared",
    "ReviewResult",
    "SecondaryResult",
    "checks_json",
    "clean",
    "comparison_json",
    "look_at",
    "parse_today",
    "payload_head",
    "prepare",
    "registration_check",
    "run",
    "run_json",
    "sequential_look",
    "with_adoption_reason",
]


def parse_today(today: str | dt.date | None) -> dt.date:
    """The review's clock: a date, an ISO date string, or None for the real UTC date."""
    if today is None:
        return dt.datetime.now(dt.UTC).date()
    if isinstance(today, dt.date):
        return today
    try:
        return dt.date.fromisoformat(today)
    except ValueError:
        raise SpecError(f'--today: "{today}" is not a date; write YYYY-MM-DD') from None


def look_at(spec: LaunchSpec, checkpoint: str | None, today: dt.date) -> Look:
    """Resolve the checkpoint of a review.

    Without ``checkpoint``, the latest registered review whose as_of has passed. A checkpoint
    that is not a registered review is a monitoring run.

    Raises:
        SpecError: the checkpoint is not a duration, or its as_of is still in the future.
    """
    labels = ", ".join(spec_module.format_duration(days) for days in spec.reviews)
    if checkpoint is None:
        passed = [days for days in spec.reviews if spec.as_of(days).date() <= today]
        if not passed:
            first = spec.as_of(spec.reviews[0]).date()
            raise SpecError(
                f"{spec.path}: no review of {spec.id} is due on {today}: the first "
                f"({spec_module.format_duration(spec.reviews[0])}) is on {first}"
            )
        days = passed[-1]
    else:
        try:
            days = spec_module.parse_duration(checkpoint)
        except ValueError as error:
            raise SpecError(f"--checkpoint: {error}; the reviews are {labels}") from None
    as_of = spec.as_of(days)
    if as_of.date() > today:
        raise SpecError(
            f"--checkpoint {checkpoint or spec_module.format_duration(days)}: its as_of "
            f"{as_of.date()} is after today ({today}); a review cannot read the future"
        )
    later = [d for d in spec.reviews if d > days]
    return Look(
        days=days,
        as_of=as_of,
        registered=days in spec.reviews,
        final=days == spec.reviews[-1],
        next_review=spec.as_of(later[0]).date() if later else None,
        alpha=spec.decision.alpha,
        today=today,
    )


@dataclass(frozen=True)
class SecondaryResult:
    """A secondary metric: monitored, never deciding, with its Benjamini-Hochberg q-value."""

    metric: Metric
    comparison: Comparison
    q_value: float | None


@dataclass(frozen=True)
class ReviewResult:
    """Everything a review found, ready for display and for verdict.json."""

    spec: LaunchSpec
    look: Look
    today: dt.date
    table: MetricTable
    primary: MetricVerdict
    guardrails: list[MetricVerdict]
    secondary: list[SecondaryResult]
    checks: list[Check]
    registration: registry.Registration
    verdict: Verdict
    analyses: dict[str, Analysis]
    power: Power
    weeks: list[Comparison]
    newest_event: dt.datetime
    data_fingerprint: str
    started_at: dt.datetime
    seconds: float
    adoption: AdoptionResult | None = None
    trust: DataTrust | None = None
    segments: SegmentResult | None = None
    phases: list[rollout.Phase] = dataclasses.field(default_factory=list)
    stages: dict[str, list[rollout.StageEstimate]] = dataclasses.field(default_factory=dict)
    pooled: dict[str, Analysis] = dataclasses.field(default_factory=dict)

    @property
    def events_read(self) -> bool:
        """Whether the review read an events table (a user-level export may have none)."""
        return self.trust is None or self.trust.events_read

    def to_json(self) -> dict[str, Any]:
        """The verdict.json payload (schema ``impact/schemas/verdict.v1.json``)."""
        primary = self.primary
        n = self.table.metrics[primary.metric.name]
        payload = {
            **payload_head(self.spec, self.look, self.verdict),
            "primary": {
                "name": primary.metric.name,
                "kind": primary.metric.kind,
                "status": primary.status,
                "status_words": primary.words,
                **comparison_json(primary.comparison),
                **formats.to_json(primary.metric),
                "target": str(primary.metric.target),
                "n": {"control": n.control.n, "treatment": n.treatment.n},
                "cuped": self.analyses[primary.metric.name].cuped_json(),
                "power": {
                    "target": self.power.target,
                    "achieved": self.power.achieved,
                    "mde": self.power.mde,
                },
                "weeks": [
                    {"week": index + 1, **comparison_json(week)}
                    for index, week in enumerate(self.weeks)
                ],
            },
            "guardrails": [
                {
                    "name": g.metric.name,
                    "status": g.status,
                    "status_words": g.words,
                    **comparison_json(g.comparison),
                    **formats.to_json(g.metric),
                    "margin": g.metric.margin.magnitude if g.metric.margin else None,
                    "margin_relative": bool(g.metric.margin and g.metric.margin.relative),
                    "cuped": self.analyses[g.metric.name].cuped_json(),
                }
                for g in self.guardrails
            ],
            "secondary": [
                {
                    "name": s.metric.name,
                    **comparison_json(s.comparison),
                    **formats.to_json(s.metric),
                    "q_value": s.q_value,
                    "cuped": self.analyses[s.metric.name].cuped_json(),
                }
                for s in self.secondary
            ],
            "checks": checks_json(self.checks),
            **self._segments_json(),
            "adoption": self.adoption.to_json() if self.adoption else None,
            "registration": self.registration.to_json(),
            "data": {
                "units": self.table.population.units,
                "first_exposure": iso(self.table.population.first_exposure),
                "last_exposure": iso(self.table.population.last_exposure),
                "newest_event": iso(self.newest_event) if self.events_read else None,
                **trust_json(self.trust),
            },
            "run": {
                **run_json(self.data_fingerprint, self.started_at, self.seconds, self.today),
                **source_json(self.trust),
            },
        }
        return clean(payload)

    def pooled_shown(self, name: str) -> Comparison | None:
        """The pooled comparison of a metric, where a rollout's stratified one differs from
        it enough to matter (see impact/rollout.py); None otherwise."""
        if name not in self.stages or name not in self.pooled:
            return None
        pooled = self.pooled[name].comparison
        return pooled if rollout.differs(self.analyses[name].comparison, pooled) else None

    def _segments_json(self) -> dict[str, Any]:
        """verdict.json's ``segments``, ``heterogeneity``, ``phases`` and ``pooled``."""
        cells, tests = self.segments.to_json() if self.segments else ([], [])
        pooled = {}
        for name in self.stages:
            shown = self.pooled_shown(name)
            pooled[name] = {
                **comparison_json(self.pooled[name].comparison),
                "shown": shown is not None,
            }
        return {
            "segments": cells,
            "heterogeneity": tests,
            "phases": [
                {
                    **phase.to_json(),
                    "effects": {
                        name: comparison_json(estimates[phase.index].analysis.comparison)
                        | {"weight": estimates[phase.index].weight}
                        for name, estimates in self.stages.items()
                    },
                }
                for phase in self.phases
            ],
            "pooled": pooled or None,
        }


def trust_json(trust: DataTrust | None) -> dict[str, Any]:
    """verdict.json's ``data.joins`` and ``data.daily`` (empty without events)."""
    if trust is None:
        return {}
    return {
        "joins": trust.joins.to_json() if trust.joins else None,
        "daily": trust.completeness.to_json() if trust.completeness else None,
        "outcomes": trust.outcomes,
    }


def source_json(trust: DataTrust | None) -> dict[str, Any]:
    """verdict.json's ``run.data_source`` and ``run.data_source_override``: what was read,
    and whether it replaced the spec's ``data.source``."""
    if trust is None:
        return {}
    return {"data_source": trust.location, "data_source_override": trust.data_source}


class Prepared(NamedTuple):
    """What ``prepare`` found: the inputs of a review, all checked."""

    spec: LaunchSpec
    look: Look
    source: Source
    newest_event: dt.datetime
    registration: registry.Registration
    trust: DataTrust | None = None
    metrics_ahead: Ahead[MetricTable] | None = None  # see impact.preflight

    def metric_table(self) -> MetricTable:
        """The metric table: the query the runner started ahead, else run now.

        Raises:
            DataError: as ``metrics.compute``.
        """
        if self.metrics_ahead is not None:
            return self.metrics_ahead.result()
        return metrics.compute(self.source, self.spec, self.look.as_of)


@dataclass(frozen=True)
class DataTrust:
    """What the data checks measured before any statistic (see impact/datachecks.py).

    Attributes:
        joins: how the events join the units (None without an events table).
        completeness: the event volume per day up to as_of (None without an events table).
        data_source: the data source given instead of the spec's ``data.source`` (on the
            command line or as the notebook's ``data_source`` parameter), else None.
        location: where the data were read from, as messages name it.
        events_read: whether an events table was read (a user-level export may have none).
        outcomes: how column metrics' outcomes are taken, in words (None without any).
    """

    joins: datachecks.Joins | None
    completeness: datachecks.Completeness | None
    data_source: str | None
    location: str
    events_read: bool = True
    outcomes: str | None = None

    def checks(self) -> list[Check]:
        """The checks that passed (and warnings short of a refusal), for the report's checks
        and verdict.json's."""
        found = []
        if self.joins is not None:
            detail = f"ids join ({self.joins.types()}): {self.joins.sentence()}"
            many = self.joins.unknown_share > datachecks.WARN_UNKNOWN
            if many:
                detail += (
                    f", more than {datachecks.WARN_UNKNOWN:.0%}: check that the events belong "
                    "to this launch's units (only events that join are counted)"
                )
            found.append(Check("joins", not many, None, detail, blocking=False))
        if self.completeness is not None:
            found.append(
                Check("completeness", True, None, self.completeness.sentence(), blocking=False)
            )
        return found


def prepare(
    spec_path: str,
    checkpoint: str | None = None,
    today: str | dt.date | None = None,
    data_source: str | None = None,
    *,
    output_dir: str | Path | None = None,
) -> Prepared:
    """Everything a review checks before statistics: spec, checkpoint, lock, data, readiness.

    ``output_dir`` is where earlier looks' verdict.json are published (see
    :func:`impact.looks.published_boundaries`). The caller closes the returned source.

    Raises:
        SpecError, DataError, RegistrationError: bad input or data not ready (exit 2).
    """
    handed = handover.take(Prepared, spec_path, checkpoint, today, data_source)
    if handed is not None:
        return handed
    spec = spec_module.load(spec_path)
    look = look_at(spec, checkpoint, parse_today(today))
    look = dataclasses.replace(look, earlier=looks.published_boundaries(spec, look, output_dir))
    registration = registry.check(spec)  # a corrupted lock is bad input, found before any work
    source = sources.connect(spec, data_source)
    try:
        contract.check_contract(source, spec, look.as_of)
        newest = contract.check_ready(source, spec, look.as_of, look.label)
        trust = DataTrust(
            joins=datachecks.check_joins(source, spec, look.as_of),
            completeness=datachecks.check_completeness(source, spec, look.as_of, look.label),
            data_source=data_source,
            location=str(source.location),
            events_read=source.events_name is not None,
            outcomes=_outcomes(spec, has_exposure="exposed_at" in source.unit_columns),
        )
    except BaseException:
        source.close()
        raise
    return Prepared(spec, look, source, newest, registration, trust)


def _outcomes(spec: LaunchSpec, *, has_exposure: bool) -> str | None:
    """How a user-level export's column metrics are read, in words (None without any)."""
    columns = [m for m in spec.metrics.all() if m.column is not None]
    if not columns:
        return None
    parts = []
    complete = [m.name for m in columns if m.matures_after is None]
    if complete:
        unexposed = (
            "; the export has no exposure times, so every unit in it counts at every look"
            if not has_exposure
            else ""
        )
        parts.append(
            f"{', '.join(complete)} taken as complete at as_of (each unit's value as the export "
            f"holds it{unexposed})"
        )
    for m in columns:
        if m.matures_after is None:
            continue
        if has_exposure:
            parts.append(
                f"{m.name} counts a unit once {m.matures_after} days have passed since its "
                "exposure (matures_after)"
            )
        else:
            assert spec.data.accrual_end is not None  # data.check_contract requires it
            ripe = spec.data.accrual_end + dt.timedelta(days=m.matures_after)
            parts.append(
                f"{m.name} counts every unit from {ripe} (data.accrual_end "
                f"{spec.data.accrual_end} plus matures_after {m.matures_after}d) and none "
                "before: without exposure times no unit's maturity is guessed"
            )
    return "; ".join(parts)


def run(
    spec_path: str,
    checkpoint: str | None = None,
    today: str | dt.date | None = None,
    data_source: str | None = None,
    *,
    clock: dt.datetime | None = None,
    output_dir: str | Path | None = None,
) -> ReviewResult:
    """Run one review.

    Args:
        spec_path: the launch spec.
        checkpoint: a registered review (``28d``) or another duration (a monitoring run);
            None for the latest review whose as_of has passed.
        today: the review's clock (ISO date); None for the real UTC date.
        data_source: a folder or file to read instead of the spec's ``data.source``.
        clock: the wall-clock start time recorded in the ``run`` block (tests freeze it).
        output_dir: where earlier looks' verdicts are published (default: found from the
            folder the notebook runs in).
    """
    started_at = clock or dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    prepared = prepare(spec_path, checkpoint, today, data_source, output_dir=output_dir)
    spec, look, source, newest, registration, trust, _ = prepared
    try:
        table = prepared.metric_table()
        segment_tables = segments.read(source, spec, look.as_of) if spec.segments else {}
        found = (
            adoption_module.measure(source, spec, look.as_of, spec.decision.alpha)
            if spec.adoption
            else None
        )
        fingerprint = source.fingerprint()
    finally:
        source.close()
    checks = _checks(spec, table, registration)
    if trust is not None:
        checks.extend(trust.checks())
    if found is not None and found.contamination and found.contamination[0]:
        used, of = found.contamination
        checks.append(
            Check(
                "contamination",
                False,
                None,
                f"contamination: {used:,} of {of:,} {spec.control} units ({used / of:.1%}) used "
                f"the feature ({found.block.feature_event}); the comparison understates its "
                "effect. Check how the control arm reached it",
                blocking=False,
            )
        )
    look = sequential_look(spec, look, table)
    analyses, pooled, stages = rollout.analyse_table(spec, table, alpha=look.alpha)
    found_segments = (
        segments.analyse(spec, segment_tables, alpha=look.alpha) if spec.segments else None
    )
    primary_metric = spec.metrics.primary
    assert primary_metric is not None
    primary = judge_primary(primary_metric, analyses[primary_metric.name].comparison)
    guardrails = [
        judge_guardrail(metric, analyses[metric.name].comparison)
        for metric in spec.metrics.guardrails
    ]
    secondary = _secondary(spec, analyses)
    notes = tuple(
        line
        for s in secondary
        if (line := secondary_harm(s.metric, s.comparison, s.q_value, look.alpha)) is not None
    )
    if found_segments is not None:
        notes = (*found_segments.reasons(), *notes)
    power = analysis.power_at(
        analyses[primary_metric.name], alpha=look.alpha, wanted=spec.decision.power
    )
    verdict = decide(
        spec,
        look,
        primary,
        guardrails,
        checks,
        _too_little(spec, table, primary),
        _power_note(primary_metric, power, spec.decision.power, _accrual_over(spec, look)),
        notes,
    )
    result = ReviewResult(
        spec=spec,
        look=look,
        today=parse_today(today),
        table=table,
        primary=primary,
        guardrails=guardrails,
        secondary=secondary,
        checks=checks,
        registration=registration,
        verdict=with_adoption_reason(verdict, primary, found),
        analyses=analyses,
        power=power,
        weeks=(
            rollout.novelty(spec, table.metrics[primary_metric.name], alpha=look.alpha)
            if spec.rollout
            else analysis.novelty(table.metrics[primary_metric.name], alpha=look.alpha)
        ),
        newest_event=newest,
        data_fingerprint=fingerprint,
        started_at=started_at,
        seconds=time.perf_counter() - started,
        adoption=found,
        trust=trust,
        segments=found_segments,
        phases=rollout.phases(spec, table),
        stages=stages,
        pooled=pooled,
    )
    seal.record(spec_path, checkpoint, today, data_source, result.to_json())
    return result


def with_adoption_reason(
    verdict: Verdict, primary: MetricVerdict, found: AdoptionResult | None
) -> Verdict:
    """The verdict with adoption's reason line when the primary metric fell short.

    Reported, never deciding: low adoption explains a flat primary metric.
    """
    if found is None or primary.status == "target_met":
        return verdict
    return dataclasses.replace(verdict, reasons=(*verdict.reasons, adoption_module.reason(found)))


def _accrual_over(spec: LaunchSpec, look: Look) -> bool:
    """Whether no more units can arrive: ``data.accrual_end`` has passed by the look and
    every unit has matured (its primary window or ``matures_after`` has ended)."""
    primary = spec.metrics.primary
    if spec.data.accrual_end is None or primary is None:
        return False
    window = dt.timedelta(days=primary.window or primary.matures_after or 0)
    return dt.datetime.combine(spec.data.accrual_end, dt.time()) + window <= look.as_of


def _power_note(metric: Metric, power: Power, wanted: float, accrual_over: bool) -> str | None:
    if power.achieved is None or power.mde is None or power.target is None:
        return None
    short = power.achieved < wanted
    return (
        f"power: the test had {formats.power(power.achieved)} power to detect the target "
        f"({format_effect(metric, metric.good_sign * power.target)}); at this sample it "
        f"detects {format_effect(metric, metric.good_sign * power.mde)} with {wanted:.0%} "
        "power"
        + (
            ", and accrual has ended (data.accrual_end): no more units will come"
            if short and accrual_over
            else ", so waiting for more units can help"
            if short
            else ""
        )
    )


def _secondary(spec: LaunchSpec, analyses: dict[str, Analysis]) -> list[SecondaryResult]:
    comparisons = [(m, analyses[m.name].comparison) for m in spec.metrics.secondary]
    tested = [c.p_value for _, c in comparisons if c.p_value is not None]
    q_values = iter(multiplicity.benjamini_hochberg(tested))
    return [
        SecondaryResult(m, c, next(q_values) if c.p_value is not None else None)
        for m, c in comparisons
    ]


def _too_little(spec: LaunchSpec, table: MetricTable, primary: MetricVerdict) -> str | None:
    moments = table.metrics[primary.metric.name]
    floor = spec.decision.min_units
    short = {
        arm: m.n
        for arm, m in ((spec.control, moments.control), (spec.treatment, moments.treatment))
        if m.n < floor
    }
    if not short:
        return None
    arms = ", ".join(f"{arm} has {n}" for arm, n in short.items())
    metric = primary.metric
    which = (
        "whose window has ended"
        if metric.window is not None
        else "whose value has matured (matures_after)"
        if metric.matures_after is not None
        else "with a value"
    )
    return f"too little data: {metric.name} needs at least {floor} units per arm {which} ({arms})"


def _checks(
    spec: LaunchSpec, table: MetricTable, registration: registry.Registration
) -> list[Check]:
    assert spec.data.split is not None
    if spec.rollout:
        checks = rollout.sample_ratio_checks(spec, rollout.phases(spec, table))
        return [*checks, registration_check(spec, registration)]
    ratio = stat_checks.sample_ratio(table.population.units, spec.data.split)
    observed = ", ".join(f"{arm} {n:,}" for arm, n in ratio.observed.items())
    planned = ", ".join(f"{arm} {share:.0%}" for arm, share in spec.data.split.items())
    p = ratio.p_value if ratio.p_value is not None else 1.0
    alpha = spec.decision.srm_alpha
    if p < alpha:
        detail = (
            f"sample ratio mismatch (p = {p:.2g} < {alpha:g}): units per arm {observed} do not "
            f"match the planned split {planned}; {ratio.short_arm} is "
            f"{ratio.shortfall:.1%} short. Find the cause (assignment, logging, filtering) "
            "before trusting any effect"
        )
    elif p < 0.01:
        detail = (
            f"warning: the sample ratio is unusual (p = {p:.2g}): units per arm {observed} "
            f"against the planned {planned}; {ratio.short_arm} is {ratio.shortfall:.1%} short"
        )
    else:
        detail = f"units per arm {observed} match the planned split {planned} (p = {p:.2g})"
    checks = [Check("sample_ratio", p >= 0.01, ratio.p_value, detail, blocking=p < alpha)]
    checks.append(registration_check(spec, registration))
    return checks


def registration_check(spec: LaunchSpec, registration: registry.Registration) -> Check:
    if not registration.registered:
        return Check(
            "registration",
            False,
            None,
            f"not registered: no lock beside {spec.path.name}, so nothing shows these criteria "
            f"were fixed before launch (impact register {spec.path.name})",
            blocking=False,
        )
    if registration.tampered:
        changes = "; ".join(registry.change_words(c) for c in registration.tampered)
        return Check(
            "registration",
            False,
            None,
            "the spec changed since it was registered, in fields that decide the verdict: "
            f"{changes}. Restore the registered values, or amend in the open with "
            "impact amend --reason",
            blocking=True,
        )
    detail = f"registered {registration.registered_at}"
    if registration.fixture:
        detail += " (demo registration, written once under a frozen clock)"
    problems = []
    if registration.registered_after_launch:
        problems.append(f"registered after launch ({spec.launch_date})")
    for amendment in registration.amended_after_launch:
        problems.append(  # its changes and reason are in the detail's amendment line
            f"amendment {amendment['number']} changed deciding fields "
            f"({', '.join(amendment['deciding_fields'])}) after launch"
        )
    detail += registry.changes_since_words(registration.changed_fields)
    registered = registration.template_sha256
    if registration.template_changed:
        change = (
            "was selected after registration"
            if registered is None
            else f"changed since it was registered (sha256 {registered[:12]} then)"
        )
        detail += (
            f"; the team template ({spec.template}) {change}; it shapes the report, never "
            "the verdict"
        )
    for amendment in registration.amendments:
        changes = ", ".join(registry.change_words(c) for c in amendment.get("changes", []))
        when = amendment.get("when") or ("after launch" if amendment["after_launch"] else "")
        detail += (
            f"; amendment {amendment['number']} on {str(amendment['at'])[:10]} "
            f"({when or 'before launch'}, reason: {amendment['reason']}): "
            f"{changes or 'no field changed'}"
        )
    if problems:
        return Check("registration", False, None, f"{detail}; " + "; ".join(problems), False)
    return Check("registration", True, None, detail, blocking=False)
