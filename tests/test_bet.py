"""The bet: an optional RICE block registered with the spec, hashed, never deciding."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import DEMO_SPEC, write_spec

from impact import registry
from impact import spec as spec_module
from impact.errors import SpecError

BEFORE_LAUNCH = dt.datetime(2026, 8, 20, 10, 0, tzinfo=dt.UTC)
AFTER_LAUNCH = dt.datetime(2026, 9, 15, 9, 0, tzinfo=dt.UTC)
BET = {"reach": 40000, "impact": "+0.02", "confidence": 0.7, "effort": 6}


def _with_bet(spec_dict: dict[str, Any], **bet: Any) -> dict[str, Any]:
    spec_dict["bet"] = {**BET, **bet}
    return spec_dict


def test_a_bet_loads_with_its_numbers(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    loaded = spec_module.load(write_spec(tmp_path, _with_bet(spec_dict)))
    assert loaded.bet is not None
    assert loaded.bet.reach == 40000 and loaded.bet.confidence == 0.7 and loaded.bet.effort == 6
    assert loaded.bet.impact == spec_module.Effect(0.02, False, 1)
    assert loaded.bet.planned_rice == pytest.approx(40000 * 0.02 * 0.7 / 6)


def test_no_bet_is_none(spec_dict: dict[str, Any], tmp_path: Path) -> None:
    assert spec_module.load(write_spec(tmp_path, spec_dict)).bet is None


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"confidence": 0.4}, "bet.confidence: 0.4 must be between 0.5 and 1"),
        ({"confidence": 1.2}, "bet.confidence: 1.2 must be between 0.5 and 1"),
        ({"reach": 0}, "bet.reach: 0 must be a positive number of units per quarter"),
        ({"effort": -2}, "bet.effort: -2 must be a positive number of person-weeks"),
        ({"impact": "-0.02"}, "contradicts metrics.primary.direction: increase"),
        ({"impact": "+5%"}, "write bet.impact as metrics.primary.target is written"),
        ({"impact": "2pp"}, "bet.impact"),
        ({"odds": 3}, "bet.odds"),
    ],
)
def test_a_bad_bet_is_one_line_naming_its_field(
    tmp_path: Path, spec_dict: dict[str, Any], change: dict[str, Any], words: str
) -> None:
    bet = {**BET, **change}
    spec_dict["bet"] = bet
    with pytest.raises(SpecError) as caught:
        spec_module.load(write_spec(tmp_path, spec_dict))
    message = str(caught.value)
    assert words in message and "\n" not in message, message
    assert message.startswith(str(tmp_path / "spec.yaml"))


def test_a_bet_needs_a_primary_metric(tmp_path: Path) -> None:
    document = yaml.safe_load((DEMO_SPEC.parent / "demo-adoption.yaml").read_text())
    document["data"]["source"] = str(DEMO_SPEC.parent.parent / "data" / "demo-adoption")
    document["bet"] = BET
    del document["metrics"]
    with pytest.raises(SpecError, match=r"bet: .*metrics\.primary"):
        spec_module.load(write_spec(tmp_path, document))


def test_a_spec_without_a_bet_keeps_its_hash() -> None:
    """The bet grew the format: a spec without one hashes as before (the demo's lock holds)."""
    loaded = spec_module.load(DEMO_SPEC)
    assert "bet" not in registry.canonical(loaded)
    assert registry.check(loaded).changed_fields == []


def test_the_bet_is_hashed_but_never_decides(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    path = write_spec(tmp_path, _with_bet(spec_dict))
    registry.register(spec_module.load(path), now=BEFORE_LAUNCH)
    before = registry.canonical(spec_module.load(path))
    assert before["bet"] == {"reach": 40000, "impact": "0.02", "confidence": 0.7, "effort": 6}
    write_spec(tmp_path, _with_bet(spec_dict, confidence=0.9))
    state = registry.check(spec_module.load(path))
    assert state.spec_sha256 != registry.sha256(before)
    assert state.changed_fields == [
        {"field": "bet.confidence", "old": 0.7, "new": 0.9, "deciding": False}
    ]
    assert state.tampered == []


def test_the_bet_as_registered_and_its_drift_after_launch(
    tmp_path: Path, spec_dict: dict[str, Any]
) -> None:
    """The prediction is the bet as it stood at launch; a later change is drift, shown."""
    path = write_spec(tmp_path, _with_bet(spec_dict))
    registry.register(spec_module.load(path), now=BEFORE_LAUNCH)
    write_spec(tmp_path, _with_bet(spec_dict, confidence=0.9, impact="+0.03"))
    registry.amend(spec_module.load(path), reason="we now think it is bigger", now=AFTER_LAUNCH)
    found = registry.bet_at_launch(spec_module.load(path))
    assert found.registered_before_launch
    assert found.bet == {"reach": 40000, "impact": "0.02", "confidence": 0.7, "effort": 6}
    assert found.drift == [
        {"field": "bet.confidence", "old": 0.7, "new": 0.9},
        {"field": "bet.impact", "old": "0.02", "new": "0.03"},
    ]
    assert registry.bet_drift_lines(spec_module.load(path)) == [
        "demo-checkout: the bet changed after launch (bet.confidence 0.7 -> 0.9, bet.impact "
        "0.02 -> 0.03); the quarter judges the bet registered before launch"
    ]


def test_a_bet_added_after_launch_is_not_registered(
    tmp_path: Path, spec_dict: dict[str, Any]
) -> None:
    path = write_spec(tmp_path, spec_dict)
    registry.register(spec_module.load(path), now=BEFORE_LAUNCH)
    write_spec(tmp_path, _with_bet(spec_dict))
    found = registry.bet_at_launch(spec_module.load(path))
    assert not found.registered_before_launch and found.bet is not None
    assert found.drift == [{"field": "bet", "old": None, "new": found.bet}]


def test_an_unregistered_bet_is_not_registered(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    found = registry.bet_at_launch(spec_module.load(write_spec(tmp_path, _with_bet(spec_dict))))
    assert not found.registered_before_launch and found.drift == []
    assert found.bet == {"reach": 40000, "impact": "0.02", "confidence": 0.7, "effort": 6}


def test_due_and_status_show_the_bet_drift(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    from conftest import impact_cli

    from impact import schedule

    path = write_spec(tmp_path, _with_bet(spec_dict))
    registry.register(spec_module.load(path), now=BEFORE_LAUNCH)
    write_spec(tmp_path, _with_bet(spec_dict, effort=12))
    lines = schedule.drift(spec_module.load(path), tmp_path)
    assert lines == [
        "demo-checkout: the bet changed after launch (bet.effort 6.0 -> 12.0); the quarter "
        "judges the bet registered before launch"
    ]
    shown = impact_cli("status", str(path), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "changed bet.effort: 6.0 -> 12.0 (the bet: shown, never deciding)" in shown.stdout


def _small_launch(root: Path, bet: dict[str, Any] | None) -> Path:
    """A small experiment whose treatment converts more (45 of 300 against 90 of 300)."""
    import launches

    document = launches.spec_document()
    if bet is not None:
        document["bet"] = bet
    table = launches.units(300)
    until = launches.LAUNCH + dt.timedelta(days=57)
    events = launches.events_for(
        table, "purchase", {"control": 45, "treatment": 90}, after=dt.timedelta(days=1)
    )
    import pandas as pd

    events = pd.concat([events, launches.background(table, until=until)], ignore_index=True)
    return launches.write(root, document, table, events)


def test_verdict_json_carries_the_hypothesis_and_the_bet_at_launch(tmp_path: Path) -> None:
    from impact import review, runner

    path = _small_launch(tmp_path, {**BET, "impact": 0.05})
    registry.register(spec_module.load(path), now=BEFORE_LAUNCH)
    document = yaml.safe_load(path.read_text())
    document["bet"]["confidence"] = 0.95
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    payload = review.run(str(path), "56d", "2026-10-28").to_json()
    runner.validate_verdict(payload)
    assert payload["hypothesis"] == "We believe that u p and that s will produce r."
    assert payload["bet"] == {
        "reach": 40000,
        "impact": 0.05,
        "relative": False,
        "direction": "increase",
        "confidence": 0.7,
        "effort": 6,
        "planned_rice": pytest.approx(40000 * 0.05 * 0.7 / 6),
        "registered_before_launch": True,
        "drift": [{"field": "bet.confidence", "old": 0.7, "new": 0.95}],
    }
    assert payload["outcome"] != "invalid"  # the bet never decides


def test_verdict_json_bet_is_null_without_one(tmp_path: Path) -> None:
    from impact import review, runner

    path = _small_launch(tmp_path, None)
    payload = review.run(str(path), "56d", "2026-10-28").to_json()
    runner.validate_verdict(payload)
    assert payload["bet"] is None


def test_the_bet_errors_are_documented() -> None:
    documented = (Path(__file__).resolve().parent.parent / "docs" / "errors.md").read_text()
    for words in (
        "bet.confidence: 0.4 must be between 0.5 and 1",
        "bet.effort: -2 must be a positive",
    ):
        assert words in documented, words


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A reviewed launch whose bet (impact +0.05 at 70%) had its confidence raised after
    launch."""
    from impact import review

    root = tmp_path_factory.mktemp("drifted")
    path = _small_launch(root, {**BET, "impact": 0.05})
    registry.register(spec_module.load(path), now=BEFORE_LAUNCH)
    document = yaml.safe_load(path.read_text())
    document["bet"]["confidence"] = 0.95
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return review.run(str(path), "56d", "2026-10-28")


def test_the_launch_report_shows_the_bet_against_what_was_measured(drifted: Any) -> None:
    from impact import display

    block = display.bet(drifted)
    assert block is not None
    text = repr(block)
    comparison = drifted.primary.comparison
    assert comparison.effect > 0.05  # the measured effect beat the bet
    assert "The bet" in text
    assert (
        "Registered before launch: reach 40,000 units a quarter, impact +5.0 pp on "
        "conversion, confidence 70%, effort 6 person-weeks; planned RICE 233"
    ) in text
    assert (
        f"Measured +15.0 pp ({(1 - comparison.alpha) * 100:.3g}% interval +8.1 to +21.9 pp): "
        f"{comparison.effect / 0.05:.0%} of the bet's impact; the whole interval is beyond the "
        "bet: its impact was underestimated."
    ) in text
    assert "Realized RICE 1,000 (reach x measured impact / effort) against 233 planned" in text
    assert "The bet stated 70% confidence that the target (+3.00 pp) would be met: ✔" in text
    assert "The bet changed after launch: confidence 0.7 → 0.95" in text
    assert "never decides the verdict" in text
    assert 'href="#The-bet"' in display.contents(drifted)._repr_html_()


def test_a_launch_without_a_bet_has_no_bet_section(tmp_path: Path) -> None:
    from impact import display, review

    path = _small_launch(tmp_path, None)
    assert display.bet(review.run(str(path), "56d", "2026-10-28")) is None


def test_the_registration_check_names_a_bet_change_with_its_values(drifted: Any) -> None:
    check = next(c for c in drifted.checks if c.name == "registration")
    assert "wording" not in check.detail, check.detail
    assert "the bet changed since it was registered: bet.confidence 0.7 -> 0.95" in check.detail


@pytest.mark.parametrize(
    ("confidence", "words"),
    [
        ("70%", 'bet.confidence: "70%" is a percentage; write the chance as a number, 0.7'),
        (70, "bet.confidence: 70 must be between 0.5 and 1; write 70% as 0.7"),
        ("85 %", 'bet.confidence: "85 %" is a percentage; write the chance as a number, 0.85'),
    ],
)
def test_a_confidence_written_as_a_percentage_suggests_the_number(
    tmp_path: Path, spec_dict: dict[str, Any], confidence: Any, words: str
) -> None:
    spec_dict["bet"] = {**BET, "confidence": confidence}
    with pytest.raises(SpecError) as caught:
        spec_module.load(write_spec(tmp_path, spec_dict))
    message = str(caught.value)
    assert words in message and "\n" not in message, message
