"""The metric models of spec format v1: what is measured, and what counts as success or harm.

A metric's fields and their rules (``Metric``, ``Side`` for a ratio's two events) and the
three roles (``Metrics``: a primary, guardrails and secondary metrics).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from impact.spec.fields import Duration, EffectValue, _check_name, _Model


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
    def daily_share(self) -> bool:
        """A before/after metric derived from events without a value: each day's share of
        the units active that day with the event (a rate, shown in %)."""
        return self.kind is None and self.event is not None and self.value is None

    @property
    def per(self) -> str:
        """What one daily value of a before/after metric is per: ``day`` (a column, or the
        share of active units with the event), or ``active unit per day`` (a count, sum or
        largest value of the day's events over the units active that day)."""
        return "active unit per day" if self.event is not None and self.value else "day"

    @property
    def series_words(self) -> str:
        """A before/after metric's daily series in words: its column, or what is derived
        from the events each day."""
        if self.column is not None:
            return f"column {self.column}"
        if self.daily_share:
            return f"the share of units active that day with a {self.event} event"
        of = {
            "count": f"{self.event} events per unit active that day",
            "sum": f"the sum of {self.event} values per unit active that day",
            "max": f"each active unit's largest {self.event} value that day, averaged",
        }
        return of[str(self.value)]

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
