"""``impact quarter``: run the quarter template with papermill and publish its report.

Like every review: the template (``templates/quarter.ipynb``) runs in this process
(``impact.engine``) into a private run folder, the document it displays (MIME
``application/vnd.impact.quarter.v1+json``) is read back, the report is exported with the
same nbconvert template (code hidden, nothing remote), and the set is published as one unit
by ``impact.publish`` under the name ``quarters/<label>``:

    notebooks/quarters/<YYYY>-Q<n>.ipynb    the executed notebook
    reports/quarters/<YYYY>-Q<n>.html       the report
    reports/quarters/<YYYY>-Q<n>.json       every figure of the report
    reports/quarters/<YYYY>-Q<n>.md         a few lines for a post

A period given with --from and --to is named ``<from>_<to>``. Earlier files of the same
period move to ``<label>.history/``; a failed run never touches them, and its notebook is
kept as a failed review's is: ``notebooks/quarters/failed/<label>-<stamp>.ipynb`` with an
error report (``.html``) beside it, named in the error.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import papermill

from impact import engine, export, portfolio, publish, quarter, runner, settings
from impact.errors import ReviewFailed, ReviewInterrupted, ReviewLocked
from impact.layout import RUNS_FOLDER
from impact.report import quarter as sections

__all__ = ["FOLDER", "Published", "run", "warnings"]

FOLDER = "quarters"  # reports/quarters/, notebooks/quarters/


@dataclass(frozen=True)
class Published:
    """Where a quarter's files are, and its document.

    Attributes:
        report: the HTML report.
        document: the ``.json``.
        summary: the ``.md``.
        notebook: the executed notebook.
        data: the document itself.
    """

    report: Path
    document: Path
    summary: Path
    notebook: Path
    data: dict[str, Any]


def warnings(document: dict[str, Any]) -> list[str]:
    """What the command prints after publishing, one line each: the document's warnings (a
    period not started, nothing to judge), and spec files that did not load (a launch of
    theirs may be missing from Pending)."""
    return [*document.get("warnings", [])] + [
        f"{entry['why']} (not loaded: a launch of it not reviewed yet is missing from the "
        "quarter's pending list)"
        for entry in document.get("unloaded") or []
    ]


def _extract(notebook: nbformat.NotebookNode) -> dict[str, Any]:
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if quarter.MIME_TYPE in data:
                return dict(data[quarter.MIME_TYPE])
    raise ReviewFailed(
        f"the quarter notebook displayed no document ({quarter.MIME_TYPE}); its last cell must "
        "display sections.payload(document)"
    )


def _relative_parameters(notebook: nbformat.NotebookNode, folder: Path) -> None:
    """The kept notebook names its folders relative to where it is published."""
    recorded = notebook.metadata.get("papermill", {}).get("parameters", {})
    for name in ("output_dir", "specs_dir"):
        if isinstance(recorded.get(name), str) and Path(recorded[name]).is_absolute():
            recorded[name] = Path(os.path.relpath(recorded[name], folder.absolute())).as_posix()
    for cell in notebook.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = export.relative_parameters(
                cell.source, ("output_dir", "specs_dir"), folder
            )


def run(
    specs_dir: str | Path | None,
    *,
    quarter_label: str | None = None,
    start: str | None = None,
    end: str | None = None,
    today: str | dt.date | None = None,
    output_dir: str | Path = ".",
    kernel_name: str | None = None,
    timeout: int = runner.CELL_TIMEOUT,
) -> Published:
    """Run the quarter template over the published verdicts and publish its files.

    Raises:
        SpecError: a bad period or clock, or no such specs folder (exit 2).
        ReviewLocked: another run of this quarter is under way (exit 3).
        ReviewFailed: the notebook failed (exit 1); the earlier files are kept.
    """
    day = quarter.parse_today(today)
    when = quarter.period(quarter=quarter_label, start=start, end=end, today=day)
    # bad input is exit 2 before any notebook runs
    quarter.review(output_dir, specs_dir, start=str(when.start), end=str(when.end), today=day)
    output = Path(output_dir)
    look = settings.report_look(Path(specs_dir) if specs_dir is not None else output)
    parameters = {
        "output_dir": str(output.absolute()),
        "specs_dir": str(Path(specs_dir).absolute()) if specs_dir is not None else None,
        # a calendar quarter by its label, any other period by its days
        **(
            {"quarter": when.label, "start": None, "end": None}
            if "_" not in when.label
            else {"quarter": None, "start": str(when.start), "end": str(when.end)}
        ),
        "today": day.isoformat(),
    }
    if kernel_name is None and not engine.available():
        kernel_name = "python3"
    where: dict[str, Any] = (
        {"engine_name": engine.NAME} if kernel_name is None else {"kernel_name": kernel_name}
    )
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + f"-{uuid.uuid4().hex[:6]}"
    with publish.review_lock(output, FOLDER, when.label) as held:
        if not held:
            raise ReviewLocked(
                f"quarter {when.label}: another run of this quarter is under way; wait for it"
            )
        run_dir = output / RUNS_FOLDER / f"{FOLDER}-{when.label}-{stamp}"
        run_dir.mkdir(parents=True)
        try:
            return _run(parameters, where, when, run_dir, output, stamp, timeout, look)
        finally:
            if not (run_dir / publish.JOURNAL).exists():
                shutil.rmtree(run_dir, ignore_errors=True)


def _run(
    parameters: dict[str, str | None],
    where: dict[str, Any],
    when: quarter.Period,
    run_dir: Path,
    output: Path,
    stamp: str,
    timeout: int,
    look: settings.ReportLook,
) -> Published:
    executed = run_dir / f"{when.label}.ipynb"
    template = Path(str(runner._templates())) / "quarter.ipynb"
    try:
        notebook = papermill.execute_notebook(
            str(template),
            str(executed),
            parameters=parameters,
            execution_timeout=timeout,
            progress_bar=False,
            log_output=False,
            cwd=str(run_dir) if "kernel_name" in where else None,
            **where,
        )
    except KeyboardInterrupt:
        kept = runner._keep_failed(executed, output, FOLDER, when.label, stamp)
        raise ReviewInterrupted(
            f"quarter {when.label}: interrupted; nothing was published; {runner._where(kept)}",
            notebook=runner._kept(kept),
        ) from None
    except papermill.PapermillExecutionError as error:
        kept = runner._keep_failed(executed, output, FOLDER, when.label, stamp)
        if error.ename in runner._INPUT_ERRORS:
            raise runner._INPUT_ERRORS[error.ename](str(error.evalue)) from None
        raise ReviewFailed(
            f"quarter {when.label}: the notebook failed in cell {error.cell_index} "
            f"({error.ename}: {error.evalue}); nothing was published; {runner._where(kept)}",
            notebook=runner._kept(kept),
            cell_index=error.cell_index,
            ename=str(error.ename),
            evalue=str(error.evalue),
        ) from None
    except Exception as error:  # a cell timed out, or a kernel did not start or died
        kept = runner._keep_failed(executed, output, FOLDER, when.label, stamp)
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ReviewFailed(
            f"quarter {when.label}: the notebook could not run ({type(error).__name__}: "
            f"{first}); nothing was published; {runner._where(kept)}",
            notebook=runner._kept(kept),
            ename=type(error).__name__,
            evalue=first,
        ) from None
    document = _extract(notebook)
    notebook.metadata["title"] = f"Quarter review {when.label}"
    files = {
        "report": run_dir / f"{when.label}.html",
        "verdict": run_dir / f"{when.label}.json",
        "summary": run_dir / f"{when.label}.md",
        "notebook": executed,
    }
    try:
        files["report"].write_text(runner.export_html(notebook, look), encoding="utf-8")
        files["verdict"].write_text(
            json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n", "utf-8"
        )
        files["summary"].write_text(
            sections.markdown(document, f"{when.label}.html") + "\n", "utf-8"
        )
        _relative_parameters(notebook, output / "notebooks" / FOLDER)
        nbformat.write(notebook, executed)
        staged = publish.Staged(
            run_dir=run_dir,
            spec_id=FOLDER,
            label=when.label,
            stamp=stamp,
            files=files,
            verdict=document,
        )
        places = publish.publish(staged, output)
    except OSError as error:
        raise ReviewFailed(
            f"quarter {when.label}: could not write its files ({error.strerror}: "
            f"{error.filename}); free space or choose another --output-dir"
        ) from None
    portfolio.write(output, today=dt.date.fromisoformat(str(parameters["today"])), look=look)
    return Published(
        report=places["report"],
        document=places["verdict"],
        summary=places["summary"],
        notebook=places["notebook"],
        data=document,
    )
