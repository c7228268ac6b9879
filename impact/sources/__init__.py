"""Where a review's data come from, and the contract they must keep.

- ``source``: the ``Source`` every engine gives (the contract views over a connection);
- ``duckdb_files``: DuckDB in-process over Parquet/CSV files or a ``.duckdb`` file (the default);
- ``postgres`` and ``spark``: the same views in a warehouse's own SQL (``remote`` builds them);
- ``contract``: the checks before any statistic, and the unit filter every query shares.

``connect`` picks the engine from ``data.source`` (or the source given instead).
"""

from __future__ import annotations

from pathlib import Path

from impact.sources import duckdb_files, postgres, remote, spark
from impact.sources.source import Source
from impact.spec import LaunchSpec

__all__ = ["connect", "is_remote"]


def is_remote(where: str) -> bool:
    """Whether a data source is a remote engine (a PostgreSQL URL or ``spark``)."""
    return postgres.is_url(where) or spark.is_spark(where)


def connect(spec: LaunchSpec, data_source: str | None = None) -> Source:
    """Open the spec's data (or ``data_source`` instead) and create the contract views.

    Raises:
        DataError: the source, a table or a contract column is missing, or a column has the
            wrong type.
    """
    where = data_source or spec.data.source
    if is_remote(where):
        return remote.connect(where, spec)
    location = Path(data_source) if data_source else spec.resolve(spec.data.source)
    return duckdb_files.connect(spec, location)
