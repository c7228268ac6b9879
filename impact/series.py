"""The daily series of a prepost review: read, checked, one value per day.

A series comes from one of two places:

- a column of ``data.series``, a daily table with a ``date`` column (renamed with
  ``data.columns: {date: day}``) and one numeric column per series, controls included;
- events (``event:`` instead of ``column:``): per day, over the units active that day (any
  event), the share with the event, or with ``value: count | sum`` the events or the value
  per active unit.

The span is every day before ``as_of`` (from ``launch_date - data.pre_period`` when set).
The pre-period may miss a day of the response (the model skips it); the controls must be
complete, and so must the post-period, whose last day must be in (else the data are not
ready yet).

pandas is imported where a series is read, so that experiment reviews never load it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import sqlglot

from impact import sources
from impact.errors import DataError, DataNotReady
from impact.sources import duckdb_files, postgres, remote, source
from impact.sources.source import EVENT_COLUMNS, EVENTS_VIEW
from impact.spec import LaunchSpec, Metric

if TYPE_CHECKING:
    import pandas

__all__ = ["Series", "load", "require_history"]


@dataclass(frozen=True)
class Series:
    """The daily values of a prepost review.

    Attributes:
        dates: every day of the span, pre-period and post-period.
        launch: the index of the launch day in ``dates`` (the first post-period day).
        values: per metric name, one value per day (NaN for a missing pre-period day).
        controls: per control column, one value per day.
        location: where the data came from, for messages (a folder, a file or a URL with
            its password hidden).
        fingerprint: the sha256 of the source's files.
    """

    dates: pandas.DatetimeIndex
    launch: int
    values: dict[str, np.ndarray]
    controls: dict[str, np.ndarray]
    location: str
    fingerprint: str

    @property
    def pre_days(self) -> int:
        """Days in the pre-period."""
        return self.launch

    @property
    def post_days(self) -> int:
        """Days in the post-period."""
        return len(self.dates) - self.launch


def load(
    spec: LaunchSpec, as_of: dt.datetime, data_source: str | None = None, *, partial: bool = False
) -> Series:
    """Read every series the spec's metrics and controls name, up to ``as_of``.

    ``partial``: read the days there are when the newest is before ``as_of`` (a plan before
    launch: the history exists, but its last days may not be in yet), instead of refusing.

    Raises:
        DataError: a missing table or column, a non-numeric or repeated value, a gap.
        DataNotReady: the last day before ``as_of`` is not in yet.
    """
    import pandas

    launch = pandas.Timestamp(spec.launch_date)
    end = pandas.Timestamp(as_of.date())
    first = launch - pandas.Timedelta(days=spec.data.pre_period) if spec.data.pre_period else None
    where_from = data_source or spec.data.source
    if sources.is_remote(where_from):
        frames, location, fingerprint = _read_remote(spec, where_from, end)
    else:
        folder = Path(data_source) if data_source else spec.resolve(spec.data.source)
        frames = _read_files(spec, folder, end)
        location, fingerprint = str(folder), source.fingerprint(folder)
    table = pandas.concat(frames, axis=1) if len(frames) > 1 else frames[0]
    name = spec.data.series or spec.data.events or ""
    where = f"{location}:{name}"
    if first is not None and not table.empty and table.index.min() > first:
        raise DataError(
            f"{where}: data.pre_period asks for {spec.data.pre_period} days before launch "
            f"(from {first:%Y-%m-%d}), but the series starts on {table.index.min():%Y-%m-%d}; "
            "shorten pre_period or add the missing history"
        )
    start = table.index.min() if first is None else first
    dates = pandas.date_range(start, end - pandas.Timedelta(days=1), freq="D")
    table = table.reindex(dates)
    newest = table.dropna(how="all").index.max()
    if partial and pandas.notna(newest) and newest < end - pandas.Timedelta(days=1):
        table = table.loc[:newest]
        dates = pandas.DatetimeIndex(table.index)
    launch_index = int(dates.searchsorted(launch))
    if launch_index < 1 or not table.index.min() < launch:
        raise DataError(
            f"{where}: no day before launch_date {spec.launch_date}; the model needs a pre-period"
        )
    if newest < end - pandas.Timedelta(days=1) and not partial:
        raise DataNotReady(
            f"{where}: the newest day is {newest:%Y-%m-%d}, but the review reads every day "
            f"before {end:%Y-%m-%d}; rerun when the data are in"
        )
    values = {m.name: table[_key(m)].to_numpy(dtype=float) for m in spec.metrics.all()}
    for metric in spec.metrics.all():
        post = values[metric.name][launch_index:]
        if np.isnan(post).any():
            day = dates[launch_index + int(np.flatnonzero(np.isnan(post))[0])]
            raise DataError(
                f"{where}: {_key(metric)} has no value on {day:%Y-%m-%d}, after launch; "
                "every day of the post-period is needed"
            )
    controls = {}
    for column in dict.fromkeys(c for m in spec.metrics.all() for c in m.controls):
        series = table[column].to_numpy(dtype=float)
        if np.isnan(series).any():
            day = dates[int(np.flatnonzero(np.isnan(series))[0])]
            raise DataError(
                f"{where}: control {column!r} has no value on {day:%Y-%m-%d}; a control "
                "needs every day, before and after launch"
            )
        controls[column] = series
    return Series(dates, launch_index, values, controls, location, fingerprint)


def _read_files(spec: LaunchSpec, location: Path, end: pandas.Timestamp) -> list[pandas.DataFrame]:
    """The daily frames of a folder of files or a .duckdb file (DuckDB in this process)."""
    connection = duckdb_files.open_connection(location)
    try:
        frames = []
        if any(m.column is not None for m in spec.metrics.all()):
            frames.append(_from_table(connection, location, spec, end))
        event_metrics = [m for m in spec.metrics.all() if m.event is not None]
        if event_metrics:
            assert spec.data.events is not None
            frames.append(_from_events(connection, location, spec, event_metrics, end))
    finally:
        connection.close()
    return frames


def require_history(spec: LaunchSpec, daily: Series) -> None:
    """Refuse a pre-period shorter than the model is fit on (``LaunchSpec.min_pre_days``).

    Raises:
        DataError: too few days before launch (a review and a plan say it alike).
    """
    needed = spec.min_pre_days
    if daily.pre_days < needed:
        raise DataError(
            f"{daily.location}: {daily.pre_days} days before launch_date {spec.launch_date}; "
            f"the model needs at least {needed} (three seasonal periods, and never under 14)"
        )


def _wanted(spec: LaunchSpec) -> list[str]:
    """The series table's columns a review reads: the metrics' and the controls'."""
    return list(
        dict.fromkeys(
            [m.column for m in spec.metrics.all() if m.column is not None]
            + [c for m in spec.metrics.all() for c in m.controls]
        )
    )


def _named_in(spec: LaunchSpec, column: str) -> str:
    """The spec field that names a series column first: a metric's column or controls."""
    for where, metric in spec.metrics_with_paths():
        if metric.column == column:
            return f"{where}.column"
        if column in metric.controls:
            return f"{where}.controls"
    return "the spec"


def _check_columns(
    name: str, spec: LaunchSpec, types: dict[str, str], numeric: Callable[[str], bool]
) -> tuple[str, list[str]]:
    """The date column and the series columns, each present and numbers."""
    date_column = spec.data.columns.get("date", "date")
    if date_column not in types:
        mapped = " (data.columns maps date to it)" if "date" in spec.data.columns else ""
        raise DataError(
            f"{name}: no column {date_column!r}{mapped}; a daily series table needs a date "
            f"column; columns here: {', '.join(types)}; map yours with data.columns, such "
            "as columns: {date: day}"
        )
    wanted = _wanted(spec)
    for column in wanted:
        if column not in types:
            raise DataError(
                f"{name}: no column {column!r}, which {spec.path.name} names in "
                f"{_named_in(spec, column)}; columns here: {', '.join(types)}; fix the name or "
                "add the column"
            )
        if not numeric(types[column]):
            raise DataError(
                f"{name}: column {column!r} is {types[column]}; a series must be numeric"
            )
    return date_column, wanted


def _text_in_numbers(
    connection: duckdb.DuckDBPyConnection, name: str, spec: LaunchSpec, types: dict[str, str]
) -> None:
    """A series column read as text because some value is not a number (a CSV's "n/a"): the
    first such value and its day, where the column's type alone says little."""
    date_column = spec.data.columns.get("date", "date")
    if date_column not in types:
        return
    for column in _wanted(spec):
        if types.get(column, "").upper() != "VARCHAR":
            continue
        quoted = source.quote(column)
        found = connection.execute(
            f"SELECT {quoted}, {source.quote(date_column)} FROM raw_series "
            f"WHERE TRY_CAST(TRIM({quoted}) AS DOUBLE) IS NULL AND TRIM({quoted}) <> '' "
            f"ORDER BY {source.quote(date_column)} LIMIT 1"
        ).fetchone()
        if found is not None:
            raise DataError(
                f"{name}: column {column!r} holds {found[0]!r} on {found[1]}, not a number; a "
                "series must be numeric (leave a day without a value empty)"
            )


def _checked(frame: pandas.DataFrame, name: str, wanted: list[str]) -> pandas.DataFrame:
    """One row per day and finite values (a missing value is NaN); indexed by day."""
    import pandas

    repeated = frame["day"][frame["day"].duplicated()]
    if not repeated.empty:
        raise DataError(
            f"{name}: the date {pandas.Timestamp(repeated.iloc[0]):%Y-%m-%d} appears more than "
            "once; a daily series has one row per day"
        )
    values = frame[wanted].to_numpy(dtype=float)
    bad_rows = ~np.isfinite(values) & ~np.isnan(values)
    if bad_rows.any():
        row, col = np.argwhere(bad_rows)[0]
        raise DataError(
            f"{name}: {wanted[col]!r} is not a finite number on {frame['day'].iloc[row]}"
        )
    frame.index = pandas.DatetimeIndex(pandas.to_datetime(frame.pop("day")))
    return frame


def _key(metric: Metric) -> str:
    return metric.column if metric.column is not None else f"event:{metric.name}"


def _from_table(
    connection: duckdb.DuckDBPyConnection, location: Path, spec: LaunchSpec, end: pandas.Timestamp
) -> pandas.DataFrame:

    assert spec.data.series is not None
    name = duckdb_files.open_table(connection, location, spec.data.series, "raw_series")
    types = {str(r[0]): str(r[1]) for r in connection.execute("DESCRIBE raw_series").fetchall()}
    _text_in_numbers(connection, name, spec, types)
    date_column, wanted = _check_columns(name, spec, types, source.is_numeric)
    day = source.quote(date_column)
    kind = types[date_column].upper()
    if kind == "VARCHAR":
        bad = connection.execute(
            f"SELECT {day} FROM raw_series "
            f"WHERE {day} IS NOT NULL AND TRY_CAST({day} AS DATE) IS NULL LIMIT 1"
        ).fetchone()
        if bad is not None:
            raise DataError(
                f"{name}: {date_column!r} has {bad[0]!r}, not a date; write dates such as "
                "2026-09-01"
            )
    elif not (kind == "DATE" or kind.startswith("TIMESTAMP")):
        raise DataError(
            f"{name}: column {date_column!r} is {kind}; it must hold dates such as 2026-09-01"
        )
    selects = ", ".join(f"CAST({source.quote(c)} AS DOUBLE) AS {source.quote(c)}" for c in wanted)
    query = (
        f"SELECT CAST({day} AS DATE) AS day, {selects} FROM raw_series "
        f"WHERE {day} IS NOT NULL AND CAST({day} AS DATE) < ?"
    )
    frame = source.interruptible(connection, query, [end.date()]).df()
    return _checked(frame, name, wanted)


def _from_events(
    connection: duckdb.DuckDBPyConnection,
    location: Path,
    spec: LaunchSpec,
    metrics: list[Metric],
    end: pandas.Timestamp,
) -> pandas.DataFrame:
    assert spec.data.events is not None
    name = duckdb_files.open_table(connection, location, spec.data.events, "raw_events")
    types = {str(r[0]): str(r[1]) for r in connection.execute("DESCRIBE raw_events").fetchall()}
    renames = spec.data.columns
    columns = {ours: renames.get(ours, ours) for ours in ("unit_id", "event", "ts", "value")}
    for ours in ("unit_id", "event", "ts"):
        if columns[ours] not in types:
            raise DataError(
                f"{name}: no column {columns[ours]!r}; an events table needs unit_id, event and "
                f"ts; columns here: {', '.join(types)}"
            )
    needs_value = any(m.value == "sum" or m.value == "max" for m in metrics)
    if needs_value and columns["value"] not in types:
        raise DataError(f"{name}: no column {columns['value']!r}; value: sum needs it")
    ts = source.quote(columns["ts"])
    aware = "TIME ZONE" in types[columns["ts"]].upper() or types[columns["ts"]] == "VARCHAR"
    moment = f"timezone('UTC', CAST({ts} AS TIMESTAMPTZ))" if aware else f"CAST({ts} AS TIMESTAMP)"
    value = source.quote(columns["value"]) if columns["value"] in types else "NULL"
    query = daily_query(
        metrics,
        table="raw_events",
        moment=moment,
        unit=source.quote(columns["unit_id"]),
        event=f"CAST({source.quote(columns['event'])} AS VARCHAR)",
        value=value,
        end=end,
    )
    rows = source.interruptible(connection, query).fetchall()
    return _daily_frame(rows, metrics)


def daily_query(
    metrics: list[Metric],
    *,
    table: str,
    moment: str,
    unit: str,
    event: str,
    value: str,
    end: pandas.Timestamp,
) -> str:
    """Per day before ``end``, the units active that day (any event) and each metric's total
    over them, in DuckDB's SQL (rendered for other engines with sqlglot).

    Totals are exact in every engine: counts are integers, values are summed as
    DECIMAL(38, 12), so a day's mean (total / units, divided in Python) is the same number
    whichever engine summed it.
    """
    exact = "DECIMAL(38, 12)"
    inner, outer = [], []
    for index, metric in enumerate(metrics):
        match = f"{event} = {source.literal(metric.event or '')}"
        if metric.daily_share:
            inner.append(f"max(CASE WHEN {match} THEN 1 ELSE 0 END) AS m{index}")
            outer.append(f"sum(m{index}) AS m{index}")
        elif metric.value == "count":
            inner.append(f"sum(CASE WHEN {match} THEN 1 ELSE 0 END) AS m{index}")
            outer.append(f"sum(m{index}) AS m{index}")
        elif metric.value == "sum":
            inner.append(
                f"sum(CASE WHEN {match} THEN CAST({value} AS {exact}) ELSE 0 END) AS m{index}"
            )
            outer.append(f"CAST(sum(m{index}) AS DOUBLE) AS m{index}")
        else:  # max: each unit's largest value that day, 0 without one
            inner.append(f"max(CASE WHEN {match} THEN {value} END) AS m{index}")
            outer.append(f"CAST(sum(CAST(coalesce(m{index}, 0) AS {exact})) AS DOUBLE) AS m{index}")
    end_literal = source.literal(f"{end:%Y-%m-%d %H:%M:%S}")
    return (
        f"SELECT day, count(*) AS units, {', '.join(outer)} FROM ("
        f"SELECT CAST({moment} AS DATE) AS day, {unit} AS unit, {', '.join(inner)} "
        f"FROM {table} WHERE {moment} < CAST({end_literal} AS TIMESTAMP) "
        f"GROUP BY CAST({moment} AS DATE), {unit}) AS per_unit GROUP BY day ORDER BY day"
    )


def _daily_frame(rows: list[tuple[object, ...]], metrics: list[Metric]) -> pandas.DataFrame:
    """Each metric's daily mean per active unit, from the daily totals of ``daily_query``."""
    import pandas

    keys = [f"event:{m.name}" for m in metrics]
    frame = pandas.DataFrame.from_records(rows, columns=["day", "units", *keys])
    units = frame.pop("units").to_numpy(dtype=float)
    for key in keys:
        frame[key] = frame[key].to_numpy(dtype=float) / units
    frame.index = pandas.DatetimeIndex(pandas.to_datetime(frame.pop("day")))
    return frame


# --------------------------------------------------------------------------- remote engines


def _read_remote(
    spec: LaunchSpec, where: str, end: pandas.Timestamp
) -> tuple[list[pandas.DataFrame], str, str]:
    """The daily frames from PostgreSQL or Spark: the same queries, rendered in the engine's
    SQL (impact/sources/remote.py); only one row per day comes back."""
    session = remote.open_session(where, spec)
    try:
        frames, views = [], []
        if any(m.column is not None for m in spec.metrics.all()):
            frames.append(_remote_table(session, spec, end))
            views.append(SERIES_VIEW)
        event_metrics = [m for m in spec.metrics.all() if m.event is not None]
        if event_metrics:
            assert spec.data.events is not None
            columns = remote.contract_views(
                session, spec, [(spec.data.events, EVENTS_VIEW, EVENT_COLUMNS)]
            )
            has_value = "value" in columns[EVENTS_VIEW]
            frames.append(_remote_events(session, spec, event_metrics, end, has_value=has_value))
            views.append(EVENTS_VIEW)
        fingerprint = postgres.fingerprint(session.connection, session.url, views)
    finally:
        session.close()
    return frames, session.shown, fingerprint


SERIES_VIEW = "impact_series"


def _run(session: remote.Session, sql: str, name: str) -> list[tuple[object, ...]]:
    """A query written in DuckDB's SQL, rendered and run in the session's engine."""
    rendered = sqlglot.transpile(sql, read="duckdb", write=session.dialect)[0]
    try:
        return list(session.connection.execute(rendered).fetchall())
    except (KeyboardInterrupt, SystemExit, DataError):
        raise
    except Exception as error:  # PostgreSQL's and Spark's own errors
        raise source.unreadable(name, error) from None


def _remote_table(
    session: remote.Session, spec: LaunchSpec, end: pandas.Timestamp
) -> pandas.DataFrame:
    import pandas

    assert spec.data.series is not None
    name = f"{session.shown}:{spec.data.series}"
    types = session.describe(spec.data.series)
    date_column, wanted = _check_columns(name, spec, types, session.numeric)
    selects = ", ".join(
        [f"CAST({source.quote(date_column)} AS DATE) AS day"]
        + [f"CAST({source.quote(c)} AS DOUBLE) AS {source.quote(c)}" for c in wanted]
    )
    view = sqlglot.transpile(
        f"SELECT {selects} FROM {session.reference(spec.data.series)}",
        read="duckdb",
        write=session.dialect,
    )[0]
    session.connection.execute(f"{session.create} {SERIES_VIEW} AS {view}")
    columns = ", ".join(source.quote(c) for c in wanted)
    rows = _run(
        session,
        f"SELECT day, {columns} FROM {SERIES_VIEW} WHERE day IS NOT NULL "
        f"AND day < CAST({source.literal(f'{end:%Y-%m-%d}')} AS DATE) ORDER BY day",
        name,
    )
    frame = pandas.DataFrame.from_records(rows, columns=["day", *wanted])
    frame[wanted] = frame[wanted].astype(float)
    return _checked(frame, name, wanted)


def _remote_events(
    session: remote.Session,
    spec: LaunchSpec,
    metrics: list[Metric],
    end: pandas.Timestamp,
    *,
    has_value: bool,
) -> pandas.DataFrame:
    """Per day, over the units active that day, the mean of each metric's per-unit value."""
    assert spec.data.events is not None
    name = f"{session.shown}:{spec.data.events}"
    if any(m.value in ("sum", "max") for m in metrics) and not has_value:
        raise DataError(f"{name}: no column 'value'; value: sum needs it")
    query = daily_query(
        metrics,
        table=EVENTS_VIEW,
        moment="ts",
        unit="unit_id",
        event="event",
        value="value" if has_value else "NULL",
        end=end,
    )
    return _daily_frame(_run(session, query, name), metrics)
