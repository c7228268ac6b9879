"""impact demo --portfolio: a quarter of reviewed launches and its quarter review.

Every figure of the quarter's document is computed again here, directly from the launches'
verdicts, with statsmodels for the intervals and by hand for the Brier score. The thirteen
demo launches are reviewed once, in this process (``review.run``, the call the template's
first cell makes, without papermill: about a second for all of them), and published where a
review publishes its verdict; the quarter is then built from them as ``impact quarter``
builds it. The command itself runs once end to end on a one-launch portfolio.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import quarters
from statsmodels.stats.proportion import proportion_confint

from impact import portfolio_demo, quarter, review, runner
from impact.report import quarter as sections
from impact.stats import calibration

TODAY = "2026-12-20"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, dict[str, Any]], Any]:
    """The demo's verdicts by launch, and the quarter's document built from them."""
    root = tmp_path_factory.mktemp("portfolio")
    paths = portfolio_demo.generate(root)
    verdicts = {}
    for path in paths:
        payload = review.run(str(path), today=TODAY, output_dir=root).to_json()
        runner.validate_verdict(payload)
        quarters.publish(root, payload)
        verdicts[payload["spec_id"]] = payload
    document = quarter.review(root, paths[0].parent, quarter=portfolio_demo.QUARTER, today=TODAY)
    return verdicts, document


def test_every_figure_equals_a_direct_computation_from_the_verdicts(
    demo: tuple[dict[str, dict[str, Any]], dict[str, Any]],
) -> None:
    verdicts, document = demo
    assert {v["checkpoint"] for v in verdicts.values()} == {"56d"}
    with_bet = {k: v for k, v in verdicts.items() if v["bet"] is not None}
    assert len(with_bet) == 12 and [e["id"] for e in document["apart"]] == ["checkout-colour"]
    assert document["apart"][0]["why"] == "no bet"
    counted = {k: v for k, v in with_bet.items() if v["outcome"] != "invalid"}
    met = {k: v["primary"]["status"] == "target_met" for k, v in counted.items()}
    k, n = sum(met.values()), len(met)
    hit = document["hit_rate"]
    assert (hit["k"], hit["n"]) == (k, n)
    assert hit["rate"] == pytest.approx(k / n)
    assert hit["interval"] == pytest.approx(proportion_confint(k, n, method="wilson"), abs=1e-11)
    for owner in ("growth@example.com", "checkout@example.com"):
        mine = [key for key, v in counted.items() if v["owner"] == owner]
        hits = sum(met[key] for key in mine)
        found = document["by_owner"][owner]
        assert (found["k"], found["n"]) == (hits, len(mine))
        assert found["interval"] == pytest.approx(
            proportion_confint(hits, len(mine), method="wilson"), abs=1e-11
        )
    stated = {key: v["bet"]["confidence"] for key, v in counted.items()}
    brier = sum((stated[key] - met[key]) ** 2 for key in counted) / n
    assert document["calibration"]["brier"] == pytest.approx(brier, abs=1e-11)
    perfect = sum(p * (1 - p) for p in stated.values()) / n
    assert document["calibration"]["perfect_brier"] == pytest.approx(perfect, abs=1e-11)
    for found_bin in document["calibration"]["bins"]:
        inside = [
            key
            for key in counted
            if found_bin["low"] <= stated[key] < found_bin["high"]
            or (found_bin["high"] == 1.0 and stated[key] == 1.0)
        ]
        assert found_bin["observed"]["n"] == len(inside)
        assert found_bin["observed"]["k"] == sum(met[key] for key in inside)
        assert found_bin["stated"] == pytest.approx(
            sum(stated[key] for key in inside) / len(inside)
        )
    launches = {launch["id"]: launch for launch in document["launches"]}
    assert sorted(launches) == sorted(counted)
    ratios = []
    for key, v in counted.items():
        launch = launches[key]
        assert launch["predicted"] == v["bet"]["impact"]
        assert launch["observed"] == pytest.approx(v["primary"]["effect"], abs=1e-11)
        assert launch["ci"] == pytest.approx(v["primary"]["ci"], abs=1e-11)
        assert launch["outcome"] == v["outcome"]
        realized = v["bet"]["reach"] * v["primary"]["effect"] / v["bet"]["effort"]
        assert launch["realized_rice"] == pytest.approx(realized, rel=1e-9)
        assert launch["planned_rice"] == pytest.approx(v["bet"]["planned_rice"], rel=1e-9)
        ratios.append(v["primary"]["effect"] / v["bet"]["impact"])
    assert document["estimates"]["mean_ratio"] == pytest.approx(sum(ratios) / len(ratios))
    ranked = [key for key in counted if counted[key]["primary"]["status"] != "inconclusive"]
    order = sorted(ranked, key=lambda key: -launches[key]["realized_rice"])
    unranked = sorted(set(counted) - set(ranked))
    assert [row["id"] for row in document["rice"]] == [*order, *unranked]


def test_the_overconfident_team_is_told_so(
    demo: tuple[dict[str, dict[str, Any]], dict[str, Any]],
) -> None:
    verdicts, document = demo
    growth = [v for v in verdicts.values() if v["owner"] == "growth@example.com"]
    met = [v["primary"]["status"] == "target_met" for v in growth]
    found = calibration.calibration([v["bet"]["confidence"] for v in growth], met)
    assert found.judgement == "overconfident", (sum(met), len(met))
    eighty = [b for b in document["calibration"]["bins"] if b["low"] == 0.8]
    assert eighty and eighty[0]["judgement"] == "overconfident"
    assert "Overconfident" in str(sections.calibration(document))


def test_the_command_reviews_each_launch_then_publishes_the_quarter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from impact.cli import main

    monkeypatch.setattr(portfolio_demo, "LAUNCHES", portfolio_demo.LAUNCHES[:1])
    done = CliRunner().invoke(
        main, ["demo", "--portfolio", "--out", str(tmp_path), "--today", TODAY]
    )
    assert done.exit_code == 0, done.output
    assert "growth-banner        56d" in done.stdout
    assert "quarter 2026-Q4: 0 of 1 bets met their target" in done.stdout
    document = json.loads((tmp_path / "reports" / "quarters" / "2026-Q4.json").read_text())
    assert [launch["id"] for launch in document["launches"]] == ["growth-banner"]
    index = (tmp_path / "reports" / "index.html").read_text()
    assert 'href="quarters/2026-Q4.html"' in index


def test_what_each_team_moved_in_total_equals_the_sum_of_its_shipped_launches(
    demo: tuple[dict[str, dict[str, Any]], dict[str, Any]],
) -> None:
    from scipy.stats import norm

    verdicts, document = demo
    found = {entry["owner"]: entry for entry in document["totals"]}
    assert set(found) == {"growth@example.com", "checkout@example.com", None}
    for owner, entry in found.items():
        shipped = [
            v
            for v in verdicts.values()
            if v["bet"] is not None and v["outcome"] == "ship" and owner in (None, v["owner"])
        ]
        total = sum(v["primary"]["effect"] for v in shipped)
        se = [
            (v["primary"]["ci"][1] - v["primary"]["ci"][0])
            / (2 * norm.ppf(1 - v["primary"]["alpha"] / 2))
            for v in shipped
        ]
        half = norm.ppf(0.975) * sum(x * x for x in se) ** 0.5
        assert entry["metric"] == "conversion" and entry["format"] == "percent"
        assert sorted(entry["shipped"]["ids"]) == sorted(v["spec_id"] for v in shipped)
        assert entry["shipped"]["total"] == pytest.approx(total, abs=1e-11)
        assert entry["shipped"]["interval"] == pytest.approx(
            [total - half, total + half], abs=1e-11
        )
