"""The numbers behind a review's sections as pandas DataFrames, for a team's own analysis.

Each function takes the result a template's verdict cell holds (``review.run``,
``prepost.run`` or ``adoption_review.run``) and returns a new DataFrame; changing it changes
nothing of the verdict. docs/notebooks.md shows them in use::

    from impact import frames, review

    result = review.run("specs/demo-checkout.yaml", "56d", "2026-11-26")
    frames.per_week(result)           # the primary metric's effect by week since exposure
    frames.per_day(result)            # per arm by day of first exposure
    frames.per_segment(result)        # per value of each registered segment column
    frames.query(result, "SELECT platform, count(*) FROM impact_units GROUP BY 1", data_source)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from impact import sources
from impact.adoption_review import AdoptionReview
from impact.errors import DataError, ImpactError
from impact.prepost import PrepostResult
from impact.review import ReviewResult
from impact.stats import compare
from impact.stats.compare import CrossMoments

__all__ = [
    "checks",
    "funnel",
    "metrics",
    "per_arm",
    "per_day",
    "per_segment",
    "per_week",
    "query",
]

Reviewed = ReviewResult | PrepostResult | AdoptionReview
_EFFECT = ["control", "treatment", "effect", "ci_lower", "ci_upper", "relative_effect", "p_value"]


def metrics(result: Reviewed) -> pd.DataFrame:
    """One row per metric as verdict.json has it: role (primary, guardrail, secondary),
    name, status, control, treatment, effect, ci_lower, ci_upper, relative_effect, p_value,
    q_value (secondary), alpha. Empty for an adoption review without metrics."""
    payload = result.to_json()
    rows: list[dict[str, Any]] = []
    primary = payload.get("primary")
    entries = [("primary", primary)] if primary else []
    entries += [("guardrail", g) for g in payload.get("guardrails", [])]
    entries += [("secondary", s) for s in payload.get("secondary", [])]
    for role, entry in entries:
        low, high = entry.get("ci") or [None, None]
        rows.append(
            {
                "role": role,
                "name": entry["name"],
                "status": entry.get("status"),
                "control": entry.get("control"),
                "treatment": entry.get("treatment"),
                "effect": entry.get("effect"),
                "ci_lower": low,
                "ci_upper": high,
                "relative_effect": entry.get("relative_effect"),
                "p_value": entry.get("p_value"),
                "q_value": entry.get("q_value"),
                "alpha": entry.get("alpha"),
            }
        )
    columns = ["role", "name", "status", *_EFFECT[:-1], "p_value", "q_value", "alpha"]
    return pd.DataFrame(rows, columns=columns)


def per_arm(result: Reviewed) -> pd.DataFrame:
    """One row per metric and arm (experiments): metric, arm, n (mature units), value (the
    mean, share or ratio) and se (its standard error), as the verdict compared them."""
    review = _experiment(result, "per_arm")
    rows = []
    for name, data in review.table.metrics.items():
        ratio = data.metric.kind == "ratio"
        for arm, moments in (
            (review.spec.control, data.control),
            (review.spec.treatment, data.treatment),
        ):
            value, se = _value(ratio, moments)
            rows.append({"metric": name, "arm": arm, "n": moments.n, "value": value, "se": se})
    return pd.DataFrame(rows, columns=["metric", "arm", "n", "value", "se"])


def per_day(result: Reviewed, metric: str | None = None) -> pd.DataFrame:
    """Per day.

    Experiments: one row per day of first exposure and arm for ``metric`` (default the
    primary): day, arm, n, value, se (units whose window ended by as_of). Prepost: one row
    per day of the series for ``metric``: day, actual, counterfactual (after launch) and
    effect (actual minus counterfactual).

    Raises:
        ValueError: an adoption review (see :func:`funnel`), or a metric not in the spec.
    """
    if isinstance(result, PrepostResult):
        return _series_days(result, metric)
    review = _experiment(result, "per_day")
    name = metric or review.primary.metric.name
    data = review.table.metrics.get(name)
    if data is None:
        raise ValueError(
            f"per_day: no metric {name!r}; the metrics are {', '.join(review.table.metrics)}"
        )
    ratio = data.metric.kind == "ratio"
    rows = []
    for day, pair in sorted(data.by_day.items()):
        for arm, moments in zip((review.spec.control, review.spec.treatment), pair, strict=True):
            value, se = _value(ratio, moments)
            rows.append(
                {"day": pd.Timestamp(day), "arm": arm, "n": moments.n, "value": value, "se": se}
            )
    return pd.DataFrame(rows, columns=["day", "arm", "n", "value", "se"])


def per_week(result: Reviewed) -> pd.DataFrame:
    """The primary metric's comparison by week since each unit's exposure (experiments):
    week (1 is the first 7 days), control, treatment, effect, ci_lower, ci_upper,
    relative_effect, p_value. A shrinking effect is a novelty effect wearing off."""
    review = _experiment(result, "per_week")
    rows = [
        {
            "week": index + 1,
            "control": c.control,
            "treatment": c.treatment,
            "effect": c.effect,
            "ci_lower": c.ci_lower,
            "ci_upper": c.ci_upper,
            "relative_effect": c.relative_effect,
            "p_value": c.p_value,
        }
        for index, c in enumerate(review.weeks)
    ]
    return pd.DataFrame(rows, columns=["week", *_EFFECT])


def per_segment(result: Reviewed) -> pd.DataFrame:
    """One row per segment cell as verdict.json's ``segments`` has it (experiments whose spec
    registers ``segments:``): metric, role (primary, guardrail), column, value ("other" pools
    the small values; pooled_values lists them, else None), n_control, n_treatment, control,
    treatment, effect, ci_lower, ci_upper, relative_effect, p_value, q_value (across every
    cell), alpha (the look's), status, and differ_p_value (Cochran's Q of whether the
    metric's effect differs between the column's values).

    Raises:
        ValueError: a prepost or adoption review, or a spec without ``segments:``.
    """
    review = _experiment(result, "per_segment")
    if review.segments is None:
        raise ValueError(
            f"per_segment: {review.spec.id} registers no segments; a spec's segments: "
            "[column, ...] (registered before launch) gives them, or query the units "
            "yourself as docs/notebooks/digging-into-a-review.ipynb does"
        )
    found = review.segments
    rows = []
    for cell in found.cells:
        c = cell.comparison
        test = found.test(cell.metric.name, cell.column)
        rows.append(
            {
                "metric": cell.metric.name,
                "role": cell.role,
                "column": cell.column,
                "value": cell.value,
                "pooled_values": list(cell.pooled) if cell.pooled else None,
                "n_control": cell.n.get("control"),
                "n_treatment": cell.n.get("treatment"),
                **{key: getattr(c, key) for key in _EFFECT if key != "p_value"},
                "p_value": c.p_value,
                "q_value": cell.q_value,
                "alpha": c.alpha,
                "status": cell.status,
                "differ_p_value": test.test.p_value if test is not None else None,
            }
        )
    columns = ["metric", "role", "column", "value", "pooled_values", "n_control"]
    columns += ["n_treatment", *_EFFECT, "q_value", "alpha", "status", "differ_p_value"]
    return pd.DataFrame(rows, columns=columns)


def funnel(result: Reviewed) -> pd.DataFrame:
    """The adoption funnel, whole and per breakdown value: group (None for everyone),
    eligible, exposed, tried, repeat (shares of eligible), met, diagnosis. Empty when the
    spec has no adoption block."""
    found = result.adoption
    columns = ["group", "eligible", "exposed", "tried", "repeat", "met", "diagnosis"]
    if found is None:
        return pd.DataFrame([], columns=columns)
    rows = [
        {
            "group": f.group,
            "eligible": f.eligible,
            "exposed": f.exposed.value if f.exposed is not None else None,
            "tried": f.tried.value,
            "repeat": f.repeat.value,
            "met": f.met,
            "diagnosis": str(f.diagnosis),
        }
        for f in (found.funnel, *found.breakdown)
    ]
    return pd.DataFrame(rows, columns=columns)


def checks(result: Reviewed) -> pd.DataFrame:
    """The checks behind the verdict: name, passed, blocking, p_value, detail."""
    rows = [
        {
            "name": c.name,
            "passed": c.passed,
            "blocking": c.blocking,
            "p_value": c.p_value,
            "detail": c.detail,
        }
        for c in result.checks
    ]
    return pd.DataFrame(rows, columns=["name", "passed", "blocking", "p_value", "detail"])


def query(result: Reviewed, sql: str, data_source: str | None = None) -> pd.DataFrame:
    """A query of the launch's data, as a DataFrame: for a team's own section.

    ``sql`` is DuckDB's SQL over the contract views the review read, whatever the engine
    (files, PostgreSQL or Spark: it is rendered in the source's own dialect):
    ``impact_units`` (unit_id, variant, exposed_at and the units table's other columns)
    and ``impact_events`` (unit_id, event, ts, value), with the spec's ``data.columns``
    renames applied. The data are ``data_source`` when given (pass the template's parameter
    of that name: ``impact review --data-source``), else the spec's ``data.source``. Rows
    at or after the look's ``as_of`` are there too; filter with ``result.look.as_of`` to
    see what the review saw. The connection is closed before this returns.

    Raises:
        ValueError: a prepost review (its data are a daily series; see :func:`per_day`).
        DataError: the data cannot be opened, as the review would have said.
    """
    if isinstance(result, PrepostResult):
        raise ValueError(
            "query: this prepost review reads a daily series, not units and events; use "
            "frames.per_day"
        )
    source = sources.connect(result.spec, data_source)
    try:
        cursor = source.execute(sql)
        names = [column[0] for column in cursor.description or []]
        return pd.DataFrame(cursor.fetchall(), columns=names)
    except ImpactError:
        raise
    except Exception as error:  # the engine's or the SQL parser's: the query is the user's
        text = str(error).strip().split("\n\n")[0]  # DuckDB's hint is its second line
        words = " ".join(line.strip() for line in text.splitlines()) or type(error).__name__
        raise DataError(f"{source.location}: the query failed: {words}") from None
    finally:
        source.close()


def _experiment(result: Reviewed, what: str) -> ReviewResult:
    if not isinstance(result, ReviewResult):
        design = result.spec.design
        raise ValueError(
            f"{what}: this {design} review has no arms; use frames.metrics"
            + (", frames.per_day" if design == "prepost" else ", frames.funnel")
        )
    return result


def _value(ratio: bool, moments: CrossMoments) -> tuple[float | None, float | None]:
    """An arm's metric value and its standard error (None with under 2 units)."""
    if ratio:
        found = compare.ratio_of_means(moments)
        return (found[0], found[1] ** 0.5) if found is not None else (None, None)
    outcome = moments.moments(0)
    variance = outcome.variance()
    mean = outcome.mean
    if mean is None or variance is None:
        return mean, None
    return mean, (variance / outcome.n) ** 0.5


def _series_days(result: PrepostResult, metric: str | None) -> pd.DataFrame:
    name = metric or result.primary.metric.name
    modelled = result.models.get(name)
    if modelled is None:
        raise ValueError(f"per_day: no metric {name!r}; the metrics are {', '.join(result.models)}")
    series = result.series
    actual = np.asarray(series.values[name], dtype=float)
    forecast = np.asarray(modelled.forecast.mean, dtype=float)
    counterfactual = np.full(len(actual), np.nan)
    after = counterfactual[series.launch : series.launch + len(forecast)]
    after[:] = forecast[: len(after)]
    return pd.DataFrame(
        {
            "day": series.dates,
            "actual": actual,
            "counterfactual": counterfactual,
            "effect": actual - counterfactual,
        }
    )
