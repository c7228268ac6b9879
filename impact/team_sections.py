"""A team template's own sections: the cells that may fail without losing the verdict.

The runner tags every cell of a team template but the essential ones (parameters, verdict,
payload) ``raises-exception`` before it runs (:func:`may_fail`); after, a run whose only
failures are such cells is published (:func:`only_sections_failed`), verdict.json lists
them (:func:`failed`) and the report shows a "this section failed" block in place of each
traceback (:func:`shown`). docs/templates.md says it for a team.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import nbformat
from papermill import execute as papermill_execute

from impact import engine, message, team_templates
from impact.report import failed as failed_block

__all__ = [
    "ESSENTIAL",
    "failed",
    "failed_in",
    "heading",
    "may_fail",
    "only_sections_failed",
    "shown",
    "stopped_at",
]

# The cells a template cannot do without: a failure in any of them fails the run.
ESSENTIAL = {"parameters", "injected-parameters", "verdict", team_templates.PAYLOAD_TAG}


def may_fail(template: Path) -> nbformat.NotebookNode:
    """A team template with every cell but the essential ones tagged ``raises-exception``:
    a team's cell may fail without losing the verdict (the template's own cells carry the
    tag already, so JupyterLab and plain papermill carry on past them alike)."""
    notebook = nbformat.read(template, as_version=4)
    for cell in notebook.cells:
        tags = list(cell.get("metadata", {}).get("tags", []))
        if cell.cell_type == "code" and not ESSENTIAL & set(tags) and engine.MAY_FAIL not in tags:
            cell.setdefault("metadata", {})["tags"] = [*tags, engine.MAY_FAIL]
    return notebook


def only_sections_failed(executed: Path) -> nbformat.NotebookNode | None:
    """The executed notebook (papermill's error marker cells removed) when every cell that
    failed is tagged ``raises-exception``; None when any other cell failed."""
    try:
        notebook = nbformat.read(executed, as_version=4)
    except (OSError, ValueError):
        return None
    notebook = papermill_execute.remove_error_markers(notebook)
    broken = [
        cell
        for cell in notebook.cells
        if any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        or cell.get("metadata", {}).get("papermill", {}).get("exception") is True
    ]
    if not broken:
        return None
    if any(engine.MAY_FAIL not in cell.get("metadata", {}).get("tags", []) for cell in broken):
        return None
    return notebook


def failed(notebook: nbformat.NotebookNode) -> list[dict[str, Any]]:
    """The cells that failed and let the run go on (``raises-exception``), as verdict.json's
    ``sections_failed`` lists them: ``cell`` (its index, counting from 0 as nbformat does),
    ``number`` (counting from 1, as the messages do), ``section`` (the heading it is under,
    or None), ``ename`` and ``evalue``."""
    return [
        {
            "cell": index,
            "number": index + 1,
            "section": heading(notebook.cells, index),
            "ename": str(output.get("ename", "")),
            "evalue": str(output.get("evalue", "")),
        }
        for index, cell in enumerate(notebook.cells)
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]


def failed_in(executed: nbformat.NotebookNode) -> list[dict[str, Any]]:
    """:func:`failed` of a notebook as papermill left it, counted as in a notebook the runner
    publishes (papermill's error notes aside): for ``impact extract``."""
    return failed(papermill_execute.remove_error_markers(copy.copy(executed)))


def heading(cells: list[Any], index: int) -> str | None:
    """The section a cell is in: the last Markdown heading at or above it (its text, without
    the #s), or None when no heading comes before it."""
    for cell in reversed(cells[: index + 1]):
        if cell.get("cell_type") != "markdown":
            continue
        for line in reversed(str(cell.get("source", "")).splitlines()):
            if line.startswith("#"):
                text = line.lstrip("#").strip()
                if text:
                    return text
    return None


def stopped_at(notebook: nbformat.NotebookNode) -> tuple[str, str, str] | None:
    """Where and why a notebook stopped: the first cell whose error did not let the run go
    on (not tagged ``raises-exception``), as ``(where, ename, evalue)`` with ``where`` in
    words (``message.cell``: counting from 1, papermill's error notes aside); None when no
    such cell failed."""
    cells = papermill_execute.remove_error_markers(copy.deepcopy(notebook)).cells
    for index, cell in enumerate(cells):
        if engine.MAY_FAIL in cell.get("metadata", {}).get("tags", []):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                where = message.cell(index + 1, heading(cells, index))
                return where, str(output.get("ename", "")), str(output.get("evalue", ""))
    return None


def shown(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy for the report with each error's traceback replaced by a "this section
    failed" block (the kept notebook keeps the traceback)."""
    if not failed(notebook):
        return notebook
    shown = copy.deepcopy(notebook)
    for cell in shown.cells:
        cell["outputs"] = [
            nbformat.v4.new_output(
                "display_data",
                data={"text/html": failed_block.section_failed(output.ename, output.evalue)},
            )
            if output.get("output_type") == "error"
            else output
            for output in cell.get("outputs", [])
        ]
    return shown
