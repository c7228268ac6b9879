"""The quarter report's sections: what the quarter template shows, from ``impact.quarter``'s
document alone (the same numbers as the published ``.json``).

Every block is built with ``xml.etree.ElementTree``, so every title, hypothesis and reason
from a spec or a verdict is escaped.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from impact import formats
from impact.quarter import MIME_TYPE
from impact.report.blocks import STYLE, HTMLBlock, _el, _table

__all__ = [
    "apart",
    "calibration",
    "estimates",
    "headline",
    "hit_rates",
    "launch_lines",
    "markdown",
    "methods",
    "payload",
    "rice",
    "totals",
    "totals_sentences",
]

MISSING = formats.MISSING
JUDGEMENT = {
    "overconfident": "Overconfident",
    "underconfident": "Underconfident",
    "consistent": "Consistent with calibration",
    "no launches": "Nothing to judge yet",
}


class QuarterPayload:
    """The quarter's document as a display output (the runner reads it; the report drops it)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def _repr_mimebundle_(self, **_: Any) -> dict[str, Any]:
        return {
            MIME_TYPE: self.data,
            "text/plain": f"impact quarter {self.data['period']['label']}",
        }

    def __repr__(self) -> str:
        return json.dumps(self.data, indent=2)


def payload(document: dict[str, Any]) -> QuarterPayload:
    """The quarter's ``.json`` as a display output with its MIME type."""
    return QuarterPayload(document)


def _pct(value: float | None, places: int = 0) -> str:
    return MISSING if value is None else f"{value:.{places}%}"


def _places(stated: float | None, found: dict[str, Any] | None, judgement: str) -> int:
    """The decimals of a percent that keep a strict comparison true once printed: with
    ``overconfident`` the stated value above the interval's upper end, with
    ``underconfident`` below its lower end (75% against 74.6% prints 75.0% and 74.6%, not
    75% and 75%)."""
    if stated is None or not found or not found.get("interval"):
        return 0
    low, high = found["interval"]
    for places in range(4):
        shown, lowest, highest = (round(100 * x, places) for x in (stated, low, high))
        if judgement == "overconfident" and shown <= highest:
            continue
        if judgement == "underconfident" and shown >= lowest:
            continue
        return places
    return 4


def _share(found: dict[str, Any] | None, places: int = 0) -> str:
    """``4 of 10 (40%; 95% interval 17%-69%)``."""
    if not found or not found.get("n"):
        return "no launches"
    low, high = found["interval"]
    return (
        f"{found['k']} of {found['n']} ({_pct(found['rate'], places)}; {found['level']:.0%} "
        f"interval {_pct(low, places)}-{_pct(high, places)})"
    )


def _effects(launch: dict[str, Any]) -> tuple[str, str, str]:
    """The bet, the measured effect and its interval with its level, in the metric's format
    (percentage points for a share, the currency or unit otherwise, % where the bet is
    relative), the three with the same decimals."""
    low, high = launch["ci"] or (None, None)
    predicted, observed = launch["predicted"], launch["observed"]
    group = (predicted, observed, low, high)
    if launch["relative"]:
        shown = [formats.relative(x, group=group) for x in (predicted, observed)]
        interval = formats.relative_interval(low, high, estimate=observed)
    else:
        style = formats.style_of_json(launch)
        shown = [formats.change(style, x, group=group) for x in (predicted, observed)]
        interval = formats.interval(style, low, high, estimate=observed)
    if low is not None and launch.get("level"):
        interval += f" ({launch['level'] * 100:.3g}%)"
    return shown[0], shown[1], interval


def _root(*children: ET.Element | str | None, label: str) -> HTMLBlock:
    return HTMLBlock(_el("div", *children, class_="impact", **{"aria-label": label}))


def _title(document: dict[str, Any]) -> str:
    period = document["period"]
    return f"Quarter review {period['label']} ({period['from']} to {period['to']})"


def calibration_sentence(document: dict[str, Any]) -> str:
    """The calibration's verdict in plain words, with the interval that says how sure it is."""
    return _calibration_words(document["calibration"])


def _calibration_words(found: dict[str, Any]) -> str:
    if not found["n"]:
        return "No launch with a registered bet decided in this period: nothing to judge yet."
    stated, observed = found["stated"], found["observed"]
    judgement = found["judgement"]
    places = _places(stated, observed, judgement)
    said = (
        f"the bets stated {_pct(stated, places)} confidence on average, and "
        f"{_share(observed, places)} met their targets"
    )
    chance = found["p_value"]
    if judgement == "overconfident":
        return (
            f"Overconfident: {said}. The interval lies below {_pct(stated, places)}: were the "
            f"stated confidences right, meeting {observed['k']} or fewer would happen "
            f"{chance:.1%} of the time."
        )
    if judgement == "underconfident":
        return (
            f"Underconfident: {said}. The interval lies above {_pct(stated, places)}: were the "
            f"stated confidences right, meeting {observed['k']} or more would happen "
            f"{chance:.1%} of the time."
        )
    return (
        f"Consistent with calibration: {said}; the interval includes {_pct(stated, places)}. "
        f"With {found['n']} launches that is what can be said, not proof of calibration."
    )


def headline(document: dict[str, Any]) -> HTMLBlock:
    """The first screen: the period, the hit rate, the calibration verdict, what is apart."""
    counted = len(document["launches"])
    others = [
        f"{len(document['apart'])} counted apart (registration problem or no bet)",
        f"{len(document['invalid'])} invalid",
        f"{len(document['pending'])} pending",
        *([_unloaded_count(document) or ""] if document.get("unloaded") else []),
    ]
    style = _el("style", STYLE)
    return _root(
        style,
        _el("h1", _title(document)),
        *(
            _el("p", _el("strong", "Warning: "), warning, class_="impact-flag")
            for warning in document.get("warnings") or []
        ),
        _el(
            "div",
            _el(
                "p", _el("strong", "Hit rate: "), _share(document["hit_rate"]), " met their target."
            ),
            _el("p", _el("strong", "Calibration: "), calibration_sentence(document)),
            _el("p", _el("strong", "Estimates: "), estimates_sentence(document)),
            _el(
                "p",
                _el("strong", "Moved in total: "),
                " ".join(totals_sentences(document, lead=True)),
                " ",
                _el("a", "By team and metric", href="#Moved-in-total"),
                " below.",
            )
            if document.get("totals")
            else None,
            _el(
                "p",
                f"{counted} decided launch{'es' if counted != 1 else ''} with a bet registered "
                f"before launch are counted; {', '.join(others)}, listed below.",
                class_="note",
            ),
            class_="impact-lead",
        ),
        label="quarter summary",
    )


def hit_rates(document: dict[str, Any]) -> HTMLBlock:
    """The hit rate overall, by design and by owner, beside published base rates."""
    rows: list[list[ET.Element | str]] = [["all counted launches", _share(document["hit_rate"])]]
    for key, word in (("by_design", "design"), ("by_owner", "owner")):
        for value, found in document[key].items():
            rows.append([f"{word}: {value}", _share(found)])
    bases: list[list[ET.Element | str]] = [
        [
            base["where"],
            _pct(base["low"])
            if base["low"] == base["high"]
            else f"{_pct(base['low'])}-{_pct(base['high'])}",
            base["what"],
            base["source"],
        ]
        for base in document["base_rates"]
    ]
    return _root(
        _el("h2", "Hit rate", id="Hit-rate"),
        _el(
            "p",
            "The share of counted launches whose primary metric met its target at the deciding "
            "review, with a 95% Wilson interval.",
            class_="note",
        ),
        _table(["launches", "met their target"], rows, set()),
        _el("h3", "Published base rates"),
        _el(
            "p",
            "Most ideas fail when tested: shares of experiments that succeeded elsewhere, as "
            "published. Definitions of success differ from this review's (target met).",
            class_="note",
        ),
        _table(["where", "share", "what", "source"], bases, {1}),
        label="hit rate",
    )


def estimates_sentence(document: dict[str, Any]) -> str:
    """How far the impact estimates ran high or low, in words."""
    found = document["estimates"]
    if not found["n"]:
        return "no launch has both a bet and a measured effect."
    mean, median = found["mean_ratio"], found["median_ratio"]
    shortfall = (
        f"measured effects fell short of the predictions by {1 - mean:.0%} on average"
        if mean < 1
        else f"measured effects exceeded the predictions by {mean - 1:.0%} on average"
    )
    return (
        f"on average the measured effect was {mean:.0%} of the predicted one (median "
        f"{median:.0%}): {shortfall}; {_share(found['overestimated'])} launches fell short "
        "of their prediction."
    )


def estimates(document: dict[str, Any]) -> HTMLBlock:
    """Predicted against measured effect per launch, and the average over- or underestimate."""
    rows: list[list[ET.Element | str]] = []
    for launch in document["launches"]:
        predicted, observed, interval = _effects(launch)
        ratio = (
            MISSING
            if launch["observed"] is None
            else f"{launch['observed'] / launch['predicted']:.0%}"
        )
        rows.append(
            [
                launch["title"],
                launch["metric"],
                predicted,
                observed,
                interval,
                ratio,
            ]
        )
    return _root(
        _el("h2", "Predicted and measured effects", id="Predicted-and-measured"),
        _el("p", "Estimates: ", estimates_sentence(document)),
        _el(
            "p",
            "Effects are oriented so that positive is good, in the primary metric's units "
            "(percentage points for a share; a change relative to the control where the bet is "
            "relative). The interval is the deciding review's, at the level in brackets: one "
            "minus the false-alarm chance that review's look could spend (above the "
            "registered level, such as 95.2%, when earlier looks spent some of it).",
            class_="note",
        ),
        _table(
            [
                "launch",
                "metric",
                "bet (predicted)",
                "measured",
                "interval (its level)",
                "measured / bet",
            ],
            rows,
            {2, 3, 4, 5},
        ),
        label="predicted and measured",
    )


def _style(entry: dict[str, Any]) -> formats.Style:
    return formats.style_of_json(entry)


def _total_sentence(entry: dict[str, Any]) -> str:
    style = _style(entry)
    who = entry["owner"] or "All teams together"
    shipped = entry["shipped"]
    skipped = entry["not_shipped"]
    better = " (lower is better)" if entry["direction"] == "decrease" else ""
    if skipped:
        counts: dict[str, int] = {}
        for item in skipped:
            word = item["outcome"].replace("_", " ")
            counts[word] = counts.get(word, 0) + 1
        kinds = ", ".join(f"{count} {word}" for word, count in sorted(counts.items()))
        rest = f"; {len(skipped)} not shipped ({kinds}) are not summed"
    else:
        rest = ""
    if not shipped["n"]:
        return f"{who}: no shipped launch moved {entry['metric']}{better}{rest}."
    interval = shipped["interval"]
    low, high = interval if interval else (None, None)
    said = (
        f"{shipped['level']:.0%} interval "
        f"{formats.interval(style, low, high, estimate=shipped['total'])}"
        if interval
        else "no interval: a launch had none"
    )
    plural = "launch" if shipped["n"] == 1 else "launches"
    return (
        f"{who}: {shipped['n']} shipped {plural} moved {entry['metric']}{better} by "
        f"{formats.change(style, shipped['total'], group=[low, high])} in total ({said})"
        f"{', if their effects add up' if shipped['n'] > 1 else ''}{rest}."
    )


def totals_sentences(document: dict[str, Any], *, lead: bool = False) -> list[str]:
    """What the quarter's shipped launches moved in total, one sentence per team and metric,
    and which metrics are not added together. For the lead (``lead``), a metric that
    several teams moved is said once, for all teams together."""
    entries = document.get("totals") or []
    if lead:

        def key(entry: dict[str, Any]) -> tuple[Any, ...]:
            return tuple(entry.get(part) for part in ("metric", "format", "unit", "direction"))

        shared = {key(entry) for entry in entries if entry["owner"] is None}
        entries = [e for e in entries if e["owner"] is None or key(e) not in shared]
    sentences = [_total_sentence(entry) for entry in entries]
    metrics = sorted({f"{entry['metric']} ({_style(entry).change_unit})" for entry in entries})
    if len(metrics) > 1:
        sentences.append(
            "Different metrics or units are not added together: " + ", ".join(metrics) + "."
        )
    return sentences


def totals(document: dict[str, Any]) -> HTMLBlock:
    """What the shipped launches moved in total, per team and metric, with intervals."""
    sentences = totals_sentences(document)
    return _root(
        _el("h2", "Moved in total", id="Moved-in-total"),
        _el("ul", *(_el("li", sentence) for sentence in sentences))
        if sentences
        else _el("p", "No counted launch: nothing moved in this period.", class_="note"),
        _el(
            "p",
            "The sum of the measured effects of the launches that shipped (a reverted or "
            "iterated launch's effect does not stay), on the same primary metric in the same "
            "units, per team and over the teams that moved the same metric. Launches are "
            "independent experiments, so their standard errors add in squares; each is read "
            "from its review's interval at its level. A sum is what they moved together "
            "only if their effects add up (the same population, launches that do not "
            "overlap or undo one another).",
            class_="note",
        ),
        label="moved in total",
    )


def calibration(document: dict[str, Any]) -> HTMLBlock:
    """Stated confidence against how often targets were met: bins, Brier score."""
    found = document["calibration"]
    rows: list[list[ET.Element | str]] = [
        [
            f"{b['low']:.0%}-{b['high']:.0%}",
            str(b["observed"]["n"]),
            _pct(b["stated"], places),
            _share(b["observed"], places),
            JUDGEMENT[b["judgement"]],
        ]
        for b in found["bins"]
        for places in [_places(b["stated"], b["observed"], b["judgement"])]
    ]
    parts = found["decomposition"]
    brier = (
        _el(
            "p",
            f"Brier score {found['brier']:.3f} (the mean of (stated - met)², 0 is perfect "
            f"foresight; stating 50% every time scores 0.25). A perfectly calibrated team "
            f"stating these confidences would score {found['perfect_brier']:.3f} on average. "
            f"Decomposed: reliability {parts['reliability']:.3f} (the calibration gap; 0 when "
            f"calibrated) - resolution {parts['resolution']:.3f} (how well the stated "
            f"confidences tell hits from misses) + uncertainty {parts['uncertainty']:.3f} "
            "(the spread of the outcomes themselves).",
        )
        if found["brier"] is not None and parts is not None
        else _el("p", "No Brier score: no counted launch.")
    )
    owners = document.get("calibration_by_owner") or {}
    by_owner: list[ET.Element | None] = (
        [
            _el("h3", "By owner"),
            _el(
                "ul",
                *(
                    _el(
                        "li",
                        _el("strong", f"{owner}: "),
                        _calibration_words(found_owner),
                        f" Brier score {found_owner['brier']:.3f} (a perfectly calibrated team "
                        f"stating these confidences: {found_owner['perfect_brier']:.3f}).",
                    )
                    for owner, found_owner in owners.items()
                ),
            ),
        ]
        if owners
        else []
    )
    return _root(
        _el("h2", "Calibration", id="Calibration"),
        _el(
            "p",
            calibration_sentence(document),
            class_="impact-flag"
            if found["judgement"] in ("overconfident", "underconfident")
            else "note",
        ),
        _table(
            ["stated confidence", "launches", "mean stated", "met their target", "judgement"],
            rows,
            {1, 2},
        ),
        brier,
        *by_owner,
        label="calibration",
    )


def rice(document: dict[str, Any]) -> HTMLBlock:
    """Realized RICE (reach x measured impact / effort) beside the planned score, ranked."""
    titles = {launch["id"]: launch["title"] for launch in document["launches"]}
    rows: list[list[ET.Element | str]] = [
        [
            str(row["realized_rank"])
            if row["realized_rank"]
            else f"not ranked ({(row.get('unranked') or 'no measured effect').split(':')[0]})",
            titles.get(row["id"], row["id"]),
            MISSING if row["realized_rice"] is None else f"{row['realized_rice']:.4g}",
            f"{row['planned_rice']:.4g}",
            str(row["planned_rank"] or MISSING),
        ]
        for row in document["rice"]
    ]
    return _root(
        _el("h2", "Realized and planned RICE", id="RICE"),
        _el(
            "p",
            "Planned: reach x bet impact x confidence / effort. Realized: reach x measured "
            "impact / effort. Both are in each primary metric's units per person-week, so "
            "compare ranks across launches of different metrics, not the scores. A launch "
            "whose effect is inconclusive (its interval includes 0 and the target) is listed "
            "last, not ranked: its estimate could be anything from nothing to the target.",
            class_="note",
        ),
        _table(
            ["realized rank", "launch", "realized", "planned", "planned rank"], rows, {0, 2, 3, 4}
        ),
        label="RICE",
    )


def _line(launch: dict[str, Any]) -> ET.Element:
    outcome = launch["outcome"].replace("_", " ")
    met = "target met" if launch["met"] else "target not met"
    link = (
        _el("a", launch["title"], href=_relative(launch["report"]))
        if launch.get("report")
        else _el("strong", launch["title"])
    )
    drift = (
        _el(
            "span",
            " (the bet changed after launch: "
            + ", ".join(f"{c['field']} {c['old']} → {c['new']}" for c in launch["bet_drift"])
            + "; judged as registered)",
            class_="note",
        )
        if launch.get("bet_drift")
        else None
    )
    return _el(
        "li",
        link,
        f": {launch['hypothesis'] or MISSING} → {outcome}, {met} → {launch['reason'] or MISSING}",
        drift,
    )


def _relative(report: str) -> str:
    """A launch's report from reports/quarters/."""
    return f"../{report}"


def launch_lines(document: dict[str, Any]) -> HTMLBlock:
    """Each counted launch in one line: hypothesis -> outcome -> what was learned."""
    lines = [_line(launch) for launch in document["launches"]]
    return _root(
        _el("h2", "Each launch", id="Each-launch"),
        _el("p", "Hypothesis → outcome → what was learned (the verdict's reason).", class_="note"),
        _el("ul", *lines) if lines else _el("p", "No counted launch."),
        label="each launch",
    )


def _listing(entries: list[dict[str, Any]], empty: str) -> ET.Element:
    if not entries:
        return _el("p", empty, class_="note")
    items = []
    for entry in entries:
        name = (
            _el("a", entry["title"], href=_relative(entry["report"]))
            if entry.get("report")
            else _el("strong", entry["title"])
        )
        outcome = f" ({entry['outcome'].replace('_', ' ')})" if entry.get("outcome") else ""
        items.append(_el("li", name, f"{outcome}: {entry['why']}"))
    return _el("ul", *items)


def _unloaded(document: dict[str, Any]) -> list[ET.Element]:
    entries = document.get("unloaded") or []
    if not entries:
        return []
    return [
        _el("h3", "Spec files that did not load"),
        _el(
            "p",
            "These files in the specs folder are not launch specs impact can read, so a launch "
            "of theirs not reviewed yet is missing from Pending. Fix each as its line says "
            "(impact validate FILE).",
            class_="note",
        ),
        _el("ul", *(_el("li", entry["why"]) for entry in entries)),
    ]


def _unloaded_count(document: dict[str, Any]) -> str | None:
    count = len(document.get("unloaded") or [])
    if not count:
        return None
    return f"{count} spec file{'s' if count != 1 else ''} did not load"


def apart(document: dict[str, Any]) -> HTMLBlock:
    """Launches counted apart, invalid or pending, each with why."""
    return _root(
        _el("h2", "Not counted", id="Not-counted"),
        _el("h3", "Counted apart"),
        _el(
            "p",
            "Decided launches whose criteria or bet were not fixed before launch: their "
            "outcomes are shown, never mixed into the figures above.",
            class_="note",
        ),
        _listing(document["apart"], "None."),
        _el("h3", "Invalid"),
        _listing(document["invalid"], "None."),
        _el("h3", "Pending"),
        _listing(document["pending"], "None: every launch due in this period has decided."),
        *_unloaded(document),
        label="not counted",
    )


def methods(document: dict[str, Any]) -> HTMLBlock:
    """How the figures were computed, and from what."""
    return _root(
        _el("h2", "Methods", id="Methods"),
        _el(
            "ul",
            _el(
                "li",
                "A launch belongs to the period when its deciding review (the final one, or an "
                "interim look that shipped or reverted) has its data cut-off in it; figures "
                "come from the published verdict.json files.",
            ),
            _el(
                "li",
                "Intervals of shares are Wilson score intervals at 95% (no continuity "
                "correction). Over- or underconfidence: the mean stated confidence lies above "
                "or below that interval; the chance quoted is that of as few (or as many) hits "
                "if every stated confidence were right (the exact distribution of the number "
                "of hits, launches independent).",
            ),
            _el(
                "li",
                "Brier score: the mean of (stated - met)²; a perfectly calibrated team scores "
                "the mean of stated x (1 - stated) on average; Murphy's decomposition over the "
                "distinct stated values (reliability - resolution + uncertainty) is exact.",
            ),
            _el(
                "li",
                "Moved in total: per team and primary metric, the sum of the shipped launches' "
                "measured effects; independent launches, so standard errors add in squares, "
                "each read from its review's interval at its level. Different metrics or "
                "units are never added.",
            ),
            _el(
                "li",
                "The bet judged is the one registered before launch; a later change (read "
                "from each spec and its lock) is shown beside the launch. See "
                "docs/methods.md.",
            ),
            _el("li", f"Computed {document['today']} (the clock given with --today)."),
        ),
        label="methods",
    )


def markdown(document: dict[str, Any], report_name: str) -> str:
    """A few lines for a post (Slack, email): the quarter's figures and a link."""
    lines = [
        f"*{_title(document)}*",
        *(f"Warning: {warning}" for warning in document.get("warnings") or []),
        f"Hit rate: {_share(document['hit_rate'])} met their target.",
        f"Calibration: {calibration_sentence(document)}",
        f"Estimates: {estimates_sentence(document)}",
        *(f"Moved in total: {sentence}" for sentence in totals_sentences(document)),
        (
            f"Counted apart: {len(document['apart'])}; invalid: {len(document['invalid'])}; "
            f"pending: {len(document['pending'])}."
        ),
        *(f"Did not load: {entry['why']}" for entry in document.get("unloaded") or []),
        f"Report: {report_name}",
    ]
    return "\n".join(lines)
