"""Data that can be trusted: do the tables join, and are the events complete up to as_of?

Two checks run before any statistic, after the contract (impact/sources/contract.py) holds:

- **Joins.** Unit ids are compared across the units and events tables. A float id holding
  a whole number is read as that integer (``123.0`` is ``123``: the contract views of
  impact/sources/ do it); anything else is compared as written, so ``"u123"`` and ``123``,
  ``"abc "`` and ``"abc"``, or ``"ABC"`` and ``"abc"`` are different ids. The share of
  events (before as_of) whose unit is not in the units table, and the share of the
  review's units with no event at all, are measured and shown. Past
  ``data.joins.max_unknown_events`` (default 0.5) or
  ``data.joins.max_units_without_events`` (default 0.99) the review stops with a data
  error (exit 2) naming the columns, the two types and example ids from each side.
- **Completeness.** Events per day from launch (or ``data.start``) to as_of are compared
  with the pattern before launch (the median of the same weekday in the four weeks before
  launch) and with the days just before (the day before, the same weekday a week before).
  A day is thin when it has fewer than ``data.completeness.min_share`` (default 0.25) of
  the fewest of those, and more than four Poisson standard deviations fewer (so that small
  counts raise no false alarm). Volume may follow the weekly pattern, fall gradually (as
  the demo's halves in its last weeks, when exposure slows and windows end) or drop once
  exposure stops, as long as it stays near either the pattern before launch or the day
  before; a cut, a missing day or a day only partly landed falls below both. A thin or
  missing day means the data are not ready for the checkpoint (exit 2), naming the day
  and the expected and seen counts; ``min_share: 0`` turns the check off.

Both run on DuckDB, PostgreSQL and Spark: the SQL is written in DuckDB's dialect and
rendered in the source's by ``Source.execute``.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import dataclass
from typing import Any

from impact.errors import DataError, DataNotReady
from impact.sources import contract
from impact.sources.source import EVENTS_VIEW, FLOAT_TYPES, UNITS_VIEW, Source
from impact.spec import LaunchSpec

# A day with under a quarter of its expected events has not landed; a steadier drop (a
# cohort that stops growing, a holiday) is data, not a gap.
MIN_SHARE = 0.25
# Events naming no unit above this share are a warning on the first screen (below the
# refusal limit, data.joins.max_unknown_events): a review counts only the events that join.
WARN_UNKNOWN = 0.05

__all__ = [
    "Completeness",
    "Day",
    "Joins",
    "check_completeness",
    "check_joins",
]


@dataclass(frozen=True)
class Joins:
    """How the units and events tables join.

    Attributes:
        unit_type: the type of unit_id in the units table, as stored.
        event_type: the type of unit_id in the events table, as stored.
        events: events before as_of.
        unknown_events: of those, events whose unit is not in the units table.
        units: the review's units (after start and segment).
        units_without_events: of those, units with no event before as_of.
        normalized: how ids were read alike, in words ("" when they were read as written).
    """

    unit_type: str
    event_type: str
    events: int
    unknown_events: int
    units: int
    units_without_events: int
    normalized: str

    @property
    def unknown_share(self) -> float:
        """The share of events whose unit is unknown (0 without events)."""
        return self.unknown_events / self.events if self.events else 0.0

    @property
    def silent_share(self) -> float:
        """The share of units with no event at all (0 without units)."""
        return self.units_without_events / self.units if self.units else 0.0

    def types(self) -> str:
        """The id's type in each table, in words."""
        if self.unit_type == self.event_type:
            return f"unit_id is {self.unit_type} in both tables"
        return f"unit_id is {self.unit_type} in units and {self.event_type} in events"

    def sentence(self) -> str:
        """The join in one sentence, for the data section and verdict.json's checks."""
        text = (
            f"{self.unknown_events:,} of {self.events:,} events ({self.unknown_share:.1%}) name "
            f"a unit not in the units table; {self.units_without_events:,} of {self.units:,} "
            f"units ({self.silent_share:.1%}) have no event"
        )
        return text + (f" ({self.normalized})" if self.normalized else "")

    def to_json(self) -> dict[str, Any]:
        """verdict.json's ``data.joins``."""
        return {
            "events": self.events,
            "unknown_events": self.unknown_events,
            "units": self.units,
            "units_without_events": self.units_without_events,
            "normalized": self.normalized or None,
        }


@dataclass(frozen=True)
class Day:
    """One day's event volume.

    Attributes:
        day: the UTC date.
        seen: events on that day.
        expected: the fewest of the day before's count, the same weekday's a week before
            and that weekday's median in the four weeks before launch (None before the
            events start).
    """

    day: dt.date
    seen: int
    expected: float | None


@dataclass(frozen=True)
class Completeness:
    """Event volume per day from launch to as_of against the days before it.

    Attributes:
        days: each day from launch (or data.start) to the day before as_of.
        min_share: the share of the expected count below which a day is thin.
        thin: the thin days (empty when the data are complete).
    """

    days: tuple[Day, ...]
    min_share: float
    thin: tuple[Day, ...]

    def sentence(self) -> str:
        """The volume check in one sentence."""
        if not self.days:
            return "no days to check"
        low = min(self.days, key=lambda d: d.seen)
        return (
            f"events on every day from {self.days[0].day} to {self.days[-1].day} "
            f"(fewest {low.seen:,} on {low.day}); no day below {self.min_share:.0%} of the "
            "days before it and the pattern before launch"
        )

    def to_json(self) -> dict[str, Any]:
        """verdict.json's ``data.daily``."""
        return {
            "min_share": self.min_share,
            "days": [
                {
                    "day": d.day.isoformat(),
                    "events": d.seen,
                    "expected": None if d.expected is None else round(d.expected, 1),
                }
                for d in self.days
            ],
        }


def _first(source: Source, sql: str) -> tuple[Any, ...]:
    row = source.execute(sql).fetchone()
    return tuple(row) if row else ()


def _as_of(as_of: dt.datetime) -> str:
    return contract.timestamp(as_of).sql("duckdb")


def _normalized(source: Source) -> str:
    kinds = {table: kind.upper() for table, kind in source.id_types.items()}
    floats = [t for t, k in kinds.items() if k.split("(")[0].strip() in FLOAT_TYPES]
    if floats and len(set(kinds.values())) > 1:
        return (
            f"unit_id is {kinds.get('units')} in units and {kinds.get('events')} in events: "
            "whole-number float ids are read as integers, 123.0 as 123"
        )
    return ""


def check_joins(source: Source, spec: LaunchSpec, as_of: dt.datetime) -> Joins | None:
    """Measure how the events join the units; refuse ids that do not join.

    None when the review reads no events table.

    Raises:
        DataError: the share of unknown events or of units without events is past the
            spec's limit, with the columns, both types and example ids of each side.
    """
    if source.events_name is None:
        return None
    before = _as_of(as_of)
    chosen = contract.unit_filter(spec, as_of, source)
    # one pass over the events (their count per unit id), joined both ways to the units
    events, unknown, units, silent = _first(
        source,
        f"WITH e AS (SELECT unit_id, count(*) AS n FROM {EVENTS_VIEW} WHERE ts < {before} "
        f"GROUP BY unit_id), k AS (SELECT DISTINCT unit_id FROM {UNITS_VIEW}), "
        f"c AS (SELECT unit_id FROM {UNITS_VIEW} WHERE {chosen}) "
        "SELECT (SELECT sum(n) FROM e), "
        "(SELECT sum(e.n) FROM e LEFT JOIN k ON e.unit_id = k.unit_id WHERE k.unit_id IS NULL), "
        "(SELECT count(*) FROM c), "
        "(SELECT count(*) FROM c LEFT JOIN e ON c.unit_id = e.unit_id WHERE e.unit_id IS NULL)",
    )
    found = Joins(
        unit_type=source.id_types.get("units", "unknown"),
        event_type=source.id_types.get("events", "unknown"),
        events=int(events or 0),
        unknown_events=int(unknown or 0),
        units=int(units or 0),
        units_without_events=int(silent or 0),
        normalized=_normalized(source),
    )
    limits = spec.data.joins
    max_unknown = limits.max_unknown_events if limits else 0.5
    max_silent = limits.max_units_without_events if limits else 0.99
    if found.events and found.unknown_share > max_unknown:
        _refuse(source, spec, found, before, f"data.joins.max_unknown_events is {max_unknown}")
    if found.units and found.silent_share > max_silent:
        _refuse(source, spec, found, before, f"data.joins.max_units_without_events is {max_silent}")
    return found


def _refuse(source: Source, spec: LaunchSpec, found: Joins, before: str, limit: str) -> None:
    """Raise the data error of ids that do not join, with examples from each side."""
    column = spec.data.columns.get("unit_id", "unit_id")
    theirs = [
        str(row[0])
        for row in source.execute(
            f"SELECT DISTINCT e.unit_id FROM {EVENTS_VIEW} e LEFT JOIN "
            f"(SELECT DISTINCT unit_id FROM {UNITS_VIEW}) u ON e.unit_id = u.unit_id "
            f"WHERE u.unit_id IS NULL AND e.ts < {before} ORDER BY e.unit_id LIMIT 3"
        ).fetchall()
    ]
    ours = [
        str(row[0])
        for row in source.execute(
            f"SELECT unit_id FROM {UNITS_VIEW} ORDER BY unit_id LIMIT 3"
        ).fetchall()
    ]
    near = _first(
        source,
        f"SELECT count(*) FROM (SELECT DISTINCT e.unit_id FROM {EVENTS_VIEW} e LEFT JOIN "
        f"(SELECT DISTINCT unit_id FROM {UNITS_VIEW}) u ON e.unit_id = u.unit_id "
        f"WHERE u.unit_id IS NULL AND e.ts < {before}) x JOIN "
        f"(SELECT DISTINCT lower(trim(unit_id)) AS k FROM {UNITS_VIEW}) v "
        "ON lower(trim(x.unit_id)) = v.k",
    )
    hint = (
        "; some ids differ only in surrounding spaces or letter case, which are different "
        "ids here: trim or lower-case them in both exports"
        if near and near[0]
        else "; make the ids the same type and form in both exports"
    )
    shown = ", ".join(repr(i) for i in theirs) or "none"
    raise DataError(
        f"{source.events_name}: the events do not join the units on {column}: "
        f"{found.sentence()}, past the limit ({limit}). {column} is {found.unit_type} in "
        f"{source.units_name} (such as {', '.join(repr(i) for i in ours)}) and "
        f"{found.event_type} in {source.events_name} (such as {shown}){hint}"
    )


def _day(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def check_completeness(
    source: Source, spec: LaunchSpec, as_of: dt.datetime, label: str
) -> Completeness | None:
    """Compare each day's event volume up to as_of with the days before it.

    None when the review reads no events table.

    Raises:
        DataNotReady: a day from launch to as_of is missing or thin (exit 2; the review
            stays due).
    """
    if source.events_name is None:
        return None
    first_day = spec.data.start or spec.launch_date
    last_day = (as_of - dt.timedelta(days=1)).date()
    since = dt.datetime.combine(first_day, dt.time()) - dt.timedelta(weeks=4)
    rows = source.execute(
        f"SELECT CAST(ts AS DATE) AS day, count(*) FROM {EVENTS_VIEW} "
        f"WHERE ts >= {_as_of(since)} AND ts < {_as_of(as_of)} GROUP BY CAST(ts AS DATE)"
    ).fetchall()
    counts = {_day(row[0]): int(row[1]) for row in rows}
    settings = spec.data.completeness
    min_share = settings.min_share if settings else MIN_SHARE
    if not counts:
        return Completeness((), min_share, ())
    earliest = min(counts)

    def count(day: dt.date) -> int | None:
        return counts.get(day, 0) if day >= earliest else None

    days: list[Day] = []
    day = first_day
    while day <= last_day:
        weekday = (day - first_day).days % 7
        before_launch = [
            c
            for k in range(1, 5)
            if (c := count(first_day - dt.timedelta(days=7 * k - weekday))) is not None
        ]
        references = [
            c
            for other in (day - dt.timedelta(days=1), day - dt.timedelta(days=7))
            if (c := count(other)) is not None
        ]
        if before_launch and max(before_launch) > 0:
            references.append(int(statistics.median(before_launch)))
        expected = float(min(references)) if references else None
        days.append(Day(day, counts.get(day, 0), expected))
        day += dt.timedelta(days=1)
    thin = tuple(
        d
        for d in days
        if d.expected is not None
        and d.seen < min_share * d.expected
        and d.seen < d.expected - 4 * math.sqrt(d.expected)
    )
    if thin:
        first = thin[0]
        after = [d for d in days if d.day >= first.day]
        empty = sum(1 for d in after if d.seen == 0)
        raise DataNotReady(
            f"{source.events_name}: data are not complete for the {label} review: "
            f"{first.day} has {first.seen:,} events where {first.expected:,.0f} were expected "
            f"(the fewest of the day before, the same weekday a week before and that weekday "
            f"before launch; below {min_share:.0%} of it is thin); {empty} of the "
            f"{len(after)} days from "
            f"{first.day} to {last_day} have no event. Rerun when the data have landed, or "
            "set data.completeness.min_share in the spec"
        )
    return Completeness(tuple(days), min_share, thin)
