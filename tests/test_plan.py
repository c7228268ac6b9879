"""impact plan: units and days for the target and each margin."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO_SPEC, ROOT, write_spec

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


def test_plan_with_accrual_that_stops_says_a_target_cannot_be_reached() -> None:
    loaded = spec_module.load(DEMO_SPEC)
    # installs stop after 5 days: 5,000 units, fewer than the primary needs
    found = plan.plan(loaded, daily_units=1000, accrual_end=loaded.launch_date.replace(day=6))
    assert found.total_units == 5000
    primary = found.metrics[0]
    assert not primary.reachable and primary.days is None
    assert primary.units is not None and primary.units > 5000
    assert f"needs {primary.units:,} units and accrual stops at 5,000" in primary.note
    assert any("cannot reach its target" in w for w in found.warnings)
    # a total is the same stop; the information fractions follow the capped accrual
    by_total = plan.plan(loaded, daily_units=1000, total_units=5000)
    assert by_total.metrics[0].note == primary.note
    assert by_total.fractions == [0.99, 1.0]  # every unit has matured by the 28d look
    assert by_total.final_level == pytest.approx(
        sequential.nominal_levels([0.99, 1.0], 0.05)[0]  # so the 28d look can show it
    )


def test_plan_uses_matures_after_and_the_spec_accrual_end() -> None:
    loaded = spec_module.load(ROOT / "docs" / "examples" / "cookie-cats" / "cookie-cats.yaml")
    found = plan.plan(loaded, daily_units=10_000)
    assert found.total_units == 70_000  # 2026-09-01 to 2026-09-08: 7 days of installs
    retention_7 = found.metrics[0]
    assert retention_7.reachable and retention_7.units is not None
    assert retention_7.days == -(-retention_7.units // 10_000) + 7  # matures_after: 7d


def test_plan_cli_with_accrual_end() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "impact",
            "plan",
            str(DEMO_SPEC),
            "--daily-units",
            "1000",
            "--accrual-end",
            "2026-09-06",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "accrual stops at 5,000 units" in done.stdout
    assert "primary checkout_conversion: cannot reach its target" in done.stdout
    assert done.stdout.count("cannot reach its target") == 1  # not again as a warning


def test_plan_warns_when_no_unit_has_matured_by_the_final_review(tmp_path: Path) -> None:
    """Without exposure times every unit counts only from data.accrual_end plus
    matures_after: a final review before that sees none (found by a new user)."""
    source = ROOT / "docs" / "examples" / "cookie-cats" / "cookie-cats.yaml"
    text = source.read_text().replace("reviews: [10d, 28d]", "reviews: [10d]")
    assert "reviews: [10d]" in text
    spec_path = tmp_path / "cookie-cats.yaml"
    spec_path.write_text(text)
    found = plan.plan(spec_module.load(spec_path), daily_units=10_000)
    assert any("retention_7" in w and "2026-09-15" in w and "10d" in w for w in found.warnings), (
        found.warnings
    )
