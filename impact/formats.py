"""How every number is written: in the metric's units, with one rule for digits.

The rule: a group of numbers read together (an estimate and its interval, a baseline and
the observed value) is written with the decimals that give its largest number three
significant digits, and every number of the group uses those decimals. So an interval
reads "-1.38 to +0.82", never "-1.381 to +0.8173". Currency shows cents whenever the rule
asks for any decimal; a relative change shows at most one decimal of a percent.

A metric's format comes from the spec (``format`` and ``unit``), or from its kind: a
proportion is a ``percent`` (values as 12.3%, changes in percentage points), and so is a
before/after series derived from events without a ``value`` (the daily share of active units
with the event); anything else a plain ``number``. The card, the tables, the chart labels
and verdict.md all format through this module, and verdict.json carries ``format`` and
``unit`` so that verdict.md, written from verdict.json alone, can too.

Examples:
    >>> money = Style("currency", "USD")
    >>> value(money, 20.6312), change(money, 0.4231), interval(money, -1.381, 0.8173)
    ('$20.63', '+$0.42', '-$1.38 to +$0.82')
    >>> share = Style("percent")
    >>> value(share, 0.3330, group=(0.365,)), change(share, 0.0320), relative(0.0962)
    ('33.3%', '+3.20 pp', '+9.6%')
    >>> change(Style("count", "orders"), 50.22, group=(4.459, 95.99))
    '+50.2 orders'
    >>> interval(Style("number"), 4.459, 95.99, estimate=50.22)
    '+4.5 to +96.0'
    >>> interval(share, 0.0242, 0.0399)
    '+2.42 to +3.99 pp'
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from impact.spec import Metric

__all__ = [
    "FORMATS",
    "MISSING",
    "Format",
    "Style",
    "change",
    "decimals",
    "interval",
    "of",
    "p_equals",
    "p_value",
    "power",
    "relative",
    "relative_interval",
    "style_of_json",
    "to_json",
    "value",
]

Format = Literal["percent", "currency", "count", "duration", "number"]
FORMATS: tuple[str, ...] = ("percent", "currency", "count", "duration", "number")
MISSING = "\N{EN DASH}"  # where a number is not available
SIGNIFICANT = 3
MINUS = "-"
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


@dataclass(frozen=True)
class Style:
    """How a metric's numbers are written.

    Attributes:
        format: percent (a share: values in %, changes in percentage points), currency
            (``unit`` is the ISO code, such as USD), count, duration (``unit`` such as
            seconds) or number.
        unit: the currency code or the word written after the number (``orders``); None
            for none.
    """

    format: Format = "number"
    unit: str | None = None

    @property
    def change_unit(self) -> str:
        """The unit of a difference, in words: "percentage points", "USD", "orders"."""
        if self.format == "percent":
            return "percentage points"
        return self.unit or "metric units"


def of(metric: Metric) -> Style:
    """The style a metric registered, or the one its kind implies."""
    registered = getattr(metric, "format", None)
    if registered is not None:
        return Style(registered, getattr(metric, "unit", None))
    unit = getattr(metric, "unit", None)
    if metric.kind == "proportion":
        return Style("percent", unit)
    if metric.daily_share:
        return Style("percent", unit)
    return Style("number", unit)


def to_json(metric: Metric) -> dict[str, Any]:
    """``format`` and ``unit`` as verdict.json records them for a metric."""
    style = of(metric)
    return {"format": style.format, "unit": style.unit}


def style_of_json(item: Mapping[str, Any]) -> Style:
    """The style of a metric as verdict.json records it (older files: from its kind)."""
    found = item.get("format")
    if found in FORMATS:
        return Style(found, item.get("unit"))
    return Style("percent" if item.get("kind") == "proportion" else "number", item.get("unit"))


def decimals(numbers: Iterable[float | None], *, money: bool = False) -> int:
    """The decimals that give the largest of ``numbers`` three significant digits.

    Examples:
        >>> decimals([3.2, 2.42, 3.99]), decimals([0.04231]), decimals([1234.5]), decimals([])
        (2, 4, 0, 2)
    """
    largest = max((abs(n) for n in numbers if n is not None and math.isfinite(n)), default=0.0)
    if largest == 0:
        found = SIGNIFICANT - 1
    else:
        found = min(max(SIGNIFICANT - 1 - math.floor(math.log10(largest)), 0), 6)
    if money and found > 0:
        return 2
    return found


def _scaled(style: Style, number: float) -> float:
    return number * 100 if style.format == "percent" else number


def _digits(style: Style, numbers: Iterable[float | None]) -> int:
    return decimals([_scaled(style, n) for n in numbers if n is not None], money=_money(style))


def _money(style: Style) -> bool:
    return style.format == "currency"


def _plain(number: float, places: int, signed: bool) -> str:
    rounded = round(number, places)
    if rounded == 0:
        rounded = 0.0  # no "-0.00"
    text = f"{abs(rounded):,.{places}f}"
    if rounded < 0:
        return MINUS + text
    return ("+" if signed else "") + text


def _write(style: Style, number: float, places: int, *, signed: bool, change: bool) -> str:
    scaled = _scaled(style, number)
    text = _plain(scaled, places, signed)
    if style.format == "percent":
        return f"{text} pp" if change else f"{text}%"
    if style.format == "currency":
        code = (style.unit or "").upper()
        symbol = SYMBOLS.get(code)
        if symbol is None:
            return f"{text} {code}".rstrip()
        sign = text[0] if text[0] in "+-" else ""
        return f"{sign}{symbol}{text[len(sign) :]}"
    if style.unit:
        return f"{text} {style.unit}"
    return text


def value(style: Style, number: float | None, *, group: Iterable[float | None] = ()) -> str:
    """A level (a baseline, an arm's mean) in the metric's units."""
    if number is None or not math.isfinite(number):
        return MISSING
    return _write(style, number, _digits(style, [number, *group]), signed=False, change=False)


def change(style: Style, number: float | None, *, group: Iterable[float | None] = ()) -> str:
    """A signed absolute change (percentage points for a percent)."""
    if number is None or not math.isfinite(number):
        return MISSING
    return _write(style, number, _digits(style, [number, *group]), signed=True, change=True)


def interval(
    style: Style, low: float | None, high: float | None, *, estimate: float | None = None
) -> str:
    """An interval of a change, both ends with the decimals of the group."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return "unbounded" if low is not None or high is not None else MISSING
    group = [low, high, estimate]
    first, last = change(style, low, group=group), change(style, high, group=group)
    suffix = _suffix(style)
    if suffix and first.endswith(suffix):
        first = first[: -len(suffix)]  # the unit once, after the interval: +2.4 to +4.0 pp
    return f"{first} to {last}"


def _suffix(style: Style) -> str:
    """The unit written after a change, with its space ("" for a prefixed currency)."""
    if style.format == "percent":
        return " pp"
    if style.format == "currency":
        code = (style.unit or "").upper()
        return "" if code in SYMBOLS else f" {code}"
    return f" {style.unit}" if style.unit else ""


def relative(number: float | None, *, group: Iterable[float | None] = ()) -> str:
    """A signed relative change, as a percentage of the baseline."""
    if number is None or not math.isfinite(number):
        return MISSING
    places = decimals([n * 100 for n in [number, *group] if n is not None])
    return _plain(number * 100, min(places, 1), signed=True) + "%"


def relative_interval(
    low: float | None, high: float | None, *, estimate: float | None = None
) -> str:
    """Fieller's interval of the relative change ("unbounded" when it is)."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return "unbounded"
    group = [low, high, estimate]
    return f"{relative(low, group=group)} to {relative(high, group=group)}"


def p_value(number: float | None) -> str:
    """A p-value: two significant digits, "< 0.0001" below that.

    Examples:
        >>> p_value(0.0273893), p_value(0.41), p_value(2e-16)
        ('0.027', '0.41', '< 0.0001')
    """
    if number is None:
        return MISSING
    if number < 0.0001:
        return "< 0.0001"
    return f"{number:.2g}" if number < 0.1 else f"{number:.2f}"


def p_equals(number: float) -> str:
    """A p-value in a sentence: "p = 0.027", and "p < 0.0001" rather than "p = 0".

    Examples:
        >>> p_equals(0.00321), p_equals(0.0)
        ('p = 0.0032', 'p < 0.0001')
    """
    shown = p_value(number)
    return f"p {shown}" if shown.startswith("<") else f"p = {shown}"


def power(number: float) -> str:
    """A power (a probability) in whole percent, never rounded to a certainty.

    Examples:
        >>> power(0.8012), power(0.9992), power(0.003)
        ('80%', 'over 99%', 'under 1%')
    """
    if number > 0.99 and round(number * 100) >= 100:
        return "over 99%"
    if number < 0.01 and round(number * 100) <= 0:
        return "under 1%"
    return f"{number:.0%}"
