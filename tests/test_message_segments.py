"""verdict.md names who a launch hurt (and, where segments differ, helped) and its stages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from launches import TODAY
from staged import ramp_launch, segment_launch

from impact import message, review


@pytest.fixture(scope="module")
def segmented(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    spec, _, _ = segment_launch(tmp_path_factory.mktemp("md-segments"))
    return review.run(str(spec), "56d", TODAY).to_json()


def test_verdict_md_names_the_hurt_and_helped_segments(segmented: dict[str, Any]) -> None:
    text = message.markdown(segmented, "56d.html")
    lines = text.splitlines()
    harm = next(line for line in lines if line.startswith("Segments: harms"))
    assert harm.startswith("Segments: harms android (platform): conversion -2.75 pp, q = 0.0025")
    assert "never change the outcome" in harm
    help_ = next(line for line in lines if line.startswith("Segments: helps"))
    assert help_.startswith("Segments: helps ios (platform): conversion +3.24 pp, q = 0.00084")


def test_verdict_md_says_the_stages(tmp_path: Path) -> None:
    spec, _ = ramp_launch(tmp_path)
    payload = review.run(str(spec), "56d", TODAY).to_json()
    text = message.markdown(payload, "56d.html")
    stages = next(line for line in text.splitlines() if line.startswith("Stages:"))
    assert stages.startswith("Stages: 1 from 2026-09-01 (10% treatment, sample ratio p = ")
    assert "2 from 2026-09-08 (50% treatment" in stages
    pooled = next(line for line in text.splitlines() if line.startswith("Pooled over stages"))
    assert "the stratified estimate compares within stages" in pooled


def test_older_verdicts_without_the_new_keys_still_read() -> None:
    verdict = {
        "title": "t",
        "spec_id": "t",
        "checkpoint": "56d",
        "final": True,
        "outcome": "iterate",
        "action": "iterate",
        "launch_date": "2026-09-01",
        "as_of": "2026-10-27",
    }
    assert "Segments" not in message.markdown(verdict, "56d.html")
