"""Segment effects: per value of each registered column, the same statistics as the whole,
q-values across every cell, Cochran's Q per metric and column, small values pooled."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from launches import TODAY
from scipy.stats import norm
from staged import segment_launch
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests

from impact import review
from impact.errors import DataError
from impact.stats.heterogeneity import cochran_q


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, pd.DataFrame]:
    spec, frame, _ = segment_launch(tmp_path_factory.mktemp("segments"))
    return review.run(str(spec), "56d", TODAY), frame


def test_cochran_q_equals_statsmodels() -> None:
    effects = [0.031, -0.028, 0.004, 0.012]
    variances = [0.0001, 0.00012, 0.0004, 0.00009]
    ours = cochran_q(effects, variances)
    theirs = combine_effects(np.array(effects), np.array(variances))
    assert ours.statistic == pytest.approx(theirs.q, rel=1e-10)
    assert ours.i2 == pytest.approx(theirs.i2, rel=1e-10)
    assert ours.common == pytest.approx(theirs.mean_effect_fe, rel=1e-10)
    assert ours.p_value == pytest.approx(theirs.test_homogeneity().pvalue, rel=1e-8)
    assert cochran_q([0.1], [0.01]).p_value is None


def test_cells_equal_a_hand_computation_on_raw_data(reviewed: tuple[Any, pd.DataFrame]) -> None:
    result, frame = reviewed
    cells = {(c.metric.name, c.value): c for c in result.segments.cells}
    for platform in ("ios", "android"):
        members = frame[frame.platform == platform]
        c = members[members.variant == "control"].converted
        t = members[members.variant == "treatment"].converted
        cell = cells[("conversion", platform)]
        effect = t.mean() - c.mean()
        se = math.sqrt(t.var(ddof=0) / len(t) + c.var(ddof=0) / len(c))
        assert cell.n == {"control": len(c), "treatment": len(t)}
        assert cell.comparison.effect == pytest.approx(effect, abs=1e-12)
        assert cell.comparison.se == pytest.approx(se, rel=1e-9)
        quantile = norm.ppf(1 - cell.comparison.alpha / 2)  # the look's level
        assert cell.comparison.alpha == result.look.alpha < 0.05
        assert cell.comparison.ci_lower == pytest.approx(effect - quantile * se)
    p_values = [c.comparison.p_value for c in result.segments.cells]
    expected = multipletests(p_values, method="fdr_bh")[1]
    assert [c.q_value for c in result.segments.cells] == pytest.approx(list(expected))


def test_small_values_are_pooled_into_other_and_said_so(
    reviewed: tuple[Any, pd.DataFrame],
) -> None:
    result, frame = reviewed
    values = [c.value for c in result.segments.cells if c.metric.name == "conversion"]
    assert values == ["android", "ios", "other"]
    other = next(c for c in result.segments.cells if c.value == "other")
    assert other.pooled == ("web",)
    assert sum(other.n.values()) == (frame.platform == "web").sum()
    assert result.segments.pooled == {"platform": (("web",), 100)}


def test_segments_never_change_the_outcome_and_name_who_was_hurt(
    tmp_path: Path, reviewed: tuple[Any, pd.DataFrame]
) -> None:
    result, _ = reviewed
    spec, _, _ = segment_launch(tmp_path)
    document = yaml.safe_load(spec.read_text())
    del document["segments"]
    spec.write_text(yaml.safe_dump(document))
    plain = review.run(str(spec), "56d", TODAY)
    assert result.verdict.outcome == plain.verdict.outcome
    assert result.verdict.action == plain.verdict.action
    harms = [r for r in result.verdict.reasons if r.startswith("harms") and "refunds" not in r]
    helps = [r for r in result.verdict.reasons if r.startswith("helps")]
    assert len(harms) == 1 and harms[0].startswith("harms android (platform): conversion got worse")
    assert len(helps) == 1 and helps[0].startswith("helps ios (platform): conversion improved")
    assert result.primary.status in ("inconclusive", "no_meaningful_effect")  # +0 overall
    test = result.segments.test("conversion", "platform")
    assert test is not None and test.test.p_value < 1e-4
    refunds = result.segments.test("refunds", "platform")
    assert refunds is not None and refunds.test.p_value > 0.001


def test_a_segment_cell_equals_the_whole_review_of_that_segment(tmp_path: Path) -> None:
    """Same statistics as the whole (CUPED included): the ios cell is what a review of the
    ios units alone (data.segment) gives, to the last digit."""
    spec, _, _ = segment_launch(tmp_path, cuped=True)
    result = review.run(str(spec), "56d", TODAY)
    cell = next(c for c in result.segments.cells if c.value == "ios" and c.role == "primary")
    assert cell.analysis.cuped_applied
    document = yaml.safe_load(spec.read_text())
    document["data"]["segment"] = "platform = 'ios'"
    del document["segments"]
    spec.write_text(yaml.safe_dump(document))
    alone = review.run(str(spec), "56d", TODAY)
    assert cell.comparison.effect == pytest.approx(alone.primary.comparison.effect, rel=1e-12)
    assert cell.comparison.se == pytest.approx(alone.primary.comparison.se, rel=1e-12)


def test_a_misspelt_segment_column_is_bad_input(tmp_path: Path) -> None:
    spec, _, _ = segment_launch(tmp_path)
    spec.write_text(spec.read_text().replace("column: platform", "column: platfrom"))
    with pytest.raises(DataError, match=r"segments\[0\] names column 'platfrom'.*'platform'"):
        review.run(str(spec), "56d", TODAY)


def test_verdict_json_carries_cells_and_tests(reviewed: tuple[Any, pd.DataFrame]) -> None:
    from impact import runner

    result, _ = reviewed
    payload = result.to_json()
    runner.validate_verdict(payload)
    first = payload["segments"][0]
    assert set(first) >= {
        "metric",
        "column",
        "value",
        "n",
        "effect",
        "ci",
        "p_value",
        "q_value",
        "status",
    }
    assert {(h["metric"], h["column"]) for h in payload["heterogeneity"]} == {
        ("conversion", "platform"),
        ("refunds", "platform"),
    }
    assert payload["phases"] == []


def test_without_segments_the_payload_has_empty_lists(tmp_path: Path) -> None:
    spec, _, _ = segment_launch(tmp_path)
    document = yaml.safe_load(spec.read_text())
    del document["segments"]
    spec.write_text(yaml.safe_dump(document))
    payload = review.run(str(spec), "56d", TODAY).to_json()
    assert payload["segments"] == [] and payload["heterogeneity"] == []


def test_the_schema_documents_segments_heterogeneity_and_phases() -> None:
    import json

    from conftest import ROOT

    schema = json.loads((ROOT / "impact" / "schemas" / "verdict.v1.json").read_text())
    properties = schema["properties"]
    cell = properties["segments"]["items"]
    assert set(cell["required"]) >= {"metric", "column", "value", "n", "q_value", "status"}
    assert "description" in properties["segments"]
    assert set(properties["heterogeneity"]["items"]["required"]) >= {"metric", "column"}
    phase = properties["phases"]["items"]
    assert set(phase["required"]) >= {"start", "split", "n", "sample_ratio_p_value"}
    assert "pooled" in properties
    bad = {"segments": [{"metric": "conversion"}]}
    import jsonschema

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, {**schema, "required": []})
