"""The launch report's bet section: the RICE bet registered before launch, and how what
the review measured compares with its impact and its confidence.

The bet never decides the verdict. It is read as verdict.json records it
(``payload.bet_json``): the bet as it stood at launch, and how it changed since.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from impact import formats
from impact.payload import bet_json
from impact.report.blocks import Compared, HTMLBlock, _el, _heading, _root, _status

__all__ = ["bet", "place"]


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.3g}"


def place(value: float, low: float, high: float, *, places: int) -> str:
    """Where ``value`` lies against the interval ``low``-``high``, judged on the numbers as
    printed (rounded to ``places``), so that the words never contradict the digits:
    ``below`` (the whole interval is below it), ``above``, or ``inside``.

    Examples:
        >>> place(0.75, 0.25, 0.746, places=2), place(0.75, 0.25, 0.744, places=2)
        ('inside', 'below')
    """
    shown, lowest, highest = (round(x, places) for x in (value, low, high))
    if highest < shown:
        return "below"
    if lowest > shown:
        return "above"
    return "inside"


def _measured(result: Compared, relative: bool) -> tuple[float | None, float | None, float | None]:
    c = result.primary.comparison
    if relative:
        return c.relative_effect, c.relative_ci_lower, c.relative_ci_upper
    return c.effect, c.ci_lower, c.ci_upper


def bet(result: Compared) -> HTMLBlock | None:
    """The bet section; None when the spec has no bet (or no primary metric)."""
    found = bet_json(result.spec)
    if found is None:
        return None
    metric = result.primary.metric
    style = formats.of(metric)
    relative = bool(found["relative"])
    sign = metric.good_sign
    predicted = sign * found["impact"]  # in the metric's direction, as the target is written
    estimate, low, high = _measured(result, relative)
    group = (predicted, estimate, low, high)

    def effect(value: float | None) -> str:
        if relative:
            return formats.relative(value, group=group)
        return formats.change(style, value, group=group)

    confidence = found["confidence"]
    registered = (
        "Registered before launch"
        if found["registered_before_launch"]
        else f"Written after launch ({result.spec.launch_date}): no registration before launch "
        "holds it, so the quarter review counts this launch apart"
    )
    parts: list[ET.Element | str | None] = [
        _heading("The bet"),
        _el(
            "p",
            f"{registered}: reach {_number(found['reach'])} units a quarter, impact "
            f"{effect(predicted)} on {metric.name}, confidence {confidence:.0%}, effort "
            f"{_number(found['effort'])} person-weeks; planned RICE "
            f"{_number(found['planned_rice'])} (reach x impact x confidence / effort).",
        ),
    ]
    level = 1 - result.primary.comparison.alpha
    if estimate is None or low is None or high is None:
        parts.append(_el("p", "Nothing was measured to compare with the bet's impact."))
    else:
        oriented = sign * estimate
        places = (
            formats.decimals([100 * x for x in group if x is not None]) + 2
            if relative or style.format == "percent"
            else formats.decimals([x for x in group if x is not None])
        )
        where = place(predicted, low, high, places=places)
        if sign < 0:  # judged in the good direction: a fall below the bet is more than it
            where = {"below": "above", "above": "below"}.get(where, where)
        said = {
            "below": "the whole interval falls short of the bet: its impact was overestimated",
            "above": "the whole interval is beyond the bet: its impact was underestimated",
            "inside": "the interval includes the bet's impact",
        }[where]
        interval = (
            formats.relative_interval(low, high, estimate=estimate)
            if relative
            else formats.interval(style, low, high, estimate=estimate)
        )
        parts.append(
            _el(
                "p",
                f"Measured {effect(estimate)} ({level * 100:.3g}% interval {interval}): "
                f"{oriented / found['impact']:.0%} of the bet's impact; {said}.",
            )
        )
        realized = found["reach"] * oriented / found["effort"]
        parts.append(
            _el(
                "p",
                f"Realized RICE {_number(realized) if realized >= 0 else f'{realized:,.3g}'} "
                f"(reach x measured impact / effort) against "
                f"{_number(found['planned_rice'])} planned.",
            )
        )
    target = metric.target
    assert target is not None
    target_text = (
        formats.relative(sign * target.magnitude)
        if target.relative
        else formats.change(style, sign * target.magnitude)
    )
    parts.append(
        _el(
            "p",
            f"The bet stated {confidence:.0%} confidence that the target ({target_text}) would "
            "be met: ",
            _status(result.primary.status, result.primary.words),
            f". One launch cannot say whether {confidence:.0%} was right; the quarter review "
            "(impact quarter) pools a quarter's launches to tell.",
        )
    )
    if found["drift"]:
        changes = ", ".join(
            f"{str(c['field']).removeprefix('bet.')} {c['old']} → {c['new']}"
            for c in found["drift"]
        )
        parts.append(
            _el(
                "p",
                f"The bet changed after launch: {changes}. What is judged is the bet "
                "registered before launch.",
                class_="impact-flag",
            )
        )
    parts.append(
        _el(
            "p",
            "The bet is registered and hashed, but it never decides the verdict.",
            class_="note",
        )
    )
    return _root(*parts)
