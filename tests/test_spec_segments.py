"""The spec's ``segments:`` and ``rollout:`` (their rules, errors and registration), and what
``impact validate`` says of a spec."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from conftest import write_spec

from impact import registry
from impact import spec as spec_module
from impact.errors import SpecError

BEFORE_LAUNCH = dt.datetime(2026, 8, 20, 10, 0, tzinfo=dt.UTC)
RAMP = [
    {"start": "2026-09-01", "split": {"control": 0.9, "treatment": 0.1}},
    {"start": "2026-09-08", "split": {"control": 0.5, "treatment": 0.5}},
]


def test_segments_as_names_or_with_a_minimum(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    spec_dict["segments"] = ["platform", {"column": "country", "min_units": 200}]
    loaded = spec_module.load(write_spec(tmp_path, spec_dict))
    assert [(s.column, s.min_units) for s in loaded.segments] == [
        ("platform", None),
        ("country", 200),
    ]
    assert loaded.segments[0].minimum(loaded) == loaded.decision.min_units
    assert loaded.segments[1].minimum(loaded) == 200


def test_validate_lists_segments_and_stages(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    from click.testing import CliRunner

    from impact.cli import main

    spec_dict["segments"] = ["platform", {"column": "country", "min_units": 200}]
    spec_dict["rollout"] = RAMP
    del spec_dict["data"]["split"]
    done = CliRunner().invoke(main, ["validate", str(write_spec(tmp_path, spec_dict))])
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert (
        f"  segment: platform (values with fewer than {spec_dict['decision']['min_units']} "
        'units per arm are pooled into "other")'
    ) in lines
    assert (
        '  segment: country (values with fewer than 200 units per arm are pooled into "other")'
        in (lines)
    )
    assert "  rollout stage 1 from 2026-09-01: control 90%, treatment 10%" in lines
    assert "  rollout stage 2 from 2026-09-08: control 50%, treatment 50%" in lines
    assert not any(line.startswith("  split:") for line in lines)


def test_a_misspelt_segment_key_suggests_the_right_one(
    tmp_path: Path, spec_dict: dict[str, Any]
) -> None:
    spec_dict["segments"] = [{"column": "country", "min_unit": 200}]
    with pytest.raises(SpecError) as raised:
        spec_module.load(write_spec(tmp_path, spec_dict))
    assert "segments[0].min_unit" in str(raised.value)
    assert 'did you mean "min_units"?' in str(raised.value)


def test_rollout_stages_and_the_split_they_imply(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    del spec_dict["data"]["split"]
    spec_dict["rollout"] = RAMP
    loaded = spec_module.load(write_spec(tmp_path, spec_dict))
    assert [stage.start for stage in loaded.rollout] == [dt.date(2026, 9, 1), dt.date(2026, 9, 8)]
    assert loaded.data.split == {"control": 0.5, "treatment": 0.5}  # the last stage's
    assert loaded.treatment == "treatment"
    assert loaded.stage_of(dt.date(2026, 9, 7)) == 0
    assert loaded.stage_of(dt.date(2026, 9, 8)) == 1
    assert loaded.stage_of(dt.date(2026, 10, 30)) == 1


def _ramp(**changes: Any) -> list[dict[str, Any]]:
    stages = [dict(stage) for stage in RAMP]
    for key, value in changes.items():
        index, field = key.split("_", 1)
        stages[int(index[1:])][field] = value
    return stages


BAD = [
    ({"segments": ["platform", "platform"]}, "segments: platform is listed twice"),
    ({"segments": ["variant"]}, "segments[0].column: variant is a contract column"),
    ({"segments": ["plat form"]}, 'segments[0].column: "plat form" is not a column name'),
    ({"segments": [{"column": "os", "min_units": 1}]}, "segments[0].min_units: 1 is too small"),
    ({"rollout": []}, "rollout: needs at least one stage"),
    ({"rollout": _ramp(s0_start="2026-09-02")}, "rollout[0].start: 2026-09-02 is not"),
    ({"rollout": _ramp(s1_start="2026-09-01")}, "rollout[1].start: 2026-09-01 must be after"),
    (
        {"rollout": _ramp(s1_split={"control": 0.5, "variant_b": 0.5})},
        "rollout[1].split: the arms control, variant_b differ",
    ),
    ({"rollout": _ramp(s0_split={"control": 0.9, "treatment": 0.2})}, "shares sum to 1.1"),
    (
        {"rollout": RAMP, "data.split": {"control": 0.9, "treatment": 0.1}},
        "data.split: differs from the last stage of rollout",
    ),
]


@pytest.mark.parametrize(("changes", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_segments_and_rollouts(
    tmp_path: Path, spec_dict: dict[str, Any], changes: dict[str, Any], message: str
) -> None:
    for key, value in changes.items():
        if key == "data.split":
            spec_dict["data"]["split"] = value
        else:
            spec_dict[key] = value
            if key == "rollout":
                spec_dict["data"].pop("split", None)
    with pytest.raises(SpecError) as error:
        spec_module.load(write_spec(tmp_path, spec_dict))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_rollout_belongs_to_experiments(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    spec_dict["design"] = "adoption"
    spec_dict["rollout"] = RAMP
    with pytest.raises(SpecError, match="rollout belongs to design: experiment"):
        spec_module.load(write_spec(tmp_path, spec_dict))
    del spec_dict["rollout"]
    spec_dict["segments"] = ["platform"]
    with pytest.raises(SpecError, match="segments belong to design: experiment"):
        spec_module.load(write_spec(tmp_path, spec_dict))


def test_segments_and_rollout_are_deciding_and_old_locks_stay_valid(
    tmp_path: Path, spec_dict: dict[str, Any]
) -> None:
    path = write_spec(tmp_path, spec_dict)
    before = registry.canonical(spec_module.load(path))
    assert "segments" not in before and "rollout" not in before  # old hashes unchanged
    registry.register(spec_module.load(path), now=BEFORE_LAUNCH)
    spec_dict["segments"] = ["platform"]
    del spec_dict["data"]["split"]
    spec_dict["rollout"] = RAMP
    state = registry.check(spec_module.load(write_spec(tmp_path, spec_dict)))
    deciding = {c["field"].split("[")[0] for c in state.tampered}
    assert deciding == {"segments", "rollout"}


def test_a_spec_without_segments_rollout_or_bet_keeps_its_canonical_form(
    spec_dict: dict[str, Any], tmp_path: Path
) -> None:
    canonical = registry.canonical(spec_module.load(write_spec(tmp_path, spec_dict)))
    assert not {"segments", "rollout", "bet"} & set(canonical)


def test_validate_says_a_prepost_metric_s_model() -> None:
    from click.testing import CliRunner
    from conftest import ROOT

    from impact.cli import main

    done = CliRunner().invoke(main, ["validate", str(ROOT / "specs" / "demo-prepost.yaml")])
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert (
        "  model of orders: local level + 7d seasonal; control series market_visits, "
        "search_interest; fitted on the 365d before launch"
    ) in lines
    assert (
        "  model of refund_rate: local level + 7d seasonal; no control series (the forecast "
        "rests on its own past); fitted on the 365d before launch"
    ) in lines
