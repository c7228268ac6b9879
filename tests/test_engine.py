"""The in-process papermill engine: outputs as a kernel records them, failures, interrupts,
and the same review as in a fresh kernel."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest
from conftest import demo_launch, verdict_numbers
from nbformat.v4 import new_code_cell, new_notebook

from impact import engine, runner
from impact.sources import contract

TODAY = "2026-11-26"


def _notebook(folder: Path, *sources: str) -> Path:
    cells = [new_code_cell("value = 1", metadata={"tags": ["parameters"]})]
    cells += [new_code_cell(source) for source in sources]
    notebook = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    path = folder / "in.ipynb"
    nbformat.write(notebook, path)
    return path


def _run(notebook: Path, **parameters: object) -> nbformat.NotebookNode:
    out = notebook.with_name("out.ipynb")
    papermill.execute_notebook(
        str(notebook),
        str(out),
        parameters=parameters,
        engine_name=engine.NAME,
        progress_bar=False,
    )
    return nbformat.read(out, as_version=4)


def test_outputs_are_recorded_as_a_kernel_sends_them(tmp_path: Path) -> None:
    notebook = _notebook(
        tmp_path,
        "import sys\nprint('to out')\nprint('to err', file=sys.stderr)\nprint('again')",
        "from IPython.display import HTML, display\ndisplay(HTML('<b>shown</b>'))\nvalue * 10",
        "value * 100;",  # a semicolon hides the result, as in Jupyter
        "import warnings\nwarnings.warn('careful')",
        "from impact import plots\nfrom matplotlib.figure import Figure\n"
        "plots.Chart(Figure(figsize=(2, 1)), 'an empty chart')",
    )
    executed = _run(notebook, value=3)
    injected, streams, shown, hidden, warned, chart = executed.cells[1:]
    assert "value = 3" in injected.source
    assert [(o.name, o.text) for o in streams.outputs] == [
        ("stdout", "to out\n"),
        ("stderr", "to err\n"),
        ("stdout", "again\n"),
    ]
    assert [o.output_type for o in shown.outputs] == ["display_data", "execute_result"]
    assert shown.outputs[0].data["text/html"] == "<b>shown</b>"
    assert shown.outputs[1].data["text/plain"] == "30"
    assert shown.outputs[1].execution_count == shown.execution_count
    assert hidden.outputs == []
    assert warned.outputs[0].name == "stderr" and "careful" in warned.outputs[0].text
    shown_chart = chart.outputs[0].data
    assert "image/png" not in shown_chart  # the PNG is stored once, inside the HTML
    embedded = shown_chart["text/html"].split("base64,")[1].split('"')[0]
    assert base64.b64decode(embedded).startswith(b"\x89PNG")
    assert 'alt="an empty chart"' in shown_chart["text/html"]
    assert shown_chart["text/plain"] == "[chart] an empty chart"
    assert [c.execution_count for c in executed.cells if c.cell_type == "code"] == [
        1,
        2,
        3,
        4,
        5,
        6,
        7,
    ]


def test_each_notebook_starts_with_a_fresh_namespace(tmp_path: Path) -> None:
    first = _run(_notebook(tmp_path, "left_behind = 42"))
    assert first.cells[-1].outputs == []
    second = _run(_notebook(tmp_path, "'left_behind' in dir()"))
    assert second.cells[-1].outputs[0].data["text/plain"] == "False"


def test_an_error_stops_the_notebook_and_is_kept_in_it(tmp_path: Path) -> None:
    notebook = _notebook(tmp_path, "raise ValueError('not like this')", "after = True")
    with pytest.raises(papermill.PapermillExecutionError) as raised:
        _run(notebook)
    assert (raised.value.ename, raised.value.evalue) == ("ValueError", "not like this")
    kept = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    error = kept.cells[-2].outputs[-1]
    assert error.output_type == "error" and any("not like this" in line for line in error.traceback)
    assert kept.cells[-1].outputs == [] and kept.cells[-1].execution_count is None


def test_an_interrupt_reaches_the_caller_and_the_notebook_is_written(tmp_path: Path) -> None:
    notebook = _notebook(tmp_path, "raise KeyboardInterrupt", "after = True")
    with pytest.raises(KeyboardInterrupt):
        _run(notebook)
    assert (tmp_path / "out.ipynb").is_file()


def test_an_interrupt_wrapped_by_python_is_still_an_interrupt(tmp_path: Path) -> None:
    """SIGTERM during an import can land in a class body's __set_name__, which Python 3.11
    wraps in a RuntimeError (seen under load: matplotlib's import became "the review
    failed", exit 1, instead of exit 130)."""
    wrapped = (
        "class Name:\n"
        "    def __set_name__(self, owner, name):\n"
        "        raise KeyboardInterrupt\n"
        "class Owner:\n"
        "    attribute = Name()\n"
    )
    try:
        exec(wrapped, {})
    except RuntimeError as error:  # the wrapping this test is about, where Python does it
        assert isinstance(error.__cause__, KeyboardInterrupt)
    except KeyboardInterrupt:
        pass  # later Pythons no longer wrap it; the engine must pass it on either way
    notebook = _notebook(tmp_path, wrapped, "after = True")
    with pytest.raises(KeyboardInterrupt):
        _run(notebook)


def test_inside_another_ipython_shell_the_engine_steps_aside() -> None:
    code = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "InteractiveShell.instance()\n"
        "from impact import engine\n"
        "print(engine.available())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == "False", result.stderr


def test_in_process_and_in_a_kernel_the_review_is_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = demo_launch(tmp_path, units=4000)
    checked = []
    check_contract = contract.check_contract

    def counted(*args: object) -> None:
        checked.append(args)
        check_contract(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(contract, "check_contract", counted)
    here = runner.review(spec, today=TODAY, output_dir=tmp_path / "here")
    assert len(checked) == 1  # the notebook took over the runner's checked inputs
    kernel = runner.review(spec, today=TODAY, output_dir=tmp_path / "kernel", kernel_name="python3")
    assert here is not None and kernel is not None
    assert verdict_numbers(here.verdict) == verdict_numbers(kernel.verdict)
    assert here.verdict["outcome"] == kernel.verdict["outcome"]
    for published in (here, kernel):
        html = published.report.read_text()
        assert html.count("<img") == kernel.report.read_text().count("<img") > 0
