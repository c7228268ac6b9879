"""What every data source gives a review: the contract views over an open connection.

The contract (names after ``data.columns`` renames):

- units: ``unit_id``, ``variant``, ``exposed_at`` and any attributes (one row per unit);
- events: ``unit_id``, ``event``, ``ts`` and optionally ``value``.

Each engine (impact/sources/duckdb_files.py, postgres.py, spark.py) exposes the contract as
two views, ``impact_units`` and ``impact_events``, that the metric SQL reads; every session
runs in UTC.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from impact.errors import DataError, ReviewFailed
from impact.sources import postgres
from impact.spec import LaunchSpec

__all__ = [
    "EVENTS_VIEW",
    "EVENT_COLUMNS",
    "FLOAT_TYPES",
    "MEMORY_LIMIT",
    "UNITS_VIEW",
    "UNIT_COLUMNS",
    "Source",
    "fingerprint",
    "interrupt",
    "interruptible",
    "is_numeric",
    "literal",
    "needs_events",
    "quote",
    "unreadable",
]

UNITS_VIEW = "impact_units"
EVENTS_VIEW = "impact_events"
UNIT_COLUMNS = ("unit_id", "variant", "exposed_at")
EVENT_COLUMNS = ("unit_id", "event", "ts")
FLOAT_TYPES = ("FLOAT", "DOUBLE", "REAL", "DECIMAL", "NUMERIC", "DOUBLE PRECISION")


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
    location: Path | str
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
        if self.dialect == "postgres":
            import psycopg

            try:
                return self.connection.execute(sql)
            except psycopg.DataError as error:  # a value the server cannot read, such as a
                # text timestamp that is not one: the data are wrong, said in one line
                raise unreadable(postgres.safe(self.url or ""), error) from None
        if self.dialect != "duckdb":
            return self.connection.execute(sql)
        return interruptible(self.connection, sql)

    def fingerprint(self) -> str:
        """The sha256 of the tables' files (names and contents), to tell data apart; for a
        warehouse, of its tables' row counts and newest event."""
        if self.url is not None:
            views = [UNITS_VIEW] + ([EVENTS_VIEW] if self.events_name else [])
            return postgres.fingerprint(self.connection, self.url, views)
        return fingerprint(Path(self.location))


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


_RUNNING: dict[int, duckdb.DuckDBPyConnection] = {}  # another thread's query, by thread id


def interrupt(thread: threading.Thread) -> None:
    """Interrupt the DuckDB query ``thread`` runs through ``interruptible``, if any (the work
    of ``impact.ahead``; a query of the main thread is stopped by its signal)."""
    connection = _RUNNING.get(thread.ident or -1)
    if connection is not None:
        connection.interrupt()


MEMORY_LIMIT = "IMPACT_DUCKDB_MEMORY_LIMIT"  # e.g. 2GB or 80%: overrides the default


def interruptible(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: list[object] | None = None
) -> Any:
    """``connection.execute(sql, parameters)``, stopped at once by Ctrl-C or SIGTERM (see
    ``_stoppable``), and out of memory said in one line that names the setting."""
    try:
        return _stoppable(connection, sql, parameters)
    except duckdb.OutOfMemoryException:
        raise _out_of_memory(connection) from None


def _out_of_memory(connection: duckdb.DuckDBPyConnection) -> DataError | ReviewFailed:
    """DuckDB ran out of memory within its limit: the user's setting is too small (bad
    input), or the default sized from the machine and the data was (a failure)."""
    row = connection.execute("SELECT current_setting('memory_limit')").fetchone()
    limit = row[0] if row else "its limit"
    setting = os.environ.get(MEMORY_LIMIT, "").strip()
    if setting:
        return DataError(
            f"DuckDB ran out of memory within {MEMORY_LIMIT}={setting!r} ({limit}); raise it, "
            "such as 4GB, or unset it to size the limit from the machine and the data"
        )
    return ReviewFailed(
        f"DuckDB ran out of memory within its limit of {limit}, sized from the machine and "
        f"the data; set {MEMORY_LIMIT} higher, such as 4GB"
    )


def _stoppable(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: list[object] | None
) -> Any:
    """``connection.execute(sql, parameters)``, stopped at once by Ctrl-C or SIGTERM.

    DuckDB looks at signals only now and then while it runs (a SIGTERM in the middle of a
    15-second query took 15 s, and came back as a RuntimeError rather than an interrupt). The
    query runs on a helper thread instead, so that this thread takes the signal, interrupts
    DuckDB and raises KeyboardInterrupt.
    """
    if threading.current_thread() is not threading.main_thread():
        # signals only ever reach the main thread; it stops this query through ``interrupt``
        ident = threading.get_ident()
        _RUNNING[ident] = connection
        try:
            return connection.execute(sql, parameters)
        finally:
            _RUNNING.pop(ident, None)
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


def needs_events(spec: LaunchSpec) -> bool:
    """Whether any metric or the adoption block reads the events table (a user-level export
    with every metric a column needs none, and its events table may be absent)."""
    return spec.adoption is not None or any(m.events for m in spec.metrics.all())


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


def literal(text: str) -> str:
    return exp.Literal.string(text).sql("duckdb")


BRIEF = 300  # characters of an engine's own error kept in a message


def unreadable(where: str, error: Exception) -> DataError:
    """The one line for a table or query the engine refused: what would be right when it
    is known, else the engine's own words, cut where a sentence ends."""
    # PostgreSQL's own words without the lines it adds (CONTEXT: parallel worker, ...)
    primary = getattr(getattr(error, "diag", None), "message_primary", None)
    text = " ".join(str(primary or error).split())
    if "TABLE_OR_VIEW_NOT_FOUND" in text:
        return DataError(
            f"{where}: no such table or view in Spark's catalog; name a catalog table "
            "(schema.table) or a Parquet file or folder (a path relative to the spec)"
        )
    if not text:
        return DataError(f"{where}: cannot be read ({type(error).__name__})")
    if len(text) > BRIEF:
        kept = text[:BRIEF]
        end = kept.find(". ", 10)
        text = kept[: end + 1] if end > 0 else kept.rsplit(" ", 1)[0] + " ..."
    return DataError(f"{where}: cannot be read ({text})")
