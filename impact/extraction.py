"""``impact extract``: the verdict of a notebook run outside impact, checked as a review's.

A scheduler may run a review template with plain papermill and turn the executed notebook
into verdict.json with ``impact extract``. The verdict must still be the library's: a team
cell that rebinds ``result`` with another outcome, shows another checkpoint's payload, or
runs the review with another clock is refused here as ``impact review`` refuses it. So the
payload the notebook displayed (shown exactly once) is compared with the library's review
run again with the parameters papermill injected (``metadata.papermill.parameters``), when
it started and how long it took aside (``seal.volatile_removed``).

The spec path a notebook was given is relative to the folder papermill ran it in: it is
looked for from the working folder, beside the notebook papermill ran, and beside the
executed notebook. A notebook without papermill's record of its parameters (run by hand in
JupyterLab, or with the record removed) is checked with the values its parameters cells
assign (the template's ``parameters`` cell, then papermill's ``injected-parameters`` cell);
one with no spec_path there cannot be checked and is refused.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from impact import runner, seal, team_sections, team_templates
from impact import spec as spec_module
from impact.errors import ReviewFailed, SpecError
from impact.export import extract, shown_once

__all__ = ["Extracted", "extracted"]


@dataclass
class Extracted:
    """What ``impact extract`` prints: the payload, and the warnings for stderr."""

    payload: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def extracted(path: Path) -> Extracted:
    """The checked verdict.json of the executed review notebook at ``path``.

    Raises:
        ReviewFailed: the notebook shows no verdict, shows it more than once, or shows one
            that is not the library's review of its parameters.
        SpecError: its spec cannot be found from here.
        ImpactError: the review run again failed as a review would (its data, its spec).
    """
    payload = extract(path)
    notebook = nbformat.read(path, as_version=4)
    shown_once(notebook, f"{path}: the notebook")
    result = Extracted(payload)
    papermill = notebook.get("metadata", {}).get("papermill", {})
    given = papermill.get("parameters") or _assigned(notebook)
    if not given.get("spec_path"):
        raise ReviewFailed(
            f"{path}: cannot be checked against the library's review: neither papermill's "
            "record nor a parameters cell gives its spec_path; run the template with "
            "papermill or impact review"
        )
    _check(path, payload, given, papermill.get("input_path"))
    payload["sections_failed"] = team_sections.failed_in(notebook)
    payload["template"], warning = team_templates.as_run(payload["template"], notebook, path)
    result.warnings += [warning] if warning else []
    return result


def _assigned(notebook: nbformat.NotebookNode) -> dict[str, Any]:
    """The literal values a notebook's parameters cells assign, the injected ones last."""
    found: dict[str, Any] = {}
    for tag in ("parameters", "injected-parameters"):
        for cell in notebook.cells:
            if cell.get("cell_type") != "code" or tag not in cell.get("metadata", {}).get(
                "tags", []
            ):
                continue
            try:
                tree = ast.parse(cell.get("source", ""))
            except SyntaxError:
                continue
            for node in tree.body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1:
                    target = node.targets[0]
                    try:
                        value = ast.literal_eval(node.value)
                    except ValueError:
                        continue
                    if isinstance(target, ast.Name):
                        found[target.id] = value
    return found


def _check(path: Path, payload: dict[str, Any], given: dict[str, Any], ran: str | None) -> None:
    """Raise unless ``payload`` is the library's review with the parameters ``given``."""
    spec_path = _spec_path(path, str(given["spec_path"]), ran)
    spec = spec_module.load(spec_path)
    today = given.get("today") or (payload.get("run") or {}).get("today")
    parameters = {
        "spec_path": str(spec_path),
        "checkpoint": given.get("checkpoint"),
        "today": None if today is None else str(today),
        "data_source": given.get("data_source"),
    }
    expected = runner.review_again(spec, parameters, None)
    if _compared(payload) != _compared(expected):
        raise ReviewFailed(
            f"{path}: the notebook {runner.what_differs(payload, expected, parameters)}"
        )


def _compared(payload: dict[str, Any]) -> dict[str, Any]:
    """A payload as two runs of one review must agree on it: without when it started and how
    long it took, and without ``run.data_source``, the data's location as the spec path was
    spelt (relative or absolute); ``run.data_fingerprint`` still says which data were read."""
    kept = seal.volatile_removed(payload)
    (kept.get("run") or {}).pop("data_source", None)
    return kept


def _spec_path(path: Path, given: str, ran: str | None) -> Path:
    """The spec a notebook was given, found from here, beside the notebook papermill ran, or
    beside the executed notebook."""
    folders = [Path.cwd(), *([Path(ran).parent] if ran else []), path.parent]
    for folder in folders:
        candidate = folder / given
        if candidate.is_file():
            return candidate
    raise SpecError(
        f"{path}: its spec_path parameter {given} is not there from this folder, beside the "
        "notebook papermill ran, or beside this notebook; run impact extract in the folder "
        "papermill ran it in"
    )
