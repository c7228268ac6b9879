"""End to end through the real CLI, papermill and nbconvert, on the seeded demo launch."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import nbformat
import pytest
import untrusted
from conftest import DEMO_SPEC, demo_launch, impact_cli

from impact import demo, export, runner
from impact.errors import DataError, ReviewFailed
from impact.report import blocks

TODAY = "2026-11-26"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo: data, spec and truth, in a folder of its own."""
    root = tmp_path_factory.mktemp("demo")
    demo_launch(root, lock=True)
    return root


@pytest.fixture(scope="module")
def first_run(workspace: Path) -> subprocess.CompletedProcess[str]:
    # -X importtime: the modules the review imported, on stderr (see below)
    return impact_cli(
        "review",
        "specs/demo-checkout.yaml",
        "--today",
        TODAY,
        cwd=workspace,
        python=("-X", "importtime"),
    )


def _verdict(workspace: Path, label: str = "56d") -> dict[str, Any]:
    return json.loads((workspace / "reports" / "demo-checkout" / f"{label}.json").read_text())


def test_review_exits_0_and_prints_where_the_report_is(
    workspace: Path, first_run: subprocess.CompletedProcess[str]
) -> None:
    assert first_run.returncode == 0, first_run.stderr
    assert "demo-checkout 56d: ship (action: ship)" in first_run.stdout
    report = workspace / "reports" / "demo-checkout" / "56d.html"
    assert f"report:  {report.resolve()}" in first_run.stdout
    assert (workspace / "notebooks" / "demo-checkout" / "56d.ipynb").is_file()
    assert not [p for p in (workspace / ".impact-runs").iterdir() if p.is_dir()]


def test_a_review_never_imports_matplotlib(
    first_run: subprocess.CompletedProcess[str],
) -> None:
    """The built-in charts are SVG written by impact.svg: matplotlib's import (about 0.9 s)
    and its layout are paid only by a team cell that draws its own figure."""
    imported = [line.rsplit("|", 1)[-1].strip() for line in first_run.stderr.splitlines()]
    assert "impact.svg" in imported and "papermill" in imported  # the list is complete
    assert not [name for name in imported if name.split(".")[0] == "matplotlib"]


def test_verdict_is_valid_and_equals_the_truth(
    workspace: Path, first_run: subprocess.CompletedProcess[str]
) -> None:
    verdict = _verdict(workspace)
    runner.validate_verdict(verdict)
    truth = json.loads((workspace / "data" / "demo" / "truth.json").read_text())
    assert verdict["outcome"] == truth["expected_outcome"] == "ship"
    assert verdict["final"] is True and verdict["as_of"] == "2026-10-27"
    effects = truth["effects"]
    primary = verdict["primary"]
    assert primary["status"] == "target_met"
    low, high = primary["ci"]
    assert low < effects["checkout_conversion"]["effect"] < high
    for guardrail in verdict["guardrails"]:
        assert guardrail["status"] == "ok"
        low, high = guardrail["ci"]
        assert low < effects[guardrail["name"]]["effect"] < high
    assert verdict["registration"]["registered"] and verdict["registration"]["fixture"]
    names = [s["name"] for s in verdict["secondary"]]
    assert names == ["revenue_per_user", "purchases_per_user", "order_value"]
    assert primary["cuped"]["applied"] and primary["cuped"]["variance_reduction"] > 0.05
    assert verdict["sequential"]["information"][-1] == 1.0
    assert 0.04 < primary["alpha"] < 0.05  # the final look's level after an interim look


def test_report_shows_the_verdict_and_loads_nothing_remote(
    workspace: Path, first_run: subprocess.CompletedProcess[str]
) -> None:
    html = (workspace / "reports" / "demo-checkout" / "56d.html").read_text()
    assert "✔ Ship" in html and "One-page checkout on mobile" in html
    assert "demo registration, written once under a frozen clock" in html
    assert "<script" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert not re.search(r"@import|url\(\s*['\"]?https?:", html)
    assert "data:image/svg+xml;base64," in html
    # The parameters and the verdict payload are left out of the report.
    assert "vnd.impact.verdict" not in html and "spec_path" not in html


def test_rerun_gives_the_same_verdict_and_keeps_history(
    workspace: Path, first_run: subprocess.CompletedProcess[str]
) -> None:
    before = _verdict(workspace)
    again = impact_cli("review", "specs/demo-checkout.yaml", "--today", TODAY, cwd=workspace)
    assert again.returncode == 0, again.stderr
    after = _verdict(workspace)
    assert {k: v for k, v in before.items() if k != "run"} == {
        k: v for k, v in after.items() if k != "run"
    }
    first_bytes = json.dumps({k: v for k, v in before.items() if k != "run"}, indent=2)
    second_bytes = json.dumps({k: v for k, v in after.items() if k != "run"}, indent=2)
    assert first_bytes == second_bytes
    for folder, suffix in (("reports", ".json"), ("reports", ".html"), ("notebooks", ".ipynb")):
        history = workspace / folder / "demo-checkout" / "56d.history"
        assert len(list(history.glob(f"*{suffix}"))) >= 1


def test_extract_gives_the_published_verdict(
    workspace: Path, first_run: subprocess.CompletedProcess[str]
) -> None:
    notebook = workspace / "notebooks" / "demo-checkout" / "56d.ipynb"
    extracted = impact_cli("extract", str(notebook), cwd=workspace)
    assert extracted.returncode == 0, extracted.stderr
    assert json.loads(extracted.stdout) == _verdict(workspace)


def test_interim_and_monitoring_runs(workspace: Path) -> None:
    interim = impact_cli(
        "review", "specs/demo-checkout.yaml", "--checkpoint", "4w", "--today", TODAY, cwd=workspace
    )
    assert interim.returncode == 0, interim.stderr
    verdict = _verdict(workspace, "28d")
    assert verdict["final"] is False and verdict["next_review"] == "2026-10-27"
    monitoring = impact_cli(
        "review", "specs/demo-checkout.yaml", "--checkpoint", "35d", "--today", TODAY, cwd=workspace
    )
    assert monitoring.returncode == 0, monitoring.stderr
    verdict = _verdict(workspace, "35d")
    assert verdict["monitoring"] is True and verdict["outcome"] == "keep_running"


@pytest.mark.parametrize(
    ("edit", "args", "message"),
    [
        (
            ("event: purchase\n    window", "event: purchse\n    window"),
            (),
            r"^error: .*events\.parquet: no rows with event 'purchse' \(metric checkout_conversion\); did you mean 'purchase'\?$",
        ),
        (
            None,
            ("--checkpoint", "56d", "--today", "2026-10-20"),
            r"^error: --checkpoint 56d: its as_of 2026-10-27 is after today \(2026-10-20\)",
        ),
        (None, ("--checkpoint", "soon"), r"^error: --checkpoint: \"soon\" is not a duration"),
        (
            ("target: +0.02", "target: -0.02"),
            (),
            r"^error: .*bad\.yaml: metrics\.primary: target -0\.02 contradicts direction: increase",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(
    workspace: Path, edit: tuple[str, str] | None, args: tuple[str, ...], message: str
) -> None:
    spec = workspace / "specs" / "bad.yaml"
    text = DEMO_SPEC.read_text()
    if edit:
        assert edit[0] in text
        text = text.replace(edit[0], edit[1], 1)
    spec.write_text(text)
    result = impact_cli("review", str(spec), "--today", TODAY, *args, cwd=workspace)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert re.search(message, lines[0]), lines[0]
    assert "Traceback" not in result.stderr


def test_missing_spec_exits_2(workspace: Path) -> None:
    result = impact_cli("review", "specs/nope.yaml", cwd=workspace)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: specs/nope.yaml: no such spec file; check the path"


def test_a_failed_run_keeps_its_notebook_and_the_last_good_report(
    workspace: Path, first_run: subprocess.CompletedProcess[str]
) -> None:
    report = workspace / "reports" / "demo-checkout" / "56d.html"
    before = report.read_bytes()
    with pytest.raises(ReviewFailed, match=r"the notebook could not run \(NoSuchKernel"):
        runner.review(
            workspace / "specs" / "demo-checkout.yaml",
            today=TODAY,
            output_dir=workspace,
            kernel_name="no-such-kernel",
        )
    assert report.read_bytes() == before
    assert not [p for p in (workspace / ".impact-runs").iterdir() if p.is_dir()]


def test_data_not_ready_is_bad_input(tmp_path: Path) -> None:
    spec = demo_launch(tmp_path, units=2000)
    text = spec.read_text().replace("reviews: [28d, 56d]", "reviews: [28d, 70d]")
    spec.write_text(text)
    with pytest.raises(DataError, match=r"data are not complete for the 70d review"):
        runner.review(spec, today=TODAY, output_dir=tmp_path)
    assert not (tmp_path / "reports").exists()


def test_changing_the_registered_target_makes_the_verdict_invalid(
    workspace: Path, first_run: subprocess.CompletedProcess[str]
) -> None:
    spec = workspace / "specs" / "demo-checkout.yaml"
    original = spec.read_text()
    try:
        spec.write_text(original.replace("target: +0.02", "target: +0.01"))
        result = impact_cli("review", str(spec), "--today", TODAY, cwd=workspace)
        assert result.returncode == 0, result.stderr
        assert "demo-checkout 56d: invalid" in result.stdout
        html = (workspace / "reports" / "demo-checkout" / "56d.html").read_text()
        card = html[html.index('aria-label="verdict"') :][:4000]
        assert "metrics.primary.target: &#x27;0.02&#x27; -&gt; &#x27;0.01&#x27;" in card or (
            "metrics.primary.target: '0.02' -&gt; '0.01'" in card
        )
    finally:
        spec.write_text(original)


def test_the_template_runs_unchanged_with_its_defaults(tmp_path: Path) -> None:
    """As in JupyterLab: opened from templates/, no parameters, it reviews the demo launch."""
    root = DEMO_SPEC.parent.parent
    if not (root / "data" / "demo" / "events.parquet").is_file():
        demo.generate(root / "data" / "demo")  # what `make demo` leaves there
    out = tmp_path / "default.ipynb"
    done = subprocess.run(
        [sys.executable, "-m", "papermill", "experiment.ipynb", str(out), "--cwd", "."],
        cwd=root / "templates",
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    verdict = runner.extract(out)
    assert verdict["spec_id"] == "demo-checkout" and verdict["checkpoint"] == "56d"


def test_papermill_receives_only_the_four_string_parameters(
    workspace: Path, first_run: subprocess.CompletedProcess[str]
) -> None:
    notebook = nbformat.read(workspace / "notebooks" / "demo-checkout" / "56d.ipynb", as_version=4)
    injected = next(
        c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", [])
    )
    names = {}
    for line in injected.source.splitlines():
        if "=" in line and not line.startswith("#"):
            name, value = (part.strip() for part in line.split("=", 1))
            names[name] = value
    assert set(names) == {"spec_path", "checkpoint", "today", "data_source"}
    assert all(value == "None" or value.startswith('"') for value in names.values())
    # the kept notebook reads from its own folder, and says which launch it reviews
    assert names["spec_path"] == '"../../specs/demo-checkout.yaml"'
    intro = notebook.cells[0]
    assert "impact-notebook-only" in intro.metadata["tags"]
    assert intro.source.startswith("# Impact review: One-page checkout on mobile")
    assert "demo" not in intro.source.replace("demo-checkout", "")


# What JupyterLab's sanitizer may remove from an untrusted notebook without changing how it
# reads: the card's style sheet (its essentials are inline too), accessibility attributes, the
# chart's measured text size, a cell's column name for a phone's stacked rows, and tabular
# digits (most fonts' digits are tabular already).
HARMLESS_LOSSES = re.compile(
    r"<style>|div\[(role|aria-label|tabindex)\]|p\[aria-hidden\]|img\[data-smallest-text\]|"
    r"td\[data-label\]|"
    r"td style font-variant-numeric:tabular-nums"
)


def test_the_notebook_reads_the_same_untrusted(
    workspace: Path, first_run: subprocess.CompletedProcess[str]
) -> None:
    notebook = nbformat.read(workspace / "notebooks" / "demo-checkout" / "56d.ipynb", as_version=4)
    outputs = [
        "".join(output["data"]["text/html"])
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "text/html" in output.get("data", {})
    ]
    assert len(outputs) >= 10
    for markup in outputs:
        assert "<script" not in markup and "<link" not in markup
        kept, dropped = untrusted.sanitize(markup)
        assert [item for item in dropped if not HARMLESS_LOSSES.fullmatch(item)] == []
        # each class the style sheet dresses carries the same look inline, and keeps it
        for name, declarations in blocks.INLINE.items():
            if f'class="{name}"' in markup or f'class="{name} ' in markup:
                for declaration in declarations.split(";"):
                    if not declaration.startswith("font-variant-numeric"):
                        assert declaration in kept, (name, declaration)
    card = next(markup for markup in outputs if 'aria-label="verdict"' in markup)
    kept, _ = untrusted.sanitize(card)
    outcome = re.search(r'class="impact-card impact-outcome-(\w+)"', card)
    assert outcome is not None
    colour = blocks.OUTCOME_COLOUR[outcome.group(1)]
    assert "border:3px solid #555" in kept and f"border-color:{colour}" in kept
    assert "<style" not in kept


def test_the_verdict_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(export._schema())


def test_a_verdict_that_breaks_the_schema_is_refused_with_its_place() -> None:
    from impact.verdict import MIME_TYPE

    output = nbformat.v4.new_output("display_data", data={MIME_TYPE: {"schema_version": 1}})
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[output])])
    with pytest.raises(
        ReviewFailed, match=r"does not match verdict\.v1\.json at the top: .* is a required"
    ):
        runner.extract(notebook)


def test_kernel_on_the_command_line_runs_the_notebook_in_that_kernel(
    workspace: Path, first_run: subprocess.CompletedProcess[str]
) -> None:
    report = workspace / "reports" / "demo-checkout" / "56d.html"
    before = report.read_bytes()
    result = impact_cli(
        "review",
        "specs/demo-checkout.yaml",
        "--today",
        TODAY,
        "--kernel",
        "no-such-kernel",
        cwd=workspace,
    )
    assert result.returncode == 1
    assert "the notebook could not run (NoSuchKernel" in result.stderr
    assert report.read_bytes() == before
