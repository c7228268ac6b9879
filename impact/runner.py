"""Run a review notebook with papermill, extract its verdict, export HTML, publish atomically.

The runner knows nothing about statistics: it checks the inputs (``review.prepare`` or
``prepost.prepare``), runs the design's template into a private folder (in this process
with ``impact.engine``, the notebook taking the checked inputs over through
``impact.handover``; or in a fresh Jupyter kernel), reads the verdict payload the template
displays, validates it against ``impact/schemas/verdict.v1.json``, exports the report with
nbconvert and moves the files into place:

    notebooks/<id>/<N>d.ipynb      the executed notebook
    reports/<id>/<N>d.html         the report
    reports/<id>/<N>d.json         verdict.json
    reports/<id>/<N>d.md           verdict.md: a few lines for Slack or email

The four files are published as one unit (``impact.publish``); previous files of the same
checkpoint move to ``<N>d.history/``. A failed run keeps its
notebook under ``notebooks/<id>/failed/`` with an error report beside it, and never touches
the last good report.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import papermill
from jupyter_client.manager import AsyncKernelManager
from traitlets import default

from impact import (
    adoption_review,
    engine,
    export,
    handover,
    message,
    outbox,
    portfolio,
    preflight,
    prepost,
    publish,
    seal,
    settings,
    team_sections,
    team_templates,
)
from impact import review as review_module
from impact.ahead import Ahead
from impact.errors import (
    DataError,
    DataNotReady,
    ImpactError,
    RegistrationError,
    ReviewFailed,
    ReviewInterrupted,
    ReviewLocked,
    SpecError,
)
from impact.export import export_html, extract, shown_once, validate_verdict
from impact.layout import RUNS_FOLDER, failure_note
from impact.spec import LaunchSpec
from impact.verdict import Look

__all__ = [
    "Published",
    "export_html",
    "extract",
    "review",
    "validate_verdict",
]

KERNEL_LOG = "kernel.log"
CELL_TIMEOUT = 600  # seconds per cell
# Errors raised inside a notebook that mean bad input rather than a failure.
_INPUT_ERRORS: dict[str, type[ImpactError]] = {
    "SpecError": SpecError,
    "DataError": DataError,
    "DataNotReady": DataNotReady,
    "RegistrationError": RegistrationError,
}


@dataclass(frozen=True)
class Published:
    """Where a finished review's files are.

    Attributes:
        notebook: the executed notebook.
        report: the HTML report.
        verdict_path: verdict.json.
        summary: verdict.md, a few lines for Slack or email.
        verdict: the verdict payload.
        sections_failed: a team template's own cells that failed (``{"cell", "ename",
            "evalue"}``): the report shows a "this section failed" block for each.
    """

    notebook: Path
    report: Path
    verdict_path: Path
    summary: Path
    verdict: dict[str, Any]
    sections_failed: list[dict[str, Any]] = field(default_factory=list)


class _LocalKernelManager(AsyncKernelManager):
    """A kernel on IPC sockets (no TCP ports to collide with parallel runs, nothing on the
    network) whose own log goes to ``kernel.log`` in the run folder, not the user's terminal."""

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        folder = Path(kw.get("cwd") or ".")
        log = (folder / KERNEL_LOG).open("ab")
        try:
            kw["stdout"] = kw["stderr"] = log
            await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            log.close()  # the kernel holds its own copy of the descriptor


_templates = export.templates  # the name other modules (quarter_run) use


def _stopped(executed: Path, error: papermill.PapermillExecutionError) -> tuple[str, str, str]:
    """Where a run stopped, in words, and its error (``team_sections.stopped_at``; papermill
    names the first error of any cell, also a failed section's)."""
    try:
        stopped = team_sections.stopped_at(nbformat.read(executed, as_version=4))
    except (OSError, ValueError):
        stopped = None
    if stopped is not None:
        return stopped
    return f"cell {error.cell_index + 1} (counting from 1)", str(error.ename), str(error.evalue)


def review(
    spec_path: str | Path,
    *,
    checkpoint: str | None = None,
    today: str | dt.date | None = None,
    output_dir: str | Path = ".",
    data_source: str | None = None,
    kernel_name: str | None = None,
    timeout: int = CELL_TIMEOUT,
    clock: dt.datetime | None = None,
    only_if_missing: bool = False,
    notify: bool = False,
    report_url: str | None = None,
    publish_if: Callable[[dict[str, Any]], bool] | None = None,
    index: bool = True,
    checks: Ahead[preflight.Checked] | None = None,
) -> Published | None:
    """Run one review end to end and publish its notebook, report and verdict.json.

    The notebook runs in this process (``impact.engine``); with ``kernel_name`` (or inside
    another IPython shell, such as JupyterLab's) it runs in a fresh Jupyter kernel of that
    name instead. With ``only_if_missing`` (scheduled runs), a checkpoint whose verdict.json
    exists once the review's lock is held is not run again, and None is returned. With
    ``notify``, the verdict's message (its link under ``report_url``) is published with the
    files into the outbox (``impact.outbox``). With ``publish_if``, the verdict is published
    only when ``publish_if(verdict)`` is true, asked of the library's review before the
    notebook runs: otherwise no notebook runs, nothing is kept (the scheduler's check of a
    superseded interim for an early decision) and None is returned.
    With ``index`` False, ``reports/index.html`` is left for the caller to rebuild once (the
    scheduler does, after all its reviews). ``checks`` are the review's checks when the
    caller started them already (``preflight.start``, with the same arguments): the command
    line does, before it imports this module.

    Raises:
        SpecError, DataError, RegistrationError: bad input or data not ready (exit 2).
        ReviewFailed: the notebook failed; its notebook and an error report are kept.
    """
    started = clock or dt.datetime.now(dt.UTC)
    day = review_module.parse_today(today)
    in_process = engine.runs_here(kernel_name)
    checks = checks or preflight.start(
        str(spec_path), checkpoint, day, data_source, Path(output_dir), metrics_ahead=in_process
    )
    try:
        if in_process:  # while the checks run, what the notebook and its export will need
            from impact import display  # noqa: F401  (loaded now, used by the notebook)
        spec, look, checked, close = checks.result()
    except BaseException:
        checks.abandon()
        raise
    try:
        template = team_templates.find(spec) or _templates() / f"{spec.design}.ipynb"
        team_templates.check(template, spec)
        look_of_report = settings.report_look(spec.path.parent)
    except BaseException:
        close()
        raise
    parameters = {
        "spec_path": str(Path(spec_path).absolute()),
        "checkpoint": look.label,
        "today": day.isoformat(),
        "data_source": str(Path(data_source).absolute()) if data_source else None,
    }
    if kernel_name is None and not in_process:
        kernel_name = "python3"  # inside JupyterLab's kernel: run the notebook beside it
    handed: contextlib.AbstractContextManager[None]
    if kernel_name is None:
        handed = handover.offered(checked, close, parameters)
    else:
        close()  # the kernel checks for itself; a DuckDB file stays free for it
        handed = contextlib.nullcontext()
    output = Path(output_dir)
    stamp = started.strftime("%Y%m%dT%H%M%S") + f"-{uuid.uuid4().hex[:6]}"
    with handed, _review_lock(output, spec.id, look.label):
        if kernel_name is None:
            export.warm()  # while the metric query runs ahead
        if only_if_missing and publish.current(output, spec.id, look.label) is not None:
            return None
        if publish_if is not None and not publish_if(review_again(spec, parameters, output)):
            return None  # the library's verdict decides; no notebook, charts or export
        note = failure_note(output, spec.id, look.label)
        sending = (notify, report_url)
        try:
            published = _run(
                spec,
                look,
                (template, look_of_report),
                parameters,
                output,
                stamp,
                kernel_name,
                timeout,
                sending,
                publish_if,
            )
        except ReviewFailed as error:
            if not isinstance(error, ReviewInterrupted):
                with contextlib.suppress(OSError):
                    note.parent.mkdir(parents=True, exist_ok=True)
                    note.write_text(f"{error}\n", encoding="utf-8")
            raise
        note.unlink(missing_ok=True)
    if index:
        portfolio.write(output, today=day, look=look_of_report)
    return published


@contextlib.contextmanager
def _review_lock(output: Path, spec_id: str, label: str) -> Iterator[None]:
    """Hold ``.impact-runs/<id>-<N>d.lock`` for the run; another holder means exit 3.

    The lock is an advisory ``flock`` on a file in the output folder: the kernel releases it
    when the process ends, so a crashed run never leaves a stale lock behind.
    """
    path = publish.lock_file(output, spec_id, label)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a")
    except OSError as error:
        raise ReviewFailed(
            f"{path.parent}: cannot write in the output folder ({error.strerror}); choose a "
            "writable --output-dir"
        ) from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ReviewLocked(
                f"{spec_id} {label}: another run of this review is under way (lock "
                f"{handle.name}); wait for it to finish"
            ) from None
        yield
    finally:
        handle.close()


def _run(
    spec: LaunchSpec,
    look: Look,
    templates: tuple[Path, settings.ReportLook],
    parameters: dict[str, str | None],
    output: Path,
    stamp: str,
    kernel_name: str | None,
    timeout: int,
    sending: tuple[bool, str | None] = (False, None),
    publish_if: Callable[[dict[str, Any]], bool] | None = None,
) -> Published | None:
    """Run the template with ``parameters`` (in this process, or in a kernel), then publish
    (unless ``publish_if`` refuses the verdict: then None, and nothing is kept)."""
    template = templates[0]
    run_dir = output / RUNS_FOLDER / f"{spec.id}-{look.label}-{stamp}"
    run_dir.mkdir(parents=True)
    executed = run_dir / f"{look.label}.ipynb"
    where: dict[str, Any] = (
        {"engine_name": engine.NAME}
        if kernel_name is None
        else {  # the kernel starts in the run folder and logs there
            "kernel_name": kernel_name,
            "kernel_manager_class": _LocalKernelManager,
            "cwd": str(run_dir),
        }
    )
    seal.clear(parameters)  # only what this run's review issues counts
    try:
        try:
            notebook = papermill.execute_notebook(
                team_sections.may_fail(template) if spec.template is not None else str(template),
                str(executed),
                parameters=parameters,
                execution_timeout=timeout,
                progress_bar=False,
                log_output=False,
                **where,
            )
        except KeyboardInterrupt:
            kept = _keep_failed(executed, output, spec.id, look.label, stamp)
            raise ReviewInterrupted(
                f"{spec.id} {look.label}: interrupted; nothing was published; {_where(kept)}",
                notebook=_kept(kept),
            ) from None
        except papermill.PapermillExecutionError as error:
            # papermill raises once every cell ran, for any error output, also in a cell
            # tagged raises-exception; such cells alone are failed sections, not a failure
            sections_only = team_sections.only_sections_failed(executed)
            if sections_only is None:
                place, ename, evalue = _stopped(executed, error)
                kept = _keep_failed(executed, output, spec.id, look.label, stamp)
                if ename in _INPUT_ERRORS:
                    raise _INPUT_ERRORS[ename](evalue) from None
                raise ReviewFailed(
                    f"{spec.id} {look.label}: the review failed in {place}: {ename}: {evalue}; "
                    f"{_where(kept)}",
                    notebook=_kept(kept),
                    cell_index=error.cell_index,
                    ename=ename,
                    evalue=evalue,
                ) from None
            notebook = sections_only  # only team sections failed: published as usual
        except Exception as error:  # a cell timed out, or a kernel did not start or died
            kept = _keep_failed(executed, output, spec.id, look.label, stamp)
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise ReviewFailed(
                f"{spec.id} {look.label}: the notebook could not run ({type(error).__name__}: "
                f"{first_line}); {_where(kept)}",
                notebook=_kept(kept),
                ename=type(error).__name__,
                evalue=first_line,
            ) from None
        return _checked_and_published(
            notebook,
            spec,
            look,
            templates,
            parameters,
            output,
            run_dir,
            executed,
            stamp,
            kernel_name,
            sending,
            publish_if,
        )
    finally:
        if not (run_dir / publish.JOURNAL).exists():  # else the next start finishes it
            shutil.rmtree(run_dir, ignore_errors=True)


def _checked_and_published(
    notebook: nbformat.NotebookNode,
    spec: LaunchSpec,
    look: Look,
    templates: tuple[Path, settings.ReportLook],
    parameters: dict[str, str | None],
    output: Path,
    run_dir: Path,
    executed: Path,
    stamp: str,
    kernel_name: str | None,
    sending: tuple[bool, str | None],
    publish_if: Callable[[dict[str, Any]], bool] | None,
) -> Published | None:
    """Read the verdict an executed notebook displayed, check it is the library's, and
    publish it (unless ``publish_if`` refuses it)."""
    template, look_of_report = templates
    try:
        verdict = extract(notebook)
        _the_librarys(notebook, verdict, spec, template, parameters, kernel_name, output)
    except ReviewFailed as error:
        kept = _keep_failed(executed, output, spec.id, look.label, stamp)
        raise ReviewFailed(
            f"{error}; nothing was published; {_where(kept)}", notebook=_kept(kept)
        ) from None
    verdict = {**verdict, "sections_failed": team_sections.failed(notebook)}  # [] when none
    if publish_if is not None and not publish_if(verdict):
        return None
    notebook.metadata["title"] = f"{spec.title} · {look.label} review"
    try:
        published = _stage_and_publish(
            notebook,
            verdict,
            executed,
            run_dir,
            output,
            spec.id,
            look.label,
            stamp,
            sending,
            look_of_report,
        )
    except OSError as error:
        raise ReviewFailed(
            f"{spec.id} {look.label}: could not write the review's files ({error.strerror}: "
            f"{error.filename}); free space or choose another --output-dir. Earlier "
            "reports are kept, in place or in <N>d.history/"
        ) from None
    return published


def _the_librarys(
    notebook: nbformat.NotebookNode,
    verdict: dict[str, Any],
    spec: LaunchSpec,
    template: Path,
    parameters: dict[str, str | None],
    kernel_name: str | None,
    output: Path,
) -> None:
    """Check that the payload a notebook displayed is the library's review of this spec,
    checkpoint and clock, displayed once, from the template that ran.

    In this process, the review functions recorded what they issued (``impact.seal``); a
    notebook run in a kernel issues nothing here, so a team template's review is run again
    and compared, when it started and how long it took aside.

    Raises:
        ReviewFailed: the payload is another one, or is shown more than once.
    """
    where = f"{spec.id} {parameters['checkpoint']}: the template {template.name}"
    shown_once(notebook, where)
    ran = team_templates.sha256(template)
    if spec.template is not None and (verdict.get("template") or {}).get("sha256") != ran:
        raise ReviewFailed(
            f"{where} changed while it ran (its payload names another template than the "
            f"one run, sha256 {ran[:12]}); run the review again"
        )
    if kernel_name is None:
        issued = seal.take(parameters)
        if verdict in issued:
            return
        expected = issued[-1] if issued else None
    elif spec.template is not None:
        expected = review_again(spec, parameters, output)
        if seal.volatile_removed(verdict) == seal.volatile_removed(expected):
            return
    else:
        return  # a built-in template in a kernel: nothing but the library's cells ran
    raise ReviewFailed(f"{where} {what_differs(verdict, expected, parameters)}")


def review_again(
    spec: LaunchSpec, parameters: dict[str, str | None], output: Path | None
) -> dict[str, Any]:
    """The library's review with a notebook's parameters, run here (for a kernel's run, and
    for ``impact extract``); ``output`` None finds earlier looks' verdicts as a template does."""
    spec_path = parameters["spec_path"]
    assert spec_path is not None
    arguments = (
        spec_path,
        parameters["checkpoint"],
        parameters["today"],
        parameters["data_source"],
    )
    if spec.design == "prepost":
        return prepost.run(*arguments).to_json()
    if spec.design == "adoption":
        return adoption_review.run(*arguments).to_json()
    return review_module.run(*arguments, output_dir=output).to_json()


def what_differs(
    shown: dict[str, Any], expected: dict[str, Any] | None, parameters: dict[str, str | None]
) -> str:
    """How a displayed payload differs from the library's review, in words."""
    if expected is None:
        return (
            "displayed a verdict payload, but the library's review of this spec, checkpoint "
            f"and clock ({parameters['checkpoint']}, today {parameters['today']}) never ran "
            "with the notebook's parameters; the verdict cell must call the review with "
            "spec_path, checkpoint, today and data_source as they are"
        )
    clocks = [(payload.get("run") or {}).get("today") for payload in (shown, expected)]
    for words, (theirs, ours) in (
        ("spec", (shown.get("spec_id"), expected.get("spec_id"))),
        ("checkpoint", (shown.get("checkpoint"), expected.get("checkpoint"))),
        ("clock (today)", (clocks[0], clocks[1])),
        ("outcome", (shown.get("outcome"), expected.get("outcome"))),
        ("action", (shown.get("action"), expected.get("action"))),
    ):
        if theirs != ours:
            return (
                f"displayed a verdict that is not the library's review of this spec, "
                f"checkpoint and clock: {words} {theirs!r} where the review found "
                f"{ours!r}; display.payload(result) must show the result the "
                "review returned, unchanged"
            )
    return (
        "displayed a verdict that is not the library's review of this spec, checkpoint and "
        "clock: its numbers or reasons differ from the review's; display.payload(result) "
        "must show the result the review returned, unchanged"
    )


def _stage_and_publish(
    notebook: nbformat.NotebookNode,
    verdict: dict[str, Any],
    executed: Path,
    run_dir: Path,
    output: Path,
    spec_id: str,
    label: str,
    stamp: str,
    sending: tuple[bool, str | None],
    look_of_report: settings.ReportLook | None = None,
) -> Published:
    """Write the report, verdict.json and verdict.md (and the message) in the run folder,
    then publish the set as one unit (``impact.publish``)."""
    html = run_dir / f"{label}.html"
    html.write_text(export_html(team_sections.shown(notebook), look_of_report), encoding="utf-8")
    verdict_file = run_dir / f"{label}.json"
    verdict_file.write_text(
        json.dumps(verdict, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
        encoding="utf-8",
    )
    summary = run_dir / f"{label}.md"
    summary.write_text(message.markdown(verdict, f"{label}.html") + "\n", "utf-8")
    export.for_its_folder(notebook, verdict, output / "notebooks" / spec_id)
    nbformat.write(notebook, executed)
    notify, report_url = sending
    staged = publish.Staged(
        run_dir=run_dir,
        spec_id=spec_id,
        label=label,
        stamp=stamp,
        files={"notebook": executed, "report": html, "verdict": verdict_file, "summary": summary},
        verdict=verdict,
        message=outbox.stage(run_dir, verdict, stamp=stamp, report_url=report_url)
        if notify
        else None,
    )
    places = publish.publish(staged, output)
    return Published(
        notebook=places["notebook"],
        report=places["report"],
        verdict_path=places["verdict"],
        summary=places["summary"],
        verdict=verdict,
        sections_failed=list(verdict.get("sections_failed", [])),
    )


def _keep_failed(
    executed: Path, output: Path, spec_id: str, label: str, stamp: str
) -> Path | str | None:
    """Move a failed notebook under notebooks/<id>/failed/ with an error report beside it.

    Returns where it is kept; None when no notebook was written; or, when it cannot be kept
    (a full disk, an unwritable folder), why, so that the review's own error is still the
    one line reported.
    """
    if not executed.exists():
        return None
    failed = output / "notebooks" / spec_id / "failed"
    try:
        failed.mkdir(parents=True, exist_ok=True)
        kept = failed / f"{label}-{stamp}.ipynb"
        shutil.move(executed, kept)
        log = executed.parent / KERNEL_LOG
        if log.exists():
            shutil.move(log, kept.with_suffix(".kernel.log"))
    except OSError as error:
        return (
            f"the notebook could not be kept under {failed} ({error.strerror or error}); "
            "free space or choose a writable --output-dir"
        )
    try:
        report = export.error_html(nbformat.read(kept, as_version=4))
        kept.with_suffix(".html").write_text(report, encoding="utf-8")
    except Exception as error:  # the error report is a courtesy; the notebook is kept
        with contextlib.suppress(OSError):
            kept.with_suffix(".txt").write_text(f"error report failed: {error}\n")
    return kept


def _where(kept: Path | str | None) -> str:
    if kept is None:
        return "no notebook was written (the kernel did not start)"
    if isinstance(kept, str):
        return kept
    return f"notebook kept at {kept}"


def _kept(kept: Path | str | None) -> Path | None:
    return kept if isinstance(kept, Path) else None
