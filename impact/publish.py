"""Publishing a checkpoint's four files as one unit, and repairing a set a crash tore.

A checkpoint's set is its notebook, report, verdict.json and verdict.md. They are written in
the review's private run folder (``.impact-runs/<id>-<N>d-<time>/``) and published in steps:

    staged      the four files (and the notification message, when there is one) are complete
    journal     ``publish.json`` is written in the run folder: the commit point. A crash
                before it publishes nothing; a crash after it is finished at the next start
    notebook, report, verdict, summary
                each earlier file is linked into ``<N>d.history/``, the new one renamed in place
    outbox      the message moves into ``reports/.outbox/`` (see ``impact.outbox``)
    manifest    ``reports/<id>/<N>d.manifest`` is replaced: the set now current, with the
                sha256 of each file and the verdict. ``impact due``, ``impact run --due`` and
                the portfolio read the verdict from it, so they see the old set or the new one
    cleanup     the run folder is removed

``repair`` runs at the start of ``impact due`` and ``impact run --due``: for every run folder
whose review lock nobody holds (its process is gone) it finishes a journalled publish (rolled
forward) or removes the folder (nothing was published), and it rolls back a set without a
manifest whose files are incomplete. Each repair is one line of its report.

The environment variable ``IMPACT_TEST_FAULT=<step>[:pause]`` makes the publisher kill itself
with SIGKILL (or pause 30 s, for signal tests) right after the named step: the tests use it to
crash a review between renames. One more step is before any publish: ``checks``, once a
review's checks passed on their helper thread (``impact.preflight``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from impact import stopping
from impact.layout import RUNS_FOLDER, manifest_path, verdict_path

__all__ = [
    "FAULT_VARIABLE",
    "STEPS",
    "Staged",
    "commit",
    "current",
    "late_signal",
    "lock_file",
    "publish",
    "repair",
    "review_lock",
    "stamps",
]

FAULT_VARIABLE = "IMPACT_TEST_FAULT"
JOURNAL = "publish.json"
STEPS = (
    "staged",
    "journal",
    "notebook",
    "report",
    "verdict",
    "summary",
    "outbox",
    "manifest",
    "cleanup",
)
KINDS = ("notebook", "report", "verdict", "summary")


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_deferred: list[int] = []  # signals caught while a publish held them
_late: list[int] = []  # signals caught after a commit point: the set was published anyway


def fault(step: str, spec_id: str) -> None:
    """The fault-injection hook: die (or pause) right after ``step`` when asked to.

    ``IMPACT_TEST_FAULT=<step>`` kills this process with SIGKILL; ``<step>:pause`` writes
    this process's id to the file named by ``IMPACT_TEST_FAULT_MARKER`` (when set) and waits
    up to ``IMPACT_TEST_FAULT_SECONDS`` (default 20) or until a stop signal comes. A suffix
    ``@<id>`` limits the fault to that launch.
    """
    wanted, _, only = os.environ.get(FAULT_VARIABLE, "").partition("@")
    name, _, action = wanted.partition(":")
    if name != step or (only and only != spec_id):
        return
    if action == "pause":
        marker = os.environ.get(f"{FAULT_VARIABLE}_MARKER")
        if marker:
            Path(marker).write_text(f"{os.getpid()}\n", encoding="utf-8")
        until = time.monotonic() + float(os.environ.get(f"{FAULT_VARIABLE}_SECONDS", "20"))
        while time.monotonic() < until and not _deferred and not stopping.requested():
            time.sleep(0.05)
        return
    os.kill(os.getpid(), signal.SIGKILL)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM (in the main thread) while a set is published: they are
    recorded, not raised, so a publish is either not begun or finished."""
    _deferred.clear()
    if threading.current_thread() is not threading.main_thread():
        yield _deferred
        return

    def note(signum: int, frame: object) -> None:
        _deferred.append(signum)

    previous = {number: signal.signal(number, note) for number in STOP_SIGNALS}
    try:
        yield _deferred
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def late_signal() -> bool:
    """Whether a stop signal came while a set was being published (after its commit point):
    the caller stops before its next review. Reading it clears it."""
    came = bool(_late)
    _late.clear()
    return came


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def destinations(output: Path, spec_id: str, label: str) -> dict[str, Path]:
    """Where each file of a checkpoint's set is published."""
    reports = output / "reports" / spec_id
    return {
        "notebook": output / "notebooks" / spec_id / f"{label}.ipynb",
        "report": reports / f"{label}.html",
        "verdict": verdict_path(output, spec_id, label),
        "summary": reports / f"{label}.md",
    }


@dataclass(frozen=True)
class Staged:
    """A checkpoint's complete set in its run folder, ready to publish.

    Attributes:
        run_dir: the private run folder.
        spec_id: the launch.
        label: the checkpoint.
        stamp: the run's time stamp (names history copies).
        files: the staged file of each kind (notebook, report, verdict, summary).
        verdict: the verdict payload.
        message: the notification staged beside them (``impact.outbox``), or None.
    """

    run_dir: Path
    spec_id: str
    label: str
    stamp: str
    files: dict[str, Path]
    verdict: dict[str, Any]
    message: Path | None = None


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with staged.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staged, path)


def commit(staged: Staged, output: Path) -> None:
    """Write the journal: from here on the set is published, even if this process dies."""
    journal = {
        "spec_id": staged.spec_id,
        "label": staged.label,
        "stamp": staged.stamp,
        "output": str(output.absolute()),
        "files": {
            kind: {"staged": path.name, "sha256": _sha256(path)}
            for kind, path in staged.files.items()
        },
        "message": staged.message.name if staged.message else None,
        "verdict": staged.verdict,
    }
    _write_atomic(staged.run_dir / JOURNAL, json.dumps(journal, ensure_ascii=False) + "\n")
    fault("journal", staged.spec_id)


def _move_in(staged: Path, destination: Path, stamp: str) -> None:
    """Rename ``staged`` onto ``destination``, its earlier version linked into history first.

    Idempotent, so that a publish a crash interrupted can be finished: a staged file already
    moved is skipped, and a history copy already made is not made again.
    """
    if not staged.exists():
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.exists():
        history = destination.parent / f"{destination.stem}.history"
        history.mkdir(exist_ok=True)
        kept = history / f"{stamp}{destination.suffix}"
        if not kept.exists():
            try:
                os.link(destination, kept)
            except OSError:
                shutil.copy2(destination, kept)
    os.replace(staged, destination)


def _finish(run_dir: Path, journal: dict[str, Any]) -> None:
    """Steps after the journal: rename each file in place, the message, the manifest, cleanup."""
    from impact import outbox  # a module of its own; it imports nothing of publishing

    output = Path(journal["output"])
    spec_id, label, stamp = journal["spec_id"], journal["label"], journal["stamp"]
    places = destinations(output, spec_id, label)
    for kind in KINDS:
        _move_in(run_dir / journal["files"][kind]["staged"], places[kind], stamp)
        fault(kind, spec_id)
    if journal.get("message"):
        outbox.post(output, run_dir / journal["message"])
    fault("outbox", spec_id)
    manifest = {
        "spec_id": spec_id,
        "checkpoint": label,
        "stamp": stamp,
        "files": {
            kind: {
                "path": places[kind].relative_to(output).as_posix(),
                "sha256": journal["files"][kind]["sha256"],
            }
            for kind in KINDS
        },
        "verdict": journal["verdict"],
    }
    _write_atomic(
        manifest_path(output, spec_id, label),
        json.dumps(manifest, indent=1, ensure_ascii=False) + "\n",
    )
    fault("manifest", spec_id)
    shutil.rmtree(run_dir, ignore_errors=True)
    fault("cleanup", spec_id)


def publish(staged: Staged, output: Path) -> dict[str, Path]:
    """Publish a staged set as one unit (journal, renames, outbox, manifest); its paths.

    Raises:
        KeyboardInterrupt: SIGINT or SIGTERM came before the commit point: nothing was
            published. One that comes after it is noted (``late_signal``) and the set is
            published whole.
    """
    with _signals_deferred() as caught:
        fault("staged", staged.spec_id)
        stopped = bool(caught) or stopping.requested()  # a signal Python dropped included
        if not stopped:
            commit(staged, output)
            journal = json.loads((staged.run_dir / JOURNAL).read_text(encoding="utf-8"))
            _finish(staged.run_dir, journal)
            _late.extend(caught)
            caught.clear()
    if stopped:
        raise stopping.StopSignal
    return destinations(output, staged.spec_id, staged.label)


def current(output: Path, spec_id: str, label: str) -> dict[str, Any] | None:
    """The published verdict of a checkpoint, or None when it has none.

    Read from the manifest (the set made current last); a verdict.json published before
    manifests existed is read as it is.
    """
    for path in (manifest_path(output, spec_id, label), verdict_path(output, spec_id, label)):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, ValueError):
            return {"outcome": "unreadable verdict.json"}
        if not isinstance(document, dict):
            return {"outcome": "unreadable verdict.json"}
        verdict = document.get("verdict", document) if path.suffix == ".manifest" else document
        return verdict if isinstance(verdict, dict) else {"outcome": "unreadable verdict.json"}
    return None


def stamps(output: Path) -> dict[tuple[str, str], str]:
    """The stamp of every checkpoint's published set, by (launch, checkpoint): comparing two
    readings tells exactly which sets were published in between."""
    found: dict[tuple[str, str], str] = {}
    for path in sorted((output / "reports").glob("*/*.manifest")):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            document = json.loads(path.read_text(encoding="utf-8"))
            found[(path.parent.name, path.stem)] = str(document["stamp"])
    return found


def lock_file(output: Path, spec_id: str, label: str) -> Path:
    """The review's lock: ``.impact-runs/<id>-<N>d.lock``."""
    return output / RUNS_FOLDER / f"{spec_id}-{label}.lock"


@contextlib.contextmanager
def review_lock(output: Path, spec_id: str, label: str) -> Iterator[bool]:
    """Try the review's lock without waiting; yields whether it is held.

    An advisory ``flock``: the kernel releases it when the holder dies, so a crash never
    leaves a lock behind.
    """
    path = lock_file(output, spec_id, label)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def _run_folders(output: Path) -> list[tuple[Path, str, str]]:
    """Run folders with the review they belong to: (folder, spec id, checkpoint)."""
    found: list[Any] = []
    root = output / RUNS_FOLDER
    if not root.is_dir():
        return found
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        journal = folder / JOURNAL
        if journal.is_file():
            with contextlib.suppress(OSError, ValueError):
                document = json.loads(journal.read_text(encoding="utf-8"))
                found.append((folder, str(document["spec_id"]), str(document["label"])))
                continue
        # <id>-<N>d-<YYYYmmddTHHMMSS>-<hex>: the id may hold dashes, the rest cannot
        parts = folder.name.rsplit("-", 3)
        if len(parts) == 4 and parts[1].endswith("d"):
            found.append((folder, parts[0], parts[1]))
    return found


def repair(output: Path) -> list[str]:
    """Finish or roll back what crashed runs left; one line per repair.

    Run folders whose review lock is free belong to dead processes: a journalled publish is
    finished, any other folder removed. A published set without a manifest (from an earlier
    impact, or a hand copy) is adopted when all four files are there, and rolled back into
    ``<N>d.history/`` when some are missing.
    """
    said: list[str] = []
    for folder, spec_id, label in _run_folders(output):
        with review_lock(output, spec_id, label) as held:
            if not held or not folder.exists():
                continue  # a live run owns it
            journal_path = folder / JOURNAL
            journal: dict[str, Any] | None = None
            with contextlib.suppress(OSError, ValueError):
                journal = json.loads(journal_path.read_text(encoding="utf-8"))
            if journal is not None:
                journal["output"] = str(output.absolute())  # the folder may have moved
                _finish(folder, journal)
                said.append(
                    f"{spec_id} {label}: a run that crashed while publishing was finished "
                    f"(rolled forward to its {journal['verdict'].get('outcome')} set)"
                )
            else:
                shutil.rmtree(folder, ignore_errors=True)
                said.append(
                    f"{spec_id} {label}: removed {RUNS_FOLDER}/{folder.name}, left by a run "
                    "that stopped before publishing"
                )
    said.extend(_adopt_or_roll_back(output))
    return said


def _verify(output: Path, spec_id: str, label: str) -> list[str]:
    """Check a manifest's files; put back from history any that a lost publish replaced.

    (A run whose machine vanished mid-publish, its journal with it, leaves the old manifest
    and some new files: each old file is in ``<N>d.history/``, found by its hash.)
    """
    path = manifest_path(output, spec_id, label)
    with review_lock(output, spec_id, label) as held:
        if not held:
            return []
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            files = {kind: manifest["files"][kind] for kind in KINDS}
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)
            return [
                f"{spec_id} {label}: an unreadable manifest was removed; the set is checked again"
            ]
        said = []
        for item in files.values():
            place = output / item["path"]
            if place.is_file() and _sha256(place) == item["sha256"]:
                continue
            history = place.parent / f"{place.stem}.history"
            match = next(
                (
                    old
                    for old in sorted(history.glob(f"*{place.suffix}"), reverse=True)
                    if _sha256(old) == item["sha256"]
                ),
                None,
            )
            if match is not None:
                shutil.copy2(match, place.with_name(f".{place.name}.restore"))
                os.replace(place.with_name(f".{place.name}.restore"), place)
                said.append(
                    f"{spec_id} {label}: {place.name} did not match its published set; "
                    f"restored from {history.name}/{match.name} (rolled back)"
                )
            else:
                said.append(
                    f"{spec_id} {label}: {place.name} does not match its published set and no "
                    "copy was found; review it again (impact review --checkpoint)"
                )
        return said


def _adopt_or_roll_back(output: Path) -> list[str]:
    said: list[str] = []
    reports = output / "reports"
    if not reports.is_dir():
        return said
    labels: set[tuple[str, str]] = set()
    for folder in sorted(p for p in reports.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in folder.iterdir():
            stem, _, suffix = path.name.partition(".")
            if suffix in ("html", "json", "md") and stem.endswith("d") and stem[:-1].isdigit():
                labels.add((folder.name, stem))
    for spec_id, label in sorted(labels):
        if manifest_path(output, spec_id, label).exists():
            said.extend(_verify(output, spec_id, label))
            continue
        with review_lock(output, spec_id, label) as held:
            if not held or manifest_path(output, spec_id, label).exists():
                continue
            places = destinations(output, spec_id, label)
            present = {kind: path for kind, path in places.items() if path.is_file()}
            verdict = current(output, spec_id, label)
            if len(present) == len(places) and verdict and "schema_version" in verdict:
                manifest = {
                    "spec_id": spec_id,
                    "checkpoint": label,
                    "stamp": "adopted",
                    "files": {
                        kind: {
                            "path": path.relative_to(output).as_posix(),
                            "sha256": _sha256(path),
                        }
                        for kind, path in places.items()
                    },
                    "verdict": verdict,
                }
                _write_atomic(
                    manifest_path(output, spec_id, label),
                    json.dumps(manifest, indent=1, ensure_ascii=False) + "\n",
                )
                continue
            stamp = f"torn-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}"
            for path in present.values():
                history = path.parent / f"{path.stem}.history"
                history.mkdir(exist_ok=True)
                os.replace(path, history / f"{stamp}{path.suffix}")
            missing = ", ".join(places[k].name for k in places if k not in present)
            said.append(
                f"{spec_id} {label}: a torn report set (missing {missing}) was rolled back "
                f"into {label}.history/; the review is due again"
            )
    return said
