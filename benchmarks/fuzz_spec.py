"""A long fuzz of what a spec author controls: hostile YAML, mutated specs, any segment.

    nice -n 10 .venv/bin/python benchmarks/fuzz_spec.py --minutes 10 [--examples 500]

Runs the properties of tests/test_fuzz.py (never a traceback, one clean line, nothing of a
file outside the data) round after round, each round on a new random seed with more examples
than `make test` runs, and each example held to one second of CPU time (IMPACT_FUZZ_SECONDS=1;
the test allows five) and 30 s of waiting: CPU time, so that a machine busy with other work
does not fail an example, while a blow-up or a loop still does. Stops when the time is up; prints each round and a summary, and keeps
the output of any failing round (with hypothesis's falsifying example) in the folder given
by --keep (default: a temporary folder, printed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests" / "test_fuzz.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--examples", type=int, default=500, help="per property and round")
    parser.add_argument("--seconds", type=float, default=1.0, help="the bound per example")
    parser.add_argument("--keep", type=Path, default=None, help="where failing rounds go")
    args = parser.parse_args()
    keep = args.keep or Path(tempfile.mkdtemp(prefix="impact-fuzz-"))
    keep.mkdir(parents=True, exist_ok=True)
    environment = {
        **os.environ,
        "IMPACT_FUZZ_RANDOM": "1",
        "IMPACT_FUZZ_EXAMPLES": str(args.examples),
        "IMPACT_FUZZ_SECONDS": str(args.seconds),
    }
    deadline = time.monotonic() + args.minutes * 60
    rounds = failures = 0
    properties = 0
    while time.monotonic() < deadline:
        seed = int.from_bytes(os.urandom(4), "big")
        started = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                str(TESTS),
                "-q",
                "-p",
                "no:cacheprovider",
                f"--hypothesis-seed={seed}",
            ],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        rounds += 1
        summary = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
        passed = done.returncode == 0
        properties += sum(int(word) for word in _counts(summary))
        print(
            f"round {rounds}: seed {seed}: {summary} ({time.monotonic() - started:.0f} s)",
            flush=True,
        )
        if not passed:
            failures += 1
            kept = keep / f"round-{rounds}-seed-{seed}.txt"
            kept.write_text(done.stdout + "\n" + done.stderr)
            print(f"  failing round kept at {kept}", flush=True)
    print(
        f"{rounds} rounds, {properties} property runs of up to {args.examples} examples each, "
        f"{args.minutes:g} minutes, a bound of {args.seconds:g} s per example: "
        f"{failures} failing rounds" + (f" (in {keep})" if failures else ""),
        flush=True,
    )
    return 1 if failures else 0


def _counts(summary: str) -> list[str]:
    """The numbers of pytest's last line ("6 passed, 1 failed in 80.1s")."""
    words = summary.replace(",", " ").split()
    return [
        words[index - 1]
        for index, word in enumerate(words)
        if word in ("passed", "failed") and index > 0 and words[index - 1].isdigit()
    ]


if __name__ == "__main__":
    sys.exit(main())
