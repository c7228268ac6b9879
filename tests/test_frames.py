"""impact.frames: the numbers behind each section as DataFrames, equal to verdict.json's; and
the notebook in docs/notebooks/ executed as a new user would run it."""

from __future__ import annotations

from pathlib import Path

import papermill
import pytest
from conftest import ROOT, demo_launch

import impact
from impact import engine, frames, review

TODAY = "2026-11-26"


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> review.ReviewResult:
    spec = demo_launch(tmp_path_factory.mktemp("frames"), units=4000, lock=True)
    return review.run(str(spec), "56d", TODAY)


def test_metrics_are_verdict_json_rows(result: review.ReviewResult) -> None:
    payload = result.to_json()
    table = frames.metrics(result)
    assert (
        list(table["role"])
        == ["primary", "guardrail", "guardrail", "secondary", "secondary", "secondary"][
            : len(table)
        ]
    )
    primary = table.iloc[0]
    assert primary["name"] == payload["primary"]["name"]
    assert primary["effect"] == payload["primary"]["effect"]
    assert [primary["ci_lower"], primary["ci_upper"]] == payload["primary"]["ci"]
    secondary = table[table["role"] == "secondary"]
    assert list(secondary["q_value"]) == [s["q_value"] for s in payload["secondary"]]


def test_per_arm_and_per_week_match_the_verdict(result: review.ReviewResult) -> None:
    payload = result.to_json()
    arms = frames.per_arm(result)
    primary = arms[arms["metric"] == payload["primary"]["name"]].set_index("arm")
    assert primary["n"].to_dict() == payload["primary"]["n"]
    # the arms' own values: the verdict's where CUPED did not adjust the comparison
    plain = [
        entry
        for entry in [payload["primary"], *payload["guardrails"], *payload["secondary"]]
        if not (entry.get("cuped") or {}).get("applied")
    ]
    assert plain
    values = arms.set_index(["metric", "arm"])["value"]
    for entry in plain:
        assert values[entry["name"], "control"] == pytest.approx(entry["control"], rel=1e-9)
        assert values[entry["name"], "treatment"] == pytest.approx(entry["treatment"], rel=1e-9)
    weeks = frames.per_week(result)
    assert list(weeks["week"]) == [w["week"] for w in payload["primary"]["weeks"]]
    assert list(weeks["effect"]) == pytest.approx(
        [w["effect"] for w in payload["primary"]["weeks"]]
    )


def test_per_day_adds_up_to_the_arms(result: review.ReviewResult) -> None:
    days = frames.per_day(result)
    arms = frames.per_arm(result)
    name = result.primary.metric.name
    totals = days.groupby("arm")["n"].sum().to_dict()
    assert totals == arms[arms["metric"] == name].set_index("arm")["n"].to_dict()
    assert days["day"].is_monotonic_increasing
    with pytest.raises(ValueError, match="per_day: no metric 'nope'; the metrics are"):
        frames.per_day(result, "nope")


def test_frames_say_which_design_has_no_arms(tmp_path: Path) -> None:
    from impact import adoption_review, demo

    demo.generate_adoption(tmp_path / "data" / "demo-adoption")
    spec = demo.write_demo_spec(tmp_path / "specs", "adoption")
    adopted = adoption_review.run(str(spec), None, TODAY)
    with pytest.raises(
        ValueError,
        match=r"per_week: this adoption review has no arms; use frames\.metrics, frames\.funnel",
    ):
        frames.per_week(adopted)
    funnel = frames.funnel(adopted)
    assert funnel.iloc[0]["eligible"] == adopted.adoption.funnel.eligible
    assert funnel.iloc[0]["tried"] == pytest.approx(adopted.to_json()["adoption"]["tried"])


def test_the_docs_notebook_digs_into_a_review(tmp_path: Path) -> None:
    spec = demo_launch(tmp_path, units=4000, lock=True)
    executed = tmp_path / "dug.ipynb"
    notebook = papermill.execute_notebook(
        str(ROOT / "docs" / "notebooks" / "digging-into-a-review.ipynb"),
        str(executed),
        parameters={"spec_path": str(spec)},
        engine_name=engine.NAME,
        progress_bar=False,
        cwd=str(tmp_path),
    )
    outputs = [o for c in notebook.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    html = "".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert html.count("<table") >= 4  # the metrics, weeks, per arm, per day, iOS tables
    assert 'alt="the effect in percentage points by week since exposure' in html
    text = "".join(str(o.get("text", "")) for o in outputs)
    assert "iOS: " in text


def test_the_public_api_is_the_documented_one() -> None:
    documented = (ROOT / "docs" / "notebooks.md").read_text().split("## The public API", 1)[1]
    names = sorted(line.split("`")[1] for line in documented.splitlines() if line.startswith("| `"))
    assert impact.__all__ == names
    for name in impact.__all__:
        assert getattr(impact, name) is not None
