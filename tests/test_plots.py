"""Charts: what each shows, in words a reader can follow (axes, legends, reference lines)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import DEMO_SPEC

from impact import analysis, demo, plots, review


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> review.ReviewResult:
    root = tmp_path_factory.mktemp("checkout")
    demo.generate(root / "data" / "demo", units=4000)
    spec = root / "specs" / "demo-checkout.yaml"
    spec.parent.mkdir()
    spec.write_text(DEMO_SPEC.read_text())
    return review.run(str(spec), today="2026-11-26")


def _texts(axes: Any) -> list[str]:
    return [text.get_text() for text in axes.texts]


def test_effect_by_day_pools_every_day_into_the_whole_look(
    checkout: review.ReviewResult,
) -> None:
    data = checkout.table.metrics["checkout_conversion"]
    days = analysis.by_day(data, alpha=0.05)
    mature = [day for day, (c, t) in sorted(data.by_day.items()) if c.n + t.n]
    assert [day.day for day in days] == mature and len(mature) < len(data.by_day)
    whole = analysis.analyse(data, alpha=0.05, per_arm=False).unadjusted
    assert days[-1].up_to.effect == pytest.approx(whole.effect)
    assert days[-1].up_to.ci_lower == pytest.approx(whole.ci_lower)
    assert days[0].up_to == days[0].that_day
    # the pooled interval narrows as units accrue
    first, last = days[0].up_to, days[-1].up_to
    assert last.ci_upper - last.ci_lower < (first.ci_upper - first.ci_lower) / 3


def test_by_day_chart_is_one_effect_line_with_its_interval_and_the_target(
    checkout: review.ReviewResult,
) -> None:
    chart = plots.by_exposure_day(checkout)
    (axes,) = chart.figure.axes
    assert "treatment minus control" in axes.get_ylabel()
    assert "percentage points" in axes.get_ylabel()
    assert axes.get_xlabel().startswith("day of first exposure")
    level = f"{(1 - checkout.primary.comparison.alpha) * 100:.3g}%"
    lines = [line for line in axes.get_lines() if not line.get_label().startswith("_")]
    assert [line.get_label() for line in lines] == [
        f"units exposed up to that day ({level} interval)",
        "units exposed that day alone",
    ]
    assert any(text.startswith("target +2.00 pp") for text in _texts(axes))
    assert "exposed up to each day" in axes.get_title(loc="left")
    last = analysis.by_day(checkout.table.metrics["checkout_conversion"], alpha=0.05)[-1].up_to
    assert f"{last.effect * 100:+.2f} pp" in chart.alt
    assert chart.smallest_text >= 9.5 * plots.DPI / 72 - 0.01


def test_week_chart_shows_the_whole_window_it_is_part_of(checkout: review.ReviewResult) -> None:
    chart = plots.by_week(checkout)
    assert chart is not None
    (axes,) = chart.figure.axes
    whole = checkout.analyses["checkout_conversion"].unadjusted.effect
    assert whole is not None
    assert f"whole 14-day window: {whole * 100:+.2f} pp" in _texts(axes)
    assert "treatment minus control" in axes.get_ylabel()
