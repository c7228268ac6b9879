"""Synthetic launch data with known true effects, for the demo and the tests.

The demo launch is a one-page checkout on mobile, launched 2026-09-01 to half of the users
after a one-week ramp. Each user has a visit rate and a purchase propensity; a user becomes a
unit at the first visit after the rollout reaches them (more visits on weekends), with
activity before exposure (sessions and purchases), purchases with revenue, refunds, support
contacts and use of the new checkout. The true effects are written to ``truth.json`` as
expectations over the generated users, so a review's estimates can be checked against them.

Everything is seeded and dated: the same call gives the same files.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "DATA_END",
    "LAUNCH",
    "Funnel",
    "Truth",
    "generate",
    "generate_adoption",
    "generate_series",
    "write_demo_spec",
]

LAUNCH = dt.datetime(2026, 9, 1)
DATA_END = dt.datetime(2026, 10, 27)  # the as_of of the 56d review: data up to it
DEMO_SPEC = "demo-checkout.yaml"
DEMO_SPECS = {
    "experiment": DEMO_SPEC,
    "prepost": "demo-prepost.yaml",
    "adoption": "demo-adoption.yaml",
    "rollout": "demo-rollout.yaml",
}
ADOPTION_HISTORY_DAYS = 56  # days of activity before launch in the adoption demo
SERIES_HISTORY_DAYS = 365  # days of the prepost demo before launch
ORDERS_LIFT = 0.06  # the prepost demo's true effect: 6% more orders per day
SECONDS_PER_DAY = 86_400
WINDOW_DAYS = 14

# True parameters: control levels and the treatment's effects.
CONVERSION_LOGIT_SHIFT = 0.22  # on the logit of each user's conversion propensity
PROPENSITY_SPREAD = 1.6  # sd of users' conversion logits: habits differ a lot between users
REFUND_GIVEN_PURCHASE = {"control": 0.065, "treatment": 0.055}
SUPPORT_CONTACT = {"control": 0.080, "treatment": 0.072}
EXTRA_PURCHASES = 0.4  # Poisson mean of further purchases in the window, for converters
BASKET_MEAN, BASKET_SIGMA = 45.0, 0.6  # lognormal revenue per purchase
WEEKDAY_WEIGHT = np.array([0.85, 0.85, 0.9, 0.9, 1.0, 1.35, 1.25])  # Monday .. Sunday


@dataclass(frozen=True)
class Truth:
    """The true effects of the generated launch (expectations over its users)."""

    units: int
    seed: int
    effects: dict[str, dict[str, float]]
    expected_outcome: str

    def to_json(self) -> dict[str, Any]:
        """The truth as written to truth.json."""
        return {
            "units": self.units,
            "seed": self.seed,
            "launch_date": LAUNCH.date().isoformat(),
            "data_end": DATA_END.date().isoformat(),
            "effects": self.effects,
            "expected_outcome": self.expected_outcome,
        }


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-x)))


def _exposure_times(rng: np.random.Generator, rates: np.ndarray) -> np.ndarray:
    """Seconds after launch of each user's first visit while rolled out to them.

    Visits follow a Poisson process at the user's rate, thinned by the rollout ramp (10%,
    then 50%, then everyone after a week) and by the weekday pattern.
    """
    horizon = (DATA_END - LAUNCH).total_seconds()
    times = np.full(rates.size, np.inf)
    clock = np.zeros(rates.size)
    pending = np.arange(rates.size)
    roll = rng.random(rates.size)  # where in the rollout order each user sits
    while pending.size:
        clock[pending] += rng.exponential(1 / rates[pending]) * SECONDS_PER_DAY
        now = clock[pending]
        day = now / SECONDS_PER_DAY
        ramp = np.where(day < 3, 0.1, np.where(day < 7, 0.5, 1.0))
        weekday = (LAUNCH.weekday() + day.astype(int)) % 7
        keep = (roll[pending] < ramp) & (
            rng.random(pending.size) < WEEKDAY_WEIGHT[weekday] / WEEKDAY_WEIGHT.max()
        )
        done = keep | (now >= horizon)
        times[pending[keep & (now < horizon)]] = now[keep & (now < horizon)]
        pending = pending[~done]
    return times


def generate(out: Path, *, units: int = 60_000, seed: int = 1) -> Truth:
    """Write ``units.parquet``, ``events.parquet`` and ``truth.json`` into ``out``.

    Args:
        out: the folder to write (created when missing).
        units: the number of users who might visit; those who do before the data end
            become units.
        seed: the random seed.

    Returns:
        The true effects.
    """
    rng = np.random.default_rng(seed)
    users = units
    rates = rng.gamma(2.0, 0.08, users)  # visits per day
    propensity = rng.normal(0, 1, users)
    exposed = _exposure_times(rng, rates)
    keep = np.isfinite(exposed)
    rates, propensity, exposed = rates[keep], propensity[keep], exposed[keep]
    n = exposed.size
    treated = rng.random(n) < 0.5
    arm = np.where(treated, "treatment", "control")
    platform = np.where(rng.random(n) < 0.55, "ios", "android")
    country = rng.choice(
        ["US", "GB", "DE", "FR", "BR", "IN"], n, p=[0.35, 0.15, 0.15, 0.1, 0.15, 0.1]
    )

    base_logit = np.log(0.32 / 0.68) - 0.28 + PROPENSITY_SPREAD * propensity
    p_control = _sigmoid(base_logit)
    p_treatment = _sigmoid(base_logit + CONVERSION_LOGIT_SHIFT)
    p_unit = np.where(treated, p_treatment, p_control)

    events: dict[str, list[np.ndarray]] = {"unit": [], "event": [], "ts": [], "value": []}

    def add(
        unit_index: np.ndarray, name: str, seconds: np.ndarray, value: np.ndarray | None = None
    ) -> None:
        events["unit"].append(unit_index)
        events["event"].append(np.full(unit_index.size, name, dtype=object))
        events["ts"].append(seconds)
        events["value"].append(value if value is not None else np.full(unit_index.size, np.nan))

    window = WINDOW_DAYS * SECONDS_PER_DAY
    horizon = (DATA_END - LAUNCH).total_seconds()
    # Purchases in the window: converters buy at least once, some more.
    converts = rng.random(n) < p_unit
    buyers = np.flatnonzero(converts)
    count = 1 + rng.poisson(EXTRA_PURCHASES, buyers.size)
    buyer_index = np.repeat(buyers, count)
    purchase_ts = exposed[buyer_index] + rng.random(buyer_index.size) * window
    basket = rng.lognormal(
        np.log(BASKET_MEAN) - BASKET_SIGMA**2 / 2, BASKET_SIGMA, buyer_index.size
    )
    add(buyer_index, "purchase", purchase_ts, np.round(basket, 2))
    # Purchases outside the window, from the same habits: in each of the two 14-day periods
    # before exposure (the history CUPED adjusts with) and in the 60 days after the window.
    for offset, days, chance in (
        (-2 * window, WINDOW_DAYS, p_control),
        (-window, WINDOW_DAYS, p_control),
        (window, 60, np.minimum(2 * p_control, 1.0)),
    ):
        shoppers = np.flatnonzero(rng.random(n) < chance)
        idx = np.repeat(shoppers, 1 + rng.poisson(EXTRA_PURCHASES, shoppers.size))
        ts = exposed[idx] + offset + rng.random(idx.size) * days * SECONDS_PER_DAY
        add(idx, "purchase", ts, np.round(rng.lognormal(np.log(40), 0.6, idx.size), 2))
    # Refunds: some buyers return an order within the window.
    refund_p = np.where(
        treated[buyers], REFUND_GIVEN_PURCHASE["treatment"], REFUND_GIVEN_PURCHASE["control"]
    )
    refunders = buyers[rng.random(buyers.size) < refund_p]
    add(refunders, "refund", exposed[refunders] + rng.random(refunders.size) * window)
    # Support contacts in the window, and background contacts outside it.
    contact_p = np.where(treated, SUPPORT_CONTACT["treatment"], SUPPORT_CONTACT["control"])
    contacts = np.flatnonzero(rng.random(n) < contact_p)
    add(contacts, "support_contact", exposed[contacts] + rng.random(contacts.size) * window)
    later = np.flatnonzero(rng.random(n) < 0.05)
    add(
        later,
        "support_contact",
        exposed[later] + window + rng.random(later.size) * 30 * SECONDS_PER_DAY,
    )
    # Sessions from four weeks before exposure on, at the user's visit rate.
    k = rng.poisson(rates * 56)
    idx = np.repeat(np.arange(n), k)
    add(
        idx,
        "session",
        exposed[idx] - 28 * SECONDS_PER_DAY + rng.random(idx.size) * 56 * SECONDS_PER_DAY,
    )
    # The new checkout's own event, for treatment users who reach checkout.
    users_new = np.flatnonzero(treated & (rng.random(n) < 0.6))
    add(
        users_new,
        "used_one_page_checkout",
        exposed[users_new] + rng.random(users_new.size) * window,
    )

    unit_index = np.concatenate(events["unit"])
    seconds = np.concatenate(events["ts"])
    visible = seconds < horizon  # nothing after the data end exists yet
    order = np.lexsort((seconds[visible], unit_index[visible]))
    unit_ids = np.array([f"u{i:06d}" for i in range(n)])

    out.mkdir(parents=True, exist_ok=True)
    launch = np.datetime64(LAUNCH, "us")
    unit_order = np.argsort(exposed, kind="stable")
    pq.write_table(
        pa.table(
            {
                "unit_id": unit_ids[unit_order],
                "variant": arm[unit_order],
                "exposed_at": launch + (exposed[unit_order] * 1e6).astype("timedelta64[us]"),
                "platform": platform[unit_order],
                "country": country[unit_order],
            }
        ),
        out / "units.parquet",
    )
    values = np.concatenate(events["value"])[visible][order]
    pq.write_table(
        pa.table(
            {
                "unit_id": unit_ids[unit_index[visible][order]],
                "event": np.concatenate(events["event"])[visible][order].astype(str),
                "ts": launch + (seconds[visible][order] * 1e6).astype("timedelta64[us]"),
                "value": pa.array(values, mask=np.isnan(values)),  # null where no value
            }
        ),
        out / "events.parquet",
    )
    truth = Truth(
        units=n, seed=seed, effects=_effects(p_control, p_treatment), expected_outcome="ship"
    )
    (out / "truth.json").write_text(json.dumps(truth.to_json(), indent=2) + "\n")
    return truth


def _effects(p_control: np.ndarray, p_treatment: np.ndarray) -> dict[str, dict[str, float]]:
    """Expected metric values per arm over the generated users."""
    conversion = {"control": float(p_control.mean()), "treatment": float(p_treatment.mean())}
    purchases = {arm: conversion[arm] * (1 + EXTRA_PURCHASES) for arm in conversion}
    refunds = {arm: conversion[arm] * REFUND_GIVEN_PURCHASE[arm] for arm in conversion}
    values = {
        "checkout_conversion": conversion,
        "refund_rate": refunds,
        "support_contact_rate": dict(SUPPORT_CONTACT),
        "purchases_per_user": purchases,
        "revenue_per_user": {arm: purchases[arm] * BASKET_MEAN for arm in conversion},
    }
    return {
        name: {**arms, "effect": arms["treatment"] - arms["control"]}
        for name, arms in values.items()
    }


def generate_series(out: Path, *, seed: int = 2, history: int = SERIES_HISTORY_DAYS) -> Truth:
    """Write the prepost demo: ``daily.parquet`` and ``truth.json`` into ``out``.

    A free-shipping banner shown to everyone on 2026-09-01. Daily orders follow a slowly
    drifting demand with a weekly pattern; two control series (visits to the market's
    comparison sites, searches for the product category) follow the same demand and are
    untouched by the launch; the refund rate (refunds per 100 orders) does not change.
    From launch on, orders are ``ORDERS_LIFT`` higher than they would have been.
    """
    rng = np.random.default_rng(seed)
    start = LAUNCH - dt.timedelta(days=history)
    days = history + (DATA_END - LAUNCH).days
    dates = [start + dt.timedelta(days=i) for i in range(days)]
    weekday = np.array([WEEKDAY_WEIGHT[d.weekday()] for d in dates])
    demand = 1000 + np.cumsum(rng.normal(0.2, 2.0, days))
    market_visits = 20 * demand * weekday + rng.normal(0, 150, days)
    search_interest = 0.5 * demand + rng.normal(0, 3, days)
    counterfactual = 0.8 * demand * weekday + rng.normal(0, 20, days)
    launched = np.arange(days) >= history
    orders = np.round(counterfactual * np.where(launched, 1 + ORDERS_LIFT, 1.0))
    refunds_per_100 = 5.0 + rng.normal(0, 0.4, days)
    out.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "date": pa.array([d.date() for d in dates], pa.date32()),
            "orders": orders,
            "refunds_per_100_orders": np.round(refunds_per_100, 3),
            "market_visits": np.round(market_visits),
            "search_interest": np.round(search_interest, 1),
        }
    )
    pq.write_table(table, out / "daily.parquet")
    expected = float(np.mean(0.8 * demand[launched] * weekday[launched]))
    effects = {
        "orders": {
            "counterfactual": expected,
            "effect": expected * ORDERS_LIFT,
            "relative_effect": ORDERS_LIFT,
        },
        "refunds_per_100_orders": {"counterfactual": 5.0, "effect": 0.0, "relative_effect": 0.0},
    }
    truth = Truth(units=0, seed=seed, effects=effects, expected_outcome="ship")
    (out / "truth.json").write_text(json.dumps(truth.to_json(), indent=2) + "\n")
    return truth


@dataclass(frozen=True)
class Funnel:
    """The true funnel of a generated adoption launch: each step's share of the one before.

    Attributes:
        exposed: P(sees the entry point) for an eligible unit.
        tried: P(uses the feature | saw it).
        repeat: P(uses it in two or more weeks | tried it).
        usage_effect: relative rise of a user's daily activity after first use (0: none).
    """

    exposed: float
    tried: float
    repeat: float
    usage_effect: float = 0.0


DEMO_FUNNEL = Funnel(exposed=0.72, tried=0.68, repeat=0.25, usage_effect=0.15)


def generate_adoption(
    out: Path, *, units: int = 20_000, seed: int = 3, funnel: Funnel = DEMO_FUNNEL
) -> Truth:
    """Write the adoption demo: ``units.parquet``, ``events.parquet`` and ``truth.json``.

    A one-page checkout released to every user on 2026-09-01. Users open the app on a share
    of days (each user's own rate, from eight weeks before launch until they churn); some
    see the new checkout's entry point (``saw_checkout_entry``) in the days after launch,
    some of those use it (``used_one_page_checkout``), in one week or in several; purchases
    follow activity. Whether a user sees, tries or repeats is drawn independently of their
    activity, so any gap in retention comes from ``funnel.usage_effect`` alone (after first
    use, it raises the user's activity and delays their churn by that share).
    """
    rng = np.random.default_rng(seed)
    start = LAUNCH - dt.timedelta(days=ADOPTION_HISTORY_DAYS)
    total_days = ADOPTION_HISTORY_DAYS + (DATA_END - LAUNCH).days
    post_seconds = (DATA_END - LAUNCH).total_seconds()
    rate = rng.beta(1.2, 6, units)  # share of days a user opens the app
    churn = (rng.exponential(120, units) - ADOPTION_HISTORY_DAYS) * SECONDS_PER_DAY
    platform = rng.choice(["ios", "android", "web"], units, p=[0.45, 0.4, 0.15])
    exposed = rng.random(units) < funnel.exposed
    seen_at = np.minimum(rng.exponential(6, units), 45) * SECONDS_PER_DAY
    tried = exposed & (rng.random(units) < funnel.tried)
    first_use = seen_at + np.minimum(rng.exponential(2, units), 5) * SECONDS_PER_DAY
    repeats = tried & (rng.random(units) < funnel.repeat)

    columns: dict[str, list[np.ndarray]] = {"unit": [], "event": [], "ts": [], "value": []}

    def add(unit: np.ndarray, event: str, seconds: np.ndarray, value: np.ndarray) -> None:
        columns["unit"].append(unit)
        columns["event"].append(np.full(unit.size, event))
        columns["ts"].append(seconds)
        columns["value"].append(value)

    launch_offset = ADOPTION_HISTORY_DAYS * SECONDS_PER_DAY
    for day in range(total_days):
        moment = day * SECONDS_PER_DAY - launch_offset  # seconds since launch, day start
        boosted = np.where(tried & (first_use < moment), 1 + funnel.usage_effect, 1.0)
        alive = churn * np.where(tried & (first_use < moment), 1 + funnel.usage_effect, 1.0)
        chance = np.where(moment < alive, np.minimum(rate * boosted, 1.0), 0.0)
        active = np.flatnonzero(rng.random(units) < chance)
        when = moment + rng.random(active.size) * SECONDS_PER_DAY
        add(active, "app_open", when, np.zeros(active.size))
        buying = active[rng.random(active.size) < 0.08]
        add(
            buying,
            "purchase",
            moment + rng.random(buying.size) * SECONDS_PER_DAY,
            np.round(rng.lognormal(np.log(BASKET_MEAN), BASKET_SIGMA, buying.size), 2),
        )
    seen = np.flatnonzero(exposed)
    add(seen, "saw_checkout_entry", seen_at[seen], np.zeros(seen.size))
    users = np.flatnonzero(tried)
    add(users, "used_one_page_checkout", first_use[users], np.zeros(users.size))
    again = np.flatnonzero(repeats)
    later = first_use[again] + (7 + rng.random(again.size) * 14) * SECONDS_PER_DAY
    keep = later < post_seconds
    add(again[keep], "used_one_page_checkout", later[keep], np.zeros(int(keep.sum())))
    once = np.flatnonzero(tried & ~repeats)
    same_week = (
        first_use[once]
        + rng.random(once.size)
        * ((7 - (first_use[once] / SECONDS_PER_DAY) % 7) * SECONDS_PER_DAY)
        * 0.99
    )
    add(once, "used_one_page_checkout", same_week, np.zeros(once.size))

    unit = np.concatenate(columns["unit"])
    seconds = np.concatenate(columns["ts"])
    keep = seconds < post_seconds
    order = np.argsort(seconds[keep], kind="stable")
    times = np.datetime64(LAUNCH, "us") + (seconds[keep][order] * 1e6).astype("timedelta64[us]")
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table(
            {
                "unit_id": pa.array([f"u{i:06d}" for i in range(units)]),
                "platform": pa.array(platform),
                "signed_up": pa.array(np.full(units, start.date()), pa.date32()),
            }
        ),
        out / "units.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "unit_id": pa.array([f"u{i:06d}" for i in unit[keep][order]]),
                "event": pa.array(np.concatenate(columns["event"])[keep][order]),
                "ts": pa.array(times, pa.timestamp("us")),
                "value": pa.array(np.concatenate(columns["value"])[keep][order]),
            }
        ),
        out / "events.parquet",
    )
    effects = {
        "exposed": {"share": funnel.exposed},
        "tried": {"share": funnel.exposed * funnel.tried},
        "repeat": {"share": funnel.exposed * funnel.tried * funnel.repeat},
    }
    truth = Truth(units=units, seed=seed, effects=effects, expected_outcome="iterate")
    (out / "truth.json").write_text(json.dumps(truth.to_json(), indent=2) + "\n")
    return truth


def write_demo_spec(folder: Path, design: str = "experiment") -> Path:
    """Copy a demo spec (and its lock, when shipped) into ``folder``; return the spec."""
    name = DEMO_SPECS[design]
    folder.mkdir(parents=True, exist_ok=True)
    shipped = resources.files("impact") / "specs"
    for entry in shipped.iterdir():
        if entry.name.startswith(Path(name).stem + "."):
            target = folder / entry.name
            if not target.exists():
                with resources.as_file(entry) as source:
                    shutil.copyfile(source, target)
    return folder / name
