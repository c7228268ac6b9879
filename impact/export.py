"""What comes out of an executed review notebook: its verdict payload and its HTML report.

``extract`` reads the verdict payload (``application/vnd.impact.verdict.v1+json``) a template
displayed and checks it against ``impact/schemas/verdict.v1.json``; ``export_html`` renders
the report with nbconvert (code hidden, the parameters and the payload removed, nothing
remote) in the project's look; ``for_its_folder`` makes the kept notebook read from where
it is published.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import jsonschema
import nbformat
from nbconvert import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbconvert.preprocessors import TagRemovePreprocessor

from impact import settings, team_sections
from impact.errors import ReviewFailed
from impact.verdict import MIME_TYPE

__all__ = [
    "error_html",
    "export_html",
    "extract",
    "for_its_folder",
    "templates",
    "validate_verdict",
    "warm",
]


def templates() -> Path:
    """The folder of the built-in notebook templates and the nbconvert report template."""
    return Path(str(resources.files("impact") / "templates"))


@cache
def _schema() -> dict[str, Any]:
    text = (resources.files("impact") / "schemas" / "verdict.v1.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> jsonschema.Draft202012Validator:
    """verdict.v1.json's validator. The schema itself is checked by the tests, not on every
    run (``jsonschema.validate`` re-checks it each call: 0.06 s)."""
    return jsonschema.Draft202012Validator(_schema(), format_checker=jsonschema.FormatChecker())


def validate_verdict(payload: dict[str, Any]) -> None:
    """Check a verdict payload against the verdict.v1 JSON Schema.

    Raises:
        jsonschema.ValidationError: the payload does not match (the most relevant error).
    """
    error = jsonschema.exceptions.best_match(_validator().iter_errors(payload))
    if error is not None:
        raise error


def extract(notebook: nbformat.NotebookNode | Path | str) -> dict[str, Any]:
    """The verdict payload an executed review notebook displayed.

    Raises:
        ReviewFailed: the notebook has no verdict output, or it does not match the schema.
    """
    where = Path(notebook) if isinstance(notebook, Path | str) else None
    if where is not None:
        try:
            notebook = nbformat.read(where, as_version=4)
        except (OSError, ValueError) as error:
            raise ReviewFailed(f"{where}: not a readable notebook ({error})") from None
    assert isinstance(notebook, nbformat.NotebookNode)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if MIME_TYPE in data:
                payload = dict(data[MIME_TYPE])
                try:
                    validate_verdict(payload)
                except jsonschema.ValidationError as error:
                    path = "/".join(str(part) for part in error.absolute_path)
                    raise ReviewFailed(
                        f"{where or 'notebook'}: the verdict does not match verdict.v1.json at "
                        f"{path or 'the top'}: {error.message}"
                    ) from None
                return payload
    stopped = team_sections.stopped_at(notebook)
    if stopped is not None:
        place, ename, evalue = stopped
        first = evalue.strip().splitlines()[0] if evalue.strip() else ""
        raise ReviewFailed(
            f"{where or 'notebook'}: the notebook failed at {place} before it displayed its "
            f"verdict: {ename}{': ' + first if first else ''}; fix that cell and run the "
            "notebook again"
        )
    if not any(cell.get("outputs") for cell in notebook.cells):
        raise ReviewFailed(
            f"{where or 'notebook'}: has not been run (no cell has an output); extract reads "
            "a notebook papermill or impact review executed, such as "
            "notebooks/<id>/<N>d.ipynb"
        )
    raise ReviewFailed(
        f"{where or 'notebook'}: no verdict output ({MIME_TYPE}); the template's last cell "
        "must display impact.display.payload(result)"
    )


def shown_once(notebook: nbformat.NotebookNode, where: str) -> None:
    """Raise unless the verdict payload is displayed exactly once (by the payload cell).

    Raises:
        ReviewFailed: it is displayed another number of times (``where`` names the notebook).
    """
    shown = sum(
        MIME_TYPE in output.get("data", {})
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )
    if shown != 1:
        raise ReviewFailed(
            f"{where} displayed the verdict payload {shown} times; only its payload cell "
            "(display.payload(result)) may display it"
        )


class _ReportExporter(HTMLExporter):
    """nbconvert's HTML exporter whose compiled templates are kept on disk between processes
    (jinja's bytecode cache, in a folder of the user's own under the temporary directory),
    so a review does not compile the report's ten templates again (0.1-0.2 s)."""

    def _create_environment(self) -> Any:
        environment = super()._create_environment()
        with contextlib.suppress(RuntimeError, OSError):  # no safe folder: compile as before
            environment.bytecode_cache = jinja2.FileSystemBytecodeCache()
        return environment

    def from_notebook_node(  # type: ignore[override]  # HTMLExporter returns str too
        self, nb: nbformat.NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        """``HTMLExporter.from_notebook_node`` (nbconvert 7.17) with its three CSS selections
        (images without alt text, focusable inputs and outputs) made on the start tags
        themselves: the same document, without parsing and rewriting the whole report with
        BeautifulSoup (0.07 s of a 3,000-unit review) or compiling soupsieve's
        selector grammar (0.1-0.3 s a process)."""
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        highlight_code = self.filters.get(
            "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)
        )
        resources = self._init_resources(resources)
        filter_data_type = WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources
        )
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", filter_data_type)
        text, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        missing_alt = 0

        def accessible(match: re.Match[str]) -> str:
            nonlocal missing_alt
            tag, attributes, end = match["tag"].lower(), match["attributes"], match["end"]
            names = {name.lower() for name, _ in _ATTRIBUTE.findall(attributes)}
            if tag == "img" and "alt" not in names:
                missing_alt += 1
                return f'{match[0][: -len(end)]} alt="{_NO_ALT}"{end}'
            if tag == "div" and _focusable(attributes):
                if "tabindex" in names:  # nbconvert sets it to 0 where it stands
                    attributes = _TABINDEX.sub('tabindex="0"', attributes)
                    return f"<{match['tag']}{attributes}{end}"
                return f'{match[0][: -len(end)]} tabindex="0"{end}'
            return match[0]

        body = text.find('class="jp-Notebook"')  # nbconvert marks only what is inside it
        if body >= 0:
            text = text[:body] + _START_TAG.sub(accessible, text[body:])
        if missing_alt:
            self.log.warning("Alternative text is missing on %s image(s).", missing_alt)
        return text, resources


_NO_ALT = "No description has been provided for this image"
_VALUE = r"""(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+)"""
_ATTRIBUTE = re.compile(rf"""([^\s"'>/=]+)(\s*=\s*{_VALUE})?""")
_START_TAG = re.compile(
    r"""<(?P<tag>img|div)\b(?P<attributes>(?:[^>"']|"[^"]*"|'[^']*')*?)(?P<end>\s*/?>)""",
    re.IGNORECASE,
)
_TABINDEX = re.compile(rf"""(?<=\s)tabindex(?:\s*=\s*{_VALUE})?""", re.IGNORECASE)
_CLASS = re.compile(rf"""\bclass\s*=\s*(?P<value>{_VALUE})""", re.IGNORECASE)
_FOCUSABLE = {"jp-Cell-inputWrapper", "jp-OutputArea-output"}


def _focusable(attributes: str) -> bool:
    """Whether a div's class list names an input wrapper or an output area's output."""
    found = _CLASS.search(attributes)
    return found is not None and not _FOCUSABLE.isdisjoint(found["value"].strip("\"'").split())


@cache
def _exporter(*, report: bool) -> HTMLExporter:
    """One exporter per process (a worker of ``impact run --due`` reuses it for every review):
    its templates are loaded and compiled once. The notebook is validated once, after every
    preprocessor ran, not after each of them."""
    if not report:  # the error report shows everything
        return _ReportExporter(
            template_name="report",
            extra_template_basedirs=[str(templates())],
            optimistic_validation=True,
        )
    exporter = _ReportExporter(
        template_name="report",
        extra_template_basedirs=[str(templates())],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        optimistic_validation=True,
    )
    exporter.register_preprocessor(
        TagRemovePreprocessor(
            remove_cell_tags={
                "parameters",
                "injected-parameters",
                "impact-payload",
                "impact-notebook-only",
            },
            enabled=True,
        ),
        enabled=True,
    )
    return exporter


@cache
def warm() -> None:
    """Load and compile the report's templates and the verdict's schema now, once per process
    (the runner does while a review's metric query runs on another thread)."""
    _validator()
    export_html(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("warm")]))


def export_html(notebook: nbformat.NotebookNode, look: settings.ReportLook | None = None) -> str:
    """The report: code hidden, parameters and the verdict payload removed, nothing remote;
    with the project's ``look`` (logo, colours, footer text) when given."""
    resources = {"impact_look": look.resources()} if look is not None else None
    body, _ = _exporter(report=True).from_notebook_node(notebook, resources=resources)
    return str(body)


def error_html(notebook: nbformat.NotebookNode) -> str:
    """The error report of a failed run: the notebook as it ran, code and tracebacks shown."""
    body, _ = _exporter(report=False).from_notebook_node(notebook)
    return str(body)


def relative_parameters(source: str, names: tuple[str, ...], folder: Path) -> str:
    """An injected-parameters cell's source with the absolute paths of ``names`` made
    relative to ``folder`` (where the kept notebook is published)."""
    lines = []
    for line in source.splitlines():
        name, _, value = line.partition(" = ")
        if name in names and value.startswith('"'):
            path = Path(json.loads(value))
            if path.is_absolute():
                relative = os.path.relpath(path, folder.absolute())
                line = f"{name} = {json.dumps(Path(relative).as_posix())}"
        lines.append(line)
    return "\n".join(lines)


def for_its_folder(notebook: nbformat.NotebookNode, verdict: dict[str, Any], folder: Path) -> None:
    """The kept notebook reads from where it is published: paths in its parameters relative
    to its folder (not this machine's absolute ones), and an intro that names the launch."""
    for cell in notebook.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags:
            cell.source = relative_parameters(cell.source, ("spec_path", "data_source"), folder)
        elif (
            "impact-notebook-only" in tags
            and "impact-team" not in tags  # a team section's note is the team's, kept
            and cell.cell_type == "markdown"
        ):
            title = html.escape(str(verdict.get("title") or verdict["spec_id"]))
            kind = "final" if verdict.get("final") else "interim"
            cell.source = (
                f"# Impact review: {title}\n\n"
                f"The {verdict['checkpoint']} {kind} review of `{verdict['spec_id']}` "
                f"(data as of {verdict['as_of']}), as it ran. Run it again from this folder to "
                "reproduce it; the parameters below point at the spec from here."
            )
