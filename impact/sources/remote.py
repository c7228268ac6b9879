"""The contract views in a remote engine (PostgreSQL, Spark): each engine describes its
tables and renders each contract column in its own SQL (impact/sources/postgres.py,
impact/sources/spark.py); this module checks the contract and builds the views."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from impact.errors import DataError, SpecError
from impact.sources import postgres, spark
from impact.sources.source import (
    EVENT_COLUMNS,
    EVENTS_VIEW,
    UNIT_COLUMNS,
    UNITS_VIEW,
    Source,
    needs_events,
    quote,
)
from impact.spec import LaunchSpec

__all__ = ["connect_postgres", "connect_spark"]


def connect_postgres(url: str, spec: LaunchSpec) -> Source:
    """The contract views in a PostgreSQL session (see impact/sources/postgres.py)."""
    _remote_only_for_experiments(spec)
    connection = postgres.connect(url, spec)
    shown = postgres.safe(url)
    try:
        columns = _remote_views(
            spec,
            connection,
            shown,
            describe=lambda table: postgres.describe(connection, table, url),
            select=postgres.selection,
            reference=lambda table: ".".join(quote(part) for part in table.split(".")),
            create="CREATE TEMP VIEW",
        )
    except BaseException:
        connection.close()
        raise
    return _remote_source(spec, connection, shown, columns, "postgres", url)


def connect_spark(spec: LaunchSpec) -> Source:
    """The contract views in a Spark session (see impact/sources/spark.py)."""
    _remote_only_for_experiments(spec)
    connection = spark.connect()
    base = spec.resolve(".")

    def describe(table: str) -> dict[str, str]:
        raw = "raw_units" if table == spec.data.units else "raw_events"
        try:
            connection.execute(
                f"CREATE OR REPLACE TEMP VIEW {raw} AS SELECT * FROM "
                f"{spark.table_reference(table, base)}"
            )
            rows = connection.execute(f"DESCRIBE {raw}").fetchall()
        except DataError:
            raise
        except Exception as error:  # AnalysisException and the JVM's other errors
            reason = " ".join(str(error).split())[:300]
            raise DataError(f"spark: {table}: cannot be read ({reason})") from None
        return {
            str(row[0]): str(row[1]) for row in rows if row[0] and not str(row[0]).startswith("#")
        }

    try:
        columns = _remote_views(
            spec,
            connection,
            "spark",
            describe=describe,
            select=spark.selection,
            reference=lambda table: "raw_units" if table == spec.data.units else "raw_events",
            create="CREATE OR REPLACE TEMP VIEW",
        )
    except BaseException:
        connection.close()
        raise
    return _remote_source(spec, connection, "spark", columns, "spark", "spark")


def _remote_only_for_experiments(spec: LaunchSpec) -> None:
    if spec.design != "experiment":
        raise SpecError(
            f"{spec.path}: data.source: PostgreSQL and Spark sources are available for "
            f"experiments in impact 0.1, not for design: {spec.design}; export the tables to "
            "Parquet for this review"
        )


def _remote_views(
    spec: LaunchSpec,
    connection: Any,
    shown: str,
    *,
    describe: Callable[[str], dict[str, str]],
    select: Callable[[str, str, str, str], str],
    reference: Callable[[str], str],
    create: str,
) -> dict[str, list[str]]:
    """Create the contract views in a remote engine; return each view's columns."""
    renames = spec.data.columns
    need_exposure = any(m.events for m in spec.metrics.all())
    columns: dict[str, list[str]] = {}
    tables = [(spec.data.units, UNITS_VIEW, UNIT_COLUMNS)]
    if spec.data.events and needs_events(spec):
        tables.append((spec.data.events, EVENTS_VIEW, EVENT_COLUMNS))
    for table, view, required in tables:
        where = f"{shown}:{table}"
        types = describe(table)
        id_column = renames.get("unit_id", "unit_id")
        columns[f"{view}:unit_id"] = [types.get(id_column, "unknown")]
        for column in required:
            theirs = renames.get(column, column)
            if theirs not in types and not (column == "exposed_at" and not need_exposure):
                raise DataError(
                    f"{where}: no column {theirs!r}; the data contract needs "
                    f"{', '.join(required)}; columns here: {', '.join(types)}"
                )
        contract_of = {theirs: ours for ours, theirs in renames.items() if theirs in types}
        kept = [theirs for theirs in types if renames.get(theirs, theirs) == theirs]
        selects = [
            select(theirs, contract_of.get(theirs, theirs), types[theirs], where) for theirs in kept
        ]
        connection.execute(
            f"{create} {view} AS SELECT {', '.join(selects)} FROM {reference(table)}"
        )
        columns[view] = [contract_of.get(theirs, theirs) for theirs in kept]
    return columns


def _remote_source(
    spec: LaunchSpec,
    connection: Any,
    shown: str,
    columns: dict[str, list[str]],
    dialect: str,
    url: str,
) -> Source:
    has_events = EVENTS_VIEW in columns
    return Source(
        connection,
        Path(shown),
        f"{shown}:{spec.data.units}",
        f"{shown}:{spec.data.events}" if has_events else None,
        columns[UNITS_VIEW],
        "value" in columns.get(EVENTS_VIEW, []),
        dialect=dialect,
        url=url,
        id_types={
            table: columns[f"{view}:unit_id"][0]
            for table, view in (("units", UNITS_VIEW), ("events", EVENTS_VIEW))
            if f"{view}:unit_id" in columns
        },
    )
