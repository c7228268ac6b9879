"""How typical is the rollout demo's draw? The stratified errors of its seeds, in standard errors.

``impact demo --design rollout`` writes one seeded draw of its generator. A draw whose
estimate lands 2 or 3 standard errors from the truth (1 seed in 20, or 1 in 400) reads like
a biased estimator in a demo that prints its truths. For each seed this writes the demo's
data, computes from the raw files (pandas, not the library) the stratified effect over the
two stages with size weights, as the review does without CUPED, and prints its error in
standard errors for conversion overall, refunds and each platform's conversion:

    .venv/bin/python benchmarks/demo_rollout_draws.py --seeds 0 12

Measured (2026-11-27): seed 0's refunds are 3.0 standard errors off and seed 5's conversion
2.0 (the seeds used before); seed 8, the demo's, is within 1.3 everywhere. Over the seeds the
errors have mean about 0 and standard deviation about 1, as an unbiased estimator's do.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from impact import demo_rollout

STAGE_TWO = pd.Timestamp("2026-09-08")  # the demo's second stage starts here
WINDOW = 14 * 86_400


def _error(units: pd.DataFrame, column: str, truth: float) -> float:
    """The stratified effect's error in its standard errors (size weights over stages)."""
    total = len(units)
    effect = variance = 0.0
    for _, stage in units.groupby("stage"):
        weight = len(stage) / total
        control = stage.loc[stage.variant == "control", column]
        treatment = stage.loc[stage.variant == "treatment", column]
        effect += weight * (treatment.mean() - control.mean())
        variance += weight**2 * (
            treatment.var(ddof=0) / len(treatment) + control.var(ddof=0) / len(control)
        )
    return float((effect - truth) / np.sqrt(variance))


def draw(seed: int, folder: Path) -> dict[str, float]:
    """One seed's errors, in standard errors, by figure."""
    truth = demo_rollout.generate_rollout(folder, seed=seed)
    units = pd.read_parquet(folder / "units.parquet")
    events = pd.read_parquet(folder / "events.parquet").merge(
        units[["unit_id", "exposed_at"]], on="unit_id"
    )
    after = (events.ts - events.exposed_at).dt.total_seconds()
    inside = events[(after >= 0) & (after < WINDOW)]
    for name, column in (("purchase", "bought"), ("refund", "refunded")):
        units[column] = units.unit_id.isin(inside[inside.event == name].unit_id).astype(float)
    units["stage"] = (units.exposed_at >= STAGE_TWO).astype(int)
    effects = truth.effects
    found = {
        "conversion": _error(units, "bought", effects["checkout_conversion"]["effect"]),
        "refunds": _error(units, "refunded", effects["refund_rate"]["effect"]),
    }
    for platform in demo_rollout.PLATFORMS:
        chosen = units[units.platform == platform]
        found[platform] = _error(chosen, "bought", demo_rollout.EFFECTS[platform])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs=2, type=int, default=(0, 12), metavar=("FROM", "TO"))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(*args.seeds):
            found = draw(seed, Path(folder) / str(seed))
            rows.append(found)
            figures = "  ".join(f"{name} {value:+.2f}" for name, value in found.items())
            print(f"seed {seed:3}: {figures}", flush=True)
    table = pd.DataFrame(rows)
    print(f"mean {table.mean().round(2).to_dict()}")
    print(f"sd   {table.std().round(2).to_dict()}")


if __name__ == "__main__":
    main()
