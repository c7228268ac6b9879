"""Check the data contract before any statistics, and the conditions every query shares.

One row per unit, the spec's arms, events that exist (a misspelt event name is a DataError
naming the nearest names, never a silent 0%), no NaN values, data complete up to the
checkpoint; the units a review reads (exposed from start and before as_of, inside the
segment, parsed by impact/sandbox.py and rendered in the engine's dialect).
"""

from __future__ import annotations

import datetime as dt
import difflib

from sqlglot import exp

from impact import sandbox
from impact.errors import DataError, DataNotReady, SpecError
from impact.sources.source import EVENTS_VIEW, UNITS_VIEW, Source
from impact.spec import LaunchSpec

__all__ = [
    "check_contract",
    "check_ready",
    "check_segment",
    "check_segment_columns",
    "segment",
    "timestamp",
    "unit_filter",
    "where_units",
]


def check_contract(source: Source, spec: LaunchSpec, as_of: dt.datetime) -> None:
    """Check the data contract: one row per unit, the spec's arms, events that exist.

    Raises:
        DataError: naming the table, column and values at fault, and what would be right.
        SpecError: the ``segment`` filter is not valid SQL.
    """
    units = source.units_name
    null_ids = source.execute(f"SELECT count(*) FROM {UNITS_VIEW} WHERE unit_id IS NULL").fetchone()
    if null_ids and null_ids[0]:
        raise DataError(f"{units}: {null_ids[0]} rows have no unit_id; every unit needs an id")
    if spec.data.segment:
        check_segment(source, spec)
    if spec.design != "experiment":
        _check_adoption(source, spec)
        return
    _one_row_per_unit(source, experiment=True)
    arms = spec.data.split or {}
    variants = dict(
        source.execute(f"SELECT variant, count(*) FROM {UNITS_VIEW} GROUP BY variant").fetchall()
    )
    unknown = sorted(str(v) for v in variants if v not in arms)
    if unknown:
        raise DataError(
            f"{units}: column variant has {', '.join(repr(v) for v in unknown)}, not an arm of "
            f"data.split ({', '.join(arms)}); rename the variants in the data or in the spec"
        )
    for arm in arms:
        if arm not in variants:
            raise DataError(
                f"{units}: arm {arm!r} of data.split has no units; check the assignment "
                "export, or the arm's name in data.split"
            )
    population = source.execute(
        f"SELECT count(*) FROM {UNITS_VIEW} WHERE {unit_filter(spec, as_of, source)}"
    ).fetchone()
    if population is None or population[0] == 0:
        start = spec.data.start or spec.launch_date
        raise DataError(
            f"{units}: no units exposed between {start} and {as_of:%Y-%m-%d %H:%M} UTC"
            f"{' in segment ' + repr(spec.data.segment) if spec.data.segment else ''}; "
            "check launch_date, data.start and data.segment"
        )
    _check_metrics(source, spec)
    check_segment_columns(source, spec)
    if spec.rollout and "exposed_at" not in source.unit_columns:
        raise DataError(
            f"{units}: rollout: a unit's stage is the day of its first exposure, and the "
            "units table has no exposed_at; add exposure times or remove rollout"
        )
    if spec.adoption is not None:
        _check_adoption_events(source, spec)


def check_segment_columns(source: Source, spec: LaunchSpec) -> None:
    """Every column registered in ``segments:`` is a column of the units table.

    Raises:
        DataError: naming the column, the nearest one and the columns there are.
    """
    present = {name.lower() for name in source.unit_columns}
    for index, segment in enumerate(spec.segments):
        if segment.column.lower() in present:
            continue
        near = difflib.get_close_matches(segment.column, source.unit_columns, n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        raise DataError(
            f"{source.units_name}: segments[{index}] names column {segment.column!r}, which "
            f"the units table does not have; {hint}columns here: "
            f"{', '.join(source.unit_columns)}"
        )


def _one_row_per_unit(source: Source, *, experiment: bool = False) -> None:
    """One row per unit; in an experiment, a unit in two arms is named first.

    Only a repeated unit can be in two arms, so the costlier arms query (a distinct count
    per unit) runs only when the cheap count finds repeated units.
    """
    duplicated = source.execute(
        f"SELECT unit_id, count(*), count(*) OVER () FROM {UNITS_VIEW} "
        "GROUP BY unit_id HAVING count(*) > 1 LIMIT 1"
    ).fetchone()
    if duplicated is None:
        return
    if experiment:
        two_arms = source.execute(
            f"SELECT unit_id, list(DISTINCT variant ORDER BY variant) FROM {UNITS_VIEW} "
            "GROUP BY unit_id HAVING count(DISTINCT variant) > 1 LIMIT 1"
        ).fetchone()
        if two_arms is not None:
            raise DataError(
                f"{source.units_name}: unit {two_arms[0]!r} is in two variants "
                f"({', '.join(two_arms[1])}); a unit must stay in one arm: fix the assignment "
                "or drop such units"
            )
    raise DataError(
        f"{source.units_name}: unit {duplicated[0]!r} has {duplicated[1]} rows "
        f"({duplicated[2]} units are repeated); the units table needs one row per unit, "
        "such as its first exposure"
    )


def _check_adoption(source: Source, spec: LaunchSpec) -> None:
    """The contract of an adoption block outside experiments: one row per unit, eligible
    units, the breakdown column, the events."""
    units = source.units_name
    _one_row_per_unit(source)
    condition = exp.paren(segment(spec)).sql("duckdb") if spec.data.segment else "TRUE"
    try:
        eligible = source.execute(f"SELECT count(*) FROM {UNITS_VIEW} WHERE {condition}").fetchone()
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as error:  # DuckDB's, PostgreSQL's and Spark's own errors
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        raise SpecError(
            f"{spec.path}: data.segment: {spec.data.segment!r} fails on the units table ({reason})"
        ) from None
    if eligible is None or eligible[0] == 0:
        where = f" in segment {spec.data.segment!r}" if spec.data.segment else ""
        raise DataError(
            f"{units}: no eligible units{where}; the units table holds the population the "
            "feature is for"
        )
    assert spec.adoption is not None
    attribute = spec.adoption.breakdown
    if attribute is not None and attribute not in source.unit_columns:
        raise DataError(
            f"{units}: no column {attribute!r} for adoption.breakdown; columns here: "
            f"{', '.join(source.unit_columns)}"
        )
    if spec.design == "adoption":
        _check_metrics(source, spec)  # a prepost review's metrics are daily series
    _check_adoption_events(source, spec)


def _check_adoption_events(source: Source, spec: LaunchSpec) -> None:
    """The feature (and exposure) event must exist: a misspelt name is not zero adoption."""
    assert spec.adoption is not None
    present = [
        str(row[0])
        for row in source.execute(f"SELECT DISTINCT event FROM {EVENTS_VIEW}").fetchall()
    ]
    named = {"adoption.feature_event": spec.adoption.feature_event}
    if spec.adoption.exposure_event is not None:
        named["adoption.exposure_event"] = spec.adoption.exposure_event
    for field, event in named.items():
        if event in present:
            continue
        near = difflib.get_close_matches(event, present, n=3, cutoff=0.5)
        hint = (
            f"did you mean {' or '.join(repr(n) for n in near)}?"
            if near
            else f"events here: {', '.join(sorted(present)[:10])}"
        )
        raise DataError(f"{source.events_name}: no rows with event {event!r} ({field}); {hint}")


def unit_filter(spec: LaunchSpec, as_of: dt.datetime, source: Source) -> str:
    """The SQL condition that selects a review's units (after start and segment)."""
    return where_units(spec, as_of, has_exposure="exposed_at" in source.unit_columns).sql("duckdb")


def where_units(spec: LaunchSpec, as_of: dt.datetime, *, has_exposure: bool) -> exp.Expr:
    """The condition on units: exposed from start and before as_of, inside the segment."""
    conditions: list[exp.Expr] = []
    if has_exposure:
        start = dt.datetime.combine(spec.data.start or spec.launch_date, dt.time())
        exposed = exp.column("exposed_at", quoted=True)
        conditions += [exposed >= timestamp(start), exposed < timestamp(as_of)]
    if spec.data.segment:
        conditions.append(exp.paren(segment(spec)))
    return exp.and_(*conditions) if conditions else exp.true()


def segment(spec: LaunchSpec) -> exp.Expr:
    """The spec's filter on units, parsed and checked by impact/sandbox.py (queries render
    this tree in their engine's dialect; the spec's text is never pasted into SQL)."""
    assert spec.data.segment is not None
    try:
        return sandbox.parse(spec.data.segment)
    except ValueError as error:
        raise SpecError(f"{spec.path}: data.segment: {error}") from None


def check_segment(source: Source, spec: LaunchSpec) -> None:
    """The segment reads only the units table's columns, and runs on every unit.

    Raises:
        DataError: the segment names a column the units table does not have.
        SpecError: the segment fails on the units table (a type mismatch, a bad cast).
    """
    tree = segment(spec)
    present = {name.lower(): name for name in source.unit_columns}
    for name in sandbox.columns(tree):
        if name.lower() in present:
            continue
        near = difflib.get_close_matches(name, source.unit_columns, n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        raise DataError(
            f"{source.units_name}: data.segment reads column {name!r}, which the units table "
            f"does not have; {hint}columns here: {', '.join(source.unit_columns)}"
        )
    try:
        source.execute(
            f"SELECT count(*) FROM {UNITS_VIEW} WHERE {exp.paren(tree).sql('duckdb')}"
        ).fetchone()
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as error:  # DuckDB's, PostgreSQL's and Spark's own errors
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        raise SpecError(
            f"{spec.path}: data.segment: {spec.data.segment!r} fails on the units table "
            f"({reason}); compare columns with values of their type, such as platform = 'ios'"
        ) from None


def timestamp(moment: dt.datetime) -> exp.Expr:
    """A TIMESTAMP literal."""
    return exp.cast(exp.Literal.string(moment.strftime("%Y-%m-%d %H:%M:%S")), "TIMESTAMP")


def _check_metrics(source: Source, spec: LaunchSpec) -> None:
    for metric in spec.metrics.all():
        if metric.column is not None and metric.column not in source.unit_columns:
            raise DataError(
                f"{source.units_name}: no column {metric.column!r} for metric {metric.name}; "
                f"columns here: {', '.join(source.unit_columns)}"
            )
        if (
            metric.matures_after is not None
            and "exposed_at" not in source.unit_columns
            and spec.data.accrual_end is None
        ):
            raise DataError(
                f"{source.units_name}: no column 'exposed_at', which metric {metric.name}'s "
                f"matures_after needs (a unit's {metric.column} is known "
                f"{metric.matures_after} days after its exposure); add exposure times, or "
                "set data.accrual_end (the day units stopped arriving) so that every unit is "
                "mature from that day plus matures_after"
            )
    wanted = {event: m.name for m in spec.metrics.all() for event in m.events}
    if not wanted:
        return
    needs_value = any(v in ("sum", "max") for m in spec.metrics.all() for v in m.values)
    if needs_value and not source.has_value:
        raise DataError(
            f"{source.events_name}: no column 'value', which metrics with value: sum or max "
            "need; add it, or map yours with data.columns: {value: your_column}"
        )
    present = dict(
        source.execute(f"SELECT event, count(*) FROM {EVENTS_VIEW} GROUP BY event").fetchall()
    )
    if needs_value:
        valued = sorted({event for m in spec.metrics.all() for event in m.events})
        listed = ", ".join(exp.Literal.string(event).sql("duckdb") for event in valued)
        broken = source.execute(
            f"SELECT count(*) FROM {EVENTS_VIEW} WHERE event IN ({listed}) AND "
            + _not_finite(source, "value")
        ).fetchone()
        if broken and broken[0]:
            raise DataError(
                f"{source.events_name}: column value has {broken[0]} NaN or infinite values in "
                "the metrics' events; fix them, or drop those rows (a missing value counts as 0)"
            )
    for event, metric_name in wanted.items():
        if present.get(event):
            continue
        names = [str(name) for name in present]
        near = difflib.get_close_matches(event, names, n=3, cutoff=0.5)
        hint = (
            f"did you mean {' or '.join(repr(n) for n in near)}?"
            if near
            else (f"events here: {', '.join(sorted(names)[:10])}")
        )
        raise DataError(
            f"{source.events_name}: no rows with event {event!r} (metric {metric_name}); {hint}"
        )


def _not_finite(source: Source, column: str) -> str:
    """A condition true for NaN and infinite values (DuckDB reads some NaN payloads from
    Parquet that isnan() misses, so DuckDB uses NOT isfinite)."""
    if source.dialect == "duckdb":
        return f"NOT isfinite({column})"
    if source.dialect == "spark":
        return f"(isnan({column}) OR abs({column}) = double('infinity'))"
    return f"{column} IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)"


def check_ready(source: Source, spec: LaunchSpec, as_of: dt.datetime, label: str) -> dt.datetime:
    """Return the newest event before ``as_of``; refuse data that end too early.

    Data are incomplete when the newest event is older than ``as_of - 1 day`` (event
    metrics only).

    Raises:
        DataError: the data end before the checkpoint needs them.
    """
    if source.events_name is None:
        return as_of
    row = source.execute(
        f"SELECT max(ts) FROM {EVENTS_VIEW} WHERE ts < {timestamp(as_of).sql('duckdb')}"
    ).fetchone()
    newest = row[0] if row else None
    if not any(m.events for m in spec.metrics.all()) and spec.adoption is None:
        return newest or as_of
    if newest is None or newest < as_of - dt.timedelta(days=1):
        seen = f"{newest:%Y-%m-%d %H:%M}" if newest else "nothing"
        raise DataNotReady(
            f"{source.events_name}: data are not complete for the {label} review: the newest "
            f"event before as_of {as_of:%Y-%m-%d %H:%M} UTC is {seen}; events are needed up "
            f"to {as_of - dt.timedelta(days=1):%Y-%m-%d %H:%M}. Rerun when the data have "
            "landed"
        )
    return newest
