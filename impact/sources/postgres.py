"""A PostgreSQL data source: the same contract views, built in the warehouse's own SQL.

``data.source: postgresql://user@host:5432/analytics`` (any SQLAlchemy URL for PostgreSQL)
reads the spec's ``units`` and ``events`` tables (``schema.table`` names work) where they
live. The session runs in UTC; the contract is two temporary views, ``impact_units`` and
``impact_events``, with the contract's names and types, so the metric query (sqlglot,
rendered for PostgreSQL) and the data checks run there and only per-arm sums per day of
exposure come back. Sums are exact (``NUMERIC``), as DuckDB's are, so a review gives the same
numbers on either engine.
"""

from __future__ import annotations

import difflib
import hashlib
from typing import TYPE_CHECKING, Any

from impact.errors import DataError, SpecError
from impact.spec import LaunchSpec

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

__all__ = [
    "SCHEMES",
    "connect",
    "describe",
    "fingerprint",
    "is_numeric",
    "is_url",
    "parse",
    "safe",
    "selection",
]

SCHEMES = ("postgresql", "postgres")
_TIME = ("timestamp without time zone", "date")
_NUMERIC = ("smallint", "integer", "bigint", "numeric", "real", "double precision")


def is_url(source: str) -> bool:
    """Whether a data source is a URL rather than a path."""
    return "://" in source


def is_numeric(kind: str) -> bool:
    """Whether a PostgreSQL type (as information_schema names it) is a number."""
    return kind in _NUMERIC


def safe(url: str) -> str:
    """The URL with its password hidden, for messages and the report (a path as it is)."""
    if not is_url(url):
        return url
    from sqlalchemy.engine import make_url  # here: 0.1 s to import, for URLs only
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        return url.split("://")[0] + "://..."


def parse(url: str, where: str) -> URL:
    """A PostgreSQL URL, or a SpecError saying what would be right."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise SpecError(
            f"{where}: {safe(url)!r} is not a database URL; write "
            "postgresql://user@host:5432/database"
        ) from None
    if parsed.get_backend_name() not in SCHEMES:
        raise SpecError(
            f"{where}: {parsed.get_backend_name()} is not supported; data.source takes a "
            "folder, a .duckdb file or a postgresql:// URL"
        )
    return parsed


def connect(url: str, spec: LaunchSpec) -> Any:
    """An autocommit psycopg connection in UTC.

    Raises:
        DataError: the server cannot be reached or refuses the login.
    """
    import psycopg
    from psycopg.conninfo import make_conninfo

    parsed = parse(url, f"{spec.path}: data.source")
    options = {
        "host": parsed.host,
        "port": parsed.port,
        "user": parsed.username,
        "password": parsed.password,
        "dbname": parsed.database,
        **{key: str(value) for key, value in parsed.query.items()},
    }
    conninfo = make_conninfo(**{k: str(v) for k, v in options.items() if v is not None})
    try:
        connection = psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
    except psycopg.Error as error:
        reason = " ".join(str(error).split())
        raise DataError(
            f"{safe(url)}: cannot connect ({reason}); check data.source and that the server is up"
        ) from None
    connection.execute("SET TIME ZONE 'UTC'")
    return connection


def describe(connection: Any, table: str, url: str) -> dict[str, str]:
    """The table's columns and their types; DataError naming the tables there when missing."""
    schema, _, name = table.rpartition(".")
    rows = connection.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = %s AND (%s = '' AND table_schema = ANY(current_schemas(false)) "
        "OR table_schema = %s) ORDER BY ordinal_position",
        (name, schema, schema),
    ).fetchall()
    if not rows:
        raise DataError(f"{safe(url)}: no table {table!r}; {_tables_instead(connection, table)}")
    return {str(column): str(kind) for column, kind in rows}


def _tables_instead(connection: Any, table: str) -> str:
    """The table meant: a near name in the schema named (or among every table without a
    schema), the same name in another schema, or else the tables there are."""
    schema, _, name = table.rpartition(".")
    found = connection.execute(
        "SELECT table_schema, table_name, table_schema = ANY(current_schemas(false)) "
        "FROM information_schema.tables "
        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
    ).fetchall()
    # how a spec names each table: schema.table, or the bare name on the search path
    named = {(s, t): t if on_path and not schema else f"{s}.{t}" for s, t, on_path in found}
    candidates = [key for key in named if not schema or key[0] == schema]
    near = difflib.get_close_matches(name, [t for _, t in candidates], n=1)
    same = [key for key in named if key[1] == name]
    if near:
        return f"did you mean {named[next(k for k in candidates if k[1] == near[0])]}?"
    if same:
        return f"did you mean {named[same[0]]}?"
    if schema:
        listed = [t for s, t, _ in found if s == schema]
        return f"tables in schema {schema}: {', '.join(listed) or 'none'}"
    listed = [t for _, t, on_path in found if on_path]
    return f"tables here: {', '.join(listed) or 'none'} (write schema.table for another schema)"


def selection(column: str, ours: str, kind: str, where: str) -> str:
    """The contract column ``ours`` from the warehouse's ``column`` of type ``kind``."""
    quoted = '"' + column.replace('"', '""') + '"'
    alias = '"' + ours + '"'
    if ours in ("exposed_at", "ts"):
        if kind == "timestamp with time zone":
            return f"({quoted} AT TIME ZONE 'UTC') AS {alias}"
        if kind in _TIME:
            return f"CAST({quoted} AS TIMESTAMP) AS {alias}"
        if kind in ("text", "character varying"):  # ISO text, read as DuckDB reads it: UTC
            # unless it names its offset (the session's time zone is UTC); a value that is not
            # a timestamp is the server's own one-line error when the view is read
            return f"(CAST({quoted} AS timestamptz) AT TIME ZONE 'UTC') AS {alias}"
        raise DataError(
            f"{where}: column {column!r} is {kind}; {ours} must be a timestamp such as "
            "2026-09-01 12:00:00 (UTC)"
        )
    if ours == "value":
        if kind not in _NUMERIC:
            raise DataError(f"{where}: column {column!r} is {kind}; value must be numeric")
        return f"CAST({quoted} AS DOUBLE PRECISION) AS {alias}"
    if ours == "unit_id" and kind in ("double precision", "real", "numeric"):
        # a whole-number float id reads as that integer (123.0 -> "123"), as on DuckDB
        return (
            f"CASE WHEN {quoted} = floor({quoted}) AND abs({quoted}) < 9007199254740992 "
            f"THEN CAST(CAST({quoted} AS BIGINT) AS TEXT) ELSE CAST({quoted} AS TEXT) END "
            f"AS {alias}"
        )
    if ours in ("unit_id", "variant", "event"):
        return f"CAST({quoted} AS TEXT) AS {alias}"
    return f"{quoted} AS {alias}"


def fingerprint(connection: Any, url: str, views: list[str]) -> str:
    """What tells the warehouse's data apart: rows and newest time of each view, hashed."""
    digest = hashlib.sha256(safe(url).encode())
    for view in views:
        row = connection.execute(f"SELECT count(*) FROM {view}").fetchone()
        digest.update(f"{view}:{row[0] if row else 0};".encode())
    if "impact_events" in views:
        newest = connection.execute("SELECT max(ts) FROM impact_events").fetchone()
        digest.update(f"newest:{newest[0] if newest else None}".encode())
    return digest.hexdigest()
