"""Metric definitions -> one SQL pass -> per-arm sufficient statistics.

The query is built as sqlglot expressions (quoted identifiers; explicit GROUP BY; CASE rather
than FILTER). It computes each unit's variables for each metric, then returns only counts,
exact sums (``FSUM``) and sums of products per arm and day of exposure, so memory does not
grow with the number of events.

A metric's variables are its outcome (``y``; or ``num`` and ``den`` for a ratio), then, with
``cuped: true``, the same outcome in the pre-period window (the window's length, ending at
exposure) and ``history``, 1 when the unit had any event in that pre-period. A metric with
``cap`` is winsorized at pre-registered quantiles of its variables over mature units of both
arms, found by a first query over the same per-unit values.

Time rules (DESIGN.md, Time): an event counts for a unit when
``exposed_at <= ts < exposed_at + window`` and ``ts < as_of``; an event metric counts a unit
only when its whole window has elapsed by ``as_of`` (a mature unit), so n is per metric. A
column metric reads a per-unit value; its n is the units with a value.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from impact.errors import DataError
from impact.sources.contract import timestamp, where_units
from impact.sources.source import EVENTS_VIEW, UNITS_VIEW, Source
from impact.spec import LaunchSpec, Metric
from impact.stats.compare import CrossMoments, Moments

__all__ = [
    "MetricData",
    "MetricTable",
    "Population",
    "add_moments",
    "compute",
    "compute_by",
    "merge",
    "query",
    "variables",
]

WEEK = 7


@dataclass(frozen=True)
class MetricData:
    """One metric's sufficient statistics per arm.

    Attributes:
        metric: the metric's definition from the spec.
        variables: the names of the per-unit variables, outcome(s) first.
        control: cross-moments of the variables over mature control units.
        treatment: the same for the treatment arm.
        minimum: the smallest per-unit outcome in either arm (None without units).
        maximum: the largest per-unit outcome in either arm.
        by_day: (control, treatment) cross-moments per day of exposure (empty without
            exposure times).
        weeks: for the primary metric, (control, treatment) moments of the outcome counted
            in each week since exposure (the novelty check); empty otherwise.
        weeks_by_day: the same per day of exposure (a rollout's stages combine them).
        caps: the winsorization limit applied to each capped variable.
    """

    metric: Metric
    variables: tuple[str, ...]
    control: CrossMoments
    treatment: CrossMoments
    minimum: float | None
    maximum: float | None
    by_day: dict[dt.date, tuple[CrossMoments, CrossMoments]] = field(default_factory=dict)
    weeks: list[tuple[Moments, Moments]] = field(default_factory=list)
    caps: dict[str, float] = field(default_factory=dict)
    weeks_by_day: dict[dt.date, list[tuple[Moments, Moments]]] = field(default_factory=dict)

    @property
    def outcomes(self) -> int:
        """How many of the variables are outcomes (2 for a ratio, else 1)."""
        return 2 if self.metric.kind == "ratio" else 1


@dataclass(frozen=True)
class Population:
    """The review's units: exposed from start and before as_of, inside the segment.

    Attributes:
        units: units per arm.
        first_exposure: the earliest exposure among them (None without exposure times).
        last_exposure: the latest.
        by_day: units (both arms) per day of exposure.
        arms_by_day: units per arm per day of exposure (the sample ratio per rollout stage).
    """

    units: dict[str, int]
    first_exposure: dt.datetime | None
    last_exposure: dt.datetime | None
    by_day: dict[dt.date, int] = field(default_factory=dict)
    arms_by_day: dict[dt.date, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricTable:
    """Everything the statistics need from the data."""

    population: Population
    metrics: dict[str, MetricData]


# --------------------------------------------------------------------------- expressions


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _days(days: int) -> exp.Interval:
    return exp.Interval(this=exp.Literal.string(str(abs(days))), unit=exp.var("DAY"))


def _shift(moment: exp.Expr, days: int) -> exp.Expr:
    if days == 0:
        return moment
    if days > 0:
        return exp.Add(this=moment, expression=_days(days))
    return exp.Sub(this=moment, expression=_days(days))


def _case(condition: exp.Expr, then: exp.Expr, otherwise: exp.Expr) -> exp.Case:
    # Not copied: a condition shared by many aggregates stays one node here, and rendering
    # (``render``) works on a copy, which gives each use its own.
    return exp.case().when(condition, then, copy=False).else_(otherwise, copy=False)


def render(expression: exp.Expr, dialect: str) -> str:
    """The SQL text of a metric query for an engine.

    DuckDB sums with FSUM (accurate floating-point summation); elsewhere the sums are exact,
    over NUMERIC, so a review gives the same numbers on every engine.
    """
    if dialect != "duckdb":
        expression = expression.transform(_exact_sum)
    if dialect == "spark":  # Spark's exact quantile with interpolation, as QUANTILE_CONT
        expression = expression.transform(_spark_percentile)
    return expression.sql(dialect)


def _spark_percentile(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.PercentileCont):
        return exp.Anonymous(this="PERCENTILE", expressions=[node.this, node.expression])
    return node


def _exact_sum(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Anonymous) and str(node.this).upper() == "FSUM":
        # PostgreSQL's NUMERIC has no limit; Spark's DECIMAL needs one: 26 digits before the
        # point, 12 after.
        exact = exp.DataType.build("DECIMAL(38, 12)")
        return exp.cast(exp.Sum(this=exp.cast(node.expressions[0], exact)), "DOUBLE")
    return node


def _fsum(value: exp.Expr) -> exp.Expr:
    """Exact (order-independent) summation, so results do not depend on threads."""
    return exp.Anonymous(this="FSUM", expressions=[exp.cast(value, "DOUBLE", copy=False)])


ONE, ZERO = exp.Literal.number(1), exp.Literal.number(0)


def _aggregate(event: str | None, value: str | None, start: int, end: int) -> exp.Expr:
    """A unit's aggregate over its events with ``exposed_at + start <= ts < exposed_at + end``.

    ``event`` None means any event; ``value`` None means "had at least one" (0/1).
    """
    exposed, ts = _col("exposed_at", "u"), _col("ts", "e")
    conditions: list[exp.Expr] = [ts >= _shift(exposed, start), ts < _shift(exposed, end)]
    if event is not None:
        conditions.insert(0, exp.EQ(this=_col("event", "e"), expression=exp.Literal.string(event)))
    counts = exp.and_(*conditions)
    if value is None:
        return exp.Max(this=_case(counts, ONE, ZERO))
    if value == "count":
        return exp.Sum(this=_case(counts, ONE, ZERO))
    amount = exp.func("COALESCE", _col("value", "e"), ZERO)
    if value == "max":
        return exp.func("COALESCE", exp.Max(this=_case(counts, amount, exp.null())), ZERO)
    return _fsum(_case(counts, amount, ZERO))


def _sides(metric: Metric) -> list[tuple[str, str | None]]:
    """(event, value) of each outcome: one for proportions and means, two for ratios."""
    if metric.kind == "ratio":
        assert metric.numerator is not None and metric.denominator is not None
        return [
            (metric.numerator.event, metric.numerator.value),
            (metric.denominator.event, metric.denominator.value),
        ]
    assert metric.event is not None
    return [(metric.event, None if metric.kind == "proportion" else metric.value)]


def uses_cuped(metric: Metric) -> bool:
    """Whether the query carries pre-period covariates for a metric (event metrics only)."""
    return metric.cuped and metric.column is None


def variables(metric: Metric) -> list[tuple[str, exp.Expr]]:
    """A metric's per-unit variables: (name, aggregate expression over the joined events)."""
    if metric.column is not None:
        return [("y", exp.Max(this=exp.cast(_col(metric.column, "u"), "DOUBLE")))]
    assert metric.window is not None
    window = metric.window
    names = ["num", "den"] if metric.kind == "ratio" else ["y"]
    sides = _sides(metric)
    found = [(name, _aggregate(e, v, 0, window)) for name, (e, v) in zip(names, sides, strict=True)]
    if uses_cuped(metric):
        found += [
            (f"pre_{name}", _aggregate(e, v, -window, 0))
            for name, (e, v) in zip(names, sides, strict=True)
        ]
        found.append(("history", _aggregate(None, None, -window, 0)))
    return found


def _spans(metrics: list[Metric]) -> list[tuple[int, int]]:
    """The (start, end) days around exposure of every per-unit aggregate over events."""
    spans: list[tuple[int, int]] = []
    for metric in metrics:
        if metric.column is None and metric.window is not None:
            spans.append((0, metric.window))
            if uses_cuped(metric):
                spans.append((-metric.window, 0))
    return spans  # the primary's weeks lie inside its window


def _weeks(metric: Metric) -> list[tuple[int, int]]:
    """Novelty check: (start, end) days of each week of a primary event metric's window."""
    if metric.kind == "ratio" or metric.column is not None or metric.window is None:
        return []
    window = metric.window
    return [(start, min(start + WEEK, window)) for start in range(0, window, WEEK)]


def _mature(
    metric: Metric,
    as_of: dt.datetime,
    outcome: exp.Expr,
    *,
    has_exposure: bool = True,
    accrual_end: dt.date | None = None,
) -> exp.Expr:
    """Whether a unit counts for a metric: its window has elapsed, or it has a value (and,
    with ``matures_after``, was exposed at least that long before as_of; without exposure
    times, every unit once as_of is that long after ``data.accrual_end``, none before)."""
    if metric.column is not None:
        known = exp.Not(this=exp.Is(this=outcome, expression=exp.null()))
        if metric.matures_after is None:
            return known
        if has_exposure:
            matured = _shift(_col("exposed_at"), metric.matures_after) <= timestamp(as_of)
            return exp.and_(known, matured)
        assert accrual_end is not None  # contract.check_contract requires it
        ripe = accrual_end + dt.timedelta(days=metric.matures_after) <= as_of.date()
        return exp.and_(known, exp.true() if ripe else exp.false())
    assert metric.window is not None
    return _shift(_col("exposed_at"), metric.window) <= timestamp(as_of)


# --------------------------------------------------------------------------- queries


def _per_unit(
    spec: LaunchSpec, as_of: dt.datetime, has_exposure: bool, by: str | None = None
) -> exp.Select:
    """The CTEs u, e and per_unit, wrapped in a query to which an outer select is added
    (``by``: a unit column per_unit carries, to group by)."""
    metrics = spec.metrics.all()
    unit_columns = ["unit_id", "variant", *(["exposed_at"] if has_exposure else [])]
    unit_columns += [by] if by is not None else []
    columns = [c for c in dict.fromkeys(m.column for m in metrics if m.column) if c != by]
    units = (
        exp.select(*[_col(c) for c in [*unit_columns, *columns]])
        .from_(exp.to_table(UNITS_VIEW, quoted=True))
        .where(where_units(spec, as_of, has_exposure=has_exposure))
    )
    group = [_col(c, "u") for c in unit_columns]
    selects: list[exp.Expr] = list(group)
    for i, metric in enumerate(metrics):
        selects += [
            expr.as_(f"v{i}_{j}", quoted=True) for j, (_, expr) in enumerate(variables(metric))
        ]
    primary = spec.metrics.primary
    if primary is not None:
        selects += [
            _aggregate(
                primary.event, None if primary.kind == "proportion" else primary.value, a, b
            ).as_(f"w{k}", quoted=True)
            for k, (a, b) in enumerate(_weeks(primary))
        ]
    # The statement is built in place (copy=False): sqlglot's builders copy the whole tree at
    # each call by default, which cost more than running the query on a small launch.
    per_unit = exp.select(*selects).from_(exp.to_table("u").as_("u"), copy=False)
    event_names = sorted({event for m in metrics for event in m.events})
    final = exp.select(exp.Star()).from_(exp.to_table("per_unit"), copy=False)
    final = final.with_("u", as_=units, copy=False)
    if event_names:
        start = dt.datetime.combine(spec.data.start or spec.launch_date, dt.time())
        lookback = max((m.window or 0 for m in metrics if uses_cuped(m)), default=0)
        read: list[exp.Expr] = [
            _col("ts") >= timestamp(start - dt.timedelta(days=lookback)),
            _col("ts") < timestamp(as_of),
        ]
        if lookback == 0:  # with CUPED, "history" looks at any event before exposure
            read.insert(0, _col("event").isin(*[exp.Literal.string(n) for n in event_names]))
        needs_value = any(v in ("sum", "max") for m in metrics for v in m.values)
        events = (
            exp.select(
                _col("unit_id"),
                _col("event"),
                _col("ts"),
                *([_col("value")] if needs_value else []),
            )
            .from_(exp.to_table(EVENTS_VIEW, quoted=True))
            .where(exp.and_(*read))
        )
        on: list[exp.Expr] = [exp.EQ(this=_col("unit_id", "e"), expression=_col("unit_id", "u"))]
        spans = _spans(metrics)
        if has_exposure and spans:
            # Only events inside some unit's window can count: the others are left out of
            # the join (the unit is kept), so the grouping sees about half the rows.
            exposed, ts = _col("exposed_at", "u"), _col("ts", "e")
            on += [
                ts >= _shift(exposed, min(a for a, _ in spans)),
                ts < _shift(exposed, max(b for _, b in spans)),
            ]
        per_unit = per_unit.join(
            exp.to_table("e").as_("e"), on=exp.and_(*on), join_type="left", copy=False
        )
        final = final.with_("e", as_=events, copy=False)
    return final.with_("per_unit", as_=per_unit.group_by(*group, copy=False), copy=False)


def _cap_limits(spec: LaunchSpec, as_of: dt.datetime, has_exposure: bool) -> list[exp.Expr]:
    """Each capped variable's limit: its ``cap`` quantile over mature units, as ``c{i}_{j}``."""
    limits: list[exp.Expr] = []
    for i, metric in enumerate(spec.metrics.all()):
        if metric.cap is None:
            continue
        mature = _mature(
            metric,
            as_of,
            _col(f"v{i}_0"),
            has_exposure=has_exposure,
            accrual_end=spec.data.accrual_end,
        )
        for j, (name, _) in enumerate(variables(metric)):
            if name == "history":
                continue
            value = _case(mature, _col(f"v{i}_{j}"), exp.null())
            quantile = exp.PercentileCont(this=value, expression=exp.Literal.number(metric.cap))
            limits.append(quantile.as_(f"c{i}_{j}"))
    return limits


def query(
    spec: LaunchSpec, as_of: dt.datetime, *, has_exposure: bool = True, by: str | None = None
) -> exp.Select:
    """The one query that returns every metric's sufficient statistics.

    One row per arm and day of exposure (``day`` is null without exposure times). Columns:
    ``variant``, ``day``, ``units``, ``first_exposure``, ``last_exposure``; for metric i with
    variables j, k: ``n_i``, ``s_i_j``, ``p_i_j_k`` (j <= k), ``min_i``, ``max_i``; for the
    primary's weeks w: ``ws_w`` and ``wq_w`` (sum and sum of squares); for each capped
    variable, its limit ``c{i}_{j}`` (the same on every row; null when no unit is mature).

    Capped variables are winsorized at their limit, which the same statement computes from
    the per-unit values (a ``caps`` CTE over ``per_unit``), so the events are read once.

    Args:
        spec: the launch spec.
        as_of: nothing at or after it is read.
        has_exposure: whether the units table has exposure times.
        by: a unit column (a registered segment): the rows are then also per value of it,
            in a text column ``segment``; the caps stay those of all units.
    """
    limits = _cap_limits(spec, as_of, has_exposure)
    capped = [limit.alias_or_name for limit in limits]
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
    metrics = spec.metrics.all()
    for i, metric in enumerate(metrics):
        count = len(variables(metric))
        values = []
        for j in range(count):
            value: exp.Expr = _col(f"v{i}_{j}")
            if f"c{i}_{j}" in capped:  # LEAST skips a null limit in every dialect
                value = exp.func("LEAST", value, _col(f"c{i}_{j}", "caps"))
            values.append(value)
        mature = _mature(
            metric,
            as_of,
            _col(f"v{i}_0"),
            has_exposure=has_exposure,
            accrual_end=spec.data.accrual_end,
        )
        outputs.append(exp.Sum(this=_case(mature, ONE, ZERO)).as_(f"n_{i}"))
        for j in range(count):
            outputs.append(_fsum(_case(mature, values[j], ZERO)).as_(f"s_{i}_{j}"))
            for k in range(j, count):
                product = exp.Mul(this=values[j], expression=values[k])
                outputs.append(_fsum(_case(mature, product, ZERO)).as_(f"p_{i}_{j}_{k}"))
        outputs += [
            exp.Min(this=_case(mature, values[0], exp.null())).as_(f"min_{i}"),
            exp.Max(this=_case(mature, values[0], exp.null())).as_(f"max_{i}"),
        ]
    primary = spec.metrics.primary
    if primary is not None:
        mature = _mature(
            primary,
            as_of,
            _col("v0_0"),
            has_exposure=has_exposure,
            accrual_end=spec.data.accrual_end,
        )
        for w in range(len(_weeks(primary))):
            week = _col(f"w{w}")
            outputs += [
                _fsum(_case(mature, week, ZERO)).as_(f"ws_{w}"),
                _fsum(_case(mature, exp.Mul(this=week, expression=week), ZERO)).as_(f"wq_{w}"),
            ]
    outputs += [exp.Max(this=_col(name, "caps")).as_(name) for name in capped]
    groups = [_col("variant"), *([day] if has_exposure else [])]
    if by is not None:
        value = exp.cast(_col(by), exp.DataType.build("VARCHAR"))
        outputs.insert(1, value.as_("segment"))
        groups.append(value)
    final = _per_unit(spec, as_of, has_exposure, by).select(*outputs, append=False, copy=False)
    if limits:
        caps = exp.select(*limits).from_("per_unit", copy=False)
        final = final.with_("caps", as_=caps, copy=False)
        final = final.join(exp.to_table("caps"), join_type="cross", copy=False)
    final = final.group_by(*groups, copy=False)
    order = [_col("variant"), exp.column("day"), *([exp.column("segment")] if by else [])]
    return final.order_by(*order, copy=False)


# --------------------------------------------------------------------------- running


def compute(source: Source, spec: LaunchSpec, as_of: dt.datetime) -> MetricTable:
    """Run the metric queries and collect per-arm cross-moments.

    Raises:
        DataError: a proportion column's values are not all 0 or 1, or a value column holds
            NaN or infinity.
    """
    return _table(source, spec, _rows(source, spec, as_of))


def compute_by(
    source: Source, spec: LaunchSpec, as_of: dt.datetime, column: str
) -> dict[str | None, MetricTable]:
    """The same statistics per value of a unit column (a registered segment), by value.

    Only sums per arm, day and value come back from the engine; each value's table is what
    :func:`compute` would give for its units alone, with the caps of all units. A missing
    value is the key None.

    Raises:
        DataError: as :func:`compute`.
    """
    rows = _rows(source, spec, as_of, by=column)
    values = list(dict.fromkeys(row["segment"] for row in rows))
    return {
        value: _table(source, spec, [row for row in rows if row["segment"] == value])
        for value in values
    }


def _rows(
    source: Source, spec: LaunchSpec, as_of: dt.datetime, *, by: str | None = None
) -> list[dict[str, Any]]:
    has_exposure = "exposed_at" in source.unit_columns
    sql = render(query(spec, as_of, has_exposure=has_exposure, by=by), source.dialect)
    cursor = source.query(sql)
    names = [column[0] for column in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _table(source: Source, spec: LaunchSpec, rows: list[dict[str, Any]]) -> MetricTable:
    """The metric table of a set of query rows (per arm and day)."""
    caps = _caps(rows)
    control_rows = [r for r in rows if r["variant"] == spec.control]
    treatment_rows = [r for r in rows if r["variant"] == spec.treatment]
    exposures = [row["first_exposure"] for row in rows if row.get("first_exposure")]
    latest = [row["last_exposure"] for row in rows if row.get("last_exposure")]
    days = sorted({row["day"] for row in rows if row["day"] is not None})
    population = Population(
        units={
            arm: sum(int(r["units"]) for r in rows if r["variant"] == arm)
            for arm in (spec.control, spec.treatment)
        },
        first_exposure=min(exposures) if exposures else None,
        last_exposure=max(latest) if latest else None,
        by_day={day: sum(int(r["units"]) for r in rows if r["day"] == day) for day in days},
        arms_by_day={
            day: {
                arm: sum(int(r["units"]) for r in rows if r["day"] == day and r["variant"] == arm)
                for arm in (spec.control, spec.treatment)
            }
            for day in days
        },
    )
    table: dict[str, MetricData] = {}
    primary = spec.metrics.primary
    for i, metric in enumerate(spec.metrics.all()):
        count = len(variables(metric))
        lows = [row[f"min_{i}"] for row in rows if row.get(f"min_{i}") is not None]
        highs = [row[f"max_{i}"] for row in rows if row.get(f"max_{i}") is not None]
        for bound in (*lows, *highs):
            if not math.isfinite(bound):
                raise DataError(
                    f"{source.events_name or source.units_name}: metric {metric.name} has a "
                    f"per-unit value of {bound}; the value column holds NaN or infinity: fix "
                    "or drop those rows"
                )
        by_day = {
            day: (
                _cross([r for r in control_rows if r["day"] == day], i, count),
                _cross([r for r in treatment_rows if r["day"] == day], i, count),
            )
            for day in days
        }
        weeks: list[tuple[Moments, Moments]] = []
        weeks_by_day = {}
        if metric is primary:
            count_weeks = len(_weeks(metric))
            weeks = _week_moments(control_rows, treatment_rows, i, count_weeks)
            weeks_by_day = {
                day: _week_moments(
                    [r for r in control_rows if r["day"] == day],
                    [r for r in treatment_rows if r["day"] == day],
                    i,
                    count_weeks,
                )
                for day in days
            }
        names_i = tuple(name for name, _ in variables(metric))
        data = MetricData(
            metric=metric,
            variables=names_i,
            control=_cross(control_rows, i, count),
            treatment=_cross(treatment_rows, i, count),
            minimum=min(lows) if lows else None,
            maximum=max(highs) if highs else None,
            by_day=by_day,
            weeks=weeks,
            caps={names_i[j]: value for (m, j), value in caps.items() if m == i},
            weeks_by_day=weeks_by_day,
        )
        if metric.kind == "proportion" and metric.column is not None:
            _check_binary(source, metric, data)
        table[metric.name] = data
    return MetricTable(population, table)


def add_moments(a: CrossMoments | None, b: CrossMoments) -> CrossMoments:
    """The cross-moments of two disjoint sets of units together (``a`` None: just ``b``)."""
    if a is None:
        return b
    sums = tuple(x + y for x, y in zip(a.sums, b.sums, strict=True))
    products = tuple(
        tuple(x + y for x, y in zip(row_a, row_b, strict=True))
        for row_a, row_b in zip(a.products, b.products, strict=True)
    )
    return CrossMoments(a.n + b.n, sums, products)


def merge(tables: list[MetricTable]) -> MetricTable:
    """The table of the units of several tables together (disjoint sets of units, the same
    caps), such as the segment values pooled into "other". Novelty weeks are left out."""
    first = tables[0]
    arms = list(first.population.units)
    days = sorted({day for t in tables for day in t.population.by_day})
    exposures = [t.population.first_exposure for t in tables if t.population.first_exposure]
    latest = [t.population.last_exposure for t in tables if t.population.last_exposure]
    population = Population(
        units={arm: sum(t.population.units.get(arm, 0) for t in tables) for arm in arms},
        first_exposure=min(exposures) if exposures else None,
        last_exposure=max(latest) if latest else None,
        by_day={day: sum(t.population.by_day.get(day, 0) for t in tables) for day in days},
        arms_by_day={
            day: {
                arm: sum(t.population.arms_by_day.get(day, {}).get(arm, 0) for t in tables)
                for arm in arms
            }
            for day in days
        },
    )
    merged: dict[str, MetricData] = {}
    for name, data in first.metrics.items():
        parts = [t.metrics[name] for t in tables]
        control: CrossMoments | None = None
        treatment: CrossMoments | None = None
        by_day: dict[dt.date, tuple[CrossMoments, CrossMoments]] = {}
        for part in parts:
            control = add_moments(control, part.control)
            treatment = add_moments(treatment, part.treatment)
            for day, (c, t) in part.by_day.items():
                before = by_day.get(day)
                by_day[day] = (
                    add_moments(before[0] if before else None, c),
                    add_moments(before[1] if before else None, t),
                )
        lows = [p.minimum for p in parts if p.minimum is not None]
        highs = [p.maximum for p in parts if p.maximum is not None]
        assert control is not None and treatment is not None
        merged[name] = MetricData(
            metric=data.metric,
            variables=data.variables,
            control=control,
            treatment=treatment,
            minimum=min(lows) if lows else None,
            maximum=max(highs) if highs else None,
            by_day=dict(sorted(by_day.items())),
            caps=data.caps,
        )
    return MetricTable(population, merged)


def _caps(rows: list[dict[str, Any]]) -> dict[tuple[int, int], float]:
    """The winsorization limits by (metric index, variable index), from any row."""
    limits: dict[tuple[int, int], float] = {}
    for name, value in (rows[0] if rows else {}).items():
        index = re.fullmatch(r"c(\d+)_(\d+)", name)
        if index and value is not None and math.isfinite(value):
            limits[(int(index[1]), int(index[2]))] = float(value)
    return limits


def _sum(rows: list[dict[str, Any]], column: str) -> float:
    return math.fsum(float(row[column] or 0.0) for row in rows)


def _week_moments(
    control: list[dict[str, Any]], treatment: list[dict[str, Any]], i: int, weeks: int
) -> list[tuple[Moments, Moments]]:
    """Each week's (control, treatment) moments of the outcome, from per-day rows."""
    n_c, n_t = _count(control, i), _count(treatment, i)
    return [
        (
            Moments(n_c, _sum(control, f"ws_{w}"), _sum(control, f"wq_{w}")),
            Moments(n_t, _sum(treatment, f"ws_{w}"), _sum(treatment, f"wq_{w}")),
        )
        for w in range(weeks)
    ]


def _count(rows: list[dict[str, Any]], i: int) -> int:
    return sum(int(row[f"n_{i}"] or 0) for row in rows)


def _cross(rows: list[dict[str, Any]], i: int, count: int) -> CrossMoments:
    """An arm's cross-moments from its per-day rows, summed exactly (math.fsum)."""
    sums = tuple(_sum(rows, f"s_{i}_{j}") for j in range(count))
    products = [[0.0] * count for _ in range(count)]
    for j in range(count):
        for k in range(j, count):
            products[j][k] = products[k][j] = _sum(rows, f"p_{i}_{j}_{k}")
    return CrossMoments(_count(rows, i), sums, tuple(tuple(row) for row in products))


def _check_binary(source: Source, metric: Metric, data: MetricData) -> None:
    for bound in (data.minimum, data.maximum):
        if bound is not None and bound not in (0.0, 1.0):
            raise DataError(
                f"{source.units_name}: column {metric.column!r} has the value {bound:g}, but "
                f"metric {metric.name} is a proportion: its values must be 0 or 1 (or use "
                "kind: mean)"
            )
