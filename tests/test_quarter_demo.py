"""impact demo --portfolio: a quarter of reviewed launches and its quarter review, end to end.

Every figure of the quarter's .json is computed again here, directly from the launches'
published verdict.json files, with statsmodels for the intervals and by hand for the Brier
score. One run of the real command (thirteen reviews, about a minute), shared by the tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import impact_cli
from statsmodels.stats.proportion import proportion_confint

from impact import portfolio_demo
from impact.stats import calibration

TODAY = "2026-12-20"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("portfolio")
    done = impact_cli("demo", "--portfolio", "--out", str(root), "--today", TODAY, cwd=root)
    assert done.returncode == 0, done.stderr
    assert "quarter 2026-Q4:" in done.stdout
    return root


def _verdicts(root: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for launch in portfolio_demo.LAUNCHES:
        path = root / "reports" / launch.spec_id / "56d.json"
        found[launch.spec_id] = json.loads(path.read_text())
    return found


def test_every_figure_equals_a_direct_computation_from_the_verdicts(demo: Path) -> None:
    document = json.loads((demo / "reports" / "quarters" / "2026-Q4.json").read_text())
    verdicts = _verdicts(demo)
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
    order = sorted(counted, key=lambda key: -launches[key]["realized_rice"])
    assert [row["id"] for row in document["rice"]] == order


def test_the_overconfident_team_is_told_so(demo: Path) -> None:
    verdicts = _verdicts(demo)
    growth = [v for v in verdicts.values() if v["owner"] == "growth@example.com"]
    met = [v["primary"]["status"] == "target_met" for v in growth]
    found = calibration.calibration([v["bet"]["confidence"] for v in growth], met)
    assert found.judgement == "overconfident", (sum(met), len(met))
    document = json.loads((demo / "reports" / "quarters" / "2026-Q4.json").read_text())
    eighty = [b for b in document["calibration"]["bins"] if b["low"] == 0.8]
    assert eighty and eighty[0]["judgement"] == "overconfident"
    page = (demo / "reports" / "quarters" / "2026-Q4.html").read_text()
    assert "Overconfident" in page
    index = (demo / "reports" / "index.html").read_text()
    assert 'href="quarters/2026-Q4.html"' in index
