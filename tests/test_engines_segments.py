"""Segments and rollout stages give equal numbers on DuckDB, PostgreSQL and Spark.

The demo launch with two registered segment columns (platform, country) and two rollout
stages (the demo's split is even throughout, so both stages are 50/50) is reviewed on each
engine; every number of verdict.json must be equal, segment cells and phases included, and a
team cell's frames.query returns the same table.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import demo_launch, replaced, verdict_numbers
from test_warehouse import BINARIES, _load, server  # noqa: F401 (server: a fixture)

from impact import frames, review

TODAY = "2026-11-26"
STAGED = """
segments: [platform, {column: country, min_units: 200}]
rollout:
  - {start: 2026-09-01, split: {control: 0.5, treatment: 0.5}}
  - {start: 2026-09-08, split: {control: 0.5, treatment: 0.5}}
"""


def _staged(root: Path) -> Path:
    local = demo_launch(root, units=4_000)
    local.write_text(local.read_text() + STAGED)
    return local


# a team's cell (frames.query): DuckDB's SQL over the contract views, on every engine
QUERY = """
SELECT u.variant, u.platform, e.event, count(*) AS events, count(DISTINCT u.unit_id) AS units,
       sum(e.value) AS total
FROM impact_units AS u JOIN impact_events AS e ON e.unit_id = u.unit_id
WHERE e.ts < TIMESTAMP '2026-10-01 00:00:00'
GROUP BY u.variant, u.platform, e.event
ORDER BY u.variant, u.platform, e.event
"""


def _equal(local: Path, remote: Path) -> dict:
    duckdb_result = review.run(str(local), "56d", TODAY)
    remote_result = review.run(str(remote), "56d", TODAY)
    on_duckdb, on_remote = duckdb_result.to_json(), remote_result.to_json()
    mine, theirs_rows = frames.query(remote_result, QUERY), frames.query(duckdb_result, QUERY)
    assert len(theirs_rows) > 10 and list(mine.columns) == list(theirs_rows.columns)
    pd.testing.assert_frame_equal(
        mine.astype({"events": int, "units": int, "total": float}),
        theirs_rows.astype({"events": int, "units": int, "total": float}),
        rtol=1e-12,
    )
    ours, theirs = verdict_numbers(on_remote), verdict_numbers(on_duckdb)
    assert {k: (v, theirs.get(k)) for k, v in ours.items() if theirs.get(k) != v} == {}
    assert ours.keys() == theirs.keys()
    assert len(on_duckdb["phases"]) == 2
    assert {c["column"] for c in on_duckdb["segments"]} == {"platform", "country"}
    return on_duckdb


@pytest.mark.skipif(not BINARIES, reason="PostgreSQL is missing: run `make test`")
def test_postgres_segments_and_stages_equal_duckdb(server: str, tmp_path: Path) -> None:  # noqa: F811
    local = _staged(tmp_path)
    _load(server, tmp_path / "data" / "demo", "staged")
    remote = local.with_name("warehouse.yaml")
    remote.write_text(
        replaced(
            local.read_text(),
            ("source: ../data/demo", f"source: {server}"),
            ("units: units", "units: staged.users\n  columns: {unit_id: user_id}"),
            ("events: events", "events: staged.events"),
        )
    )
    payload = _equal(local, remote)
    assert any(c["value"] == "other" for c in payload["segments"])  # small countries pooled


@pytest.mark.skipif(shutil.which("java") is None, reason="Java is missing: run `make test`")
def test_spark_segments_and_stages_equal_duckdb(tmp_path: Path) -> None:
    local = _staged(tmp_path)
    remote = local.with_name("spark.yaml")
    remote.write_text(
        replaced(
            local.read_text(),
            ("source: ../data/demo", "source: spark"),
            ("units: units", "units: ../data/demo/units.parquet"),
            ("events: events", "events: ../data/demo/events.parquet"),
        )
    )
    _equal(local, remote)
