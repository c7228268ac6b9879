"""Connect to a launch's data and check the data contract before any statistics.

The contract (names after ``data.columns`` renames):

- units: ``unit_id``, ``variant``, ``exposed_at`` and any attributes (one row per unit);
- events: ``unit_id``, ``event``, ``ts`` and optionally ``value``.

The default engine is DuckDB in-process, over a folder of Parquet/CSV files (a table is a
file named ``<table>.parquet`` or ``<table>.csv``) or a ``.duckdb`` file. Every session runs in
UTC; naive timestamps are read as UTC and aware ones converted to it. The contract is
exposed as two views, ``impact_units`` and ``impact_events``, that the metric SQL reads.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import hashlib
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from impact import sandbox, spark, warehouse
from impact.errors import DataError, DataNotReady, SpecError
from impact.spec import LaunchSpec

__all__ = [
    "Source",
    "check_contract",
    "check_ready",
    "connect",
    "fingerprint",
    "is_numeric",
    "needs_events",
    "open_connection",
    "open_table",
    "quote",
]

MEMORY_LIMIT = "IMPACT_DUCKDB_MEMORY_LIMIT"  # e.g. 1GB: DuckDB's memory cap for a review
UNITS_VIEW = "impact_units"
EVENTS_VIEW = "impact_events"
_UNIT_COLUMNS = ("unit_id", "variant", "exposed_at")
_EVENT_COLUMNS = ("unit_id", "event", "ts")
_TIME_TYPES = ("TIMESTAMP", "DATE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")


def quote(name: str) -> str:
    """A safely quoted SQL identifier."""
    return exp.to_identifier(name, quoted=True).sql("duckdb")


@dataclass
class Source:
    """An open connection with the contract's views in place.

    Attributes:
        connection: the DuckDB connection, a PostgreSQL one or a Spark session's (UTC
            sessions; each has ``execute(sql)`` returning a cursor).
        location: the folder or file the data come from, for messages (the URL with its
            password hidden, or ``spark``).
        units_name: how messages name the units table (its file, or its table).
        events_name: how messages name the events table.
        unit_columns: the units view's columns (contract names), attributes included.
        has_value: whether the events table has a ``value`` column.
        dialect: the SQL dialect queries are rendered in (duckdb, postgres or spark).
        url: the database URL or ``spark`` for a remote engine, None for files.
        id_types: the type of ``unit_id`` as each table stores it (``units``, ``events``),
            before the contract views read both as text.
    """

    connection: duckdb.DuckDBPyConnection
    location: Path
    units_name: str
    events_name: str | None
    unit_columns: list[str]
    has_value: bool
    dialect: str = "duckdb"
    url: str | None = None
    id_types: dict[str, str] = dataclasses.field(default_factory=dict)

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()

    def execute(self, sql: str) -> Any:
        """Run a query written in DuckDB's SQL, rendered in the source's own dialect."""
        if self.dialect != "duckdb":
            sql = sqlglot.transpile(sql, read="duckdb", write=self.dialect)[0]
        return self.query(sql)

    def query(self, sql: str) -> Any:
        """Run a query written in the source's own dialect; return its cursor.

        On DuckDB, Ctrl-C or SIGTERM stops the query at once (see ``interruptible``).
        """
        if self.dialect != "duckdb":
            return self.connection.execute(sql)
        return interruptible(self.connection, sql)

    def fingerprint(self) -> str:
        """The sha256 of the tables' files (names and contents), to tell data apart; for a
        warehouse, of its tables' row counts and newest event."""
        if self.url is not None:
            views = [UNITS_VIEW] + ([EVENTS_VIEW] if self.events_name else [])
            return warehouse.fingerprint(self.connection, self.url, views)
        return fingerprint(self.location)


def fingerprint(location: Path) -> str:
    """The sha256 of a data source's files (names and contents), to tell data apart."""
    if location.is_dir():
        files = sorted(p for p in location.iterdir() if p.suffix in (".parquet", ".csv"))
    else:
        files = [location]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def interruptible(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: list[object] | None = None
) -> Any:
    """``connection.execute(sql, parameters)``, stopped at once by Ctrl-C or SIGTERM.

    DuckDB looks at signals only now and then while it runs (a SIGTERM in the middle of a
    15-second query took 15 s, and came back as a RuntimeError rather than an interrupt). The
    query runs on a helper thread instead, so that this thread takes the signal, interrupts
    DuckDB and raises KeyboardInterrupt.
    """
    if threading.current_thread() is not threading.main_thread():
        return connection.execute(sql, parameters)  # signals only ever reach the main thread
    outcome: dict[str, Any] = {}
    done = threading.Event()  # not Thread.join: interrupted, it can report a live thread dead

    def run() -> None:
        try:
            outcome["cursor"] = connection.execute(sql, parameters)
        except BaseException as error:  # handed to the caller below
            outcome["error"] = error
        finally:
            done.set()

    threading.Thread(target=run, name="impact-duckdb", daemon=True).start()
    try:
        while not done.wait(0.1):
            pass
    except BaseException:  # Ctrl-C, SIGTERM, a cell's timeout: stop DuckDB, then go
        connection.interrupt()
        done.wait()
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["cursor"]


def open_connection(location: Path) -> duckdb.DuckDBPyConnection:
    """A UTC DuckDB session over a data source (a .duckdb file is attached as ``source``).

    Raises:
        DataError: the source does not exist or is neither a folder nor a .duckdb file.
    """
    if not location.exists():
        raise DataError(
            f"{location}: data.source does not exist; run `impact demo` for the demo data "
            "or fix data.source in the spec"
        )
    if not location.is_dir() and location.suffix not in (".duckdb", ".db"):
        raise DataError(
            f"{location}: data.source must be a folder of Parquet/CSV files or a .duckdb file"
        )
    # No extension is ever fetched or loaded on demand: a URL in a query must not make DuckDB
    # download code from the network.
    connection = duckdb.connect(
        ":memory:",
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )
    connection.execute("SET TimeZone = 'UTC'")
    limit = os.environ.get(MEMORY_LIMIT, "").strip()
    if limit:
        try:
            connection.execute(f"SET memory_limit = {_literal(limit)}")
        except duckdb.Error:
            connection.close()
            raise DataError(
                f"{MEMORY_LIMIT}={limit!r} is not a memory size; write one such as 1GB"
            ) from None
    # Past its memory limit DuckDB spills to disk: here, not to a .tmp folder in the
    # user's current directory (its default for an in-memory database).
    spill = Path(tempfile.gettempdir()) / f"impact-duckdb-{os.getpid()}"
    connection.execute(f"SET temp_directory = {_literal(str(spill))}")
    if not location.is_dir():
        connection.execute(f"ATTACH {_literal(str(location))} AS source (READ_ONLY)")
    _close_external_access(connection, location)
    return connection


def _close_external_access(connection: duckdb.DuckDBPyConnection, location: Path) -> None:
    """From here on the session reads only the data: the folder's own files (DuckDB resolves
    symbolic links, so a table file linked from elsewhere is allowed by its target), or the
    .duckdb file attached already; no other file, no URL, no change of these settings."""
    if location.is_dir():
        folder = location.resolve()
        files = [p.resolve() for p in folder.iterdir() if p.suffix in (".parquet", ".csv")]
        connection.execute(f"SET allowed_directories = [{_literal(str(folder))}]")
        listed = ", ".join(_literal(str(path)) for path in files)
        connection.execute(f"SET allowed_paths = [{listed}]")
    connection.execute("SET enable_external_access = false")
    connection.execute("SET lock_configuration = true")


def open_table(connection: duckdb.DuckDBPyConnection, location: Path, table: str, view: str) -> str:
    """Create ``view`` over the source's ``table``; return how messages name the table.

    Raises:
        DataError: no such table, or its file cannot be read.
    """
    if location.is_dir():
        return _file_view(connection, location, table, view)
    return _table_view(connection, location, table, view)


def connect(spec: LaunchSpec, data_source: str | None = None) -> Source:
    """Open the spec's data (or ``data_source`` instead) and create the contract views.

    Raises:
        DataError: the source, a table or a contract column is missing, or a column has the
            wrong type.
    """
    if warehouse.is_url(data_source or spec.data.source):
        return _connect_warehouse(data_source or spec.data.source, spec)
    if spark.is_spark(data_source or spec.data.source):
        return _connect_spark(spec)
    location = Path(data_source) if data_source else spec.resolve(spec.data.source)
    connection = open_connection(location)
    try:
        units_name = open_table(connection, location, spec.data.units, "raw_units")
        events_name = (
            open_table(connection, location, spec.data.events, "raw_events")
            if spec.data.events and needs_events(spec)
            else None
        )
        renames = spec.data.columns
        required = _UNIT_COLUMNS if spec.design == "experiment" else ("unit_id",)
        unit_columns = _contract_view(
            connection, "raw_units", UNITS_VIEW, units_name, required, renames, spec
        )
        has_value = False
        if events_name is not None:
            event_columns = _contract_view(
                connection, "raw_events", EVENTS_VIEW, events_name, _EVENT_COLUMNS, renames, spec
            )
            has_value = "value" in event_columns
        id_types = {
            table: _id_type(connection, raw, spec)
            for table, raw in (("units", "raw_units"), ("events", "raw_events"))
            if table == "units" or events_name is not None
        }
    except BaseException:
        connection.close()
        raise
    return Source(
        connection, location, units_name, events_name, unit_columns, has_value, id_types=id_types
    )


def needs_events(spec: LaunchSpec) -> bool:
    """Whether any metric or the adoption block reads the events table (a user-level export
    with every metric a column needs none, and its events table may be absent)."""
    return spec.adoption is not None or any(m.events for m in spec.metrics.all())


def _id_type(connection: duckdb.DuckDBPyConnection, raw: str, spec: LaunchSpec) -> str:
    types = {str(row[0]): str(row[1]) for row in connection.execute(f"DESCRIBE {raw}").fetchall()}
    return types.get(spec.data.columns.get("unit_id", "unit_id"), "unknown")


FLOAT_TYPES = ("FLOAT", "DOUBLE", "REAL", "DECIMAL", "NUMERIC", "DOUBLE PRECISION")


def _unit_id_text(column: str, kind: str) -> str:
    """SQL reading a unit id as text; a float id holding a whole number reads as that integer
    (123.0 -> "123"; exact up to 2**53, past it an id stays as written) to join integer ids."""
    if kind.upper().split("(")[0].strip() not in FLOAT_TYPES:
        return f"CAST({column} AS VARCHAR)"
    return (
        f"CASE WHEN {column} = floor({column}) AND abs({column}) < 9007199254740992 "
        f"THEN CAST(CAST({column} AS BIGINT) AS VARCHAR) ELSE CAST({column} AS VARCHAR) END"
    )


def _connect_warehouse(url: str, spec: LaunchSpec) -> Source:
    """The contract views in a PostgreSQL session (see impact/warehouse.py)."""
    _remote_only_for_experiments(spec)
    connection = warehouse.connect(url, spec)
    shown = warehouse.safe(url)
    try:
        columns = _remote_views(
            spec,
            connection,
            shown,
            describe=lambda table: warehouse.describe(connection, table, url),
            select=warehouse.selection,
            reference=lambda table: ".".join(quote(part) for part in table.split(".")),
            create="CREATE TEMP VIEW",
        )
    except BaseException:
        connection.close()
        raise
    return _remote_source(spec, connection, shown, columns, "postgres", url)


def _connect_spark(spec: LaunchSpec) -> Source:
    """The contract views in a Spark session (see impact/spark.py)."""
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
    tables = [(spec.data.units, UNITS_VIEW, _UNIT_COLUMNS)]
    if spec.data.events and needs_events(spec):
        tables.append((spec.data.events, EVENTS_VIEW, _EVENT_COLUMNS))
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


def _literal(text: str) -> str:
    return exp.Literal.string(text).sql("duckdb")


def _file_view(connection: duckdb.DuckDBPyConnection, folder: Path, table: str, view: str) -> str:
    for suffix, reader in ((".parquet", "read_parquet"), (".csv", "read_csv")):
        path = folder / f"{table}{suffix}"
        if path.is_file():
            try:
                connection.execute(
                    f"CREATE VIEW {view} AS SELECT * FROM {reader}({_literal(str(path))})"
                )
                connection.execute(f"SELECT * FROM {view} LIMIT 0")
            except duckdb.Error as error:
                message = str(error).splitlines()[0]
                raise DataError(f"{path}: cannot be read as {suffix[1:]} ({message})") from None
            return str(path)
    present = sorted(p.stem for p in folder.iterdir() if p.suffix in (".parquet", ".csv"))
    raise DataError(
        f"{folder}: no table {table!r} (looked for {table}.parquet and {table}.csv); "
        f"tables here: {', '.join(present) or 'none'}"
    )


def _table_view(connection: duckdb.DuckDBPyConnection, file: Path, table: str, view: str) -> str:
    names = [
        row[0]
        for row in connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'source'"
        ).fetchall()
    ]
    if table not in names:
        raise DataError(
            f"{file}: no table {table!r}; tables here: {', '.join(sorted(names)) or 'none'}"
        )
    connection.execute(f"CREATE VIEW {view} AS SELECT * FROM source.{quote(table)}")
    return f"{file}:{table}"


def _contract_view(
    connection: duckdb.DuckDBPyConnection,
    raw: str,
    view: str,
    name: str,
    required: tuple[str, ...],
    renames: dict[str, str],
    spec: LaunchSpec,
) -> list[str]:
    """Create ``view`` from ``raw`` with contract names and types; return its columns."""
    described = connection.execute(f"DESCRIBE {raw}").fetchall()
    types: dict[str, str] = {str(row[0]): str(row[1]) for row in described}
    contract_of = {theirs: ours for ours, theirs in renames.items() if theirs in types}
    need_exposure = any(m.events for m in spec.metrics.all())
    for column in required:
        theirs = renames.get(column, column)
        if theirs in types:
            continue
        if column == "exposed_at" and not need_exposure:
            continue
        mapped = f" (data.columns maps it to {theirs!r})" if column in renames else ""
        raise DataError(
            f"{name}: no column {theirs!r}{mapped}; the data contract needs "
            f"{', '.join(required)}; columns here: {', '.join(types)}; map yours with "
            f"data.columns, such as columns: {{{column}: your_column}}"
        )
    selects = []
    for theirs, kind in types.items():
        if renames.get(theirs, theirs) != theirs:
            continue  # a contract name that data.columns gives to another column
        ours = contract_of.get(theirs, theirs)
        if ours in _TIME_COLUMNS:
            selects.append(_timestamp(connection, raw, name, theirs, ours, kind))
        elif ours == "value" and view == EVENTS_VIEW:
            if not is_numeric(kind):
                raise DataError(
                    f"{name}: column {theirs!r} is {kind}; value must be numeric (revenue, "
                    "minutes, ...)"
                )
            selects.append(f"CAST({quote(theirs)} AS DOUBLE) AS value")
        elif ours == "unit_id":
            selects.append(f"{_unit_id_text(quote(theirs), kind)} AS {quote(ours)}")
        elif ours in ("variant", "event"):
            selects.append(f"CAST({quote(theirs)} AS VARCHAR) AS {quote(ours)}")
        else:
            selects.append(f"{quote(theirs)} AS {quote(ours)}")
    connection.execute(f"CREATE VIEW {view} AS SELECT {', '.join(selects)} FROM {raw}")
    return [row[0] for row in connection.execute(f"DESCRIBE {view}").fetchall()]


_TIME_COLUMNS = ("exposed_at", "ts")


def is_numeric(kind: str) -> bool:
    return kind.upper().split("(")[0] in (
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "FLOAT",
        "DOUBLE",
        "DECIMAL",
        "REAL",
    )


def _timestamp(
    connection: duckdb.DuckDBPyConnection, raw: str, name: str, theirs: str, ours: str, kind: str
) -> str:
    column = quote(theirs)
    if "TIME ZONE" in kind.upper():
        # Explicit conversion: a plain CAST inside a view can keep the wall-clock time.
        return f"timezone('UTC', {column}) AS {quote(ours)}"
    if kind.upper() in _TIME_TYPES:
        return f"CAST({column} AS TIMESTAMP) AS {quote(ours)}"
    if kind.upper() != "VARCHAR":
        raise DataError(
            f"{name}: column {theirs!r} is {kind}; {ours} must be a timestamp such as "
            "2026-09-01 12:00:00 (UTC) or 2026-09-01T12:00:00+02:00"
        )
    bad = connection.execute(
        f"SELECT {column}, count(*) OVER () FROM {raw} "
        f"WHERE {column} IS NOT NULL AND TRY_CAST({column} AS TIMESTAMPTZ) IS NULL LIMIT 1"
    ).fetchone()
    if bad is not None:
        raise DataError(
            f"{name}: column {theirs!r} has {bad[1]} values that are not timestamps, such as "
            f"{bad[0]!r}; write ISO timestamps such as 2026-09-01 12:00:00"
        )
    return f"timezone('UTC', CAST({column} AS TIMESTAMPTZ)) AS {quote(ours)}"


# --------------------------------------------------------------------------- contract


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
    if spec.adoption is not None:
        _check_adoption_events(source, spec)


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
    except duckdb.Error as error:
        raise SpecError(
            f"{spec.path}: data.segment: {spec.data.segment!r} fails on the units table "
            f"({str(error).splitlines()[0]})"
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
