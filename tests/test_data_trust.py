"""Data that do not join or are not complete never reach a verdict (issue 16, cases 1 and 2).

Each case is rebuilt from its description: ids of two types or forms, events cut three
weeks before as_of with one stray event near it. A refusal is one line and exit 2.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import DEMO_SPEC, impact_cli
from launches import TODAY, background, events_for, spec_document, units, write

from impact import demo, review, runner
from impact.errors import DataError, DataNotReady

FINAL = dt.datetime(2026, 10, 27)
DAY = dt.timedelta(days=1)


def _launch(root: Path) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    """1,500 units per arm with integer ids; purchases 30% against 36%; steady traffic."""
    frame = units(1500)
    events = pd.concat(
        [
            events_for(frame, "purchase", {"control": 450, "treatment": 540}, after=DAY),
            background(frame, until=FINAL),
        ],
        ignore_index=True,
    )
    return write(root, spec_document(), frame, events), frame, events


def test_float_ids_that_hold_integers_join_integer_ids(tmp_path: Path) -> None:
    spec, frame, events = _launch(tmp_path / "ints")
    as_ints = review.run(str(spec), "56d", TODAY)
    floats = events.assign(unit_id=events.unit_id.astype("float64"))  # 123 -> 123.0
    spec_f = write(tmp_path / "floats", spec_document(), frame, floats)
    as_floats = review.run(str(spec_f), "56d", TODAY)
    assert as_ints.primary.comparison.effect == pytest.approx(0.06)
    assert as_floats.primary.comparison.effect == as_ints.primary.comparison.effect
    joins = as_floats.to_json()["data"]["joins"]
    assert joins["unknown_events"] == 0 and "123.0 as 123" in joins["normalized"]
    check = next(c for c in as_floats.checks if c.name == "joins")
    assert "BIGINT in units and DOUBLE in events" in check.detail
    runner.validate_verdict(as_floats.to_json())


@pytest.mark.parametrize(
    ("form", "hint"),
    [
        (lambda i: f"u{i}", "same type and form"),  # "u123" against 123
        (lambda i: f"{i} ", "surrounding spaces or letter case"),  # trailing spaces
    ],
)
def test_ids_of_another_form_are_refused_naming_both_sides(
    tmp_path: Path, form: object, hint: str
) -> None:
    spec, frame, events = _launch(tmp_path / "first")
    other = events.assign(unit_id=[form(i) for i in events.unit_id])  # type: ignore[operator]
    spec = write(tmp_path / "other", spec_document(), frame, other)
    with pytest.raises(DataError) as raised:
        review.run(str(spec), "56d", TODAY)
    message = str(raised.value)
    assert "events.parquet: the events do not join the units on unit_id" in message
    assert "BIGINT in" in message and "VARCHAR in" in message
    assert "such as '1', '10', '100'" in message  # the units' ids
    assert hint in message and "\n" not in message


def test_ids_that_differ_in_case_are_refused_with_exit_2(tmp_path: Path) -> None:
    frame = units(1500).assign(unit_id=lambda f: [f"user-{i}" for i in f.unit_id])
    events = pd.concat(
        [
            events_for(frame, "purchase", {"control": 450, "treatment": 540}, after=DAY),
            background(frame, until=FINAL),
        ],
        ignore_index=True,
    )
    events["unit_id"] = events.unit_id.str.upper()
    spec = write(tmp_path, spec_document(), frame, events)
    result = impact_cli("review", str(spec), "--checkpoint", "56d", "--today", TODAY, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert "'USER-1'" in line and "'user-1'" in line and "letter case" in line


def test_units_without_events_past_the_spec_limit_are_refused(tmp_path: Path) -> None:
    frame = units(1500)
    events = pd.concat(  # purchases, and a daily heartbeat of unit 1 (a purchaser too)
        [
            events_for(frame, "purchase", {"control": 450, "treatment": 540}, after=DAY),
            background(frame.head(1), until=FINAL, per_day=1),
        ],
        ignore_index=True,
    )
    document = spec_document()
    document["data"]["joins"] = {"max_units_without_events": 0.5}
    document["data"]["completeness"] = {"min_share": 0}  # purchases only: volume follows them
    spec = write(tmp_path, document, frame, events)
    with pytest.raises(DataError, match=r"units \(67\.0%\) have no event.*max_units_without"):
        review.run(str(spec), "56d", TODAY)
    document["data"]["joins"] = {"max_units_without_events": 0.7}
    spec = write(tmp_path, document, frame, events)
    assert review.run(str(spec), "56d", TODAY).to_json()["data"]["joins"] == {
        "events": 990 + 91,
        "unknown_events": 0,
        "units": 3000,
        "units_without_events": 2010,
        "normalized": None,
    }


def test_many_events_of_unknown_units_are_a_warning_on_the_first_screen(tmp_path: Path) -> None:
    """40% of events naming no unit stays under the refusal limit (0.5) but is never a
    quiet "passed" row: it is a warning among the verdict's reasons."""
    spec, frame, events = _launch(tmp_path / "base")
    strangers = events.sample(frac=0.67, random_state=1).assign(unit_id=lambda e: e.unit_id + 10**6)
    noisy = pd.concat([events, strangers], ignore_index=True)
    spec = write(tmp_path / "noisy", spec_document(), frame, noisy)
    result = review.run(str(spec), "56d", TODAY)
    check = next(c for c in result.checks if c.name == "joins")
    assert not check.passed and not check.blocking
    assert "name a unit not in the units table" in check.detail
    assert any("events (40." in reason for reason in result.verdict.reasons)


@pytest.fixture(scope="module")
def demo_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("trust")
    demo.generate(root / "data" / "demo", units=3000)
    return root


def _demo(base: Path, tmp_path: Path) -> Path:
    root = tmp_path / "launch"
    shutil.copytree(base, root)
    (root / "specs").mkdir()
    shutil.copyfile(DEMO_SPEC, root / "specs" / DEMO_SPEC.name)
    return root / "specs" / DEMO_SPEC.name


def test_events_cut_three_weeks_early_with_a_stray_event_are_not_ready(
    demo_base: Path, tmp_path: Path
) -> None:
    spec = _demo(demo_base, tmp_path)
    path = spec.parent.parent / "data" / "demo" / "events.parquet"
    events = pd.read_parquet(path)
    cut = FINAL - dt.timedelta(weeks=3)
    stray = events[events.ts < cut].tail(1).assign(ts=FINAL - dt.timedelta(hours=6))
    pd.concat([events[events.ts < cut], stray], ignore_index=True).to_parquet(path)
    with pytest.raises(DataNotReady) as raised:
        review.run(str(spec), "56d", TODAY)
    message = str(raised.value)
    assert "not complete for the 56d review: 2026-10-06 has 0 events where" in message
    assert "20 of the 21 days from 2026-10-06 to 2026-10-26 have no event" in message
    result = impact_cli("review", str(spec), "--checkpoint", "56d", "--today", TODAY, cwd=tmp_path)
    assert result.returncode == 2 and "2026-10-06 has 0 events" in result.stderr


def test_complete_demo_data_pass_and_the_daily_volume_is_recorded(
    demo_base: Path, tmp_path: Path
) -> None:
    spec = _demo(demo_base, tmp_path)
    payload = review.run(str(spec), "56d", TODAY).to_json()
    daily = payload["data"]["daily"]
    assert daily["min_share"] == 0.25
    assert [d["day"] for d in daily["days"]][:: len(daily["days"]) - 1] == [
        "2026-09-01",
        "2026-10-26",
    ]
    assert all(d["events"] > 0 for d in daily["days"])
    assert {c["name"] for c in payload["checks"]} >= {"joins", "completeness"}
