"""Adoption: who found the feature, who tried it, who came back, and why not.

One SQL pass over the contract's views gives, per value of the breakdown attribute, the
funnel counts, the landmark retention counts and the sums behind the difference in
differences; everything else is arithmetic on those counts (``impact.stats``).

Definitions (DESIGN.md), all on events at or after 00:00 UTC of ``launch_date`` and before
``as_of``:

- eligible: the units table's units passing ``segment`` (in an experiment, the treatment
  arm's units of the review; the control arm's feature events are contamination);
- exposed: units with the exposure event; tried: units with the feature event;
- repeat: units with the feature event in at least ``repeat_weeks`` distinct weeks, week k
  being days [7(k-1), 7k) since launch;
- retention (landmark): among units active in week 1 (any event but the feature's own: the
  feature and exposure events are not activity), adopters tried the feature in week 1; from
  week 2 on, the share of each group active, week by week. An association, not an effect.
- difference in differences (with ``data.pre_period`` and an event primary metric): the
  change of each unit's weekly primary metric from the pre-period to the weeks after week 1,
  adopters against the others; the pre-trend check compares the two halves of the
  pre-period the same way. Observational.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from impact import message
from impact.sources import contract
from impact.sources.source import EVENTS_VIEW, UNITS_VIEW, Source, quote
from impact.spec import Adoption, LaunchSpec, Metric
from impact.stats import adoption as funnel_stats
from impact.stats.adoption import Diagnosis, Share
from impact.stats.compare import Comparison, Moments, means, proportions

__all__ = ["AdoptionResult", "Funnel", "Retention", "Trend", "measure", "reason", "sentence"]

WEEK_SECONDS = 7 * 86_400
GAP_WEEKS = (4, 8)


@dataclass(frozen=True)
class Funnel:
    """One population's funnel (every eligible unit, or one value of the breakdown).

    Attributes:
        group: the breakdown attribute's value (None for every eligible unit).
        eligible: eligible units.
        exposed: the share with the exposure event (None without an exposure event).
        tried: the share with the feature event.
        repeat: the share with the feature event in repeat_weeks distinct weeks.
        met: whether every point estimate reaches its threshold.
        diagnosis: the first step that falls short, or none.
    """

    group: str | None
    eligible: int
    exposed: Share | None
    tried: Share
    repeat: Share
    met: bool
    diagnosis: Diagnosis


@dataclass(frozen=True)
class Retention:
    """Landmark retention of adopters (tried in week 1) against the others active in week 1.

    Attributes:
        weeks: the week numbers compared (2, 3, ...), each complete before as_of.
        adopters: per week, the share of adopters active.
        others: per week, the share of the others active.
        gaps: at weeks 4 and 8 (when complete), adopters minus others with its interval.
    """

    weeks: tuple[int, ...]
    adopters: tuple[Share, ...]
    others: tuple[Share, ...]
    gaps: dict[int, Comparison]


@dataclass(frozen=True)
class Trend:
    """A difference in differences of the primary metric, adopters against the others.

    Attributes:
        metric: the primary metric's name.
        change: adopters' mean change (weekly, after week 1 minus the pre-period) minus the
            others' (Welch).
        pretrend: the same for the pre-period's second half minus its first half.
        parallel: whether the pre-trend check passes (its interval contains 0).
    """

    metric: str
    change: Comparison
    pretrend: Comparison
    parallel: bool


@dataclass(frozen=True)
class AdoptionResult:
    """The adoption block of a review."""

    block: Adoption
    funnel: Funnel
    breakdown: tuple[Funnel, ...]
    retention: Retention
    trend: Trend | None
    trend_note: str | None
    contamination: tuple[int, int] | None  # control units that used the feature, of all

    def to_json(self) -> dict[str, Any]:
        """verdict.json's ``adoption``: DESIGN.md's keys first, then the details."""
        thresholds = self.block.thresholds.model_dump()
        if self.block.exposure_event is None:
            thresholds.pop("exposed")
        funnel = self.funnel
        return {
            "eligible": funnel.eligible,
            "exposed": funnel.exposed.value if funnel.exposed else None,
            "tried": funnel.tried.value,
            "repeat": funnel.repeat.value,
            "thresholds": thresholds,
            "met": funnel.met,
            "diagnosis": funnel.diagnosis,
            "intervals": {
                step: [s.lower, s.upper]
                for step, s in (
                    ("exposed", funnel.exposed),
                    ("tried", funnel.tried),
                    ("repeat", funnel.repeat),
                )
                if s is not None
            },
            "breakdown": {
                "attribute": self.block.breakdown,
                "groups": [
                    {
                        "value": group.group,
                        "eligible": group.eligible,
                        "exposed": group.exposed.value if group.exposed else None,
                        "tried": group.tried.value,
                        "repeat": group.repeat.value,
                        "met": group.met,
                        "diagnosis": group.diagnosis,
                    }
                    for group in self.breakdown
                ],
            }
            if self.block.breakdown
            else None,
            "retention": {
                "association": True,
                "weeks": list(self.retention.weeks),
                "adopters": [s.value for s in self.retention.adopters],
                "others": [s.value for s in self.retention.others],
                "adopters_n": self.retention.adopters[0].total if self.retention.weeks else 0,
                "others_n": self.retention.others[0].total if self.retention.weeks else 0,
                "gaps": {
                    f"week_{week}": {
                        "effect": gap.effect,
                        "ci": [gap.ci_lower, gap.ci_upper],
                        "alpha": gap.alpha,
                    }
                    for week, gap in self.retention.gaps.items()
                },
            },
            "difference_in_differences": None
            if self.trend is None
            else {
                "observational": True,
                "metric": self.trend.metric,
                "effect": self.trend.change.effect,
                "ci": [self.trend.change.ci_lower, self.trend.change.ci_upper],
                "pretrend": self.trend.pretrend.effect,
                "pretrend_ci": [self.trend.pretrend.ci_lower, self.trend.pretrend.ci_upper],
                "parallel_pretrends": self.trend.parallel,
            },
            "difference_in_differences_note": self.trend_note,
            "contamination": None
            if self.contamination is None
            else {
                "control_units_using": self.contamination[0],
                "control_units": self.contamination[1],
            },
        }


def sentence(result: AdoptionResult) -> str:
    """The diagnosis in one sentence, with the numbers behind it."""
    funnel, block = result.funnel, result.block
    limits = block.thresholds
    tried = _pct(funnel.tried.value)
    repeat = _pct(funnel.repeat.value)
    exposed = _pct(funnel.exposed.value) if funnel.exposed else None
    words = {
        "none": (
            f"{exposed + ' saw it, ' if exposed else ''}{tried} tried it and {repeat} came back "
            f"in {block.repeat_weeks} different weeks: every threshold met"
        ),
        "discoverability": (
            f"only {exposed} of eligible units saw the feature (needs {_pct(limits.exposed)}); "
            "make it easier to find before judging it"
        ),
        "communication": (
            f"{exposed} saw the feature but only {tried} tried it (needs "
            f"{_pct(limits.tried)}); they see it and do not know why to use it"
        ),
        "discoverability_or_communication": (
            f"only {tried} tried the feature (needs {_pct(limits.tried)}); without an "
            "exposure event, not finding it and not trying it cannot be told apart"
        ),
        "value": (
            f"{tried} tried the feature but only {repeat} used it in {block.repeat_weeks} "
            f"different weeks (needs {_pct(limits.repeat)})"
        ),
    }
    plain = message.DIAGNOSES[funnel.diagnosis]
    plain = plain[0].upper() + plain[1:]
    return f"{plain}: {words[funnel.diagnosis]}"


def reason(result: AdoptionResult) -> str:
    """The line a deciding review adds when its primary metric fell short: low adoption
    explains a flat metric (it never changes the decision)."""
    state = "met" if result.funnel.met else "not met"
    return f"adoption ({state}): {sentence(result)}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


# --------------------------------------------------------------------------- the query


def measure(source: Source, spec: LaunchSpec, as_of: dt.datetime, alpha: float) -> AdoptionResult:
    """Compute the adoption block of a review from the data's contract views."""
    block = spec.adoption
    assert block is not None
    launch = dt.datetime.combine(spec.launch_date, dt.time())
    weeks_complete = int((as_of - launch).total_seconds() // WEEK_SECONDS)
    compared = list(range(2, weeks_complete + 1))
    trend_metric, trend_note = _trend_metric(spec, as_of, launch)
    rows = [
        (row[0], *(float(v) if isinstance(v, Decimal) else v for v in row[1:]))
        for row in _query(source, spec, as_of, launch, compared, trend_metric)
    ]
    width = 6 + 2 * len(compared) + (10 if trend_metric else 0)  # the counts after grp
    totals = [sum(row[i] for row in rows) for i in range(1, width + 1)]
    funnel = _funnel(None, totals, block, alpha)
    breakdown = tuple(
        _funnel("(missing)" if row[0] is None else str(row[0]), list(row[1:]), block, alpha)
        for row in rows
    )
    retention = _retention(totals, compared, alpha)
    trend = _trend(totals, compared, trend_metric, alpha) if trend_metric else None
    if trend_metric and trend is None:
        trend_note = "too few units in a group for the difference in differences"
    contamination = (
        _contamination(source, spec, as_of, launch) if spec.design == "experiment" else None
    )
    return AdoptionResult(
        block=block,
        funnel=funnel,
        breakdown=breakdown if block.breakdown else (),
        retention=retention,
        trend=trend,
        trend_note=trend_note,
        contamination=contamination,
    )


def _trend_metric(
    spec: LaunchSpec, as_of: dt.datetime, launch: dt.datetime
) -> tuple[Metric | None, str | None]:
    primary = spec.metrics.primary
    if spec.data.pre_period is None:
        return None, "no pre-launch period (data.pre_period), so no difference in differences"
    if primary is None or primary.event is None:
        return None, "the difference in differences needs an event primary metric"
    if primary.kind == "mean" and primary.value == "max":
        return None, "the difference in differences adds weekly values; value: max does not add"
    if (as_of - launch).days <= 7:
        return None, "no week after the landmark week yet"
    return primary, None


def _query(
    source: Source,
    spec: LaunchSpec,
    as_of: dt.datetime,
    launch: dt.datetime,
    compared: list[int],
    trend_metric: Metric | None,
) -> list[tuple[Any, ...]]:
    block = spec.adoption
    assert block is not None
    conditions = []
    if spec.design == "experiment":
        conditions.append(contract.unit_filter(spec, as_of, source))
        conditions.append(f"variant = {_literal(spec.treatment)}")
    elif spec.data.segment:
        conditions.append(f"({contract.segment(spec).sql('duckdb')})")
    where = " AND ".join(conditions) or "TRUE"
    group = quote(block.breakdown) if block.breakdown else "'all'"
    pre_days = spec.data.pre_period if trend_metric is not None else 0
    start = launch - dt.timedelta(days=pre_days or 0)
    feature = _literal(block.feature_event)
    exposure = _literal(block.exposure_event) if block.exposure_event else "NULL"
    # Activity is any event but the feature's own (using it, or seeing its entry point).
    activity = (
        f"h.event NOT IN ({feature}, {exposure})"
        if block.exposure_event
        else (f"h.event <> {feature}")
    )
    # Whole seconds since launch, floored per week: the same week in every dialect (Spark's
    # epoch drops the fraction of a second, which never moves a week boundary).
    week = f"CAST(floor((epoch(ts) - epoch({_ts(launch)})) / {WEEK_SECONDS}) AS INTEGER)"
    value = "value" if source.has_value else "CAST(NULL AS DOUBLE)"
    trend_columns = ""
    trend_select = ""
    if trend_metric is not None and pre_days:
        event = _literal(trend_metric.event or "")
        amount = "value" if trend_metric.kind == "mean" and trend_metric.value == "sum" else "1.0"
        middle = launch - dt.timedelta(days=pre_days / 2)
        after = launch + dt.timedelta(days=7)
        post_weeks = (as_of - after).total_seconds() / WEEK_SECONDS
        half_weeks = pre_days / 14
        # Doubles in every engine (Spark would do decimal arithmetic on a 1.0 literal).
        amount = "CAST(h.value AS DOUBLE)" if amount == "value" else "CAST(1 AS DOUBLE)"
        matches = f"h.event = {event}"
        trend_columns = (
            f", coalesce(sum({amount}) FILTER (WHERE {matches} AND h.ts < {_ts(middle)}), 0) "
            "AS pre1"
            f", coalesce(sum({amount}) FILTER (WHERE {matches} AND h.ts >= {_ts(middle)} "
            f"AND h.ts < {_ts(launch)}), 0) AS pre2"
            f", coalesce(sum({amount}) FILTER (WHERE {matches} AND h.ts >= {_ts(after)}), 0) "
            "AS post"
        )
        change = f"(post / {post_weeks!r} - (pre1 + pre2) / {2 * half_weeks!r})"
        drift = f"((pre2 - pre1) / {half_weeks!r})"
        trend_select = "".join(
            f", count(*) FILTER (WHERE at_risk AND {side})"
            f", coalesce(sum({change}) FILTER (WHERE at_risk AND {side}), 0)"
            f", coalesce(sum({change} * {change}) FILTER (WHERE at_risk AND {side}), 0)"
            f", coalesce(sum({drift}) FILTER (WHERE at_risk AND {side}), 0)"
            f", coalesce(sum({drift} * {drift}) FILTER (WHERE at_risk AND {side}), 0)"
            for side in ("early", "NOT early")
        )
    retention_select = "".join(
        f", count(*) FILTER (WHERE at_risk AND early AND active_{w})"
        f", count(*) FILTER (WHERE at_risk AND NOT early AND active_{w})"
        for w in compared
    )
    # Retained at landmark week w: active (not the feature) in week w - 1 after launch.
    active_columns = "".join(
        f", coalesce(bool_or({activity} AND h.week = {w - 1}), false) AS active_{w}"
        for w in compared
    )
    query = f"""
        WITH eligible AS (
            SELECT unit_id, CAST({group} AS VARCHAR) AS grp FROM {UNITS_VIEW} WHERE {where}
        ),
        happened AS (
            SELECT unit_id, event, ts, {value} AS value, {week} AS week FROM {EVENTS_VIEW}
            WHERE ts >= {_ts(start)} AND ts < {_ts(as_of)}
        ),
        per_unit AS (
            SELECT e.unit_id, e.grp,
                coalesce(bool_or(h.event = {exposure} AND h.week >= 0), false) AS exposed,
                coalesce(bool_or(h.event = {feature} AND h.week >= 0), false) AS tried,
                coalesce(bool_or(h.event = {feature} AND h.week = 0), false) AS early,
                coalesce(bool_or({activity} AND h.week = 0), false) AS at_risk,
                count(DISTINCT CASE WHEN h.event = {feature} AND h.week >= 0 THEN h.week END)
                    AS feature_weeks
                {active_columns}
                {trend_columns}
            FROM eligible e LEFT JOIN happened h ON e.unit_id = h.unit_id
            GROUP BY e.unit_id, e.grp
        )
        SELECT grp, count(*), count(*) FILTER (WHERE exposed), count(*) FILTER (WHERE tried),
            count(*) FILTER (WHERE feature_weeks >= {block.repeat_weeks}),
            count(*) FILTER (WHERE at_risk AND early), count(*) FILTER (WHERE at_risk AND NOT early)
            {retention_select}
            {trend_select}
        FROM per_unit GROUP BY grp ORDER BY grp
    """
    return source.execute(query).fetchall()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ts(moment: dt.datetime) -> str:
    return contract.timestamp(moment).sql("duckdb")


def _funnel(group: str | None, counts: list[Any], block: Adoption, alpha: float) -> Funnel:
    eligible, exposed, tried, repeat = (int(counts[i]) for i in range(4))
    seen = exposed if block.exposure_event is not None else None
    limits = block.thresholds.model_dump()
    return Funnel(
        group=group,
        eligible=eligible,
        exposed=funnel_stats.share(exposed, eligible, alpha) if seen is not None else None,
        tried=funnel_stats.share(tried, eligible, alpha),
        repeat=funnel_stats.share(repeat, eligible, alpha),
        met=funnel_stats.met(eligible, seen, tried, repeat, limits),
        diagnosis=funnel_stats.diagnose(eligible, seen, tried, repeat, limits),
    )


def _retention(counts: list[Any], compared: list[int], alpha: float) -> Retention:
    adopters, others = int(counts[4]), int(counts[5])
    active = counts[6 : 6 + 2 * len(compared)]
    adopting = tuple(
        funnel_stats.share(int(active[2 * i]), adopters, alpha) for i in range(len(compared))
    )
    rest = tuple(
        funnel_stats.share(int(active[2 * i + 1]), others, alpha) for i in range(len(compared))
    )
    gaps = {}
    for week in GAP_WEEKS:
        if week in compared and adopters > 1 and others > 1:
            i = compared.index(week)
            a, o = int(active[2 * i]), int(active[2 * i + 1])
            gaps[week] = proportions(Moments(others, o, o), Moments(adopters, a, a), alpha=alpha)
    return Retention(tuple(compared), adopting, rest, gaps)


def _trend(counts: list[Any], compared: list[int], metric: Metric, alpha: float) -> Trend | None:
    base = 6 + 2 * len(compared)
    early, late = counts[base : base + 5], counts[base + 5 : base + 10]
    if min(early[0], late[0]) < 2:
        return None
    change = means(
        Moments(late[0], late[1], late[2]), Moments(early[0], early[1], early[2]), alpha=alpha
    )
    pretrend = means(
        Moments(late[0], late[3], late[4]), Moments(early[0], early[3], early[4]), alpha=alpha
    )
    parallel = (
        pretrend.ci_lower is not None
        and pretrend.ci_upper is not None
        and (pretrend.ci_lower <= 0 <= pretrend.ci_upper)
    )
    return Trend(metric.name, change, pretrend, parallel)


def _contamination(
    source: Source, spec: LaunchSpec, as_of: dt.datetime, launch: dt.datetime
) -> tuple[int, int]:
    block = spec.adoption
    assert block is not None
    row = source.execute(
        f"""
        SELECT count(*) FILTER (WHERE used), count(*) FROM (
            SELECT u.unit_id, bool_or(e.event = {_literal(block.feature_event)}
                AND e.ts >= {_ts(launch)} AND e.ts < {_ts(as_of)}) AS used
            FROM {UNITS_VIEW} u LEFT JOIN {EVENTS_VIEW} e ON u.unit_id = e.unit_id
            WHERE {contract.unit_filter(spec, as_of, source)}
              AND u.variant = {_literal(spec.control)}
            GROUP BY u.unit_id) AS per_unit
        """
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)
