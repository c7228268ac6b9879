"""The contract views in a remote engine (PostgreSQL, Spark), for every design.

Each engine describes its tables and renders each contract column in its own SQL
(impact/sources/postgres.py, impact/sources/spark.py); this module opens the session, checks
the contract and builds the views. Queries over the views are written once (sqlglot, DuckDB's
SQL) and rendered in the engine's dialect; only aggregates come back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from impact.errors import DataError
from impact.sources import postgres, spark
from impact.sources.source import (
    EVENT_COLUMNS,
    EVENTS_VIEW,
    UNIT_COLUMNS,
    UNITS_VIEW,
    Source,
    needs_events,
    quote,
    unreadable,
)
from impact.spec import LaunchSpec

__all__ = ["Session", "connect", "open_session"]


@dataclass
class Session:
    """A remote engine's session and how to read its tables.

    Attributes:
        connection: the PostgreSQL connection or the Spark session's (``execute(sql)``).
        dialect: ``postgres`` or ``spark``.
        shown: how messages name the source (the URL with its password hidden, or spark).
        url: the database URL, or ``spark``.
        describe: a table's columns and their types, as the engine names them.
        reference: how a query names a table (Spark reads it through a temporary view).
        select: one contract column in the engine's SQL (name, contract name, type, where).
        numeric: whether a type the engine names is a number.
        create: the statement that creates a session's view.
    """

    connection: Any
    dialect: str
    shown: str
    url: str
    describe: Callable[[str], dict[str, str]]
    reference: Callable[[str], str]
    select: Callable[[str, str, str, str], str]
    numeric: Callable[[str], bool]
    create: str

    def close(self) -> None:
        self.connection.close()


def open_session(where: str, spec: LaunchSpec) -> Session:
    """A session in the engine ``where`` names: a PostgreSQL URL or ``spark``.

    Raises:
        DataError: the engine cannot be reached or does not start.
    """
    if spark.is_spark(where):
        return _spark_session(spec)
    connection = postgres.connect(where, spec)
    return Session(
        connection,
        "postgres",
        postgres.safe(where),
        where,
        describe=lambda table: postgres.describe(connection, table, where),
        reference=lambda table: ".".join(quote(part) for part in table.split(".")),
        select=postgres.selection,
        numeric=postgres.is_numeric,
        create="CREATE TEMP VIEW",
    )


def _spark_session(spec: LaunchSpec) -> Session:
    connection = spark.connect()
    base = spec.resolve(".")
    raw_views: dict[str, str] = {}

    def raw(table: str) -> str:
        return raw_views.setdefault(table, f"raw_{len(raw_views)}")

    def describe(table: str) -> dict[str, str]:
        try:
            connection.execute(
                f"CREATE OR REPLACE TEMP VIEW {raw(table)} AS SELECT * FROM "
                f"{spark.table_reference(table, base)}"
            )
            rows = connection.execute(f"DESCRIBE {raw(table)}").fetchall()
        except DataError:
            raise
        except Exception as error:  # AnalysisException and the JVM's other errors
            raise unreadable(f"spark: {table}", error) from None
        return {
            str(row[0]): str(row[1]) for row in rows if row[0] and not str(row[0]).startswith("#")
        }

    return Session(
        connection,
        "spark",
        "spark",
        "spark",
        describe=describe,
        reference=raw,
        select=spark.selection,
        numeric=spark.is_numeric,
        create="CREATE OR REPLACE TEMP VIEW",
    )


def connect(where: str, spec: LaunchSpec) -> Source:
    """The contract views in a PostgreSQL or Spark session (see impact/sources/postgres.py
    and impact/sources/spark.py), for every design."""
    session = open_session(where, spec)
    try:
        required = UNIT_COLUMNS if spec.design == "experiment" else ("unit_id",)
        tables = [(spec.data.units, UNITS_VIEW, required)]
        if spec.data.events and needs_events(spec):
            tables.append((spec.data.events, EVENTS_VIEW, EVENT_COLUMNS))
        columns = contract_views(session, spec, tables)
    except BaseException:
        session.close()
        raise
    return _remote_source(spec, session, columns)


def contract_views(
    session: Session, spec: LaunchSpec, tables: Sequence[tuple[str | None, str, tuple[str, ...]]]
) -> dict[str, list[str]]:
    """Create the contract views (view name, the spec's table, the contract's columns) in a
    remote engine; return each view's columns."""
    renames = spec.data.columns
    need_exposure = any(m.events for m in spec.metrics.all()) and spec.design != "prepost"
    columns: dict[str, list[str]] = {}
    for table, view, required in tables:
        assert table is not None
        where = f"{session.shown}:{table}"
        types = session.describe(table)
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
            session.select(theirs, contract_of.get(theirs, theirs), types[theirs], where)
            for theirs in kept
        ]
        session.connection.execute(
            f"{session.create} {view} AS SELECT {', '.join(selects)} FROM "
            f"{session.reference(table)}"
        )
        columns[view] = [contract_of.get(theirs, theirs) for theirs in kept]
    return columns


def _remote_source(spec: LaunchSpec, session: Session, columns: dict[str, list[str]]) -> Source:
    has_events = EVENTS_VIEW in columns
    shown = session.shown
    return Source(
        session.connection,
        shown,
        f"{shown}:{spec.data.units}",
        f"{shown}:{spec.data.events}" if has_events else None,
        columns[UNITS_VIEW],
        "value" in columns.get(EVENTS_VIEW, []),
        dialect=session.dialect,
        url=session.url,
        id_types={
            table: columns[f"{view}:unit_id"][0]
            for table, view in (("units", UNITS_VIEW), ("events", EVENTS_VIEW))
            if f"{view}:unit_id" in columns
        },
    )
