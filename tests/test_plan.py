"""impact plan: units and days for the target and each margin."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO_SPEC, write_spec

from impact import plan
from impact import spec as spec_module
from impact.stats import power, sequential


def test_plan_matches_the_power_formulas() -> None:
    loaded = spec_module.load(DEMO_SPEC)
    found = plan.plan(loaded, daily_units=1000)
    level = sequential.nominal_levels([(28 - 14) / (56 - 14), 1.0], 0.05)[-1]
    assert found.final_level == pytest.approx(level)
    primary = found.metrics[0]
    vc, vt = power.proportion_variances(0.32, 0.02)
    expected = power.sample_size(
        variance_control=vc, variance_treatment=vt, effect=0.02, alpha=level, power=0.8
    )
    assert primary.units == expected and primary.days == -(-expected // 1000) + 14
    guardrails = found.metrics[1:]
    assert [g.power for g in guardrails] == pytest.approx([1 - 0.2 / 3] * 2)
    refund = guardrails[0]
    v = 0.02 * 0.98
    assert refund.units == power.sample_size(
        variance_control=v, variance_treatment=v, effect=0.005, alpha=level, power=1 - 0.2 / 3
    )


def test_plan_warns_when_the_final_review_comes_too_early() -> None:
    found = plan.plan(spec_module.load(DEMO_SPEC), daily_units=100)
    assert any("needs" in w and "final review is at 56d" in w for w in found.warnings)


def test_plan_says_what_is_missing(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    del spec_dict["metrics"]["guardrails"][0]["baseline"]
    spec_dict["metrics"]["primary"]["target"] = "+5%"
    del spec_dict["metrics"]["primary"]["baseline"]
    found = plan.plan(spec_module.load(write_spec(tmp_path, spec_dict)), daily_units=1000)
    assert found.metrics[0].note == "a relative threshold needs baseline to plan"
    assert found.metrics[1].note == "add baseline to plan it"


def test_plan_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "impact", "plan", str(DEMO_SPEC), "--daily-units", "150"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "primary checkout_conversion:" in done.stdout and "warning:" in done.stdout
