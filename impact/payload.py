"""The pieces of verdict.json every design shares: its opening keys, the bet, the checks,
the run, and the rounding of every number.

``impact.review`` (experiments), ``impact.prepost`` and ``impact.adoption_review`` build their
payloads from these; verdict.v1.json (``impact/schemas``) is their contract.
"""

from __future__ import annotations

import datetime as dt
import math
from importlib import metadata
from typing import Any

from impact import looks, registry, team_templates
from impact import spec as spec_module
from impact.spec import LaunchSpec
from impact.stats.compare import Comparison
from impact.verdict import Check, Look, Verdict

__all__ = [
    "SCHEMA_VERSION",
    "VERSION",
    "bet_json",
    "checks_json",
    "clean",
    "comparison_json",
    "iso",
    "payload_head",
    "run_json",
]

SCHEMA_VERSION = 1
VERSION = metadata.version("impact")


def iso(moment: dt.datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def payload_head(spec: LaunchSpec, look: Look, verdict: Verdict) -> dict[str, Any]:
    """The keys every verdict.json opens with, whatever the design."""
    return {
        "schema_version": SCHEMA_VERSION,
        "spec_id": spec.id,
        "title": spec.title,
        "owner": spec.owner,
        "design": spec.design,
        "checkpoint": look.label,
        "final": look.final,
        "monitoring": not look.registered,
        "sequential": looks.sequential_json(spec, look),
        "launch_date": spec.launch_date.isoformat(),
        "as_of": look.as_of.date().isoformat(),
        "next_review": look.next_review.isoformat() if look.next_review else None,
        "outcome": verdict.outcome,
        "action": verdict.action,
        "reasons": list(verdict.reasons),
        "hypothesis": spec.hypothesis.sentence(),
        "bet": bet_json(spec),
        "template": team_templates.describe(spec),
    }


def bet_json(spec: LaunchSpec) -> dict[str, Any] | None:
    """verdict.json's ``bet``: the RICE bet as registered before launch (the prediction the
    quarter judges; the spec's own when none was), and how it drifted since. Never deciding."""
    found = registry.bet_at_launch(spec)
    primary = spec.metrics.primary
    if found.bet is None or primary is None:
        return None
    impact = spec_module.Effect.parse(found.bet["impact"])
    reach, confidence, effort = (float(found.bet[key]) for key in ("reach", "confidence", "effort"))
    return {
        "reach": reach,
        "impact": impact.magnitude,
        "relative": impact.relative,
        "direction": primary.direction,
        "confidence": confidence,
        "effort": effort,
        "planned_rice": reach * impact.magnitude * confidence / effort,
        "registered_before_launch": found.registered_before_launch,
        "drift": found.drift,
    }


def checks_json(checks: list[Check]) -> list[dict[str, Any]]:
    """verdict.json's ``checks``."""
    return [
        {"name": c.name, "passed": c.passed, "p_value": c.p_value, "detail": c.detail}
        for c in checks
    ]


def run_json(
    fingerprint: str, started_at: dt.datetime, seconds: float, today: dt.date
) -> dict[str, Any]:
    """verdict.json's ``run``: what computed it, from what, when and how fast."""
    return {
        "impact_version": VERSION,
        "data_fingerprint": fingerprint,
        "started_at": started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seconds": round(seconds, 3),
        "today": today.isoformat(),
    }


def comparison_json(c: Comparison) -> dict[str, Any]:
    """A comparison's keys in verdict.json."""
    return c.to_json()


def clean(value: Any) -> Any:
    """Round floats to 12 significant digits; a non-finite number becomes null."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {key: clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean(item) for item in value]
    return value
