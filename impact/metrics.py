"""Metric definitions -> one SQL pass -> per-arm sufficient statistics.

The query is built as sqlglot expressions (quoted identifiers; explicit GROUP BY; CASE rather
than FILTER) and returns only counts, exact sums (``FSUM``) and sums of squares per arm, so
memory does not grow with the number of events.

Time rules (DESIGN.md, Time): an event counts for a unit when
``exposed_at <= ts < exposed_at + window`` and ``ts < as_of``; an event metric counts a unit
only when its whole window has elapsed by ``as_of`` (a mature unit), so n is per metric. A
column metric reads a per-unit value; its n is the units with a value.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from impact.data import EVENTS_VIEW, UNITS_VIEW, Source, timestamp, where_units
from impact.errors import DataError
from impact.spec import LaunchSpec, Metric
from impact.stats.compare import Moments

__all__ = ["MetricData", "MetricTable", "Population", "compute", "query"]


@dataclass(frozen=True)
class MetricData:
    """One metric's sufficient statistics per arm.

    Attributes:
        metric: the metric's definition from the spec.
        control: moments of the per-unit values of mature control units.
        treatment: the same for the treatment arm.
        minimum: the smallest per-unit value in either arm (None without units).
        maximum: the largest per-unit value in either arm.
        by_day: (control, treatment) moments per day of exposure (empty without exposure
            times).
    """

    metric: Metric
    control: Moments
    treatment: Moments
    minimum: float | None
    maximum: float | None
    by_day: dict[dt.date, tuple[Moments, Moments]] = field(default_factory=dict)


@dataclass(frozen=True)
class Population:
    """The review's units: exposed from start and before as_of, inside the segment.

    Attributes:
        units: units per arm.
        first_exposure: the earliest exposure among them (None without exposure times).
        last_exposure: the latest.
    """

    units: dict[str, int]
    first_exposure: dt.datetime | None
    last_exposure: dt.datetime | None


@dataclass(frozen=True)
class MetricTable:
    """Everything the statistics need from the data."""

    population: Population
    metrics: dict[str, MetricData]


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _days(days: int) -> exp.Interval:
    return exp.Interval(this=exp.Literal.string(str(days)), unit=exp.var("DAY"))


def _case(condition: exp.Expr, then: exp.Expr, otherwise: exp.Expr) -> exp.Case:
    return exp.case().when(condition, then).else_(otherwise)


def _fsum(value: exp.Expr) -> exp.Expr:
    """Exact (order-independent) summation, so results do not depend on threads."""
    return exp.Anonymous(this="FSUM", expressions=[exp.cast(value, "DOUBLE")])


def _per_unit(metric: Metric) -> exp.Expr:
    """The per-unit value of a metric, as an aggregate over the unit's joined events."""
    if metric.column is not None:
        return exp.Max(this=exp.cast(_col(metric.column, "u"), "DOUBLE"))
    assert metric.event is not None and metric.window is not None
    exposed = _col("exposed_at", "u")
    ts = _col("ts", "e")
    counts = exp.and_(
        exp.EQ(this=_col("event", "e"), expression=exp.Literal.string(metric.event)),
        ts >= exposed,
        ts < exp.Add(this=exposed, expression=_days(metric.window)),
    )
    one, zero = exp.Literal.number(1), exp.Literal.number(0)
    if metric.kind == "proportion":
        return exp.Max(this=_case(counts, one, zero))
    if metric.value == "count":
        return exp.Sum(this=_case(counts, one, zero))
    value = exp.func("COALESCE", _col("value", "e"), zero)
    if metric.value == "max":
        return exp.func("COALESCE", exp.Max(this=_case(counts, value, exp.null())), zero)
    return _fsum(_case(counts, value, zero))


def _mature(metric: Metric, as_of: dt.datetime, alias: str) -> exp.Expr:
    """Whether a unit counts for a metric: its window has elapsed, or it has a value."""
    if metric.column is not None:
        return exp.Not(this=exp.Is(this=_col(alias), expression=exp.null()))
    assert metric.window is not None
    return exp.Add(this=_col("exposed_at"), expression=_days(metric.window)) <= timestamp(as_of)


def query(spec: LaunchSpec, as_of: dt.datetime, *, has_exposure: bool = True) -> exp.Select:
    """The one query that returns every metric's sufficient statistics per arm.

    One row per arm and day of exposure (``day`` is null without exposure times). Columns:
    ``variant``, ``day``, ``units``, ``first_exposure``, ``last_exposure`` and, for metric i,
    ``n_i``, ``sum_i``, ``sumsq_i``, ``min_i``, ``max_i``.
    """
    metrics = spec.metrics.all()
    unit_columns = ["unit_id", "variant", *(["exposed_at"] if has_exposure else [])]
    units = (
        exp.select(
            *[_col(c) for c in unit_columns],
            *[_col(c) for c in dict.fromkeys(m.column for m in metrics if m.column)],
        )
        .from_(exp.to_table(UNITS_VIEW, quoted=True))
        .where(where_units(spec, as_of, has_exposure=has_exposure))
    )
    group = [_col(c, "u") for c in unit_columns]
    per_unit = exp.select(
        *group, *[_per_unit(m).as_(f"m{i}", quoted=True) for i, m in enumerate(metrics)]
    )
    per_unit = per_unit.from_(exp.to_table("u").as_("u"))
    event_names = sorted({m.event for m in metrics if m.event is not None})
    if event_names:
        start = dt.datetime.combine(spec.data.start or spec.launch_date, dt.time())
        events = (
            exp.select(
                _col("unit_id"),
                _col("event"),
                _col("ts"),
                *([_col("value")] if any(m.value in ("sum", "max") for m in metrics) else []),
            )
            .from_(exp.to_table(EVENTS_VIEW, quoted=True))
            .where(
                exp.and_(
                    _col("event").isin(*[exp.Literal.string(name) for name in event_names]),
                    _col("ts") >= timestamp(start),
                    _col("ts") < timestamp(as_of),
                )
            )
        )
        per_unit = per_unit.join(
            exp.to_table("e").as_("e"),
            on=exp.EQ(this=_col("unit_id", "e"), expression=_col("unit_id", "u")),
            join_type="left",
        )
    per_unit = per_unit.group_by(*group)

    day: exp.Expr = exp.cast(_col("exposed_at"), "DATE") if has_exposure else exp.null()
    outputs: list[exp.Expr] = [
        _col("variant"),
        day.as_("day"),
        exp.Count(this=exp.Star()).as_("units"),
    ]
    if has_exposure:
        outputs += [
            exp.Min(this=_col("exposed_at")).as_("first_exposure"),
            exp.Max(this=_col("exposed_at")).as_("last_exposure"),
        ]
    for i, metric in enumerate(metrics):
        value = _col(f"m{i}")
        mature = _mature(metric, as_of, f"m{i}")
        one, zero = exp.Literal.number(1), exp.Literal.number(0)
        outputs += [
            exp.Sum(this=_case(mature, one, zero)).as_(f"n_{i}"),
            _fsum(_case(mature, value, zero)).as_(f"sum_{i}"),
            _fsum(_case(mature, exp.Mul(this=value, expression=value), zero)).as_(f"sumsq_{i}"),
            exp.Min(this=_case(mature, value, exp.null())).as_(f"min_{i}"),
            exp.Max(this=_case(mature, value, exp.null())).as_(f"max_{i}"),
        ]
    final = exp.select(*outputs).from_(exp.to_table("per_unit"))
    final = final.group_by(_col("variant"), *([day] if has_exposure else []))
    final = final.with_("u", as_=units)
    if event_names:
        final = final.with_("e", as_=events)
    return final.with_("per_unit", as_=per_unit).order_by(_col("variant"), exp.column("day"))


def compute(source: Source, spec: LaunchSpec, as_of: dt.datetime) -> MetricTable:
    """Run the metric query and collect per-arm moments.

    Raises:
        DataError: a proportion metric's per-unit values are not all 0 or 1.
    """
    has_exposure = "exposed_at" in source.unit_columns
    sql = query(spec, as_of, has_exposure=has_exposure).sql("duckdb")
    cursor = source.connection.execute(sql)
    names = [column[0] for column in cursor.description or []]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    arms = (spec.control, spec.treatment)
    exposures = [row["first_exposure"] for row in rows if row.get("first_exposure")]
    latest = [row["last_exposure"] for row in rows if row.get("last_exposure")]
    population = Population(
        units={arm: sum(int(r["units"]) for r in rows if r["variant"] == arm) for arm in arms},
        first_exposure=min(exposures) if exposures else None,
        last_exposure=max(latest) if latest else None,
    )
    table: dict[str, MetricData] = {}
    for i, metric in enumerate(spec.metrics.all()):
        lows = [row[f"min_{i}"] for row in rows if row.get(f"min_{i}") is not None]
        highs = [row[f"max_{i}"] for row in rows if row.get(f"max_{i}") is not None]
        by_day: dict[dt.date, tuple[Moments, Moments]] = {}
        for day in sorted({row["day"] for row in rows if row["day"] is not None}):
            on_day = [row for row in rows if row["day"] == day]
            by_day[day] = (
                _moments([r for r in on_day if r["variant"] == spec.control], i),
                _moments([r for r in on_day if r["variant"] == spec.treatment], i),
            )
        data = MetricData(
            metric=metric,
            control=_moments([r for r in rows if r["variant"] == spec.control], i),
            treatment=_moments([r for r in rows if r["variant"] == spec.treatment], i),
            minimum=min(lows) if lows else None,
            maximum=max(highs) if highs else None,
            by_day=by_day,
        )
        if metric.kind == "proportion" and metric.column is not None:
            _check_binary(source, metric, data)
        table[metric.name] = data
    return MetricTable(population, table)


def _moments(rows: list[dict[str, Any]], i: int) -> Moments:
    """An arm's moments from its per-day rows, summed exactly (math.fsum)."""
    return Moments(
        n=sum(int(row[f"n_{i}"] or 0) for row in rows),
        total=math.fsum(float(row[f"sum_{i}"] or 0.0) for row in rows),
        total_sq=math.fsum(float(row[f"sumsq_{i}"] or 0.0) for row in rows),
    )


def _check_binary(source: Source, metric: Metric, data: MetricData) -> None:
    for bound in (data.minimum, data.maximum):
        if bound is not None and bound not in (0.0, 1.0):
            raise DataError(
                f"{source.units_name}: column {metric.column!r} has the value {bound:g}, but "
                f"metric {metric.name} is a proportion: its values must be 0 or 1 (or use "
                "kind: mean)"
            )
