"""One rule for digits, in the metric's units (impact/formats.py)."""

from __future__ import annotations

import pytest

from impact import formats
from impact.formats import Style
from impact.spec import Metric

USD = Style("currency", "USD")
SHARE = Style("percent")
PLAIN = Style("number")


@pytest.mark.parametrize(
    ("style", "low", "high", "estimate", "expected"),
    [
        (PLAIN, -1.381, 0.8173, None, "-1.38 to +0.82"),
        (SHARE, 0.0242, 0.0399, 0.0320, "+2.42 to +3.99 pp"),
        (USD, -1.381, 0.8173, None, "-$1.38 to +$0.82"),
        (Style("currency", "CHF"), 1200.0, 5400.0, None, "+1,200 to +5,400 CHF"),
        (Style("count", "orders"), 4.459, 95.99, 50.22, "+4.5 to +96.0 orders"),
        (PLAIN, 0.0, 0.0, None, "+0.00 to +0.00"),
        (PLAIN, None, 1.0, None, "unbounded"),
    ],
)
def test_an_interval_shares_its_decimals(
    style: Style, low: float | None, high: float | None, estimate: float | None, expected: str
) -> None:
    assert formats.interval(style, low, high, estimate=estimate) == expected


def test_levels_changes_and_relative_changes() -> None:
    assert formats.value(SHARE, 0.3330, group=[0.3650]) == "33.3%"
    assert formats.value(USD, 20.6312) == "$20.63"
    assert formats.value(PLAIN, 0.5084, group=[0.466]) == "0.508"
    assert formats.value(PLAIN, 0.466, group=[0.5084]) == "0.466"
    assert formats.change(SHARE, -0.0009) == "-0.0900 pp"
    assert formats.change(USD, -0.004) == "+$0.00"  # never "-0"
    assert formats.relative(0.0962) == "+9.6%"
    assert formats.relative_interval(0.0718, 0.1211) == "+7.2% to +12.1%"
    assert formats.relative_interval(None, 0.3) == "unbounded"
    assert formats.value(PLAIN, None) == formats.MISSING


def test_a_metric_style_comes_from_the_spec_or_its_kind() -> None:
    share = Metric(name="c", kind="proportion", event="buy", window="14d", direction="increase")
    money = Metric(
        name="r",
        kind="mean",
        event="buy",
        value="sum",
        window="14d",
        direction="increase",
        unit="EUR",
        format="currency",
    )
    assert formats.of(share) == SHARE
    assert formats.of(money) == Style("currency", "EUR")
    # a before/after series derived from events: the daily share with the event (found by a
    # new user: 0.172 -> 0.221), the events per active unit a number
    daily_share = Metric(name="s", event="buy", direction="increase")
    per_unit = Metric(name="n", event="buy", value="count", direction="increase")
    assert formats.of(daily_share) == SHARE
    assert formats.of(per_unit) == PLAIN
    # and what the series is, said in validate and the report's data section
    assert daily_share.series_words == "the share of units active that day with a buy event"
    assert per_unit.series_words == "buy events per unit active that day"
    assert formats.style_of_json({"kind": "mean", "format": "count", "unit": "orders"}) == Style(
        "count", "orders"
    )
    assert formats.style_of_json({"kind": "proportion"}) == SHARE


@pytest.mark.parametrize(
    ("number", "words"),
    [(0.8, "80%"), (0.994, "99%"), (0.9992, "over 99%"), (0.003, "under 1%"), (0.0, "under 1%")],
)
def test_a_power_is_never_rounded_to_a_certainty(number: float, words: str) -> None:
    """Found by a new user: the report said 100% power for 0.9992."""
    assert formats.power(number) == words
