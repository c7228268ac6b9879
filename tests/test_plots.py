"""Charts: what each shows, in words a reader can follow (axes, legends, reference lines)."""

from __future__ import annotations

from typing import Any

import matplotlib.dates as mdates
import pytest
from conftest import DEMO_SPEC
from matplotlib.backends.backend_agg import FigureCanvasAgg

from impact import adoption_review, analysis, demo, message, plots, prepost, review


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> review.ReviewResult:
    root = tmp_path_factory.mktemp("checkout")
    demo.generate(root / "data" / "demo", units=4000)
    spec = root / "specs" / "demo-checkout.yaml"
    spec.parent.mkdir()
    spec.write_text(DEMO_SPEC.read_text())
    return review.run(str(spec), today="2026-11-26")


@pytest.fixture(scope="module")
def banner(tmp_path_factory: pytest.TempPathFactory) -> prepost.PrepostResult:
    root = tmp_path_factory.mktemp("banner")
    demo.generate_series(root / "data" / "demo-prepost")
    spec = demo.write_demo_spec(root / "specs", "prepost")
    return prepost.run(str(spec), today="2026-11-26")


@pytest.fixture(scope="module")
def feature(tmp_path_factory: pytest.TempPathFactory) -> adoption_review.AdoptionReview:
    root = tmp_path_factory.mktemp("feature")
    demo.generate_adoption(root / "data" / "demo-adoption", units=5000)
    spec = demo.write_demo_spec(root / "specs", "adoption")
    return adoption_review.run(str(spec), today="2026-11-26")


def _texts(axes: Any) -> list[str]:
    return [text.get_text() for text in axes.texts]


def _fits(chart: plots.Chart) -> None:
    """Everything drawn (titles, labels, legends) is inside the figure: none cut at an edge."""
    canvas = FigureCanvasAgg(chart.figure)
    canvas.draw()
    drawn = chart.figure.get_tightbbox(canvas.get_renderer())
    edge = chart.figure.bbox_inches
    tolerance = 2 / plots.DPI  # inches
    assert drawn.x0 >= edge.x0 - tolerance and drawn.x1 <= edge.x1 + tolerance, (drawn, edge)
    assert drawn.y0 >= edge.y0 - tolerance and drawn.y1 <= edge.y1 + tolerance, (drawn, edge)


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
    _fits(chart)


def test_week_chart_shows_the_whole_window_it_is_part_of(checkout: review.ReviewResult) -> None:
    chart = plots.by_week(checkout)
    assert chart is not None
    (axes,) = chart.figure.axes
    whole = checkout.analyses["checkout_conversion"].unadjusted.effect
    assert whole is not None
    assert f"whole 14-day window: {whole * 100:+.2f} pp" in _texts(axes)
    assert "treatment minus control" in axes.get_ylabel()


def test_prepost_chart_centres_on_launch_with_the_whole_history_above(
    banner: prepost.PrepostResult,
) -> None:
    chart = plots.counterfactual(banner)
    overview, actual, daily, cumulative = chart.figure.axes
    series = banner.series
    first, launch = series.dates[0], series.dates[series.launch]
    assert overview.get_title(loc="left").startswith("The whole history")
    assert mdates.num2date(overview.get_xlim()[0]).date() <= first.date()
    # the detail starts about as long before launch as the launch has been running
    start = mdates.num2date(actual.get_xlim()[0]).date()
    assert (launch.date() - start).days <= max(series.post_days, 28) + 7
    for axes in (actual, daily, cumulative):
        assert axes.get_ylabel()
    labels = [line.get_label() for line in actual.get_lines()]
    assert "actual" in labels and "without the launch (model)" in labels
    assert any(text.startswith("target +3.0% = +") for text in _texts(daily)), _texts(daily)
    _fits(chart)
    assert f"whole history from {first:%Y-%m-%d}" in chart.alt


def test_no_chart_text_is_cut_at_the_edge(
    checkout: review.ReviewResult,
    banner: prepost.PrepostResult,
    feature: adoption_review.AdoptionReview,
) -> None:
    charts = [plots.effects(checkout), plots.by_week(checkout), plots.by_exposure_day(checkout)]
    charts += [plots.effects(banner), plots.counterfactual(banner), plots.placebos(banner)]
    charts += [plots.funnel(feature), plots.retention(feature)]
    for chart in charts:
        assert chart is not None
        _fits(chart)


def test_placebo_chart_says_its_scale_in_words(banner: prepost.PrepostResult) -> None:
    (axes,) = plots.placebos(banner).figure.axes
    assert axes.get_ylabel().startswith("effect in standard errors")


def test_funnel_title_says_the_diagnosis_in_words(feature: adoption_review.AdoptionReview) -> None:
    chart = plots.funnel(feature)
    assert chart is not None
    (axes,) = chart.figure.axes
    assert feature.adoption is not None
    diagnosis = feature.adoption.funnel.diagnosis
    assert axes.get_title(loc="left") == f"Adoption: {message.DIAGNOSES[diagnosis]}"


def test_a_chart_writes_each_effect_as_the_tables_do(checkout: review.ReviewResult) -> None:
    """Found by a new user: the chart said -0.0900 pp where the table said -0.090 pp (its
    digits were chosen without the interval's)."""
    from impact import display
    from impact.verdict import format_effect

    rows = display.criteria(checkout).element.findall(".//tbody/tr")
    observed = {"".join(row[0].itertext()): "".join(row[3].itertext()) for row in rows}
    for axes in plots.effects(checkout).figure.axes:
        name, rest = axes.get_title(loc="left").split(" (", 1)
        assert rest.split(": ", 1)[1].startswith(observed[name] + ","), (name, rest, observed)
    weeks = plots.by_week(checkout)
    assert weeks is not None
    metric = checkout.primary.metric
    for i, week in enumerate(checkout.weeks):
        assert week.effect is not None
        shown = format_effect(metric, week.effect, group=(week.ci_lower, week.ci_upper))
        assert f"week {i + 1}: {shown}" in weeks.alt
