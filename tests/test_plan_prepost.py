"""impact plan on a before/after spec: what the pre-period lets the final review detect."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from conftest import DEMO_SPEC
from scipy import stats

from impact import demo, plan_prepost, prepost
from impact import spec as spec_module
from impact.cli import main


@pytest.fixture(scope="module")
def launch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("plan-prepost")
    demo.generate_series(root / "data" / "demo-prepost")
    return demo.write_demo_spec(root / "specs", "prepost")


def test_the_plan_foresees_the_review_s_precision(launch: Path) -> None:
    """Sized before launch from the pre-period alone, the spread of the average effect is
    what the 56d review then finds (with the real control series after launch)."""
    spec = spec_module.load(launch)
    found = plan_prepost.plan(spec)
    review = prepost.run(str(launch), "56d", "2026-10-28")
    assert found.final_level == pytest.approx(review.look.alpha)
    orders, refunds = found.metrics
    assert orders.sd == pytest.approx(review.models["orders"].effect.sd, rel=0.05)
    assert refunds.sd == pytest.approx(review.models["refund_rate"].effect.sd, rel=1e-6)
    z = stats.norm.ppf(1 - found.final_level / 2)
    target = 0.03 * abs(orders.baseline)  # target: +3%
    assert orders.threshold == pytest.approx(target)
    expected = stats.norm.sf(z - target / orders.sd) + stats.norm.cdf(-z - target / orders.sd)
    assert orders.power == pytest.approx(expected)
    assert orders.detectable == pytest.approx((z + stats.norm.ppf(0.8)) * orders.sd)
    assert refunds.power == pytest.approx(stats.norm.cdf(0.5 / refunds.sd - z))
    said = plan_prepost.lines(spec, found)
    assert said[0].startswith("demo-prepost: before/after, a model of the 365 days before launch")
    assert said[1].startswith("  primary orders: forecast ")
    assert said[-1] == "  the final review can see the target and every margin"


def _planned(launch: Path, folder: Path, **changes: Any) -> tuple[Path, list[str]]:
    """The demo spec with ``changes`` (``primary`` for its primary metric's fields; None
    removes one), reading the demo's data, and the lines `impact plan` prints for it."""
    document = yaml.safe_load(launch.read_text())
    for key, value in changes.pop("primary", {}).items():
        if value is None:
            del document["metrics"]["primary"][key]
        else:
            document["metrics"]["primary"][key] = value
    if "guardrails" in changes:
        document["metrics"]["guardrails"] = changes.pop("guardrails")
    document.update(changes)
    document["data"]["source"] = str(launch.parent.parent / "data" / "demo-prepost")
    path = folder / "changed.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    done = CliRunner().invoke(main, ["plan", str(path)])
    assert done.exit_code == 0, done.output
    return path, done.output.splitlines()


def test_a_plan_before_the_last_days_are_in_uses_the_history_there_is(
    launch: Path, tmp_path: Path
) -> None:
    """Found by a new user: `impact plan` on a prepost spec exited 2 until the data reached
    the day before launch, while a plan is made before launch."""
    data = launch.parent.parent / "data" / "demo-prepost"
    last = pd.read_parquet(data / "daily.parquet")["date"].max()
    path, said = _planned(launch, tmp_path, launch_date=(last + dt.timedelta(days=9)).isoformat())
    assert f"  warning: the series ends on {last}, 8 days before launch: this plan is fit on " in (
        "\n".join(said)
    )
    found = plan_prepost.plan(spec_module.load(path))
    assert found.pre_days == 365 - 8 and found.metrics[0].sd > 0


def test_a_weekly_pattern_left_out_is_found_by_the_plan_before_launch(
    launch: Path, tmp_path: Path
) -> None:
    """Found by a new user: a weekly series without `seasonality` planned fine, and every
    review after launch was invalid (its errors repeat at 7 days)."""
    _, said = _planned(launch, tmp_path, primary={"seasonality": None, "controls": []})
    warning = next(line for line in said if "repeat" in line)
    assert warning.startswith("  warning: orders: the model's one-day forecast errors repeat")
    assert warning.endswith("be invalid; register seasonality: 7d before launch")
    registered = CliRunner().invoke(main, ["plan", str(launch)])
    assert "repeat" not in registered.output


def test_without_its_controls_the_target_is_out_of_reach(launch: Path, tmp_path: Path) -> None:
    _, said = _planned(launch, tmp_path, primary={"controls": []}, guardrails=[])
    warning = next(line for line in said if "warning" in line)
    assert warning.startswith("  warning: orders: ") and "below decision.power 80%" in warning
    assert "add control series that track it" in warning
    # Found by a new user: the warning said "63.09 a day" where the line above said "63.1".
    under = re.search(r"hides effects under (.+?) a day", warning)
    assert under is not None
    primary = next(line for line in said if line.startswith("  primary orders:"))
    assert f"{under.group(1)} a day" in primary


def test_an_experiment_still_needs_daily_units() -> None:
    done = CliRunner().invoke(main, ["plan", str(DEMO_SPEC)])
    assert done.exit_code == 2
    assert "Missing option '--daily-units'" in done.output


def test_the_stand_in_keeps_the_weekdays() -> None:
    past = np.arange(30.0).reshape(-1, 1)
    assert plan_prepost.stand_in(past, 10, 7).ravel().tolist() == [16.0 + j for j in range(10)]


def test_no_placebo_window_is_said_plainly() -> None:
    """A pre-period too short for any placebo window: the calibration cannot be checked (the
    plan said a claim needed a rank p of at least 1.00, which the review does not ask)."""
    loaded = spec_module.load(DEMO_SPEC.parent / "demo-prepost.yaml")
    (said,) = plan_prepost._warnings(loaded, [], placebos=0)
    assert said.startswith("the pre-period holds no placebo launch of 56d: the model's ")
    assert "rank p" not in said
    (few,) = plan_prepost._warnings(loaded, [], placebos=4)
    assert "holds only 4 placebo launches" in few and "rank p at least 0.20" in few


def test_an_adoption_spec_is_told_what_plan_sizes(tmp_path: Path) -> None:
    done = CliRunner().invoke(main, ["plan", str(DEMO_SPEC.parent / "demo-adoption.yaml")])
    assert done.exit_code == 2
    assert "an adoption review" in done.output and "a adoption" not in done.output
    assert "pre-period" not in done.output
    assert "adoption.thresholds" in done.output
