"""impact.export: the report and the error report are nbconvert's HTML, made faster."""

from __future__ import annotations

import re
import subprocess
import sys

import bs4.element
import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from impact import export

REMOVED = {"parameters", "injected-parameters", "impact-payload", "impact-notebook-only"}


def _notebook(title: str) -> nbformat.NotebookNode:
    return new_notebook(
        cells=[
            new_markdown_cell(f"# {title}"),
            new_code_cell('spec_path = "x.yaml"', metadata={"tags": ["parameters"]}),
            new_code_cell(
                "show()",
                outputs=[
                    new_output(
                        "display_data",
                        data={"text/html": f'<p>{title}</p><img src="data:image/png;base64,AA">'},
                    ),
                    new_output("stream", name="stdout", text="a line\n"),
                ],
            ),
            new_code_cell(
                "1 / 0",
                outputs=[
                    new_output(
                        "error",
                        ename="ZeroDivisionError",
                        evalue="x",
                        traceback=["ZeroDivisionError: x"],
                    )
                ],
            ),
        ],
        metadata={"language_info": {"name": "python"}},
    )


def _nbconvert(notebook: nbformat.NotebookNode, *, report: bool) -> str:
    """What nbconvert's own HTMLExporter makes of the notebook with the runner's settings."""
    if not report:
        exporter = HTMLExporter(
            template_name="report", extra_template_basedirs=[str(export.templates())]
        )
    else:
        exporter = HTMLExporter(
            template_name="report",
            extra_template_basedirs=[str(export.templates())],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
        )
        exporter.register_preprocessor(
            TagRemovePreprocessor(remove_cell_tags=REMOVED, enabled=True), enabled=True
        )
    body, _ = exporter.from_notebook_node(notebook)
    return str(body)


def _ids_out(text: str) -> str:
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "ID", text)


def _as_nbconvert_writes_it(text: str) -> str:
    """Our HTML as nbconvert's exporter serializes its own (through BeautifulSoup): the two
    are then the same document, attribute for attribute."""
    return _ids_out(str(BeautifulSoup(text, features="html.parser")))


def test_reports_in_a_row_are_nbconverts_html_each() -> None:
    first, second = _notebook("First launch"), _notebook("Second launch")
    for notebook in (first, second, first):  # one exporter per process serves every review
        made = export.export_html(notebook)
        assert _as_nbconvert_writes_it(made) == _ids_out(_nbconvert(notebook, report=True))
        assert 'alt="No description has been provided for this image"' in made
        assert 'tabindex="0"' in made
    assert "Second launch" not in export.export_html(first)


def test_the_error_report_is_nbconverts_html() -> None:
    notebook = _notebook("A failed run")
    made = export.error_html(notebook)
    assert _as_nbconvert_writes_it(made) == _ids_out(_nbconvert(notebook, report=False))
    assert "ZeroDivisionError" in made


def test_no_css_selector_is_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiling soupsieve's selector grammar costs a review 0.1-0.3 s; the report needs none."""

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("a CSS selector was compiled")

    monkeypatch.setattr(bs4.element.Tag, "select", refused)
    assert "First launch" in export.export_html(_notebook("First launch"))
    assert "A failed run" in export.error_html(_notebook("A failed run"))


def test_a_team_cells_own_markup_gets_what_nbconvert_gives_it() -> None:
    """Images with and without alt text, self-closing, upper case, a '>' inside a quoted
    attribute, a div of a focusable class among others, one that is focusable already."""
    markup = (
        '<img src="data:image/png;base64,AA" title="a > b">'
        '<IMG SRC="data:image/png;base64,AA"/>'
        '<img alt="described" src="data:image/png;base64,AA">'
        "<img alt src='data:image/png;base64,AA'>"
        '<div class="x jp-OutputArea-output y" data-note="1 > 0">inside</div>'
        '<div class="jp-OutputArea-output" tabindex="-1">focus</div>'
        '<div class="jp-OutputArea-outputs">not this one</div>'
    )
    notebook = new_notebook(
        cells=[
            new_code_cell(
                "show()", outputs=[new_output("display_data", data={"text/html": markup})]
            )
        ],
        metadata={"language_info": {"name": "python"}},
    )
    made = export.export_html(notebook)
    assert _as_nbconvert_writes_it(made) == _ids_out(_nbconvert(notebook, report=True))


def test_jsonschema_loads_without_the_format_checks_nothing_here_uses() -> None:
    """impact/__init__.py keeps three eager format checks out (about 0.8 s of every review);
    the "date" format verdict.v1.json uses is still checked."""
    code = (
        "import sys, impact, jsonschema\n"
        "print(sorted(m for m in impact._UNUSED_FORMATS if sys.modules.get(m)))\n"
        "print(jsonschema.FormatChecker().conforms('2026-13-01', 'date'))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert found.stdout.split("\n")[:2] == ["[]", "False"], found.stderr
