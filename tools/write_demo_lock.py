"""Rewrite the demos' registration locks under a frozen clock (run after editing the demo spec).

    .venv/bin/python tools/write_demo_lock.py

The lock is a fixture: marked ``"fixture": true`` and shown in reports as a demo
registration. No user-facing option back-dates a registration; this script is for the demo
only.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from impact import registry, spec

FROZEN = dt.datetime(2026, 8, 20, 10, 0, tzinfo=dt.UTC)  # twelve days before the demo launch
SPECS = Path(__file__).resolve().parent.parent / "specs"

if __name__ == "__main__":
    for name in (
        "demo-checkout.yaml",
        "demo-prepost.yaml",
        "demo-adoption.yaml",
        "demo-rollout.yaml",
    ):
        loaded = spec.load(SPECS / name)
        registry.lock_path(loaded).unlink(missing_ok=True)
        print(registry.register(loaded, now=FROZEN, fixture=True))
