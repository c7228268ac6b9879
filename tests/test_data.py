"""The data contract: each kind of bad data gets one line naming the table and column."""

from __future__ import annotations

import datetime as dt
import os
import signal
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from conftest import write_spec

from impact import metrics, sources
from impact import spec as spec_module
from impact.errors import DataError, ReviewFailed, SpecError
from impact.sources import contract, duckdb_files
from impact.sources.source import UNITS_VIEW, interruptible

AS_OF = dt.datetime(2026, 9, 29)


def _units() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit_id": [f"u{i}" for i in range(8)],
            "variant": ["control", "treatment"] * 4,
            "exposed_at": pd.to_datetime(["2026-09-02 10:00"] * 8),
            "flag": [0, 1, 1, 0, 1, 1, 0, 0],
        }
    )


def _events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit_id": ["u0", "u1", "u2", "u3", "u5"],
            "event": ["purchase", "purchase", "refund", "support_contact", "purchase"],
            "ts": pd.to_datetime(
                [
                    "2026-09-03 00:00",
                    "2026-09-04 00:00",
                    "2026-09-05 00:00",
                    "2026-09-06 00:00",
                    "2026-09-28 12:00",
                ]
            ),
            "value": [10.0, 20.0, 0.0, 0.0, 5.0],
        }
    )


def _setup(
    tmp_path: Path,
    spec_dict: dict[str, Any],
    units: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    fmt: str = "parquet",
) -> spec_module.LaunchSpec:
    folder = tmp_path / "data"
    folder.mkdir(exist_ok=True)
    for name, frame in (
        ("units", units if units is not None else _units()),
        ("events", events if events is not None else _events()),
    ):
        if fmt == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        else:
            frame.to_parquet(folder / f"{name}.parquet")
    spec_dict["data"]["source"] = "data"
    return spec_module.load(write_spec(tmp_path, spec_dict))


def _review_inputs(loaded: spec_module.LaunchSpec) -> None:
    source = sources.connect(loaded)
    try:
        contract.check_contract(source, loaded, AS_OF)
        contract.check_ready(source, loaded, AS_OF, "28d")
    finally:
        source.close()


def test_valid_data_pass(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    _review_inputs(_setup(tmp_path, spec_dict))


Mutation = Callable[[pd.DataFrame, pd.DataFrame, dict[str, Any]], tuple[pd.DataFrame, pd.DataFrame]]

BAD: list[tuple[str, Mutation, str]] = [
    (
        "missing unit column",
        lambda u, e, s: (u.drop(columns="variant"), e),
        r"units\.parquet: no column 'variant'.*columns here: unit_id, exposed_at, flag",
    ),
    (
        "missing event column",
        lambda u, e, s: (u, e.drop(columns="ts")),
        r"events\.parquet: no column 'ts'",
    ),
    (
        "rename to a missing column",
        lambda u, e, s: (s["data"].update(columns={"unit_id": "user_id"}) or u, e),
        r"no column 'user_id' \(data\.columns maps it to 'user_id'\)",
    ),
    (
        "duplicate units",
        lambda u, e, s: (pd.concat([u, u.iloc[[2]]]), e),
        r"unit 'u2' has 2 rows \(1 units are repeated\)",
    ),
    (
        "unit in two variants",
        lambda u, e, s: (pd.concat([u, u.iloc[[2]].assign(variant="treatment")]), e),
        r"unit 'u2' is in two variants \(control, treatment\)",
    ),
    (
        "unknown variant",
        lambda u, e, s: (u.replace({"variant": {"treatment": "B"}}), e),
        r"column variant has 'B', not an arm of data\.split",
    ),
    (
        "an arm with no units",
        lambda u, e, s: (u.assign(variant="control"), e),
        r"arm 'treatment' of data\.split has no units",
    ),
    (
        "no units after launch",
        lambda u, e, s: (u.assign(exposed_at=pd.Timestamp("2026-08-01")), e),
        r"no units exposed between 2026-09-01 and 2026-09-29 00:00 UTC",
    ),
    (
        "misspelt event",
        lambda u, e, s: (s["metrics"]["primary"].update(event="purchse") or u, e),
        r"no rows with event 'purchse' \(metric checkout_conversion\); did you mean 'purchase'\?",
    ),
    (
        "event absent",
        lambda u, e, s: (u, e[e.event != "refund"]),
        r"no rows with event 'refund' \(metric refund_rate\); events here: purchase, support_contact",
    ),
    (
        "value not numeric",
        lambda u, e, s: (u, e.assign(value="ten")),
        r"column 'value' is VARCHAR; value must be numeric",
    ),
    (
        "timestamp not a time",
        lambda u, e, s: (u.assign(exposed_at=3), e),
        r"column 'exposed_at' is BIGINT; exposed_at must be a timestamp",
    ),
    (
        "incomplete data",
        lambda u, e, s: (u, e[e.ts < "2026-09-20"]),
        r"data are not complete for the 28d review: the newest event before as_of 2026-09-29 00:00 UTC is 2026-09-06 00:00",
    ),
    (
        "column metric column missing",
        lambda u, e, s: (
            s["metrics"].update(
                primary={
                    "name": "kept",
                    "kind": "proportion",
                    "column": "kept",
                    "target": 0.1,
                    "direction": "increase",
                }
            )
            or u,
            e,
        ),
        r"no column 'kept' for metric kept",
    ),
    (
        "null unit ids",
        lambda u, e, s: (u.assign(unit_id=[None, *list(u.unit_id[1:])]), e),
        r"1 rows have no unit_id",
    ),
]


@pytest.mark.parametrize(("case", "mutate", "message"), BAD, ids=[row[0] for row in BAD])
def test_bad_data(
    tmp_path: Path, spec_dict: dict[str, Any], case: str, mutate: Mutation, message: str
) -> None:
    units, events = mutate(_units(), _events(), spec_dict)
    loaded = _setup(tmp_path, spec_dict, units, events)
    with pytest.raises(DataError, match=message) as raised:
        _review_inputs(loaded)
    assert "\n" not in str(raised.value)


def test_missing_source(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    spec_dict["data"]["source"] = "nowhere"
    loaded = spec_module.load(write_spec(tmp_path, spec_dict))
    message = r"nowhere: data\.source does not exist; fix data\.source in the spec"
    with pytest.raises(DataError, match=message):
        sources.connect(loaded)


@pytest.mark.parametrize(
    ("folder", "command"),
    [
        ("demo", "impact demo`"),
        ("demo-prepost", "impact demo --design prepost`"),
        ("demo-rollout", "impact demo --design rollout`"),
    ],
)
def test_missing_demo_data_names_the_demo_that_writes_it(
    tmp_path: Path, spec_dict: dict[str, Any], folder: str, command: str
) -> None:
    """make demo writes the experiment's data only; the other demo specs name their own."""
    spec_dict["data"]["source"] = f"data/{folder}"
    loaded = spec_module.load(write_spec(tmp_path, spec_dict))
    with pytest.raises(DataError, match=f"does not exist; run `{command} for the demo data"):
        sources.connect(loaded)


def test_missing_table(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    loaded = _setup(tmp_path, spec_dict)
    (tmp_path / "data" / "events.parquet").unlink()
    with pytest.raises(
        DataError,
        match=r"no table 'events' \(looked for events\.parquet and events\.csv\); tables here: units",
    ):
        sources.connect(loaded)


def test_a_table_named_with_its_extension_gets_a_hint(
    tmp_path: Path, spec_dict: dict[str, Any]
) -> None:
    """Found by a new user: data.events: events.parquet said only that events.parquet.parquet
    was looked for."""
    spec_dict["data"]["events"] = "events.parquet"
    loaded = _setup(tmp_path, spec_dict)
    with pytest.raises(DataError, match=r"name the table without its extension \('events'\)$"):
        sources.connect(loaded)


def test_unparseable_timestamps_in_csv(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    events = _events().astype({"ts": str})
    events.loc[2, "ts"] = "yesterday"
    loaded = _setup(tmp_path, spec_dict, events=events, fmt="csv")
    with pytest.raises(
        DataError,
        match=r"events\.csv: column 'ts' has 1 values that are not timestamps, such as 'yesterday'",
    ):
        sources.connect(loaded)


def test_bad_segment_is_a_spec_error(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    spec_dict["data"]["segment"] = "platform = = 'ios'"
    with pytest.raises(SpecError, match=r"data\.segment: .platform = = 'ios'. is not a SQL"):
        _setup(tmp_path, spec_dict)  # refused when the spec loads, before any data


def test_segment_column_missing_from_units(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    spec_dict["data"]["segment"] = "flagg = 1"
    loaded = _setup(tmp_path, spec_dict)
    with pytest.raises(
        DataError,
        match=r"units\.parquet: data\.segment reads column 'flagg', which the units table does "
        r"not have; did you mean 'flag'\? columns here: unit_id, variant, exposed_at, flag$",
    ):
        _review_inputs(loaded)


def test_segment_never_reads_an_events_column(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    spec_dict["data"]["segment"] = "event = 'purchase'"  # a column of events, not of units
    loaded = _setup(tmp_path, spec_dict)
    with pytest.raises(DataError, match=r"data\.segment reads column 'event'"):
        _review_inputs(loaded)


@pytest.mark.parametrize(
    "segment", ["CAST(unit_id AS INTEGER) = 1", "variant = 1", "flag::date > DATE '2026-01-01'"]
)
def test_segment_failing_on_the_data_is_a_spec_error(
    tmp_path: Path, spec_dict: dict[str, Any], segment: str
) -> None:
    spec_dict["data"]["segment"] = segment
    loaded = _setup(tmp_path, spec_dict)
    with pytest.raises(SpecError, match=r"data\.segment: .* fails on the units table \(") as caught:
        _review_inputs(loaded)
    assert "\n" not in str(caught.value)


def test_duckdb_reads_only_the_data(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    """Defence in depth under the segment's grammar: the session cannot read another file,
    fetch a URL, install an extension or change these settings."""
    secret = tmp_path / "secret.csv"
    secret.write_text("word\nTOPSECRET\n")
    loaded = _setup(tmp_path, spec_dict)
    source = sources.connect(loaded)
    try:
        assert source.execute(f"SELECT count(*) FROM {UNITS_VIEW}").fetchone() == (8,)
        for query in (
            f"SELECT * FROM read_csv('{secret}')",
            f"SELECT * FROM read_csv('{tmp_path}/data/../secret.csv')",
            "SELECT * FROM read_parquet('https://example.com/x.parquet')",
            "INSTALL httpfs",
            "SET enable_external_access = true",
            "SET allowed_directories = ['/']",
            f"COPY (SELECT 1) TO '{tmp_path}/out.csv'",
        ):
            with pytest.raises(duckdb.Error) as caught:
                source.execute(query).fetchall()
            assert "TOPSECRET" not in str(caught.value)
        settings = dict(
            source.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name IN "
                "('autoinstall_known_extensions', 'autoload_known_extensions', "
                "'enable_external_access', 'lock_configuration')"
            ).fetchall()
        )
        assert settings == {
            "autoinstall_known_extensions": "false",
            "autoload_known_extensions": "false",
            "enable_external_access": "false",
            "lock_configuration": "true",
        }
    finally:
        source.close()
    assert not (tmp_path / "out.csv").exists()


def test_renamed_columns(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    spec_dict["data"]["columns"] = {"unit_id": "user_id", "ts": "happened_at"}
    units = _units().rename(columns={"unit_id": "user_id"})
    events = _events().rename(columns={"unit_id": "user_id", "ts": "happened_at"})
    _review_inputs(_setup(tmp_path, spec_dict, units, events))


def test_aware_timestamps_are_converted_to_utc(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    units = _units().astype({"exposed_at": str})
    units["exposed_at"] = "2026-09-02T12:00:00+02:00"
    loaded = _setup(tmp_path, spec_dict, units=units, fmt="csv")
    source = sources.connect(loaded)
    first = source.connection.execute(f"SELECT min(exposed_at) FROM {UNITS_VIEW}").fetchone()
    assert first is not None and first[0] == dt.datetime(2026, 9, 2, 10, 0)


def test_integer_unit_ids_join_string_ids(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    units = _units().assign(unit_id=range(8))
    events = _events().assign(unit_id=["0", "1", "2", "3", "5"])
    loaded = _setup(tmp_path, spec_dict, units, events)
    table = metrics.compute(sources.connect(loaded), loaded, AS_OF)
    assert table.metrics["checkout_conversion"].control.sums[0] == 1  # unit 0 bought


def test_proportion_column_must_be_binary(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    spec_dict["metrics"]["primary"] = {
        "name": "flagged",
        "kind": "proportion",
        "column": "flag",
        "target": 0.1,
        "direction": "increase",
    }
    loaded = _setup(tmp_path, spec_dict, units=_units().assign(flag=[0, 1, 2, 0, 1, 1, 0, 0]))
    with pytest.raises(
        DataError, match=r"column 'flag' has the value 2, but metric flagged is a proportion"
    ):
        metrics.compute(sources.connect(loaded), loaded, AS_OF)


def test_duckdb_file_source(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        for name, frame in (("units", _units()), ("events", _events())):
            connection.register("frame", frame)
            connection.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            connection.unregister("frame")
    spec_dict["data"]["source"] = "warehouse.duckdb"
    loaded = spec_module.load(write_spec(tmp_path, spec_dict))
    _review_inputs(loaded)
    spec_dict["data"]["events"] = "evnts"
    loaded = spec_module.load(write_spec(tmp_path, spec_dict))
    with pytest.raises(
        DataError, match=r"warehouse\.duckdb: no table 'evnts'; tables here: events, units"
    ):
        sources.connect(loaded)


def test_a_memory_limit_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMPACT_DUCKDB_MEMORY_LIMIT", "512MB")
    connection = duckdb_files.open_connection(tmp_path)
    try:
        row = connection.execute("SELECT current_setting('memory_limit')").fetchone()
        assert row is not None and row[0] in ("512.0 MiB", "488.2 MiB", "512.0 MB")
    finally:
        connection.close()
    for wrong in ("lots", "-5GB"):  # DuckDB reads a negative size as no limit at all
        monkeypatch.setenv("IMPACT_DUCKDB_MEMORY_LIMIT", wrong)
        with pytest.raises(
            DataError, match=f"IMPACT_DUCKDB_MEMORY_LIMIT='{wrong}' is not a memory size"
        ):
            duckdb_files.open_connection(tmp_path)


def test_a_memory_limit_too_small_for_the_query_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a new user: with IMPACT_DUCKDB_MEMORY_LIMIT=1MB a review ended in DuckDB's
    50-line traceback, whose advice (SET threads, SET memory_limit) never named the
    variable."""
    big = "SELECT count(DISTINCT i::VARCHAR) FROM range(2000000) t(i)"
    monkeypatch.setenv("IMPACT_DUCKDB_MEMORY_LIMIT", "1MB")
    connection = duckdb_files.open_connection(tmp_path)
    try:
        with pytest.raises(DataError) as raised:
            interruptible(connection, big)
    finally:
        connection.close()
    assert str(raised.value) == (
        "DuckDB ran out of memory within IMPACT_DUCKDB_MEMORY_LIMIT='1MB' (976.5 KiB); "
        "raise it, such as 4GB, or unset it to size the limit from the machine and the data"
    )
    monkeypatch.delenv("IMPACT_DUCKDB_MEMORY_LIMIT")
    # as if the machine had that little: the default sized from it is 1 MiB
    monkeypatch.setattr(duckdb_files, "default_memory_limit", lambda location: 1)
    connection = duckdb_files.open_connection(tmp_path)
    try:
        with pytest.raises(
            ReviewFailed,
            match=r"^DuckDB ran out of memory within its limit of "
            r"1.0 MiB, sized from the machine and the data; set "
            r"IMPACT_DUCKDB_MEMORY_LIMIT higher, such as 4GB$",
        ):
            interruptible(connection, big)
    finally:
        connection.close()


def test_memory_is_bounded_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting: DuckDB gets a limit sized from the data and the machine, not 80% of it."""
    monkeypatch.delenv("IMPACT_DUCKDB_MEMORY_LIMIT", raising=False)
    connection = duckdb_files.open_connection(tmp_path)
    try:
        row = connection.execute("SELECT current_setting('memory_limit')").fetchone()
    finally:
        connection.close()
    expected = duckdb_files.default_memory_limit(tmp_path)
    assert row is not None and row[0] == f"{expected:.1f} MiB"
    _sparse(tmp_path / "events.parquet", 400 * 2**20)  # 400 MiB of data (no disk used)
    gib = 2**30
    assert duckdb_files.default_memory_limit(tmp_path, memory=64 * gib) == 868
    assert duckdb_files.default_memory_limit(tmp_path / "events.parquet", memory=64 * gib) == 868
    assert duckdb_files.default_memory_limit(tmp_path, memory=2 * gib) == 512
    assert duckdb_files.default_memory_limit(tmp_path, memory=gib // 2) == 256
    _sparse(tmp_path / "more.csv", 2000 * 2**20)
    assert duckdb_files.default_memory_limit(tmp_path, memory=64 * gib) == 1024


def _sparse(path: Path, size: int) -> None:
    with path.open("wb") as handle:
        handle.truncate(size)


def test_duckdb_spills_to_the_temporary_folder_not_the_current_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IMPACT_DUCKDB_MEMORY_LIMIT", raising=False)
    connection = duckdb_files.open_connection(tmp_path)
    try:
        row = connection.execute("SELECT current_setting('temp_directory')").fetchone()
    finally:
        connection.close()
    assert row is not None and Path(row[0]).parent == Path(tempfile.gettempdir())


def test_a_signal_stops_a_running_query_at_once(tmp_path: Path) -> None:
    """DuckDB looks at signals only now and then; the query runs beside the main thread,
    which takes the signal and interrupts it (a SIGTERM then exits 130, not 1, and soon)."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGUSR1, stop)
    connection = duckdb_files.open_connection(tmp_path)
    try:
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGUSR1)).start()
        with pytest.raises(KeyboardInterrupt):  # the query alone runs for minutes
            interruptible(connection, "SELECT sum(hash(i)) FROM range(100000000000) t(i)")
        assert connection.execute("SELECT 42").fetchone() == (42,)  # usable, not busy
    finally:
        connection.close()
        signal.signal(signal.SIGUSR1, previous)


def test_closed_duckdb_still_reads_linked_data(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    """A data folder that is a symbolic link, and a table file linked from elsewhere, still
    read with external access closed (DuckDB allows a linked file by its target)."""
    (tmp_path / "real").mkdir()
    loaded = _setup(tmp_path / "real", spec_dict)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "real" / "data" / "units.parquet").rename(elsewhere / "units.parquet")
    (tmp_path / "real" / "data" / "units.parquet").symlink_to(elsewhere / "units.parquet")
    (tmp_path / "linked").symlink_to(tmp_path / "real", target_is_directory=True)
    linked = spec_module.load(tmp_path / "linked" / "spec.yaml")
    _review_inputs(linked)
    _review_inputs(loaded)


def test_reviews_in_one_process_share_a_database_per_source_and_nothing_else(
    tmp_path: Path, spec_dict: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """impact run --due: one DuckDB database per source and process, a session per review;
    a review that leaves anything in it, or new data, gets a fresh database."""
    loaded = _setup(tmp_path, spec_dict)
    monkeypatch.setattr(duckdb_files, "_SHARED", [True])
    monkeypatch.setattr(duckdb_files, "_databases", {})
    opened: list[Path] = []
    new_database = duckdb_files._new_database

    def counted(location: Path) -> duckdb.DuckDBPyConnection:
        opened.append(location)
        return new_database(location)

    monkeypatch.setattr(duckdb_files, "_new_database", counted)
    first, second = sources.connect(loaded), sources.connect(loaded)
    assert len(opened) == 1  # two sessions of one database
    first.connection.execute(f"DROP VIEW {UNITS_VIEW}")  # a session's views are its own
    assert second.connection.execute(f"SELECT count(*) FROM {UNITS_VIEW}").fetchone() == (8,)
    with pytest.raises(duckdb.Error, match="Cannot change configuration"):
        second.connection.execute("SET memory_limit = '8GB'")  # still locked
    with pytest.raises(duckdb.Error, match="Permission Error"):
        second.connection.execute("SELECT * FROM read_csv('/etc/hostname')")
    first.connection.execute("CREATE TABLE main.left_behind AS SELECT 1 AS x")
    first.close()
    second.close()
    third = sources.connect(loaded)
    assert len(opened) == 2  # what the first review left is gone with its database
    assert third.connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'left_behind'"
    ).fetchone() == (0,)
    third.close()
    sources.connect(loaded).close()
    assert len(opened) == 2
    _events().head(3).to_parquet(tmp_path / "data" / "events.parquet")  # new data
    sources.connect(loaded).close()
    assert len(opened) == 3
