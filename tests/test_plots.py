"""Charts: what each shows, in words a reader can follow (axes, legends, reference lines)."""

from __future__ import annotations

import re

import drawn
import pytest
from conftest import DEMO_SPEC

from impact import adoption_review, analysis, demo, message, plots, prepost, review, svg


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
    shown = drawn.words(chart)
    upright = [t.words for t in drawn.texts(chart) if t.upright]
    assert upright == ["treatment minus control", "(percentage points)"]
    assert "day of first exposure (UTC)" in shown
    level = f"{(1 - checkout.primary.comparison.alpha) * 100:.3g}%"
    assert f"units exposed up to that day ({level} interval)" in shown
    assert "units exposed that day alone" in shown
    assert "effect among units exposed up to each day" in shown  # the title's second line
    (target,) = [t for t in drawn.texts(chart) if t.words.startswith("target +2.00 pp")]
    # the target's words sit just above its dashed line, which is where 2.00 is on the scale
    per, zero = drawn.y_scale(chart)
    (line,) = [
        e for e in drawn.root(chart).iter(f"{drawn.NS}line") if e.get("stroke") == plots.TARGET
    ]
    assert float(line.get("y1", 0)) == pytest.approx(zero + 2.0 * per, abs=0.02)
    assert 0 < float(line.get("y1", 0)) - target.y < 8
    last = analysis.by_day(checkout.table.metrics["checkout_conversion"], alpha=0.05)[-1].up_to
    assert f"{last.effect * 100:+.2f} pp" in chart.alt
    assert chart.smallest_text >= 9.5 * plots.DPI / 72 - 0.1
    # a few short date labels: a phone has room for about five
    dates = [t for t in shown if re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}", t)]
    assert 2 <= len(dates) <= 5, dates
    drawn.fits(chart)


def test_week_chart_shows_the_whole_window_it_is_part_of(checkout: review.ReviewResult) -> None:
    chart = plots.by_week(checkout)
    assert chart is not None
    whole = checkout.analyses["checkout_conversion"].unadjusted.effect
    assert whole is not None
    assert f"whole 14-day window: {whole * 100:+.2f} pp" in drawn.words(chart)
    assert "week 1" in drawn.words(chart) and "week 2" in drawn.words(chart)
    assert next(t.words for t in drawn.texts(chart) if t.upright) == "treatment minus control"
    # each week's estimate is a point where its value is on the scale
    per, zero = drawn.y_scale(chart)
    points = [float(c.get("cy", 0)) for c in drawn.root(chart).iter(f"{drawn.NS}circle")]
    expected = [zero + w.effect * 100 * per for w in checkout.weeks if w.effect is not None]
    assert points == pytest.approx(expected, abs=0.02)


def test_prepost_chart_centres_on_launch_with_the_whole_history_above(
    banner: prepost.PrepostResult,
) -> None:
    chart = plots.counterfactual(banner)
    series = banner.series
    first, launch = series.dates[0], series.dates[series.launch]
    shown = drawn.words(chart)
    assert shown[0].startswith("The whole history")
    titles = ["orders: actual and without the launch", "effect per day (actual minus model)"]
    assert all(title in shown for title in [*titles, "cumulative effect since launch"])
    assert len(list(drawn.root(chart).iter(f"{drawn.NS}clipPath"))) == 4  # overview + three
    for label in ("actual", "without the launch (model)", "launch "):
        assert label in shown
    assert any(text.startswith("target +3.0% = +") for text in shown), shown
    upright = [t.words for t in drawn.texts(chart) if t.upright]
    assert upright == ["orders per day", "orders per day", "orders"]
    # the detail starts as long before launch as the launch has been running (28 days at
    # least): the launch line is that far along the detail's width
    clips = [c.find(f"{drawn.NS}rect") for c in drawn.root(chart).iter(f"{drawn.NS}clipPath")]
    left, width = (float(clips[1].get(name, 0)) for name in ("x", "width"))
    before = min(max(series.post_days, 28), series.launch)
    share = before / (before + series.post_days)
    dotted = [
        float(line.get("x1", 0))
        for line in drawn.root(chart).iter(f"{drawn.NS}line")
        if line.get("stroke-dasharray") == svg.DOTTED and line.get("x1") == line.get("x2")
    ]
    assert dotted[1] == pytest.approx(left + 1 + share * (width - 2), abs=0.02)
    assert f"whole history from {first:%Y-%m-%d}" in chart.alt
    assert f"launch on {launch:%Y-%m-%d}" in chart.alt
    drawn.fits(chart)


def test_a_daily_share_is_drawn_in_percent(banner: prepost.PrepostResult) -> None:
    """Found by a new user: a series derived from events (a share) had 0.10-0.16 on its
    axes and a "+0.500 pp" target line at 0.005, where every table wrote 12.1%."""
    import dataclasses

    orders = banner.models["orders"]
    share = orders.metric.model_copy(update={"format": "percent", "unit": None})
    models = {**banner.models, "orders": dataclasses.replace(orders, metric=share)}
    as_share = plots.counterfactual(dataclasses.replace(banner, models=models))
    upright = [t.words for t in drawn.texts(as_share) if t.upright]
    assert upright[:2] == ["% of active units", "percentage points"]

    def largest(chart: plots.SVGChart) -> float:
        numbers = [t.words for t in drawn.texts(chart) if re.fullmatch(r"[\d,]+", t.words)]
        return max(drawn.number(n) for n in numbers)

    # the same series, read as a share, is drawn 100 times larger: in % and in points
    assert largest(as_share) == pytest.approx(100 * largest(plots.counterfactual(banner)), rel=0.3)


@pytest.fixture(scope="module")
def charts(
    checkout: review.ReviewResult,
    banner: prepost.PrepostResult,
    feature: adoption_review.AdoptionReview,
) -> list[plots.SVGChart]:
    found = [plots.effects(checkout), plots.by_week(checkout), plots.by_exposure_day(checkout)]
    found += [plots.effects(banner), plots.counterfactual(banner), plots.placebos(banner)]
    found += [plots.funnel(feature), plots.retention(feature)]
    assert all(chart is not None for chart in found)
    return [chart for chart in found if chart is not None]


def test_no_chart_text_is_cut_at_the_edge(charts: list[plots.SVGChart]) -> None:
    for chart in charts:
        drawn.fits(chart)
        assert chart.smallest_text == svg.SMALL
        assert min(t.size for t in drawn.texts(chart)) == svg.SMALL


def test_charts_are_the_same_bytes_each_time(
    checkout: review.ReviewResult, charts: list[plots.SVGChart]
) -> None:
    assert plots.effects(checkout).svg == charts[0].svg
    assert plots.by_exposure_day(checkout).svg == charts[2].svg


def test_a_chart_is_an_svg_image_with_its_alt_text(charts: list[plots.SVGChart]) -> None:
    chart = charts[0]
    markup = chart.html()
    assert markup.startswith('<figure class="impact-figure"')
    assert 'src="data:image/svg+xml;base64,' in markup
    assert 'data-smallest-text="14.5"' in markup
    assert set(chart._repr_mimebundle_()) == {"text/html", "text/plain"}
    assert "<script" not in chart.svg and "href" not in chart.svg


def test_placebo_chart_says_its_scale_in_words(banner: prepost.PrepostResult) -> None:
    chart = plots.placebos(banner)
    upright = [t.words for t in drawn.texts(chart) if t.upright]
    assert upright[0] == "effect in standard errors" and upright[1] == "(0: no effect)"
    assert "launch" in drawn.words(chart)


def test_funnel_title_says_the_diagnosis_in_words(feature: adoption_review.AdoptionReview) -> None:
    chart = plots.funnel(feature)
    assert chart is not None
    assert feature.adoption is not None
    diagnosis = feature.adoption.funnel.diagnosis
    assert drawn.words(chart)[0] == f"Adoption: {message.DIAGNOSES[diagnosis]}"
    assert drawn.words(chart)[1:5] == ["eligible", "exposed", "tried", "repeat"][:4]


def test_a_chart_writes_each_effect_as_the_tables_do(checkout: review.ReviewResult) -> None:
    """Found by a new user: the chart said -0.0900 pp where the table said -0.090 pp (its
    digits were chosen without the interval's)."""
    from impact import display
    from impact.verdict import format_effect

    rows = display.criteria(checkout).element.findall(".//tbody/tr")
    observed = {"".join(row[0].itertext()): "".join(row[3].itertext()) for row in rows}
    titles = [t.words for t in drawn.texts(plots.effects(checkout)) if " (" in t.words]
    titles = [t for t in titles if t.split(" (")[0] in observed]
    assert len(titles) == len(observed)
    for title in titles:
        name, rest = title.split(" (", 1)
        assert rest.split(": ", 1)[1].startswith(observed[name] + ","), (name, rest, observed)
    weeks = plots.by_week(checkout)
    assert weeks is not None
    metric = checkout.primary.metric
    for i, week in enumerate(checkout.weeks):
        assert week.effect is not None
        shown = format_effect(metric, week.effect, group=(week.ci_lower, week.ci_upper))
        assert f"week {i + 1}: {shown}" in weeks.alt
