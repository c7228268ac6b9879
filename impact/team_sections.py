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

from impact import engine, team_templates
from impact.report import failed as failed_block

__all__ = ["ESSENTIAL", "failed", "may_fail", "only_sections_failed", "shown"]

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
    """The cells that failed and let the run go on (``raises-exception``)."""
    return [
        {
            "cell": index,
            "ename": str(output.get("ename", "")),
            "evalue": str(output.get("evalue", "")),
        }
        for index, cell in enumerate(notebook.cells)
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]


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
