"""Decision edges (issue 16, case 5): each rebuilt from its description and reviewed for real.

- a relative target or margin whose Fieller interval is unbounded must not hide a clear harm
  (3 against 25 events of 2,000 units per arm);
- the final look's boundary is solved given the interim boundary as it was used;
- a significant harm on a secondary metric is a reason line, never deciding;
- at the final look a clear harm outranks "too little data";
- the status words say what the rule checked (an estimate below a met target).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from launches import TODAY, background, events_for, spec_document, units, write

from impact import message, review, runner
from impact.stats import sequential

FINAL = dt.datetime(2026, 10, 27)
DAY = dt.timedelta(days=1)


def _rare_event_launch(root: Path, document: dict[str, Any], event: str) -> Path:
    """2,000 units per arm; ``event`` for 3 control and 25 treatment units; purchases for
    600 of each arm; steady background traffic up to the final look."""
    frame = units(2000)
    events = pd.concat(
        [
            events_for(frame, event, {"control": 3, "treatment": 25}, after=DAY),
            events_for(frame, "purchase", {"control": 600, "treatment": 600}, after=2 * DAY),
            background(frame, until=FINAL),
        ],
        ignore_index=True,
    )
    return write(root, document, frame, events)


ERROR_RATE = {
    "name": "error_rate",
    "kind": "proportion",
    "event": "error",
    "window": "14d",
    "baseline": 0.002,
    "target": "-10%",
    "direction": "decrease",
}


def test_an_unbounded_relative_interval_does_not_hide_a_primary_harm(tmp_path: Path) -> None:
    spec = _rare_event_launch(tmp_path, spec_document(primary=ERROR_RATE), "error")
    result = review.run(str(spec), "56d", TODAY)
    comparison = result.primary.comparison
    assert comparison.relative_ci_lower is None  # Fieller's interval is unbounded here
    assert comparison.effect == pytest.approx(0.011)  # 3 against 25 of 2,000: +733%
    assert comparison.ci_lower is not None and comparison.ci_lower > 0  # clearly worse
    assert result.primary.status == "harm"
    assert result.verdict.outcome == "revert"
    assert "absolute interval" in result.verdict.reasons[0]


def test_an_unbounded_relative_margin_does_not_hide_a_breach(tmp_path: Path) -> None:
    crash = {
        "name": "crash_rate",
        "kind": "proportion",
        "event": "crash",
        "window": "14d",
        "direction": "decrease",
        "margin": "+10%",
    }
    spec = _rare_event_launch(tmp_path, spec_document(guardrails=[crash]), "crash")
    result = review.run(str(spec), "56d", TODAY)
    (guardrail,) = result.guardrails
    assert guardrail.comparison.relative_ci_lower is None
    assert guardrail.status == "breach"
    assert result.verdict.outcome == "revert"
    assert result.verdict.reasons[0].startswith("guardrail crash_rate breached")
    assert result.to_json()["guardrails"][0]["status_words"].startswith("breached")


def test_a_clear_harm_at_the_final_look_outranks_too_little_data(tmp_path: Path) -> None:
    document = spec_document(primary=ERROR_RATE)
    document["decision"]["min_units"] = 3000  # 2,000 per arm is "too little data"
    spec = _rare_event_launch(tmp_path, document, "error")
    result = review.run(str(spec), "56d", TODAY)
    assert result.verdict.outcome == "revert"
    assert result.verdict.reasons[0].startswith("error_rate got worse")
    assert any(reason.startswith("too little data") for reason in result.verdict.reasons)


def test_without_a_clear_harm_too_little_data_is_still_invalid(tmp_path: Path) -> None:
    document = spec_document()
    document["decision"]["min_units"] = 3000
    spec = _rare_event_launch(tmp_path, document, "error")
    result = review.run(str(spec), "56d", TODAY)
    assert (result.verdict.outcome, result.verdict.action) == ("invalid", "collect more data")


def test_a_significant_secondary_harm_is_a_reason_and_never_decides(tmp_path: Path) -> None:
    refunds = {
        "name": "refund_rate",
        "kind": "proportion",
        "event": "refund",
        "window": "14d",
        "direction": "decrease",
    }
    frame = units(2000)
    events = pd.concat(
        [
            events_for(frame, "purchase", {"control": 600, "treatment": 760}, after=DAY),
            events_for(frame, "refund", {"control": 100, "treatment": 200}, after=2 * DAY),
            background(frame, until=FINAL),
        ],
        ignore_index=True,
    )
    spec = write(tmp_path, spec_document(secondary=[refunds]), frame, events)
    result = review.run(str(spec), "56d", TODAY)
    assert result.primary.status == "target_met"
    assert result.verdict.outcome == "ship"  # secondary metrics never decide
    lines = [r for r in result.verdict.reasons if r.startswith("secondary refund_rate got worse")]
    assert len(lines) == 1 and "never decide" in lines[0]


def test_status_words_say_what_was_checked_when_the_estimate_is_below_the_target(
    tmp_path: Path,
) -> None:
    # +2.48 pp against a +3 pp target: the interval excludes 0 and reaches the target
    frame = units(6000)
    events = pd.concat(
        [
            events_for(frame, "purchase", {"control": 1800, "treatment": 1949}, after=DAY),
            background(frame, until=FINAL),
        ],
        ignore_index=True,
    )
    spec = write(tmp_path, spec_document(), frame, events)
    result = review.run(str(spec), "56d", TODAY)
    assert result.primary.comparison.effect == pytest.approx(0.02483, abs=1e-5)
    assert result.primary.status == "target_met"
    payload = result.to_json()
    words = (
        "improved, the target not ruled out: the interval excludes 0 and reaches the target, "
        "but the estimate is short of it"
    )
    assert payload["primary"]["status_words"] == words
    assert "target met" not in result.primary.reason
    assert "reaches the target +3.00 pp, but the estimate is short of it" in result.primary.reason
    summary = message.markdown(payload, "report.html")
    assert words in summary and "target met" not in summary


def _accrual_launch(root: Path) -> Path:
    """1,000 units per arm exposed over 40 days, no effect: the interim has partial
    information."""
    frame = units(1000, days=40)
    events = pd.concat(
        [
            events_for(frame, "purchase", {"control": 300, "treatment": 300}, after=DAY),
            background(frame, until=FINAL),
        ],
        ignore_index=True,
    )
    return write(root, spec_document(), frame, events)


def test_the_final_boundary_is_solved_given_the_interim_boundary_as_used(tmp_path: Path) -> None:
    spec = _accrual_launch(tmp_path)
    output = tmp_path / "out"
    interim = review.run(str(spec), "28d", TODAY)
    recorded = interim.to_json()["sequential"]
    runner.validate_verdict(interim.to_json())
    assert len(recorded["boundaries"]) == 1 and recorded["boundaries"][0] > 2.5
    # the interim was published with a boundary other than the final data would give now
    published = interim.to_json()
    published["sequential"]["boundaries"] = [3.1]
    folder = output / "reports" / "edge-launch"
    folder.mkdir(parents=True)
    (folder / "28d.json").write_text(json.dumps(published))

    final = review.run(str(spec), "56d", TODAY, output_dir=output)
    information = final.look.information
    expected = sequential.boundaries(information, 0.05, [3.1, None])
    assert final.look.boundaries == pytest.approx(expected, abs=1e-9)
    assert final.look.alpha == pytest.approx(sequential.level(expected[1]), abs=1e-12)
    assert final.to_json()["sequential"]["earlier"] == [
        {"checkpoint": "28d", "boundary": 3.1, "source": "published"}
    ]
    runner.validate_verdict(final.to_json())


def test_an_interim_that_never_ran_spends_nothing(tmp_path: Path) -> None:
    spec = _accrual_launch(tmp_path)
    output = tmp_path / "out"
    folder = output / "reports" / "edge-launch"
    folder.mkdir(parents=True)  # a monitoring run at 14d was published, but no 28d review
    (folder / "14d.json").write_text(json.dumps({"monitoring": True, "checkpoint": "14d"}))
    final = review.run(str(spec), "56d", TODAY, output_dir=output)
    assert math.isinf(final.look.boundaries[0])
    assert final.look.alpha == pytest.approx(0.05, abs=1e-9)
    assert final.to_json()["sequential"]["earlier"][0] == {
        "checkpoint": "28d",
        "boundary": None,
        "source": "not run",
    }
    # nothing published before 56d: the interim's planned boundary is assumed (conservative),
    # and so it stays when the 56d verdict itself has been published (a rerun)
    (folder / "14d.json").unlink()
    (folder / "56d.json").write_text(json.dumps(final.to_json()))
    planned = review.run(str(spec), "56d", TODAY, output_dir=output)
    assert planned.look.alpha < 0.05
    assert planned.to_json()["sequential"]["earlier"][0]["source"] == "planned"
    assert review.run(str(spec), "56d", TODAY).look.alpha == planned.look.alpha


def test_a_look_before_any_window_ended_says_so_not_that_an_arm_is_empty(
    tmp_path: Path,
) -> None:
    """A monitoring run at 2w: thousands of units exposed, none with its 14-day window over.
    The reasons said "an arm has no units" (found by a new user)."""
    path = _rare_event_launch(tmp_path, spec_document(), "purchase")
    found = review.run(path, "14d", TODAY).to_json()
    assert found["data"]["units"] == {"control": 2000, "treatment": 2000}
    primary = next(reason for reason in found["reasons"] if reason.startswith("conversion"))
    assert "an arm has no units" not in primary
    assert "(an arm has no unit whose 14-day window has ended)" in primary
    said = message.markdown(found, "14d.html")
    assert "1 control, 0 treatment counted (2,000 control, 2,000 treatment exposed; a unit" in said
