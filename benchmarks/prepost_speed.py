"""Time of a prepost review: two years of daily data with three controls, fit, placebos, report.

    .venv/bin/python benchmarks/prepost_speed.py

Prints the statistics alone (``prepost.run``: the fit, 20 placebo windows, the hold-out, the
moved-control checks), the whole review (``runner.review`` in this process: papermill with
the notebook in this process, nbconvert, publishing) and, as the baseline measured in the same run, the same runner path with an
empty statistics step (an experiment demo of 2,000 units), each the median of three runs.
The goal of issue 5: under 10 s for the whole review on this machine.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from impact import demo, prepost, runner

DAYS_BEFORE, DAYS_AFTER = 730, 56
DEMO_SPEC = Path(__file__).resolve().parent.parent / "specs" / "demo-prepost.yaml"


def _launch(root: Path) -> Path:
    rng = np.random.default_rng(11)
    days = DAYS_BEFORE + DAYS_AFTER
    dates = pd.date_range("2026-09-01", periods=days, freq="D") - pd.Timedelta(days=DAYS_BEFORE)
    demand = 1000 + np.cumsum(rng.normal(0, 2, days))
    week = np.array([0.9, 0.9, 1.0, 1.0, 1.05, 1.2, 1.1])[dates.day_of_week]
    controls = {f"control_{i}": demand * (1 + 0.1 * i) + rng.normal(0, 5, days) for i in (1, 2, 3)}
    orders = 0.8 * demand * week + rng.normal(0, 15, days)
    orders[DAYS_BEFORE:] *= 1.05
    frame = pd.DataFrame({"date": dates.date, "orders": orders, **controls})
    (root / "data").mkdir(parents=True)
    frame.to_parquet(root / "data" / "daily.parquet")
    document = yaml.safe_load(DEMO_SPEC.read_text())
    document["data"] = {"source": "../data", "series": "daily"}
    document["metrics"] = {
        "primary": {
            "name": "orders",
            "column": "orders",
            "controls": list(controls),
            "seasonality": "7d",
            "flow": True,
            "target": "+3%",
            "direction": "increase",
        }
    }
    (root / "specs").mkdir()
    spec = root / "specs" / "speed.yaml"
    spec.write_text(yaml.safe_dump(document, sort_keys=False))
    return spec


def _median(action: object, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        spec = _launch(root / "prepost")
        baseline_root = root / "baseline"
        demo.generate(baseline_root / "data" / "demo", units=2000)
        baseline_spec = demo.write_demo_spec(baseline_root / "specs")

        stats_only = _median(lambda: prepost.run(str(spec), "56d", "2026-11-26"))
        whole = _median(
            lambda: runner.review(
                spec, checkpoint="56d", today="2026-11-26", output_dir=root / "out"
            )
        )
        baseline = _median(
            lambda: runner.review(
                baseline_spec, checkpoint="56d", today="2026-11-26", output_dir=baseline_root
            )
        )
    print(
        f"{DAYS_BEFORE} days before launch, {DAYS_AFTER} after, three controls, weekly seasonality"
    )
    print(f"statistics alone (fit, 20 placebos, hold-out, controls): {stats_only:.2f} s")
    print(f"whole review (impact review, report written):             {whole:.2f} s (goal < 10 s)")
    print(f"baseline: the runner on a 2,000-unit experiment:          {baseline:.2f} s")
    print(
        f"ratio whole / baseline: {whole / baseline:.2f}; statistics / whole: {stats_only / whole:.2f}"
    )


if __name__ == "__main__":
    main()
