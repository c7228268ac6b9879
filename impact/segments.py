"""Segment effects: who the launch helped and who it hurt, per registered unit column.

For the primary metric and each guardrail, the effect per value of each column in the
spec's ``segments:`` with the same statistics as the whole launch (CUPED, caps, ratios,
the look's level, the stratification over rollout stages): the engine returns only sums
per arm, day and value (``metrics.compute_by``). Values with fewer units per arm than the
column's minimum are pooled into "other", and the report says which. Every cell's p-value
enters one Benjamini-Hochberg adjustment across all cells (metrics x columns x values),
and each metric and column gets Cochran's Q test of whether its values' effects differ.

Segments never change the outcome. A primary harm or a guardrail breach in a cell with
q below alpha is a reason line on the first screen ("harms android: ..."), so the PM can
hold that segment back; where the values of a column differ (Cochran's Q below alpha),
the cells where the primary improved significantly are named too ("helps ios: ...").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from impact import metrics, rollout
from impact.analysis import Analysis
from impact.metrics import MetricTable
from impact.sources import contract
from impact.sources.source import Source
from impact.spec import LaunchSpec, Metric, Segment
from impact.stats import heterogeneity, multiplicity
from impact.stats.compare import Comparison
from impact.verdict import judge_guardrail, judge_primary

__all__ = ["MISSING", "OTHER", "Cell", "ColumnTest", "SegmentResult", "analyse", "read"]

OTHER = "other"
"""The value that small values are pooled into."""
MISSING = "(missing)"
"""How a unit without a value in the column is labelled."""

Role = Literal["primary", "guardrail"]
Tables = dict[str | None, MetricTable]


@dataclass(frozen=True)
class Cell:
    """A metric's effect among the units with one value of a segment column.

    Attributes:
        metric: the metric.
        role: primary or guardrail.
        column: the segment column.
        value: the value (``OTHER`` for pooled small values, ``MISSING`` for none).
        pooled: for ``OTHER``, the values pooled into it; empty otherwise.
        n: the metric's units in the cell, under "control" and "treatment".
        analysis: the comparison, with the same statistics as the whole launch.
        status: the primary or guardrail status of the cell.
        reason: the status in one sentence (the verdict's words).
        q_value: the Benjamini-Hochberg q-value across all cells (None without a p-value).
    """

    metric: Metric
    role: Role
    column: str
    value: str
    pooled: tuple[str, ...]
    n: dict[str, int]
    analysis: Analysis
    status: str
    reason: str
    q_value: float | None = None

    @property
    def comparison(self) -> Comparison:
        """The cell's comparison."""
        return self.analysis.comparison

    def significant(self, alpha: float) -> bool:
        """Whether the cell's q-value is below ``alpha``."""
        return self.q_value is not None and self.q_value < alpha

    def to_json(self) -> dict[str, Any]:
        """verdict.json's entry in ``segments``."""
        return {
            "metric": self.metric.name,
            "role": self.role,
            "column": self.column,
            "value": self.value,
            "pooled_values": list(self.pooled) if self.pooled else None,
            "n": dict(self.n),
            **self.comparison.to_json(),
            "q_value": self.q_value,
            "status": self.status,
            "cuped_applied": self.analysis.cuped_applied,
        }


@dataclass(frozen=True)
class ColumnTest:
    """Whether a metric's effect differs between the values of a column."""

    metric: Metric
    column: str
    test: heterogeneity.Heterogeneity

    def to_json(self) -> dict[str, Any]:
        """verdict.json's entry in ``heterogeneity``."""
        return {
            "metric": self.metric.name,
            "column": self.column,
            "test": "cochran_q",
            "statistic": self.test.statistic,
            "dof": self.test.dof,
            "p_value": self.test.p_value,
            "i2": self.test.i2,
            "values": self.test.groups,
        }


@dataclass(frozen=True)
class SegmentResult:
    """Every segment cell of a review, and the heterogeneity tests.

    Attributes:
        cells: primary first, then guardrails; per column, values by name, ``OTHER`` last.
        tests: Cochran's Q per metric and column.
        pooled: per column, the values pooled into ``OTHER`` and the minimum they missed.
        alpha: the level q-values are compared with (the look's).
    """

    cells: list[Cell]
    tests: list[ColumnTest]
    pooled: dict[str, tuple[tuple[str, ...], int]] = field(default_factory=dict)
    alpha: float = 0.05

    def test(self, metric: str, column: str) -> ColumnTest | None:
        """The heterogeneity test of a metric and column."""
        return next((t for t in self.tests if t.metric.name == metric and t.column == column), None)

    def harms(self) -> list[Cell]:
        """Cells where the primary got worse or a guardrail breached, with q below alpha."""
        return [
            c for c in self.cells if c.status in ("harm", "breach") and c.significant(self.alpha)
        ]

    def helps(self) -> list[Cell]:
        """Primary cells that improved with q below alpha, in a column whose values differ."""
        found = []
        for c in self.cells:
            if c.role != "primary" or c.status not in ("target_met", "below_target"):
                continue
            test = self.test(c.metric.name, c.column)
            p_value = test.test.p_value if test is not None else None
            if p_value is not None and p_value < self.alpha and c.significant(self.alpha):
                found.append(c)
        return found

    def reasons(self) -> list[str]:
        """The first screen's lines: each harm, then (where values differ) each help."""
        cells = len([c for c in self.cells if c.q_value is not None])
        lines = []
        for c in self.harms():
            lines.append(
                f"harms {c.value} ({c.column}): {c.reason.rstrip('.')}; q = "
                f"{c.q_value:.2g} across {cells} segment cells. Segments never change the "
                f"outcome, but wherever it ships, {c.column} {c.value} may be held back"
            )
        for c in self.helps():
            test = self.test(c.metric.name, c.column)
            assert test is not None and test.test.p_value is not None
            lines.append(
                f"helps {c.value} ({c.column}): {c.reason.rstrip('.')}; q = {c.q_value:.2g}; "
                f"the effect differs between {c.column} values (Cochran's Q p = "
                f"{test.test.p_value:.2g})"
            )
        return lines

    def to_json(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """verdict.json's ``segments`` and ``heterogeneity``."""
        return [c.to_json() for c in self.cells], [t.to_json() for t in self.tests]


def read(source: Source, spec: LaunchSpec, as_of: dt.datetime) -> dict[str, Tables]:
    """Each registered column's metric table per value, from the data.

    Raises:
        DataError: a registered column is not in the units table.
    """
    contract.check_segment_columns(source, spec)
    return {
        segment.column: metrics.compute_by(source, spec, as_of, segment.column)
        for segment in spec.segments
    }


def _pool(
    spec: LaunchSpec, segment: Segment, tables: Tables
) -> tuple[list[tuple[str, tuple[str, ...], MetricTable]], tuple[str, ...]]:
    """(value, pooled values, table) per shown value; small values pooled into OTHER."""
    minimum = segment.minimum(spec)
    named = {(MISSING if value is None else value): table for value, table in tables.items()}
    small = sorted(
        value for value, table in named.items() if min(table.population.units.values()) < minimum
    )
    shown: list[tuple[str, tuple[str, ...], MetricTable]] = [
        (value, (), named[value]) for value in sorted(named) if value not in small
    ]
    if small:
        shown.append((OTHER, tuple(small), metrics.merge([named[v] for v in small])))
    return shown, tuple(small)


def analyse(spec: LaunchSpec, tables: dict[str, Tables], *, alpha: float) -> SegmentResult:
    """Compare every cell: per column, per value, the primary and each guardrail.

    Args:
        spec: the launch spec.
        tables: per segment column, the metric table of each value.
        alpha: the look's level.
    """
    decided: list[tuple[Role, Metric]] = []
    if spec.metrics.primary is not None:
        decided.append(("primary", spec.metrics.primary))
    decided += [("guardrail", m) for m in spec.metrics.guardrails]
    by_metric: dict[str, list[Cell]] = {m.name: [] for _, m in decided}
    pooled: dict[str, tuple[tuple[str, ...], int]] = {}
    for segment in spec.segments:
        shown, small = _pool(spec, segment, tables[segment.column])
        if small:
            pooled[segment.column] = (small, segment.minimum(spec))
        for value, members, table in shown:
            analyses = rollout.analyse_table(spec, table, alpha=alpha)[0]
            for role, metric in decided:
                found = analyses[metric.name]
                judged = (
                    judge_primary(metric, found.comparison)
                    if role == "primary"
                    else judge_guardrail(metric, found.comparison)
                )
                data = table.metrics[metric.name]
                by_metric[metric.name].append(
                    Cell(
                        metric=metric,
                        role=role,
                        column=segment.column,
                        value=value,
                        pooled=members,
                        n={"control": data.control.n, "treatment": data.treatment.n},
                        analysis=found,
                        status=judged.status,
                        reason=judged.reason,
                    )
                )
    cells = [cell for _, m in decided for cell in by_metric[m.name]]
    tested = [c.comparison.p_value for c in cells if c.comparison.p_value is not None]
    q_values = iter(multiplicity.benjamini_hochberg(tested))
    cells = [
        dataclasses.replace(c, q_value=next(q_values) if c.comparison.p_value is not None else None)
        for c in cells
    ]
    tests = []
    for _, metric in decided:
        for segment in spec.segments:
            group = [
                c
                for c in cells
                if c.metric.name == metric.name
                and c.column == segment.column
                and c.comparison.effect is not None
                and c.comparison.se is not None
            ]
            test = heterogeneity.cochran_q(
                [c.comparison.effect for c in group if c.comparison.effect is not None],
                [c.comparison.se**2 for c in group if c.comparison.se is not None],
            )
            tests.append(ColumnTest(metric, segment.column, test))
    return SegmentResult(cells, tests, pooled, alpha)
