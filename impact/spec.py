"""The launch spec: pydantic models of format v1, YAML loading and error messages.

A spec is loaded with :func:`load`; every problem becomes a :class:`~impact.errors.SpecError`
whose message names the file, the field path and what would be right, e.g.::

    specs/checkout.yaml: metrics.primary.target: "+2pp" is not a number or a percentage;
    write +0.02 or +6%

Numbers keep the sign the author wrote: ``target: +0.02`` (explicitly signed) and
``target: 0.02`` (a magnitude) are told apart, so a sign that contradicts ``direction`` is
caught rather than silently flipped.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import os
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from impact import sandbox
from impact.errors import SpecError

__all__ = [
    "Adoption",
    "DataSpec",
    "Decision",
    "Effect",
    "Hypothesis",
    "LaunchSpec",
    "Metric",
    "Metrics",
    "Thresholds",
    "format_duration",
    "json_schema",
    "load",
    "parse_duration",
]

SPEC_VERSION = 1
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_DURATION = re.compile(r"^\s*(\d+)\s*([dw])\s*$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

# Features that later releases build; the spec format reserves their keys already.
_NOT_YET = "is not available yet in impact 0.1"


# --------------------------------------------------------------------------- values


def parse_duration(value: object) -> int:
    """Read a duration such as ``14d`` or ``4w`` as a whole number of days.

    Examples:
        >>> parse_duration("4w"), parse_duration("14d")
        (28, 14)
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{value!r} is not a duration; write days or weeks such as 14d or 4w")
    if isinstance(value, int):
        raise ValueError(f"{value} has no unit; write {value}d for days or {value}w for weeks")
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


def _check_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(
            f'"{value}" is not a valid metric name; start with a letter and use letters, '
            "digits and underscores, such as checkout_conversion"
        )
    return value


# --------------------------------------------------------------------------- models


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Hypothesis(_Model):
    """We believe that [users] [problem] and that [solution] will produce [result]."""

    users: str
    problem: str
    solution: str
    result: str

    def sentence(self) -> str:
        """The hypothesis as one sentence."""
        return (
            f"We believe that {self.users} {self.problem} and that {self.solution} "
            f"will produce {self.result}."
        )


class JoinLimits(_Model):
    """How much of the events and units may fail to join before the review refuses them."""

    max_unknown_events: float = 0.5
    max_units_without_events: float = 0.99

    @field_validator("max_unknown_events", "max_units_without_events")
    @classmethod
    def _share(cls, value: float) -> float:
        if not 0 <= value <= 1:
            raise ValueError(f"{value:g} must be a share between 0 and 1, such as 0.5")
        return value


class CompletenessSettings(_Model):
    """When a day's event volume is too thin for the data to count as complete."""

    min_share: float = 0.25

    @field_validator("min_share")
    @classmethod
    def _share(cls, value: float) -> float:
        if not 0 <= value < 1:
            raise ValueError(
                f"{value:g} must be a share from 0 (never thin) to below 1, such as 0.5"
            )
        return value


class DataSpec(_Model):
    """Where the metric data live and how to read them."""

    source: str
    units: str = "units"
    events: str | None = "events"
    series: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    control: str | None = None
    split: dict[str, float] | None = None
    start: dt.date | None = None
    segment: str | None = None
    pre_period: Duration | None = None
    joins: JoinLimits | None = None
    completeness: CompletenessSettings | None = None
    accrual_end: dt.date | None = None  # the first day without new units

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        if value.strip().lower() == "spark":
            return "spark"
        if "://" in value:
            scheme = value.split("://")[0].split("+")[0]
            if scheme not in ("postgresql", "postgres"):
                raise ValueError(
                    f'a "{scheme}://" URL {_NOT_YET}; use a folder, a .duckdb file or a '
                    "postgresql:// URL"
                )
        return value

    @field_validator("segment")
    @classmethod
    def _allowed_segment(cls, value: str | None) -> str | None:
        if value is not None:
            sandbox.parse(value)  # a ValueError names the part refused
        return value

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, value: dict[str, str]) -> dict[str, str]:
        known = ("unit_id", "variant", "exposed_at", "event", "ts", "value", "date")
        for key in value:
            if key not in known:
                hint = difflib.get_close_matches(key, known, n=1)
                extra = f'; did you mean "{hint[0]}"?' if hint else ""
                raise ValueError(
                    f'"{key}" is not a contract column; rename one of {", ".join(known)}{extra}'
                )
        return value

    @field_validator("units", "events", "series")
    @classmethod
    def _a_table_not_a_path(cls, value: str | None, info: ValidationInfo) -> str | None:
        """In a folder or .duckdb source, a table is a name, never a path: ``units:
        ../../secret`` would read a file outside the data. (Spark reads Parquet paths on
        purpose; a database names ``schema.table``.)"""
        source = str(info.data.get("source", ""))
        if value is None or source == "spark" or "://" in source:
            return value
        if "/" in value or "\\" in value or value.startswith("."):
            example = "daily" if info.field_name == "series" else info.field_name
            raise ValueError(
                f'"{value}" is a path; a table is a file <name>.parquet or <name>.csv inside '
                f"data.source (or a table of a .duckdb file), so write its name, such as "
                f"{example}"
            )
        return value

    @field_validator("split")
    @classmethod
    def _two_arms(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is None:
            return value
        if len(value) != 2:
            raise ValueError(
                f"has {len(value)} arms; write exactly two, such as "
                "{control: 0.5, treatment: 0.5}"
            )
        if any(not 0 < share < 1 for share in value.values()):
            raise ValueError("each arm's share must be between 0 and 1")
        if abs(sum(value.values()) - 1) > 1e-9:
            raise ValueError(f"shares sum to {sum(value.values()):g}; they must sum to 1")
        return value


class Side(_Model):
    """One side of a ratio metric."""

    event: str
    value: Literal["sum", "count", "max"] = "sum"


class Metric(_Model):
    """A metric: how it is computed, and what counts as success or harm."""

    name: str
    description: str | None = None
    kind: Literal["proportion", "mean", "ratio"] | None = None
    event: str | None = None
    column: str | None = None
    value: Literal["sum", "count", "max"] | None = None
    numerator: Side | None = None
    denominator: Side | None = None
    window: Duration | None = None
    matures_after: Duration | None = None
    baseline: float | None = None
    baseline_sd: float | None = None
    target: EffectValue | None = None
    margin: EffectValue | None = None
    direction: Literal["increase", "decrease"]
    cuped: bool = False
    cap: float | None = None
    controls: list[str] = Field(default_factory=list)
    seasonality: Duration | None = None
    trend: bool = False
    flow: bool = False
    unit: str | None = None
    format: Literal["percent", "currency", "count", "duration", "number"] | None = None

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return _check_name(value)

    @model_validator(mode="after")
    def _consistent(self) -> Metric:
        if self.kind is None:
            self._check_series()  # a prepost metric; LaunchSpec checks the design
        else:
            self._check_kind()
        if self.cap is not None:
            if self.kind == "proportion":
                raise ValueError("cap applies to means and ratios; a proportion has no outliers")
            if not 0.5 < self.cap < 1:
                raise ValueError(
                    f"cap {self.cap:g} must be a quantile between 0.5 and 1, such as 0.99"
                )
        if self.baseline is not None and self.kind == "proportion" and not 0 < self.baseline < 1:
            raise ValueError(f"baseline {self.baseline:g} must be a share between 0 and 1")
        if self.baseline_sd is not None and self.baseline_sd <= 0:
            raise ValueError(f"baseline_sd {self.baseline_sd:g} must be positive")
        self._check_signs()
        self._check_format()
        return self

    def _check_format(self) -> None:
        """How the numbers are shown: a currency needs its code."""
        if self.unit is not None and not re.fullmatch(r"[^\x00-\x1f\x7f]{1,40}", self.unit):
            raise ValueError("unit must be a short word on one line, such as USD or orders")
        if self.format == "currency" and (
            self.unit is None or not re.fullmatch(r"[A-Za-z]{3}", self.unit)
        ):
            raise ValueError("format currency needs unit: the currency's code, such as USD")

    def _check_kind(self) -> None:
        """The rules of a per-unit metric (experiments)."""
        if self.kind == "ratio":
            if self.numerator is None or self.denominator is None:
                raise ValueError(
                    "a ratio needs numerator and denominator, such as numerator: {event: "
                    "purchase, value: sum} and denominator: {event: purchase, value: count}"
                )
            if self.event is not None or self.column is not None or self.value is not None:
                raise ValueError(
                    "a ratio names its events in numerator and denominator; "
                    "remove event, column and value"
                )
            if self.window is None:
                raise ValueError("a ratio metric needs a window, such as window: 14d")
            return
        if self.numerator is not None or self.denominator is not None:
            raise ValueError("numerator and denominator belong to kind: ratio")
        if (self.event is None) == (self.column is None):
            raise ValueError(
                "needs exactly one of event (an event name) or column (a per-unit column)"
            )
        if self.matures_after is not None and self.column is None:
            raise ValueError(
                "matures_after belongs to a column metric (an event metric's window says when "
                "it matures); remove matures_after"
            )
        if self.column is not None:
            if self.window is not None:
                raise ValueError(
                    "a column metric has no window; remove window (write matures_after: 7d "
                    "when the column is known only 7 days after exposure)"
                )
            if self.value is not None:
                raise ValueError("a column metric has no value; remove value")
            return
        if self.window is None:
            raise ValueError("an event metric needs a window, such as window: 14d")
        if self.kind == "proportion" and self.value is not None:
            raise ValueError("a proportion counts units with the event; remove value")
        if self.kind == "mean" and self.value is None:
            raise ValueError("a mean metric needs value: sum, count or max")

    def _check_series(self) -> None:
        """The rules of a daily-series metric (design: prepost)."""
        if self.numerator is not None or self.denominator is not None:
            raise ValueError("a prepost metric reads one daily series; remove numerator")
        if (self.event is None) == (self.column is None):
            raise ValueError(
                "a prepost metric needs exactly one of column (a column of the daily series "
                "table) or event (a daily series derived from events)"
            )
        if self.window is not None:
            raise ValueError(
                "kind is required; write proportion, mean or ratio (only a design: prepost "
                "metric, a daily series, has neither kind nor window)"
            )
        if self.column is not None and self.value is not None:
            raise ValueError("a column metric has no value; remove value")
        if self.cuped or self.cap is not None:
            raise ValueError("cuped and cap belong to experiments; remove them")
        if self.event is not None and self.controls:
            raise ValueError(
                "controls are columns of the daily series table; an event metric has none"
            )
        if self.name in self.controls or (self.column and self.column in self.controls):
            raise ValueError("a control must be another series than the metric itself")

    def _check_signs(self) -> None:
        good = 1 if self.direction == "increase" else -1
        if self.target is not None and self.target.sign not in (0, good):
            raise ValueError(
                f"target {self.target} contradicts direction: {self.direction}; write "
                f"{'+' if good > 0 else '-'}{str(self.target)[1:]} or drop the sign"
            )
        if self.margin is not None and self.margin.sign not in (0, -good):
            raise ValueError(
                f"margin {self.margin} is in the good direction; a margin is how far the "
                f"metric may move the harmful way: write {'-' if good > 0 else '+'}"
                f"{str(self.margin)[1:]} or drop the sign"
            )

    @property
    def events(self) -> list[str]:
        """The event names the metric reads (none for a column metric)."""
        if self.kind == "ratio":
            assert self.numerator is not None and self.denominator is not None
            return list(dict.fromkeys([self.numerator.event, self.denominator.event]))
        return [self.event] if self.event is not None else []

    @property
    def values(self) -> list[str]:
        """How the metric aggregates event values: sum, count or max, per side."""
        if self.kind == "ratio":
            assert self.numerator is not None and self.denominator is not None
            return [self.numerator.value, self.denominator.value]
        return [self.value] if self.value is not None else []

    @property
    def good_sign(self) -> int:
        """+1 when an increase is good, -1 when a decrease is good."""
        return 1 if self.direction == "increase" else -1


class Metrics(_Model):
    """The primary metric, the guardrails and the secondary metrics."""

    primary: Metric | None = None
    guardrails: list[Metric] = Field(default_factory=list)
    secondary: list[Metric] = Field(default_factory=list)

    def all(self) -> list[Metric]:
        """Every metric, primary first."""
        return [*([self.primary] if self.primary else []), *self.guardrails, *self.secondary]

    @model_validator(mode="after")
    def _roles(self) -> Metrics:
        names = [metric.name for metric in self.all()]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f'metric name "{name}" is used twice; names must be unique')
        if self.primary is not None:
            if self.primary.target is None:
                raise ValueError("primary.target is required: the smallest effect worth it")
            if self.primary.margin is not None:
                raise ValueError("primary.margin belongs to guardrails; remove it")
        for index, guardrail in enumerate(self.guardrails):
            if guardrail.margin is None:
                raise ValueError(
                    f"guardrails[{index}] ({guardrail.name}) needs a margin: how far it may "
                    "move the harmful way, such as margin: +0.005"
                )
            if guardrail.target is not None:
                raise ValueError(f"guardrails[{index}] ({guardrail.name}) has no target")
        for index, metric in enumerate(self.secondary):
            if metric.target is not None or metric.margin is not None:
                raise ValueError(
                    f"secondary[{index}] ({metric.name}) never decides; remove target and margin"
                )
        return self


class Thresholds(_Model):
    """The adoption funnel's thresholds, as shares of eligible units."""

    exposed: float = 0.5
    tried: float
    repeat: float

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        for name in ("exposed", "tried", "repeat"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ValueError(f"{name} {value:g} must be a share between 0 and 1, such as 0.3")
        if not self.repeat <= self.tried <= self.exposed:
            raise ValueError(
                f"the funnel narrows: write repeat ({self.repeat:g}) <= tried ({self.tried:g}) "
                f"<= exposed ({self.exposed:g})"
            )
        return self


class Adoption(_Model):
    """Who found the feature, who tried it, who came back (DESIGN.md's adoption rules)."""

    feature_event: str
    exposure_event: str | None = None
    repeat_weeks: int = 2
    thresholds: Thresholds
    breakdown: str | None = None

    @field_validator("repeat_weeks")
    @classmethod
    def _weeks(cls, value: int) -> int:
        if value < 2:
            raise ValueError(f"{value} is too few; repeat use means at least 2 distinct weeks")
        return value

    @model_validator(mode="after")
    def _distinct(self) -> Adoption:
        if self.exposure_event is not None and self.exposure_event == self.feature_event:
            raise ValueError("exposure_event and feature_event must be different events")
        return self


class Decision(_Model):
    """Levels, sample floors and the words used for each outcome."""

    alpha: float = 0.05
    power: float = 0.80
    srm_alpha: float = 0.001
    min_units: int = 30
    on_success: str = "ship"
    on_failure: str = "revert"
    on_no_effect: Literal["revert", "iterate"] | None = None
    on_inconclusive: str = "iterate"

    @field_validator("alpha", "power", "srm_alpha")
    @classmethod
    def _unit_interval(cls, value: float) -> float:
        if not 0 < value < 1:
            raise ValueError(f"{value:g} must be between 0 and 1, such as 0.05")
        return value

    @field_validator("min_units")
    @classmethod
    def _floor(cls, value: int) -> int:
        if value < 2:
            raise ValueError(f"{value} is too small; at least 2 units per arm are needed")
        return value


class LaunchSpec(_Model):
    """A launch spec, format v1 (see docs/spec.md)."""

    spec_version: Literal[1]
    id: str
    title: str
    owner: str
    description: str | None = None
    hypothesis: Hypothesis
    launch_date: dt.date
    design: Literal["experiment", "prepost", "adoption"] = "experiment"
    reviews: list[Duration] = Field(default_factory=lambda: [28, 56])
    data: DataSpec
    metrics: Metrics = Field(default_factory=Metrics)
    adoption: Adoption | None = None
    decision: Decision = Field(default_factory=Decision)

    _path: Path = PrivateAttr(default=Path("spec.yaml"))

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        return _check_slug(value)

    @field_validator("reviews")
    @classmethod
    def _increasing(cls, value: list[int]) -> list[int]:
        if not value:
            raise ValueError("needs at least one checkpoint, such as [28d, 56d]")
        if any(later <= earlier for earlier, later in itertools.pairwise(value)):
            raise ValueError(
                f"[{', '.join(map(format_duration, value))}] must be in increasing order "
                "without repeats"
            )
        return value

    @model_validator(mode="after")
    def _design(self) -> LaunchSpec:
        if self.design == "adoption":
            self._check_adoption()
        elif self.design == "prepost":
            self._check_prepost()
        else:
            self._check_experiment()
        if self.data.start is not None and self.data.start < self.launch_date:
            raise ValueError(
                f"data.start {self.data.start} is before launch_date {self.launch_date}; "
                "start is the first day analysed after launch"
            )
        return self

    def _check_experiment(self) -> None:
        data = self.data
        for field in ("series", "pre_period"):
            if getattr(data, field) is not None:
                raise ValueError(f"data.{field} belongs to design: prepost; remove it")
        for where, metric in self._metrics_with_paths():
            if metric.kind is None:
                raise ValueError(f"{where}.kind is required; write proportion, mean or ratio")
            for field in ("controls", "seasonality", "trend", "flow"):
                if metric.model_fields_set.intersection({field}):
                    raise ValueError(f"{where}.{field} belongs to design: prepost; remove it")
        if data.control is None or data.split is None:
            raise ValueError(
                "an experiment needs data.control and data.split, such as "
                "control: control and split: {control: 0.5, treatment: 0.5}"
            )
        if data.control not in data.split:
            arms = " or ".join(f'"{arm}"' for arm in data.split)
            raise ValueError(
                f'data.control "{data.control}" is not an arm of data.split; use {arms}'
            )
        if self.metrics.primary is None:
            raise ValueError("an experiment needs metrics.primary")
        if data.events is None and any(m.events for m in self.metrics.all()):
            raise ValueError("data.events is required when a metric names an event")

    def _check_prepost(self) -> None:
        data = self.data
        for field in ("control", "split", "segment", "start"):
            if getattr(data, field) is not None:
                raise ValueError(
                    f"data.{field} belongs to experiments; a prepost review has no arms, remove it"
                )
        if self.metrics.primary is None:
            raise ValueError("a prepost review needs metrics.primary")
        for where, metric in self._metrics_with_paths():
            if metric.kind is not None:
                raise ValueError(
                    f"{where}.kind belongs to experiments; a prepost metric is a daily series "
                    "(column: or event:), remove kind"
                )
        columns = [m for m in self.metrics.all() if m.column is not None]
        if columns and data.series is None:
            raise ValueError(
                "a prepost review reads data.series, a daily table (date and one column per "
                "series), such as series: daily"
            )
        if any(m.event is not None for m in self.metrics.all()) and data.events is None:
            raise ValueError("data.events is required when a metric names an event")

    def _check_adoption(self) -> None:
        data = self.data
        if self.adoption is None:
            raise ValueError(
                "design: adoption needs the adoption block: feature_event and thresholds, such "
                "as adoption: {feature_event: used_search, thresholds: {tried: 0.3, repeat: 0.15}}"
            )
        for field in ("control", "split", "series"):
            if getattr(data, field) is not None:
                raise ValueError(
                    f"data.{field} belongs to other designs; an adoption review has no arms, "
                    "remove it"
                )
        if data.events is None:
            raise ValueError("design: adoption needs data.events, where the feature is used")
        for where, metric in self._metrics_with_paths():
            if metric.kind is None:
                raise ValueError(f"{where}.kind is required; write proportion, mean or ratio")
        if self.metrics.guardrails:
            raise ValueError(
                "metrics.guardrails belong to experiments and prepost reviews; an adoption "
                "review decides on its thresholds, remove them"
            )

    def _metrics_with_paths(self) -> list[tuple[str, Metric]]:
        found = [("metrics.primary", self.metrics.primary)] if self.metrics.primary else []
        found += [(f"metrics.guardrails[{i}]", m) for i, m in enumerate(self.metrics.guardrails)]
        found += [(f"metrics.secondary[{i}]", m) for i, m in enumerate(self.metrics.secondary)]
        return found

    # ---- derived values

    @property
    def path(self) -> Path:
        """The file the spec was loaded from."""
        return self._path

    def resolve(self, relative: str) -> Path:
        """A path from the spec, resolved against the folder of the spec file.

        A symlinked spec resolves against the folder of the file it links to.
        """
        base = self._path.resolve().parent if self._path.is_symlink() else self._path.parent
        return Path(os.path.normpath(base / relative))

    @property
    def control(self) -> str:
        """The control arm's name."""
        assert self.data.control is not None
        return self.data.control

    @property
    def treatment(self) -> str:
        """The treatment arm's name (the one arm that is not the control)."""
        assert self.data.split is not None
        return next(arm for arm in self.data.split if arm != self.data.control)

    @property
    def on_no_effect(self) -> Literal["revert", "iterate"]:
        """The outcome when the target is ruled out at the final look.

        ``revert`` (with the words of ``on_failure``) by default for experiments,
        ``iterate`` (with the words of ``on_inconclusive``) otherwise.
        """
        if self.decision.on_no_effect is not None:
            return self.decision.on_no_effect
        return "revert" if self.design == "experiment" else "iterate"

    def as_of(self, checkpoint_days: int) -> dt.datetime:
        """00:00 UTC of launch_date + checkpoint, as a naive UTC datetime."""
        return dt.datetime.combine(self.launch_date, dt.time()) + dt.timedelta(days=checkpoint_days)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the spec format, for editors' YAML language servers."""
    schema = LaunchSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "impact launch spec, format v1"
    return schema


# --------------------------------------------------------------------------- loading


class _SignKeepingLoader(yaml.SafeLoader):
    """SafeLoader that keeps numbers written with a leading ``+`` as strings.

    YAML reads ``+0.02`` as 0.02; keeping the text lets a target say it was signed.
    """


def _construct_number(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    text = loader.construct_scalar(node)
    if isinstance(text, str) and text.startswith("+"):
        return text
    if node.tag.endswith(":int"):
        return yaml.SafeLoader.construct_yaml_int(loader, node)
    return yaml.SafeLoader.construct_yaml_float(loader, node)


_SignKeepingLoader.add_constructor("tag:yaml.org,2002:int", _construct_number)
_SignKeepingLoader.add_constructor("tag:yaml.org,2002:float", _construct_number)


MAX_BYTES = 64 * 1024  # a spec is a few kilobytes (the demo's: 3)
MAX_DEPTH = 32  # a spec nests four or five levels
MAX_NODES = 2000  # keys, values and items (the demo's: 168)


class _Refused(Exception):
    """A YAML construct a spec may not use, found before anything is built from it."""

    def __init__(self, mark: yaml.Mark, message: str) -> None:
        super().__init__(f"line {mark.line + 1}, column {mark.column + 1}: {message}")


class _SpecLoader(_SignKeepingLoader):
    """The loader for specs: it refuses, while scanning and composing and so before anything
    is expanded, aliases (``*name``: a few lines of them can stand for gigabytes), nesting
    deeper than ``MAX_DEPTH``, more than ``MAX_NODES`` nodes (pure-Python YAML takes about a
    second per 10,000) and a key written twice in one mapping (the last would win unseen)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused(
                event.start_mark,
                f"an alias (*{event.anchor}) repeats another part of the file; aliases are "
                "not allowed in a spec, so write the value out",
            )
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _Refused(
                self.peek_event().start_mark,
                f"holds more than {MAX_NODES:,} keys, values and items; a spec holds a few hundred",
            )
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(
                self.peek_event().start_mark,
                f"nested more than {MAX_DEPTH} levels deep; a spec nests a few levels",
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        # The scanner reads ahead and its work grows with the square of flow nesting ([[[[...
        # 30,000 deep took a second), so flow nesting is limited as it is scanned.
        if self.flow_level >= MAX_DEPTH:
            raise _Refused(
                self.get_mark(),
                f"nested more than {MAX_DEPTH} levels deep; a spec nests a few levels",
            )
        super().fetch_flow_collection_start(TokenClass)

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        node: yaml.MappingNode = super().compose_mapping_node(anchor)
        seen: dict[object, yaml.Node] = {}
        for key, _ in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name is None:
                continue
            first = seen.setdefault(name, key)
            if first is not key:
                raise _Refused(
                    key.start_mark,
                    f"the key {name!r} is written twice in one mapping (lines "
                    f"{first.start_mark.line + 1} and {key.start_mark.line + 1}); keep one",
                )
        return node


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping safely, turning every problem into a SpecError naming the file.

    Limits, checked before anything is built from the text: at most ``MAX_BYTES`` bytes,
    no aliases, at most ``MAX_DEPTH`` levels and ``MAX_NODES`` nodes, no key twice in one
    mapping.
    """
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)  # never more: a spec path can name /dev/zero
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file; check the path") from None
    except IsADirectoryError:
        raise SpecError(f"{path}: is a folder; give the path of a .yaml spec file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(f"{path}: cannot be read ({error})") from None
    if len(raw) > MAX_BYTES:
        raise SpecError(
            f"{path}: is larger than {MAX_BYTES:,} bytes; a spec is a few kilobytes of YAML"
        )
    try:
        document = yaml.load(text, Loader=_SpecLoader)
    except _Refused as error:
        raise SpecError(f"{path}: {error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise SpecError(f"{path}: {where}invalid YAML ({problem}); fix the syntax") from None
    if document is None:
        raise SpecError(f"{path}: is empty; a spec starts with spec_version: 1 (see docs/spec.md)")
    if not isinstance(document, dict):
        raise SpecError(
            f"{path}: a spec is a YAML mapping of fields (spec_version: 1, id: ...); "
            f"found {type(document).__name__}"
        )
    return document


def load(path: str | Path) -> LaunchSpec:
    """Load and validate a launch spec.

    Raises:
        SpecError: the file is missing, is not YAML, or breaks a rule of the format.
    """
    path = Path(path)
    document = read_yaml(path)
    placeholders = _placeholders(document)
    if placeholders:
        more = f" (and {len(placeholders) - 1} more)" if len(placeholders) > 1 else ""
        raise SpecError(
            f"{path}: {placeholders[0]}: still a placeholder; replace <fill in: ...> with the "
            f"value{more}",
            [f"{path}: {where}: still a placeholder" for where in placeholders],
        )
    return from_dict(document, path)


def _placeholders(value: Any, where: str = "") -> list[str]:
    """The field paths whose value is still a ``<fill in: ...>`` placeholder."""
    if isinstance(value, str):
        return [where] if value.strip().startswith("<fill in") else []
    if isinstance(value, dict):
        return [
            found
            for key, item in value.items()
            for found in _placeholders(item, f"{where}.{key}" if where else str(key))
        ]
    if isinstance(value, list):
        return [f for i, item in enumerate(value) for f in _placeholders(item, f"{where}[{i}]")]
    return []


# Control characters (but tab and line feed) and the bidirectional overrides: in a title
# they would drive the terminal (ANSI colours, OSC-8 links) or reorder what a reader sees.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _control_character(value: Any, where: str = "") -> tuple[str, str] | None:
    """The first field path (and character) whose key or text holds a control character."""
    if isinstance(value, str):
        match = _CONTROL.search(value)
        return (where, match.group()) if match else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{key}" if where else str(key)
            found = _control_character(key, inner) or _control_character(item, inner)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _control_character(item, f"{where}[{index}]")
            if found:
                return found
    return None


def from_dict(document: dict[str, Any], path: Path) -> LaunchSpec:
    """Validate a parsed spec document; ``path`` names it in errors and anchors its paths."""
    version = document.get("spec_version")
    if version != SPEC_VERSION:
        raise SpecError(
            f"{path}: spec_version: {version!r} is not supported; write spec_version: 1"
        )
    control = _control_character(document)
    if control is not None:
        where, character = control
        raise SpecError(
            f"{path}: {where}: holds the control character U+{ord(character):04X}; a spec's "
            "text reaches terminals and chat, so write plain text"
        )
    try:
        spec = LaunchSpec.model_validate(document)
    except ValidationError as error:
        problems = [_describe(item) for item in error.errors()]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SpecError(
            f"{path}: {problems[0]}{more}", [f"{path}: {p}" for p in problems]
        ) from None
    spec._path = path
    return spec


# --------------------------------------------------------------------------- messages


def _describe(item: Any) -> str:
    loc = tuple(item["loc"])
    where = _field_path(loc)
    kind = item["type"]
    message = str(item["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        key = str(loc[-1])
        hint = difflib.get_close_matches(key, _fields_at(loc[:-1]), n=1, cutoff=0.6)
        suggestion = f'; did you mean "{hint[0]}"?' if hint else "; remove it"
        return f"{where}: unknown key{suggestion}"
    if kind == "missing":
        return f"{where}: is required; add it (see docs/spec.md)"
    value = item.get("input")
    shown = f'"{value}"' if isinstance(value, str) else repr(value)
    if len(shown) > 80:  # a message names the value; it need not repeat a long one
        shown = shown[:77] + "..."
    if kind == "literal_error":
        return f"{where}: {shown} is not allowed; {message[0].lower()}{message[1:]}"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"{where}: {shown} is the wrong type; {message[0].lower()}{message[1:]}"
    return f"{where}: {message}" if where else message


def _field_path(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """The field names of the model found by following ``loc`` from LaunchSpec."""
    model: Any = LaunchSpec
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        model = _model_in(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _model_in(annotation: Any) -> Any:
    """The BaseModel inside an annotation such as ``list[Metric] | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union, list):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
