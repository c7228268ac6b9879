"""Team templates through the real CLI: made with `impact template new`, selected by a spec's
`template:`, checked before and after running, their own cells allowed to fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import papermill
import pytest
from conftest import demo_launch, impact_cli, verdict_numbers

from impact import runner, team_templates


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


@pytest.mark.parametrize("design", ["experiment", "prepost", "adoption"])
def test_template_new_copies_the_builtin_cells_and_adds_a_team_section(
    tmp_path: Path, design: str
) -> None:
    done = impact_cli("template", "new", "checkout-team", "--from", design, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    path = tmp_path / "templates" / "checkout-team.ipynb"
    assert f"wrote {Path('templates') / 'checkout-team.ipynb'}" in done.stdout
    made = nbformat.read(path, as_version=4)
    nbformat.validate(made)
    builtin = nbformat.read(team_templates.builtin(design), as_version=4)
    kept = [cell for cell in made.cells if team_templates.TEAM_TAG not in _tags(cell)]
    assert [c.source for c in kept] == [c.source for c in builtin.cells]
    team = [i for i, c in enumerate(made.cells) if team_templates.TEAM_TAG in _tags(c)]
    closing = next(i for i, c in enumerate(made.cells) if "impact-closing" in _tags(c))
    assert team == list(range(team[0], closing))  # one block, just before the closing part
    code = [made.cells[i] for i in team if made.cells[i].cell_type == "code"]
    assert code and all("raises-exception" in _tags(cell) for cell in code)
    assert made.metadata["impact"] == {"team_template": "checkout-team", "design": design}
    assert _tags(made.cells[-1]) == ["impact-payload"]


def test_template_new_writes_into_dir_and_never_overwrites(tmp_path: Path) -> None:
    first = impact_cli(
        "template", "new", "growth", "--from", "adoption", "--dir", "t", cwd=tmp_path
    )
    assert first.returncode == 0, first.stderr
    path = tmp_path / "t" / "growth.ipynb"
    before = path.read_bytes()
    again = impact_cli(
        "template", "new", "growth", "--from", "adoption", "--dir", "t", cwd=tmp_path
    )
    assert again.returncode == 2
    assert (
        again.stderr
        == f"error: {Path('t') / 'growth.ipynb'}: exists already; choose another name or remove it first\n"
    )
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ["Checkout Team", "--from", "experiment"],
            'template name "Checkout Team": use lower-case',
        ),
        (["x", "--from", "bandit"], "'bandit' is not one of 'experiment', 'prepost', 'adoption'"),
    ],
)
def test_template_new_refuses_bad_input_in_one_line(
    tmp_path: Path, args: list[str], words: str
) -> None:
    done = impact_cli("template", "new", *args, cwd=tmp_path)
    assert done.returncode == 2
    assert words in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "templates").exists()


# ---------------------------------------------------------------- selected by a spec

TODAY = "2026-11-26"
# A team's own cell: a query of the launch's data and a chart of it.
TEAM_CELL = """\
import duckdb
from matplotlib.figure import Figure

from impact import plots

units = result.spec.resolve(result.spec.data.source) / "units.parquet"
per_platform = duckdb.sql(
    f"SELECT platform, count(*) AS units FROM read_parquet('{units}') GROUP BY 1 ORDER BY 1"
).df()
figure = Figure(figsize=(4, 2.5))
axes = figure.subplots()
axes.bar(per_platform["platform"], per_platform["units"])
axes.set_title("Units per platform (checkout team)")
plots.Chart(figure, "units per platform: " + ", ".join(per_platform["platform"]))
"""


def _add_team_cell(template: Path, source: str, *, may_fail: bool = True) -> None:
    notebook = nbformat.read(template, as_version=4)
    closing = next(i for i, c in enumerate(notebook.cells) if "impact-closing" in _tags(c))
    tags = [team_templates.TEAM_TAG] + (["raises-exception"] if may_fail else [])
    notebook.cells.insert(closing, nbformat.v4.new_code_cell(source, metadata={"tags": tags}))
    nbformat.write(notebook, template)


def _select(spec: Path, value: str) -> None:
    spec.write_text(spec.read_text() + f"template: {value}\n")


@pytest.fixture(scope="module")
def builtin_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("builtin")
    demo_launch(root, units=4000, lock=True)
    done = impact_cli("review", "specs/demo-checkout.yaml", "--today", TODAY, cwd=root)
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo launch with a team template made by the CLI, a team cell added, selected by name."""
    root = tmp_path_factory.mktemp("team")
    spec = demo_launch(root, units=4000, lock=True)
    made = impact_cli("template", "new", "checkout-team", "--from", "experiment", cwd=root)
    assert made.returncode == 0, made.stderr
    _add_team_cell(root / "templates" / "checkout-team.ipynb", TEAM_CELL)
    _select(spec, "checkout-team")
    return root


def _verdict(root: Path, label: str = "56d") -> dict[str, Any]:
    return json.loads((root / "reports" / "demo-checkout" / f"{label}.json").read_text())


def test_review_runs_the_team_template_with_the_builtin_numbers(
    team: Path, builtin_run: Path
) -> None:
    done = impact_cli("review", "specs/demo-checkout.yaml", "--today", TODAY, cwd=team)
    assert done.returncode == 0, done.stderr
    assert verdict_numbers(_verdict(team)) == verdict_numbers(_verdict(builtin_run))
    html = (team / "reports" / "demo-checkout" / "56d.html").read_text()
    assert "More from the team" in html
    assert 'alt="units per platform: android, ios"' in html
    assert "Your team&#x27;s section" not in html and "Your team's section" not in html


def test_run_due_runs_the_team_template(team: Path, builtin_run: Path) -> None:
    done = impact_cli("run", "specs", "--due", "--today", TODAY, "--output-dir", "due", cwd=team)
    assert done.returncode == 0, done.stdout + done.stderr
    assert verdict_numbers(_verdict(team / "due")) == verdict_numbers(_verdict(builtin_run))
    html = (team / "due" / "reports" / "demo-checkout" / "56d.html").read_text()
    assert "Units per platform" in html or "units per platform" in html


def test_plain_papermill_runs_the_team_template_the_same_way(
    team: Path, builtin_run: Path, tmp_path: Path
) -> None:
    executed = tmp_path / "team.ipynb"
    papermill.execute_notebook(
        str(team / "templates" / "checkout-team.ipynb"),
        str(executed),
        parameters={
            "spec_path": str(team / "specs" / "demo-checkout.yaml"),
            "checkpoint": "56d",
            "today": TODAY,
            "data_source": None,
        },
        kernel_name="python3",
        progress_bar=False,
        cwd=str(team / "templates"),
    )
    verdict = runner.extract(executed)
    assert verdict_numbers(verdict) == verdict_numbers(_verdict(builtin_run))


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("nowhere", "template: no templates/nowhere.ipynb in"),
        ("../templates/missing.ipynb", "missing.ipynb is not a notebook file"),
        ("Two Words", 'template: "Two Words" is neither a template name'),
    ],
)
def test_a_template_that_cannot_be_found_is_bad_input(
    tmp_path: Path, value: str, words: str
) -> None:
    spec = demo_launch(tmp_path, units=2000)
    _select(spec, f'"{value}"')
    done = impact_cli("review", "specs/demo-checkout.yaml", "--today", TODAY, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert words in done.stderr and done.stderr.count("\n") == 1
    assert not (tmp_path / "reports").exists()
