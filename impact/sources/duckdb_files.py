"""DuckDB in-process over a folder of Parquet/CSV files or a ``.duckdb`` file (the default).

A table is a file named ``<table>.parquet`` or ``<table>.csv`` in the folder, or a table of
the ``.duckdb`` file. Every session runs in UTC; naive timestamps are read as UTC and aware
ones converted to it. The session reads only the data: no other file, no URL, no extension
fetched on demand.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from impact.errors import DataError
from impact.sources.source import (
    EVENT_COLUMNS,
    EVENTS_VIEW,
    FLOAT_TYPES,
    MEMORY_LIMIT,
    UNIT_COLUMNS,
    UNITS_VIEW,
    Source,
    is_numeric,
    literal,
    needs_events,
    quote,
)
from impact.spec import LaunchSpec

__all__ = [
    "MEMORY_LIMIT",
    "check_memory_setting",
    "connect",
    "default_memory_limit",
    "open_connection",
    "open_table",
    "share_databases",
]

_TIME_TYPES = ("TIMESTAMP", "DATE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")
_TIME_COLUMNS = ("exposed_at", "ts")
_SHARED: list[bool] = []  # share_databases() was called in this process
# The shared databases: (source, memory limit setting) -> (database, its files when opened).
_databases: dict[tuple[str, str], tuple[duckdb.DuckDBPyConnection, tuple[Any, ...]]] = {}


_DEMO_DATA = {  # the folder each demo spec reads, and the command that writes it
    "demo": "impact demo",
    "demo-prepost": "impact demo --design prepost",
    "demo-adoption": "impact demo --design adoption",
    "demo-rollout": "impact demo --design rollout",
}


def open_connection(location: Path) -> duckdb.DuckDBPyConnection:
    """A UTC DuckDB session over a data source (a .duckdb file is attached as ``source``).

    Once ``share_databases`` was called (``impact run --due``), the session is a new
    connection (a cursor) to this process's one database for the source, opened on first
    use: its views are the session's own (temporary), and a database that a review left
    anything in, or whose files changed, is replaced by a fresh one.

    Raises:
        DataError: the source does not exist or is neither a folder nor a .duckdb file.
    """
    if not location.exists():
        demo = _DEMO_DATA.get(location.name)
        hint = f"run `{demo}` for the demo data, or " if demo else ""
        raise DataError(
            f"{location}: data.source does not exist; {hint}fix data.source in the spec"
        )
    if not location.is_dir() and location.suffix not in (".duckdb", ".db"):
        raise DataError(
            f"{location}: data.source must be a folder of Parquet/CSV files or a .duckdb file"
        )
    if not _SHARED:
        return _new_database(location)
    key = (str(location.absolute()), os.environ.get(MEMORY_LIMIT, ""))
    state = _files(location)
    kept = _databases.get(key)
    if kept is not None and (kept[1] != state or not _untouched(kept[0])):
        del _databases[key]
        with contextlib.suppress(duckdb.Error):
            kept[0].close()
        kept = None
    if kept is None:
        kept = (_new_database(location), state)
        _databases[key] = kept
    return kept[0].cursor()


def share_databases() -> None:
    """From now on, reviews in this process share one DuckDB database per data source
    (opening one costs 50-150 ms: DuckDB registers its functions and starts its threads)."""
    if not _SHARED:
        _SHARED.append(True)


def _files(location: Path) -> tuple[tuple[str, int, int], ...]:
    """What the source's files are now (name, size, modification time)."""
    paths = sorted(location.iterdir()) if location.is_dir() else [location]
    return tuple(
        (p.name, p.stat().st_size, p.stat().st_mtime_ns)
        for p in paths
        if p.is_file() and (p.suffix in (".parquet", ".csv") or p == location)
    )


def _untouched(database: duckdb.DuckDBPyConnection) -> bool:
    """No review left a table, view, macro, sequence or type in the shared database."""
    try:
        left = database.execute(
            "SELECT (SELECT count(*) FROM duckdb_tables() WHERE database_name = 'memory') "
            "+ (SELECT count(*) FROM duckdb_views() WHERE NOT internal AND database_name = "
            "'memory') + (SELECT count(*) FROM duckdb_functions() WHERE NOT internal AND "
            "database_name = 'memory') + (SELECT count(*) FROM duckdb_sequences() WHERE "
            "database_name = 'memory') + (SELECT count(*) FROM duckdb_types() WHERE NOT "
            "internal AND database_name = 'memory')"
        ).fetchone()
    except duckdb.Error:
        return False
    return left is not None and left[0] == 0


def _new_database(location: Path) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB database over the source, its settings locked."""
    # No extension is ever fetched or loaded on demand: a URL in a query must not make DuckDB
    # download code from the network.
    connection = duckdb.connect(
        ":memory:",
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )
    connection.execute("SET TimeZone = 'UTC'")
    limit = os.environ.get(MEMORY_LIMIT, "").strip() or f"{default_memory_limit(location)}MiB"
    try:
        _set_memory_limit(connection, limit)
    except DataError:
        connection.close()
        raise
    # Past its memory limit DuckDB spills to disk: here, not to a .tmp folder in the
    # user's current directory (its default for an in-memory database).
    spill = Path(tempfile.gettempdir()) / f"impact-duckdb-{os.getpid()}"
    connection.execute(f"SET temp_directory = {literal(str(spill))}")
    if not location.is_dir():
        connection.execute(f"ATTACH {literal(str(location))} AS source (READ_ONLY)")
    _close_external_access(connection, location)
    return connection


def check_memory_setting() -> None:
    """Refuse an ``IMPACT_DUCKDB_MEMORY_LIMIT`` DuckDB cannot read before any review runs
    (``impact run --due``), as each review's connection would.

    Raises:
        DataError: the setting is not a memory size.
    """
    limit = os.environ.get(MEMORY_LIMIT, "").strip()
    if limit:
        with duckdb.connect(":memory:") as probe:
            _set_memory_limit(probe, limit)


def _set_memory_limit(connection: duckdb.DuckDBPyConnection, limit: str) -> None:
    try:
        if limit.startswith("-"):  # DuckDB reads a negative size as no limit at all
            raise duckdb.InvalidInputException(limit)
        connection.execute(f"SET memory_limit = {literal(limit)}")
    except duckdb.Error:
        raise DataError(
            f"{MEMORY_LIMIT}={limit!r} is not a memory size; write one such as 1GB"
        ) from None


def default_memory_limit(location: Path, *, memory: int | None = None) -> int:
    """DuckDB's memory limit for a review, in MiB, when ``IMPACT_DUCKDB_MEMORY_LIMIT`` is unset.

    Sized from the data and the machine: 768 MiB plus a quarter of the data's size on disk,
    at most 1 GiB and at most a quarter of the machine's memory (``memory``, in bytes; the
    machine's own when None), never under 256 MiB. Past the limit DuckDB spills its per-unit
    hash table to disk, so 9.4M units stay near 1 GB instead of 3.2 GB; a review of 10.8M
    events never reaches it (docs/performance.md).

    Examples:
        >>> default_memory_limit(Path("nowhere"), memory=16 * 2**30)
        768
        >>> default_memory_limit(Path("nowhere"), memory=2 * 2**30)
        512
    """
    if memory is None:
        try:
            memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):  # not every system tells
            memory = 4 * 2**30
    size = 0
    if location.is_dir():
        size = sum(p.stat().st_size for p in location.iterdir() if p.suffix in (".parquet", ".csv"))
    elif location.is_file():
        size = location.stat().st_size
    mib = 2**20
    wanted = min(768 + size // 4 // mib, 1024)
    return max(256, min(wanted, memory // 4 // mib))


def _close_external_access(connection: duckdb.DuckDBPyConnection, location: Path) -> None:
    """From here on the session reads only the data: the folder's own files (DuckDB resolves
    symbolic links, so a table file linked from elsewhere is allowed by its target), or the
    .duckdb file attached already; no other file, no URL, no change of these settings."""
    if location.is_dir():
        folder = location.resolve()
        files = [p.resolve() for p in folder.iterdir() if p.suffix in (".parquet", ".csv")]
        connection.execute(f"SET allowed_directories = [{literal(str(folder))}]")
        listed = ", ".join(literal(str(path)) for path in files)
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


def connect(spec: LaunchSpec, location: Path) -> Source:
    """Open a folder of files or a .duckdb file and create the contract views.

    Raises:
        DataError: the source, a table or a contract column is missing, or a column has the
            wrong type.
    """
    connection = open_connection(location)
    try:
        units_name = open_table(connection, location, spec.data.units, "raw_units")
        events_name = (
            open_table(connection, location, spec.data.events, "raw_events")
            if spec.data.events and needs_events(spec)
            else None
        )
        renames = spec.data.columns
        required = UNIT_COLUMNS if spec.design == "experiment" else ("unit_id",)
        unit_columns = _contract_view(
            connection, "raw_units", UNITS_VIEW, units_name, required, renames, spec
        )
        has_value = False
        if events_name is not None:
            event_columns = _contract_view(
                connection, "raw_events", EVENTS_VIEW, events_name, EVENT_COLUMNS, renames, spec
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


def _id_type(connection: duckdb.DuckDBPyConnection, raw: str, spec: LaunchSpec) -> str:
    types = {str(row[0]): str(row[1]) for row in connection.execute(f"DESCRIBE {raw}").fetchall()}
    return types.get(spec.data.columns.get("unit_id", "unit_id"), "unknown")


def _unit_id_text(column: str, kind: str) -> str:
    """SQL reading a unit id as text; a float id holding a whole number reads as that integer
    (123.0 -> "123"; exact up to 2**53, past it an id stays as written) to join integer ids."""
    if kind.upper().split("(")[0].strip() not in FLOAT_TYPES:
        return f"CAST({column} AS VARCHAR)"
    return (
        f"CASE WHEN {column} = floor({column}) AND abs({column}) < 9007199254740992 "
        f"THEN CAST(CAST({column} AS BIGINT) AS VARCHAR) ELSE CAST({column} AS VARCHAR) END"
    )


def _file_view(connection: duckdb.DuckDBPyConnection, folder: Path, table: str, view: str) -> str:
    for suffix, reader in ((".parquet", "read_parquet"), (".csv", "read_csv")):
        path = folder / f"{table}{suffix}"
        if path.is_file():
            try:
                connection.execute(
                    f"CREATE TEMP VIEW {view} AS SELECT * FROM {reader}({literal(str(path))})"
                )
                connection.execute(f"SELECT * FROM {view} LIMIT 0")
            except duckdb.Error as error:
                message = str(error).splitlines()[0]
                raise DataError(f"{path}: cannot be read as {suffix[1:]} ({message})") from None
            return str(path)
    present = sorted(p.stem for p in folder.iterdir() if p.suffix in (".parquet", ".csv"))
    stem, suffix = os.path.splitext(table)
    hint = (
        f"; name the table without its extension ({stem!r})"
        if suffix in (".parquet", ".csv") and stem in present
        else ""
    )
    raise DataError(
        f"{folder}: no table {table!r} (looked for {table}.parquet and {table}.csv); "
        f"tables here: {', '.join(present) or 'none'}{hint}"
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
    connection.execute(f"CREATE TEMP VIEW {view} AS SELECT * FROM source.{quote(table)}")
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
    connection.execute(f"CREATE TEMP VIEW {view} AS SELECT {', '.join(selects)} FROM {raw}")
    return [row[0] for row in connection.execute(f"DESCRIBE {view}").fetchall()]


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
            f"{name}: column {theirs!r} has {bad[1]:,} values that are not timestamps, such as "
            f"{bad[0]!r}; write ISO timestamps such as 2026-09-01 12:00:00"
        )
    return f"timezone('UTC', CAST({column} AS TIMESTAMPTZ)) AS {quote(ours)}"
