"""Which reviews are due: every registered checkpoint of every spec, with its state.

States of a checkpoint on a given day:

- ``upcoming``: its as_of date is after today;
- ``due``: its as_of date has come (as_of is 00:00 UTC of that date) and it has no verdict;
- ``done``: the checkpoint has a published set (``impact.publish``; the outcome is shown);
- ``decided``: an earlier look of the launch shipped or reverted, so it is not run;
- ``superseded``: an interim look whose date has come but so has a later look's (a first
  run, a catch-up after a pause). ``impact run --due`` checks it first, as of its own
  checkpoint: when it ships or reverts it is published and posted, as a daily scheduler
  would have done on its day, and the later looks are decided; otherwise nothing of it is
  kept and the later look runs. So a catch-up publishes what daily runs would have, and
  never posts a stale interim after its final;
- ``failed``: its last run failed (the error is shown); ``impact run --due`` retries it.

Specs are found recursively under a folder (YAML files with a ``spec_version`` key, or an
``id`` and a ``launch_date``, or not valid YAML: a half-written spec); a spec that does not
load (a bad spec, a dangling link, a folder named like a spec, YAML nested too
deeply) is listed as an error in one line without stopping the listing, and so is a second
spec with an id already taken. ``run_due`` runs each review in isolation: any failure, or the
death of its worker process, fails that review alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from impact import message, outbox, publish, registry, stopping, workers
from impact import spec as spec_module
from impact.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_SECTION_FAILED,
    DataNotReady,
    ImpactError,
    ReviewFailed,
    ReviewInterrupted,
    ReviewLocked,
    SpecError,
)
from impact.layout import failure_note
from impact.spec import LaunchSpec

__all__ = [
    "Entry",
    "Problem",
    "RunRecord",
    "drift",
    "entries",
    "find_specs",
    "run_chain",
    "run_due",
    "run_one",
    "save_listing",
    "wanted",
]

State = Literal["upcoming", "due", "done", "decided", "superseded", "failed"]
DECIDING = ("ship", "revert")


@dataclass(frozen=True)
class Entry:
    """One checkpoint of one launch.

    Attributes:
        spec: the launch spec.
        label: the checkpoint, e.g. ``28d``.
        date: its as_of date.
        state: upcoming, due, done, decided, superseded or failed.
        detail: the outcome (done), the deciding look (decided), the later look that is due
            (superseded: checked for an early decision) or the error (failed).
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
        unusable = _unusable(path)
        if unusable:
            problems.append(Problem(path, unusable))
            continue
        if not _is_spec(path):
            continue
        try:
            loaded = spec_module.load(path)
        except SpecError as error:
            problems.append(Problem(path, str(error)))
            continue
        except RecursionError:
            problems.append(Problem(path, f"{path}: {_TOO_DEEP}"))
            continue
        except Exception as error:  # one bad file never stops the others
            problems.append(Problem(path, f"{path}: cannot be loaded ({_one_line(error)})"))
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


_TOO_DEEP = "the YAML is nested too deeply to be a launch spec; a spec is a few levels deep"


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:200]}" if text else type(error).__name__


def _unusable(path: Path) -> str:
    """Why a path found under the specs folder cannot be a spec file ("" when it can)."""
    if path.is_symlink() and not path.exists():
        target = os.readlink(path)
        return f"{path}: a symbolic link to {target}, which does not exist; fix or remove it"
    if path.is_dir():
        return f"{path}: a folder named like a spec file; rename it or move it out of the specs"
    if not path.is_file():
        return f"{path}: not a regular file; a spec is a YAML file"
    return ""


def _is_spec(path: Path) -> bool:
    """Whether a YAML file may be a launch spec: it has a top-level spec_version, or an id and
    a launch_date, or it is not valid YAML (a half-written spec must be listed, not skipped).

    It is read with the spec loader's limits (no aliases, bounded depth and size), so a
    hostile file in the folder cannot hang or crash the listing of the others.
    """
    try:
        document = spec_module.read_yaml(path)
    except SpecError:
        return True  # a half-written spec is listed with its YAML error, never skipped
    return "spec_version" in document or {"id", "launch_date"} <= set(document)


def _instant(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def drift(spec: LaunchSpec, output: Path) -> list[str]:
    """How a spec drifted from its registration, one line each: deciding fields that differ
    from the lock, and amendments made after one of its verdicts was published."""
    try:
        registration = registry.check(spec)
    except ImpactError as error:
        return [str(error)]
    lines = [
        f"{spec.id}: {change['field']} differs from the lock "
        f"({registry.change_values(change)}), a deciding field: its verdicts "
        "will be invalid; restore it or "
        f"record it with impact amend {spec.path.name} --reason"
        for change in registration.tampered
    ]
    lines += registry.bet_drift_lines(spec)
    published = []
    for days in spec.reviews:
        label = spec_module.format_duration(days)
        verdict = publish.current(output, spec.id, label) or {}
        with contextlib.suppress(AttributeError, KeyError, TypeError, ValueError):
            published.append((_instant(verdict["run"]["started_at"]), label))
    for amendment in registration.amendments:
        at = _instant(amendment["at"])
        after = [label for started, label in sorted(published) if started <= at]
        if after:
            lines.append(
                f"{spec.id}: amendment {amendment['number']} ({amendment['at']}, reason: "
                f"{amendment['reason']}) came after the {after[0]} verdict was published"
            )
    return lines


def _republish(spec: LaunchSpec, label: str, output: Path, verdict: dict[str, Any]) -> str:
    """The command that publishes a checkpoint again, as it was run (its clock, its folder)."""
    command = f"impact review {spec.path} --checkpoint {label}"
    today = (verdict.get("run") or {}).get("today")
    command += f" --today {today}" if today else ""
    return command + (f" --output-dir {output}" if output != Path(".") else "")


def entries(spec: LaunchSpec, *, today: dt.date, output: Path) -> list[Entry]:
    """The state of each registered checkpoint of a spec on ``today``."""
    found: list[Entry] = []
    decided_by: str | None = None
    dates = [spec.as_of(days).date() for days in spec.reviews]
    labels = [spec_module.format_duration(days) for days in spec.reviews]
    verdicts = [publish.current(output, spec.id, label) for label in labels]
    for position, label in enumerate(labels):
        date = dates[position]
        verdict = verdicts[position]
        reviewed = [labels[k] for k in range(position + 1, len(labels)) if verdicts[k] is not None]
        failed = failure_note(output, spec.id, label)
        later = [
            spec_module.format_duration(spec.reviews[k])
            for k in range(position + 1, len(dates))
            if dates[k] <= today
        ]
        if verdict is not None:
            outcome = str(verdict.get("outcome", "?"))
            override = (verdict.get("run") or {}).get("data_source_override")
            shown = f"{outcome} (on data from {override}, not the spec's)" if override else outcome
            broken = verdict.get("sections_failed") or []
            if broken:
                shown += (
                    f"; team section failed: {message.failed_section(broken[0])}"
                    + (f" and {len(broken) - 1} more" if len(broken) > 1 else "")
                    + f"; fix it, then {_republish(spec, label, output, verdict)}"
                )
            found.append(Entry(spec, label, date, "done", shown))
            if outcome in DECIDING and decided_by is None:
                decided_by = f"{outcome} at {label}"
        elif decided_by is not None:
            found.append(Entry(spec, label, date, "decided", decided_by))
        elif date > today:
            found.append(Entry(spec, label, date, "upcoming", ""))
        elif reviewed:
            found.append(
                Entry(
                    spec,
                    label,
                    date,
                    "superseded",
                    f"not published: {reviewed[0]} was reviewed after it (an interim is "
                    "published late only when it ships or reverts)",
                )
            )
        elif later:
            found.append(
                Entry(
                    spec,
                    label,
                    date,
                    "superseded",
                    f"{later[-1]} is due; checked for an early decision, posted only if it "
                    "ships or reverts",
                )
            )
        elif failed.is_file():
            found.append(Entry(spec, label, date, "failed", failed.read_text().strip()))
        else:
            found.append(Entry(spec, label, date, "due", ""))
    return found


def wanted(found: list[Entry]) -> list[Entry]:
    """What ``impact run --due`` runs: the due and failed reviews, each preceded by the
    superseded interims of its launch (checked first for an early decision)."""
    running = {e.spec.id for e in found if e.state in ("due", "failed")}
    return [
        e
        for e in found
        if e.state in ("due", "failed") or (e.state == "superseded" and e.spec.id in running)
    ]


@dataclass(frozen=True)
class RunRecord:
    """What happened to one due review in ``impact run --due``.

    Attributes:
        spec_id: the launch.
        label: the checkpoint.
        status: done, skipped (done by another run meanwhile), checked (a superseded
            interim that did not decide: nothing kept), decided (an interim checked before
            it decided), not_ready, locked, bad_input, failed or interrupted.
        detail: the outcome (done, checked), the deciding look (decided) or the one-line
            error.
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
    spec_path: str,
    spec_id: str,
    label: str,
    today: str,
    output: str,
    kernel: str | None = None,
    notify: bool = False,
    report_url: str | None = None,
    check: bool = False,
) -> RunRecord:
    """Run one scheduled review; every outcome becomes a record, never an exception.

    A module-level function, so worker processes can run it. With ``notify`` the verdict's
    message is published into the outbox with its files. With ``check`` (a superseded
    interim), the verdict is published only when it ships or reverts.
    """
    # Imported here, so that listing reviews (impact due) never loads the notebook stack.
    from impact import runner

    outcomes: list[str] = []

    def deciding(verdict: dict[str, Any]) -> bool:
        outcomes.append(str(verdict.get("outcome")))
        return outcomes[-1] in DECIDING

    try:
        published = runner.review(
            spec_path,
            checkpoint=label,
            today=today,
            output_dir=output,
            only_if_missing=True,
            kernel_name=kernel,
            notify=notify,
            report_url=report_url,
            publish_if=deciding if check else None,
            index=False,  # rebuilt once by `impact run --due`, after every review
        )
    except DataNotReady as error:
        return RunRecord(spec_id, label, "not_ready", str(error), error.exit_code)
    except ReviewLocked as error:
        return RunRecord(spec_id, label, "locked", str(error), error.exit_code)
    except ReviewInterrupted as error:
        return RunRecord(spec_id, label, "interrupted", str(error), error.exit_code)
    except ReviewFailed as error:
        return RunRecord(spec_id, label, "failed", str(error), error.exit_code)
    except ImpactError as error:
        return RunRecord(spec_id, label, "bad_input", str(error), error.exit_code)
    except KeyboardInterrupt:
        return RunRecord(
            spec_id,
            label,
            "interrupted",
            "before publishing: nothing was published",
            EXIT_INTERRUPTED,
        )
    except RecursionError:
        return RunRecord(spec_id, label, "bad_input", f"{spec_path}: {_TOO_DEEP}", EXIT_BAD_INPUT)
    except Exception as error:  # a bug, or a library's error no check caught: this review only
        return RunRecord(
            spec_id, label, "failed", f"{spec_id} {label}: {_one_line(error)}", EXIT_FAILED
        )
    if published is None and outcomes:
        detail = (
            f"superseded: {outcomes[-1]}, no early decision, not published; the later look runs"
        )
        return RunRecord(spec_id, label, "checked", detail, 0)
    if published is None:
        return RunRecord(spec_id, label, "skipped", "done by another run", 0)
    verdict = published.verdict
    text = message.markdown(verdict, outbox.report_link(spec_id, label, report_url))
    if published.sections_failed:
        cells = "; ".join(message.failed_section(b) for b in published.sections_failed)
        detail = f"{verdict['outcome']}; team section failed: {cells}"
        return RunRecord(verdict["spec_id"], label, "done", detail, EXIT_SECTION_FAILED, text)
    return RunRecord(verdict["spec_id"], label, "done", verdict["outcome"], 0, text)


def run_due(
    wanted: list[Entry],
    *,
    today: dt.date,
    output: Path,
    jobs: int,
    kernel: str | None = None,
    notify: bool = False,
    report_url: str | None = None,
) -> Iterator[RunRecord]:
    """Run the wanted reviews in ``jobs`` worker processes, yielding records as they finish.

    The reviews of one launch run in order in one worker: its superseded interims are
    checked first (``run_one`` with ``check``), and once one ships or reverts the later
    looks are decided, not run. One failing review (or a worker that dies) never stops the
    other launches; each review holds its own lock, so two schedulers never run the same
    review twice. With ``kernel``, each notebook runs in a fresh Jupyter kernel of that name
    rather than in the worker.

    Raises:
        KeyboardInterrupt: SIGINT or SIGTERM came; the records of the reviews that stopped
            (or finished publishing) are yielded first, and no further review starts.
    """
    chains: dict[str, list[tuple[Any, ...]]] = {}
    for e in wanted:
        chains.setdefault(e.spec.id, []).append(
            (
                str(e.spec.path),
                e.spec.id,
                e.label,
                today.isoformat(),
                str(output),
                kernel,
                notify,
                report_url,
                e.state == "superseded",
            )
        )
    tasks = [tuple(chain) for chain in chains.values()]
    if jobs <= 1:
        _share_databases()
        for task in tasks:
            for record in _chain(task):
                yield record
                if record.status == "interrupted" or publish.late_signal():
                    raise stopping.StopSignal
        return
    for index, answer in workers.run(run_chain, tasks, jobs=min(jobs, len(tasks))):
        if isinstance(answer, workers.Died | workers.Raised):
            for call in tasks[index]:
                spec_id, label = call[1], call[2]
                yield RunRecord(
                    spec_id, label, "failed", f"{spec_id} {label}: {answer}", EXIT_FAILED
                )
        else:
            yield from answer


def run_chain(*calls: tuple[Any, ...]) -> list[RunRecord]:
    """The records of one launch's wanted reviews, run in order (for a worker process)."""
    _share_databases()
    return list(_chain(calls))


def _share_databases() -> None:
    """Reviews run one after another in this process share one DuckDB database per data
    source (``impact.sources.duckdb_files.share_databases``), each in its own session."""
    from impact.sources import duckdb_files  # lazy, as runner: impact due stays light

    duckdb_files.share_databases()


def _chain(calls: tuple[tuple[Any, ...], ...]) -> Iterator[RunRecord]:
    """Run one launch's reviews in order: a checked interim that ships or reverts decides
    the later looks; one that another run holds leaves them for the next run."""
    for position, call in enumerate(calls):
        if stopping.requested():  # a stop signal came, though its KeyboardInterrupt was lost
            yield RunRecord(call[1], call[2], "interrupted", "before it started", EXIT_INTERRUPTED)
            return
        record = run_one(*call)
        yield record
        if record.status == "interrupted":
            return
        spec_id, label, output, check = call[1], call[2], Path(call[4]), call[8]
        if not check:
            continue
        verdict = publish.current(output, spec_id, label) or {}
        outcome = str(verdict.get("outcome", ""))
        if outcome in DECIDING or record.status == "locked":
            for rest in calls[position + 1 :]:
                if outcome in DECIDING:
                    yield RunRecord(spec_id, rest[2], "decided", f"{outcome} at {label}", 0)
                else:
                    yield RunRecord(
                        spec_id,
                        rest[2],
                        "locked",
                        f"{spec_id} {rest[2]}: waits for {label}, which another run holds",
                        record.exit_code,
                    )
            return


def save_listing(output: Path, found: list[Entry], *, today: dt.date) -> None:
    """Keep what the scheduler saw in ``reports/schedule.json`` for the portfolio page."""
    path = output / "reports" / "schedule.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    listing = {"today": today.isoformat(), "reviews": [entry.to_json() for entry in found]}
    staged = path.with_name(f".schedule.{os.getpid()}.json")
    staged.write_text(json.dumps(listing, indent=2) + "\n", encoding="utf-8")
    os.replace(staged, path)
