"""Team templates: a built-in review template with a place for a team's own cells.

``impact template new NAME --from DESIGN`` copies the design's built-in template (its
parameters, verdict, sections and payload cells) and adds a team section before the
closing "data behind it" part::

    cell                          tag                    in the report
    parameters                    parameters             no
    verdict (review.run, card)    verdict                yes
    built-in sections             -                      yes
    the team's section            impact-team            yes (your cells go here)
    data, methods, provenance     impact-closing         yes
    verdict payload               impact-payload         no (the runner reads it)

A spec selects a team template with ``template:`` (a path relative to the spec, or the name
of a notebook in the project's ``templates/`` folder). The verdict stays the library's: the
runner checks the template's cells before running it (:func:`check`) and, after, that the
payload it displayed is the one the library's review issued (``impact.seal``).
"""

from __future__ import annotations

import hashlib
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any

from impact.errors import SpecError
from impact.spec import LaunchSpec

__all__ = [
    "DESIGNS",
    "PAYLOAD_TAG",
    "TEAM_TAG",
    "as_run",
    "builtin",
    "check",
    "describe",
    "find",
    "new",
    "sha256",
]

DESIGNS = ("experiment", "prepost", "adoption")
PARAMETERS_TAG = "parameters"
VERDICT_TAG = "verdict"
PAYLOAD_TAG = "impact-payload"
CLOSING_TAG = "impact-closing"
TEAM_TAG = "impact-team"
# The Jupyter tag that lets a cell fail and the notebook go on (nbclient, papermill and
# JupyterLab honour it; so does impact's in-process engine).
MAY_FAIL_TAG = "raises-exception"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def _team_cells() -> list[Any]:
    """The team section as ``impact template new`` writes it."""
    from nbformat.v4 import new_code_cell, new_markdown_cell

    return [
        new_markdown_cell(
            "## Your team's section\n\n"
            "Add your own cells here, before *The data behind it*. `result` is this review "
            "(docs/notebooks.md says what it holds) and `impact.frames` gives its numbers "
            "as pandas DataFrames; `frames.query(result, sql, data_source)` queries the "
            "launch's data as the review read it, and `result.spec.resolve(path)` finds a "
            "file beside the spec (the working folder varies: docs/notebooks.md, *In a "
            "team's cell*). "
            "Tag each cell `raises-exception` (as the example below is): a cell "
            "that fails then shows a *this section failed* block in the report, the verdict "
            "is still published, and JupyterLab and papermill carry on past it as "
            "`impact review` does. Do not change the parameters, verdict or payload cells: "
            "the runner checks them. This cell is left out of the report.",
            metadata={"tags": [TEAM_TAG, "impact-notebook-only"]},
        ),
        new_markdown_cell("## More from the team", metadata={"tags": [TEAM_TAG]}),
        new_code_cell(
            "from impact import frames\n\n"
            "# An example to replace: the verdict's numbers as a DataFrame (docs/notebooks.md).\n"
            "frames.metrics(result)",
            metadata={"tags": [TEAM_TAG, MAY_FAIL_TAG]},
        ),
    ]


def builtin(design: str) -> Path:
    """The built-in template of a design."""
    return Path(str(resources.files("impact") / "templates" / f"{design}.ipynb"))


def find(spec: LaunchSpec) -> Path | None:
    """The team template a spec selects with ``template:``; None without one.

    A value ending in ``.ipynb`` is a path relative to the spec's folder; a name is looked
    up as ``templates/<name>.ipynb`` in the project: the spec's folder, then each folder
    above it, the nearest first (so ``specs/x.yaml`` finds ``templates/`` beside
    ``specs/``).

    Raises:
        SpecError: no such template.
    """
    if spec.template is None:
        return None
    if spec.template.endswith(".ipynb"):
        path = spec.resolve(spec.template)
        if not path.is_file():
            raise SpecError(
                f"{spec.path}: template: {path} is not a notebook file; give the path of a "
                "team template relative to the spec (impact template new writes one)"
            )
        return path
    folder = spec.path.absolute().parent
    for above in (folder, *folder.parents):
        candidate = above / "templates" / f"{spec.template}.ipynb"
        if candidate.is_file():
            return candidate
    raise SpecError(
        f"{spec.path}: template: no templates/{spec.template}.ipynb in {folder} or a folder "
        f"above it; run impact template new {spec.template} --from {spec.design} in the "
        "project's folder, or give a path to the notebook"
    )


def check(path: Path, spec: LaunchSpec) -> None:
    """Check, before it runs, that a template has what the runner relies on: one parameters
    cell, one verdict payload cell, and (for a team template) the spec's design.

    Raises:
        SpecError: the template is unreadable, or a cell is missing or repeated (exit 2).
    """
    import nbformat  # lazy: see new()

    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:  # nbformat raises several kinds for a file that is not one
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SpecError(f"{path}: not a readable notebook ({first})") from None
    for tag, what in (
        (PARAMETERS_TAG, "the parameters cell (spec_path, checkpoint, today, data_source)"),
        (PAYLOAD_TAG, "the verdict payload cell, display.payload(result)"),
    ):
        found = [c for c in notebook.cells if c.cell_type == "code" and tag in _tags(c)]
        if len(found) != 1:
            count = "no code cell" if not found else f"{len(found)} code cells"
            raise SpecError(
                f"{path}: {count} tagged {tag}; a template needs exactly one, {what}, as "
                "impact template new writes it"
            )
    design = notebook.metadata.get("impact", {}).get("design")
    if design is not None and design != spec.design:
        raise SpecError(
            f"{spec.path}: template: {path.name} was made from the {design} template and this "
            f"spec's design is {spec.design}; make one with impact template new NAME --from "
            f"{spec.design}"
        )


def describe(spec: LaunchSpec) -> dict[str, Any]:
    """verdict.json's ``template``: which template a review of ``spec`` runs, and its hash.

    ``path`` is relative to the spec's folder for a team template, and to the installed
    package for a built-in one (no path of the machine that ran it).
    """
    found = find(spec)
    if found is None:
        path = builtin(spec.design)
        return {
            "name": spec.design,
            "team": False,
            "path": f"impact/templates/{path.name}",
            "sha256": sha256(path),
        }
    relative = os.path.relpath(found, spec.path.absolute().parent)
    return {
        "name": spec.template,
        "team": True,
        "path": Path(relative).as_posix(),
        "sha256": sha256(found),
    }


def as_run(
    template: dict[str, Any], notebook: Any, where: Path
) -> tuple[dict[str, Any], str | None]:
    """verdict.json's ``template`` for a notebook plain papermill ran, and a warning or None.

    The payload names the template the spec selects; papermill records the notebook it ran
    (``metadata.papermill.input_path``, as given to it, read here from the working folder or
    beside the executed notebook). When that file is another one, the template returned
    names it (its path relative to the spec's folder, as :func:`describe` writes it) and
    keeps the selected one under ``selected``; when it is gone, nothing can be checked.
    """
    papermill = notebook.get("metadata", {}).get("papermill", {})
    given = papermill.get("input_path")
    if not given:
        return template, None
    candidates = [Path(given), where.parent / given]
    found = next((path for path in candidates if path.is_file()), None)
    if found is None:
        return template, (
            f"{where}: cannot check which template ran: {given}, which papermill ran, is not "
            f"there; the verdict names the template the spec selects ({template['path']})"
        )
    digest = sha256(found)
    if digest == template["sha256"]:
        return template, None
    spec_path = (papermill.get("parameters") or {}).get("spec_path")
    folder = Path(spec_path).absolute().parent if spec_path else Path.cwd()
    ran = {
        "name": found.stem,
        "team": found.resolve().parent != builtin(DESIGNS[0]).parent.resolve(),
        "path": Path(os.path.relpath(found.absolute(), folder)).as_posix(),
        "sha256": digest,
        "selected": template,
    }
    return ran, (
        f"{where} ran {given}, not the template the spec selects ({template['path']}); the "
        "verdict names the notebook that ran"
    )


def sha256(path: Path) -> str:
    """The sha256 of a template file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def new(name: str, *, design: str, folder: Path) -> Path:
    """Write ``<folder>/<name>.ipynb``: the design's built-in template with a team section.

    Raises:
        SpecError: a bad name or design, or the file exists already (never overwritten).
    """
    if not _NAME.match(name):
        raise SpecError(
            f'template name "{name}": use lower-case letters, digits and dashes, such as '
            "checkout-team"
        )
    if design not in DESIGNS:
        raise SpecError(f'--from: "{design}" is not a design; use {", ".join(DESIGNS)}')
    path = folder / f"{name}.ipynb"
    if path.exists():
        raise SpecError(f"{path}: exists already; choose another name or remove it first")
    import nbformat  # lazy: the CLI's other commands answer without it

    notebook = nbformat.read(builtin(design), as_version=4)
    closing = next(index for index, cell in enumerate(notebook.cells) if CLOSING_TAG in _tags(cell))
    team = _team_cells()
    for offset, cell in enumerate(team):
        cell["id"] = f"team-{offset:02d}"
    notebook.cells[closing:closing] = team
    notebook.metadata["impact"] = {"team_template": name, "design": design}
    nbformat.validate(notebook)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, path)
    except OSError as error:
        raise SpecError(f"{path}: cannot write the template ({error.strerror})") from None
    return path


def _tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))
