"""The pydantic models of spec format v1: every field, its rule and its error."""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import os
import re
import urllib.parse
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from impact import sandbox
from impact.spec.fields import (
    _NOT_YET,
    Duration,
    EffectValue,
    _check_confidence,
    _check_id,
    _confidence_as_number,
    _Model,
    format_duration,
)
from impact.spec.metric import Metric, Metrics

_TEMPLATE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


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
            try:
                urllib.parse.urlsplit(value).port  # noqa: B018 (a port that is not a number)
            except ValueError:
                raise ValueError(
                    "its port is not a number from 0 to 65535; write "
                    "postgresql://user@host:5432/database"
                ) from None
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
        return None if value is None else _check_split(value)


def _check_split(value: dict[str, float]) -> dict[str, float]:
    """Exactly two arms, each share between 0 and 1, summing to 1."""
    if len(value) != 2:
        raise ValueError(
            f"has {len(value)} arms; write exactly two, such as {{control: 0.5, treatment: 0.5}}"
        )
    if any(not 0 < share < 1 for share in value.values()):
        raise ValueError("each arm's share must be between 0 and 1")
    if abs(sum(value.values()) - 1) > 1e-9:
        raise ValueError(f"shares sum to {sum(value.values()):g}; they must sum to 1")
    return value


_CONTRACT_COLUMNS = ("unit_id", "variant", "exposed_at")


class Segment(_Model):
    """A unit column registered before launch: the effect is reported per value of it.

    Written as the column's name (``platform``) or with a floor, ``{column: country,
    min_units: 200}``: values with fewer units per arm are pooled into "other".
    """

    column: str
    min_units: int | None = None

    @field_validator("column")
    @classmethod
    def _a_column(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", value):
            raise ValueError(
                f'"{value}" is not a column name; use letters, digits and underscores, such '
                "as platform"
            )
        if value.lower() in _CONTRACT_COLUMNS:
            raise ValueError(
                f"{value} is a contract column; name an attribute of the units table, such "
                "as platform or country"
            )
        return value

    @field_validator("min_units")
    @classmethod
    def _floor(cls, value: int | None) -> int | None:
        if value is not None and value < 2:
            raise ValueError(f"{value} is too small; at least 2 units per arm, such as 200")
        return value

    def minimum(self, spec: LaunchSpec) -> int:
        """Units per arm a value needs to be shown alone (default: ``decision.min_units``)."""
        return self.min_units if self.min_units is not None else spec.decision.min_units


_SEGMENT_SCHEMA = {
    "anyOf": [
        {"type": "string", "description": "a column of the units table"},
        {
            "type": "object",
            "properties": {
                "column": {"type": "string"},
                "min_units": {"type": "integer", "minimum": 2},
            },
            "required": ["column"],
            "additionalProperties": False,
        },
    ]
}


def _segment_from_name(value: object) -> object:
    return {"column": value} if isinstance(value, str) else value


class Stage(_Model):
    """One stage of a staged release: from ``start`` on, new units are split by ``split``."""

    start: dt.date
    split: dict[str, float]

    @field_validator("split")
    @classmethod
    def _shares(cls, value: dict[str, float]) -> dict[str, float]:
        return _check_split(value)


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


class Bet(_Model):
    """The RICE bet written before launch: registered and hashed, never deciding.

    Attributes:
        reach: units the launch reaches per quarter.
        impact: the expected effect on the primary metric, in its units and written as its
            target is (``+0.02``, or ``+6%`` beside a relative target), in the good direction.
        confidence: the stated chance, 0.5 to 1, that the primary meets its target.
        effort: person-weeks.
    """

    reach: float
    impact: EffectValue
    confidence: Annotated[float, BeforeValidator(_confidence_as_number)]
    effort: float

    @field_validator("reach")
    @classmethod
    def _reach(cls, value: float) -> float:
        if not 0 < value < float("inf"):
            raise ValueError(f"{value:g} must be a positive number of units per quarter")
        return value

    @field_validator("effort")
    @classmethod
    def _effort(cls, value: float) -> float:
        if not 0 < value < float("inf"):
            raise ValueError(f"{value:g} must be a positive number of person-weeks, such as 6")
        return value

    @field_validator("confidence")
    @classmethod
    def _confidence(cls, value: float) -> float:
        return _check_confidence(value)

    @property
    def planned_rice(self) -> float:
        """reach x impact x confidence / effort, with impact as a magnitude."""
        return self.reach * self.impact.magnitude * self.confidence / self.effort


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
    bet: Bet | None = None
    segments: list[
        Annotated[Segment, BeforeValidator(_segment_from_name), WithJsonSchema(_SEGMENT_SCHEMA)]
    ] = Field(default_factory=list)
    rollout: list[Stage] | None = None
    template: str | None = None

    _path: Path = PrivateAttr(default=Path("spec.yaml"))

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        return _check_id(value)

    @model_validator(mode="before")
    @classmethod
    def _split_from_rollout(cls, document: Any) -> Any:
        """With ``rollout:``, ``data.split`` may be left out: it is the last stage's split."""
        if not isinstance(document, dict):
            return document
        stages, data = document.get("rollout"), document.get("data")
        if not (isinstance(stages, list) and stages and isinstance(data, dict)):
            return document
        last = stages[-1].get("split") if isinstance(stages[-1], dict) else None
        if "split" in data or not _plausible_split(last):
            return document
        return {**document, "data": {**data, "split": last}}

    @field_validator("segments")
    @classmethod
    def _distinct_segments(cls, value: list[Segment]) -> list[Segment]:
        columns = [segment.column.lower() for segment in value]
        for segment in value:
            if columns.count(segment.column.lower()) > 1:
                raise ValueError(f"{segment.column} is listed twice; list each column once")
        return value

    @field_validator("rollout")
    @classmethod
    def _stages(cls, value: list[Stage] | None) -> list[Stage] | None:
        if value is None:
            return value
        if not value:
            raise ValueError(
                "needs at least one stage, such as [{start: 2026-09-01, split: {control: 0.9, "
                "treatment: 0.1}}], or remove rollout"
            )
        return value

    @field_validator("template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if _TEMPLATE_NAME.match(value) or (value.endswith(".ipynb") and value != ".ipynb"):
            return value
        raise ValueError(
            f'"{value}" is neither a template name (lower-case letters, digits, dashes, such '
            "as checkout-team) nor a path to a .ipynb notebook relative to the spec"
        )

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
        self._check_rollout()
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
        if self.bet is not None:
            self._check_bet(self.bet)
        return self

    def _check_bet(self, bet: Bet) -> None:
        """The bet's impact is on the primary, signed and written as its target is."""
        primary = self.metrics.primary
        if primary is None or primary.target is None:
            raise ValueError(
                "bet: the bet's impact is the expected effect on metrics.primary, and this "
                "spec has none; add a primary metric with a target or remove the bet"
            )
        if bet.impact.sign not in (0, primary.good_sign):
            raise ValueError(
                f"bet.impact {bet.impact} contradicts metrics.primary.direction: "
                f"{primary.direction}; write {'+' if primary.good_sign > 0 else '-'}"
                f"{str(bet.impact).lstrip('+-')} or drop the sign"
            )
        if bet.impact.relative != primary.target.relative:
            example = "+6%" if primary.target.relative else f"{primary.target}"
            written = "relative" if bet.impact.relative else "in the metric's units"
            raise ValueError(
                f"bet.impact {bet.impact} is {written}; write bet.impact as "
                f"metrics.primary.target is written ({primary.target}), such as {example}"
            )

    def _check_rollout(self) -> None:
        """Stages start at launch, in order; every stage splits the same two arms."""
        if self.segments and self.design != "experiment":
            raise ValueError(
                f"segments belong to design: experiment (effects per value compare arms); "
                f"remove them from this design: {self.design} spec"
            )
        if self.rollout is None:
            return
        if self.design != "experiment":
            raise ValueError(
                f"rollout belongs to design: experiment (stages split units between arms); "
                f"remove it from this design: {self.design} spec"
            )
        first = self.rollout[0].start
        if first != self.launch_date:
            raise ValueError(
                f"rollout[0].start: {first} is not launch_date {self.launch_date}; the first "
                "stage starts at launch"
            )
        arms = sorted(self.rollout[0].split)
        for index, (earlier, later) in enumerate(itertools.pairwise(self.rollout), start=1):
            if later.start <= earlier.start:
                raise ValueError(
                    f"rollout[{index}].start: {later.start} must be after the stage before it "
                    f"({earlier.start})"
                )
            if sorted(later.split) != arms:
                raise ValueError(
                    f"rollout[{index}].split: the arms {', '.join(sorted(later.split))} differ "
                    f"from the first stage's ({', '.join(arms)}); every stage splits the same "
                    "two arms"
                )
        if self.data.split != self.rollout[-1].split:
            raise ValueError(
                "data.split: differs from the last stage of rollout; leave data.split out (it "
                "is the last stage's split) or make them equal"
            )

    def _check_experiment(self) -> None:
        data = self.data
        for field in ("series", "pre_period"):
            if getattr(data, field) is not None:
                raise ValueError(f"data.{field} belongs to design: prepost; remove it")
        for where, metric in self.metrics_with_paths():
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
        for where, metric in self.metrics_with_paths():
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
        needed = self.min_pre_days
        if data.pre_period is not None and data.pre_period < needed:
            # Refused before launch: the review stops on it, but only after launch, when the
            # registered criteria can no longer change.
            where, longest = max(
                ((w, m.seasonality or 0) for w, m in self.metrics_with_paths()),
                key=lambda found: found[1],
            )
            why = (
                f" (three seasonal periods of {where}.seasonality {format_duration(longest)})"
                if 3 * longest == needed
                else ""
            )
            raise ValueError(
                f"data.pre_period: {format_duration(data.pre_period)} is shorter than the model "
                f"needs: at least {format_duration(needed)}{why}; write pre_period: "
                f"{format_duration(needed)} or longer, or leave it out to fit on all the history"
            )

    @property
    def min_pre_days(self) -> int:
        """The shortest pre-period a before/after model is fit on: 14 days, and three
        seasonal periods of every metric."""
        longest = max((m.seasonality or 0 for m in self.metrics.all()), default=0)
        return max(14, 3 * longest)

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
        for where, metric in self.metrics_with_paths():
            if metric.kind is None:
                raise ValueError(f"{where}.kind is required; write proportion, mean or ratio")
        if self.metrics.guardrails:
            raise ValueError(
                "metrics.guardrails belong to experiments and prepost reviews; an adoption "
                "review decides on its thresholds, remove them"
            )

    def metrics_with_paths(self) -> list[tuple[str, Metric]]:
        """Every metric with its field path in the spec (``metrics.guardrails[0]``), primary
        first."""
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

    def stage_of(self, day: dt.date) -> int:
        """The index of the rollout stage a unit first exposed on ``day`` belongs to (0
        without a rollout, or before the first stage)."""
        found = 0
        for index, stage in enumerate(self.rollout or []):
            if stage.start <= day:
                found = index
        return found

    def as_of(self, checkpoint_days: int) -> dt.datetime:
        """00:00 UTC of launch_date + checkpoint, as a naive UTC datetime."""
        return dt.datetime.combine(self.launch_date, dt.time()) + dt.timedelta(days=checkpoint_days)


def _plausible_split(value: object) -> bool:
    """Whether a stage's split may stand in for ``data.split`` (its own rules are checked
    on the stage, so its errors name the stage)."""
    if not isinstance(value, dict) or len(value) != 2:
        return False
    shares = list(value.values())
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in shares):
        return False
    return all(0 < v < 1 for v in shares) and abs(sum(shares) - 1) <= 1e-9


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the spec format, for editors' YAML language servers."""
    schema = LaunchSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "impact launch spec, format v1"
    return schema
