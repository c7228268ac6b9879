"""Published verdicts for quarter tests, built from a description (no review is run).

Each verdict is valid against verdict.v1.json (checked as it is written), and is written
where a review publishes it: ``reports/<id>/<N>d.json``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from impact import runner

SHA = "0" * 64


def verdict(
    spec_id: str,
    *,
    owner: str = "ana@example.com",
    design: str = "experiment",
    title: str | None = None,
    confidence: float | None = 0.8,
    impact: float = 0.02,
    reach: float = 10_000,
    effort: float = 4,
    status: str = "target_met",
    effect: float | None = 0.025,
    ci: tuple[float, float] | None = (0.01, 0.04),
    direction: str = "increase",
    outcome: str | None = None,
    launch: str = "2026-09-01",
    checkpoint: str = "56d",
    final: bool = True,
    bet_registered: bool = True,
    registered: bool = True,
    changed: list[dict[str, Any]] | None = None,
    drift: list[dict[str, Any]] | None = None,
    reasons: list[str] | None = None,
) -> dict[str, Any]:
    """One review's verdict.json; ``confidence=None`` for a launch without a bet."""
    days = int(checkpoint.rstrip("d"))
    as_of = dt.date.fromisoformat(launch) + dt.timedelta(days=days)
    if outcome is None:
        outcome = {"target_met": "ship", "harm": "revert"}.get(status, "iterate")
    sign = 1 if direction == "increase" else -1
    bet = (
        None
        if confidence is None
        else {
            "reach": reach,
            "impact": impact,
            "relative": False,
            "direction": direction,
            "confidence": confidence,
            "effort": effort,
            "planned_rice": reach * impact * confidence / effort,
            "registered_before_launch": bet_registered,
            "drift": drift or [],
        }
    )
    low, high = ci if ci is not None else (None, None)
    payload = {
        "schema_version": 1,
        "spec_id": spec_id,
        "title": title or f"Launch {spec_id}",
        "owner": owner,
        "design": design,
        "checkpoint": checkpoint,
        "final": final,
        "monitoring": False,
        "launch_date": launch,
        "as_of": as_of.isoformat(),
        "next_review": None if final else (as_of + dt.timedelta(days=days)).isoformat(),
        "outcome": outcome,
        "action": outcome,
        "reasons": reasons or [f"{spec_id}: the primary was {status.replace('_', ' ')}"],
        "hypothesis": f"We believe that users of {spec_id} will buy more.",
        "bet": bet,
        "primary": {
            "name": "conversion",
            "kind": "proportion",
            "status": status,
            "control": 0.3,
            "treatment": 0.3 + (effect or 0),
            "effect": None if effect is None else sign * effect,
            "ci": [None, None] if low is None else sorted([sign * low, sign * high]),
            "relative_effect": None,
            "relative_ci": [None, None],
            "p_value": 0.01,
            "alpha": 0.0478,
            "target": "0.02",
            "n": {"control": 1000, "treatment": 1000},
        },
        "guardrails": [],
        "secondary": [],
        "checks": [],
        "adoption": None,
        "registration": {
            "registered": registered,
            "registered_at": "2026-08-20T10:00:00Z" if registered else None,
            "spec_sha256": SHA,
            "amendments": [],
            "changed_fields": changed or [],
            "registered_after_launch": False,
        },
        "run": {
            "impact_version": "0.1.0",
            "data_fingerprint": "x",
            "started_at": "x",
            "seconds": 1,
        },
    }
    runner.validate_verdict(payload)
    return payload


def publish(output: Path, payload: dict[str, Any]) -> Path:
    """Write a verdict where a review publishes it."""
    path = output / "reports" / payload["spec_id"] / f"{payload['checkpoint']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return path
