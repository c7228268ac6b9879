"""Rewrite the demo's registration lock under a frozen clock (run after editing the demo spec).

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
SPEC = Path(__file__).resolve().parent.parent / "specs" / "demo-checkout.yaml"

if __name__ == "__main__":
    loaded = spec.load(SPEC)
    registry.lock_path(loaded).unlink(missing_ok=True)
    print(registry.register(loaded, now=FROZEN, fixture=True))
