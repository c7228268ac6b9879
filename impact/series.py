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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np

from impact.errors import DataError, DataNotReady
from impact.sources import duckdb_files, source
from impact.spec import LaunchSpec, Metric

if TYPE_CHECKING:
    import pandas

__all__ = ["Series", "load"]


@dataclass(frozen=True)
class Series:
    """The daily values of a prepost review.

    Attributes:
        dates: every day of the span, pre-period and post-period.
        launch: the index of the launch day in ``dates`` (the first post-period day).
        values: per metric name, one value per day (NaN for a missing pre-period day).
        controls: per control column, one value per day.
        location: where the data came from, for messages.
        fingerprint: the sha256 of the source's files.
    """

    dates: pandas.DatetimeIndex
    launch: int
    values: dict[str, np.ndarray]
    controls: dict[str, np.ndarray]
    location: Path
    fingerprint: str

    @property
    def pre_days(self) -> int:
        """Days in the pre-period."""
        return self.launch

    @property
    def post_days(self) -> int:
        """Days in the post-period."""
        return len(self.dates) - self.launch


def load(spec: LaunchSpec, as_of: dt.datetime, data_source: str | None = None) -> Series:
    """Read every series the spec's metrics and controls name, up to ``as_of``.

    Raises:
        DataError: a missing table or column, a non-numeric or repeated value, a gap.
        DataNotReady: the last day before ``as_of`` is not in yet.
    """
    import pandas

    location = Path(data_source) if data_source else spec.resolve(spec.data.source)
    launch = pandas.Timestamp(spec.launch_date)
    end = pandas.Timestamp(as_of.date())
    first = launch - pandas.Timedelta(days=spec.data.pre_period) if spec.data.pre_period else None
    connection = duckdb_files.open_connection(location)
    try:
        frames = []
        column_metrics = [m for m in spec.metrics.all() if m.column is not None]
        if column_metrics:
            assert spec.data.series is not None
            frames.append(_from_table(connection, location, spec, end))
        event_metrics = [m for m in spec.metrics.all() if m.event is not None]
        if event_metrics:
            assert spec.data.events is not None
            frames.append(_from_events(connection, location, spec, event_metrics, end))
    finally:
        connection.close()
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
    launch_index = int(dates.searchsorted(launch))
    if launch_index < 1 or not table.index.min() < launch:
        raise DataError(
            f"{where}: no day before launch_date {spec.launch_date}; the model needs a pre-period"
        )
    newest = table.dropna(how="all").index.max()
    if newest < end - pandas.Timedelta(days=1):
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
    return Series(dates, launch_index, values, controls, location, source.fingerprint(location))


def _key(metric: Metric) -> str:
    return metric.column if metric.column is not None else f"event:{metric.name}"


def _from_table(
    connection: duckdb.DuckDBPyConnection, location: Path, spec: LaunchSpec, end: pandas.Timestamp
) -> pandas.DataFrame:
    import pandas

    assert spec.data.series is not None
    name = duckdb_files.open_table(connection, location, spec.data.series, "raw_series")
    types = {str(r[0]): str(r[1]) for r in connection.execute("DESCRIBE raw_series").fetchall()}
    date_column = spec.data.columns.get("date", "date")
    if date_column not in types:
        mapped = " (data.columns maps date to it)" if "date" in spec.data.columns else ""
        raise DataError(
            f"{name}: no column {date_column!r}{mapped}; a daily series table needs a date "
            f"column; columns here: {', '.join(types)}; map yours with data.columns, such "
            "as columns: {date: day}"
        )
    wanted = list(
        dict.fromkeys(
            [m.column for m in spec.metrics.all() if m.column is not None]
            + [c for m in spec.metrics.all() for c in m.controls]
        )
    )
    for column in wanted:
        if column not in types:
            raise DataError(
                f"{name}: no column {column!r}, which the spec names as a series; columns "
                f"here: {', '.join(types)}"
            )
        if not source.is_numeric(types[column]):
            raise DataError(
                f"{name}: column {column!r} is {types[column]}; a series must be numeric"
            )
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


def _from_events(
    connection: duckdb.DuckDBPyConnection,
    location: Path,
    spec: LaunchSpec,
    metrics: list[Metric],
    end: pandas.Timestamp,
) -> pandas.DataFrame:
    import pandas

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
    event = f"CAST({source.quote(columns['event'])} AS VARCHAR)"
    unit = source.quote(columns["unit_id"])
    aware = "TIME ZONE" in types[columns["ts"]].upper() or types[columns["ts"]] == "VARCHAR"
    moment = f"timezone('UTC', CAST({ts} AS TIMESTAMPTZ))" if aware else f"CAST({ts} AS TIMESTAMP)"
    per_unit = []
    for index, metric in enumerate(metrics):
        match = f"{event} = ?"
        value = source.quote(columns["value"]) if columns["value"] in types else "1"
        aggregate = {
            None: f"max(CASE WHEN {match} THEN 1.0 ELSE 0.0 END)",
            "count": f"sum(CASE WHEN {match} THEN 1.0 ELSE 0.0 END)",
            "sum": f"sum(CASE WHEN {match} THEN CAST({value} AS DOUBLE) ELSE 0.0 END)",
            "max": f"coalesce(max(CASE WHEN {match} THEN CAST({value} AS DOUBLE) END), 0.0)",
        }[metric.value]
        per_unit.append((f"m{index}", aggregate, metric.event))
    inner = ", ".join(f"{aggregate} AS {alias}" for alias, aggregate, _ in per_unit)
    outer = ", ".join(f"avg({alias}) AS {alias}" for alias, _, _ in per_unit)
    query = (
        f"SELECT day, {outer} FROM (SELECT CAST({moment} AS DATE) AS day, {unit} AS unit, {inner} "
        f"FROM raw_events WHERE {moment} < ? GROUP BY ALL) GROUP BY day ORDER BY day"
    )
    parameters: list[object] = [e for _, _, e in per_unit]
    frame = source.interruptible(connection, query, [*parameters, end.to_pydatetime()]).df()
    frame.index = pandas.DatetimeIndex(pandas.to_datetime(frame.pop("day")))
    frame.columns = [f"event:{m.name}" for m in metrics]
    return frame
