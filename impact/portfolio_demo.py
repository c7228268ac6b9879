"""A quarter of demo launches with bets and known truths, for ``impact demo --portfolio``.

Thirteen small experiments launched between 2026-08-10 and 2026-09-28, each an A/B test of
one conversion rate (baseline 30%, target +2 points, final review at 56 days, so every
deciding review falls in 2026 Q4). Two teams bet on them before launch:

- **growth** states 85% confidence on six launches whose true effects are mostly smaller
  than their target: an overconfident team;
- **checkout** states 60-70% on six launches, four of which truly beat their target: a team
  whose confidence is about right;
- one launch by checkout has no bet, and is counted apart.

Each launch's specs are registered before launch (a demo lock, written under a frozen
clock and marked as a fixture). The true effects are in ``truth.json`` beside the data.
Everything is seeded: the same call gives the same files.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

__all__ = ["LAUNCHES", "QUARTER", "DemoLaunch", "generate"]

QUARTER = "2026Q4"
BASELINE = 0.30
TARGET = 0.02
UNITS_PER_ARM = 4000
WINDOW_DAYS = 14
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class DemoLaunch:
    """One demo launch: its id, team, launch day, true effect and bet (None: no bet)."""

    spec_id: str
    owner: str
    launch: dt.date
    effect: float
    confidence: float | None
    impact: float = 0.025
    reach: int = 50_000
    effort: int = 4
    title: str = ""


def _launches() -> list[DemoLaunch]:
    growth, checkout = "growth@example.com", "checkout@example.com"
    day = dt.date(2026, 8, 10)
    week = dt.timedelta(days=7)
    rows = [
        ("growth-banner", growth, 0, 0.005, 0.85, 0.03, 80_000, 3, "Homepage banner"),
        ("growth-referral", growth, 1, 0.0, 0.85, 0.03, 30_000, 6, "Referral credit"),
        ("growth-onboarding", growth, 2, 0.035, 0.85, 0.03, 60_000, 8, "Shorter onboarding"),
        ("growth-push", growth, 3, 0.01, 0.85, 0.025, 90_000, 2, "Push reminders"),
        ("growth-badges", growth, 4, -0.005, 0.85, 0.02, 40_000, 5, "Loyalty badges"),
        ("growth-search", growth, 5, 0.03, 0.85, 0.04, 70_000, 10, "Search suggestions"),
        ("checkout-wallet", checkout, 0, 0.035, 0.7, 0.03, 50_000, 6, "Wallet payments"),
        ("checkout-address", checkout, 1, 0.035, 0.7, 0.025, 50_000, 4, "Address autofill"),
        ("checkout-coupon", checkout, 2, 0.0, 0.6, 0.02, 20_000, 3, "Coupon field hidden"),
        ("checkout-guest", checkout, 3, 0.04, 0.7, 0.03, 45_000, 5, "Guest checkout"),
        ("checkout-trust", checkout, 4, 0.005, 0.6, 0.02, 60_000, 2, "Trust badges"),
        ("checkout-summary", checkout, 5, 0.035, 0.6, 0.02, 35_000, 4, "Order summary"),
        ("checkout-colour", checkout, 6, 0.0, None, 0.02, 10_000, 1, "Button colour"),
    ]
    return [
        DemoLaunch(
            spec_id,
            owner,
            day + offset * week,
            effect,
            confidence,
            impact,
            reach,
            effort,
            title,
        )
        for spec_id, owner, offset, effect, confidence, impact, reach, effort, title in rows
    ]


LAUNCHES = _launches()


def _spec(launch: DemoLaunch) -> dict[str, Any]:
    document: dict[str, Any] = {
        "spec_version": 1,
        "id": launch.spec_id,
        "title": launch.title,
        "owner": launch.owner,
        "hypothesis": {
            "users": "shoppers",
            "problem": "leave before buying",
            "solution": launch.title.lower(),
            "result": f"+{launch.impact * 100:g} points of conversion within 14 days",
        },
        "launch_date": launch.launch.isoformat(),
        "design": "experiment",
        "reviews": ["28d", "56d"],
        "data": {
            "source": f"../../data/portfolio/{launch.spec_id}",
            "units": "units",
            "events": "events",
            "control": "control",
            "split": {"control": 0.5, "treatment": 0.5},
        },
        "metrics": {
            "primary": {
                "name": "conversion",
                "kind": "proportion",
                "event": "purchase",
                "window": f"{WINDOW_DAYS}d",
                "baseline": BASELINE,
                "target": f"+{TARGET}",
                "direction": "increase",
            }
        },
    }
    if launch.confidence is not None:
        document["bet"] = {
            "reach": launch.reach,
            "impact": f"+{launch.impact}",
            "confidence": launch.confidence,
            "effort": launch.effort,
        }
    return document


def _data(launch: DemoLaunch, folder: Path, seed: int) -> None:
    """Units exposed over the first two weeks; purchases within the window; daily visits
    from five weeks before launch to the final review's cut-off (complete data)."""
    rng = np.random.default_rng(seed)
    start = dt.datetime.combine(launch.launch, dt.time())
    count = 2 * UNITS_PER_ARM
    ids = np.arange(1, count + 1)
    variant = np.where(rng.random(count) < 0.5, "treatment", "control")
    exposed = rng.uniform(0, 14 * SECONDS_PER_DAY, count)
    rate = BASELINE + np.where(variant == "treatment", launch.effect, 0.0)
    buyers = rng.random(count) < rate
    bought = exposed[buyers] + rng.uniform(60, (WINDOW_DAYS - 1) * SECONDS_PER_DAY, buyers.sum())
    end = start + dt.timedelta(days=56)
    first = start - dt.timedelta(days=35)
    days = (end - first).days
    visits_per_day = 60
    visit_units = ids[rng.integers(0, count, days * visits_per_day)]
    visit_times = (
        np.repeat(np.arange(days), visits_per_day) * SECONDS_PER_DAY
        + rng.uniform(0, SECONDS_PER_DAY - 1, days * visits_per_day)
        - 35 * SECONDS_PER_DAY
    )

    def stamp(seconds: np.ndarray) -> pa.Array:
        base = np.datetime64(start, "us")
        return pa.array(base + (seconds * 1e6).astype("timedelta64[us]"))

    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table({"unit_id": ids, "variant": variant, "exposed_at": stamp(exposed)}),
        folder / "units.parquet",
    )
    event_units = np.concatenate([ids[buyers], visit_units])
    event_times = np.concatenate([bought, visit_times])
    names = np.array(["purchase"] * int(buyers.sum()) + ["visit"] * visit_units.size)
    pq.write_table(
        pa.table(
            {
                "unit_id": event_units,
                "event": names,
                "ts": stamp(event_times),
                "value": np.ones(event_units.size),
            }
        ),
        folder / "events.parquet",
    )


def generate(out: Path, *, seed: int = 7) -> list[Path]:
    """Write every demo launch's data (``out/data/portfolio/<id>/``), spec and demo lock
    (``out/specs/portfolio/``), and ``truth.json``; return the specs' paths."""
    from impact import registry
    from impact import spec as spec_module

    specs = out / "specs" / "portfolio"
    specs.mkdir(parents=True, exist_ok=True)
    paths = []
    truth = []
    for index, launch in enumerate(LAUNCHES):
        _data(launch, out / "data" / "portfolio" / launch.spec_id, seed + index)
        path = specs / f"{launch.spec_id}.yaml"
        path.write_text(yaml.safe_dump(_spec(launch), sort_keys=False), encoding="utf-8")
        lock = registry.lock_path(spec_module.load(path))
        lock.unlink(missing_ok=True)
        registered = dt.datetime.combine(
            launch.launch - dt.timedelta(days=7), dt.time(10), tzinfo=dt.UTC
        )
        registry.register(spec_module.load(path), now=registered, fixture=True)
        paths.append(path)
        truth.append(
            {
                "spec_id": launch.spec_id,
                "true_effect": launch.effect,
                "target": TARGET,
                "bet_impact": launch.impact if launch.confidence is not None else None,
                "confidence": launch.confidence,
            }
        )
    (out / "data" / "portfolio" / "truth.json").write_text(
        json.dumps({"quarter": QUARTER, "launches": truth}, indent=2) + "\n", encoding="utf-8"
    )
    return paths
