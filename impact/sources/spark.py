"""A Spark data source: the same contract views and metric query, in Spark SQL, via PySpark.

``data.source: spark`` runs the review where Spark can read the data: ``data.units`` and
``data.events`` are tables of the Spark catalog, or Parquet files or folders (a name ending
in ``.parquet``, or a path, relative to the spec). Spark's settings come from the environment,
as for any PySpark program: ``IMPACT_SPARK_MASTER`` (default ``local[*]``), and
``spark-defaults.conf`` in ``SPARK_CONF_DIR`` or ``PYSPARK_SUBMIT_ARGS`` for the rest (a
cluster's master, credentials, executors). The session runs in UTC and time columns become
``TIMESTAMP_NTZ`` in UTC. Only the per-arm sums per day of exposure are collected (plain
``collect()``, no pandas); no unit-level row leaves the cluster.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from impact.errors import DataError

__all__ = ["SOURCE", "Connection", "connect", "is_numeric", "is_spark", "table_reference"]

SOURCE = "spark"
_TIME = ("timestamp", "timestamp_ntz", "date")
_NUMERIC = ("tinyint", "smallint", "int", "bigint", "float", "double")


def is_spark(source: str) -> bool:
    """Whether a data source names Spark."""
    return source.strip().lower() == SOURCE


def is_numeric(kind: str) -> bool:
    """Whether a Spark type (as DESCRIBE names it) is a number."""
    return kind.lower().startswith(("decimal", *_NUMERIC))


class Cursor:
    """Collected rows with a DB-API-like face (``description``, ``fetchone``, ``fetchall``)."""

    def __init__(self, frame: Any) -> None:
        rows = frame.collect()
        self.description = [(name,) for name in frame.columns]
        self._rows = [tuple(row) for row in rows]

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self._rows)


class Connection:
    """A Spark session behind the small connection interface the review uses."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def execute(self, sql: str) -> Cursor:
        """Run Spark SQL and collect the result."""
        return Cursor(self.session.sql(sql))

    def close(self) -> None:
        """Drop the review's views; the session stays for the next review in the process."""
        for table in self.session.catalog.listTables():
            if table.isTemporary:
                self.session.catalog.dropTempView(table.name)


def connect() -> Connection:
    """The process's Spark session, in UTC.

    Raises:
        DataError: PySpark or Java is missing, or the session does not start.
    """
    try:
        with warnings.catch_warnings():  # PySpark warns about versions it has not tried
            warnings.simplefilter("ignore")
            from pyspark.sql import SparkSession
    except ImportError:
        raise DataError(
            "data.source: spark needs PySpark; install it with pip install pyspark (and Java 17)"
        ) from None
    master = os.environ.get("IMPACT_SPARK_MASTER", "local[*]")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            session = (
                SparkSession.builder.master(master)
                .appName("impact")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .getOrCreate()
            )
    except Exception as error:  # the JVM's errors arrive as many classes
        reason = " ".join(str(error).split())[:300]
        raise DataError(f"data.source: spark: the Spark session did not start ({reason})") from None
    session.sparkContext.setLogLevel("ERROR")
    return Connection(session)


def table_reference(name: str, base: Path) -> str:
    """A FROM clause for a catalog table or a Parquet file or folder (relative to ``base``)."""
    if name.endswith(".parquet") or "/" in name:
        path = (base / name).resolve()
        if not path.exists():
            raise DataError(f"{path}: no such Parquet file or folder for data.source: spark")
        return "parquet.`" + str(path).replace("`", "``") + "`"
    return ".".join("`" + part.replace("`", "``") + "`" for part in name.split("."))


def selection(column: str, ours: str, kind: str, where: str) -> str:
    """The contract column ``ours`` from Spark's ``column`` of type ``kind``."""
    quoted = "`" + column.replace("`", "``") + "`"
    alias = "`" + ours + "`"
    kind = kind.lower()
    if ours in ("exposed_at", "ts"):
        if kind in _TIME:
            return f"CAST({quoted} AS TIMESTAMP_NTZ) AS {alias}"
        if kind == "string":
            return f"CAST(CAST({quoted} AS TIMESTAMP) AS TIMESTAMP_NTZ) AS {alias}"
        raise DataError(f"{where}: column {column!r} is {kind}; {ours} must be a timestamp")
    if ours == "value":
        if not kind.startswith(("decimal", *_NUMERIC)):
            raise DataError(f"{where}: column {column!r} is {kind}; value must be numeric")
        return f"CAST({quoted} AS DOUBLE) AS {alias}"
    if ours == "unit_id" and kind.startswith(("double", "float", "decimal")):
        # a whole-number float id reads as that integer (123.0 -> "123"), as on DuckDB
        return (
            f"CASE WHEN {quoted} = floor({quoted}) AND abs({quoted}) < 9007199254740992 "
            f"THEN CAST(CAST({quoted} AS BIGINT) AS STRING) ELSE CAST({quoted} AS STRING) END "
            f"AS {alias}"
        )
    if ours in ("unit_id", "variant", "event"):
        return f"CAST({quoted} AS STRING) AS {alias}"
    return f"{quoted} AS {alias}"
