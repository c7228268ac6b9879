"""A staged rollout: the sample ratio per stage, and an effect a ramp does not fool."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from launches import TODAY
from staged import ramp_launch

from impact import review, rollout, runner


@pytest.fixture(scope="module")
def ramped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, pd.DataFrame]:
    spec, frame = ramp_launch(tmp_path_factory.mktemp("ramp"))
    return review.run(str(spec), "56d", TODAY), frame


def test_the_stratified_estimate_is_not_fooled_by_the_ramp(
    ramped: tuple[Any, pd.DataFrame],
) -> None:
    result, _ = ramped
    stratified = result.primary.comparison
    pooled = result.pooled["conversion"].comparison
    assert stratified.effect is not None and stratified.se is not None
    assert pooled.effect is not None and pooled.se is not None
    assert abs(stratified.effect) < 2.5 * stratified.se  # the true effect is 0
    assert pooled.effect > 4 * pooled.se  # late, higher-baseline units are mostly treated
    assert result.pooled_shown("conversion") is pooled


def test_the_stratified_estimate_equals_a_hand_computation(
    ramped: tuple[Any, pd.DataFrame],
) -> None:
    result, frame = ramped
    effects, variances, sizes = [], [], []
    for stage in (0, 1):
        members = frame[frame.stage == stage]
        c = members[members.variant == "control"].converted
        t = members[members.variant == "treatment"].converted
        effects.append(t.mean() - c.mean())
        variances.append(t.var(ddof=0) / len(t) + c.var(ddof=0) / len(c))
        sizes.append(len(members))
    weights = [n / sum(sizes) for n in sizes]
    effect = sum(w * d for w, d in zip(weights, effects, strict=True))
    se = math.sqrt(sum(w * w * v for w, v in zip(weights, variances, strict=True)))
    comparison = result.primary.comparison
    assert comparison.effect == pytest.approx(effect, abs=1e-12)
    assert comparison.se == pytest.approx(se, rel=1e-9)
    estimates = result.stages["conversion"]
    assert [e.weight for e in estimates] == pytest.approx(weights)


def test_the_sample_ratio_is_checked_per_stage_and_a_correct_ramp_passes(
    ramped: tuple[Any, pd.DataFrame],
) -> None:
    result, frame = ramped
    ratios = [c for c in result.checks if c.name == "sample_ratio"]
    assert len(ratios) == 3  # each stage, then the whole launch against the stages' splits
    assert all(c.passed for c in ratios)
    assert "stage 1 (from 2026-09-01 to 2026-09-07)" in ratios[0].detail
    assert ratios[2].detail.startswith(
        "the whole launch (2 stages, each held to its own split): units per arm control "
    )
    units = {arm: sum(p.units[arm] for p in result.phases) for arm in ("control", "treatment")}
    assert f"control {units['control']:,}, treatment {units['treatment']:,} match" in (
        ratios[2].detail
    )
    assert result.verdict.outcome != "invalid"
    payload = result.to_json()
    runner.validate_verdict(payload)
    phases = payload["phases"]
    assert [p["start"] for p in phases] == ["2026-09-01", "2026-09-08"]
    assert phases[0]["split"] == {"control": 0.9, "treatment": 0.1}
    first = frame[frame.stage == 0]
    assert phases[0]["n"] == {
        "control": int((first.variant == "control").sum()),
        "treatment": int((first.variant == "treatment").sum()),
    }
    assert phases[0]["sample_ratio_p_value"] > 0.01
    assert payload["pooled"]["conversion"]["shown"] is True


def test_a_broken_stage_fires_its_sample_ratio_check(tmp_path: Path) -> None:
    spec, _ = ramp_launch(tmp_path, lost=0.1)
    result = review.run(str(spec), "56d", TODAY)
    assert result.verdict.outcome == "invalid"
    assert result.verdict.reasons[0].startswith(
        "sample ratio mismatch in stage 2 (from 2026-09-08 on)"
    )
    first = next(c for c in result.checks if c.name == "sample_ratio")
    assert first.passed


def test_without_stages_the_ramp_fools_the_whole_launch_check(tmp_path: Path) -> None:
    """What the stages are for: the same correct ramp against one fixed split is an SRM."""
    spec, _ = ramp_launch(tmp_path, staged=False)
    result = review.run(str(spec), "56d", TODAY)
    assert result.verdict.outcome == "invalid"
    assert result.verdict.reasons[0].startswith("sample ratio mismatch")


def test_cuped_runs_within_each_stage(tmp_path: Path) -> None:
    spec, _ = ramp_launch(tmp_path, cuped=True, effect=0.05)
    result = review.run(str(spec), "56d", TODAY)
    estimates = result.stages["conversion"]
    assert all(e.analysis.cuped_applied for e in estimates)
    combined = sum(e.weight * e.analysis.comparison.effect for e in estimates)
    analysis = result.analyses["conversion"]
    assert analysis.comparison.effect == pytest.approx(combined, abs=1e-12)
    assert analysis.cuped_applied
    assert analysis.comparison.se < analysis.unadjusted.se
    reduction = 1 - (analysis.comparison.se / analysis.unadjusted.se) ** 2
    assert result.to_json()["primary"]["cuped"]["variance_reduction"] == pytest.approx(reduction)
    assert reduction > 0.02  # buying before exposure raises the chance by 16 pp


def test_a_stage_without_units_yet_is_said_so(tmp_path: Path) -> None:
    spec, _ = ramp_launch(tmp_path)
    document = yaml.safe_load(spec.read_text())
    document["rollout"].append({"start": "2026-10-20", "split": {"control": 0.5, "treatment": 0.5}})
    spec.write_text(yaml.safe_dump(document))
    result = review.run(str(spec), "56d", TODAY)
    ratios = [c for c in result.checks if c.name == "sample_ratio"]
    assert ratios[2].detail == "stage 3 (from 2026-10-20 on): no units yet"
    assert result.stages["conversion"][2].note == (
        "no mature units in this stage yet (none whose window has ended)"
    )
    assert rollout.MATTERS == 0.5


def test_a_rollout_needs_exposure_times(tmp_path: Path) -> None:
    """A user-level export (column metrics) may lack exposure times; a rollout may not."""
    from impact.errors import DataError

    spec, frame = ramp_launch(tmp_path)
    document = yaml.safe_load(spec.read_text())
    document["data"]["events"] = None
    document["metrics"]["primary"] = {
        "name": "conversion",
        "kind": "proportion",
        "column": "converted",
        "target": "+0.03",
        "direction": "increase",
    }
    spec.write_text(yaml.safe_dump(document))
    units = frame.drop(columns=["stage", "exposed_at"])
    units.to_parquet(tmp_path / "data" / "units.parquet", index=False)
    with pytest.raises(DataError, match="rollout: a unit's stage is the day of its first"):
        review.prepare(str(spec), "56d", TODAY)  # before any notebook runs: none is left


def test_the_novelty_weeks_and_the_by_day_line_are_stratified_too(
    ramped: tuple[Any, pd.DataFrame],
) -> None:
    """Found by a new user: the week table and the by-day chart pooled the stages, and read
    the ramp's drift as an effect beside a stratified verdict. Every purchase here comes a
    day after exposure, so the first week's effect is the whole window's."""
    result, _ = ramped
    stratified = result.analyses["conversion"].unadjusted
    pooled = result.pooled["conversion"].unadjusted
    first = result.weeks[0]
    assert first.effect == pytest.approx(stratified.effect, abs=1e-12)
    assert first.se == pytest.approx(stratified.se, rel=1e-9)
    assert abs(first.effect - pooled.effect) > 2 * first.se  # the pooled week was fooled
    assert result.weeks[1].effect == pytest.approx(0.0, abs=1e-12)
    days = rollout.by_day(result.spec, result.table.metrics["conversion"], alpha=0.05)
    assert days[-1].up_to.effect == pytest.approx(stratified.effect, abs=1e-12)
    assert all(d.that_day.effect is not None for d in days)
