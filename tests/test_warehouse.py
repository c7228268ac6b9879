"""The same review on a real PostgreSQL server and on DuckDB: identical verdict.json numbers.

The server is Debian's PostgreSQL (`make test` installs the `postgresql` package when it is
missing), started for this module in a temporary folder on a loopback port and stopped after.
`initdb` refuses to run as root, so as root (CI) the server runs as the `postgres` user.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from conftest import (
    demo_launch,
    design_launches,
    elsewhere,
    replaced,
    verdict_numbers,
    with_adoption,
)

from impact import review, runner, sources, spec
from impact.cli import main
from impact.errors import DataError
from impact.sources import contract

TODAY = "2026-11-26"
DAY = dt.timedelta(days=1)
BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"))

pytestmark = pytest.mark.skipif(
    not BINARIES, reason="PostgreSQL is missing: run `make test`, which installs it"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A PostgreSQL server on a loopback port; yields its URL."""
    binaries = Path(BINARIES[-1])
    folder = Path(tempfile.mkdtemp(prefix="impact-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    data, port = folder / "data", _free_port()
    subprocess.run(
        _as_server_user(
            [
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_server_user(
            [
                str(binaries / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(folder / "log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


def _load(url: str, folder: Path, schema: str) -> None:
    """Copy the demo's Parquet tables into the server, ``exposed_at`` as timestamptz."""
    import psycopg

    with psycopg.connect(url.replace("postgresql://", "postgres://"), autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
        con.execute(
            f"CREATE TABLE {schema}.users (user_id text, variant text, exposed_at timestamptz, "
            "platform text, country text)"
        )
        con.execute(
            f"CREATE TABLE {schema}.events (user_id text, event text, ts timestamp, "
            "value double precision)"
        )
        units = pd.read_parquet(folder / "units.parquet")
        events = pd.read_parquet(folder / "events.parquet")
        for table, frame in (
            ("users", units[["unit_id", "variant", "exposed_at", "platform", "country"]]),
            ("events", events[["unit_id", "event", "ts", "value"]]),
        ):
            with con.cursor().copy(f"COPY {schema}.{table} FROM STDIN") as copy:
                for row in frame.itertuples(index=False):
                    copy.write_row([None if isinstance(v, float) and v != v else v for v in row])
        # As a warehouse's tables are: with statistics (without them PostgreSQL guesses one
        # row per filter and joins units and events in a nested loop).
        con.execute(f"ANALYZE {schema}.users, {schema}.events")


@pytest.fixture(scope="module")
def launches(server: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo launch twice: on DuckDB (Parquet) and on the server (renamed columns)."""
    root = tmp_path_factory.mktemp("warehouse")
    local = demo_launch(root, units=12_000)
    with_adoption(local)
    _load(server, root / "data" / "demo", "shop")
    remote = local.with_name("warehouse.yaml")
    remote.write_text(
        replaced(
            local.read_text(),
            ("source: ../data/demo", f"source: {server}"),
            ("units: units", "units: shop.users\n  columns: {unit_id: user_id}"),
            ("events: events", "events: shop.events"),
        )
    )
    return local, remote


def test_postgres_and_duckdb_give_identical_verdicts(launches: tuple[Path, Path]) -> None:
    local, remote = launches
    on_duckdb = review.run(str(local), "56d", TODAY).to_json()
    on_postgres = review.run(str(remote), "56d", TODAY).to_json()
    ours, theirs = verdict_numbers(on_postgres), verdict_numbers(on_duckdb)
    assert {k: (v, theirs.get(k)) for k, v in ours.items() if theirs.get(k) != v} == {}
    assert ours.keys() == theirs.keys()
    assert any(key.startswith(".adoption.breakdown.") for key in ours)  # the block compared too
    assert on_postgres["outcome"] == "ship"
    assert on_postgres["run"]["data_fingerprint"] != on_duckdb["run"]["data_fingerprint"]


def test_a_postgres_review_end_to_end(
    server: str, launches: tuple[Path, Path], tmp_path: Path
) -> None:
    _, remote = launches
    with_password = remote.with_name("password.yaml")
    with_password.write_text(
        remote.read_text().replace("postgres@127.0.0.1", "postgres:s3cret@127.0.0.1")
    )
    published = runner.review(with_password, checkpoint="28d", today=TODAY, output_dir=tmp_path)
    assert published.verdict["outcome"] in ("keep_running", "ship")
    report = published.report.read_text()
    assert "postgres:***@127.0.0.1" in report and "s3cret" not in report
    # found by a new user: the URL read as a path, postgresql:/postgres@...
    assert published.verdict["run"]["data_source"].startswith("postgresql://postgres:***@")


def test_the_password_never_shows(server: str, launches: tuple[Path, Path], tmp_path: Path) -> None:
    _, remote = launches
    document = yaml.safe_load(remote.read_text())
    document["data"]["source"] = server.replace("postgres@", "postgres:s3cret@")
    document["data"]["units"] = "shop.no_such_table"
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    with pytest.raises(DataError) as raised:
        review.run(str(path), "56d", TODAY)
    assert "no table 'shop.no_such_table'" in str(raised.value)
    assert "s3cret" not in str(raised.value) and "***" in str(raised.value)
    # Found by a new user: a table of a schema off the search path listed "tables here: none"
    assert str(raised.value).endswith("; tables in schema shop: events, users")


def test_a_misspelt_table_gets_the_near_name(launches: tuple[Path, Path], tmp_path: Path) -> None:
    _, remote = launches
    document = yaml.safe_load(remote.read_text())
    document["data"]["events"] = "shop.evnets"
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    with pytest.raises(DataError, match=r"no table 'shop\.evnets'; did you mean shop\.events\?"):
        review.run(str(path), "56d", TODAY)
    # found by a second new user: every name in a schema looked near its other tables
    document["data"]["events"] = "shop.q"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    with pytest.raises(DataError, match=r"no table 'shop\.q'; tables in schema shop: events"):
        review.run(str(path), "56d", TODAY)
    document["data"]["events"] = "nosuch.events"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    with pytest.raises(DataError, match=r"no table 'nosuch\.events'; did you mean shop\.events\?"):
        review.run(str(path), "56d", TODAY)
    document["data"]["events"] = "events"  # in a schema off the search path
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    with pytest.raises(DataError, match=r"no table 'events'; did you mean shop\.events\?"):
        review.run(str(path), "56d", TODAY)


def test_an_unreachable_server_is_one_line_and_exit_2(tmp_path: Path) -> None:
    document = yaml.safe_load(
        (Path(__file__).parent.parent / "specs" / "demo-checkout.yaml").read_text()
    )
    document["data"]["source"] = f"postgresql://nobody:pw@127.0.0.1:{_free_port()}/x"
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    result = CliRunner().invoke(
        main, ["review", str(path), "--today", TODAY, "--output-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot connect" in lines[0] and "pw@" not in lines[0]


def test_a_port_that_is_not_a_number_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """Found by a new user: postgresql://...:abc/warehouse ended in a 69-line traceback
    (ValueError: invalid literal for int())."""
    document = yaml.safe_load(
        (Path(__file__).parent.parent / "specs" / "demo-checkout.yaml").read_text()
    )
    document["data"]["source"] = "postgresql://postgres:secret@127.0.0.1:abc/warehouse"
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    result = CliRunner().invoke(
        main, ["review", str(path), "--today", TODAY, "--output-dir", str(tmp_path)]
    )
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"error: {path}: data.source: its port is not a number from 0 to 65535; write "
        "postgresql://user@host:5432/database\n"
    )


def _load_frame(con: Any, table: str, frame: pd.DataFrame) -> None:
    """A table in the server with the frame's columns and types (dates stay dates)."""
    kinds = {"f": "double precision", "i": "bigint", "M": "timestamp", "b": "boolean"}
    columns = []
    for name, dtype in frame.dtypes.items():
        first = frame[name].dropna().iloc[0] if frame[name].notna().any() else None
        is_date = isinstance(first, dt.date) and not isinstance(first, dt.datetime)
        kind = "date" if is_date else kinds.get(dtype.kind, "text")
        columns.append(f"{name} {kind}")
    con.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
    with con.cursor().copy(f"COPY {table} FROM STDIN") as copy:
        for row in frame.itertuples(index=False):
            copy.write_row([None if isinstance(v, float) and v != v else v for v in row])
    con.execute(f"ANALYZE {table}")


@pytest.fixture(scope="module")
def designs(server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Each other design twice: on Parquet, and in the server's ``designs`` schema."""
    import psycopg

    root = tmp_path_factory.mktemp("designs")
    local = design_launches(root)
    tables = {
        "daily": (root / "data" / "demo-prepost" / "daily.parquet"),
        "units": (root / "data" / "demo-adoption" / "units.parquet"),
        "events": (root / "data" / "demo-adoption" / "events.parquet"),
    }
    with psycopg.connect(server.replace("postgresql://", "postgres://"), autocommit=True) as con:
        con.execute("CREATE SCHEMA designs")
        for name, path in tables.items():
            _load_frame(con, f"designs.{name}", pd.read_parquet(path))
    renamed = {name: f"designs.{name}" for name in tables}
    return {name: (path, elsewhere(path, server, renamed)) for name, path in local.items()}


@pytest.mark.parametrize("design", ["prepost", "prepost-events", "adoption"])
def test_every_design_gives_identical_verdicts_on_postgres(
    designs: dict[str, tuple[Path, Path]], design: str
) -> None:
    """A series table, series derived from events, and the adoption funnel: the same
    queries in PostgreSQL's SQL, every verdict.json number equal to DuckDB's."""
    local, remote = designs[design]
    on_duckdb = _review(local)
    on_postgres = _review(remote)
    ours, theirs = verdict_numbers(on_postgres), verdict_numbers(on_duckdb)
    assert {k: (v, theirs.get(k)) for k, v in ours.items() if theirs.get(k) != v} == {}
    assert ours.keys() == theirs.keys()
    assert on_postgres["run"]["data_fingerprint"] != on_duckdb["run"]["data_fingerprint"]
    if design == "adoption":
        assert any(key.startswith(".adoption.breakdown.") for key in ours)
        assert on_postgres["adoption"]["difference_in_differences"] is not None
    else:
        assert on_postgres["primary"]["n"]["pre"] > 14


def test_a_series_error_names_the_url_as_written(designs: dict[str, tuple[Path, Path]]) -> None:
    """Found by a new user: a prepost series' errors named postgresql:/postgres:***@... (the
    URL read as a path, one slash lost)."""
    from impact import series

    _, remote = designs["prepost"]
    with pytest.raises(DataError) as raised:
        series.load(spec.load(remote), dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    assert str(raised.value).startswith("postgresql://postgres@127.0.0.1:")
    assert "the newest day is 2026-10-26" in str(raised.value)


def _review(path: Path) -> dict[str, Any]:
    from impact import adoption_review, prepost

    loaded = spec.load(path)
    design = {"prepost": prepost.run, "adoption": adoption_review.run}[loaded.design]
    return design(str(path), "56d", TODAY).to_json()


@pytest.mark.parametrize(
    ("segment", "error", "message"),
    [
        ("lower(platform) IN ('ios', 'android') AND country IS NOT NULL", None, ""),
        ("platform = 1", spec.SpecError, r"data\.segment: 'platform = 1' fails on the units table"),
        ("platfrom = 'ios'", DataError, r"data\.segment reads column 'platfrom'"),
    ],
)
def test_a_segment_on_postgres(
    launches: tuple[Path, Path],
    tmp_path: Path,
    segment: str,
    error: type[Exception] | None,
    message: str,
) -> None:
    """The segment is rendered for PostgreSQL from its parsed tree, and checked there too."""
    _, remote = launches
    document = yaml.safe_load(remote.read_text())
    document["data"]["segment"] = segment
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    loaded = spec.load(path)
    source = sources.connect(loaded)
    try:
        if error is None:
            contract.check_segment(source, loaded)
            where = contract.unit_filter(loaded, loaded.as_of(56), source)
            counted = source.execute(f"SELECT count(*) FROM impact_units WHERE {where}").fetchone()
            assert counted is not None and counted[0] > 0
        else:
            with pytest.raises(error, match=message) as raised:
                contract.check_segment(source, loaded)
            assert "\n" not in str(raised.value)
    finally:
        source.close()


def test_float_event_ids_join_integer_unit_ids_on_postgres(server: str, tmp_path: Path) -> None:
    """Issue 16, case 1 on PostgreSQL: bigint unit ids, double precision event ids."""
    import psycopg
    from launches import background, events_for, spec_document, units, write

    frame = units(1500)
    events = pd.concat(
        [
            events_for(frame, "purchase", {"control": 450, "treatment": 540}, after=DAY),
            background(frame, until=dt.datetime(2026, 10, 27)),
        ],
        ignore_index=True,
    ).assign(unit_id=lambda f: f.unit_id.astype("float64"))
    local = write(tmp_path / "local", spec_document(), frame, events)
    with psycopg.connect(server.replace("postgresql://", "postgres://"), autocommit=True) as con:
        con.execute("CREATE SCHEMA floats")
        con.execute(
            "CREATE TABLE floats.units (unit_id bigint, variant text, exposed_at timestamp)"
        )
        con.execute(
            "CREATE TABLE floats.events (unit_id double precision, event text, ts timestamp, "
            "value double precision)"
        )
        for table, table_frame in (("units", frame), ("events", events)):
            with con.cursor().copy(f"COPY floats.{table} FROM STDIN") as copy:
                for row in table_frame.itertuples(index=False):
                    copy.write_row(list(row))
        con.execute("ANALYZE floats.units, floats.events")
    document = spec_document()
    document["data"].update(source=server, units="floats.units", events="floats.events")
    remote = write(tmp_path / "remote", document, frame, None)
    on_postgres = review.run(str(remote), "56d", TODAY).to_json()
    on_duckdb = review.run(str(local), "56d", TODAY).to_json()
    assert on_postgres["primary"]["effect"] == pytest.approx(0.06)
    assert on_postgres["data"]["joins"]["unknown_events"] == 0
    ours, theirs = verdict_numbers(on_postgres), verdict_numbers(on_duckdb)
    differing = {k: (v, theirs.get(k)) for k, v in ours.items() if theirs.get(k) != v}
    assert set(differing) == {".data.joins.normalized"}  # the types are named as each engine does


def test_text_timestamps_read_as_on_duckdb(server: str, tmp_path: Path) -> None:
    """Found by a new user: an events table whose ts is ISO text was reviewed from files and
    on Spark, but refused on PostgreSQL ("column 'ts' is text")."""
    import psycopg
    from launches import background, events_for, spec_document, units, write

    frame = units(1500)
    events = pd.concat(
        [
            events_for(frame, "purchase", {"control": 450, "treatment": 540}, after=DAY),
            background(frame, until=dt.datetime(2026, 10, 27)),
        ],
        ignore_index=True,
    )
    as_text = events.assign(ts=events.ts.dt.strftime("%Y-%m-%d %H:%M:%S"))
    local = write(tmp_path / "local", spec_document(), frame, as_text)
    with psycopg.connect(server.replace("postgresql://", "postgres://"), autocommit=True) as con:
        con.execute("CREATE SCHEMA texts")
        con.execute("CREATE TABLE texts.units (unit_id text, variant text, exposed_at timestamp)")
        con.execute(
            "CREATE TABLE texts.events (unit_id text, event text, ts text, value double precision)"
        )
        for table, table_frame in (("units", frame), ("events", as_text)):
            with con.cursor().copy(f"COPY texts.{table} FROM STDIN") as copy:
                for row in table_frame.astype({"unit_id": str}).itertuples(index=False):
                    copy.write_row(list(row))
    document = spec_document()
    document["data"].update(source=server, units="texts.units", events="texts.events")
    remote = write(tmp_path / "remote", document, frame, None)
    on_postgres = review.run(str(remote), "56d", TODAY).to_json()
    on_duckdb = review.run(str(local), "56d", TODAY).to_json()
    ours, theirs = verdict_numbers(on_postgres), verdict_numbers(on_duckdb)
    assert {k: (v, theirs.get(k)) for k, v in ours.items() if theirs.get(k) != v} == {}
    with psycopg.connect(server.replace("postgresql://", "postgres://"), autocommit=True) as con:
        con.execute("INSERT INTO texts.events VALUES ('1', 'purchase', 'last tuesday', 1)")
    with pytest.raises(DataError, match="last tuesday") as raised:
        review.run(str(remote), "56d", TODAY)
    assert str(raised.value).endswith('with time zone: "last tuesday")')  # no CONTEXT: lines
