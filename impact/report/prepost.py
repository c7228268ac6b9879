"""The sections only a before/after review has: the observational flag, the series' effect
and whether the model can be trusted."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from impact.prepost import OBSERVATIONAL, RESIDUAL_ALPHA, Modelled, PrepostResult, rank_cap
from impact.report.blocks import (
    MISSING,
    HTMLBlock,
    _el,
    _p,
    _root,
    _table,
    _term,
)
from impact.sources import postgres
from impact.stats import prepost_checks
from impact.stats.prepost_checks import Autocorrelation


def observational(result: PrepostResult) -> HTMLBlock:
    """What a review without a control group can and cannot show, said plainly."""
    return _root(
        _el("div", _el("strong", "Observational evidence. "), OBSERVATIONAL, class_="impact-flag")
    )


def model_checks(result: PrepostResult) -> HTMLBlock:
    """How far the model can be trusted: its parts, placebo windows, held-back forecast."""
    rows: list[list[ET.Element | str]] = []
    alpha, steps = result.spec.decision.alpha, result.series.post_days
    for name, modelled in result.models.items():
        fit, placebos, holdout = modelled.fit, modelled.placebos, modelled.holdout
        allowed = ""
        if placebos.count >= prepost_checks.MIN_PLACEBOS:
            most = prepost_checks.allowed_excluded(placebos.starts, steps, alpha)
            allowed = f" (at most {most})"
        parts = ["local level", *(["trend"] if fit.trend else [])]
        if fit.seasonality:
            parts.append(f"{fit.seasonality}-day seasonality")
        if modelled.metric.controls:
            parts.append("controls " + ", ".join(modelled.metric.controls))
        held = (
            MISSING
            if holdout is None
            else f"{holdout.days} days: MAPE "
            + (f"{holdout.mape:.1%}" if holdout.mape is not None else MISSING)
            + f", {holdout.coverage:.0%} of days inside their {(1 - holdout.alpha):.0%} band"
        )
        rows.append(
            [
                name,
                ", ".join(parts),
                "no: degenerate" if modelled.problems else ("yes" if fit.converged else "no"),
                f"{placebos.excluded} of {placebos.count}{allowed}",
                _p(placebos.rank_p),
                _repeats(modelled.residuals),
                held,
            ]
        )
    headers: list[ET.Element | str] = [
        "series",
        "model",
        "converged",
        "placebos showing an effect",
        _term("placebo rank p"),
        "one-day errors repeat?",
        _el("span", "held-back forecast (", _term("MAPE"), ")"),
    ]
    deciding = [
        m
        for m in result.models.values()
        if m.metric.target is not None or m.metric.margin is not None
    ]
    moved = {
        c.name.removeprefix("control:")
        for c in result.checks
        if c.name.startswith("control:") and not c.passed
    }
    primary = result.primary.metric.name
    leads = [
        _trusted(m, alpha, steps, moved, named=len(deciding) > 1, primary=m.metric.name == primary)
        for m in deciding
    ]
    return _root(
        *leads,
        _el(
            "p",
            "Placebo launches: the same model, with the same parameters, forecasting windows "
            "of the same length inside the pre-period, where nothing launched. A calibrated "
            f"model finds an effect in about {alpha:.0%} of them, but the windows overlap, so "
            "they tend to find one together: of at least "
            f"{prepost_checks.MIN_PLACEBOS} windows, more showing an effect than a calibrated "
            f"model's would in {1 - prepost_checks.GATE_FALSE_ALARM:.0%} of reviews (the "
            "most allowed is beside each count) makes the verdict invalid. The placebo rank "
            "p-value is the share of placebos at least as extreme "
            "as the real effect, counting the real one: (1 + k) / (1 + n); a claimed effect "
            f"needs it at most the spec's alpha ({result.spec.decision.alpha:g}, not this "
            "look's level), or at most 1 / (1 + n) where n placebos cannot reach alpha, else "
            "the claim is only inconclusive. "
            "One-day errors that repeat (Ljung-Box p below 0.001 over two weeks of lags) show "
            "a pattern the model leaves out, such as a weekly cycle: the verdict is invalid.",
            class_="note",
        ),
        _table(headers, rows, numeric={3, 4}),
    )


def _trusted(
    modelled: Modelled, alpha: float, steps: int, moved: set[str], *, named: bool, primary: bool
) -> ET.Element:
    """The answer first, in a sentence a PM can act on: can this metric's model be trusted,
    and which check says so."""
    answer, why = _answer(modelled, alpha, steps, primary=primary)
    shifted = [c for c in modelled.metric.controls if c in moved]
    if shifted and answer != "No.":
        why += (
            f" But control {', '.join(shifted)} moved at launch: if the launch moved it, the "
            "effect is not what is shown (the warning above gives the effect then)."
        )
    name = f"{modelled.metric.name}: " if named else ""
    return _el("p", _el("strong", f"{name}{answer}"), f" {why}", class_="impact-lead")


def _answer(modelled: Modelled, alpha: float, steps: int, *, primary: bool) -> tuple[str, str]:
    placebos, residuals = modelled.placebos, modelled.residuals
    checked = placebos.count >= prepost_checks.MIN_PLACEBOS
    allowed = prepost_checks.allowed_excluded(placebos.starts, steps, alpha) if checked else 0
    shown = (
        f"{placebos.excluded} of {placebos.count} placebo launches (fake launch dates before "
        "the real one, where nothing launched) show an effect"
    )
    untrusted = "its intervals cannot be trusted, and the verdict is invalid."
    if modelled.problems:
        return "No.", f"The fit is degenerate ({modelled.problems[0]}): {untrusted}"
    if prepost_checks.miscalibrated(placebos.starts, steps, placebos.excluded, alpha):
        return "No.", (
            f"{shown}, where a calibrated model's show at most {allowed}: its intervals are too "
            "narrow, and the verdict is invalid."
        )
    if residuals is not None and residuals.p_value < RESIDUAL_ALPHA:
        return "No.", (
            "Its one-day forecast errors before launch repeat, so it leaves a pattern out "
            f"(such as a weekly cycle; the check below names the fix): {untrusted}"
        )
    errors = (
        "its one-day errors do not repeat"
        if residuals is not None
        else "the history is too short to test whether its one-day errors repeat"
    )
    if not checked:
        fit = {0: "no placebo launch fits", 1: "only 1 placebo launch fits"}.get(
            placebos.count, f"only {placebos.count} placebo launches fit"
        )
        return "Calibration not tested.", (
            f"Before launch {fit} ({prepost_checks.MIN_PLACEBOS} are needed to test whether "
            f"its intervals are calibrated; a longer history allows it), and {errors}: read "
            "the interval with care."
        )
    why = f"{shown} (at most {allowed} allowed), and {errors}."
    if primary and rank_cap(placebos, alpha):
        why += (
            " But the real effect is no larger than the placebos' (placebo rank "
            f"p = {placebos.rank_p:.2f}), so no effect can be claimed from it."
        )
    return "Yes, as far as the checks can tell.", why


def _repeats(found: Autocorrelation | None) -> str:
    if found is None:
        return MISSING
    if found.p_value < RESIDUAL_ALPHA:
        return f"yes: {found.worst:+.2f} at {found.worst_lag} days (p = {found.p_value:.1g})"
    return f"no (p = {found.p_value:.2f})"


def _series_data(result: PrepostResult) -> list[list[ET.Element | str]]:
    daily, spec = result.series, result.spec
    derived: list[list[ET.Element | str]] = [
        [f"{m.name} (from events table {spec.data.events})", m.series_words]
        for m in spec.metrics.all()
        if m.event is not None
    ]
    return [
        ["first day fitted", f"{daily.dates[0]:%Y-%m-%d}"],
        ["launch day", f"{daily.dates[daily.launch]:%Y-%m-%d}"],
        ["last day read", f"{daily.dates[-1]:%Y-%m-%d}"],
        ["days before launch (fit)", f"{daily.pre_days:,}"],
        ["days since launch", f"{daily.post_days:,}"],
        ["as_of (nothing at or after it is read)", f"{result.look.as_of:%Y-%m-%d %H:%M} UTC"],
        ["series table", spec.data.series or MISSING],
        *derived,
        ["data source", postgres.safe(spec.data.source)],
    ]


def _series_methods(result: PrepostResult) -> HTMLBlock:
    alpha = result.spec.decision.alpha
    items = [
        "The counterfactual: a structural time-series model (statsmodels UnobservedComponents) "
        "of each daily series, with a local level, the trend and the seasonality the spec "
        "registers, and the control series as regressors whose coefficients are part of the "
        "state, so their uncertainty reaches the forecast. Its variances are fit on the "
        "pre-period by maximum likelihood, with a weak prior on the level's variance scaled by "
        "what the controls and the seasonal pattern leave unexplained; the forecast of the "
        "post-period from the pre-period is what would have happened without the launch. It "
        "mixes the model at many values of the level's variance, each weighted by how well "
        "the data support it, so the uncertainty of the variances reaches the interval; with "
        "controls or a trend, also a model whose level does not move, weighted the same way. "
        "A fit that claims to predict every day almost exactly is a failed check.",
        "The average effect per day is the mean of actual minus counterfactual. Its interval "
        "(and the cumulative one, for flows) comes from the joint forecast distribution of all "
        "post-launch days, not from summing each day's variance. The relative effect divides "
        "by the counterfactual mean; its interval is unbounded when that mean is not told apart "
        "from 0.",
        f"Looks: alpha = {alpha:g} is split between the registered reviews as O'Brien-Fleming "
        "spending on the share of post-launch days allots it (conservative, since the looks "
        "overlap).",
        "Placebo launches inside the pre-period check the model's calibration; see the model "
        "checks above. A control series that itself moved at launch is flagged with the "
        "effect as it would be if the launch moved it: the same fit, forecast with that "
        "control held on its own forecast.",
        "The rule of the verdict is the experiment's, applied to the average effect per day. "
        "This is observational evidence. " + OBSERVATIONAL,
    ]
    return _root(_el("ul", *[_el("li", item) for item in items]))
