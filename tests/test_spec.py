"""The launch spec: format rules, signs, durations and one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO_SPEC, write_spec

from impact import spec
from impact.errors import SpecError


def test_demo_spec_loads() -> None:
    loaded = spec.load(DEMO_SPEC)
    assert loaded.id == "demo-checkout"
    assert loaded.reviews == [28, 56]
    assert loaded.control == "control" and loaded.treatment == "treatment"
    primary = loaded.metrics.primary
    assert primary is not None and primary.target == spec.Effect(0.02, False, 1)
    assert loaded.resolve("../data/demo") == DEMO_SPEC.parent.parent / "data" / "demo"
    assert loaded.on_no_effect == "revert"


@pytest.mark.parametrize(
    ("text", "days"), [("14d", 14), ("4w", 28), (" 2w ", 14), ("56d", 56), ("1d", 1)]
)
def test_durations(text: str, days: int) -> None:
    assert spec.parse_duration(text) == days
    assert spec.format_duration(days) == f"{days}d"


@pytest.mark.parametrize("text", ["14", "two weeks", "0d", "-3d", "3m", ""])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        spec.parse_duration(text)


@pytest.mark.parametrize(
    ("written", "effect"),
    [
        ("+0.02", spec.Effect(0.02, False, 1)),
        (0.02, spec.Effect(0.02, False, 0)),
        (-0.02, spec.Effect(0.02, False, -1)),
        ("+6%", spec.Effect(0.06, True, 1)),
        ("6%", spec.Effect(0.06, True, 0)),
        ("-1.5%", spec.Effect(0.015, True, -1)),
    ],
)
def test_effects_keep_their_sign(
    tmp_path: Path, spec_dict: dict[str, Any], written: object, effect: spec.Effect
) -> None:
    spec_dict["metrics"]["primary"]["target"] = written
    if effect.sign == -1:
        spec_dict["metrics"]["primary"]["direction"] = "decrease"
    text = write_spec(tmp_path, spec_dict).read_text()
    # yaml.safe_dump quotes "+0.02"; write it bare as a person would.
    path = write_spec(tmp_path, text.replace("'", ""))
    primary = spec.load(path).metrics.primary
    assert primary is not None and primary.target == effect


def test_plus_sign_read_from_bare_yaml(tmp_path: Path) -> None:
    text = DEMO_SPEC.read_text().replace("direction: increase", "direction: decrease", 1)
    with pytest.raises(SpecError, match=r"metrics\.primary: target \+0\.02 contradicts direction"):
        spec.load(write_spec(tmp_path, text))


def _set(document: dict[str, Any], path: str, value: object) -> None:
    keys = path.split(".")
    for key in keys[:-1]:
        document = document[int(key)] if key.isdigit() else document[key]  # type: ignore[index]
    if value is _DELETE:
        del document[keys[-1]]
    else:
        document[keys[-1]] = value


_DELETE = object()

BAD = [
    (
        "tagret typo",
        "metrics.primary.tagret",
        0.02,
        r"metrics\.primary\.tagret: unknown key; did you mean \"target\"\?",
    ),
    ("unknown top key", "ownr", "x", r"ownr: unknown key; did you mean \"owner\"\?"),
    ("missing primary", "metrics.primary", _DELETE, r"an experiment needs metrics\.primary"),
    ("missing title", "title", _DELETE, r"title: is required"),
    (
        "unknown kind",
        "metrics.primary.kind",
        "propotion",
        r"metrics\.primary\.kind: \"propotion\" is not allowed",
    ),
    (
        "wrong type",
        "decision.min_units",
        "many",
        r"decision\.min_units: \"many\" is the wrong type",
    ),
    ("alpha > 1", "decision.alpha", 5, r"decision\.alpha: 5 must be between 0 and 1"),
    ("alpha 0", "decision.alpha", 0, r"decision\.alpha: 0 must be between 0 and 1"),
    ("three arms", "data.split", {"a": 0.3, "b": 0.3, "c": 0.4}, r"data\.split: has 3 arms"),
    (
        "split sum",
        "data.split",
        {"control": 0.5, "treatment": 0.6},
        r"data\.split: shares sum to 1\.1",
    ),
    ("unknown control", "data.control", "ctrl", r"data\.control \"ctrl\" is not an arm"),
    (
        "reviews out of order",
        "reviews",
        ["56d", "28d"],
        r"reviews: \[56d, 28d\] must be in increasing order",
    ),
    ("reviews repeated", "reviews", ["28d", "4w"], r"must be in increasing order"),
    (
        "bad duration",
        "metrics.primary.window",
        "14 days",
        r"metrics\.primary\.window: \"14 days\" is not a duration",
    ),
    (
        "target sign",
        "metrics.primary.target",
        -0.02,
        r"target -0\.02 contradicts direction: increase",
    ),
    (
        "margin sign",
        "metrics.guardrails.0.margin",
        -0.005,
        r"margin -0\.005 is in the good direction",
    ),
    (
        "target text",
        "metrics.primary.target",
        "+2pp",
        r"\"\+2pp\" is not a number or a percentage; write \+0\.02 \(\+2 percentage points as a "
        r"share\), or a relative change such as \+6%",
    ),
    ("target zero", "metrics.primary.target", 0, r"must not be zero"),
    ("bad id", "id", "One Page", r"id: Value error|id: \"One Page\" is not a valid id"),
    ("no window", "metrics.primary.window", _DELETE, r"needs a window"),
    ("event and column", "metrics.primary.column", "converted", r"exactly one of event"),
    ("mean without value", "metrics.secondary.0.value", _DELETE, r"needs value: sum, count or max"),
    ("guardrail margin", "metrics.guardrails.0.margin", _DELETE, r"needs a margin"),
    ("duplicate name", "metrics.secondary.0.name", "refund_rate", r"\"refund_rate\" is used twice"),
    ("version", "spec_version", 2, r"spec_version: 2 is not supported"),
    ("baseline share", "metrics.primary.baseline", 32, r"baseline 32 must be a share"),
    (
        "ratio without sides",
        "metrics.primary.kind",
        "ratio",
        r"a ratio needs numerator and denominator",
    ),
    ("cap on a proportion", "metrics.primary.cap", 0.99, r"cap applies to means and ratios"),
    (
        "cap outside (0.5, 1)",
        "metrics.secondary.0.cap",
        1.5,
        r"cap 1\.5 must be a quantile between 0\.5 and 1",
    ),
    (
        "cap at 0.5",
        "metrics.secondary.0.cap",
        0.5,
        r"cap 0\.5 must be a quantile between 0\.5 and 1",
    ),
    (
        "ratio with an event",
        "metrics.secondary.2.event",
        "purchase",
        r"a ratio names its events in numerator and denominator",
    ),
    (
        "ratio without window",
        "metrics.secondary.2.window",
        _DELETE,
        r"a ratio metric needs a window",
    ),
    ("baseline_sd negative", "metrics.primary.baseline_sd", -1, r"baseline_sd -1 must be positive"),
    ("prepost with arms", "design", "prepost", r"data\.control belongs to experiments"),
    (
        "experiment without kind",
        "metrics.primary.kind",
        _DELETE,
        r"metrics\.primary: kind is required",
    ),
    (
        "controls in an experiment",
        "metrics.primary.controls",
        ["x"],
        r"controls belongs to design: prepost",
    ),
    ("series in an experiment", "data.series", "daily", r"data\.series belongs to design: prepost"),
    (
        "adoption without thresholds",
        "adoption",
        {"feature_event": "x"},
        r"adoption\.thresholds: is required",
    ),
    ("other sql url", "data.source", "mysql://db/x", r"a \"mysql://\" URL is not available yet"),
    (
        "port not a number",
        "data.source",
        "postgresql://u:pw@127.0.0.1:abc/db",
        r"data\.source: its port is not a number from 0 to 65535; write postgresql://user@host",
    ),
    (
        "start before launch",
        "data.start",
        "2026-08-01",
        r"data\.start 2026-08-01 is before launch_date",
    ),
    ("rename unknown", "data.columns", {"user": "uid"}, r"\"user\" is not a contract column"),
    (
        "currency without code",
        "metrics.primary.format",
        "currency",
        r"format currency needs unit: the currency's code, such as USD",
    ),
    ("unknown format", "metrics.secondary.0.format", "money", r"format"),
    ("unit on two lines", "metrics.secondary.0.unit", "a\nb", r"unit must be a short word"),
]


@pytest.mark.parametrize(("case", "field", "value", "message"), BAD, ids=[row[0] for row in BAD])
def test_bad_specs(
    tmp_path: Path, spec_dict: dict[str, Any], case: str, field: str, value: object, message: str
) -> None:
    _set(spec_dict, field, value)
    path = write_spec(tmp_path, spec_dict)
    with pytest.raises(SpecError) as raised:
        spec.load(path)
    text = str(raised.value)
    assert text.startswith(f"{path}: ")
    assert "\n" not in text
    assert raised.match(message)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: [unclosed\n", r"line 2, column 1: invalid YAML \(expected ',' or ']'"),
        ("- a\n- list\n", r"a spec is a YAML mapping"),
        ("", r"is empty; a spec starts with spec_version: 1"),
        ("spec_version: 1\nid: x\n\tbad: tab\n", r"invalid YAML"),
    ],
)
def test_malformed_yaml(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        spec.load(write_spec(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"no_such\.yaml: no such spec file"):
        spec.load(tmp_path / "no_such.yaml")


def test_a_mistyped_spec_path_gets_the_nearest_spec(tmp_path: Path) -> None:
    """Found by a new user: a typo in a spec's name got no 'did you mean'."""
    (tmp_path / "demo-checkout.yaml").write_text("id: x\n")
    with pytest.raises(
        SpecError,
        match=r"demo-checkot\.yaml: no such spec file; did you mean .*/demo-checkout\.yaml\?$",
    ):
        spec.load(tmp_path / "demo-checkot.yaml")
    with pytest.raises(SpecError, match=r"elsewhere\.yaml: no such spec file; check the path$"):
        spec.load(tmp_path / "elsewhere.yaml")
    with pytest.raises(SpecError, match=r"no such spec file; check the path$"):
        spec.load(tmp_path / "no-folder" / "demo-checkout.yaml")


def test_python_tags_are_refused(tmp_path: Path) -> None:
    text = "spec_version: 1\nid: !!python/object/apply:os.system ['echo hi']\n"
    with pytest.raises(SpecError, match="invalid YAML"):
        spec.load(write_spec(tmp_path, text))


def test_every_problem_is_kept(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    spec_dict["decision"]["alpha"] = 2
    spec_dict["decision"]["power"] = 2
    with pytest.raises(SpecError, match=r"\(and 1 more\)") as raised:
        spec.load(write_spec(tmp_path, spec_dict))
    assert len(raised.value.problems) == 2


def test_column_metric(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    spec_dict["metrics"]["primary"] = {
        "name": "retained",
        "kind": "proportion",
        "column": "retention_7",
        "target": 0.01,
        "direction": "increase",
    }
    primary = spec.load(write_spec(tmp_path, spec_dict)).metrics.primary
    assert primary is not None and primary.column == "retention_7" and primary.window is None


def test_validate_prints_every_problem_once_with_its_file(
    tmp_path: Path, spec_dict: dict[str, Any]
) -> None:
    from click.testing import CliRunner

    from impact.cli import main

    spec_dict["decision"]["alpha"] = 2
    spec_dict["decision"]["power"] = 2
    path = write_spec(tmp_path, spec_dict)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {path}: decision.alpha: 2 must be between 0 and 1, such as 0.05",
        f"error: {path}: decision.power: 2 must be between 0 and 1, such as 0.05",
    ]
    broken = write_spec(tmp_path, "id: [unclosed\n", "broken.yaml")
    result = CliRunner().invoke(main, ["validate", str(broken)])
    assert result.stderr.count(str(broken)) == 1


def test_validate_writes_targets_and_margins_in_the_metrics_units(
    tmp_path: Path, spec_dict: dict[str, Any]
) -> None:
    """Found by a new user: validate printed "margin +0.5" where the report says "+0.500
    orders"; a threshold reads as the report writes it, signed the way it counts."""
    from click.testing import CliRunner

    from impact.cli import main

    spec_dict["metrics"]["guardrails"].append(
        {
            "name": "orders_per_user",
            "kind": "mean",
            "event": "purchase",
            "value": "count",
            "window": "14d",
            "direction": "increase",
            "margin": 0.5,
            "format": "count",
            "unit": "orders",
        }
    )
    result = CliRunner().invoke(main, ["validate", str(write_spec(tmp_path, spec_dict))])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "  primary: checkout_conversion (proportion), target +2.00 pp, increase is good" in lines
    assert "  guardrail: refund_rate, margin +0.500 pp" in lines  # worse is up
    assert "  guardrail: orders_per_user, margin -0.500 orders" in lines  # worse is down


def test_percentage_points_get_the_share_to_write(
    tmp_path: Path, spec_dict: dict[str, Any]
) -> None:
    """Found by a new user: margin "+0.5pp" was told to "write +0.02 or +6%", four times the
    margin meant; the hint now converts what was written."""
    spec_dict["metrics"]["guardrails"][0]["margin"] = "+0.5pp"
    with pytest.raises(SpecError, match=r"write \+0\.005 \(\+0\.5 percentage points as a share\)"):
        spec.load(write_spec(tmp_path, spec_dict))
