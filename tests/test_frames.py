"""impact.frames: the numbers behind each section as DataFrames, equal to verdict.json's; and
the notebook in docs/notebooks/ executed as a new user would run it."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import papermill
import pytest
from conftest import ROOT, demo_launch
from staged import segment_launch

import impact
from impact import adoption_review, demo, engine, frames, prepost, review

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


UNITS_PER_ARM = "SELECT variant, count(*) AS units FROM impact_units GROUP BY 1 ORDER BY 1"


def test_query_reads_the_data_the_review_read(result: review.ReviewResult, tmp_path: Path) -> None:
    folder = result.spec.resolve(result.spec.data.source)
    table = frames.query(result, UNITS_PER_ARM)
    direct = duckdb.sql(
        f"SELECT variant, count(*) AS units FROM read_parquet('{folder}/units.parquet') "
        "GROUP BY 1 ORDER BY 1"
    ).df()
    assert list(table.columns) == ["variant", "units"]
    assert table.to_dict("list") == direct.to_dict("list")
    # the template's data_source parameter (impact review --data-source) is read instead
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    (copy / "units.parquet").unlink()
    duckdb.sql(
        f"COPY (SELECT * FROM read_parquet('{folder}/units.parquet') WHERE variant = 'control') "
        f"TO '{copy}/units.parquet' (FORMAT parquet)"
    )
    given = frames.query(result, UNITS_PER_ARM, data_source=str(copy))
    assert list(given["variant"]) == ["control"]
    with pytest.raises(impact.DataError, match=r"nowhere: data\.source does not exist"):
        frames.query(result, UNITS_PER_ARM, data_source=str(tmp_path / "nowhere"))
    # a bad query is a DataError naming the source, as docs/notebooks.md says (a new user got
    # DuckDB's own BinderException)
    with pytest.raises(impact.DataError) as raised:
        frames.query(result, "SELECT region FROM impact_units")
    assert str(raised.value).startswith(f"{folder}: the query failed: ")
    assert '"region"' in str(raised.value) and "\n" not in str(raised.value)


@pytest.fixture(scope="module")
def segmented(tmp_path_factory: pytest.TempPathFactory) -> review.ReviewResult:
    spec, _, _ = segment_launch(tmp_path_factory.mktemp("frames-segments"))
    return review.run(str(spec), "56d", TODAY)


def test_per_segment_is_verdict_json_segments_with_their_heterogeneity(
    segmented: review.ReviewResult,
) -> None:
    payload = segmented.to_json()
    table = frames.per_segment(segmented)
    assert list(table.columns) == [
        "metric",
        "role",
        "column",
        "value",
        "pooled_values",
        "n_control",
        "n_treatment",
        "control",
        "treatment",
        "effect",
        "ci_lower",
        "ci_upper",
        "relative_effect",
        "p_value",
        "q_value",
        "alpha",
        "status",
        "differ_p_value",
    ]
    assert len(table) == len(payload["segments"]) == 6
    differ = {(h["metric"], h["column"]): h["p_value"] for h in payload["heterogeneity"]}
    for row, cell in zip(table.to_dict("records"), payload["segments"], strict=True):
        assert (row["metric"], row["role"], row["column"], row["value"], row["status"]) == (
            cell["metric"],
            cell["role"],
            cell["column"],
            cell["value"],
            cell["status"],
        )
        assert [row["n_control"], row["n_treatment"]] == [
            cell["n"]["control"],
            cell["n"]["treatment"],
        ]
        numbers = ["control", "treatment", "effect", "p_value", "q_value", "alpha"]
        assert [row[k] for k in numbers] == pytest.approx([cell[k] for k in numbers], rel=1e-9)
        assert [row["ci_lower"], row["ci_upper"]] == pytest.approx(cell["ci"], rel=1e-9)
        assert row["differ_p_value"] == pytest.approx(
            differ[cell["metric"], cell["column"]], rel=1e-9
        )
    conversion = table[table["metric"] == "conversion"].set_index("value")
    assert list(conversion.index) == ["android", "ios", "other"]
    assert conversion.loc["other", "pooled_values"] == ["web"]
    assert conversion.loc["ios", "pooled_values"] is None
    # a team slices it as any DataFrame: who was hurt, by q-value
    hurt = table[(table["status"] == "harm") & (table["q_value"] < table["alpha"])]
    assert list(hurt["value"]) == ["android"]


def test_per_segment_says_when_the_spec_registered_none(result: review.ReviewResult) -> None:
    with pytest.raises(
        ValueError,
        match=r"per_segment: demo-checkout registers no segments; a spec's segments: "
        r"\[column, \.\.\.\] \(registered before launch\) gives them, or query the "
        r"units yourself as docs/notebooks/digging-into-a-review\.ipynb does",
    ):
        frames.per_segment(result)


@pytest.fixture(scope="module")
def prepost_result(tmp_path_factory: pytest.TempPathFactory) -> prepost.PrepostResult:
    root = tmp_path_factory.mktemp("frames-prepost")
    demo.generate_series(root / "data" / "demo-prepost")
    return prepost.run(str(demo.write_demo_spec(root / "specs", "prepost")), "56d", TODAY)


@pytest.fixture(scope="module")
def adoption_result(tmp_path_factory: pytest.TempPathFactory) -> adoption_review.AdoptionReview:
    root = tmp_path_factory.mktemp("frames-adoption")
    demo.generate_adoption(root / "data" / "demo-adoption")
    spec = demo.write_demo_spec(root / "specs", "adoption")
    return adoption_review.run(str(spec), None, TODAY)


# Per design, what each frame gives: its columns, or the start of the error that says it
# does not apply and which frames do.
_NO_ARMS = "review has no arms; use frames.metrics"
_BY_DESIGN: dict[str, dict[str, list[str] | str]] = {
    "prepost": {
        "metrics": ["role", "name", "status"],
        "per_arm": f"per_arm: this prepost {_NO_ARMS}, frames.per_day",
        "per_day": ["day", "actual", "counterfactual", "effect"],
        "per_week": f"per_week: this prepost {_NO_ARMS}, frames.per_day",
        "per_segment": f"per_segment: this prepost {_NO_ARMS}, frames.per_day",
        "funnel": ["group", "eligible", "exposed", "tried", "repeat", "met", "diagnosis"],
        "checks": ["name", "passed", "blocking", "p_value", "detail"],
        "query": "query: this prepost review reads a daily series, not units and events; "
        "use frames.per_day",
    },
    "adoption": {
        "metrics": ["role", "name", "status"],
        "per_arm": f"per_arm: this adoption {_NO_ARMS}, frames.funnel",
        "per_day": f"per_day: this adoption {_NO_ARMS}, frames.funnel",
        "per_week": f"per_week: this adoption {_NO_ARMS}, frames.funnel",
        "per_segment": f"per_segment: this adoption {_NO_ARMS}, frames.funnel",
        "funnel": ["group", "eligible", "exposed", "tried", "repeat", "met", "diagnosis"],
        "checks": ["name", "passed", "blocking", "p_value", "detail"],
        "query": ["units"],
    },
}


@pytest.mark.parametrize("design", sorted(_BY_DESIGN))
def test_every_frame_works_or_says_it_does_not_apply(
    design: str,
    prepost_result: prepost.PrepostResult,
    adoption_result: adoption_review.AdoptionReview,
) -> None:
    reviewed = prepost_result if design == "prepost" else adoption_result
    assert sorted(_BY_DESIGN[design]) == sorted(frames.__all__)
    for name, expected in _BY_DESIGN[design].items():
        function = getattr(frames, name)
        if name == "query":
            function = functools.partial(function, sql="SELECT count(*) AS units FROM impact_units")
        if isinstance(expected, str):
            with pytest.raises(ValueError) as raised:
                function(reviewed)
            assert str(raised.value).startswith(expected), name
            continue
        table = function(reviewed)
        assert list(table.columns[: len(expected)]) == expected, name
    payload = reviewed.to_json()
    assert list(frames.checks(reviewed)["name"]) == [c["name"] for c in payload["checks"]]
    named = [payload["primary"]["name"]] if payload.get("primary") else []
    assert list(frames.metrics(reviewed)["name"])[: len(named)] == named


def test_prepost_per_day_is_the_series_and_its_counterfactual(
    prepost_result: prepost.PrepostResult,
) -> None:
    days = frames.per_day(prepost_result)
    series = prepost_result.series
    assert len(days) == len(series.dates)
    before = days.iloc[: series.launch]
    assert before["counterfactual"].isna().all()
    after = days.iloc[series.launch :].dropna()
    assert len(after) > 0
    assert list(after["effect"]) == pytest.approx(list(after["actual"] - after["counterfactual"]))


def test_adoption_funnel_is_verdict_json(
    adoption_result: adoption_review.AdoptionReview,
) -> None:
    with pytest.raises(
        ValueError,
        match=r"per_week: this adoption review has no arms; use frames\.metrics, frames\.funnel",
    ):
        frames.per_week(adoption_result)
    funnel = frames.funnel(adoption_result)
    payload = adoption_result.to_json()["adoption"]
    assert pd.isna(funnel.iloc[0]["group"])  # everyone
    assert funnel.iloc[0]["eligible"] == adoption_result.adoption.funnel.eligible
    assert funnel.iloc[0]["tried"] == pytest.approx(payload["tried"])
    assert len(funnel) == 1 + len(adoption_result.adoption.breakdown)


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
