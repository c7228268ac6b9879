"""User-level exports and what a report says it read (issue 16, cases 3 and 4).

- ``--data-source`` leaves a trace: verdict.json, the first screen and the provenance footer;
- a user-level export (one row per user, metrics as columns) needs no events table and no
  exposure times, says how it takes its outcomes, and ``matures_after`` keeps outcomes that
  are not known yet out of a look;
- the worked example in docs/examples/cookie-cats/ reviews as docs/spec.md describes it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, demo_launch, impact_cli
from launches import TODAY, spec_document, write
from scipy import stats

from impact import review, runner
from impact.errors import DataError

EXAMPLE = ROOT / "docs" / "examples" / "cookie-cats"


@pytest.fixture(scope="module")
def published_with_override(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The demo reviewed with --data-source pointing at a copy of its data."""
    root = tmp_path_factory.mktemp("override")
    spec = demo_launch(root, units=3000)
    other = root / "elsewhere"
    shutil.copytree(root / "data" / "demo", other)
    result = impact_cli(
        "review",
        str(spec),
        "--checkpoint",
        "56d",
        "--today",
        TODAY,
        "--data-source",
        str(other),
        "--output-dir",
        str(root),
        cwd=root,
    )
    assert result.returncode == 0, result.stderr
    verdict = json.loads((root / "reports" / "demo-checkout" / "56d.json").read_text())
    return root, verdict


def test_a_data_source_override_is_recorded_in_verdict_json(
    published_with_override: tuple[Path, dict],
) -> None:
    root, verdict = published_with_override
    run = verdict["run"]
    assert run["data_source_override"] == str(root / "elsewhere")
    assert run["data_source"] == str(root / "elsewhere")
    runner.validate_verdict(verdict)


def test_a_data_source_override_is_on_the_first_screen_and_in_provenance(
    published_with_override: tuple[Path, dict],
) -> None:
    root, verdict = published_with_override
    report = (root / "reports" / "demo-checkout" / "56d.html").read_text()
    card = report[report.index('aria-label="verdict"') :]
    card = card[: card.index("<h2")]  # the card and its flags, before the first section
    assert f"data read from {root / 'elsewhere'}, given instead of the spec" in card
    assert verdict["run"]["data_fingerprint"][:12] in card
    footer = report[report.index("impact-footer") :]
    assert "given with --data-source or the notebook" in footer
    assert verdict["run"]["data_fingerprint"] in footer


def test_without_an_override_the_spec_source_is_named(tmp_path: Path) -> None:
    spec = demo_launch(tmp_path, units=3000)
    payload = review.run(str(spec), "56d", TODAY).to_json()
    assert payload["run"]["data_source_override"] is None
    assert payload["run"]["data_source"] == str(tmp_path / "data" / "demo")


def test_the_cookie_cats_example_reviews_without_events_or_exposure_times(
    tmp_path: Path,
) -> None:
    assert not list((EXAMPLE / "data").glob("events*"))  # truly no events table
    shutil.copytree(EXAMPLE, tmp_path / "example")
    spec = tmp_path / "example" / "cookie-cats.yaml"
    published = runner.review(spec, checkpoint="28d", today=TODAY, output_dir=tmp_path)
    verdict = published.verdict
    assert verdict["primary"]["n"] == {"gate_30": 2000, "gate_40": 2000} or verdict["primary"][
        "n"
    ] == {"control": 2000, "treatment": 2000}
    assert verdict["data"]["newest_event"] is None and verdict["data"]["joins"] is None
    outcomes = verdict["data"]["outcomes"]
    assert "game_rounds taken as complete at as_of" in outcomes
    assert "retention_7 counts every unit from 2026-09-15" in outcomes
    report = published.report.read_text()
    assert "no events table read" in report and "0-day window" not in report
    assert "taken as complete at as_of" in report


def test_cookie_cats_at_a_look_before_retention_7_matures_counts_none(tmp_path: Path) -> None:
    result = review.run(str(EXAMPLE / "cookie-cats.yaml"), "10d", TODAY, output_dir=tmp_path)
    n = result.table.metrics["retention_7"]
    assert (n.control.n, n.treatment.n) == (0, 0)  # as_of 2026-09-11 < 2026-09-08 + 7d
    retention_1 = result.table.metrics["retention_1"]
    assert retention_1.control.n == 2000  # 2026-09-08 + 1d <= 2026-09-11
    assert result.verdict.outcome == "keep_running"
    assert "whose value has matured" in result.verdict.reasons[0]


def _export(root: Path, *, matures: bool, exposure: bool = True) -> Path:
    """A user-level export: 1,000 users per arm installed over 20 days from launch;
    retention_7 is 1 for a third of users, but 0 for everyone installed in the last 7 days
    before the look (not known yet, exported as 0)."""
    count = 2000
    exposed = pd.Timestamp("2026-09-01") + pd.to_timedelta(
        [(i * 20 * 86_400) // count for i in range(count)], unit="s"
    )
    look = pd.Timestamp("2026-09-15")  # the 14d look
    units = pd.DataFrame(
        {
            "user_id": range(count),
            "variant": ["control" if i % 2 else "treatment" for i in range(count)],
            "exposed_at": exposed,
            "retention_7": [
                int(i % 3 == 0 and e + pd.Timedelta(days=7) <= look) for i, e in enumerate(exposed)
            ],
        }
    )
    if not exposure:
        units = units.drop(columns="exposed_at")
    retention = {
        "name": "retention_7",
        "kind": "proportion",
        "column": "retention_7",
        "baseline": 0.3,
        "target": "+0.05",
        "direction": "increase",
    }
    if matures:
        retention["matures_after"] = "7d"
    document = spec_document(primary=retention)
    document["reviews"] = ["14d", "28d"]
    document["data"]["columns"] = {"unit_id": "user_id"}
    del document["data"]["events"]
    return write(root, document, units, None)


def test_matures_after_keeps_outcomes_not_known_yet_out_of_a_look(tmp_path: Path) -> None:
    spec = _export(tmp_path / "matures", matures=True)
    result = review.run(str(spec), "14d", TODAY)
    n = result.table.metrics["retention_7"]
    # installed by 2026-09-08 00:00 (7 days before the look): 7 of the 20 days
    assert n.control.n + n.treatment.n == 701
    assert result.primary.comparison.control == pytest.approx(1 / 3, abs=0.01)
    spec = _export(tmp_path / "complete", matures=False)
    taken = review.run(str(spec), "14d", TODAY)
    assert taken.table.metrics["retention_7"].control.n == 700  # those exposed by as_of
    assert taken.primary.comparison.control is not None
    assert taken.primary.comparison.control < 0.25  # the unknown outcomes counted as 0
    assert "taken as complete at as_of" in (taken.to_json()["data"]["outcomes"] or "")


def test_matures_after_without_exposure_times_needs_accrual_end(tmp_path: Path) -> None:
    spec = _export(tmp_path, matures=True, exposure=False)
    with pytest.raises(DataError, match=r"no column 'exposed_at'.*data\.accrual_end"):
        review.run(str(spec), "14d", TODAY)


def test_event_metrics_still_need_exposure_times(tmp_path: Path) -> None:
    document = spec_document()
    units = pd.DataFrame({"unit_id": [1, 2], "variant": ["control", "treatment"]})
    events = pd.DataFrame(
        {"unit_id": [1], "event": ["purchase"], "ts": [dt.datetime(2026, 9, 2)], "value": [1.0]}
    )
    spec = write(tmp_path, document, units, events)
    with pytest.raises(DataError, match="no column 'exposed_at'"):
        review.run(str(spec), "56d", TODAY)


def test_two_looks_without_exposure_times_still_spend_alpha_once(tmp_path: Path) -> None:
    """No exposure times and no data.accrual_end: each look's information is its share of
    the time to the final look, so the interim spends O'Brien-Fleming's little and the
    final the rest, never the spec's whole alpha twice."""
    spec = _export(tmp_path, matures=False, exposure=False)
    interim = review.run(str(spec), "14d", TODAY, output_dir=tmp_path)
    assert interim.look.information == pytest.approx((0.5,))
    spent = 2 * (1 - stats.norm.cdf(stats.norm.ppf(0.975) / math.sqrt(0.5)))  # OBF at t = 0.5
    assert interim.look.alpha == pytest.approx(spent, rel=1e-6)
    final = review.run(str(spec), "28d", TODAY, output_dir=tmp_path)
    assert final.look.information == pytest.approx((0.5, 1.0))
    assert 0.045 < final.look.alpha < 0.05
    assert final.to_json()["sequential"]["information_basis"] == "time"
    assert "share of the time to the final look" in published_methods(final)


def published_methods(result: review.ReviewResult) -> str:
    from impact import display

    return display.methods(result)._repr_html_()


def test_a_metric_with_nothing_matured_says_too_little_data_not_an_interval(
    tmp_path: Path,
) -> None:
    result = review.run(str(EXAMPLE / "cookie-cats.yaml"), "10d", TODAY, output_dir=tmp_path)
    words = result.to_json()["primary"]["status_words"]
    assert words.startswith("too little data") and "interval" not in words.split(":")[0]
    assert "includes 0" not in words
    assert "includes 0 and the target" not in published_methods_and_tables(result)


def published_methods_and_tables(result: review.ReviewResult) -> str:
    from impact import display

    return display.primary(result)._repr_html_() + display.criteria(result)._repr_html_()


def test_after_accrual_ends_the_power_note_never_says_waiting_helps() -> None:
    """Cookie Cats' installs stop on 2026-09-08 and retention_7 matures 7 days later."""
    from impact.analysis import Power
    from impact.spec import load

    spec = load(EXAMPLE / "cookie-cats.yaml")
    today = dt.date.fromisoformat(str(TODAY))
    early, late = review.look_at(spec, "10d", today), review.look_at(spec, "28d", today)
    assert not review._accrual_over(spec, early) and review._accrual_over(spec, late)
    metric = spec.metrics.primary
    assert metric is not None
    weak = Power(target=0.01, achieved=0.4, mde=0.02)
    assert "waiting for more units can help" in (review._power_note(metric, weak, 0.8, False) or "")
    ended = review._power_note(metric, weak, 0.8, True) or ""
    assert "accrual has ended" in ended and "waiting" not in ended


def test_a_final_after_an_interim_that_tested_nothing_says_so(tmp_path: Path) -> None:
    from impact import display, layout

    interim = layout.verdict_path(tmp_path, "cookie-cats", "10d")
    interim.parent.mkdir(parents=True)
    interim.write_text(json.dumps({"schema_version": 1, "outcome": "keep_running"}))
    result = review.run(str(EXAMPLE / "cookie-cats.yaml"), "28d", TODAY, output_dir=tmp_path)
    assert result.look.alpha == pytest.approx(0.05)
    card = display.verdict_card(result)._repr_html_()
    assert "the earlier looks tested nothing" in card
    assert "asks for more than one alone would" not in card
