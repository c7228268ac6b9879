"""Where a review's files live under the output folder.

    notebooks/<id>/<N>d.ipynb                   the executed notebook
    notebooks/<id>/failed/<N>d-<time>.ipynb     a failed run's notebook (and its error report)
    notebooks/<id>/failed/<N>d.last-error.txt   the one-line error of the last failed run
    reports/<id>/<N>d.html | .json | .md        the report, verdict.json and verdict.md
    reports/<id>/<N>d.manifest                  the set now published (impact.publish)
    reports/<id>/<N>d.history/                  earlier versions of a checkpoint's files
    reports/index.html, reports/schedule.json   the portfolio page and what the scheduler saw
    reports/.outbox/                            notifications waiting for delivery, and sent/
    .impact-runs/                               private run folders and per-review locks

A module of its own so that listing reviews never imports the notebook machinery.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["OUTBOX_FOLDER", "RUNS_FOLDER", "failure_note", "manifest_path", "verdict_path"]

RUNS_FOLDER = ".impact-runs"
OUTBOX_FOLDER = ".outbox"  # under reports/


def verdict_path(output: Path, spec_id: str, label: str) -> Path:
    """Where a checkpoint's verdict.json is published."""
    return output / "reports" / spec_id / f"{label}.json"


def failure_note(output: Path, spec_id: str, label: str) -> Path:
    """Where the one-line error of a checkpoint's last failed run is kept."""
    return output / "notebooks" / spec_id / "failed" / f"{label}.last-error.txt"


def manifest_path(output: Path, spec_id: str, label: str) -> Path:
    """Where the manifest of a checkpoint's published set is (``impact.publish``)."""
    return output / "reports" / spec_id / f"{label}.manifest"
