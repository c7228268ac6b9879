"""End-to-end review time and peak memory against a single DuckDB query (the floor).

    .venv/bin/python benchmarks/speed.py [--units 1000000] [--rounds 3]
    .venv/bin/python benchmarks/speed.py --limits     # impact's memory bound against none

Generates the demo launch at the given size (outside the repository), then times, alternately
and in one run: `impact review` of the demo spec (Parquet to HTML, a fresh process), and one
DuckDB query that computes only the primary metric's per-arm counts over the same files.
Peak memory is the largest resident set of the review's process tree (psutil, polled every
50 ms). The machine is shared, so read the ratio, not the seconds. With ``--limits``, each
round reviews twice more, with impact's default memory bound and with
``IMPACT_DUCKDB_MEMORY_LIMIT=80%`` (DuckDB's own default), and prints the slowdown of the bound.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import psutil
import pyarrow.parquet as pq

from impact import demo

SPEC = Path(__file__).resolve().parent.parent / "specs" / "demo-checkout.yaml"
FLOOR = """
WITH u AS (
  SELECT unit_id, variant, exposed_at FROM read_parquet('{units}')
  WHERE exposed_at >= TIMESTAMP '2026-09-01' AND exposed_at < TIMESTAMP '2026-10-27'),
e AS (
  SELECT unit_id, ts FROM read_parquet('{events}')
  WHERE event = 'purchase' AND ts < TIMESTAMP '2026-10-27')
SELECT variant, count(*), sum(converted) FROM (
  SELECT u.unit_id, u.variant,
         max(CASE WHEN e.ts >= u.exposed_at AND e.ts < u.exposed_at + INTERVAL 14 DAY
             THEN 1 ELSE 0 END) AS converted
  FROM u LEFT JOIN e ON e.unit_id = u.unit_id
  WHERE u.exposed_at + INTERVAL 14 DAY <= TIMESTAMP '2026-10-27'
  GROUP BY u.unit_id, u.variant)
GROUP BY variant
"""


def measure(commands: list[list[str]], cwd: Path) -> tuple[float, int]:
    """Seconds and peak resident bytes of commands run one after the other, each process tree
    polled every 50 ms; exits with the command's error when one fails."""
    peak = 0
    started = time.perf_counter()
    for argv in commands:
        process = psutil.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while process.poll() is None:
            try:
                tree = [process, *process.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.05)
        if process.returncode != 0:
            error = process.stderr.read().decode()[-2000:] if process.stderr else ""
            sys.exit(f"{' '.join(argv)} failed: {error}")
    return time.perf_counter() - started, peak


def _review(root: Path, limit: str | None = None) -> tuple[float, float]:
    """Seconds and peak resident memory (MiB) of one `impact review` process tree (with
    ``IMPACT_DUCKDB_MEMORY_LIMIT`` set to ``limit`` when given, else unset)."""
    os.environ.pop("IMPACT_DUCKDB_MEMORY_LIMIT", None)
    if limit is not None:
        os.environ["IMPACT_DUCKDB_MEMORY_LIMIT"] = limit
    shutil.rmtree(root / "reports", ignore_errors=True)
    shutil.rmtree(root / "notebooks", ignore_errors=True)
    command = [
        sys.executable,
        "-m",
        "impact",
        "review",
        f"specs/{SPEC.name}",
        "--today",
        "2026-11-26",
    ]
    try:
        seconds, peak = measure([command], root)
    finally:
        os.environ.pop("IMPACT_DUCKDB_MEMORY_LIMIT", None)
    return seconds, peak / 2**20


def _floor(data: Path) -> float:
    started = time.perf_counter()
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(
            FLOOR.format(units=data / "units.parquet", events=data / "events.parquet")
        ).fetchall()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limits", action="store_true", help="the memory bound against none")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        data = root / "data" / "demo"
        demo.generate(data, units=args.units)
        (root / "specs").mkdir()
        shutil.copyfile(SPEC, root / "specs" / SPEC.name)
        events = pq.read_metadata(data / "events.parquet").num_rows
        print(f"{args.units:,} users, {events:,} events")
        reviews, floors, peaks = [], [], []
        bounded: list[tuple[float, float]] = []
        unbounded: list[tuple[float, float]] = []
        for _ in range(args.rounds):
            seconds, peak = _review(root)
            reviews.append(seconds)
            peaks.append(peak)
            floors.append(_floor(data))
            if args.limits:
                unbounded.append(_review(root, "80%"))
                bounded.append(_review(root))
        review, floor = statistics.median(reviews), statistics.median(floors)
        print(
            f"impact review, end to end: median {review:.1f} s over {args.rounds} runs; peak memory {max(peaks):,.0f} MB"
        )
        print(f"one DuckDB query (primary metric only): median {floor:.2f} s")
        print(f"ratio review / floor: {review / floor:.1f}")
        if args.limits:
            free = statistics.median(t for t, _ in unbounded)
            held = statistics.median(t for t, _ in bounded)
            print(
                f"default bound: median {held:.2f} s, peak {max(m for _, m in bounded):,.0f} MB; "
                f"IMPACT_DUCKDB_MEMORY_LIMIT=80%: median {free:.2f} s, peak "
                f"{max(m for _, m in unbounded):,.0f} MB; bounded / unbounded {held / free:.3f}"
            )


if __name__ == "__main__":
    main()
