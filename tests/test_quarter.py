"""The quarter review: which launches count, and every figure against a direct computation."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import quarters
from conftest import impact_cli
from statsmodels.stats.proportion import proportion_confint

from impact import portfolio, quarter
from impact.errors import SpecError

TODAY = dt.date(2026, 12, 20)
Q4 = quarter.Period(dt.date(2026, 10, 1), dt.date(2026, 12, 31), "2026-Q4")
MISSES = [
    "below_target",
    "inconclusive",
    "no_meaningful_effect",
    "harm",
    "below_target",
    "inconclusive",
]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"quarter": "2026Q4"}, Q4),
        (
            {"quarter": "2026-Q3"},
            quarter.Period(dt.date(2026, 7, 1), dt.date(2026, 9, 30), "2026-Q3"),
        ),
        (
            {"quarter": "2027q1"},
            quarter.Period(dt.date(2027, 1, 1), dt.date(2027, 3, 31), "2027-Q1"),
        ),
        ({}, Q4),  # today's quarter
        (
            {"start": "2026-10-01", "end": "2026-11-15"},
            quarter.Period(dt.date(2026, 10, 1), dt.date(2026, 11, 15), "2026-10-01_2026-11-15"),
        ),
    ],
)
def test_periods(given: dict[str, str], expected: quarter.Period) -> None:
    arguments: dict[str, Any] = {"quarter": None, "start": None, "end": None, **given}
    assert quarter.period(**arguments, today=TODAY) == expected


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ({"quarter": "2026Q5"}, '--quarter: "2026Q5" is not a quarter; write one such as 2026Q4'),
        ({"quarter": "Q4"}, "is not a quarter"),
        ({"start": "2026-10-01"}, "--from: give --to too"),
        ({"end": "2026-10-01"}, "--to: give --from too"),
        ({"start": "2026-10-01", "end": "2026-09-01"}, "--to: 2026-09-01 is before --from"),
        ({"start": "yesterday", "end": "2026-09-01"}, '--from: "yesterday" is not a date'),
        ({"quarter": "2026Q4", "start": "2026-10-01"}, "not both"),
    ],
)
def test_bad_periods_are_one_line(given: dict[str, str], words: str) -> None:
    arguments: dict[str, Any] = {"quarter": None, "start": None, "end": None, **given}
    with pytest.raises(SpecError, match=words.replace("(", r"\(").replace(")", r"\)")):
        quarter.period(**arguments, today=TODAY)


def _portfolio(output: Path) -> list[dict[str, Any]]:
    """A quarter of launches: ana's ten bets at 0.8 met 4 times; ben's three; and the ones
    that must not be counted (another quarter, invalid, no bet, a registration problem, a
    bet written after launch, pending)."""
    made = []
    for index in range(10):
        hit = index < 4
        made.append(
            quarters.verdict(
                f"ana-{index}",
                confidence=0.8,
                impact=0.02,
                reach=10_000 + 1000 * index,
                effort=2 + index,
                status="target_met" if hit else MISSES[index - 4],
                effect=0.025 if hit else 0.004 * index - 0.01,
                ci=(0.01, 0.04) if hit else (0.004 * index - 0.03, 0.004 * index + 0.01),
            )
        )
    made.append(  # decided by an interim ship, on a decrease-is-good metric
        quarters.verdict(
            "ben-ship",
            owner="ben@example.com",
            design="prepost",
            confidence=0.6,
            impact=0.01,
            direction="decrease",
            effect=0.015,
            ci=(0.005, 0.025),
            checkpoint="28d",
            final=False,
            launch="2026-09-20",
        )
    )
    made.append(
        quarters.verdict(
            "ben-miss",
            owner="ben@example.com",
            confidence=0.9,
            impact=0.05,
            status="inconclusive",
            effect=0.01,
            ci=(-0.01, 0.03),
        )
    )
    made.append(
        quarters.verdict(
            "ben-hit",
            owner="ben@example.com",
            confidence=0.7,
            impact=0.01,
            reach=11_000,
            effect=0.03,
            ci=(0.02, 0.04),
            drift=[{"field": "bet.confidence", "old": 0.7, "new": 0.95}],
        )
    )
    made.append(quarters.verdict("last-quarter", launch="2026-06-01"))
    made.append(
        quarters.verdict(
            "broken",
            outcome="invalid",
            status="inconclusive",
            reasons=["sample ratio mismatch: p = 1e-9"],
        )
    )
    made.append(quarters.verdict("no-bet", confidence=None))
    made.append(
        quarters.verdict(
            "moved-target",
            changed=[
                {"field": "metrics.primary.target", "old": "0.02", "new": "0.01", "deciding": True}
            ],
        )
    )
    made.append(quarters.verdict("late-bet", bet_registered=False))
    made.append(
        quarters.verdict(
            "waiting",
            checkpoint="28d",
            final=False,
            status="inconclusive",
            outcome="keep_running",
            launch="2026-11-01",
        )
    )
    for payload in made:
        quarters.publish(output, payload)
    return made


SCHEDULED = [
    {
        "spec_id": "not-run",
        "title": "Not run yet",
        "owner": "ana@example.com",
        "design": "experiment",
        "date": "2026-12-15",
    },
    {
        "spec_id": "next-year",
        "title": "Later",
        "owner": "ana@example.com",
        "design": "experiment",
        "date": "2027-01-15",
    },
]


def _direct(made: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The counted launches, picked by hand from the verdicts: what the quarter must count."""
    counted = [v for v in made if v["spec_id"].startswith(("ana-", "ben-"))]
    return sorted(counted, key=lambda v: v["spec_id"])


def test_every_figure_equals_a_direct_computation(tmp_path: Path) -> None:
    made = _portfolio(tmp_path)
    document = quarter.review(tmp_path, None, quarter="2026Q4", today=TODAY)
    document_again = quarter._clean(
        quarter.build(
            portfolio.load_verdicts(tmp_path),
            when=Q4,
            today=TODAY,
            scheduled=SCHEDULED,
        )
    )
    assert json.dumps(document)  # plain JSON
    counted = _direct(made)
    met = [v["primary"]["status"] == "target_met" for v in counted]
    stated = [v["bet"]["confidence"] for v in counted]
    k, n = sum(met), len(met)
    assert (k, n) == (6, 13)
    assert document["hit_rate"]["k"] == k and document["hit_rate"]["n"] == n
    assert document["hit_rate"]["rate"] == pytest.approx(k / n)
    assert document["hit_rate"]["interval"] == pytest.approx(
        proportion_confint(k, n, method="wilson")
    )
    ana = document["by_owner"]["ana@example.com"]
    assert (ana["k"], ana["n"]) == (4, 10)
    assert ana["interval"] == pytest.approx(proportion_confint(4, 10, method="wilson"))
    assert (
        document["by_design"]["prepost"]["n"] == 1
        and document["by_design"]["experiment"]["n"] == 12
    )

    brier = sum((p - y) ** 2 for p, y in zip(stated, met, strict=True)) / n
    assert document["calibration"]["brier"] == pytest.approx(brier, abs=1e-12)
    assert document["calibration"]["perfect_brier"] == pytest.approx(
        sum(p * (1 - p) for p in stated) / n
    )
    parts = document["calibration"]["decomposition"]
    assert parts["reliability"] - parts["resolution"] + parts["uncertainty"] == pytest.approx(brier)
    bins = {(b["low"], b["high"]): b for b in document["calibration"]["bins"]}
    eighty = bins[(0.8, 0.9)]
    assert (
        eighty["observed"]["n"] == 10
        and eighty["observed"]["k"] == 4
        and eighty["stated"] == pytest.approx(0.8)
    )
    assert eighty["judgement"] == "overconfident"
    assert sum(b["observed"]["n"] for b in bins.values()) == n

    launches = {launch["id"]: launch for launch in document["launches"]}
    assert sorted(launches) == [v["spec_id"] for v in counted]
    for v in counted:
        launch = launches[v["spec_id"]]
        sign = 1 if v["bet"]["direction"] == "increase" else -1
        assert launch["predicted"] == v["bet"]["impact"]
        assert launch["observed"] == pytest.approx(sign * v["primary"]["effect"])
        assert launch["ci"] == pytest.approx(sorted(sign * x for x in v["primary"]["ci"]))
        assert launch["outcome"] == v["outcome"]
        assert launch["realized_rice"] == pytest.approx(
            v["bet"]["reach"] * sign * v["primary"]["effect"] / v["bet"]["effort"]
        )
    assert launches["ben-ship"]["observed"] == pytest.approx(0.015)  # a fall, good here
    assert launches["ben-hit"]["bet_drift"] == [
        {"field": "bet.confidence", "old": 0.7, "new": 0.95}
    ]
    assert launches["ben-hit"]["confidence"] == 0.7  # judged as registered

    ratios = [
        sign * v["primary"]["effect"] / v["bet"]["impact"]
        for v in counted
        for sign in [1 if v["bet"]["direction"] == "increase" else -1]
    ]
    assert document["estimates"]["mean_ratio"] == pytest.approx(sum(ratios) / len(ratios))
    short = sum(r < 1 for r in ratios)
    assert document["estimates"]["overestimated"]["k"] == short

    # inconclusive launches (the interval includes 0 and the target) are ranked apart, last
    ranked = [v for v in counted if v["primary"]["status"] != "inconclusive"]
    unranked = sorted(v["spec_id"] for v in counted if v["primary"]["status"] == "inconclusive")
    assert unranked == ["ana-5", "ana-9", "ben-miss"]
    realized_order = sorted(ranked, key=lambda v: -launches[v["spec_id"]]["realized_rice"])
    assert [row["id"] for row in document["rice"]] == [
        *(v["spec_id"] for v in realized_order),
        *unranked,
    ]
    assert [row["realized_rank"] for row in document["rice"]] == [
        *range(1, len(ranked) + 1),
        *[None] * len(unranked),
    ]
    assert (
        document["rice"][-1]["unranked"] == "inconclusive: the interval includes 0 and the target"
    )

    assert {e["id"]: e["why"] for e in document["apart"]} == {
        "late-bet": "the bet was not registered before launch",
        "moved-target": "registration problem: changed after registration",
        "no-bet": "no bet",
    }
    assert [(e["id"], e["why"]) for e in document["invalid"]] == [
        ("broken", "sample ratio mismatch: p = 1e-9")
    ]
    assert [e["id"] for e in document["pending"]] == ["waiting"]
    assert "the 28d review said keep running" in document["pending"][0]["why"]
    assert [e["id"] for e in document_again["pending"]] == ["not-run", "waiting"]
    assert "was due on 2026-12-15 and is not published" in document_again["pending"][0]["why"]


def test_a_team_at_80_percent_meeting_4_in_10_is_told_it_is_overconfident(tmp_path: Path) -> None:
    from impact.report import quarter as sections

    made = _portfolio(tmp_path / "all")
    for payload in made[:10]:  # ana's ten launches alone
        quarters.publish(tmp_path, payload)
    document = quarter.review(tmp_path, None, quarter="2026Q4", today=TODAY)
    sentence = sections.calibration_sentence(document)
    assert sentence.startswith(
        "Overconfident: the bets stated 80% confidence on average, and 4 of 10 (40%; 95% interval 17%-69%) met their targets."
    )
    assert "meeting 4 or fewer would happen 0.6% of the time" in sentence
    assert "Overconfident" in str(sections.headline(document))


def test_an_empty_quarter_says_so(tmp_path: Path) -> None:
    from impact.report import quarter as sections

    document = quarter.review(tmp_path, None, quarter="2026Q4", today=TODAY)
    assert document["hit_rate"]["n"] == 0 and document["calibration"]["brier"] is None
    for section in (
        sections.headline,
        sections.hit_rates,
        sections.calibration,
        sections.estimates,
        sections.rice,
        sections.launch_lines,
        sections.apart,
        sections.methods,
    ):
        assert str(section(document))
    assert "nothing to judge yet" in sections.calibration_sentence(document)


def test_impact_quarter_publishes_html_json_and_md(tmp_path: Path) -> None:
    made = _portfolio(tmp_path)
    hostile = quarters.verdict("hostile", title="<script>alert('t')</script>", confidence=0.7)
    quarters.publish(tmp_path, hostile)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "broken.yaml").write_text("spec_version: 1\nid: Broken\n")
    done = impact_cli(
        "quarter", "specs", "--quarter", "2026Q4", "--today", "2026-12-20", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    (warning,) = done.stderr.splitlines()
    assert warning.startswith("warning: specs/broken.yaml: ") and "not loaded" in warning
    assert (
        "quarter 2026-Q4: 7 of 14 counted launches met their target; calibration: overconfident"
        in done.stdout
    )
    folder = tmp_path / "reports" / "quarters"
    document = json.loads((folder / "2026-Q4.json").read_text())
    assert document == quarter.review(tmp_path, tmp_path / "specs", quarter="2026Q4", today=TODAY)
    assert document["hit_rate"]["n"] == len(_direct(made)) + 1
    page = (folder / "2026-Q4.html").read_text()
    assert "Spec files that did not load" in page
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(" in page
    assert "Overconfident" in page and "Kohavi" in page
    assert "application/vnd.impact.quarter" not in page  # the payload is left out
    assert (folder / "2026-Q4.md").read_text().splitlines()[-1] == "Report: 2026-Q4.html"
    assert (tmp_path / "notebooks" / "quarters" / "2026-Q4.ipynb").is_file()
    assert str(tmp_path) not in (tmp_path / "notebooks" / "quarters" / "2026-Q4.ipynb").read_text()
    index = (tmp_path / "reports" / "index.html").read_text()
    assert 'href="quarters/2026-Q4.html"' in index
    assert "hostile" in index  # the launch is in the portfolio, the quarter is not a launch
    from impact import quarter_run  # again, in this process (a second process costs seconds)

    quarter_run.run(
        tmp_path / "specs", quarter_label="2026Q4", today="2026-12-21", output_dir=tmp_path
    )
    assert len(list((folder / "2026-Q4.history").glob("*.json"))) == 1


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["specs", "--quarter", "2026Q9"], 'error: --quarter: "2026Q9" is not a quarter'),
        (["specs", "--from", "2026-10-01"], "error: --from: give --to too"),
        (["nowhere", "--quarter", "2026Q4"], "error: nowhere: no such folder of specs"),
        (["specs", "--today", "soon"], 'error: --today: "soon" is not a date'),
    ],
)
def test_bad_input_is_exit_2_and_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arguments: list[str], words: str
) -> None:
    from click.testing import CliRunner

    from impact.cli import main

    (tmp_path / "specs").mkdir()
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(main, ["quarter", *arguments])
    assert done.exit_code == 2, done.output
    assert done.stderr.startswith(words) and done.stderr.count("\n") == 1, done.stderr
    assert not (tmp_path / "reports" / "quarters").exists()


def test_another_run_of_the_quarter_holds_its_lock(tmp_path: Path) -> None:
    from impact import publish, quarter_run
    from impact.errors import ReviewLocked

    _portfolio(tmp_path)
    with publish.review_lock(tmp_path, quarter_run.FOLDER, "2026-Q4") as held:
        assert held
        with pytest.raises(ReviewLocked, match="another run of this quarter"):
            quarter_run.run(None, quarter_label="2026Q4", today="2026-12-20", output_dir=tmp_path)
    assert not (tmp_path / "reports" / "quarters").exists()
    assert ReviewLocked("x").exit_code == 3


def _sum_with_interval(verdicts: list[dict[str, Any]]) -> tuple[float, list[float]]:
    """The sum of the verdicts' primary effects and its 95% interval, by hand."""
    from scipy.stats import norm

    total = sum(v["primary"]["effect"] for v in verdicts)
    variance = sum(
        (
            (v["primary"]["ci"][1] - v["primary"]["ci"][0])
            / (2 * norm.ppf(1 - v["primary"]["alpha"] / 2))
        )
        ** 2
        for v in verdicts
    )
    half = norm.ppf(0.975) * variance**0.5
    return total, [total - half, total + half]


def test_what_the_shipped_launches_moved_in_total_per_team_and_metric(tmp_path: Path) -> None:
    made = {v["spec_id"]: v for v in _portfolio(tmp_path)}
    document = quarter.review(tmp_path, None, quarter="2026Q4", today=TODAY)
    found = {(t["owner"], t["metric"], t["direction"]): t for t in document["totals"]}
    assert sorted(found, key=str) == sorted(
        [
            ("ana@example.com", "conversion", "increase"),
            ("ben@example.com", "conversion", "increase"),
            (None, "conversion", "increase"),  # both teams moved it
            ("ben@example.com", "conversion", "decrease"),  # not added to the others
        ],
        key=str,
    )
    ana = found[("ana@example.com", "conversion", "increase")]
    shipped = [made[f"ana-{index}"] for index in range(4)]
    total, interval = _sum_with_interval(shipped)
    assert ana["shipped"]["ids"] == [f"ana-{index}" for index in range(4)]
    assert ana["shipped"]["total"] == pytest.approx(total)
    assert ana["shipped"]["interval"] == pytest.approx(interval)
    assert ana["format"] == "percent" and ana["shipped"]["level"] == 0.95
    assert [entry["id"] for entry in ana["not_shipped"]] == [f"ana-{i}" for i in range(4, 10)]
    both = found[(None, "conversion", "increase")]
    total, interval = _sum_with_interval([*shipped, made["ben-hit"]])
    assert both["shipped"]["total"] == pytest.approx(total)
    assert both["shipped"]["interval"] == pytest.approx(interval)
    fall = found[("ben@example.com", "conversion", "decrease")]
    assert fall["shipped"]["total"] == pytest.approx(made["ben-ship"]["primary"]["effect"])


def test_the_totals_are_said_plainly_in_the_metrics_units(tmp_path: Path) -> None:
    from impact.report import quarter as sections

    _portfolio(tmp_path)
    revenue = quarters.verdict("ana-revenue", impact=0.5, effect=0.8, ci=(0.2, 1.4))
    revenue["primary"].update(name="revenue", kind="mean", format="currency", unit="USD")
    quarters.publish(tmp_path, revenue)
    document = quarter.review(tmp_path, None, quarter="2026Q4", today=TODAY)
    sentences = sections.totals_sentences(document)
    assert sentences[1] == (
        "ana@example.com: 4 shipped launches moved conversion by +10.0 pp in total "
        "(95% interval +7.0 to +13.0 pp), if their effects add up; 6 not shipped "
        "(5 iterate, 1 revert) are not summed."
    )
    assert sentences[0].startswith(
        "ben@example.com: 1 shipped launch moved conversion (lower is better) by -1.50 pp"
    )
    assert sentences[-1] == (
        "Different metrics or units are not added together: conversion (percentage points), "
        "revenue (USD)."
    )
    assert "ana@example.com: 1 shipped launch moved revenue by +$0.80 in total" in " ".join(
        sentences
    )
    page = str(sections.totals(document))
    assert "Moved in total" in page and "+10.0 pp" in page
    lead = repr(sections.headline(document))
    assert "All teams together: 5 shipped launches moved conversion by +13.0 pp" in lead
    assert "ana@example.com: 4 shipped" not in lead  # said for all teams in the lead
    assert "ben@example.com: 1 shipped launch moved conversion (lower is better)" in lead
    assert "+10.0 pp" in sections.markdown(document, "2026-Q4.html")


def test_a_launch_id_quarters_is_refused_at_validate(
    tmp_path: Path, spec_dict: dict[str, Any]
) -> None:
    from conftest import write_spec

    from impact import spec as spec_module

    spec_dict["id"] = "quarters"
    with pytest.raises(SpecError) as caught:
        spec_module.load(write_spec(tmp_path, spec_dict))
    message = str(caught.value)
    assert (
        'id: "quarters" is reserved for the quarter reviews (reports/quarters/); choose '
        in (message)
        and "\n" not in message
    ), message


def test_a_bet_changed_after_the_last_review_shows_without_reviewing_again(
    tmp_path: Path, spec_dict: dict[str, Any]
) -> None:
    from conftest import write_spec

    from impact import registry
    from impact import spec as spec_module

    specs = tmp_path / "specs"
    specs.mkdir()
    spec_dict["bet"] = {"reach": 10_000, "impact": "+0.02", "confidence": 0.8, "effort": 4}
    path = write_spec(specs, spec_dict, "checkout.yaml")
    registry.register(spec_module.load(path), now=dt.datetime(2026, 8, 20, 10, tzinfo=dt.UTC))
    quarters.publish(tmp_path, quarters.verdict("demo-checkout"))  # reviewed: no drift then
    spec_dict["bet"]["confidence"] = 0.95
    write_spec(specs, spec_dict, "checkout.yaml")
    document = quarter.review(tmp_path, specs, quarter="2026Q4", today=TODAY)
    (launch,) = document["launches"]
    assert launch["bet_drift"] == [{"field": "bet.confidence", "old": 0.8, "new": 0.95}]
    assert launch["confidence"] == 0.8  # judged as registered


def test_specs_that_fail_to_load_are_listed_not_skipped(
    tmp_path: Path, spec_dict: dict[str, Any]
) -> None:
    from conftest import write_spec

    from impact.report import quarter as sections

    specs = tmp_path / "specs"
    (specs / "team").mkdir(parents=True)
    spec_dict["bet"] = {"reach": 10_000, "impact": "+0.02", "confidence": 0.4, "effort": 4}
    write_spec(specs / "team", spec_dict, "broken.yaml")
    document = quarter.review(tmp_path, specs, quarter="2026Q4", today=TODAY)
    (entry,) = document["unloaded"]
    assert entry["file"] == "specs/team/broken.yaml"
    assert entry["why"].startswith("specs/team/broken.yaml: bet.confidence: 0.4 must be")
    assert str(tmp_path) not in json.dumps(document)
    page = str(sections.apart(document))
    assert (
        "Spec files that did not load" in page and "specs/team/broken.yaml: bet.confidence" in page
    )
    assert "1 spec file did not load" in str(sections.headline(document))
    assert "Did not load: specs/team/broken.yaml" in sections.markdown(document, "x.html")


def test_a_half_written_spec_without_spec_version_is_listed(tmp_path: Path) -> None:
    """Found by a new user: a broken file without spec_version was skipped without a word.
    Invalid YAML, or an id and a launch_date without spec_version, may be a spec: listed.
    Other YAML (a config without either) is still not a spec."""
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "broken.yaml").write_text('id: broken4\ntitle: "unterminated\n')
    (specs / "unversioned.yaml").write_text("id: x\nlaunch_date: 2026-10-01\n")
    (specs / "config.yaml").write_text("retries: 3\n")
    document = quarter.review(tmp_path, specs, quarter="2026Q4", today=TODAY)
    files = sorted(entry["file"] for entry in document["unloaded"])
    assert files == ["specs/broken.yaml", "specs/unversioned.yaml"]


def test_the_estimates_sentence_says_which_way_the_ratio_runs() -> None:
    """Found by a new user: 66% of the prediction read 'estimates ran high by 34%'."""
    from impact.report import quarter as sections

    share = {"k": 9, "n": 12, "rate": 0.75, "level": 0.95, "interval": [0.47, 0.91]}
    found = {"n": 12, "mean_ratio": 0.66, "median_ratio": 0.7, "overestimated": share}
    words = sections.estimates_sentence({"estimates": found})
    assert "measured effects fell short of the predictions by 34% on average" in words
    assert "ran high" not in words


def test_a_failing_quarter_notebook_is_kept_and_the_error_says_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from impact import quarter_run
    from impact.errors import ReviewFailed
    from impact.report import quarter as sections

    def broken(document: dict[str, Any]) -> None:
        raise RuntimeError("the RICE section broke")

    monkeypatch.setattr(sections, "rice", broken)  # the template runs in this process
    quarters.publish(tmp_path, quarters.verdict("ana-0"))
    with pytest.raises(ReviewFailed) as caught:
        quarter_run.run(None, quarter_label="2026Q4", today="2026-12-20", output_dir=tmp_path)
    message = str(caught.value)
    assert "RuntimeError: the RICE section broke" in message and "\n" not in message
    kept = caught.value.notebook
    assert kept is not None and kept.is_file() and kept.with_suffix(".html").is_file()
    assert kept.parent == tmp_path / "notebooks" / "quarters" / "failed"
    assert f"notebook kept at {kept}" in message
    assert not (tmp_path / "reports" / "quarters").exists()


def test_a_sentence_comparing_rounded_numbers_never_contradicts_its_digits() -> None:
    from impact.report import quarter as sections

    close = {
        "calibration": {
            "n": 8,
            "stated": 0.75,
            "observed": {"k": 3, "n": 8, "rate": 0.375, "interval": [0.137, 0.746], "level": 0.95},
            "judgement": "overconfident",
            "p_value": 0.03,
        }
    }
    sentence = sections.calibration_sentence(close)
    assert "3 of 8 (37.5%; 95% interval 13.7%-74.6%)" in sentence, sentence
    assert "The interval lies below 75.0%" in sentence, sentence
    apart = {
        **close["calibration"],
        "observed": {**close["calibration"]["observed"], "interval": [0.137, 0.70]},
    }
    sentence = sections.calibration_sentence({"calibration": apart})
    assert "3 of 8 (38%; 95% interval 14%-70%)" in sentence and "lies below 75%" in sentence


def test_the_predicted_and_measured_table_uses_the_metrics_formats_and_names_its_level(
    tmp_path: Path,
) -> None:
    from impact.report import quarter as sections

    _portfolio(tmp_path)
    revenue = quarters.verdict("ana-revenue", impact=0.5, effect=0.8, ci=(0.2, 1.4))
    revenue["primary"].update(name="revenue", kind="mean", format="currency", unit="USD")
    quarters.publish(tmp_path, revenue)
    document = quarter.review(tmp_path, None, quarter="2026Q4", today=TODAY)
    block = sections.estimates(document)
    rows = {
        row[0]: row
        for row in (
            ["".join(td.itertext()) for td in tr.findall("td")] for tr in block.element.iter("tr")
        )
        if row
    }
    assert rows["Launch ana-0"][2:6] == [
        "+2.00 pp",
        "+2.50 pp",
        "+1.00 to +4.00 pp (95.2%)",
        "125%",
    ]
    assert rows["Launch ana-revenue"][2:5] == ["+$0.50", "+$0.80", "+$0.20 to +$1.40 (95.2%)"]
    assert "interval (its level)" in str(block)


def test_the_rice_table_lists_inconclusive_launches_last_unranked(tmp_path: Path) -> None:
    from impact.report import quarter as sections

    _portfolio(tmp_path)
    document = quarter.review(tmp_path, None, quarter="2026Q4", today=TODAY)
    rows = [
        ["".join(td.itertext()) for td in tr.findall("td")]
        for tr in sections.rice(document).element.iter("tr")
    ]
    rows = [row for row in rows if row]
    assert rows[0][0] == "1"
    assert [row[1] for row in rows[-3:]] == ["Launch ana-5", "Launch ana-9", "Launch ben-miss"]
    assert rows[-1][0] == "not ranked (inconclusive)"


def test_calibration_by_owner_tells_each_team(tmp_path: Path) -> None:
    from impact.report import quarter as sections

    made = _portfolio(tmp_path)
    document = quarter.review(tmp_path, None, quarter="2026Q4", today=TODAY)
    counted = _direct(made)
    for owner in ("ana@example.com", "ben@example.com"):
        mine = [v for v in counted if v["owner"] == owner]
        stated = [v["bet"]["confidence"] for v in mine]
        met = [v["primary"]["status"] == "target_met" for v in mine]
        found = document["calibration_by_owner"][owner]
        assert found["n"] == len(mine)
        assert found["stated"] == pytest.approx(sum(stated) / len(mine))
        assert (found["observed"]["k"], found["observed"]["n"]) == (sum(met), len(mine))
        assert found["brier"] == pytest.approx(
            sum((p - y) ** 2 for p, y in zip(stated, met, strict=True)) / len(mine)
        )
        assert found["perfect_brier"] == pytest.approx(sum(p * (1 - p) for p in stated) / len(mine))
    assert document["calibration_by_owner"]["ana@example.com"]["judgement"] == "overconfident"
    page = repr(sections.calibration(document))
    assert "ana@example.com: Overconfident: the bets stated 80% confidence on average" in page
    assert "ben@example.com: Consistent with calibration" in page


@pytest.mark.parametrize(
    ("label", "words"),
    [
        (
            "2027Q1",
            "2027-Q1 has not started (it begins 2027-01-01; today is 2026-12-20): no launch can "
            "have decided in it yet",
        ),
        (
            "2026Q2",
            "no launch with a bet registered before launch decided in 2026-Q2: nothing to judge "
            "(0 counted apart, 0 invalid, 0 pending)",
        ),
    ],
)
def test_a_future_or_empty_quarter_publishes_with_a_warning(
    tmp_path: Path, label: str, words: str
) -> None:
    from impact import quarter_run
    from impact.report import quarter as sections

    _portfolio(tmp_path)
    document = quarter.review(tmp_path, None, quarter=label, today=TODAY)
    assert words in document["warnings"]
    assert words in quarter_run.warnings(document)
    assert words in repr(sections.headline(document))
    assert f"Warning: {words}" in sections.markdown(document, "x.html")
