"""The same review through PySpark (Spark's local mode) and on DuckDB: identical numbers.

Spark needs Java (`make test` installs Debian's default-jre-headless when it is missing). The
session starts once per process (about 6 s) and runs in UTC.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    demo_launch,
    design_launches,
    elsewhere,
    replaced,
    verdict_numbers,
    with_adoption,
)

from impact import review, runner, sources, spec
from impact.errors import DataError
from impact.sources import contract

TODAY = "2026-11-26"

pytestmark = pytest.mark.skipif(
    shutil.which("java") is None, reason="Java is missing: run `make test`, which installs it"
)


@pytest.fixture(scope="module")
def launches(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo launch twice: on DuckDB, and through Spark over the same Parquet files."""
    root = tmp_path_factory.mktemp("spark")
    local = demo_launch(root, units=6_000)
    with_adoption(local)
    remote = local.with_name("spark.yaml")
    remote.write_text(
        replaced(
            local.read_text(),
            ("source: ../data/demo", "source: spark"),
            ("units: units", "units: ../data/demo/units.parquet"),
            ("events: events", "events: ../data/demo/events.parquet"),
        )
    )
    return local, remote


def test_spark_and_duckdb_give_identical_verdicts(launches: tuple[Path, Path]) -> None:
    local, remote = launches
    on_duckdb = verdict_numbers(review.run(str(local), "56d", TODAY).to_json())
    on_spark = verdict_numbers(review.run(str(remote), "56d", TODAY).to_json())
    assert {k: (v, on_duckdb.get(k)) for k, v in on_spark.items() if on_duckdb.get(k) != v} == {}
    assert on_spark.keys() == on_duckdb.keys()
    assert any(key.startswith(".adoption.breakdown.") for key in on_spark)  # the block compared too


@pytest.fixture(scope="module")
def designs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Each other design twice: on DuckDB, and through Spark over the same Parquet files."""
    root = tmp_path_factory.mktemp("designs")
    local = design_launches(root)
    renamed = {
        "daily": "../data/demo-prepost/daily.parquet",
        "units": "../data/demo-adoption/units.parquet",
        "events": "../data/demo-adoption/events.parquet",
    }
    return {name: (path, elsewhere(path, "spark", renamed)) for name, path in local.items()}


@pytest.mark.parametrize("design", ["prepost", "prepost-events", "adoption"])
def test_every_design_gives_identical_verdicts_on_spark(
    designs: dict[str, tuple[Path, Path]], design: str
) -> None:
    """A series table, series derived from events, and the adoption funnel: the same
    queries in Spark SQL, every verdict.json number equal to DuckDB's."""
    local, remote = designs[design]
    on_duckdb = verdict_numbers(_review(local))
    on_spark = verdict_numbers(_review(remote))
    assert {k: (v, on_duckdb.get(k)) for k, v in on_spark.items() if on_duckdb.get(k) != v} == {}
    assert on_spark.keys() == on_duckdb.keys()


def _review(path: Path) -> dict[str, Any]:
    from impact import adoption_review, prepost

    loaded = spec.load(path)
    design = {"prepost": prepost.run, "adoption": adoption_review.run}[loaded.design]
    return design(str(path), "56d", TODAY).to_json()


def test_a_spark_review_end_to_end(launches: tuple[Path, Path], tmp_path: Path) -> None:
    _, remote = launches
    published = runner.review(remote, checkpoint="56d", today=TODAY, output_dir=tmp_path)
    assert published.verdict["outcome"] in ("ship", "iterate")
    assert published.verdict["run"]["data_fingerprint"]


def test_a_missing_parquet_file_is_a_data_error(
    launches: tuple[Path, Path], tmp_path: Path
) -> None:
    _, remote = launches
    path = remote.with_name("broken.yaml")
    path.write_text(remote.read_text().replace("demo/events.parquet", "demo/none.parquet"))
    with pytest.raises(DataError, match=r"none\.parquet: no such Parquet file or folder"):
        review.run(str(path), "56d", TODAY)


@pytest.mark.parametrize(
    ("segment", "error"),
    [
        ("lower(platform) IN ('ios', 'android') AND country IS NOT NULL", False),
        ("platfrom = 1", True),
    ],
)
def test_a_segment_on_spark(launches: tuple[Path, Path], segment: str, error: bool) -> None:
    """The segment is rendered for Spark from its parsed tree, and its columns checked there."""
    _, remote = launches
    path = remote.with_name("segment.yaml")
    path.write_text(
        replaced(
            remote.read_text(),
            ("  control: control\n", f'  control: control\n  segment: "{segment}"\n'),
        )
    )
    loaded = spec.load(path)
    source = sources.connect(loaded)
    try:
        if error:
            with pytest.raises(DataError, match=r"data\.segment reads column 'platfrom'"):
                contract.check_segment(source, loaded)
        else:
            contract.check_segment(source, loaded)
            where = contract.unit_filter(loaded, loaded.as_of(56), source)
            counted = source.execute(f"SELECT count(*) FROM impact_units WHERE {where}").fetchone()
            assert counted is not None and counted[0] > 0
    finally:
        source.close()
