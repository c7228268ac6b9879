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

import concurrent.futures
import datetime as dt
import json
import multiprocessing
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from impact import message
from impact import spec as spec_module
from impact.errors import DataNotReady, ImpactError, ReviewFailed, ReviewLocked, SpecError
from impact.layout import failure_note, verdict_path
from impact.spec import LaunchSpec

__all__ = [
    "Entry",
    "Problem",
    "RunRecord",
    "entries",
    "find_specs",
    "notify",
    "run_due",
    "run_one",
    "save_listing",
]

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
            "title": self.spec.title,
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
    """Whether a YAML file looks like a launch spec (has a top-level spec_version).

    It is read with the spec loader's limits (no aliases, bounded depth and size), so a
    hostile file in the folder cannot hang or crash the listing of the others.
    """
    try:
        document = spec_module.read_yaml(path)
    except SpecError:
        try:
            with path.open("rb") as handle:
                return b"spec_version" in handle.read(spec_module.MAX_BYTES + 1)
        except OSError:
            return True  # listed, so that loading it reports why it cannot be read
    return "spec_version" in document


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


@dataclass(frozen=True)
class RunRecord:
    """What happened to one due review in ``impact run --due``.

    Attributes:
        spec_id: the launch.
        label: the checkpoint.
        status: done, skipped (done by another run meanwhile), not_ready, locked,
            bad_input or failed.
        detail: the outcome (done) or the one-line error.
        exit_code: the exit code this review alone would have had.
        summary: verdict.md's text for a new verdict (for notifications), else "".
    """

    spec_id: str
    label: str
    status: str
    detail: str
    exit_code: int
    summary: str = ""


def run_one(
    spec_path: str, spec_id: str, label: str, today: str, output: str, kernel: str | None = None
) -> RunRecord:
    """Run one scheduled review; every outcome becomes a record, never an exception.

    A module-level function, so worker processes can run it.
    """
    # Imported here, so that listing reviews (impact due) never loads the notebook stack.
    from impact import runner

    try:
        published = runner.review(
            spec_path,
            checkpoint=label,
            today=today,
            output_dir=output,
            only_if_missing=True,
            kernel_name=kernel,
        )
    except DataNotReady as error:
        return RunRecord(spec_id, label, "not_ready", str(error), error.exit_code)
    except ReviewLocked as error:
        return RunRecord(spec_id, label, "locked", str(error), error.exit_code)
    except ReviewFailed as error:
        return RunRecord(spec_id, label, "failed", str(error), error.exit_code)
    except ImpactError as error:
        return RunRecord(spec_id, label, "bad_input", str(error), error.exit_code)
    if published is None:
        return RunRecord(spec_id, label, "skipped", "done by another run", 0)
    verdict = published.verdict
    text = message.markdown(verdict, str(published.report.resolve()))
    return RunRecord(verdict["spec_id"], label, "done", verdict["outcome"], 0, text)


def run_due(
    wanted: list[Entry], *, today: dt.date, output: Path, jobs: int, kernel: str | None = None
) -> Iterator[RunRecord]:
    """Run the wanted reviews in ``jobs`` worker processes, yielding records as they finish.

    One failing review never stops the others; each review holds its own lock, so two
    schedulers never run the same review twice. With ``kernel``, each notebook runs in a
    fresh Jupyter kernel of that name rather than in the worker.
    """
    calls = [
        (str(e.spec.path), e.spec.id, e.label, today.isoformat(), str(output), kernel)
        for e in wanted
    ]
    if jobs <= 1:
        for call in calls:
            yield run_one(*call)
        return
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(run_one, *call) for call in calls]
        for future in concurrent.futures.as_completed(futures):
            yield future.result()


def notify(url: str, text: str, *, timeout: float = 10.0) -> None:
    """POST ``{"text": text}``: the payload Slack and Teams incoming webhooks accept.

    Raises:
        OSError: the webhook could not be reached or refused the message.
    """
    body = json.dumps({"text": text}).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if response.status >= 300:
            raise OSError(f"the webhook answered {response.status}")


def save_listing(output: Path, found: list[Entry], *, today: dt.date) -> None:
    """Keep what the scheduler saw in ``reports/schedule.json`` for the portfolio page."""
    path = output / "reports" / "schedule.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    listing = {"today": today.isoformat(), "reviews": [entry.to_json() for entry in found]}
    staged = path.with_name(f".schedule.{os.getpid()}.json")
    staged.write_text(json.dumps(listing, indent=2) + "\n", encoding="utf-8")
    os.replace(staged, path)
