"""What one worker of `impact run --due` spends per review, against another checkout.

    .venv/bin/python benchmarks/warm_worker.py --against OTHER/.venv/bin/python [--launches 10]

Each interpreter runs, in one fresh process as a `--jobs` worker does, the same small demo
launches one after another (``impact.schedule.run_chain``), alternating between the two
interpreters for ``--rounds`` rounds. Printed: the first review (imports and first-time
work included) and the median of the later ones (the warm worker's cost per review), in
wall seconds and in CPU seconds of the process. CPU seconds are the steadier figure on a
shared machine; read ratios, not seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from impact import demo

SPEC = Path(__file__).resolve().parent.parent / "specs" / "demo-checkout.yaml"
CHILD = """
import json, sys, time
from impact import schedule
calls = json.loads(sys.argv[1])
walls, cpus = [], []
for call in calls:
    wall, cpu = time.perf_counter(), time.process_time()
    records = schedule.run_chain(*call)
    walls.append(time.perf_counter() - wall)
    cpus.append(time.process_time() - cpu)
    assert records[0].status == "done", records[0].detail
print(json.dumps({"wall": walls, "cpu": cpus}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--against", required=True, help="another checkout's interpreter")
    parser.add_argument("--launches", type=int, default=10)
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    interpreters = {"this": sys.executable, "other": args.against}
    figures: dict[str, dict[str, list[float]]] = {
        name: {"first": [], "warm": [], "first_cpu": [], "warm_cpu": []} for name in interpreters
    }
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        data = base / "data"
        demo.generate(data, units=args.units)
        for round_ in range(args.rounds):
            for name, python in interpreters.items():
                root = base / f"{name}-{round_}"
                (root / "specs").mkdir(parents=True)
                calls = []
                for index in range(args.launches):
                    document = yaml.safe_load(SPEC.read_text())
                    document["id"] = f"launch-{index:02d}"
                    document["data"]["source"] = str(data)
                    path = root / "specs" / f"launch-{index:02d}.yaml"
                    path.write_text(yaml.safe_dump(document))
                    call = [str(path), document["id"], "56d", "2026-11-26", str(root)]
                    calls.append([[*call, None, False, None, False]])
                done = subprocess.run(
                    [python, "-c", CHILD, json.dumps(calls)],
                    cwd=root,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if done.returncode != 0:
                    sys.exit(f"{name} failed: {done.stderr[-1000:]}")
                times = json.loads(done.stdout.strip().splitlines()[-1])
                figures[name]["first"].append(times["wall"][0])
                figures[name]["warm"].append(statistics.median(times["wall"][1:]))
                figures[name]["first_cpu"].append(times["cpu"][0])
                figures[name]["warm_cpu"].append(statistics.median(times["cpu"][1:]))
                print(
                    f"round {round_ + 1} {name}: first {times['wall'][0]:.2f} s "
                    f"({times['cpu'][0]:.2f} s CPU), later ones median "
                    f"{statistics.median(times['wall'][1:]):.2f} s "
                    f"({statistics.median(times['cpu'][1:]):.2f} s CPU)",
                    flush=True,
                )
    this, other = figures["this"], figures["other"]
    for key, words in (
        ("first", "first review"),
        ("warm", "a later review"),
        ("first_cpu", "first review, CPU"),
        ("warm_cpu", "a later review, CPU"),
    ):
        mine, theirs = statistics.median(this[key]), statistics.median(other[key])
        print(f"{words:22} this {mine:6.2f} s, other {theirs:6.2f} s, ratio {mine / theirs:.2f}")


if __name__ == "__main__":
    main()
