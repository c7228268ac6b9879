"""Team templates through the real CLI: made with `impact template new`, selected by a spec's
`template:`, checked before and after running, their own cells allowed to fail."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from conftest import impact_cli

from impact import team_templates


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
