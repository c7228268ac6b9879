"""Bad input in segments and rollout stages: exit 2 with one line, nothing published (the
"Segments and rollout stages" rows of docs/errors.md)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT, demo_launch

from impact.cli import main

TODAY = "2026-11-26"
RAMP = """rollout:
  - {start: 2026-09-01, split: {control: 0.9, treatment: 0.1}}
  - {start: 2026-09-08, split: {control: 0.5, treatment: 0.5}}
"""


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("base")
    demo_launch(root, units=3000)
    return root


def _append(text: str) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        path.write_text(path.read_text() + text)

    return edit


CATALOG = [
    (
        "segment column missing",
        _append("segments: [platfrom]\n"),
        r"units.parquet: segments\[0\] names column 'platfrom', which the units table does "
        r"not have; did you mean 'platform'\?",
    ),
    (
        "segment listed twice",
        _append("segments: [platform, platform]\n"),
        r"segments: platform is listed twice; list each column once",
    ),
    (
        "stage not at launch",
        _append(RAMP.replace("start: 2026-09-01", "start: 2026-09-03")),
        r"rollout\[0\].start: 2026-09-03 is not launch_date 2026-09-01; the first stage "
        r"starts at launch",
    ),
    (
        "stages out of order",
        _append(RAMP.replace("start: 2026-09-08", "start: 2026-08-30")),
        r"rollout\[1\].start: 2026-08-30 must be after the stage before it",
    ),
    (
        "split and last stage differ",
        _append(RAMP.replace("{control: 0.5, treatment: 0.5}}", "{control: 0.6, treatment: 0.4}}")),
        r"data.split: differs from the last stage of rollout",
    ),
]


@pytest.mark.parametrize(("case", "edit", "message"), CATALOG, ids=[row[0] for row in CATALOG])
def test_bad_segments_and_stages(
    base: Path, tmp_path: Path, case: str, edit: Callable[[Path], None], message: str
) -> None:
    root = tmp_path / "launch"
    shutil.copytree(base, root)
    spec = root / "specs" / "demo-checkout.yaml"
    edit(spec)
    result = CliRunner().invoke(
        main, ["review", str(spec), "--output-dir", str(root), "--today", TODAY]
    )
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert re.search(message, lines[0]), lines[0]
    assert not (root / "reports").exists()
    assert not (root / "notebooks").exists()  # bad input is found before a notebook runs


def test_the_catalog_is_documented() -> None:
    documented = (ROOT / "docs" / "errors.md").read_text()
    assert not [case for case, *_ in CATALOG if f"| {case} |" not in documented]
