"""The quarterly learning review: did our bets pay off, and are we calibrated?

Built from the published verdicts alone (read through each checkpoint's manifest, as the
portfolio reads them), so the quarter says what the launch reports said. A launch belongs to
the period when its deciding review (the final one, or an interim ship or revert;
``portfolio.deciding``) has its ``as_of`` inside the period. Of those:

- **counted**: not invalid, registered without a problem, and with a bet registered before
  launch. Every figure of the quarter (hit rates, calibration, estimates, RICE) is over
  these launches and no others;
- **apart**: a registration problem (no lock, a lock written only after launch, a deciding
  change after registration, a deciding amendment after launch), no bet, or a bet first
  written after launch: listed with their outcomes, never mixed into the figures;
- **invalid**: listed with the verdict's reason.

Launches whose final review falls in the period but has not decided (an interim look said
keep running, or the review is not published yet) are **pending**, with why.

Effects are oriented so that positive is good (a decrease-is-good metric's fall is
positive), in the primary metric's units, or as a share of the control when the bet and the
target are relative. The statistics are :mod:`impact.stats.calibration`'s.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from impact import portfolio, registry, schedule
from impact.errors import ImpactError, SpecError
from impact.spec import LaunchSpec
from impact.stats import calibration as calib
from impact.stats import totals as sums

__all__ = [
    "BASE_RATES",
    "MIME_TYPE",
    "Period",
    "bet_drift",
    "build",
    "parse_today",
    "period",
    "review",
    "scheduled_finals",
]

MIME_TYPE = "application/vnd.impact.quarter.v1+json"
QUARTER_VERSION = 1
LEVEL = calib.LEVEL

# Published shares of experiments that succeed, as cited in Kohavi, Tang and Xu (2020),
# Trustworthy Online Controlled Experiments, chapter 1. Shown beside the team's hit rate.
BASE_RATES: list[dict[str, Any]] = [
    {
        "where": "Microsoft",
        "low": 1 / 3,
        "high": 1 / 3,
        "what": "about one third of the ideas tested improved the metrics they were designed "
        "to improve",
        "source": "Kohavi, Crook and Longbotham (2009), Online Experimentation at Microsoft; "
        "cited in Kohavi, Tang and Xu (2020), ch. 1",
    },
    {
        "where": "Bing and Google",
        "low": 0.10,
        "high": 0.20,
        "what": "in well-optimized domains, some measures' success rate is about 10-20%",
        "source": "Manzi (2012), Uncontrolled; cited in Kohavi, Tang and Xu (2020), ch. 1",
    },
    {
        "where": "Slack (monetization experiments)",
        "low": 0.30,
        "high": 0.30,
        "what": "about 30% of monetization experiments showed positive results",
        "source": "Mosavat (2019); cited in Kohavi, Tang and Xu (2020), ch. 1",
    },
]

_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")


@dataclass(frozen=True)
class Period:
    """The days a quarter review covers, both included.

    Attributes:
        start: the first day.
        end: the last day.
        label: ``2026-Q4`` for a calendar quarter, ``2026-10-01_2026-11-15`` otherwise; it
            names the published files.
    """

    start: dt.date
    end: dt.date
    label: str


def _quarter_of(day: dt.date) -> Period:
    number = (day.month - 1) // 3 + 1
    start = dt.date(day.year, 3 * number - 2, 1)
    following = dt.date(day.year + (number == 4), 1 if number == 4 else 3 * number + 1, 1)
    return Period(start, following - dt.timedelta(days=1), f"{day.year}-Q{number}")


def _date(option: str, text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise SpecError(f'{option}: "{text}" is not a date; write YYYY-MM-DD') from None


def period(*, quarter: str | None, start: str | None, end: str | None, today: dt.date) -> Period:
    """The period of ``--quarter 2026Q4`` or ``--from D --to D`` (default: today's quarter).

    Raises:
        SpecError: both forms given, one of --from and --to alone, a quarter or date that
            does not parse, or --to before --from.
    """
    if quarter is not None and (start is not None or end is not None):
        raise SpecError("--quarter: give a quarter or --from and --to, not both")
    if quarter is not None:
        match = _QUARTER.match(quarter)
        if not match:
            raise SpecError(f'--quarter: "{quarter}" is not a quarter; write one such as 2026Q4')
        year, number = int(match.group(1)), int(match.group(2))
        return _quarter_of(dt.date(year, 3 * number - 2, 1))
    if (start is None) != (end is None):
        given, missing = ("--from", "--to") if end is None else ("--to", "--from")
        raise SpecError(f"{given}: give {missing} too, such as --from 2026-10-01 --to 2026-12-31")
    if start is None or end is None:
        return _quarter_of(today)
    first, last = _date("--from", start), _date("--to", end)
    if last < first:
        raise SpecError(f"--to: {last} is before --from {first}; the period runs forward")
    return Period(first, last, f"{first}_{last}")


def scheduled_finals(specs: Iterable[LaunchSpec]) -> list[dict[str, Any]]:
    """Each spec's final review (id, title, owner, design, date), for launches without a
    published deciding review yet."""
    return [
        {
            "spec_id": spec.id,
            "title": spec.title,
            "owner": spec.owner,
            "design": spec.design,
            "date": (spec.launch_date + dt.timedelta(days=spec.reviews[-1])).isoformat(),
        }
        for spec in specs
    ]


def _share_json(found: calib.Share | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {
        "k": found.k,
        "n": found.n,
        "rate": found.rate,
        "interval": [found.low, found.high],
        "level": LEVEL,
        "method": "wilson",
    }


def _calibration_json(found: calib.Calibration) -> dict[str, Any]:
    return {
        "n": found.n,
        "stated": found.stated,
        "observed": _share_json(found.observed),
        "judgement": found.judgement,
        "p_value": found.p_value,
    }


def _oriented(
    primary: dict[str, Any], bet: dict[str, Any]
) -> tuple[float | None, list[float] | None]:
    """The measured effect and its interval, positive in the good direction, on the bet's
    scale (metric units, or a share of the control when the bet is relative)."""
    sign = 1 if bet["direction"] == "increase" else -1
    effect = primary.get("relative_effect" if bet["relative"] else "effect")
    interval = primary.get("relative_ci" if bet["relative"] else "ci") or [None, None]
    observed = None if effect is None else sign * effect
    if interval[0] is None or interval[1] is None:
        return observed, None
    low, high = sorted((sign * interval[0], sign * interval[1]))
    return observed, [low, high]


def _why_apart(verdict: dict[str, Any]) -> str | None:
    problem = portfolio.registration_problem(verdict)
    if problem:
        return f"registration problem: {problem}"
    bet = verdict.get("bet")
    if not isinstance(bet, dict):
        return "no bet"
    if not bet.get("registered_before_launch"):
        return "the bet was not registered before launch"
    if not verdict.get("primary"):
        return "no primary metric to judge the bet on"
    return None


def _reason(verdict: dict[str, Any]) -> str:
    reasons = verdict.get("reasons") or []
    return str(reasons[0]) if reasons else ""


def _launch(verdict: dict[str, Any]) -> dict[str, Any]:
    """A counted launch: the bet against what its deciding review measured."""
    bet = verdict["bet"]
    primary = verdict["primary"]
    observed, interval = _oriented(primary, bet)
    realized = None if observed is None else bet["reach"] * observed / bet["effort"]
    return {
        "id": verdict["spec_id"],
        "title": verdict.get("title", verdict["spec_id"]),
        "owner": verdict.get("owner", ""),
        "design": verdict.get("design", ""),
        "hypothesis": verdict.get("hypothesis", ""),
        "metric": primary.get("name", ""),
        "unit": primary.get("unit"),
        "format": _format(primary),
        "direction": bet["direction"],
        "relative": bet["relative"],
        "predicted": bet["impact"],
        "observed": observed,
        "ci": interval,
        "level": 1 - primary["alpha"] if primary.get("alpha") else None,
        "status": primary.get("status"),
        "met": primary.get("status") == "target_met",
        "outcome": verdict["outcome"],
        "action": verdict.get("action", ""),
        "reason": _reason(verdict),
        "checkpoint": verdict["checkpoint"],
        "as_of": verdict["as_of"],
        "report": verdict.get("_report"),
        "confidence": bet["confidence"],
        "reach": bet["reach"],
        "effort": bet["effort"],
        "planned_rice": bet["planned_rice"],
        "realized_rice": realized,
        "bet_drift": list(bet.get("drift") or []),
        "effect": primary.get("effect"),
        "effect_ci": _interval(primary.get("ci")),
    }


def _format(primary: dict[str, Any]) -> str:
    """The metric's format as verdict.json records it (older files: from its kind)."""
    found = primary.get("format")
    if isinstance(found, str):
        return found
    return "percent" if primary.get("kind") == "proportion" else "number"


def _interval(pair: Any) -> list[float] | None:
    if not isinstance(pair, list | tuple) or len(pair) != 2 or None in pair:
        return None
    return [float(pair[0]), float(pair[1])]


def _total(launches: Sequence[dict[str, Any]]) -> dict[str, Any]:
    summed = [launch for launch in launches if launch["effect"] is not None]
    found = sums.total(
        [launch["effect"] for launch in summed],
        [launch["effect_ci"] for launch in summed],
        [launch["level"] for launch in summed],
    )
    return {
        "n": len(summed),
        "ids": [launch["id"] for launch in summed],
        "total": None if found is None else found.total,
        "interval": None if found is None or found.low is None else [found.low, found.high],
        "level": sums.LEVEL,
    }


def _totals(counted: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the shipped launches moved in total, per team and metric (and over the teams
    where several moved the same metric): never a sum across metrics or units."""
    metrics: dict[tuple[str, str, str, str | None], list[dict[str, Any]]] = {}
    for launch in counted:
        key = (launch["metric"], launch["format"], launch["direction"], launch["unit"])
        metrics.setdefault(key, []).append(launch)
    found = []
    for (metric, style, direction, unit), launches in sorted(
        metrics.items(), key=lambda item: tuple(str(part) for part in item[0])
    ):
        owners = sorted({str(launch["owner"]) for launch in launches})
        groups: list[tuple[str | None, list[dict[str, Any]]]] = [
            (owner, [launch for launch in launches if launch["owner"] == owner]) for owner in owners
        ]
        if len(owners) > 1:
            groups.append((None, list(launches)))
        for owner, mine in groups:
            shipped = [launch for launch in mine if launch["outcome"] == "ship"]
            found.append(
                {
                    "owner": owner,
                    "metric": metric,
                    "format": style,
                    "unit": unit,
                    "direction": direction,
                    "shipped": _total(shipped),
                    "not_shipped": [
                        {"id": launch["id"], "outcome": launch["outcome"]}
                        for launch in mine
                        if launch["outcome"] != "ship"
                    ],
                }
            )
    return found


def _listed(verdict: dict[str, Any], why: str) -> dict[str, Any]:
    return {
        "id": verdict["spec_id"],
        "title": verdict.get("title", verdict["spec_id"]),
        "owner": verdict.get("owner", ""),
        "hypothesis": verdict.get("hypothesis", ""),
        "outcome": verdict["outcome"],
        "checkpoint": verdict["checkpoint"],
        "as_of": verdict["as_of"],
        "report": verdict.get("_report"),
        "met": (verdict.get("primary") or {}).get("status") == "target_met",
        "why": why,
        "reason": _reason(verdict),
    }


def _groups(launches: Sequence[dict[str, Any]], key: str) -> dict[str, Any]:
    values = sorted({str(launch[key]) for launch in launches})
    return {
        value: _share_json(
            calib.share(
                sum(launch["met"] for launch in launches if launch[key] == value),
                sum(1 for launch in launches if launch[key] == value),
            )
        )
        for value in values
    }


def _ranks(values: Sequence[float | None]) -> list[int | None]:
    """1 for the largest; None where there is no value."""
    order = sorted((v, i) for i, v in enumerate(values) if v is not None)
    ranks: list[int | None] = [None] * len(values)
    for rank, (_, index) in enumerate(reversed(order), start=1):
        ranks[index] = rank
    return ranks


def _calibration_by_owner(counted: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Each owner's stated confidence against its targets met, with its Brier score."""
    found = {}
    for owner in sorted({str(launch["owner"]) for launch in counted}):
        mine = [launch for launch in counted if launch["owner"] == owner]
        stated = [launch["confidence"] for launch in mine]
        met = [launch["met"] for launch in mine]
        found[owner] = {
            **_calibration_json(calib.calibration(stated, met)),
            "brier": calib.brier(stated, met),
            "perfect_brier": calib.perfect_brier(stated),
        }
    return found


def _unranked(launch: dict[str, Any]) -> str | None:
    """Why a launch's realized RICE is not ranked (None: it is): an inconclusive effect's
    point estimate says too little to rank it above launches that decided."""
    if launch["realized_rice"] is None:
        return "no measured effect"
    if launch["status"] == "inconclusive":
        return "inconclusive: the interval includes 0 and the target"
    return None


def _pending(
    reviews: list[dict[str, Any]] | None, scheduled: dict[str, Any] | None, today: dt.date
) -> dict[str, Any]:
    latest = reviews[-1] if reviews else None
    first = latest or scheduled or {}
    date = (scheduled or {}).get("date") or (latest or {}).get("next_review")
    if latest is not None:
        why = (
            f"the {latest['checkpoint']} review said {latest['outcome'].replace('_', ' ')}"
            f" (data as of {latest['as_of']})"
        )
        why += f"; the final review is on {date}" if date else "; no final review is published"
    elif date and dt.date.fromisoformat(date) <= today:
        why = f"the final review was due on {date} and is not published (impact due lists it)"
    else:
        why = f"the final review is on {date}"
    return {
        "id": first.get("spec_id", ""),
        "title": first.get("title", first.get("spec_id", "")),
        "owner": first.get("owner", ""),
        "date": date,
        "why": why,
    }


def build(
    verdicts: Iterable[dict[str, Any]],
    *,
    when: Period,
    today: dt.date,
    scheduled: Iterable[dict[str, Any]] = (),
    unloaded: Iterable[dict[str, str]] = (),
    bet_drift: dict[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The quarter's document: every figure the report shows, as the ``.json`` holds it.

    Args:
        verdicts: the published verdicts (``portfolio.load_verdicts``).
        when: the period.
        today: the clock; a final review on or before it that is not published is overdue.
        scheduled: each spec's final review (``scheduled_finals``), so that launches with no
            verdict yet are listed as pending.
        unloaded: the spec files that failed to load (``file``, ``why``), listed as such.
        bet_drift: by launch, how its spec's bet differs now from the bet registered before
            launch (``bet_drift``), in place of what its last verdict recorded.
    """
    by_launch: dict[str, list[dict[str, Any]]] = {}
    for verdict in verdicts:
        by_launch.setdefault(str(verdict["spec_id"]), []).append(verdict)
    finals = {str(entry["spec_id"]): entry for entry in scheduled}
    counted: list[dict[str, Any]] = []
    apart: list[dict[str, Any]] = []
    invalid: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for spec_id in sorted(set(by_launch) | set(finals)):
        reviews = sorted(
            by_launch.get(spec_id, []), key=lambda v: int(str(v["checkpoint"]).rstrip("d"))
        )
        decided = portfolio.deciding(reviews) if reviews else None
        if decided is None:
            entry = finals.get(spec_id)
            date = (entry or {}).get("date") or (
                reviews[-1].get("next_review") if reviews else None
            )
            if date and when.start <= dt.date.fromisoformat(date) <= when.end:
                pending.append(_pending(reviews, entry, today))
            continue
        if not when.start <= dt.date.fromisoformat(decided["as_of"]) <= when.end:
            continue
        if decided["outcome"] == "invalid":
            invalid.append(_listed(decided, _reason(decided) or "invalid"))
            continue
        why = _why_apart(decided)
        if why:
            apart.append(_listed(decided, why))
        else:
            launch = _launch(decided)
            if bet_drift is not None and spec_id in bet_drift:
                launch["bet_drift"] = bet_drift[spec_id]
            counted.append(launch)
    document = _figures(counted, apart, invalid, pending, when, today)
    document["unloaded"] = [dict(entry) for entry in unloaded]
    document["warnings"] = _warnings(document, when, today)
    return document


def _warnings(document: dict[str, Any], when: Period, today: dt.date) -> list[str]:
    """What the reader of a published quarter must know first: a period that has not started,
    or nothing to judge."""
    if when.start > today:
        return [
            f"{when.label} has not started (it begins {when.start}; today is {today}): no "
            "launch can have decided in it yet"
        ]
    if not document["launches"]:
        return [
            f"no launch with a bet registered before launch decided in {when.label}: nothing "
            f"to judge ({len(document['apart'])} counted apart, {len(document['invalid'])} "
            f"invalid, {len(document['pending'])} pending)"
        ]
    return []


def _figures(
    counted: list[dict[str, Any]],
    apart: list[dict[str, Any]],
    invalid: list[dict[str, Any]],
    pending: list[dict[str, Any]],
    when: Period,
    today: dt.date,
) -> dict[str, Any]:
    stated = [launch["confidence"] for launch in counted]
    met = [launch["met"] for launch in counted]
    measured = [launch for launch in counted if launch["observed"] is not None]
    errors = calib.estimate_errors(
        [launch["predicted"] for launch in measured], [launch["observed"] for launch in measured]
    )
    parts = calib.decomposition(stated, met)
    overall = calib.calibration(stated, met)
    planned_ranks = _ranks([launch["planned_rice"] for launch in counted])
    unranked = [_unranked(launch) for launch in counted]
    realized_ranks = _ranks(
        [
            None if why else launch["realized_rice"]
            for launch, why in zip(counted, unranked, strict=True)
        ]
    )
    rice = sorted(
        (
            {
                "id": launch["id"],
                "planned_rice": launch["planned_rice"],
                "realized_rice": launch["realized_rice"],
                "planned_rank": planned,
                "realized_rank": realized,
                "unranked": why,
            }
            for launch, planned, realized, why in zip(
                counted, planned_ranks, realized_ranks, unranked, strict=True
            )
        ),
        key=lambda row: (row["realized_rank"] is None, row["realized_rank"] or 0, row["id"]),
    )
    return {
        "report": "quarter",
        "quarter_version": QUARTER_VERSION,
        "period": {"label": when.label, "from": when.start.isoformat(), "to": when.end.isoformat()},
        "today": today.isoformat(),
        "hit_rate": _share_json(calib.share(sum(met), len(met)))
        or {"k": 0, "n": 0, "rate": None, "interval": None, "level": LEVEL, "method": "wilson"},
        "by_design": _groups(counted, "design"),
        "by_owner": _groups(counted, "owner"),
        "base_rates": BASE_RATES,
        "calibration": {
            **_calibration_json(overall),
            "brier": calib.brier(stated, met),
            "perfect_brier": calib.perfect_brier(stated),
            "decomposition": parts._asdict() if parts else None,
            "bins": [
                {"low": b.low, "high": b.high, **_calibration_json(b.calibration)}
                for b in calib.reliability_bins(stated, met)
            ],
        },
        "calibration_by_owner": _calibration_by_owner(counted),
        "estimates": {
            "n": errors.n,
            "mean_ratio": errors.mean_ratio,
            "median_ratio": errors.median_ratio,
            "overestimated": _share_json(errors.overestimated),
        },
        "rice": rice,
        "totals": _totals(counted),
        "launches": counted,
        "apart": apart,
        "invalid": invalid,
        "pending": pending,
    }


def _unloaded(problem: schedule.Problem, folder: Path) -> dict[str, str]:
    """A spec file that failed to load, named from its folder (no absolute path)."""
    try:
        shown = (Path(folder.name) / problem.path.relative_to(folder)).as_posix()
    except ValueError:
        shown = problem.path.name
    why = problem.message.replace(str(problem.path), shown)
    return {"file": shown, "why": why}


def bet_drift(specs: Iterable[LaunchSpec]) -> dict[str, list[dict[str, Any]]]:
    """By launch, how each spec's bet differs now from the bet registered before launch,
    read from the spec and its lock (so a change made after the launch's last review shows
    without reviewing again). A lock that cannot be read leaves the verdict's record."""
    found = {}
    for spec in specs:
        try:
            found[spec.id] = registry.bet_at_launch(spec).drift
        except ImpactError:
            continue
    return found


def parse_today(today: str | dt.date | None) -> dt.date:
    """The clock: a date, an ISO date string, or None for the real UTC date."""
    if today is None:
        return dt.datetime.now(dt.UTC).date()
    if isinstance(today, dt.date):
        return today
    return _date("--today", today)


def _clean(value: Any) -> Any:
    """Floats to 12 significant digits, a non-finite one to null (as verdict.json)."""
    if isinstance(value, float):
        return float(f"{value:.12g}") if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items() if not str(key).startswith("_")}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    return value


def review(
    output_dir: str | Path = ".",
    specs_dir: str | Path | None = "specs",
    *,
    quarter: str | None = None,
    start: str | None = None,
    end: str | None = None,
    today: str | dt.date | None = None,
) -> dict[str, Any]:
    """The quarter's document from the verdicts published under ``output_dir/reports`` (and
    the specs under ``specs_dir``, for launches not reviewed yet).

    Raises:
        SpecError: a bad period or clock, or ``specs_dir`` is not a folder.
    """
    day = parse_today(today)
    when = period(quarter=quarter, start=start, end=end, today=day)
    specs, problems = schedule.find_specs(Path(specs_dir)) if specs_dir is not None else ([], [])
    verdicts = portfolio.load_verdicts(Path(output_dir))
    document = build(
        verdicts,
        when=when,
        today=day,
        scheduled=scheduled_finals(specs),
        unloaded=[_unloaded(problem, Path(str(specs_dir))) for problem in problems],
        bet_drift=bet_drift(specs),
    )
    cleaned: dict[str, Any] = _clean(document)
    return cleaned
