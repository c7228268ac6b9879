"""verdict.md: what a PM pastes into Slack or email, from verdict.json alone."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from impact import message

EXPERIMENT: dict[str, Any] = {
    "spec_id": "checkout",
    "title": "Checkout -> one page",
    "design": "experiment",
    "checkpoint": "56d",
    "final": True,
    "launch_date": "2026-09-01",
    "as_of": "2026-10-27",
    "outcome": "ship",
    "action": "ship",
    "next_review": None,
    "reasons": [],
    "primary": {
        "name": "conversion",
        "kind": "proportion",
        "format": "percent",
        "unit": None,
        "status": "target_met",
        "control": 0.3330,
        "treatment": 0.3650,
        "effect": 0.0320,
        "ci": [0.0242, 0.0399],
        "relative_effect": 0.0962,
        "relative_ci": [0.0718, 0.1211],
        "alpha": 0.0446,
        "target": "+0.02",
        "n": {"control": 27214, "treatment": 27089},
    },
    "guardrails": [{"name": "refunds", "status": "ok"}],
    "registration": {"registered": True, "registered_at": "2026-08-20T10:00:00Z"},
}


def test_an_experiment_in_a_few_plain_lines() -> None:
    text = message.markdown(EXPERIMENT, "56d.html", report_url="https://r.example.com/reports/")
    assert text.splitlines() == [
        "*Checkout → one page*: 56d final review: *Ship* (action: ship)",
        "conversion: 33.3% → 36.5%, +3.20 pp (+9.6%); 95.5% CI +2.42 to +3.99 pp; "
        "target +2.00 pp: target met",
        "27,214 control, 27,089 treatment; launched 2026-09-01, data up to 2026-10-26",
        "Guardrails: refunds ok",
        "Report: https://r.example.com/reports/checkout/56d.html",
    ]
    assert "&gt;" not in text and "&lt;" not in text
    # found by a new user: "+3.03 pp (+9.1%); ... target +2.0%" read as points
    relative = {**EXPERIMENT, "primary": {**EXPERIMENT["primary"], "target": "2%"}}
    said = message.markdown(relative, "56d.html").splitlines()[1]
    assert said.endswith("target +2.0% (relative): target met"), said


def test_the_report_url_may_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPACT_REPORT_URL", "https://r.example.com")
    text = message.markdown(EXPERIMENT, "56d.html")
    assert text.splitlines()[-1] == "Report: https://r.example.com/checkout/56d.html"
    monkeypatch.delenv("IMPACT_REPORT_URL")
    assert message.markdown(EXPERIMENT, "56d.html").splitlines()[-1] == "Report: 56d.html"


def test_prepost_is_called_observational_in_its_units() -> None:
    verdict = copy.deepcopy(EXPERIMENT)
    verdict["design"] = "prepost"
    verdict["primary"].update(
        name="orders",
        kind="series",
        format="count",
        unit="orders",
        control=853.1,
        treatment=903.3,
        effect=50.22,
        ci=[4.459, 95.99],
        relative_effect=0.0589,
        relative_ci=[0.005, 0.1189],
        target="+3%",
        n={"pre": 365, "post": 56},
    )
    lines = message.markdown(verdict, "56d.html").splitlines()
    assert lines[1] == (
        "orders per day: 853 orders → 903 orders (counterfactual → actual), +50.2 orders (+5.9%); "
        "95.5% CI +4.5 to +96.0 orders; target +3.0%: target met"
    )
    assert lines[2].startswith("Observational (no control group): against a counterfactual")
    assert "365 days before launch, 56 since" in lines[2]
    # Found by a new user: a count from events read "purchases per day: 0.0786 → 0.0688"
    verdict["primary"].update(
        name="purchases", per="active unit per day", format="number", unit=None
    )
    line = message.markdown(verdict, "56d.html").splitlines()[1]
    assert line.startswith("purchases per active unit per day: 853 → 903 ")


def test_registration_caveats_and_hostile_words() -> None:
    verdict = copy.deepcopy(EXPERIMENT)
    verdict["title"] = "<!channel> <script>"
    verdict["registration"] = {
        "registered": True,
        "registered_at": "2026-09-03T10:00:00Z",
        "registered_after_launch": True,
        "changed_fields": [{"field": "title", "deciding": False}],
    }
    text = message.markdown(verdict, "56d.html")
    assert "<" not in text and ">" not in text and "&lt;" not in text
    assert "Registered after launch (2026-09-03)" in text
    assert "Changed since registration: title" in text
    # the team template's file changed (found by a new user: the report and status said so,
    # verdict.md did not)
    verdict["registration"].update(changed_fields=[], template_changed=True)
    verdict["template"] = {"name": "checkout-team", "team": True, "path": "t", "sha256": "0" * 64}
    text = message.markdown(verdict, "56d.html")
    assert "Changed since registration: the team template checkout-team (words only)" in text


def test_adoption_says_what_falls_short_in_words() -> None:
    verdict = copy.deepcopy(EXPERIMENT)
    verdict.update(
        primary=None,
        guardrails=[],
        outcome="iterate",
        action="fix the weakest step",
        adoption={
            "eligible": 12000,
            "exposed": 0.62,
            "tried": 0.31,
            "repeat": 0.12,
            "met": False,
            "diagnosis": "value",
        },
    )
    line = message.markdown(verdict, "56d.html").splitlines()[1]
    assert line == (
        "Adoption of 12,000 eligible: 62.0% saw it, 31.0% tried it, 12.0% came back; "
        "short: people try it but do not come back"
    )
    assert "value" not in line


def test_data_read_instead_of_the_spec_source_is_said() -> None:
    verdict = copy.deepcopy(EXPERIMENT)
    verdict["run"] = {
        "data_source": "/tmp/copy",
        "data_source_override": "/tmp/copy",
        "data_fingerprint": "9a828a5789fa0000",
    }
    text = message.markdown(verdict, "56d.html")
    assert (
        "Data read from /tmp/copy, given instead of the spec's data.source "
        "(fingerprint 9a828a5789fa)" in text
    )
    assert "instead of" not in message.markdown(EXPERIMENT, "56d.html")


def test_a_failed_team_section_is_a_line_naming_it() -> None:
    verdict = {
        **EXPERIMENT,
        "sections_failed": [
            {
                "cell": 21,
                "number": 22,
                "section": "Revenue by *country*",
                "ename": "KeyError",
                "evalue": "'country'\nsecond line",
            },
            {"cell": 24, "ename": "ValueError", "evalue": ""},  # before number and section
        ],
    }
    lines = message.markdown(verdict, "56d.html").splitlines()
    assert lines[-3:-1] == [
        '⚠ A team section failed: cell 22 (counting from 1, in the section "Revenue by '
        "\\*country\\*\"): KeyError: 'country'. The verdict stands; the report shows the "
        "block",
        "⚠ A team section failed: cell 25 (counting from 1): ValueError. The verdict stands; "
        "the report shows the block",
    ]
    plain = message.markdown({**EXPERIMENT, "sections_failed": []}, "56d.html")
    assert plain == message.markdown(EXPERIMENT, "56d.html")


@pytest.mark.parametrize(
    ("today", "line"),
    [
        ("2026-10-01", "Next review: 2026-10-27"),
        ("2026-11-26", "Next review: 2026-10-27, due now (its date has passed)"),
    ],
)
def test_a_next_review_whose_date_has_passed_is_due_now(today: str, line: str) -> None:
    interim = copy.deepcopy(EXPERIMENT)
    interim.update(
        checkpoint="28d",
        final=False,
        outcome="keep_running",
        action="keep running",
        next_review="2026-10-27",
        run={"today": today},
    )
    assert line in message.markdown(interim, "28d.html").splitlines()


def test_an_amendment_after_launch_is_in_the_message() -> None:
    """Found by a new user: verdict.md said a clean 'Ship' against a target lowered after the
    data were in; the report showed it."""
    amended = copy.deepcopy(EXPERIMENT)
    amended["registration"]["amendments"] = [
        {
            "number": 1,
            "at": "2026-10-30T09:00:00Z",
            "reason": "the first weeks showed a smaller effect",
            "after_launch": True,
            "deciding_fields": ["metrics.primary.target"],
            "changes": [{"field": "metrics.primary.target", "old": "0.02", "new": "0.01"}],
            "when": "after the 56d review",
        },
        {
            "number": 2,
            "at": "2026-10-31T09:00:00Z",
            "reason": "a typo",
            "after_launch": True,
            "deciding_fields": [],
            "changes": [{"field": "title", "old": "Checkout", "new": "Checkout page"}],
            "when": "after the 56d review",
        },
    ]
    lines = message.markdown(amended, "56d.html").splitlines()
    assert (
        "⚠ Amended after launch (amendment 1, after the 56d review): metrics.primary.target "
        "0.02 → 0.01; reason: the first weeks showed a smaller effect"
    ) in lines
    assert not [line for line in lines if "amendment 2" in line]


def test_the_report_s_warnings_are_in_the_message() -> None:
    """Found by a new user: 29% of events naming no unit was flagged in the report and left
    out of verdict.md, which read as a clean ship."""
    warned = copy.deepcopy(EXPERIMENT)
    joins = "ids join (text and text): 29.4% of events name a unit not in the units table"
    warned["checks"] = [
        {"name": "sample_ratio", "passed": True, "p_value": 0.4, "detail": "match"},
        {"name": "joins", "passed": False, "p_value": None, "detail": joins},
        {"name": "registration", "passed": False, "p_value": None, "detail": "not registered"},
    ]
    lines = message.markdown(warned, "56d.html").splitlines()
    assert f"! {joins}" in lines
    assert not [line for line in lines if "match" in line or line == "! not registered"]
    invalid = copy.deepcopy(warned)
    invalid.update(outcome="invalid", action="fix the problem and rerun", reasons=[joins])
    assert message.markdown(invalid, "56d.html").count(joins) == 1


def test_an_interim_that_decided_names_no_next_review() -> None:
    shipped = copy.deepcopy(EXPERIMENT)
    shipped.update(checkpoint="28d", final=False, next_review="2026-10-27")
    assert "Next review" not in message.markdown(shipped, "28d.html")


def test_changed_fields_say_which_decide() -> None:
    """Found by a new user: 'metrics.primary.target, title (deciding: ...)' called the title
    deciding."""
    changed = copy.deepcopy(EXPERIMENT)
    changed["registration"]["changed_fields"] = [
        {"field": "metrics.primary.target", "deciding": True},
        {"field": "title", "deciding": False},
    ]
    assert (
        "Changed since registration: metrics.primary.target (deciding: the verdict is "
        "invalid); title (words only)"
    ) in message.markdown(changed, "56d.html").splitlines()
