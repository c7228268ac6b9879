"""What ``impact validate`` says a valid spec registers, a line each, its thresholds in the
metrics' units (so above :mod:`impact.formats`, not inside the spec package)."""

from __future__ import annotations

from impact import formats
from impact.spec import Effect, LaunchSpec, Metric, format_duration

__all__ = ["summary"]


def _split(shares: dict[str, float]) -> str:
    return ", ".join(f"{arm} {share:.0%}" for arm, share in shares.items())


def _threshold(metric: Metric, threshold: Effect | None, sign: int) -> str:
    """A target or margin in the metric's units, as the report writes it ("+2.00 pp",
    "-0.500 orders", "+3.0% (relative)": a share's relative target is not in points), signed
    the way it counts: a target towards better, a margin towards worse."""
    if threshold is None:
        return "not set"
    signed = sign * metric.good_sign * threshold.magnitude
    if threshold.relative:
        return f"{formats.relative(signed)} (relative)"
    return formats.change(formats.of(metric), signed)


def _model(spec: LaunchSpec, metric: Metric) -> str:
    """A prepost metric's counterfactual model, in the words of docs/methods.md."""
    parts = ["local level"]
    if metric.trend:
        parts.append("linear trend")
    if metric.seasonality:
        parts.append(f"{format_duration(metric.seasonality)} seasonal")
    controls = (
        f"control series {', '.join(metric.controls)}"
        if metric.controls
        else "no control series (the forecast rests on its own past)"
    )
    fitted = (
        f"; fitted on the {format_duration(spec.data.pre_period)} before launch"
        if spec.data.pre_period
        else ""
    )
    return f"{' + '.join(parts)}; {controls}{fitted}"


def summary(spec: LaunchSpec) -> list[str]:
    """The spec's registration in plain lines: who, when, the looks, the metrics, the
    segments and the rollout stages (the template's line is the caller's: it is found on
    disk)."""
    lines = [
        f"{spec.title}, launch {spec.launch_date}, owner {spec.owner}",
        f"reviews: {', '.join(format_duration(days) for days in spec.reviews)} (the last is final)",
    ]
    primary = spec.metrics.primary
    if primary is not None:
        what = primary.kind or f"daily series: {primary.series_words}"
        lines.append(
            f"primary: {primary.name} ({what}), target {_threshold(primary, primary.target, 1)}, "
            f"{primary.direction} is good"
        )
    lines += [
        f"guardrail: {g.name}, margin {_threshold(g, g.margin, -1)}"
        for g in spec.metrics.guardrails
    ]
    if spec.design == "prepost":
        for metric in (primary, *spec.metrics.guardrails):
            if metric is not None:
                lines.append(f"model of {metric.name}: {_model(spec, metric)}")
    lines += [f"secondary: {metric.name}" for metric in spec.metrics.secondary]
    for segment in spec.segments:
        lines.append(
            f"segment: {segment.column} (values with fewer than {segment.minimum(spec)} units "
            'per arm are pooled into "other")'
        )
    if spec.rollout:
        for index, stage in enumerate(spec.rollout, start=1):
            lines.append(f"rollout stage {index} from {stage.start}: {_split(stage.split)}")
    elif spec.data.split:
        lines.append(f"split: {_split(spec.data.split)}")
    return lines
