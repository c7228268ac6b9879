"""Which reviews are due: every registered checkpoint of every spec, with its state.

States of a checkpoint on a given day:

- ``upcoming``: its as_of date is after today;
- ``due``: its as_of date has come (as_of is 00:00 UTC of that date) and it has no verdict;
- ``done``: ``reports/<id>/<N>d.json`` exists (the outcome is shown);
- ``decided``: an earlier look of the launch shipped or reverted, so it is not run;
- ``failed``: its last run failed (the error is shown); ``impact run --due`` retries it.

Specs are found recursively under a folder (YAML files with a ``spec_version`` key); a spec
that does not load is listed as an error without stopping the listing, and so is a second
spec with an id already taken.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from impact import spec as spec_module
from impact.errors import SpecError
from impact.runner import failure_note, verdict_path
from impact.spec import LaunchSpec

__all__ = ["Entry", "Problem", "entries", "find_specs"]

State = Literal["upcoming", "due", "done", "decided", "failed"]
DECIDING = ("ship", "revert")


@dataclass(frozen=True)
class Entry:
    """One checkpoint of one launch.

    Attributes:
        spec: the launch spec.
        label: the checkpoint, e.g. ``28d``.
        date: its as_of date.
        state: upcoming, due, done, decided or failed.
        detail: the outcome (done), the deciding look (decided) or the error (failed).
    """

    spec: LaunchSpec
    label: str
    date: dt.date
    state: State
    detail: str

    def to_json(self) -> dict[str, Any]:
        """The entry for ``impact due --json``."""
        return {
            "spec": str(self.spec.path),
            "spec_id": self.spec.id,
            "checkpoint": self.label,
            "date": self.date.isoformat(),
            "state": self.state,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Problem:
    """A spec file that could not be scheduled, and why (one line)."""

    path: Path
    message: str


def find_specs(folder: Path) -> tuple[list[LaunchSpec], list[Problem]]:
    """Every launch spec under ``folder`` (recursively), and the files that failed to load."""
    if not folder.is_dir():
        raise SpecError(f"{folder}: no such folder of specs; give the folder that holds them")
    specs: list[LaunchSpec] = []
    problems: list[Problem] = []
    seen: dict[str, Path] = {}
    for path in sorted([*folder.rglob("*.yaml"), *folder.rglob("*.yml")]):
        if not _is_spec(path):
            continue
        try:
            loaded = spec_module.load(path)
        except SpecError as error:
            problems.append(Problem(path, str(error)))
            continue
        if loaded.id in seen:
            problems.append(
                Problem(
                    path,
                    f"{path}: id: {loaded.id!r} is taken by {seen[loaded.id]}; ids "
                    "must be unique, so rename one",
                )
            )
            continue
        seen[loaded.id] = path
        specs.append(loaded)
    return specs, problems


def _is_spec(path: Path) -> bool:
    """Whether a YAML file looks like a launch spec (has a top-level spec_version)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return "spec_version" in path.read_text(encoding="utf-8", errors="replace")
    return isinstance(document, dict) and "spec_version" in document


def entries(spec: LaunchSpec, *, today: dt.date, output: Path) -> list[Entry]:
    """The state of each registered checkpoint of a spec on ``today``."""
    found: list[Entry] = []
    decided_by: str | None = None
    for days in spec.reviews:
        label = spec_module.format_duration(days)
        date = spec.as_of(days).date()
        published = verdict_path(output, spec.id, label)
        failed = failure_note(output, spec.id, label)
        if published.is_file():
            outcome = _outcome(published)
            found.append(Entry(spec, label, date, "done", outcome))
            if outcome in DECIDING and decided_by is None:
                decided_by = f"{outcome} at {label}"
        elif decided_by is not None:
            found.append(Entry(spec, label, date, "decided", decided_by))
        elif date > today:
            found.append(Entry(spec, label, date, "upcoming", ""))
        elif failed.is_file():
            found.append(Entry(spec, label, date, "failed", failed.read_text().strip()))
        else:
            found.append(Entry(spec, label, date, "due", ""))
    return found


def _outcome(path: Path) -> str:
    try:
        return str(json.loads(path.read_text(encoding="utf-8")).get("outcome", "?"))
    except (OSError, ValueError):
        return "unreadable verdict.json"
