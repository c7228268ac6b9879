"""Edge cases in the data: a correct result or a clear statement, never a crash or a NaN."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import DEMO_SPEC

from impact import demo, review, runner

TODAY = "2026-11-26"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("edges")
    demo.generate(root / "data" / "demo", units=3000)
    return root


def _launch(base: Path, tmp_path: Path) -> Path:
    root = tmp_path / "launch"
    shutil.copytree(base, root)
    (root / "specs").mkdir()
    shutil.copyfile(DEMO_SPEC, root / "specs" / "demo-checkout.yaml")
    return root


def _events(root: Path) -> pd.DataFrame:
    return pd.read_parquet(root / "data" / "demo" / "events.parquet")


def _save(root: Path, events: pd.DataFrame) -> None:
    events.to_parquet(root / "data" / "demo" / "events.parquet")


def test_a_metric_all_zeros_in_both_arms_is_stated(base: Path, tmp_path: Path) -> None:
    root = _launch(base, tmp_path)
    events = _events(root)
    units = pd.read_parquet(root / "data" / "demo" / "units.parquet").set_index("unit_id")
    refunds = events.event == "refund"
    # every refund moved to a day before its unit's exposure: none in any window
    events.loc[refunds, "ts"] = units.exposed_at[events.unit_id[refunds]].to_numpy() - pd.Timedelta(
        days=1
    )
    _save(root, events)
    published = runner.review(root / "specs" / "demo-checkout.yaml", today=TODAY, output_dir=root)
    refund = next(g for g in published.verdict["guardrails"] if g["name"] == "refund_rate")
    assert refund["status"] == "unclear" and refund["ci"] == [None, None]
    assert "no variation" in refund["note"]
    assert published.verdict["outcome"] == "iterate"
    text = published.report.read_text()
    assert not re.search(r"\bnan\b", text, flags=re.IGNORECASE)


def test_one_unit_per_arm_is_too_little_data(base: Path, tmp_path: Path) -> None:
    root = _launch(base, tmp_path)
    units = pd.read_parquet(root / "data" / "demo" / "units.parquet")
    early = units[units.exposed_at < pd.Timestamp("2026-10-01")]
    kept = pd.concat([early[early.variant == arm].head(1) for arm in ("control", "treatment")])
    kept.to_parquet(root / "data" / "demo" / "units.parquet")
    spec = root / "specs" / "demo-checkout.yaml"  # the events also hold the dropped units'
    spec.write_text(
        spec.read_text().replace(
            "  events: events\n", "  events: events\n  joins: {max_unknown_events: 1.0}\n"
        )
    )
    result = review.run(str(root / "specs" / "demo-checkout.yaml"), today=TODAY)
    assert result.verdict.outcome == "invalid"
    assert "too little data" in result.verdict.reasons[0]
    payload = result.to_json()
    assert payload["primary"]["ci"] == [None, None]
    json.dumps(payload, allow_nan=False)


def test_negative_values_and_duplicated_events_count_as_written(base: Path, tmp_path: Path) -> None:
    root = _launch(base, tmp_path)
    events = _events(root)
    purchases = events.index[events.event == "purchase"]
    events.loc[purchases[::10], "value"] = -events.loc[
        purchases[::10], "value"
    ]  # refunds booked as negative revenue
    events = pd.concat(
        [events, events.loc[purchases[:50]]], ignore_index=True
    )  # exact duplicate rows
    _save(root, events)
    result = review.run(str(root / "specs" / "demo-checkout.yaml"), today=TODAY)
    units = pd.read_parquet(root / "data" / "demo" / "units.parquet").set_index("unit_id")
    as_of = pd.Timestamp("2026-10-27")
    mature = units[
        (units.exposed_at >= pd.Timestamp("2026-09-01"))
        & (units.exposed_at + pd.Timedelta(days=14) <= as_of)
    ]
    merged = events[events.event == "purchase"].join(mature, on="unit_id", how="inner")
    inside = merged[
        (merged.ts >= merged.exposed_at) & (merged.ts < merged.exposed_at + pd.Timedelta(days=14))
    ]
    count = inside.groupby("unit_id").size().reindex(mature.index, fill_value=0)
    expected = count[mature.variant == "control"].mean()
    purchases_per_user = next(s for s in result.secondary if s.metric.name == "purchases_per_user")
    assert purchases_per_user.comparison.control == pytest.approx(expected, rel=1e-12)
    converted = (count > 0)[mature.variant == "control"].mean()
    assert result.analyses["checkout_conversion"].unadjusted.control == pytest.approx(
        converted, rel=1e-12
    )
    assert np.isfinite(result.to_json()["secondary"][0]["effect"])


def test_identifiers_cannot_inject_sql(base: Path, tmp_path: Path) -> None:
    root = _launch(base, tmp_path)
    spec = root / "specs" / "demo-checkout.yaml"
    spec.write_text(
        spec.read_text().replace("  events: events", '  events: "events\\"; DROP TABLE units; --"')
    )
    with pytest.raises(Exception, match=r"no table 'events\"; DROP TABLE units; --'"):
        review.run(str(spec), today=TODAY)
    assert (root / "data" / "demo" / "units.parquet").is_file()
