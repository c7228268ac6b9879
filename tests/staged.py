"""Launches with segments and with a staged rollout, built from a description.

``segment_launch``: a platform column, where treatment moves conversion by a given effect
per platform (the issue's case: +3 pp on iOS, -3 pp on Android, +0 overall).
``ramp_launch``: 10% treated in the first week and 50% after, with a baseline that rises
over the launch (a time trend a pooled comparison mistakes for an effect).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from launches import LAUNCH, background, spec_document, units, write

PER_ARM = 12_000
EFFECTS = {"ios": 0.03, "android": -0.03}  # the case: +3 pp, -3 pp, +0 overall


def _platforms(frame: pd.DataFrame) -> np.ndarray:
    """ios and android in turn within each arm; two of every 300 units are on web (few)."""
    ids = frame.unit_id.to_numpy()
    platform = np.where((ids // 2) % 2 == 0, "ios", "android").astype(object)
    platform[ids % 300 < 2] = "web"
    return platform


def segment_launch(
    root: Path, *, effects: dict[str, float] = EFFECTS, seed: int = 7, cuped: bool = False
) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    """A launch whose treatment moves conversion by ``effects[platform]`` from 30%."""
    rng = np.random.default_rng(seed)
    frame = units(PER_ARM, days=10)
    frame["platform"] = _platforms(frame)
    history = rng.random(len(frame)) < 0.5  # bought in the 14 days before exposure
    lift = frame.platform.map(effects).fillna(0.0).to_numpy()
    treated = (frame.variant == "treatment").to_numpy()
    chance = 0.22 + 0.16 * history + np.where(treated, lift, 0.0)
    converted = rng.random(len(frame)) < chance
    frame["converted"] = converted.astype(float)
    buyers = frame[converted]
    before = frame[history]
    events = pd.concat(
        [
            pd.DataFrame(
                {
                    "unit_id": buyers.unit_id,
                    "event": "purchase",
                    "ts": buyers.exposed_at + dt.timedelta(days=2),
                    "value": 1.0,
                }
            ),
            pd.DataFrame(
                {
                    "unit_id": before.unit_id,
                    "event": "purchase",
                    "ts": before.exposed_at - dt.timedelta(days=3),
                    "value": 1.0,
                }
            ),
            background(frame, until=dt.datetime(2026, 11, 26)),
        ],
        ignore_index=True,
    )
    document = spec_document()
    document["segments"] = [{"column": "platform", "min_units": 100}]
    document["metrics"]["primary"]["cuped"] = cuped
    document["metrics"]["guardrails"] = [
        {
            "name": "refunds",
            "kind": "proportion",
            "event": "refund",
            "window": "14d",
            "direction": "decrease",
            "margin": "+0.01",
        }
    ]
    refunders = frame[rng.random(len(frame)) < 0.05]
    events = pd.concat(
        [
            events,
            pd.DataFrame(
                {
                    "unit_id": refunders.unit_id,
                    "event": "refund",
                    "ts": refunders.exposed_at + dt.timedelta(days=1),
                    "value": 1.0,
                }
            ),
        ],
        ignore_index=True,
    )
    return write(root, document, frame, events), frame, events


RAMP = [
    {"start": "2026-09-01", "split": {"control": 0.9, "treatment": 0.1}},
    {"start": "2026-09-08", "split": {"control": 0.5, "treatment": 0.5}},
]
UNITS = 24_000
DAYS = 14


def ramp_launch(
    root: Path,
    *,
    effect: float = 0.0,
    seed: int = 3,
    lost: float = 0.0,
    cuped: bool = False,
    staged: bool = True,
) -> tuple[Path, pd.DataFrame]:
    """Units exposed evenly over 14 days, 10% treated in the first week and 50% after; the
    baseline rises from 25% to 40% over the two weeks (a time trend). ``lost`` drops that
    share of the second stage's treatment units (a broken stage)."""
    rng = np.random.default_rng(seed)
    offsets = np.sort(rng.random(UNITS)) * DAYS * 86_400
    exposed = pd.Timestamp(LAUNCH) + pd.to_timedelta(offsets.astype(int), unit="s")
    second = offsets >= 7 * 86_400
    treated = rng.random(UNITS) < np.where(second, 0.5, 0.1)
    frame = pd.DataFrame(
        {
            "unit_id": np.arange(1, UNITS + 1),
            "variant": np.where(treated, "treatment", "control"),
            "exposed_at": exposed,
        }
    )
    history = rng.random(UNITS) < 0.5
    baseline = 0.25 + 0.15 * offsets / (DAYS * 86_400)
    chance = baseline - 0.08 + 0.16 * history + np.where(treated, effect, 0.0)
    frame["converted"] = (rng.random(UNITS) < chance).astype(float)
    frame["stage"] = np.where(second, 1, 0)
    if lost:
        drop = second & treated & (rng.random(UNITS) < lost)
        frame = frame[~drop].reset_index(drop=True)
    buyers = frame[frame.converted == 1]
    before = frame[history[frame.unit_id.to_numpy() - 1]]
    events = pd.concat(
        [
            pd.DataFrame(
                {
                    "unit_id": buyers.unit_id,
                    "event": "purchase",
                    "ts": buyers.exposed_at + dt.timedelta(days=1),
                    "value": 1.0,
                }
            ),
            pd.DataFrame(
                {
                    "unit_id": before.unit_id,
                    "event": "purchase",
                    "ts": before.exposed_at - dt.timedelta(days=2),
                    "value": 1.0,
                }
            ),
            background(frame, until=dt.datetime(2026, 11, 26)),
        ],
        ignore_index=True,
    )
    document = spec_document()
    document["metrics"]["primary"]["cuped"] = cuped
    if staged:
        del document["data"]["split"]
        document["rollout"] = RAMP
    units = frame.drop(columns=["converted", "stage"])
    return write(root, document, units, events), frame
