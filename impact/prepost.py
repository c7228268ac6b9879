"""One prepost review: a launch without a control group, against a modelled counterfactual.

What a prepost template's cells call::

    result = prepost.run("specs/demo-prepost.yaml", checkpoint="56d", today="2026-11-26")
    result.verdict.outcome      # "ship"
    result.to_json()            # the verdict.json payload

Each metric's daily series is modelled on the pre-period (``impact.stats.prepost``); the
effect is the post-period's actual minus the counterfactual. The decision rule is the
experiment's, applied to the average effect per day, with three prepost rules from
DESIGN.md: a model whose placebo windows find effects too often is miscalibrated (the
verdict is invalid); an effect no more extreme than the placebos' is at best inconclusive;
two looks split alpha as the spending function allots it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from impact import adoption, formats, handover, registry, seal, series, sources
from impact import spec as spec_module
from impact.adoption import AdoptionResult
from impact.payload import checks_json, clean, comparison_json, payload_head, run_json
from impact.review import (
    SecondaryResult,
    look_at,
    parse_today,
    registration_check,
    with_adoption_reason,
)
from impact.sources import contract
from impact.sources.source import Source
from impact.spec import LaunchSpec, Metric
from impact.stats import multiplicity, sequential
from impact.stats import prepost as model
from impact.stats import prepost_checks as model_checks
from impact.stats.compare import Comparison
from impact.verdict import (
    Check,
    Look,
    MetricVerdict,
    Verdict,
    decide,
    judge_guardrail,
    judge_primary,
)

__all__ = ["Modelled", "PrepostResult", "levels", "prepare", "run", "weekly_left_out"]

# A blocking check: well-specified models pass it in 99.6% of the grid's series
# (docs/validation-prepost.md); a weekly pattern left out fails it in all.
RESIDUAL_ALPHA = 0.001
CLAIMS = ("target_met", "below_target", "harm")  # statuses that claim an effect
OBSERVATIONAL = (
    "Without a control group, the effect is the gap between what "
    "happened and what the model forecast from the days before launch. It is wrong if "
    "something else changed at launch (a campaign, a holiday, an outage, a change in a "
    "control series), or if the pre-period does not describe what would have followed."
)


@dataclass(frozen=True)
class Modelled:
    """One metric's series against its counterfactual.

    Attributes:
        metric: the metric's definition.
        fit: the model fit on the pre-period.
        forecast: the counterfactual of each post-period day.
        effect: actual minus counterfactual, at the look's level.
        placebos: the placebo windows (at the spec's alpha).
        holdout: the forecast of the pre-period's last stretch, or None when too short.
        residuals: the Ljung-Box test of the pre-period's one-day forecast errors, or None
            when the pre-period is too short for it.
        comparison: the effect as a Comparison (control = counterfactual), for the verdict.
    """

    metric: Metric
    fit: model.Fit
    forecast: model.Forecast
    effect: model.Effect
    placebos: model_checks.Placebos
    holdout: model_checks.Holdout | None
    residuals: model_checks.Autocorrelation | None
    comparison: Comparison

    @property
    def problems(self) -> tuple[str, ...]:
        """Why the fit cannot be trusted: a degenerate fit or forecast (empty when sound)."""
        found = list(self.fit.problems)
        if not self.effect.ci[1] > self.effect.ci[0]:
            found.append("the interval of the effect has width 0")
        if np.linalg.eigvalsh(self.forecast.cov).min() < -1e-9 * max(
            1.0, np.trace(self.forecast.cov)
        ):
            found.append("the forecast's covariance is not positive definite")
        return tuple(found)

    def to_json(self) -> dict[str, Any]:
        """The prepost keys of a metric in verdict.json."""
        effect = self.effect
        return {
            "cumulative_effect": effect.cumulative if self.metric.flow else None,
            "cumulative_ci": list(effect.cumulative_ci) if self.metric.flow else [None, None],
            "placebo": {
                "windows": self.placebos.count,
                "excluding_zero": self.placebos.excluded,
                "rank_p_value": self.placebos.rank_p,
            },
            "holdout": None
            if self.holdout is None
            else {
                "days": self.holdout.days,
                "mape": self.holdout.mape,
                "coverage": self.holdout.coverage,
            },
            "model": {
                "seasonality": self.fit.seasonality,
                "trend": self.fit.trend,
                "controls": list(self.metric.controls),
                "converged": self.fit.converged,
                "variances": self.fit.variances(),
                "static_weight": self.fit.static_weight,
                "problems": list(self.problems),
                "residuals": None
                if self.residuals is None
                else {
                    "lags": self.residuals.lags,
                    "statistic": self.residuals.statistic,
                    "p_value": self.residuals.p_value,
                    "worst_lag": self.residuals.worst_lag,
                    "autocorrelation": self.residuals.worst,
                },
            },
        }


@dataclass(frozen=True)
class PrepostResult:
    """Everything a prepost review found, ready for display and for verdict.json."""

    spec: LaunchSpec
    look: Look
    today: dt.date
    series: series.Series
    models: dict[str, Modelled]
    primary: MetricVerdict
    guardrails: list[MetricVerdict]
    secondary: list[SecondaryResult]
    checks: list[Check]
    registration: registry.Registration
    verdict: Verdict
    started_at: dt.datetime
    seconds: float
    adoption: AdoptionResult | None = None

    @property
    def data_fingerprint(self) -> str:
        """The sha256 of the data source's files."""
        return self.series.fingerprint

    def to_json(self) -> dict[str, Any]:
        """The verdict.json payload (schema ``impact/schemas/verdict.v1.json``)."""
        primary = self.primary
        dates = self.series.dates
        payload = {
            **payload_head(self.spec, self.look, self.verdict),
            "primary": {
                "name": primary.metric.name,
                "kind": "series",
                "per": primary.metric.per,
                "status": primary.status,
                "status_words": primary.words,
                **comparison_json(primary.comparison),
                **formats.to_json(primary.metric),
                "target": str(primary.metric.target),
                "n": {"pre": self.series.pre_days, "post": self.series.post_days},
                **self.models[primary.metric.name].to_json(),
            },
            "guardrails": [
                {
                    "name": g.metric.name,
                    "status": g.status,
                    "status_words": g.words,
                    **comparison_json(g.comparison),
                    **formats.to_json(g.metric),
                    "margin": g.metric.margin.magnitude if g.metric.margin else None,
                    "margin_relative": bool(g.metric.margin and g.metric.margin.relative),
                    **self.models[g.metric.name].to_json(),
                }
                for g in self.guardrails
            ],
            "secondary": [
                {
                    "name": s.metric.name,
                    **comparison_json(s.comparison),
                    **formats.to_json(s.metric),
                    "q_value": s.q_value,
                    **self.models[s.metric.name].to_json(),
                }
                for s in self.secondary
            ],
            "checks": checks_json(self.checks),
            "adoption": self.adoption.to_json() if self.adoption else None,
            "registration": self.registration.to_json(),
            "data": {
                "first_day": dates[0].date().isoformat(),
                "launch_day": dates[self.series.launch].date().isoformat(),
                "last_day": dates[-1].date().isoformat(),
            },
            "run": run_json(self.data_fingerprint, self.started_at, self.seconds, self.today),
        }
        return clean(payload)


class Prepared(NamedTuple):
    """What ``prepare`` found: the inputs of a prepost review, all checked.

    ``source`` is the units and events of the adoption block (None without one); the caller
    closes it.
    """

    spec: LaunchSpec
    look: Look
    series: series.Series
    registration: registry.Registration
    source: Source | None


def prepare(
    spec_path: str,
    checkpoint: str | None = None,
    today: str | dt.date | None = None,
    data_source: str | None = None,
) -> Prepared:
    """Everything a prepost review checks before statistics: spec, checkpoint, lock, data.

    Raises:
        SpecError, DataError, RegistrationError: bad input or data not ready (exit 2).
    """
    handed = handover.take(Prepared, spec_path, checkpoint, today, data_source)
    if handed is not None:
        return handed
    spec = spec_module.load(spec_path)
    look = look_at(spec, checkpoint, parse_today(today))
    registration = registry.check(spec)
    daily = series.load(spec, look.as_of, data_source)
    series.require_history(spec, daily)
    source = None
    if spec.adoption is not None:
        source = sources.connect(spec, data_source)
        try:
            contract.check_contract(source, spec, look.as_of)
            contract.check_ready(source, spec, look.as_of, look.label)
        except BaseException:
            source.close()
            raise
    return Prepared(spec, look, daily, registration, source)


def levels(spec: LaunchSpec, look: Look) -> Look:
    """The look's level: the registered looks split alpha as spending allots it.

    The information fraction of a look is its post-period days over the final look's. A
    monitoring run uses the spec's alpha and never decides.
    """
    if not look.registered:
        return look
    fractions = [days / spec.reviews[-1] for days in spec.reviews if days <= look.days]
    split = sequential.split_levels(fractions, spec.decision.alpha)
    return dataclasses.replace(
        look, alpha=split[-1], information=tuple(fractions), levels=tuple(split)
    )


def run(
    spec_path: str,
    checkpoint: str | None = None,
    today: str | dt.date | None = None,
    data_source: str | None = None,
    *,
    clock: dt.datetime | None = None,
) -> PrepostResult:
    """Run one prepost review (the arguments are those of ``review.run``)."""
    started_at = clock or dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    spec, look, daily, registration, source = prepare(spec_path, checkpoint, today, data_source)
    found = None
    if source is not None:
        try:
            found = adoption.measure(source, spec, look.as_of, spec.decision.alpha)
        finally:
            source.close()
    look = levels(spec, look)
    alpha = spec.decision.alpha
    models = {m.name: _model(m, daily, look.alpha, alpha) for m in spec.metrics.all()}
    primary_metric = spec.metrics.primary
    assert primary_metric is not None
    primary = _capped(
        judge_primary(primary_metric, models[primary_metric.name].comparison),
        models[primary_metric.name].placebos,
        alpha,
    )
    guardrails = [judge_guardrail(m, models[m.name].comparison) for m in spec.metrics.guardrails]
    tested = [models[m.name].comparison.p_value for m in spec.metrics.secondary]
    q_values = multiplicity.benjamini_hochberg([p for p in tested if p is not None])
    secondary = [
        SecondaryResult(m, models[m.name].comparison, q)
        for m, q in zip(spec.metrics.secondary, q_values, strict=True)
    ]
    checks = _checks(spec, daily, models, alpha)
    checks.append(registration_check(spec, registration))
    verdict = with_adoption_reason(
        decide(spec, look, primary, guardrails, checks, None), primary, found
    )
    result = PrepostResult(
        spec=spec,
        look=look,
        today=parse_today(today),
        series=daily,
        models=models,
        primary=primary,
        guardrails=guardrails,
        secondary=secondary,
        checks=checks,
        registration=registration,
        verdict=verdict,
        started_at=started_at,
        seconds=time.perf_counter() - started,
        adoption=found,
    )
    seal.record(spec_path, checkpoint, today, data_source, result.to_json())
    return result


def _model(metric: Metric, daily: series.Series, level: float, alpha: float) -> Modelled:
    values = daily.values[metric.name]
    controls = (
        np.column_stack([daily.controls[c] for c in metric.controls]) if metric.controls else None
    )
    fitted = model.fit(
        values[: daily.launch], controls, seasonality=metric.seasonality, trend=metric.trend
    )
    forecast = model.forecast(fitted, daily.launch, daily.post_days)
    effect = model.effect(values[daily.launch :], forecast, level)
    at_alpha = model.effect(values[daily.launch :], forecast, alpha)
    placebos = model_checks.placebos(fitted, daily.post_days, alpha, at_alpha)
    holdout = model_checks.holdout(fitted, daily.post_days, alpha)
    note = (
        ""
        if effect.relative_ci is not None
        else (
            "the counterfactual mean is not told apart from 0, so the relative interval is "
            "unbounded"
        )
    )
    relative_ci = effect.relative_ci or (None, None)
    comparison = Comparison(
        control=effect.counterfactual,
        treatment=effect.actual,
        effect=effect.average,
        ci_lower=effect.ci[0],
        ci_upper=effect.ci[1],
        se=effect.sd,
        p_value=effect.p_value,
        dof=None,
        relative_effect=effect.relative,
        relative_ci_lower=relative_ci[0],
        relative_ci_upper=relative_ci[1],
        alpha=level,
        note=note,
    )
    residuals = model_checks.residual_autocorrelation(fitted)
    return Modelled(metric, fitted, forecast, effect, placebos, holdout, residuals, comparison)


def rank_cap(placebos: model_checks.Placebos, alpha: float) -> bool:
    """Whether the real effect is no more extreme than the placebos allow a claim.

    The rank p-value must be at most alpha; with fewer than 1/alpha - 1 placebos it cannot
    be, and the real effect must then be beyond every placebo.
    """
    if placebos.rank_p is None:
        return False
    return placebos.rank_p > max(alpha, 1 / (placebos.count + 1))


def _capped(judged: MetricVerdict, placebos: model_checks.Placebos, alpha: float) -> MetricVerdict:
    if judged.status not in CLAIMS or not rank_cap(placebos, alpha):
        return judged
    reason = (
        f"{judged.reason.rstrip('.')}; but {placebos.count} placebo launches before the real "
        f"one found effects as large (placebo rank p = {placebos.rank_p:.2f}), so this is "
        "inconclusive."
    )
    return dataclasses.replace(judged, status="inconclusive", reason=reason)


def _checks(
    spec: LaunchSpec, daily: series.Series, models: dict[str, Modelled], alpha: float
) -> list[Check]:
    checks: list[Check] = []
    deciding = [m for m in spec.metrics.all() if m.target is not None or m.margin is not None]
    for metric in deciding:
        placebos = models[metric.name].placebos
        checks.append(placebo_check(metric.name, placebos, daily.post_days, alpha))
    if daily.pre_days < 3 * daily.post_days:
        checks.append(
            Check(
                "pre_period",
                False,
                None,
                f"the pre-period ({daily.pre_days} days) is shorter than three times the "
                f"post-period ({daily.post_days} days): the forecast leans on little history",
                blocking=False,
            )
        )
    for metric in spec.metrics.all():
        fitted = models[metric.name].fit
        problems = models[metric.name].problems
        if problems:
            deciding_metric = metric.target is not None or metric.margin is not None
            checks.append(
                Check(
                    f"model:{metric.name}",
                    False,
                    None,
                    f"{metric.name}: the model fit is degenerate: {'; '.join(problems)}. Its "
                    "intervals cannot be trusted. Check the data: a metric that is an exact "
                    "function of a control (or constant) cannot be modelled against it; remove "
                    "that control, or fix the series, and register the change",
                    blocking=deciding_metric,
                )
            )
        if fitted.warnings or not fitted.converged:
            checks.append(
                Check(
                    f"fit:{metric.name}",
                    False,
                    None,
                    f"{metric.name}: the model fit warned: {'; '.join(fitted.warnings)}",
                    blocking=False,
                )
            )
    checks.extend(_residual_checks(spec, models))
    checks.extend(_moved_controls(spec, daily, models, alpha))
    return checks


def placebo_check(name: str, placebos: model_checks.Placebos, steps: int, alpha: float) -> Check:
    """The placebo gate: more placebo windows of ``steps`` days excluding 0 than a calibrated
    model shows in 99% of reviews (their overlap counted) make the verdict invalid."""
    if placebos.count < model_checks.MIN_PLACEBOS:
        fit = {
            0: f"no placebo window of {steps} days fits",
            1: f"only 1 placebo window of {steps} days fits",
        }.get(placebos.count, f"only {placebos.count} placebo windows of {steps} days fit")
        return Check(
            f"placebo:{name}",
            False,
            None,
            f"{name}: {fit} in the "
            f"pre-period ({model_checks.MIN_PLACEBOS} are needed to check the model's "
            "calibration); a longer pre-period would allow it",
            blocking=False,
        )
    allowed = model_checks.allowed_excluded(placebos.starts, steps, alpha)
    shown = f"{placebos.excluded} of {placebos.count} placebo launches before the real one"
    if model_checks.miscalibrated(placebos.starts, steps, placebos.excluded, alpha):
        return Check(
            f"placebo:{name}",
            False,
            None,
            f"{name}: the model is miscalibrated: {shown} show an effect, where a calibrated "
            f"model's overlapping windows show more than {allowed} in only "
            f"{model_checks.GATE_FALSE_ALARM:.0%} of reviews, so its intervals are too "
            "narrow. Add control series, seasonality or a trend, or change the pre-period, "
            "and register the change",
            blocking=True,
        )
    return Check(
        f"placebo:{name}",
        True,
        placebos.rank_p,
        f"{name}: {shown} show an effect (at most {allowed} allowed: the windows overlap, "
        f"and a calibrated model shows more in {model_checks.GATE_FALSE_ALARM:.0%} of "
        f"reviews); the real effect's placebo rank p-value is {placebos.rank_p:.3g}",
        blocking=False,
    )


def weekly_left_out(metric: Metric, found: model_checks.Autocorrelation) -> bool:
    """Whether errors that repeat point at a weekly pattern the metric's model leaves out:
    the worst lag a whole number of weeks, and no seasonality registered."""
    return found.worst_lag % 7 == 0 and not metric.seasonality


def _residual_checks(spec: LaunchSpec, models: dict[str, Modelled]) -> list[Check]:
    """A deciding metric whose one-day forecast errors repeat: the model leaves a pattern
    out, so its intervals cannot be trusted (a blocking check below RESIDUAL_ALPHA)."""
    checks = []
    for metric in spec.metrics.all():
        if metric.target is None and metric.margin is None:
            continue
        found = models[metric.name].residuals
        if found is None:
            continue
        errors = f"{metric.name}: the model's one-day forecast errors before launch"
        finding = (
            f"(autocorrelation {found.worst:+.2f} at {found.worst_lag} days, Ljung-Box "
            f"{formats.p_equals(found.p_value)} over {found.lags} lags)"
        )
        if found.p_value >= RESIDUAL_ALPHA:
            checks.append(
                Check(
                    f"residuals:{metric.name}",
                    True,
                    found.p_value,
                    f"{errors} do not repeat {finding}",
                    blocking=False,
                )
            )
            continue
        fix = (
            "Register seasonality: 7d (a weekly pattern)"
            if weekly_left_out(metric, found)
            else "Register seasonality, a trend or a control series that carries the pattern"
        )
        checks.append(
            Check(
                f"residuals:{metric.name}",
                False,
                found.p_value,
                f"{errors} repeat {finding}: the model leaves a pattern out, so its "
                f"intervals cannot be trusted. {fix}, and record the change with `impact amend "
                f'{spec.path.name} --reason "..."` once the spec is registered (before that, '
                "edit it and register it before launch).",
                blocking=True,
            )
        )
    return checks


def _moved_controls(
    spec: LaunchSpec, daily: series.Series, models: dict[str, Modelled], alpha: float
) -> list[Check]:
    """Whether each control moved at launch beyond its own forecast, a check each.

    A control is a series the launch cannot move. One that moved anyway has two readings the
    data cannot tell apart: something else moved it (the model allows for that, the effect
    stands) or the launch did (the counterfactual followed a move the launch made, and the
    effect is off by what the move carried into it, in either direction). The flag gives the
    effect under the second reading too: the same fit, forecast with the control on its own
    forecast after launch."""
    checks = []
    for column, values in daily.controls.items():
        seasonality = max(
            (m.seasonality or 0 for m in spec.metrics.all() if column in m.controls), default=0
        )
        fitted = model.fit(values[: daily.launch], seasonality=seasonality or None)
        own = model.forecast(fitted, daily.launch, daily.post_days)
        moved = model.effect(values[daily.launch :], own, alpha)
        if not moved.excludes_zero():
            checks.append(
                Check(
                    f"control:{column}",
                    True,
                    moved.p_value,
                    f"control {column} did not move at launch beyond its own forecast "
                    f"({formats.p_equals(moved.p_value)})",
                    blocking=False,
                )
            )
            continue
        relative = f" ({moved.relative:+.1%})" if moved.relative is not None else ""
        checks.append(
            Check(
                f"control:{column}",
                False,
                moved.p_value,
                f"control {column} moved at launch by {moved.average:+.4g} a day{relative}, "
                f"beyond its own forecast ({formats.p_equals(moved.p_value)}). Controls must be "
                "series the launch cannot move: if something else moved it, the effect stands; "
                f"if the launch did, {_unmoved(spec, daily, models, column, own)}",
                blocking=False,
            )
        )
    return checks


def _unmoved(
    spec: LaunchSpec,
    daily: series.Series,
    models: dict[str, Modelled],
    column: str,
    own: model.Forecast,
) -> str:
    """The effect of the first deciding metric modelled on ``column`` with that control held
    on its own forecast after launch: the effect if the launch moved the control."""
    using = [
        m
        for m in spec.metrics.all()
        if column in m.controls and (m.target is not None or m.margin is not None)
    ]
    if not using:
        return "a metric modelled on it is off by what the move carried into its counterfactual"
    metric = using[0]
    modelled = models[metric.name]
    fit = modelled.fit
    assert fit.controls is not None
    held = fit.controls.copy()
    held[daily.launch :, metric.controls.index(column)] = own.mean
    unmoved = dataclasses.replace(fit, controls=held, cache={})
    actual = daily.values[metric.name][daily.launch :]
    found = model.effect(
        actual, model.forecast(unmoved, daily.launch, daily.post_days), modelled.effect.alpha
    )
    style, now = formats.of(metric), modelled.effect
    return (
        f"the effect on {metric.name} is {formats.change(style, found.average, group=found.ci)} "
        f"a day ({formats.interval(style, *found.ci, estimate=found.average)}), not "
        f"{formats.change(style, now.average, group=now.ci)}"
    )
