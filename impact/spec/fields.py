"""The values a spec is written in: durations, effects, slugs and names."""

from __future__ import annotations

import re
from typing import Annotated, NamedTuple

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    WithJsonSchema,
)

SPEC_VERSION = 1
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_DURATION = re.compile(r"^\s*(\d+)\s*([dw])\s*$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

# Features that later releases build; the spec format reserves their keys already.
_NOT_YET = "is not available yet in impact 0.1"


def parse_duration(value: object) -> int:
    """Read a duration such as ``14d`` or ``4w`` as a whole number of days.

    Examples:
        >>> parse_duration("4w"), parse_duration("14d")
        (28, 14)
        >>> parse_duration(120)
        Traceback (most recent call last):
        ValueError: 120 has no unit; write 120d for 120 days
        >>> parse_duration(7)
        Traceback (most recent call last):
        ValueError: 7 has no unit; write 7d for 7 days or 1w
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{value!r} is not a duration; write days or weeks such as 14d or 4w")
    if isinstance(value, int):
        weeks = f" or {value // 7}w" if value > 0 and value % 7 == 0 else ""
        raise ValueError(f"{value} has no unit; write {value}d for {value} days{weeks}")
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f'"{value}" is not a duration; write days or weeks such as 14d or 4w')
    days = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
    if days <= 0:
        raise ValueError(f'"{value}" must be longer than zero days')
    return days


def format_duration(days: int) -> str:
    """Write a number of days the way output files are named: ``28d``."""
    return f"{days}d"


Duration = Annotated[
    int,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": r"^\s*[0-9]+\s*[dw]\s*$", "examples": ["14d", "4w"]}
    ),
]


class Effect(NamedTuple):
    """A target or margin as written in the spec.

    Attributes:
        magnitude: the size, always positive.
        relative: True for a share of the control's value (``+6%``), False for metric units.
        sign: +1 or -1 when the author wrote a sign, 0 for an unsigned magnitude.
    """

    magnitude: float
    relative: bool
    sign: int

    def canonical(self) -> str:
        """The value without the author's sign, which validation has already checked.

        ``+0.02`` and ``0.02`` on an increase metric mean the same, so they must hash alike.
        """
        return f"{self.magnitude * 100:g}%" if self.relative else f"{self.magnitude:g}"

    @classmethod
    def parse(cls, value: object) -> Effect:
        """Read an effect as a spec writes it (``+0.02``, ``6%``, ``-0.01``).

        Raises:
            ValueError: not a number or a percentage, or zero.
        """
        return _parse_effect(value)

    def __str__(self) -> str:
        sign = {1: "+", -1: "-", 0: ""}[self.sign]
        if self.relative:
            return f"{sign}{self.magnitude * 100:g}%"
        return f"{sign}{self.magnitude:g}"


def _parse_effect(value: object) -> Effect:
    if isinstance(value, Effect):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{value!r} is not a number or a percentage; write +0.02 or +6%")
    if isinstance(value, int | float):
        if value == 0:
            raise ValueError("must not be zero; write the smallest effect that matters")
        return Effect(abs(float(value)), False, -1 if value < 0 else 0)
    text = value.strip()
    relative = text.endswith("%")
    number = text[:-1].strip() if relative else text
    if not _NUMBER.match(number):
        points = re.fullmatch(r"([+-]?[0-9.]+)\s*(pp|p\.p\.|percentage points?)", text, re.I)
        if points and _NUMBER.match(points[1]) and float(points[1]) != 0:
            share = float(points[1]) / 100
            plus = "+" if points[1].startswith("+") else ""
            raise ValueError(
                f'"{value}" is not a number or a percentage; write {plus}{share:g} '
                f"({points[1]} percentage points as a share), or a relative change such as +6%"
            )
        raise ValueError(f'"{value}" is not a number or a percentage; write +0.02 or +6%')
    size = float(number)
    if size == 0:
        raise ValueError("must not be zero; write the smallest effect that matters")
    sign = {"+": 1, "-": -1}.get(number[0], 0)
    return Effect(abs(size) / (100 if relative else 1), relative, sign)


EffectValue = Annotated[
    Effect,
    BeforeValidator(_parse_effect),
    PlainSerializer(Effect.canonical, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "not": {"const": 0}},
                {"type": "string", "pattern": r"^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*%?\s*$"},
            ],
            "examples": ["+0.02", "+6%", -0.01],
        }
    ),
]


def _check_slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(
            f'"{value}" is not a valid id; use lower-case letters, digits and dashes '
            "(at most 64), such as one-page-checkout"
        )
    return value


# Launch ids that name a folder of reports/ published for something else.
RESERVED_IDS = {"quarters": "the quarter reviews (reports/quarters/)"}


def _check_id(value: str) -> str:
    """A launch id: a slug that is not the name of another folder of reports/."""
    _check_slug(value)
    if value in RESERVED_IDS:
        raise ValueError(
            f'"{value}" is reserved for {RESERVED_IDS[value]}; choose another id, such as '
            f"{value}-launch"
        )
    return value


def _check_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(
            f'"{value}" is not a valid metric name; start with a letter and use letters, '
            "digits and underscores, such as checkout_conversion"
        )
    return value


def _confidence_as_number(value: object) -> object:
    """A bet's confidence written as a percentage ("70%") is refused with the number to write."""
    if isinstance(value, str) and value.strip().endswith("%"):
        number = value.strip()[:-1].strip()
        try:
            share = float(number) / 100
        except ValueError:
            return value
        raise ValueError(
            f'"{value}" is a percentage; write the chance as a number, {share:g} (0.5 to 1)'
        )
    return value


def _check_confidence(value: float) -> float:
    """A bet's confidence: a chance from 0.5 to 1 (70 reads as 70%, and says so)."""
    if 1 < value <= 100:
        raise ValueError(
            f"{value:g} must be between 0.5 and 1; write {value:g}% as {value / 100:g}"
        )
    if not 0.5 <= value <= 1:
        raise ValueError(
            f"{value:g} must be between 0.5 and 1: the chance the target is met, such as "
            "0.7 (below 0.5 the bet expects to miss)"
        )
    return value


class _Model(BaseModel):
    """The base of every spec model: unknown keys refused, frozen, strings stripped."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
