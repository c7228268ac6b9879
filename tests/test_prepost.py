"""Prepost reviews end to end: the demo against its truth, the rules, and every bad input.

The bad-input catalog (the "Prepost" table of docs/errors.md) runs the real command line on a
copy of the prepost demo with one thing broken: exit 2, one line naming the file, field or
column, and nothing published.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from conftest import ROOT, replaced, set_path

from impact import demo, display, prepost, runner, series, spec
from impact.cli import main
from impact.errors import DataError, DataNotReady

TODAY = "2026-11-26"
PREPOST_SPEC = ROOT / "specs" / "demo-prepost.yaml"


@pytest.fixture(scope="module")
def launch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("prepost")
    demo.generate_series(root / "data" / "demo-prepost")
    return demo.write_demo_spec(root / "specs", "prepost")


def _copy(launch: Path, tmp_path: Path) -> Path:
    shutil.copytree(launch.parent.parent, tmp_path, dirs_exist_ok=True)
    return tmp_path / "specs" / launch.name


def _daily(root: Path) -> Path:
    return root / "data" / "demo-prepost" / "daily.parquet"


# --------------------------------------------------------------------------- the demo


@pytest.mark.parametrize("checkpoint", ["28d", "56d"])
def test_the_demo_ships_and_covers_its_true_effect(launch: Path, checkpoint: str) -> None:
    result = prepost.run(str(launch), checkpoint, TODAY)
    truth = json.loads((launch.parent.parent / "data" / "demo-prepost" / "truth.json").read_text())
    assert result.verdict.outcome == "ship"
    assert result.primary.status == "target_met"
    comparison = result.primary.comparison
    true_lift = truth["effects"]["orders"]["relative_effect"]
    assert comparison.relative_ci_lower is not None and comparison.relative_ci_upper is not None
    assert comparison.relative_ci_lower < true_lift < comparison.relative_ci_upper
    assert [g.status for g in result.guardrails] == ["ok"]
    payload = result.to_json()
    runner.validate_verdict(payload)
    primary = payload["primary"]
    assert primary["kind"] == "series" and primary["n"]["pre"] == 365
    assert primary["cumulative_effect"] == pytest.approx(primary["effect"] * primary["n"]["post"])
    assert primary["placebo"]["windows"] == 20
    assert payload["guardrails"][0]["cumulative_effect"] is None  # not a flow
    assert result.registration.registered and not result.registration.tampered


def test_looks_split_alpha_as_spending_allots_it(launch: Path) -> None:
    first = prepost.run(str(launch), "28d", TODAY).look
    final = prepost.run(str(launch), "56d", TODAY).look
    assert first.alpha == pytest.approx(0.0055746, abs=1e-7)
    assert final.alpha == pytest.approx(0.05 - 0.0055746, abs=1e-7)
    assert sum(final.levels) == pytest.approx(0.05)


def test_a_monitoring_run_never_decides(launch: Path) -> None:
    result = prepost.run(str(launch), "35d", TODAY)
    assert result.verdict.outcome == "keep_running"
    assert result.look.alpha == 0.05


def test_identical_numbers_on_every_run(launch: Path) -> None:
    clock = pd.Timestamp("2026-11-26T08:00:00Z").to_pydatetime()
    first = prepost.run(str(launch), "56d", TODAY, clock=clock).to_json()
    second = prepost.run(str(launch), "56d", TODAY, clock=clock).to_json()
    first["run"].pop("seconds"), second["run"].pop("seconds")
    assert first == second


def test_an_unmodelled_trend_makes_the_verdict_invalid(tmp_path: Path, launch: Path) -> None:
    path = _copy(launch, tmp_path)
    daily = pd.read_parquet(_daily(tmp_path))
    # A strong unmodelled trend. At 3 orders a day 4 of 20 placebo windows excluded 0 (at
    # most 5 allowed), and the interval of the average effect, [33, 242], still held the
    # true one (6% of about 950).
    daily["orders"] = daily["orders"] + 5.0 * np.arange(len(daily))
    daily.to_parquet(_daily(tmp_path))
    document = yaml.safe_load(path.read_text())
    document["metrics"]["primary"]["controls"] = []
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    path.with_name("demo-prepost.lock.json").unlink()
    result = prepost.run(str(path), "56d", TODAY)
    assert result.verdict.outcome == "invalid"
    blocking = [c for c in result.checks if c.blocking and not c.passed]
    assert blocking and "miscalibrated" in blocking[0].detail
    card = repr(display.verdict_card(result))  # the estimate is not presented as a result
    assert "orders per day: no effect is claimed. The checks below failed" in card
    assert "(counterfactual → actual)" not in card


def test_a_weekly_pattern_left_out_of_the_model_makes_the_verdict_invalid(
    tmp_path: Path, launch: Path
) -> None:
    """The demo's orders repeat weekly; registered without seasonality or the controls that
    carry the pattern, the model's one-day forecast errors repeat every 7 days: a failed
    check that names the pattern and the fix."""
    path = _copy(launch, tmp_path)
    document = yaml.safe_load(path.read_text())
    del document["metrics"]["primary"]["seasonality"]
    document["metrics"]["primary"]["controls"] = []
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    path.with_name("demo-prepost.lock.json").unlink()
    result = prepost.run(str(path), "56d", TODAY)
    assert result.verdict.outcome == "invalid"
    failed = [c for c in result.checks if c.name == "residuals:orders"]
    assert failed and not failed[0].passed and failed[0].blocking
    assert "repeat" in failed[0].detail and "seasonality: 7d" in failed[0].detail
    residuals = result.to_json()["primary"]["model"]["residuals"]
    assert residuals["p_value"] < 0.001 and residuals["worst_lag"] in (7, 14)


def test_the_demo_model_leaves_no_pattern_in_its_errors(launch: Path) -> None:
    result = prepost.run(str(launch), "56d", TODAY)
    passed = [c for c in result.checks if c.name == "residuals:orders"]
    assert passed and passed[0].passed
    assert result.to_json()["primary"]["model"]["residuals"]["lags"] == 14


def test_the_criteria_table_speaks_of_shares_only_when_a_metric_is_one(launch: Path) -> None:
    """The demo's metrics are orders and refunds per 100 orders: no percentage points (the
    note said "Changes of a share are in pp"; found by a new user)."""
    criteria = repr(display.criteria(prepost.run(str(launch), "56d", TODAY)))
    assert "Changes of a share" not in criteria
    assert "relative changes" in criteria.lower() and "counterfactual" in criteria


def test_verdict_md_words_a_prepost_review_as_an_experiments(launch: Path) -> None:
    """The statuses in words, as an experiment's verdict.md has them, and which level is which
    (it read "orders ok" and "848 orders → 903 orders"; found by a new user)."""
    from impact import message

    found = prepost.run(str(launch), "56d", TODAY).to_json()
    assert found["primary"]["status_words"].startswith("improved: the interval excludes 0")
    assert found["guardrails"][0]["status_words"].startswith("held: the interval stays")
    said = message.markdown(found, "56d.html")
    assert "orders (counterfactual → actual)" in said
    assert "Guardrails: refund_rate held: the interval stays inside the margin" in said


def test_a_control_that_moves_at_launch_is_flagged(tmp_path: Path, launch: Path) -> None:
    """Found by a new user: a launch that moved its control made a false effect, and the flag
    said the counterfactual "absorbs part of the effect" whichever way the control moved.
    The flag now gives the effect if the launch moved the control: the same fit with the
    control held on its own forecast, which recovers the effect of the untouched data."""
    untouched = prepost.run(str(launch), "56d", TODAY)
    steady = [c for c in untouched.checks if c.name == "control:search_interest"]
    assert steady and steady[0].passed and "did not move at launch" in steady[0].detail
    path = _copy(launch, tmp_path)
    daily = pd.read_parquet(_daily(tmp_path))
    after = pd.to_datetime(daily["date"]) >= "2026-09-01"
    daily.loc[after, "search_interest"] *= 1.3
    daily.to_parquet(_daily(tmp_path))
    result = prepost.run(str(path), "56d", TODAY)
    flags = [c for c in result.checks if c.name == "control:search_interest"]
    assert flags and not flags[0].passed and not flags[0].blocking
    words = (
        r"moved at launch by \+[\d.]+ a day \(\+30\.0%\), beyond its own forecast .*: if "
        r"something else moved it, the effect stands; if the launch did, the effect on orders "
        r"is \+([\d.]+) orders a day \(.* orders\), not ([+-][\d.]+) orders"
    )
    found = re.search(words, flags[0].detail)
    assert found, flags[0].detail
    held, shown = float(found[1]), float(found[2])
    truth = untouched.models["orders"].effect.average
    assert shown == pytest.approx(result.models["orders"].effect.average, abs=0.5)
    assert abs(held - truth) < 0.2 * abs(shown - truth)
    # and "Can the model be trusted?" does not answer a plain yes
    from impact.report import prepost as report

    lead = "".join(report.model_checks(result).element[0].itertext())
    assert "But control search_interest moved at launch: if the launch moved it" in lead


def test_a_degenerate_fit_is_a_failed_model_check(tmp_path: Path, launch: Path) -> None:
    """A series the control predicts exactly: the noise variance sits at its floor, so the
    model claims to know every day; that is a failed check (invalid), never "converged"."""
    path = _copy(launch, tmp_path)
    daily = pd.read_parquet(_daily(tmp_path))
    daily["orders"] = 3.0 * daily["search_interest"]
    daily.to_parquet(_daily(tmp_path))
    result = prepost.run(str(path), "56d", TODAY)
    failed = [c for c in result.checks if c.name == "model:orders"]
    assert failed and not failed[0].passed and failed[0].blocking
    assert "every variance is near 0" in failed[0].detail
    assert result.verdict.outcome == "invalid"
    model = result.to_json()["primary"]["model"]
    assert model["problems"] and model["converged"] in (True, False)


def test_the_rank_cap_needs_an_effect_beyond_the_placebos() -> None:
    def placebos(count: int, rank_p: float) -> Any:
        return prepost.model_checks.Placebos(tuple(range(count)), (), 0, rank_p)

    assert not prepost.rank_cap(placebos(20, 1 / 21), 0.05)  # beyond all 20
    assert prepost.rank_cap(placebos(20, 3 / 21), 0.05)
    assert not prepost.rank_cap(placebos(4, 1 / 5), 0.05)  # few windows: beyond all of them
    assert prepost.rank_cap(placebos(4, 2 / 5), 0.05)


def test_the_placebo_gate_allows_what_overlapping_windows_show_by_chance() -> None:
    """The gate's edges: a calibrated model stops in about 1% of reviews. On 365 days before
    a 30-day launch the 20 windows share days, and more than 2 alpha (2 of 20) excluding 0
    happened to right models in 5-9% of reviews; 5 of 20 happens in under 1%. On 70 days the
    13 windows are nearly one, so only all of them show a miscalibrated model."""
    checks = prepost.model_checks

    def check(days: int, steps: int, excluded: int) -> Any:
        starts = tuple(checks.placebo_starts(days, steps))
        placebos = checks.Placebos(starts, (), excluded, 0.5)
        return prepost.placebo_check("orders", placebos, steps, 0.05)

    assert check(365, 30, 4).passed and "4 of 20" in check(365, 30, 4).detail
    assert "at most 4 allowed" in check(365, 30, 4).detail
    stopped = check(365, 30, 5)
    assert not stopped.passed and stopped.blocking and "miscalibrated" in stopped.detail
    assert check(70, 30, 12).passed and not check(70, 30, 13).passed
    few = check(60, 30, 3)  # 3 windows: stated, never blocking
    assert not few.passed and not few.blocking and "only 3 placebo windows" in few.detail
    # found by a new user: "only 0 placebo windows of 56 days fit"
    assert check(40, 30, 0).detail.startswith("orders: no placebo window of 30 days fits in the")
    assert check(58, 30, 0).detail.startswith("orders: only 1 placebo window of 30 days fits ")


def test_the_report_states_how_many_placebo_windows_the_gate_allows(launch: Path) -> None:
    from impact.report import prepost as report

    checks = repr(report.model_checks(prepost.run(str(launch), "56d", TODAY)))
    assert "0 of 20 (at most 5)" in checks  # 56-day windows on the demo's 365 days
    assert "more than 10%" not in checks and "windows overlap" in checks


def test_the_model_checks_open_with_a_plain_answer(launch: Path) -> None:
    """Found by a new user: "Can the model be trusted?" opened with a table of Ljung-Box and
    MAPE; a PM needs the answer and the check that gives it first."""
    import dataclasses

    from impact.report import prepost as report

    result = prepost.run(str(launch), "56d", TODAY)
    orders = result.models["orders"]

    def lead(**changes: Any) -> str:
        changed = dataclasses.replace(orders, **changes)
        models = {**result.models, "orders": changed}
        block = report.model_checks(dataclasses.replace(result, models=models))
        return " ".join("".join(block.element[0].itertext()).split())

    assert lead().startswith("orders: Yes, as far as the checks can tell. 0 of 20 placebo")
    assert "(at most 5 allowed), and its one-day errors do not repeat." in lead()
    shown = dataclasses.replace(orders.placebos, excluded=6)
    assert lead(placebos=shown).startswith("orders: No. 6 of 20 placebo launches")
    assert "a calibrated model's show at most 5" in lead(placebos=shown)
    repeating = dataclasses.replace(orders.residuals, p_value=1e-6)
    assert lead(residuals=repeating).startswith("orders: No. Its one-day forecast errors")
    few = dataclasses.replace(orders.placebos, starts=(0, 1, 2))
    assert lead(placebos=few).startswith(
        "orders: Calibration not tested. Before launch only 3 placebo launches fit"
    )


def test_the_gate_is_the_binomial_when_the_windows_do_not_overlap() -> None:
    """20 windows of 10 days that share no day: the count is binomial(20, 0.05), which
    exceeds 3 in 1.6% of reviews and 4 in 0.26%, so at most 4 are allowed."""
    disjoint = tuple(range(0, 200, 10))
    assert prepost.model_checks.allowed_excluded(disjoint, 10, 0.05) == 4
    assert prepost.model_checks.allowed_excluded(disjoint, 10, 0.01) == 2  # 1.7%, 0.1%
    # Windows that share nearly every day show an effect together: all or none.
    assert prepost.model_checks.allowed_excluded(tuple(range(10)), 1000, 0.05) >= 9


def test_series_derived_from_events_match_pandas(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    rows = 4000
    start = pd.Timestamp("2026-07-01")
    events = pd.DataFrame(
        {
            "unit_id": rng.integers(0, 300, rows).astype(str),
            "event": rng.choice(["visit", "purchase"], rows, p=[0.8, 0.2]),
            "ts": start + pd.to_timedelta(rng.integers(0, 90 * 86400, rows), unit="s"),
            "value": rng.gamma(2, 10, rows),
        }
    )
    (tmp_path / "data").mkdir()
    events.to_parquet(tmp_path / "data" / "events.parquet")
    document = yaml.safe_load(PREPOST_SPEC.read_text())
    document["data"] = {"source": "data", "events": "events"}
    document["launch_date"] = "2026-08-20"
    document["reviews"] = ["14d"]
    document["metrics"] = {
        "primary": {"name": "buyers", "event": "purchase", "direction": "increase", "target": 0.01},
        "secondary": [
            {"name": "revenue", "event": "purchase", "value": "sum", "direction": "increase"},
            {"name": "purchases", "event": "purchase", "value": "count", "direction": "increase"},
        ],
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    loaded = spec.load(path)
    daily = series.load(loaded, loaded.as_of(14))

    events["day"] = events["ts"].dt.floor("D")
    events = events[events["ts"] < pd.Timestamp("2026-09-03")]
    bought = events["event"] == "purchase"
    per_unit = events.assign(
        bought=bought.astype(float),
        revenue=np.where(bought, events["value"], 0.0),
    ).groupby(["day", "unit_id"])[["bought", "revenue"]]
    expected = pd.DataFrame(
        {
            "buyers": per_unit.max()["bought"].groupby("day").mean(),
            "revenue": per_unit.sum()["revenue"].groupby("day").mean(),
            "purchases": per_unit.sum()["bought"].groupby("day").mean(),
        }
    )
    assert list(daily.dates) == list(expected.index)
    for name in ("buyers", "revenue", "purchases"):
        assert np.allclose(daily.values[name], expected[name].to_numpy(), rtol=1e-12), name


# --------------------------------------------------------------------------- the spec


BAD_SPECS = [
    ("kind in prepost", ("metrics", "primary", "kind"), "mean", r"kind belongs to experiments"),
    ("window in prepost", ("metrics", "primary", "window"), "14d", r"kind is required"),
    ("arms in prepost", ("data", "split"), {"a": 0.5, "b": 0.5}, r"data\.split belongs to"),
    ("no series table", ("data", "series"), None, r"reads data\.series, a daily table"),
    ("control is the metric", ("metrics", "primary", "controls"), ["orders"], r"another series"),
    ("cuped in prepost", ("metrics", "primary", "cuped"), True, r"cuped and cap belong"),
    ("bad seasonality", ("metrics", "primary", "seasonality"), 7, r"has no unit; write 7d"),
    # Refused before launch: the review would stop on it only after launch, when the frozen
    # criteria can no longer change (weekly seasonality: three periods, 21 days).
    (
        "pre-period shorter than the model",
        ("data", "pre_period"),
        "20d",
        r"data\.pre_period: 20d is shorter than the model needs: at least 21d \(three seasonal "
        r"periods of metrics\.primary\.seasonality 7d\); write pre_period: 21d or longer",
    ),
]


@pytest.mark.parametrize(
    ("case", "where", "value", "message"), BAD_SPECS, ids=[row[0] for row in BAD_SPECS]
)
def test_prepost_spec_rules(
    tmp_path: Path, case: str, where: tuple[str, ...], value: object, message: str
) -> None:
    document = yaml.safe_load(PREPOST_SPEC.read_text())
    set_path(document, where, value)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    with pytest.raises(spec.SpecError, match=message) as raised:
        spec.load(path)
    assert "\n" not in str(raised.value)


def test_a_pre_period_is_never_under_two_weeks(tmp_path: Path) -> None:
    document = yaml.safe_load(PREPOST_SPEC.read_text())
    document["metrics"]["primary"].pop("seasonality")
    for guardrail in document["metrics"]["guardrails"]:
        guardrail.pop("seasonality", None)
    document["data"]["pre_period"] = "13d"
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    message = r"data\.pre_period: 13d is shorter than the model needs: at least 14d; write"
    with pytest.raises(spec.SpecError, match=message):
        spec.load(path)
    document["data"]["pre_period"] = "14d"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    assert spec.load(path).data.pre_period == 14


def test_the_canonical_form_of_older_specs_is_unchanged() -> None:
    """Fields added for prepost stay out of an experiment's canonical form (its hash)."""
    from impact import registry

    document = registry.canonical(spec.load(ROOT / "specs" / "demo-checkout.yaml"))
    assert "pre_period" not in document["data"]
    assert not {"controls", "seasonality", "trend", "flow"} & set(document["metrics"]["primary"])


# --------------------------------------------------------------------------- bad data


Edit = Callable[[Path], None]


def _frame(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Edit:
    def edit(root: Path) -> None:
        change(pd.read_parquet(_daily(root))).to_parquet(_daily(root))

    return edit


def _spec_text(old: str, new: str) -> Edit:
    def edit(root: Path) -> None:
        path = root / "specs" / "demo-prepost.yaml"
        path.write_text(replaced(path.read_text(), (old, new)))

    return edit


def _both(*edits: Edit) -> Edit:
    def edit(root: Path) -> None:
        for one in edits:
            one(root)

    return edit


def _set_day(column: str, day: str, value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[pd.to_datetime(frame["date"]) == day, column] = value
        return frame

    return change


CATALOG: list[tuple[str, Edit, str]] = [
    (
        "no date column",
        _frame(lambda f: f.rename(columns={"date": "day"})),
        r"daily\.parquet: no column 'date'; a daily series table needs a date column",
    ),
    (
        "no metric column",
        _frame(lambda f: f.drop(columns=["orders"])),
        r"daily\.parquet: no column 'orders', which demo-prepost\.yaml names in "
        r"metrics\.primary\.column; columns here: date, ",
    ),
    (
        "no control column",
        _frame(lambda f: f.drop(columns=["search_interest"])),
        r"no column 'search_interest', which demo-prepost\.yaml names in "
        r"metrics\.primary\.controls; columns here: .*; fix the name or add the column$",
    ),
    (
        "text series",
        _frame(lambda f: f.assign(orders=f["orders"].astype(str))),
        r"column 'orders' is VARCHAR; a series must be numeric",
    ),
    (
        "text value in a series",
        _frame(lambda f: _set_day("orders", "2026-03-04", "n/a")(f.astype({"orders": str}))),
        r"daily\.parquet: column 'orders' holds 'n/a' on 2026-03-04, not a number; a series "
        r"must be numeric \(leave a day without a value empty\)$",
    ),
    (
        "repeated day",
        _frame(lambda f: pd.concat([f, f.iloc[[10]]])),
        r"the date 2025-09-11 appears more than once; a daily series has one row per day",
    ),
    (
        "missing post-launch day",
        _frame(_set_day("orders", "2026-09-10", np.nan)),
        r"orders has no value on 2026-09-10, after launch",
    ),
    (
        "missing control day",
        _frame(_set_day("market_visits", "2026-03-03", np.nan)),
        r"control 'market_visits' has no value on 2026-03-03",
    ),
    (
        "series not complete",
        _frame(lambda f: f[pd.to_datetime(f["date"]) < "2026-10-20"]),
        r"the newest day is 2026-10-19, but the review reads every day before 2026-10-27",
    ),
    (
        "history shorter than pre_period",
        _frame(lambda f: f[pd.to_datetime(f["date"]) >= "2026-01-01"]),
        r"data\.pre_period asks for 365 days before launch \(from 2025-09-01\), but the series "
        r"starts on 2026-01-01",
    ),
    (
        "pre-period too short",
        _both(
            _frame(lambda f: f[pd.to_datetime(f["date"]) >= "2026-08-25"]),
            _spec_text("  pre_period: 365d", ""),
        ),
        r"7 days before launch_date 2026-09-01; the model needs at least 21",
    ),
    (
        "infinite value",
        _frame(_set_day("orders", "2026-01-05", np.inf)),
        r"'orders' is not a finite number on 2026-01-05",
    ),
]


@pytest.mark.parametrize(("case", "edit", "message"), CATALOG, ids=[row[0] for row in CATALOG])
def test_bad_prepost_data(
    tmp_path: Path, launch: Path, case: str, edit: Edit, message: str
) -> None:
    path = _copy(launch, tmp_path)
    edit(tmp_path)
    result = CliRunner().invoke(
        main,
        [
            "review",
            str(path),
            "--checkpoint",
            "56d",
            "--today",
            TODAY,
            "--output-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert re.search(message, lines[0]), lines[0]
    assert not (tmp_path / "reports" / "demo-prepost").exists()


def test_not_ready_is_its_own_error(tmp_path: Path, launch: Path) -> None:
    path = _copy(launch, tmp_path)
    _frame(lambda f: f[pd.to_datetime(f["date"]) < "2026-10-20"])(tmp_path)
    loaded = spec.load(path)
    with pytest.raises(DataNotReady):
        series.load(loaded, loaded.as_of(56))
    with pytest.raises(DataError):
        series.load(loaded, loaded.as_of(56), str(tmp_path / "nowhere"))


def test_the_prepost_catalog_is_documented() -> None:
    documented = (ROOT / "docs" / "errors.md").read_text()
    missing = [case for case, *_ in CATALOG if f"| {case} |" not in documented]
    assert not missing, missing


def test_plan_on_a_prepost_spec_takes_no_traffic_options() -> None:
    """A prepost plan reads the pre-period (tests/test_plan_prepost.py): traffic options are
    an experiment's, and saying so beats ignoring them."""
    result = CliRunner().invoke(main, ["plan", str(PREPOST_SPEC), "--daily-units", "100"])
    assert result.exit_code == 2
    assert "a prepost plan reads the pre-period instead" in result.stderr


def test_validate_names_the_daily_series() -> None:
    result = CliRunner().invoke(main, ["validate", str(PREPOST_SPEC)])
    assert result.exit_code == 0
    assert "primary: orders (daily series: column orders), target +3.0% (relative)" in result.output


def test_an_adoption_block_in_a_prepost_review(tmp_path: Path, launch: Path) -> None:
    path = _copy(launch, tmp_path)
    folder = tmp_path / "data" / "demo-prepost"
    demo.generate_adoption(tmp_path / "adoption", units=3000)
    for table in ("units.parquet", "events.parquet"):
        shutil.copyfile(tmp_path / "adoption" / table, folder / table)
    document = yaml.safe_load(path.read_text())
    document["data"]["events"] = "events"
    document["adoption"] = {
        "feature_event": "used_one_page_checkout",
        "exposure_event": "saw_checkout_entry",
        "thresholds": {"exposed": 0.5, "tried": 0.3, "repeat": 0.15},
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    path.with_name("demo-prepost.lock.json").unlink()
    result = prepost.run(str(path), "56d", TODAY)
    payload = result.to_json()
    runner.validate_verdict(payload)
    assert payload["adoption"]["eligible"] == 3000
    assert payload["adoption"]["diagnosis"] == "value"
    assert result.primary.status == "target_met"  # the adoption block never decides


def test_an_adoption_block_in_prepost_needs_units_and_events(tmp_path: Path, launch: Path) -> None:
    path = _copy(launch, tmp_path)
    document = yaml.safe_load(path.read_text())
    document["adoption"] = {"feature_event": "x", "thresholds": {"tried": 0.3, "repeat": 0.1}}
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    with pytest.raises(DataError, match=r"no table 'units' \(looked for units\.parquet"):
        prepost.prepare(str(path), "56d", TODAY)


def test_a_fit_that_does_not_converge_is_a_visible_check(
    launch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scipy import optimize

    real = optimize.minimize

    def stalled(*args: object, **kwargs: object) -> optimize.OptimizeResult:
        found = real(*args, **kwargs)
        found.success = False
        found.message = "ABNORMAL"
        return found

    monkeypatch.setattr(optimize, "minimize", stalled)
    result = prepost.run(str(launch), "56d", TODAY)
    flagged = [c for c in result.checks if c.name == "fit:orders"]
    assert flagged and not flagged[0].passed and not flagged[0].blocking
    assert "did not converge: ABNORMAL" in flagged[0].detail
    assert result.to_json()["primary"]["model"]["converged"] is False
