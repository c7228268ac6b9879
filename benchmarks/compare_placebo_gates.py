"""The placebo gate's rules side by side, on the series a grid run kept (no fitting).

    .venv/bin/python benchmarks/simulate_prepost.py --save runs.json
    .venv/bin/python benchmarks/compare_placebo_gates.py runs.json

For each cell at a true effect of 0: how often each rule stops the series (on a
well-specified model, a false alarm) and the false claims left after every check (the
gate, the placebo rank cap, the residuals check, a failed fit); at +1, the effects found.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import prepost_simulation as simulation
import simulate_prepost
from scipy import stats

from impact.stats import prepost_checks

ALPHA = simulation.ALPHA
Rule = Callable[[simulation.Run], bool]


def _overlap(false_alarm: float) -> Rule:
    """impact's rule: the count a calibrated model's overlapping windows exceed in
    ``false_alarm`` of reviews (prepost_checks.allowed_excluded)."""

    def rule(run: simulation.Run) -> bool:
        if len(run.placebo_starts) < prepost_checks.MIN_PLACEBOS:
            return False
        allowed = prepost_checks.allowed_excluded(
            run.placebo_starts, run.placebo_steps, ALPHA, false_alarm
        )
        return run.placebo_excluded > allowed

    return rule


def _binomial(false_alarm: float) -> Rule:
    """An effective number of independent windows, n_eff = the days the windows span over
    their length (whole windows), and the binomial(n_eff, alpha) count's quantile."""

    def rule(run: simulation.Run) -> bool:
        count = len(run.placebo_starts)
        if count < prepost_checks.MIN_PLACEBOS:
            return False
        span = run.placebo_starts[-1] - run.placebo_starts[0] + run.placebo_steps
        n_eff = max(1, min(count, span // run.placebo_steps))
        allowed = next(
            k for k in range(n_eff + 1) if stats.binom.sf(k, n_eff, ALPHA) <= false_alarm
        )
        return run.placebo_excluded / count > allowed / n_eff

    return rule


RULES: dict[str, Rule] = {
    "2 alpha": lambda run: run.gated_by_twice_alpha,
    "overlap 1%": _overlap(0.01),
    "overlap 0.5%": _overlap(0.005),
    "overlap 2%": _overlap(0.02),
    "binomial n_eff 1%": _binomial(0.01),
}


def _figures(runs: list[simulation.Run], rule: Rule) -> tuple[float, float, float]:
    stopped = claims_null = claims_effect = 0
    for run in runs:
        gated = rule(run)
        blocked = gated or run.degenerate or run.repeats
        stopped += gated
        effect = run.ours.shifted(simulation.EFFECT)
        claims_null += (run.ours.low > 0 or run.ours.high < 0) and not (blocked or run.capped_null)
        claims_effect += (effect.low > 0 or effect.high < 0) and not (blocked or run.capped_effect)
    return stopped / len(runs), claims_null / len(runs), claims_effect / len(runs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", type=Path, nargs="+", help="files simulate_prepost.py --save wrote")
    args = parser.parse_args()
    kept = {"cells": [c for path in args.runs for c in json.loads(path.read_text())["cells"]]}
    names = [s.name for s in simulation.SCENARIOS]
    kept["cells"].sort(key=lambda c: (names.index(c["process"]), c["pre"], c["post"]))
    print("each rule: stopped by the gate / false claims at 0 / found at +1, after all checks")
    print(f"{'cell':36}" + "".join(f"{name:>24}" for name in RULES))
    for cell in kept["cells"]:
        runs = [simulate_prepost._run(saved) for saved in cell["runs"]]
        label = f"{cell['process']} {cell['pre']}/{cell['post']} ({len(runs)})"
        shown = [
            "{:.1%} / {:.1%} / {:.1%}".format(*_figures(runs, rule)) for rule in RULES.values()
        ]
        print(f"{label:36}" + "".join(f"{s:>24}" for s in shown))


if __name__ == "__main__":
    main()
