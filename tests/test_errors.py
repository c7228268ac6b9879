"""The bad-input catalog (docs/errors.md): each kind exits 2 with one line, no traceback.

Every row runs the real command line in-process (click's CliRunner) on a copy of a small demo
launch with one thing broken, and checks the exit code, that stderr is a single line naming
the file, field or column, and that nothing was published.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import DEMO_SPEC, demo_launch, replaced

from impact.cli import main

TODAY = "2026-11-26"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("base")
    demo_launch(root, units=3000)
    return root


Edit = Callable[[Path], None]


def _spec(old: str, new: str) -> Edit:
    def edit(root: Path) -> None:
        path = root / "specs" / "demo-checkout.yaml"
        path.write_text(replaced(path.read_text(), (old, new)))

    return edit


def _units(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Edit:
    def edit(root: Path) -> None:
        path = root / "data" / "demo" / "units.parquet"
        change(pd.read_parquet(path)).to_parquet(path)

    return edit


def _events(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Edit:
    def edit(root: Path) -> None:
        path = root / "data" / "demo" / "events.parquet"
        change(pd.read_parquet(path)).to_parquet(path)

    return edit


def _lock(change: Callable[[str], str]) -> Edit:
    def edit(root: Path) -> None:
        source = DEMO_SPEC.with_name("demo-checkout.lock.json")
        (root / "specs" / source.name).write_text(change(source.read_text()))

    return edit


def _nothing(root: Path) -> None:
    return None


def _remove(name: str) -> Edit:
    def edit(root: Path) -> None:
        (root / "data" / "demo" / name).unlink()

    return edit


def _two_variants(units: pd.DataFrame) -> pd.DataFrame:
    twin = units.iloc[[0]].copy()
    twin["variant"] = "treatment" if units.iloc[0]["variant"] == "control" else "control"
    return pd.concat([units, twin])


def _nan_purchases(root: Path) -> None:
    """Four purchases with a NaN value (not a null, which counts as 0)."""
    path = root / "data" / "demo" / "events.parquet"
    table = pq.read_table(path)
    column = table.column("value")
    missing = column.is_null().to_numpy(zero_copy_only=False)
    values = column.to_numpy(zero_copy_only=False).copy()
    first = np.flatnonzero(np.asarray(table.column("event").to_pylist()) == "purchase")[:4]
    values[first] = np.nan
    index = table.schema.get_field_index("value")
    nan_values = pa.array(values, mask=missing, from_pandas=False)
    pq.write_table(table.set_column(index, "value", nan_values), path)


CATALOG: list[tuple[str, Edit, tuple[str, ...], str]] = [
    # the spec
    (
        "YAML syntax",
        _spec("reviews: [28d, 56d]", "reviews: [28d, 56d"),
        (),
        r"demo-checkout\.yaml: line \d+, column \d+: invalid YAML",
    ),
    (
        "misspelt key",
        _spec("    window: 14d\n    baseline: 0.32", "    windw: 14d\n    baseline: 0.32"),
        (),
        r'metrics\.primary\.windw: unknown key; did you mean "window"\?',
    ),
    (
        "wrong type",
        _spec("min_units: 30", "min_units: many"),
        (),
        r'decision\.min_units: "many" is the wrong type',
    ),
    (
        "alpha outside (0, 1)",
        _spec("alpha: 0.05", "alpha: 1.5"),
        (),
        r"decision\.alpha: 1\.5 must be between 0 and 1",
    ),
    (
        "split not summing to 1",
        _spec("{control: 0.5, treatment: 0.5}", "{control: 0.5, treatment: 0.6}"),
        (),
        r"data\.split: shares sum to 1\.1; they must sum to 1",
    ),
    (
        "three arms",
        _spec("{control: 0.5, treatment: 0.5}", "{control: 0.4, treatment: 0.3, other: 0.3}"),
        (),
        r"data\.split: has 3 arms; write exactly two",
    ),
    (
        "unknown control",
        _spec("control: control\n", "control: baseline\n"),
        (),
        r'data\.control "baseline" is not an arm of data\.split',
    ),
    (
        "reviews out of order",
        _spec("reviews: [28d, 56d]", "reviews: [56d, 28d]"),
        (),
        r"reviews: \[56d, 28d\] must be in increasing order",
    ),
    (
        "target against direction",
        _spec("target: +0.02", "target: -0.02"),
        (),
        r"target -0\.02 contradicts direction: increase",
    ),
    (
        "margin in the good direction",
        _spec("margin: +0.005", "margin: -0.005"),
        (),
        r"margin -0\.005 is in the good direction",
    ),
    (
        "bad duration",
        _spec("    window: 14d\n    baseline: 0.32", "    window: two weeks\n    baseline: 0.32"),
        (),
        r'metrics\.primary\.window: "two weeks" is not a duration',
    ),
    (
        "unknown kind",
        _spec("kind: proportion", "kind: rate"),
        (),
        r'metrics\.primary\.kind: "rate" is not allowed',
    ),
    (
        "cap outside (0.5, 1)",
        _spec("cap: 0.99", "cap: 99"),
        (),
        r"cap 99 must be a quantile between 0\.5 and 1",
    ),
    (
        "duplicate metric",
        _spec("name: purchases_per_user", "name: revenue_per_user"),
        (),
        r'metric name "revenue_per_user" is used twice',
    ),
    (
        "placeholder left",
        _spec("title: One-page checkout on mobile", 'title: "<fill in: what launches>"'),
        (),
        r"title: still a placeholder; replace it with what launches$",
    ),
    (
        "hand-edited lock",
        _lock(lambda text: text.replace('"0.02"', '"0.01"')),
        (),
        r"demo-checkout\.lock\.json: the lock's own hash does not match its content",
    ),
    (
        "unreadable lock",
        _lock(lambda text: text[:100]),
        (),
        r"demo-checkout\.lock\.json: the lock cannot be read",
    ),
    # the data
    (
        "missing source",
        _spec("source: ../data/demo", "source: ../data/nowhere"),
        (),
        r"data/nowhere: data\.source does not exist",
    ),
    (
        "missing table",
        _remove("events.parquet"),
        (),
        r"no table 'events' \(looked for events\.parquet and events\.csv\)",
    ),
    (
        "missing column",
        _units(lambda u: u.drop(columns="exposed_at")),
        (),
        r"units\.parquet: no column 'exposed_at'",
    ),
    (
        "wrong column type",
        _units(lambda u: u.assign(exposed_at=1)),
        (),
        r"units\.parquet: column 'exposed_at' is BIGINT; exposed_at must be a timestamp",
    ),
    (
        "non-numeric value",
        _events(lambda e: e.assign(value=e.value.astype(str))),
        (),
        r"events\.parquet: column 'value' is VARCHAR; value must be numeric",
    ),
    (
        "unparseable timestamps",
        _events(lambda e: e.assign(ts=e.ts.astype(str).where(e.index > 0, "soon"))),
        (),
        r"events\.parquet: column 'ts' has 1 values that are not timestamps, such as 'soon'",
    ),
    (
        "duplicate units",
        _units(lambda u: pd.concat([u, u.iloc[[5]]])),
        (),
        r"units\.parquet: unit '\w+' has 2 rows",
    ),
    (
        "unit in two variants",
        _units(_two_variants),
        (),
        r"units\.parquet: unit '\w+' is in two variants \(control, treatment\)",
    ),
    (
        "unknown variant",
        _units(lambda u: u.replace({"variant": {"treatment": "B"}})),
        (),
        r"column variant has 'B', not an arm of data\.split",
    ),
    (
        "an arm with no units",
        _units(lambda u: u.assign(variant="control")),
        (),
        r"arm 'treatment' of data\.split has no units",
    ),
    (
        "no units after launch",
        _units(lambda u: u.assign(exposed_at=pd.Timestamp("2026-08-01"))),
        (),
        r"no units exposed between 2026-09-01 and 2026-10-27 00:00 UTC",
    ),
    (
        "event with no rows",
        _spec("event: refund", "event: refunds"),
        (),
        r"no rows with event 'refunds' \(metric refund_rate\); did you mean 'refund'\?",
    ),
    ("NaN values", _nan_purchases, (), r"column value has 4 NaN or infinite values"),
    (
        "incomplete data",
        _events(lambda e: e[e.ts < pd.Timestamp("2026-10-20")]),
        (),
        r"data are not complete for the 56d review",
    ),
    # the command line
    (
        "unknown checkpoint",
        _nothing,
        ("--checkpoint", "soon"),
        r'--checkpoint: "soon" is not a duration',
    ),
    (
        "checkpoint in the future",
        _nothing,
        ("--checkpoint", "56d", "--today", "2026-10-01"),
        r"--checkpoint 56d: its as_of 2026-10-27 is after today \(2026-10-01\)",
    ),
    (
        "no review due yet",
        _nothing,
        ("--today", "2026-09-10"),
        r"no review of demo-checkout is due on 2026-09-10: the first \(28d\) is on 2026-09-29",
    ),
    (
        "bad --today",
        _nothing,
        ("--today", "yesterday"),
        r'--today: "yesterday" is not a date; write YYYY-MM-DD',
    ),
]


@pytest.mark.parametrize(
    ("case", "edit", "args", "message"), CATALOG, ids=[row[0] for row in CATALOG]
)
def test_bad_input_catalog(
    base: Path, tmp_path: Path, case: str, edit: Edit, args: tuple[str, ...], message: str
) -> None:
    root = tmp_path / "launch"
    shutil.copytree(base, root)
    edit(root)
    arguments = ["review", str(root / "specs" / "demo-checkout.yaml"), "--output-dir", str(root)]
    if "--today" not in args:
        arguments += ["--today", TODAY]
    result = CliRunner().invoke(main, [*arguments, *args])
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert re.search(message, lines[0]), lines[0]
    assert result.stdout == ""
    assert not (root / "reports").exists()


def test_missing_spec_path() -> None:
    result = CliRunner().invoke(main, ["review", "no/such/spec.yaml"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: no/such/spec.yaml: no such spec file; check the path"


def test_catalog_is_documented() -> None:
    documented = (Path(__file__).resolve().parent.parent / "docs" / "errors.md").read_text()
    missing = [case for case, *_ in CATALOG if f"| {case} |" not in documented]
    assert not missing, missing
    assert len(CATALOG) >= 25
    json.dumps([case for case, *_ in CATALOG])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["amend", "x.yaml"], "error: Missing option '--reason' (see `impact amend --help`)\n"),
        (["review"], "error: Missing argument 'SPEC' (see `impact review --help`)\n"),
        (
            ["review", "x.yaml", "--foo"],
            "error: No such option '--foo' (see `impact review --help`)\n",
        ),
    ],
)
def test_a_usage_mistake_is_one_line_naming_the_command_s_help(
    args: list[str], expected: str
) -> None:
    """Found by a new user: a missing --reason printed click's usage, hint and error on three
    lines, where every other mistake is one line."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "impact"), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stderr, done.stdout) == (2, expected, "")
