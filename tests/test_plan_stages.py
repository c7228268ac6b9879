"""impact plan with rollout stages and segments: the units each stage contributes and the
power per segment value for the target."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from conftest import impact_cli, write_spec

from impact import plan
from impact import spec as spec_module
from impact.stats import power

RAMP = [
    {"start": "2026-09-01", "split": {"control": 0.9, "treatment": 0.1}},
    {"start": "2026-09-08", "split": {"control": 0.5, "treatment": 0.5}},
]


def _staged(tmp_path: Path, spec_dict: dict[str, Any]) -> spec_module.LaunchSpec:
    del spec_dict["data"]["split"]
    spec_dict["rollout"] = RAMP
    spec_dict["segments"] = ["platform"]
    return spec_module.load(write_spec(tmp_path, spec_dict))


def test_units_per_stage_and_the_stratified_power(
    tmp_path: Path, spec_dict: dict[str, Any]
) -> None:
    loaded = _staged(tmp_path, spec_dict)
    found = plan.plan(loaded, daily_units=1000)
    # the final look (56d) counts units exposed up to day 56 - 14 = 42
    assert [(s.units, s.control, s.treatment) for s in found.stages] == [
        (7000, 6300, 700),
        (35000, 17500, 17500),
    ]
    vc, vt = power.proportion_variances(0.32, 0.02)
    variance = sum(
        (n / 42000) ** 2 * (vc / (n * (1 - p)) + vt / (n * p))
        for n, p in ((7000, 0.1), (35000, 0.5))
    )
    expected = power.achieved_power(se=math.sqrt(variance), effect=0.02, alpha=found.final_level)
    assert found.stage_power == pytest.approx(expected)
    shares = [share for share, _ in found.segment_power]
    assert shares == [0.5, 0.25, 0.1]
    half = power.achieved_power(se=math.sqrt(variance / 0.5), effect=0.02, alpha=found.final_level)
    assert found.segment_power[0][1] == pytest.approx(half)


def test_the_units_and_days_needed_count_the_ramp(
    tmp_path: Path, spec_dict: dict[str, Any]
) -> None:
    """The days the primary needs are the first at which the stratified power reaches the
    wanted power, not the days the last stage's split alone would need."""
    loaded = _staged(tmp_path, spec_dict)
    found = plan.plan(loaded, daily_units=1000)
    primary = found.metrics[0]
    assert primary.units is not None and primary.days is not None
    vc, vt = power.proportion_variances(0.32, 0.02)

    def stratified_power(accrual: int) -> float:
        stages = ((min(accrual, 7), 0.1), (max(accrual - 7, 0), 0.5))
        total = sum(1000 * days for days, _ in stages)
        variance = sum(
            (1000 * days / total) ** 2 * (vc / (1000 * days * (1 - p)) + vt / (1000 * days * p))
            for days, p in stages
            if days
        )
        return power.achieved_power(se=math.sqrt(variance), effect=0.02, alpha=found.final_level)

    accrual = primary.days - 14  # the window
    assert stratified_power(accrual) >= 0.8 > stratified_power(accrual - 1)
    assert primary.units == 1000 * accrual
    last_split_only = power.sample_size(
        variance_control=vc,
        variance_treatment=vt,
        effect=0.02,
        alpha=found.final_level,
        power=0.8,
    )
    assert primary.units > last_split_only  # the 10% stage costs precision


def test_without_stages_or_segments_the_plan_is_unchanged(spec_dict: dict[str, Any]) -> None:
    from conftest import DEMO_SPEC

    found = plan.plan(spec_module.load(DEMO_SPEC), daily_units=1000)
    assert found.stages == [] and found.stage_power is None and found.segment_power == []


def test_cli_plan_says_the_stages_and_the_segment_power(
    tmp_path: Path, spec_dict: dict[str, Any]
) -> None:
    _staged(tmp_path, spec_dict)
    result = impact_cli("plan", "spec.yaml", "--daily-units", "1000", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "  stage 1 from 2026-09-01 (10% treatment): 7,000 units (6,300 control, 700 " in out
    assert "  stage 2 from 2026-09-08 (50% treatment): 35,000 units" in out
    assert (
        "units (over the stages, each split as registered) to find the target +2.00 pp, with "
        "80.0% power"
    ) in out
    assert "at an even split" not in out
    assert "power for the target over these stages at the final look:" in out
    assert "power for the target within one platform value: " in out
    assert "% with 50% of the units, " in out
