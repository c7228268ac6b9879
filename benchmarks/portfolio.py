"""Scheduling speed: 20 small launches run with --jobs 2 against --jobs 1, in one run.

    .venv/bin/python benchmarks/portfolio.py [--launches 20] [--units 3000]
    .venv/bin/python benchmarks/portfolio.py --against OTHER/.venv/bin/python [--rounds 3]

Prints both wall times and their ratio (the machine is shared, so only the ratio is
meaningful). With ``--against``, the same ``run --due --jobs 2`` runs under this interpreter
and another one (an older checkout's venv, say), alternating, in fresh folders each round;
the medians and their ratio (this / other) are printed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from impact import demo

SPEC = Path(__file__).resolve().parent.parent / "specs" / "demo-checkout.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--launches", type=int, default=20)
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--against", help="another interpreter with impact installed")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.against:
        _against(args)
        return
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        data = base / "data"
        demo.generate(data, units=args.units)
        timings = {}
        for jobs in (1, 2):
            root = base / f"jobs{jobs}"
            (root / "specs").mkdir(parents=True)
            for index in range(args.launches):
                document = yaml.safe_load(SPEC.read_text())
                document["id"] = f"launch-{index:02d}"
                document["data"]["source"] = str(data)
                (root / "specs" / f"launch-{index:02d}.yaml").write_text(yaml.safe_dump(document))
            started = time.perf_counter()
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "impact",
                    "run",
                    "--due",
                    "specs",
                    "--today",
                    "2026-11-26",
                    "--jobs",
                    str(jobs),
                ],
                cwd=root,
                capture_output=True,
                text=True,
                check=False,
            )
            timings[jobs] = time.perf_counter() - started
            if done.returncode != 0:
                sys.exit(f"--jobs {jobs} failed: {done.stderr[-500:]}")
            reviews = len(list((root / "reports").glob("*/*.json")))
            print(f"--jobs {jobs}: {reviews} reviews in {timings[jobs]:.1f} s", flush=True)
        print(f"ratio --jobs 2 / --jobs 1: {timings[2] / timings[1]:.2f}")


def _launches(root: Path, data: Path, count: int, spec: Path = SPEC) -> None:
    (root / "specs").mkdir(parents=True)
    for index in range(count):
        document = yaml.safe_load(spec.read_text())
        document["id"] = f"launch-{index:02d}"
        document["data"]["source"] = str(data)
        (root / "specs" / f"launch-{index:02d}.yaml").write_text(yaml.safe_dump(document))


def _against(args: argparse.Namespace) -> None:
    interpreters = {"this": sys.executable, "other": args.against}
    # Each checkout writes its launches from its own demo spec (the spec format grows): the
    # other interpreter's checkout is the folder that holds its .venv.
    theirs = Path(args.against).absolute().parents[2] / "specs" / SPEC.name
    specs = {"this": SPEC, "other": theirs if theirs.exists() else SPEC}
    timings: dict[str, list[float]] = {name: [] for name in interpreters}
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        data = base / "data"
        demo.generate(data, units=args.units)
        for round_ in range(args.rounds):
            for name, python in interpreters.items():
                root = base / f"{name}-{round_}"
                _launches(root, data, args.launches, specs[name])
                command = [python, "-m", "impact", "run", "--due", "specs"]
                command += ["--today", "2026-11-26", "--jobs", "2"]
                started = time.perf_counter()
                done = subprocess.run(command, cwd=root, capture_output=True, text=True)
                timings[name].append(time.perf_counter() - started)
                if done.returncode != 0:
                    sys.exit(f"{name} failed: {done.stderr[-500:]}")
                print(f"round {round_ + 1} {name}: {timings[name][-1]:.1f} s", flush=True)
    this, other = (statistics.median(timings[name]) for name in interpreters)
    print(f"--jobs 2, {args.launches} launches: this {this:.1f} s, other {other:.1f} s")
    print(f"ratio this / other: {this / other:.2f}")


if __name__ == "__main__":
    main()
