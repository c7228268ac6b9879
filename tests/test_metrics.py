"""Metric SQL against a direct pandas computation, edges of windows and as_of included."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import write_spec

from impact import metrics, sources
from impact import spec as spec_module

LAUNCH = dt.datetime(2026, 9, 1)
AS_OF = dt.datetime(2026, 9, 29)  # the 28d review
WINDOW = dt.timedelta(days=7)


def _frames(seed: int = 5, n: int = 400) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    exposed = LAUNCH + pd.to_timedelta(rng.uniform(-3, 30, n), unit="D").round("s")
    units = pd.DataFrame(
        {
            "unit_id": [f"u{i}" for i in range(n)],
            "variant": rng.choice(["control", "treatment"], n),
            "exposed_at": exposed,
            "platform": rng.choice(["ios", "android"], n),
            "retained": rng.choice([0.0, 1.0, np.nan], n, p=[0.4, 0.5, 0.1]),
        }
    )
    rows = []
    for i, moment in enumerate(exposed):
        for _ in range(rng.poisson(3)):
            offset = dt.timedelta(days=float(rng.uniform(-5, 12)))
            rows.append((f"u{i}", rng.choice(["buy", "visit"]), moment + offset, rng.gamma(2, 10)))
    events = pd.DataFrame(rows, columns=["unit_id", "event", "ts", "value"])
    events["ts"] = events["ts"].astype("datetime64[us]")
    units["exposed_at"] = units["exposed_at"].astype("datetime64[us]")
    return units, events


def _expected(
    units: pd.DataFrame,
    events: pd.DataFrame,
    *,
    value: str | None,
    start: dt.datetime = LAUNCH,
    segment: str | None = None,
) -> dict[str, tuple[int, float, float]]:
    chosen = units[(units.exposed_at >= start) & (units.exposed_at < AS_OF)]
    if segment:
        chosen = chosen[chosen.platform == segment]
    merged = events[events.event == "buy"].merge(chosen[["unit_id", "exposed_at"]], on="unit_id")
    inside = merged[
        (merged.ts >= merged.exposed_at)
        & (merged.ts < merged.exposed_at + WINDOW)
        & (merged.ts < AS_OF)
    ]
    grouped = inside.groupby("unit_id")
    if value is None:
        per_unit = grouped.size().clip(upper=1).astype(float)
    elif value == "count":
        per_unit = grouped.size().astype(float)
    elif value == "sum":
        per_unit = grouped.value.sum()
    else:
        per_unit = grouped.value.max()
    mature = chosen[chosen.exposed_at + WINDOW <= AS_OF]
    values = mature.set_index("unit_id").join(per_unit.rename("v")).v.fillna(0.0)
    arms = mature.set_index("unit_id").variant
    return {
        arm: (
            int((arms == arm).sum()),
            float(values[arms == arm].sum()),
            float((values[arms == arm] ** 2).sum()),
        )
        for arm in ("control", "treatment")
    }


def _spec(
    tmp_path: Path, spec_dict: dict[str, Any], primary: dict[str, Any], **data_extra: Any
) -> spec_module.LaunchSpec:
    spec_dict["data"]["source"] = "data"
    spec_dict["data"].update(data_extra)
    spec_dict["metrics"] = {"primary": primary}
    return spec_module.load(write_spec(tmp_path, spec_dict))


@pytest.fixture
def frames(tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    units, events = _frames()
    (tmp_path / "data").mkdir()
    units.to_parquet(tmp_path / "data" / "units.parquet")
    events.to_parquet(tmp_path / "data" / "events.parquet")
    return units, events


@pytest.mark.parametrize(
    ("kind", "value"), [("proportion", None), ("mean", "sum"), ("mean", "count"), ("mean", "max")]
)
@pytest.mark.parametrize(
    ("start", "segment"), [(None, None), (dt.date(2026, 9, 8), None), (None, "ios")]
)
def test_event_metrics_equal_pandas(
    tmp_path: Path,
    spec_dict: dict[str, Any],
    frames: tuple[pd.DataFrame, pd.DataFrame],
    kind: str,
    value: str | None,
    start: dt.date | None,
    segment: str | None,
) -> None:
    primary = {
        "name": "m",
        "kind": kind,
        "event": "buy",
        "window": "7d",
        "target": 0.01,
        "direction": "increase",
    }
    if value:
        primary["value"] = value
    extra: dict[str, Any] = {}
    if start:
        extra["start"] = start.isoformat()
    if segment:
        extra["segment"] = f"platform = '{segment}'"
    loaded = _spec(tmp_path, spec_dict, primary, **extra)
    source = sources.connect(loaded)
    table = metrics.compute(source, loaded, AS_OF)
    expected = _expected(
        *frames,
        value=value,
        start=dt.datetime.combine(start, dt.time()) if start else LAUNCH,
        segment=segment,
    )
    got = table.metrics["m"]
    for arm, moments in (
        ("control", got.control.moments()),
        ("treatment", got.treatment.moments()),
    ):
        n, total, total_sq = expected[arm]
        assert moments.n == n
        assert moments.total == pytest.approx(total, rel=1e-12)
        assert moments.total_sq == pytest.approx(total_sq, rel=1e-12)


def test_window_and_as_of_edges(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    t = pd.Timestamp
    units = pd.DataFrame(
        {
            "unit_id": ["a", "b", "c", "d", "e"],
            "variant": ["control", "treatment", "control", "treatment", "treatment"],
            "exposed_at": [
                t("2026-09-02 10:00"),  # a: mature
                t("2026-09-02 10:00"),  # b: mature
                t("2026-09-25 00:00"),  # c: window not over by as_of: in the population only
                t("2026-08-30 00:00"),  # d: exposed before launch: not in the review
                t("2026-09-22 00:00"),  # e: window ends exactly at as_of: mature
            ],
        }
    )
    second = pd.Timedelta(seconds=1)
    rows = [
        ("a", t("2026-09-02 10:00"), 1.0),  # at exposure: counts
        ("a", t("2026-09-09 10:00"), 10.0),  # at exposure + window: does not
        ("a", t("2026-09-02 10:00") - second, 100.0),  # before exposure: does not
        ("b", t("2026-09-09 10:00") - pd.Timedelta(microseconds=1), 1000.0),  # last instant
        ("c", t("2026-09-26 00:00"), 5.0),  # not mature
        ("d", t("2026-09-01 00:00"), 7.0),  # not in the review
        ("e", t("2026-09-28 23:59:59"), 20.0),  # before as_of: counts
        ("e", t("2026-09-29 00:00"), 40.0),  # at as_of: never read
    ]
    events = pd.DataFrame(rows, columns=["unit_id", "ts", "value"]).assign(event="buy")
    (tmp_path / "data").mkdir()
    units.to_parquet(tmp_path / "data" / "units.parquet")
    events.to_parquet(tmp_path / "data" / "events.parquet")
    primary = {
        "name": "m",
        "kind": "mean",
        "event": "buy",
        "value": "sum",
        "window": "7d",
        "target": 0.01,
        "direction": "increase",
    }
    loaded = _spec(tmp_path, spec_dict, primary)
    table = metrics.compute(sources.connect(loaded), loaded, AS_OF)
    got = table.metrics["m"]
    assert (got.control.n, got.control.sums) == (1, (1.0,))
    assert (got.treatment.n, got.treatment.sums) == (2, (1020.0,))
    assert table.population.units == {"control": 2, "treatment": 2}


def test_column_metric_counts_units_with_a_value(
    tmp_path: Path, spec_dict: dict[str, Any], frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    units, _ = frames
    primary = {
        "name": "retention",
        "kind": "proportion",
        "column": "retained",
        "target": 0.02,
        "direction": "increase",
    }
    loaded = _spec(tmp_path, spec_dict, primary)
    table = metrics.compute(sources.connect(loaded), loaded, AS_OF)
    chosen = units[
        (units.exposed_at >= LAUNCH) & (units.exposed_at < AS_OF) & units.retained.notna()
    ]
    for arm, moments in (
        ("control", table.metrics["retention"].control.moments()),
        ("treatment", table.metrics["retention"].treatment.moments()),
    ):
        values = chosen[chosen.variant == arm].retained
        assert (moments.n, moments.total) == (len(values), values.sum())


def test_population_counts_every_unit_after_start(
    tmp_path: Path, spec_dict: dict[str, Any], frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    units, _ = frames
    primary = {
        "name": "m",
        "kind": "proportion",
        "event": "buy",
        "window": "7d",
        "target": 0.01,
        "direction": "increase",
    }
    loaded = _spec(tmp_path, spec_dict, primary)
    table = metrics.compute(sources.connect(loaded), loaded, AS_OF)
    chosen = units[(units.exposed_at >= LAUNCH) & (units.exposed_at < AS_OF)]
    assert table.population.units == chosen.variant.value_counts().to_dict()
    assert table.population.first_exposure == chosen.exposed_at.min().to_pydatetime()


def test_query_renders_in_other_dialects(tmp_path: Path, spec_dict: dict[str, Any]) -> None:
    loaded = spec_module.load(write_spec(tmp_path, spec_dict))
    query = metrics.query(loaded, AS_OF)
    for dialect in ("postgres", "snowflake", "bigquery", "spark"):
        assert "per_unit" in query.sql(dialect)


def _per_unit(
    units: pd.DataFrame,
    events: pd.DataFrame,
    event: str,
    value: str | None,
    start: pd.Timedelta,
    end: pd.Timedelta,
) -> pd.Series:
    chosen = units[(units.exposed_at >= LAUNCH) & (units.exposed_at < AS_OF)]
    merged = events.merge(chosen[["unit_id", "exposed_at"]], on="unit_id")
    if event:
        merged = merged[merged.event == event]
    inside = merged[
        (merged.ts >= merged.exposed_at + start)
        & (merged.ts < merged.exposed_at + end)
        & (merged.ts < AS_OF)
    ]
    grouped = inside.groupby("unit_id")
    series = (
        grouped.size().clip(upper=1).astype(float)
        if value is None
        else (grouped.size().astype(float) if value == "count" else grouped.value.sum())
    )
    return chosen.set_index("unit_id").join(series.rename("v")).v.fillna(0.0)


def test_ratio_cuped_cap_and_weeks_equal_pandas(
    tmp_path: Path, spec_dict: dict[str, Any], frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    units, events = frames
    spec_dict["data"]["source"] = "data"
    spec_dict["metrics"] = {
        "primary": {
            "name": "m",
            "kind": "mean",
            "event": "buy",
            "value": "sum",
            "window": "14d",
            "target": 0.01,
            "direction": "increase",
            "cuped": True,
            "cap": 0.9,
        },
        "secondary": [
            {
                "name": "r",
                "kind": "ratio",
                "numerator": {"event": "buy", "value": "sum"},
                "denominator": {"event": "visit", "value": "count"},
                "window": "7d",
                "direction": "increase",
            }
        ],
    }
    loaded = spec_module.load(write_spec(tmp_path, spec_dict))
    table = metrics.compute(sources.connect(loaded), loaded, AS_OF)
    chosen = units[(units.exposed_at >= LAUNCH) & (units.exposed_at < AS_OF)].set_index("unit_id")
    day = pd.Timedelta(days=1)
    # primary: capped mean with CUPED covariates, mature = window of 14 days ended
    mature = chosen.exposed_at + 14 * day <= AS_OF
    y = _per_unit(units, events, "buy", "sum", 0 * day, 14 * day)
    pre = _per_unit(units, events, "buy", "sum", -14 * day, 0 * day)
    history = _per_unit(units, events, "", None, -14 * day, 0 * day)
    caps = {
        name: float(np.quantile(values[mature], 0.9)) for name, values in (("y", y), ("pre_y", pre))
    }
    got = table.metrics["m"]
    assert got.variables == ("y", "pre_y", "history")
    assert got.caps == pytest.approx(caps)
    columns = [y.clip(upper=caps["y"]), pre.clip(upper=caps["pre_y"]), history]
    for arm, moments in (("control", got.control), ("treatment", got.treatment)):
        rows = mature & (chosen.variant == arm)
        matrix = np.column_stack([c[rows] for c in columns])
        assert moments.n == rows.sum()
        assert moments.sums == pytest.approx(tuple(matrix.sum(axis=0)), rel=1e-12)
        assert np.array(moments.products) == pytest.approx(matrix.T @ matrix, rel=1e-12)
    # the novelty check: the same mature units, events of each week of the window
    for week, (start, end) in enumerate(((0, 7), (7, 14))):
        weekly = _per_unit(units, events, "buy", "sum", start * day, end * day)
        for arm, moments in zip(("control", "treatment"), got.weeks[week], strict=True):
            rows = mature & (chosen.variant == arm)
            assert moments.total == pytest.approx(weekly[rows].sum(), rel=1e-12)
    # secondary: a ratio with two events
    mature = chosen.exposed_at + 7 * day <= AS_OF
    num = _per_unit(units, events, "buy", "sum", 0 * day, 7 * day)
    den = _per_unit(units, events, "visit", "count", 0 * day, 7 * day)
    ratio = table.metrics["r"]
    for arm, moments in (("control", ratio.control), ("treatment", ratio.treatment)):
        rows = mature & (chosen.variant == arm)
        assert moments.sums == pytest.approx((num[rows].sum(), den[rows].sum()), rel=1e-12)
        assert moments.products[0][1] == pytest.approx((num[rows] * den[rows]).sum(), rel=1e-12)
