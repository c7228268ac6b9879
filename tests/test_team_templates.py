"""Team templates through the real CLI: made with `impact template new`, selected by a spec's
`template:`, checked before and after running, their own cells allowed to fail."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import papermill
import pytest
from conftest import ROOT, demo_launch, impact_cli, verdict_numbers

import impact
from impact import registry, review, runner, seal, team_templates

PAPERMILL_NOTE = "papermill-error-cell-tag"  # papermill's red notes where a notebook failed


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
    # a name is looked up only in templates/: the message gives the path to set instead
    assert "set template: to its path relative to the spec" in first.stdout
    assert "such as ../t/growth.ipynb" in first.stdout
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


def _docs_team_cell() -> str:
    """The team's cell docs/notebooks.md shows: a query of the launch's data and a chart."""
    text = (ROOT / "docs" / "notebooks.md").read_text()
    section = text.split("## In a team's cell: the parameters and the data", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


TEAM_CELL = _docs_team_cell()


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


def _numbers(verdict: dict[str, Any]) -> dict[str, Any]:
    """verdict.json's numbers (conftest.verdict_numbers) without which template ran."""
    return {k: v for k, v in verdict_numbers(verdict).items() if not k.startswith(".template.")}


def _verdict(root: Path, label: str = "56d") -> dict[str, Any]:
    return json.loads((root / "reports" / "demo-checkout" / f"{label}.json").read_text())


def test_review_runs_the_team_template_with_the_builtin_numbers(
    team: Path, builtin_run: Path
) -> None:
    done = impact_cli("review", "specs/demo-checkout.yaml", "--today", TODAY, cwd=team)
    assert done.returncode == 0, done.stderr
    assert _numbers(_verdict(team)) == _numbers(_verdict(builtin_run))
    assert _verdict(team)["sections_failed"] == _verdict(builtin_run)["sections_failed"] == []
    html = (team / "reports" / "demo-checkout" / "56d.html").read_text()
    assert "More from the team" in html
    assert 'alt="units per platform: android, ios"' in html
    assert "Your team&#x27;s section" not in html and "Your team's section" not in html
    # the kept notebook: one intro, and the team's note as the team wrote it (a new user found
    # the note replaced by a second copy of the intro)
    kept = nbformat.read(team / "notebooks" / "demo-checkout" / "56d.ipynb", as_version=4)
    markdown = [cell.source for cell in kept.cells if cell.cell_type == "markdown"]
    assert sum(text.startswith("# Impact review:") for text in markdown) == 1
    assert any(text.startswith("## Your team's section") for text in markdown)


def test_run_due_runs_the_team_template(team: Path, builtin_run: Path) -> None:
    done = impact_cli("run", "specs", "--due", "--today", TODAY, "--output-dir", "due", cwd=team)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _numbers(_verdict(team / "due")) == _numbers(_verdict(builtin_run))
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
    assert _numbers(verdict) == _numbers(_verdict(builtin_run))
    extracted = impact_cli("extract", str(executed), cwd=tmp_path)
    assert extracted.returncode == 0 and extracted.stderr == "", extracted.stderr
    assert json.loads(extracted.stdout)["template"] == verdict["template"]


def test_extract_names_the_notebook_papermill_ran_not_the_one_the_spec_selects(
    team: Path, builtin_run: Path, tmp_path: Path
) -> None:
    # a new user ran the team's notebook with plain papermill for a spec that selects the
    # built-in template: verdict.json named the built-in template, not the notebook that ran
    executed = tmp_path / "ran.ipynb"
    papermill.execute_notebook(
        str(team / "templates" / "checkout-team.ipynb"),
        str(executed),
        parameters={
            "spec_path": str(builtin_run / "specs" / "demo-checkout.yaml"),
            "checkpoint": "56d",
            "today": TODAY,
        },
        kernel_name="python3",
        progress_bar=False,
        cwd=str(team / "templates"),
    )
    done = impact_cli("extract", str(executed), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    template = json.loads(done.stdout)["template"]
    ran = team / "templates" / "checkout-team.ipynb"
    assert template == {
        "name": "checkout-team",
        "team": True,
        "path": Path(os.path.relpath(ran, builtin_run / "specs")).as_posix(),
        "sha256": team_templates.sha256(ran),
        "selected": _verdict(builtin_run)["template"],
    }
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "ran.ipynb ran" in done.stderr and "checkout-team.ipynb" in done.stderr
    assert "not the template the spec selects (impact/templates/experiment.ipynb)" in done.stderr
    # the notebook it ran is gone: the payload's template stays, and extract says it cannot check
    moved = tmp_path / "elsewhere.ipynb"
    notebook = nbformat.read(executed, as_version=4)
    notebook.metadata.papermill.input_path = str(tmp_path / "gone.ipynb")
    nbformat.write(notebook, moved)
    gone = impact_cli("extract", str(moved), cwd=tmp_path)
    assert gone.returncode == 0, gone.stderr
    assert json.loads(gone.stdout)["template"] == _verdict(builtin_run)["template"]
    assert "gone.ipynb, which papermill ran, is not there" in gone.stderr


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


# ---------------------------------------------------------------- the verdict stays the library's


def _variant(root: Path, name: str, change: Callable[[nbformat.NotebookNode], None]) -> Path:
    """A copy of the demo spec in its own folder, selecting a changed copy of the team template."""
    notebook = nbformat.read(root / "templates" / "checkout-team.ipynb", as_version=4)
    change(notebook)
    nbformat.write(notebook, root / "templates" / f"{name}.ipynb")
    folder = root / f"specs-{name}"
    folder.mkdir()
    text = (root / "specs" / "demo-checkout.yaml").read_text()
    spec = folder / "demo-checkout.yaml"
    spec.write_text(text.replace("template: checkout-team", f"template: {name}"))
    return spec


def _insert_team_cell(source: str) -> Callable[[nbformat.NotebookNode], None]:
    def change(notebook: nbformat.NotebookNode) -> None:
        closing = next(i for i, c in enumerate(notebook.cells) if "impact-closing" in _tags(c))
        cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["impact-team"]})
        notebook.cells.insert(closing, cell)

    return change


def _drop_payload_cell(notebook: nbformat.NotebookNode) -> None:
    notebook.cells = [c for c in notebook.cells if "impact-payload" not in _tags(c)]


CHANGED_OUTCOME = """\
import dataclasses

result = dataclasses.replace(result, verdict=dataclasses.replace(result.verdict, outcome="revert"))
"""


def test_a_template_that_changes_the_outcome_fails_and_publishes_nothing(team: Path) -> None:
    spec = _variant(team, "changed-outcome", _insert_team_cell(CHANGED_OUTCOME))
    done = impact_cli("review", str(spec), "--today", TODAY, "--output-dir", "changed", cwd=team)
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert (
        "error: demo-checkout 56d: the template changed-outcome.ipynb displayed a verdict that "
        "is not the library's review of this spec, checkpoint and clock: outcome 'revert' "
        "where the review found 'iterate'"
    ) in done.stderr
    assert "nothing was published" in done.stderr
    assert not (team / "changed" / "reports" / "demo-checkout").exists()
    assert list((team / "changed" / "notebooks" / "demo-checkout" / "failed").glob("*.ipynb"))


def test_a_payload_of_another_checkpoint_is_refused_under_the_reviews_checkpoint(
    team: Path,
) -> None:
    # the refusal's line began with the payload's checkpoint (28d), not the review's (56d)
    other_look = 'result = review.run(spec_path, "28d", today, data_source)'
    spec = _variant(team, "other-look", _insert_team_cell(other_look))
    done = impact_cli("review", str(spec), "--today", TODAY, "--output-dir", "other", cwd=team)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(
        "error: demo-checkout 56d: the template other-look.ipynb displayed a verdict that is "
        "not the library's review of this spec, checkpoint and clock: checkpoint '28d' where "
        "the review found '56d'"
    ), done.stderr
    assert not (team / "other" / "reports" / "demo-checkout").exists()
    # another clock is named as such (it was "its numbers or reasons differ")
    other_clock = 'result = review.run(spec_path, checkpoint, "2026-11-20", data_source)'
    spec = _variant(team, "other-clock", _insert_team_cell(other_clock))
    done = impact_cli("review", str(spec), "--today", TODAY, "--output-dir", "clock", cwd=team)
    assert done.returncode == 1, done.stderr
    assert "clock (today) '2026-11-20' where the review found '2026-11-26'" in done.stderr


def test_a_template_without_its_payload_cell_is_refused_before_it_runs(team: Path) -> None:
    spec = _variant(team, "no-payload", _drop_payload_cell)
    done = impact_cli("review", str(spec), "--today", TODAY, "--output-dir", "nopay", cwd=team)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"error: {team / 'templates' / 'no-payload.ipynb'}: no code cell tagged impact-payload; "
        "a template needs exactly one, the verdict payload cell, display.payload(result), as "
        "impact template new writes it\n"
    )
    assert not (team / "nopay" / "reports").exists() and not (team / "nopay" / "notebooks").exists()


def test_a_template_made_for_another_design_is_refused(team: Path, tmp_path: Path) -> None:
    made = impact_cli("template", "new", "series", "--from", "prepost", cwd=team)
    assert made.returncode == 0, made.stderr
    spec = team / "specs" / "demo-checkout.yaml"
    other = tmp_path / "specs" / "demo-checkout.yaml"
    other.parent.mkdir()
    other.write_text(
        spec.read_text()
        .replace("template: checkout-team", f"template: {team / 'templates' / 'series.ipynb'}")
        .replace("source: ../data/demo", f"source: {team / 'data' / 'demo'}")
    )
    done = impact_cli("review", str(other), "--today", TODAY, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert (
        "series.ipynb was made from the prepost template and this spec's design is experiment"
        in done.stderr
    )


def test_the_template_and_its_sha256_are_in_verdict_json_and_the_provenance(team: Path) -> None:
    done = impact_cli("review", "specs/demo-checkout.yaml", "--today", TODAY, cwd=team)
    assert done.returncode == 0, done.stderr
    verdict = _verdict(team)
    runner.validate_verdict(verdict)
    digest = team_templates.sha256(team / "templates" / "checkout-team.ipynb")
    assert verdict["template"] == {
        "name": "checkout-team",
        "team": True,
        "path": "../templates/checkout-team.ipynb",
        "sha256": digest,
    }
    html = (team / "reports" / "demo-checkout" / "56d.html").read_text()
    assert (
        f"checkout-team (team template, ../templates/checkout-team.ipynb), sha256 {digest}" in html
    )
    # registered before the template was selected: a words-only change, never deciding, and
    # said as such (a new user read "changed since it was registered (sha256 none then)")
    assert verdict["registration"]["template_sha256"] is None
    assert "selected after registration (none was registered)" in html
    assert "changed since registration" not in html
    registration = next(c for c in verdict["checks"] if c["name"] == "registration")
    assert (
        "the team template (checkout-team) was selected after registration"
        in (registration["detail"])
    )
    assert "sha256 none" not in registration["detail"]
    assert verdict["outcome"] == "iterate"  # as the built-in template's, 4,000 units


def test_a_template_changed_after_registration_is_shown_not_deciding(tmp_path: Path) -> None:
    spec_path = demo_launch(tmp_path, units=2000)
    made = impact_cli("template", "new", "t", "--from", "experiment", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    _select(spec_path, "t")
    spec = impact.load(spec_path)
    registry.register(spec, now=dt.datetime(2026, 8, 20, 10, tzinfo=dt.UTC))
    template = tmp_path / "templates" / "t.ipynb"
    registered = team_templates.sha256(template)
    assert registry.read_lock(registry.lock_path(spec))["entries"][0]["template"] == {
        "path": "t",
        "sha256": registered,
    }
    assert registry.check(spec).template_changed is False
    _add_team_cell(template, "1 + 1")
    state = registry.check(spec)
    assert state.template_changed and state.template_sha256 == registered
    assert not state.tampered and state.to_json()["template_changed"] is True
    check = review.registration_check(spec, state)
    assert check.passed and not check.blocking
    assert "the team template (t) changed since it was registered" in check.detail
    entry = registry.amend(spec, reason="a new chart", now=dt.datetime(2026, 8, 21, tzinfo=dt.UTC))
    assert [c["field"] for c in entry["changes"]] == ["template (file sha256)"]
    assert registry.check(spec).template_changed is False


# ---------------------------------------------------------------- a team's cells may fail


def _failing_cells(notebook: nbformat.NotebookNode) -> None:
    """A team cell that fails (tagged as impact template new tags it), one that fails
    untagged, and a team cell after them that works."""
    closing = next(i for i, c in enumerate(notebook.cells) if "impact-closing" in _tags(c))
    notebook.cells[closing:closing] = [
        nbformat.v4.new_code_cell(
            'raise ValueError("the revenue table is <gone>")',
            metadata={"tags": ["impact-team", "raises-exception"]},
        ),
        nbformat.v4.new_code_cell("1 / 0", metadata={"tags": ["impact-team"]}),
        nbformat.v4.new_code_cell(
            'print("after the failures")', metadata={"tags": ["impact-team"]}
        ),
    ]


def test_a_failing_team_cell_keeps_the_verdict_and_exits_5(team: Path, builtin_run: Path) -> None:
    spec = _variant(team, "failing", _failing_cells)
    done = impact_cli("review", str(spec), "--today", TODAY, "--output-dir", "failing", cwd=team)
    assert done.returncode == 5, done.stderr
    assert "demo-checkout 56d: iterate" in done.stdout
    assert done.stderr.count("warning: a team section failed") == 2
    verdict = _verdict(team / "failing")
    runner.validate_verdict(verdict)
    assert _numbers({k: v for k, v in verdict.items() if k != "sections_failed"}) == _numbers(
        _verdict(builtin_run)
    )
    assert [(s["ename"], s["evalue"]) for s in verdict["sections_failed"]] == [
        ("ValueError", "the revenue table is <gone>"),
        ("ZeroDivisionError", "division by zero"),
    ]
    kept = nbformat.read(team / "failing" / "notebooks" / "demo-checkout" / "56d.ipynb", 4)
    first = verdict["sections_failed"][0]
    assert kept.cells[first["cell"]].source.startswith("raise ValueError")  # counted from 0
    assert first["number"] == first["cell"] + 1 and first["section"] == "More from the team"
    where = f'cell {first["number"]} (counting from 1, in the section "More from the team")'
    assert (
        f"warning: a team section failed: {where}: ValueError: the revenue table is <gone>; "
        "the report shows it, the verdict stands\n"
    ) in done.stderr
    summary = (team / "failing" / "reports" / "demo-checkout" / "56d.md").read_text()
    inert = "the revenue table is \u2039gone\u203a"  # message._text: <> are inert in Slack
    assert f"⚠ A team section failed: {where}: ValueError: {inert}" in summary
    html = (team / "failing" / "reports" / "demo-checkout" / "56d.html").read_text()
    assert html.count("⚠ This section failed") == 2
    assert "ValueError: the revenue table is &lt;gone&gt;" in html
    assert "<gone>" not in html and "Traceback" not in html
    assert "after the failures" in html and "Provenance" in html
    assert any(o.get("output_type") == "error" for c in kept.cells for o in c.get("outputs", []))


def test_plain_papermill_carries_on_past_a_tagged_team_cell(team: Path, tmp_path: Path) -> None:
    def tagged_failure(notebook: nbformat.NotebookNode) -> None:
        _insert_team_cell("1 / 0")(notebook)
        cell = next(c for c in notebook.cells if c.source == "1 / 0")
        cell.metadata["tags"].append("raises-exception")

    spec = _variant(team, "papermill-failing", tagged_failure)
    executed = tmp_path / "out.ipynb"
    # papermill runs every cell, then raises for the failed one, as impact review exits 5
    with pytest.raises(papermill.PapermillExecutionError, match="ZeroDivisionError"):
        papermill.execute_notebook(
            str(team / "templates" / "papermill-failing.ipynb"),
            str(executed),
            parameters={"spec_path": str(spec), "checkpoint": "56d", "today": TODAY},
            kernel_name="python3",
            progress_bar=False,
            cwd=str(team / "templates"),
        )
    assert runner.extract(executed)["outcome"] == "iterate"  # the payload cell ran after it


def test_seal_keeps_what_each_review_issued_and_forgets_it_once_taken() -> None:
    parameters = {
        "spec_path": "/s.yaml",
        "checkpoint": "56d",
        "today": "2026-11-26",
        "data_source": None,
    }
    seal.clear(parameters)
    for number in range(seal.PER_KEY + 3):
        seal.record("/s.yaml", "56d", dt.date(2026, 11, 26), None, {"n": number})
    seal.record("/s.yaml", "28d", "2026-11-26", None, {"n": "other look"})
    taken = seal.take(parameters)
    assert taken == [{"n": n} for n in range(3, seal.PER_KEY + 3)]  # the latest, by its arguments
    assert seal.take(parameters) == []
    for number in range(seal.KEPT + 5):
        seal.record(f"/{number}.yaml", None, None, None, {})
    assert (
        seal.take({**parameters, "spec_path": "/0.yaml", "checkpoint": None, "today": None}) == []
    )
    assert seal.volatile_removed({"run": {"seconds": 1.0, "started_at": "x", "today": "y"}}) == {
        "run": {"today": "y"}
    }


@pytest.mark.parametrize("changed", [False, True])
def test_a_kernel_run_of_a_team_template_is_checked_by_a_second_review(
    team: Path, changed: bool
) -> None:
    name = "kernel-changed" if changed else "kernel-plain"
    spec = _variant(team, name, _insert_team_cell(CHANGED_OUTCOME if changed else "1 + 1"))
    done = impact_cli(
        "review", str(spec), "--today", TODAY, "--kernel", "python3", "--output-dir", name, cwd=team
    )
    if changed:
        assert done.returncode == 1, done.stderr
        assert "outcome 'revert' where the review found 'iterate'" in done.stderr
        assert not (team / name / "reports" / "demo-checkout").exists()
    else:
        assert done.returncode == 0, done.stderr
        assert _verdict(team / name)["template"]["name"] == name


def test_run_due_publishes_a_launch_whose_team_section_failed_and_exits_5(team: Path) -> None:
    """Two launches due in one specs folder: the one whose team section fails is published
    with the verdict and exits 5; the other is published as usual. In process (CliRunner),
    one review each (the variants register only their final look)."""
    from click.testing import CliRunner

    from impact.cli import main

    spec = _variant(team, "due-failing", _failing_cells)
    text = spec.read_text().replace("reviews: [28d, 56d]", "reviews: [56d]")
    spec.write_text(text)
    other = spec.with_name("other-launch.yaml")
    other.write_text(
        text.replace("id: demo-checkout", "id: other-launch").replace("template: due-failing\n", "")
    )
    (spec.parent / "impact.toml").write_text('[report]\nfooter = "Checkout team"\n')
    output = team / "due-failing"
    done = CliRunner().invoke(
        main,
        ["run", str(spec.parent), "--due", "--today", TODAY, "--output-dir", str(output)],
        catch_exceptions=False,
    )
    assert done.exit_code == 5, done.output
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[1:3]}
    assert rows["other-launch"].split()[1:3] == ["56d", "done"]
    assert rows["other-launch"].split()[3:] == ["iterate"]
    assert rows["demo-checkout"].split()[1:4] == ["56d", "done", "iterate;"]
    failing = json.loads((output / "reports" / "demo-checkout" / "56d.json").read_text())
    number = failing["sections_failed"][0]["number"]
    assert (
        f'team section failed: cell {number} (counting from 1, in the section "More from the '
        'team"): ValueError: the revenue table is <gone>'
    ) in rows["demo-checkout"]
    assert "published: demo-checkout 56d, other-launch 56d" in done.stdout
    assert [s["ename"] for s in failing["sections_failed"]] == ["ValueError", "ZeroDivisionError"]
    report = (output / "reports" / "demo-checkout" / "56d.html").read_text()
    assert report.count("⚠ This section failed") == 2
    fine = json.loads((output / "reports" / "other-launch" / "56d.json").read_text())
    assert fine["template"]["team"] is False and fine["sections_failed"] == []
    assert (
        "This section failed" not in (output / "reports" / "other-launch" / "56d.html").read_text()
    )
    index = (output / "reports" / "index.html").read_text()
    assert '<footer class="impact-look-footer">Checkout team</footer>' in index
    # the failed section stays visible once published: a scheduler's retry found nothing due
    # and `due` said a plain "done iterate" (found by a new user)
    due = CliRunner().invoke(
        main, ["due", str(spec.parent), "--today", TODAY, "--output-dir", str(output)]
    )
    line = next(row for row in due.stdout.splitlines() if row.startswith("demo-checkout"))
    assert f"iterate; team section failed: cell {number}" in line, due.stdout
    # the command as it runs from here (a new user's copy of a bare file name failed)
    assert f"then impact review {spec} --checkpoint 56d --today {TODAY} --output-dir {output}" in (
        line
    )


def _stopped(path: Path) -> Path:
    """A review notebook as plain papermill leaves it when an untagged team cell fails: a
    tagged cell that failed before it, papermill's two error notes, no payload output."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    def error(ename: str, evalue: str) -> list[Any]:
        return [new_output("error", ename=ename, evalue=evalue, traceback=["Traceback ..."])]

    note = {"tags": [PAPERMILL_NOTE]}
    cells = [
        new_markdown_cell("An Exception was encountered at 'In [4]'.", metadata=note),
        new_markdown_cell("# Impact review (experiment)"),
        new_code_cell('spec_path = "specs/x.yaml"', metadata={"tags": ["parameters"]}),
        new_markdown_cell("## More from the team\n\nOur own numbers."),
        new_code_cell("1 / 0", metadata={"tags": ["raises-exception"]}),
        new_markdown_cell("## Revenue by country"),
        new_markdown_cell("Execution using papermill encountered an exception here", metadata=note),
        new_code_cell("frame['country']"),
        new_code_cell("display.payload(result)", metadata={"tags": ["impact-payload"]}),
    ]
    cells[4].outputs = error("ZeroDivisionError", "division by zero")
    cells[7].outputs = error("KeyError", "'country'\nthe frame has: day, arm")
    nbformat.write(new_notebook(cells=cells), path)
    return path


def test_extract_says_where_a_notebook_stopped_before_its_payload(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from impact.cli import main

    path = _stopped(tmp_path / "stopped.ipynb")
    words = (
        f'{path}: the notebook failed at cell 6 (counting from 1, in the section "Revenue by '
        "country\") before it displayed its verdict: KeyError: 'country'; fix that cell and "
        "run the notebook again"
    )
    with pytest.raises(impact.ReviewFailed) as raised:
        runner.extract(path)
    assert str(raised.value) == words
    done = CliRunner().invoke(main, ["extract", str(path)])
    assert done.exit_code == 1
    assert done.stderr == f"error: {words}\n" and done.stdout == ""


def test_extract_refuses_a_verdict_a_team_cell_changed_under_plain_papermill(
    team: Path, tmp_path: Path
) -> None:
    """A new user's forgery: under plain papermill a team cell rebinding result with
    another outcome was extracted with exit 0 ("revert" beside the action "ship")."""
    spec = _variant(team, "papermill-forged", _insert_team_cell(CHANGED_OUTCOME))
    executed = tmp_path / "forged.ipynb"
    papermill.execute_notebook(
        str(team / "templates" / "papermill-forged.ipynb"),
        str(executed),
        parameters={"spec_path": str(spec), "checkpoint": "56d", "today": TODAY},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(team / "templates"),
    )
    done = impact_cli("extract", str(executed), cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == "", done.stdout
    assert done.stderr == (
        f"error: {executed}: the notebook displayed a verdict that is not the library's "
        "review of this spec, checkpoint and clock: outcome 'revert' where the review found "
        "'iterate'; display.payload(result) must show the result the review returned, "
        "unchanged\n"
    )
    # the payload shown twice (another checkpoint's, say) is refused before any review
    notebook = nbformat.read(executed, as_version=4)
    payload_cell = next(c for c in notebook.cells if "impact-payload" in _tags(c))
    payload_cell.outputs = payload_cell.outputs * 2
    nbformat.write(notebook, tmp_path / "twice.ipynb")
    twice = impact_cli("extract", str(tmp_path / "twice.ipynb"), cwd=tmp_path)
    assert twice.returncode == 1
    assert "displayed the verdict payload 2 times" in twice.stderr
    # papermill's record removed: the parameters cells still say what was run (a new user
    # stripped it and got exit 0 with a warning)
    notebook = nbformat.read(executed, as_version=4)
    del notebook.metadata["papermill"]
    nbformat.write(notebook, tmp_path / "stripped.ipynb")
    stripped = impact_cli("extract", str(tmp_path / "stripped.ipynb"), cwd=tmp_path)
    assert stripped.returncode == 1 and stripped.stdout == ""
    assert "outcome 'revert' where the review found 'iterate'" in stripped.stderr
    # and without any parameters, nothing can be checked: refused
    notebook.cells = [
        c for c in notebook.cells if not {"parameters", "injected-parameters"} & set(_tags(c))
    ]
    nbformat.write(notebook, tmp_path / "bare.ipynb")
    bare = impact_cli("extract", str(tmp_path / "bare.ipynb"), cwd=tmp_path)
    assert bare.returncode == 1 and bare.stdout == ""
    assert "cannot be checked against the library's review" in bare.stderr


def test_extract_says_where_it_looked_for_a_spec_it_cannot_find(
    builtin_run: Path, tmp_path: Path
) -> None:
    from click.testing import CliRunner
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from impact.cli import main
    from impact.verdict import MIME_TYPE

    payload = {k: v for k, v in _verdict(builtin_run).items() if k != "sections_failed"}
    cell = new_code_cell("display.payload(result)", metadata={"tags": ["impact-payload"]})
    cell.outputs = [new_output("display_data", data={MIME_TYPE: payload})]
    notebook = new_notebook(cells=[cell])
    notebook.metadata["papermill"] = {
        "parameters": {"spec_path": "specs/elsewhere.yaml", "checkpoint": "56d", "today": TODAY}
    }
    nbformat.write(notebook, tmp_path / "ran.ipynb")
    done = CliRunner().invoke(main, ["extract", str(tmp_path / "ran.ipynb")])
    assert done.exit_code == 2 and done.stdout == ""
    assert done.stderr == (
        f"error: {tmp_path / 'ran.ipynb'}: its spec_path parameter specs/elsewhere.yaml is not "
        "there from this folder, beside the notebook papermill ran, or beside this notebook; "
        "run impact extract in the folder papermill ran it in\n"
    )


def test_extract_of_a_notebook_never_run_says_so(tmp_path: Path) -> None:
    # a new user gave extract the template itself and was told its last cell must display
    # the payload, which it does
    done = impact_cli("extract", str(team_templates.builtin("experiment")), cwd=tmp_path)
    assert done.returncode == 1
    assert "experiment.ipynb: has not been run (no cell has an output)" in done.stderr
    assert done.stderr.count("\n") == 1 and "must display" not in done.stderr


def test_extract_lists_the_failed_sections_as_review_does(
    builtin_run: Path, tmp_path: Path
) -> None:
    """A notebook plain papermill ran past a tagged team cell: impact extract prints its
    payload with sections_failed, counted as in a published notebook."""
    from click.testing import CliRunner
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    from impact.cli import main
    from impact.verdict import MIME_TYPE

    payload = {k: v for k, v in _verdict(builtin_run).items() if k != "sections_failed"}
    spec = builtin_run / "specs" / "demo-checkout.yaml"
    cells = [
        new_code_cell(  # run by hand: no papermill record, the parameters cell's values count
            f'spec_path = "{spec}"\ncheckpoint = "56d"\ntoday = "{TODAY}"\ndata_source = None',
            metadata={"tags": ["parameters"]},
        ),
        new_markdown_cell("An Exception was encountered", metadata={"tags": [PAPERMILL_NOTE]}),
        new_markdown_cell("## More from the team"),
        new_code_cell("1 / 0", metadata={"tags": ["raises-exception"]}),
        new_code_cell("display.payload(result)", metadata={"tags": ["impact-payload"]}),
    ]
    cells[3].outputs = [
        new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])
    ]
    cells[4].outputs = [new_output("display_data", data={MIME_TYPE: payload})]
    nbformat.write(new_notebook(cells=cells), tmp_path / "ran.ipynb")
    done = CliRunner().invoke(main, ["extract", str(tmp_path / "ran.ipynb")])
    assert done.exit_code == 5, done.output  # as impact review exits (a new user found 0)
    assert "warning: a team section failed: cell 3" in done.stderr
    printed = json.loads(done.stdout)
    assert printed["sections_failed"] == [
        {
            "cell": 2,
            "number": 3,
            "section": "More from the team",
            "ename": "ZeroDivisionError",
            "evalue": "division by zero",
        }
    ]
    assert {k: v for k, v in printed.items() if k != "sections_failed"} == payload
    runner.validate_verdict(printed)
