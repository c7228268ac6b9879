"""Small launches built from a description: units, events and a spec, written to a folder.

Each test states its case in numbers (3 of 2,000 units against 25 of 2,000, ids as floats,
a day of events missing) and reviews it with the real review, as a user would.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

LAUNCH = dt.datetime(2026, 9, 1)
TODAY = "2026-11-26"


def spec_document(**metrics: Any) -> dict[str, Any]:
    """A two-arm experiment launched 2026-09-01 with reviews at 28d and 56d; ``metrics``
    replaces entries of the metrics block."""
    document: dict[str, Any] = {
        "spec_version": 1,
        "id": "edge-launch",
        "title": "An edge case",
        "owner": "pm@example.com",
        "hypothesis": {"users": "u", "problem": "p", "solution": "s", "result": "r"},
        "launch_date": LAUNCH.date().isoformat(),
        "design": "experiment",
        "reviews": ["28d", "56d"],
        "data": {
            "source": "data",
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
                "window": "14d",
                "baseline": 0.3,
                "target": "+0.03",
                "direction": "increase",
            },
            "guardrails": [],
            "secondary": [],
        },
        "decision": {
            "alpha": 0.05,
            "power": 0.8,
            "srm_alpha": 0.001,
            "min_units": 30,
            "on_success": "ship",
            "on_failure": "revert",
            "on_inconclusive": "iterate",
        },
    }
    document["metrics"].update(metrics)
    return document


def units(per_arm: int, *, days: int = 10, start: dt.datetime = LAUNCH) -> pd.DataFrame:
    """``per_arm`` units in each arm, exposed evenly over the first ``days`` days."""
    count = 2 * per_arm
    ids = np.arange(1, count + 1)
    variant = np.where(ids % 2 == 0, "treatment", "control")
    offsets = pd.to_timedelta((np.arange(count) * days * 86_400) // count, unit="s")
    return pd.DataFrame(
        {"unit_id": ids, "variant": variant, "exposed_at": pd.Timestamp(start) + offsets}
    )


def events_for(
    frame: pd.DataFrame, event: str, counts: dict[str, int], *, after: dt.timedelta
) -> pd.DataFrame:
    """One ``event`` for ``counts[arm]`` units of each arm spread evenly over its exposure
    order, ``after`` exposure."""
    picked = []
    for arm, n in counts.items():
        members = frame[frame.variant == arm]
        picked.append(members.iloc[np.linspace(0, len(members) - 1, n).astype(int)])
    chosen = pd.concat(picked, ignore_index=True)
    return pd.DataFrame(
        {
            "unit_id": chosen.unit_id.to_numpy(),
            "event": event,
            "ts": (chosen.exposed_at + after).to_numpy(),
            "value": 1.0,
        }
    )


def background(
    frame: pd.DataFrame,
    *,
    until: dt.datetime,
    first: dt.datetime = LAUNCH - dt.timedelta(days=35),
    per_day: int = 40,
) -> pd.DataFrame:
    """``per_day`` "visit" events each day from ``first`` to the day before ``until``, by
    units of the table in turn: the steady traffic a complete events table shows."""
    days = pd.date_range(first, until - dt.timedelta(days=1), freq="D")
    ids = frame.unit_id.to_numpy()
    rows = len(days) * per_day
    return pd.DataFrame(
        {
            "unit_id": ids[np.arange(rows) % len(ids)],
            "event": "visit",
            "ts": np.repeat(days.to_numpy(), per_day) + pd.Timedelta(hours=12),
            "value": 1.0,
        }
    )


def write(
    root: Path,
    document: dict[str, Any],
    unit_table: pd.DataFrame,
    event_table: pd.DataFrame | None,
) -> Path:
    """Write the spec and its data under ``root`` (data in ``root/data``); the spec's path."""
    folder = root / "data"
    folder.mkdir(parents=True, exist_ok=True)
    unit_table.to_parquet(folder / "units.parquet", index=False)
    if event_table is not None:
        event_table.to_parquet(folder / "events.parquet", index=False)
    path = root / "spec.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path
