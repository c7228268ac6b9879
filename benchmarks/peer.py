"""`impact review` against the same review written by hand, timed alternately in one run.

    .venv/bin/pip install -c constraints.txt -e '.[bench]'     # tea-tasting, once
    .venv/bin/python benchmarks/peer.py [--units 1000000] [--rounds 3]
    .venv/bin/python benchmarks/peer.py --against OTHER/.venv/bin/python   # before/after

The peer is what an analyst would write: a papermill notebook that aggregates the demo's
Parquet files per unit with DuckDB, tests the demo spec's metrics with tea-tasting (CUPED on
the primary, the sample ratio), draws one plot, then `jupyter nbconvert --to html
--no-input`. Both run as fresh processes over the same files; each round runs both, then
the floor (benchmarks/speed.py's single DuckDB query of the primary metric), and the medians
are compared. Peak memory is the largest resident set of each process tree (psutil,
polled every 50 ms). The machine is shared: read the ratio, not the seconds. With
``--against``, each round also runs `impact review` of another checkout (its venv's
interpreter), so a change's before and after are measured back to back against one peer.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import nbformat
import pyarrow.parquet as pq
import speed
from nbformat.v4 import new_code_cell, new_notebook

from impact import demo

SPEC = speed.SPEC

PER_UNIT = """
WITH u AS (
  SELECT unit_id, variant, exposed_at FROM read_parquet('{data}/units.parquet')
  WHERE exposed_at >= TIMESTAMP '2026-09-01' AND exposed_at < TIMESTAMP '2026-10-13'),
e AS (
  SELECT unit_id, event, ts, value FROM read_parquet('{data}/events.parquet')
  WHERE ts < TIMESTAMP '2026-10-27')
SELECT u.variant,
  max(CASE WHEN e.event = 'purchase' AND e.ts >= u.exposed_at
      AND e.ts < u.exposed_at + INTERVAL 14 DAY THEN 1 ELSE 0 END) AS converted,
  max(CASE WHEN e.event = 'purchase' AND e.ts < u.exposed_at
      AND e.ts >= u.exposed_at - INTERVAL 14 DAY THEN 1 ELSE 0 END) AS pre_converted,
  max(CASE WHEN e.event = 'refund' AND e.ts >= u.exposed_at
      AND e.ts < u.exposed_at + INTERVAL 14 DAY THEN 1 ELSE 0 END) AS refunded,
  max(CASE WHEN e.event = 'support_contact' AND e.ts >= u.exposed_at
      AND e.ts < u.exposed_at + INTERVAL 14 DAY THEN 1 ELSE 0 END) AS contacted,
  coalesce(sum(CASE WHEN e.event = 'purchase' AND e.ts >= u.exposed_at
      AND e.ts < u.exposed_at + INTERVAL 14 DAY THEN e.value END), 0) AS revenue,
  count(CASE WHEN e.event = 'purchase' AND e.ts >= u.exposed_at
      AND e.ts < u.exposed_at + INTERVAL 14 DAY THEN 1 END) AS orders
FROM u LEFT JOIN e ON e.unit_id = u.unit_id
GROUP BY u.unit_id, u.variant
"""


def _peer_notebook(folder: Path) -> Path:
    cells = [
        new_code_cell('data = "data/demo"', metadata={"tags": ["parameters"]}),
        new_code_cell(
            "import duckdb\nimport tea_tasting as tt\nimport matplotlib.pyplot as plt\n\n"
            f"query = '''{PER_UNIT}'''\n"
            "units = duckdb.sql(query.format(data=data)).df()\n"
            "len(units)"
        ),
        new_code_cell(
            "experiment = tt.Experiment(\n"
            '    checkout_conversion=tt.Mean("converted", covariate="pre_converted"),\n'
            '    refund_rate=tt.Mean("refunded"),\n'
            '    support_contact_rate=tt.Mean("contacted"),\n'
            '    revenue_per_user=tt.Mean("revenue"),\n'
            '    purchases_per_user=tt.Mean("orders"),\n'
            '    order_value=tt.RatioOfMeans("revenue", "orders"),\n'
            "    sample_ratio=tt.SampleRatio(),\n"
            ")\n"
            'result = experiment.analyze(units, control="control")\n'
            "result"
        ),
        new_code_cell(
            'shares = units.groupby("variant")["converted"].mean()\n'
            "figure, axes = plt.subplots(figsize=(6, 3))\n"
            "axes.bar(shares.index, shares.to_numpy())\n"
            'axes.set_title("checkout conversion by variant")\n'
            "plt.show()"
        ),
    ]
    notebook = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
    )
    path = folder / "peer.ipynb"
    nbformat.write(notebook, path)
    return path


def _measure(commands: list[list[str]], cwd: Path) -> tuple[float, float]:
    """Seconds and peak resident memory (MB) of commands run one after the other."""
    seconds, peak = speed.measure(commands, cwd)
    return seconds, peak / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", help="another checkout's interpreter, for before/after")
    args = parser.parse_args()
    binaries = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        truth = demo.generate(root / "data" / "demo", units=args.units)
        events = pq.ParquetFile(root / "data" / "demo" / "events.parquet").metadata.num_rows
        (root / "specs").mkdir()
        (root / "specs" / SPEC.name).write_text(SPEC.read_text())
        peer = _peer_notebook(root)
        ours_cmd = [
            [str(binaries / "impact"), "review", f"specs/{SPEC.name}", "--today", "2026-11-26"]
        ]
        peer_cmd = [
            [str(binaries / "papermill"), str(peer), "peer-out.ipynb", "-p", "data", "data/demo"],
            [
                str(binaries / "jupyter"),
                "nbconvert",
                "--to",
                "html",
                "--no-input",
                "peer-out.ipynb",
            ],
        ]
        other_cmd = (
            [[str(Path(args.against).parent / "impact"), *ours_cmd[0][1:]]]
            if args.against
            else None
        )
        ours, theirs, floors, others = [], [], [], []
        for _ in range(args.rounds):
            ours.append(_measure(ours_cmd, root))
            theirs.append(_measure(peer_cmd, root))
            if other_cmd is not None:
                others.append(_measure(other_cmd, root))
            floors.append(speed._floor(root / "data" / "demo"))
    ours_time = statistics.median(t for t, _ in ours)
    peer_time = statistics.median(t for t, _ in theirs)
    floor = statistics.median(floors)
    print(f"{truth.units:,} units, {events:,} events; {args.rounds} alternating rounds, medians")
    print(f"impact review:            {ours_time:6.2f} s, peak {max(m for _, m in ours):6.0f} MB")
    print(f"hand-written peer:        {peer_time:6.2f} s, peak {max(m for _, m in theirs):6.0f} MB")
    print(f"floor (one DuckDB query): {floor:6.2f} s")
    print(f"ratio impact / peer:      {ours_time / peer_time:6.2f} (goal <= 0.4, issue 23)")
    print(f"ratio impact / floor:     {ours_time / floor:6.2f}")
    print(f"ratio peer / floor:       {peer_time / floor:6.2f}")
    if others:
        other_time = statistics.median(t for t, _ in others)
        peak = max(m for _, m in others)
        print(f"other impact review:      {other_time:6.2f} s, peak {peak:6.0f} MB")
        print(f"ratio other / peer:       {other_time / peer_time:6.2f}")
        print(f"ratio impact / other:     {ours_time / other_time:6.2f}")


if __name__ == "__main__":
    main()
