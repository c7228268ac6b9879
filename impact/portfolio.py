"""reports/index.html: every launch, its latest verdict, what is due next, and the hit rate.

The page is built from the published verdicts alone (``reports/<id>/<N>d.json``), so any
review, scheduled or by hand, can rebuild it. Like the reports, it is one self-contained
HTML file: no scripts, inline styles, every string escaped.

The hit rate: of the launches whose deciding review (the final one, or an interim look that
shipped or reverted) is not invalid, the share whose primary metric met its target.
Launches with a registration problem (no lock, a lock written only after launch, a deciding
field that differs from the lock, a deciding amendment after launch) are marked and counted
apart: their verdicts were not judged against criteria fixed in advance.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from impact import formats, settings

__all__ = [
    "SCHEDULE",
    "HitRate",
    "deciding",
    "hit_rate",
    "load_schedule",
    "load_verdicts",
    "registration_problem",
    "render",
    "write",
]

SCHEDULE = "schedule.json"  # what impact due or impact run --due last saw, in reports/

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b;
  max-width: 72rem; margin: 0 auto; padding: 1rem; line-height: 1.45; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { border-bottom: 1px solid #d0d0d0; padding: 0.35rem 0.5rem; text-align: left;
  vertical-align: top; }
.hit { font-size: 1.1rem; }
.note { color: #555; font-size: 0.88rem; }
td.num { font-variant-numeric: tabular-nums; }
.impact-scroll { overflow-x: auto; max-width: 100%; }
@media (max-width: 700px) {
  .impact-stack, .impact-stack tbody, .impact-stack tr, .impact-stack td { display: block; }
  .impact-stack thead { position: absolute; width: 1px; height: 1px; overflow: hidden;
    clip-path: inset(50%); white-space: nowrap; }
  .impact-stack tr { border-bottom: 2px solid #d0d0d0; padding: 0.5rem 0; }
  .impact-stack td { border: none; padding: 0.1rem 0; }
  .impact-stack td:empty { display: none; }
  .impact-stack td::before { content: attr(data-label) ": "; color: #555; }
  .impact-stack td:first-child { font-weight: 600; }
  .impact-stack td:first-child::before { content: none; } }
"""
COLUMNS = [
    "launch",
    "owner",
    "design",
    "registration",
    "latest verdict",
    "effect at that review",
    "reviews",
    "next review",
]
MARK = {"ship": "✔", "iterate": "↻", "revert": "✖", "keep_running": "…", "invalid": "⚠"}


def load_verdicts(output: Path) -> list[dict[str, Any]]:
    """Every published verdict under ``output/reports`` (history folders excluded), as the
    checkpoint's manifest names it, so a set being published shows old or new, never a mix."""
    found = []
    for path in sorted((output / "reports").glob("*/*.json")):
        manifest = path.with_suffix(".manifest")  # the set published last (impact.publish)
        try:
            if manifest.is_file():
                verdict = json.loads(manifest.read_text(encoding="utf-8")).get("verdict")
            else:
                verdict = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(verdict, dict) and verdict.get("schema_version") == 1:
            verdict["_report"] = f"{path.parent.name}/{path.stem}.html"
            history = path.parent / f"{path.stem}.history"
            verdict["_history"] = [
                _earlier(page, f"{path.parent.name}/{history.name}/{page.name}")
                for page in sorted(history.glob("*.html"))
            ]
            found.append(verdict)
    return found


def _earlier(page: Path, link: str) -> dict[str, str | None]:
    """An earlier run of a review, kept in its history folder: its report's link, when it
    ran (from the name publish gives it, ``20261127T211218-620a6a.html``) and its outcome
    (from the verdict kept beside it; None when unreadable)."""
    outcome = None
    with contextlib.suppress(OSError, ValueError, AttributeError):
        outcome = json.loads(page.with_suffix(".json").read_text(encoding="utf-8")).get("outcome")
    try:
        ran = dt.datetime.strptime(page.stem[:15], "%Y%m%dT%H%M%S").strftime("%Y-%m-%d %H:%M")
    except ValueError:
        ran = None
    return {"report": link, "ran": ran, "outcome": outcome if isinstance(outcome, str) else None}


def load_schedule(output: Path) -> list[dict[str, Any]]:
    """The checkpoints ``impact due`` or ``impact run --due`` last listed (empty if none)."""
    try:
        listing = json.loads((output / "reports" / SCHEDULE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [entry for entry in listing.get("reviews", []) if isinstance(entry, dict)]


def _days(verdict: dict[str, Any]) -> int:
    return int(str(verdict["checkpoint"]).rstrip("d"))


def _by_launch(verdicts: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    launches: dict[str, list[dict[str, Any]]] = {}
    for verdict in verdicts:
        launches.setdefault(verdict["spec_id"], []).append(verdict)
    return {key: sorted(value, key=_days) for key, value in sorted(launches.items())}


def deciding(reviews: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A launch's deciding review: the first interim ship or revert, else the final review."""
    registered = [v for v in reviews if not v.get("monitoring")]
    for verdict in registered:
        if verdict["outcome"] in ("ship", "revert"):
            return verdict
    finals = [v for v in registered if v.get("final")]
    return finals[0] if finals else None


def registration_problem(verdict: dict[str, Any]) -> str | None:
    """Why a verdict was not judged against criteria registered in advance, or None.

    A verdict without a registration block (written by hand) has no known problem.
    """
    registration = verdict.get("registration")
    if not isinstance(registration, dict):
        return None
    if not registration.get("registered"):
        return "no lock"
    if registration.get("registered_after_launch"):
        return "registered after launch"
    if any(change.get("deciding") for change in registration.get("changed_fields") or []):
        return "changed after registration"
    late = [
        a
        for a in registration.get("amendments") or []
        if a.get("after_launch") and a.get("deciding_fields")
    ]
    if late:
        return "amended after launch"
    return None


DUE_NOW = " (due now: its date has passed)"


@dataclass(frozen=True)
class HitRate:
    """k of n launches met their target (n excludes undecided and invalid launches, and
    launches with a registration problem, which are counted apart).

    Attributes:
        hits: decided, valid, well-registered launches whose primary met its target.
        decided: decided, valid, well-registered launches.
        apart: decided launches left out for a registration problem.
    """

    hits: int
    decided: int
    apart: int = 0

    def __str__(self) -> str:
        aside = f"; {self.apart} more with a registration problem not counted" if self.apart else ""
        if not self.decided:
            return f"no decided launches yet{aside}"
        return f"{self.hits / self.decided:.0%} ({self.hits} of {self.decided}{aside})"

    def sentence(self) -> str:
        """The hit rate as a sentence's words: ``50% (1 of 2) of decided launches met their
        target``, or ``no decided launches yet``."""
        if not self.decided:
            return str(self)
        return f"{self} of decided launches met their target"


def hit_rate(verdicts: Iterable[dict[str, Any]], *, since: dt.date | None = None) -> HitRate:
    """The share of decided, valid launches whose primary met its target.

    Args:
        verdicts: published verdicts of any launches and checkpoints.
        since: count only launches whose deciding review's as_of is on or after this date.
    """
    hits = decided = apart = 0
    for reviews in _by_launch(verdicts).values():
        verdict = deciding(reviews)
        if verdict is None or verdict["outcome"] == "invalid":
            continue
        if since is not None and dt.date.fromisoformat(verdict["as_of"]) < since:
            continue
        if registration_problem(verdict):
            apart += 1
            continue
        decided += 1
        primary = verdict.get("primary") or {}
        adoption = verdict.get("adoption") or {}
        hits += primary.get("status") == "target_met" if primary else bool(adoption.get("met"))
    return HitRate(hits, decided, apart)


def _el(tag: str, text: str = "", **attributes: str) -> ET.Element:
    element = ET.Element(tag, {key.rstrip("_"): value for key, value in attributes.items()})
    element.text = text
    return element


def _row(cells: Sequence[ET.Element | str], header: bool = False) -> ET.Element:
    """A table row; a data cell carries its column's name, its label when stacked on a phone."""
    row = ET.Element("tr")
    for column, cell in zip(COLUMNS, cells, strict=True):
        holder = (
            ET.SubElement(row, "th", scope="col")
            if header
            else ET.SubElement(row, "td", {"data-label": column})
        )
        if isinstance(cell, str):
            holder.text = cell
        else:
            holder.append(cell)
    return row


def _effect(verdict: dict[str, Any]) -> str:
    """The primary effect with its interval (or the adoption funnel's weakest share)."""
    primary = verdict.get("primary")
    if primary and primary.get("effect") is not None and primary.get("alpha"):
        style = formats.style_of_json(primary)
        low, high = primary.get("ci") or (None, None)
        change = formats.change(style, primary.get("effect"), group=(low, high))
        relative = primary.get("relative_effect")
        shown = f" ({formats.relative(relative)})" if relative is not None else ""
        level = f"{(1 - primary['alpha']) * 100:.3g}%"
        interval = formats.interval(style, low, high, estimate=primary.get("effect"))
        return f"{primary.get('name', '')}: {change}{shown}, {level} CI {interval}"
    adoption = verdict.get("adoption")
    if adoption and adoption.get("eligible") is not None:
        return (
            f"{adoption.get('tried', 0):.1%} tried, {adoption.get('repeat', 0):.1%} came back "
            f"(of {adoption['eligible']:,} eligible)"
        )
    return formats.MISSING


def _reviews(reviews: list[dict[str, Any]]) -> ET.Element:
    """A link to every checkpoint's report and to each earlier run of it."""
    cell = ET.Element("span")
    for index, verdict in enumerate(reviews):
        link = ET.SubElement(cell, "a", href=verdict["_report"])
        link.text = str(verdict["checkpoint"])
        link.tail = f" {MARK.get(verdict['outcome'], '')}"
        _earlier_runs(cell, verdict)
        if index < len(reviews) - 1:
            cell[-1].tail = (cell[-1].tail or "") + " · "
    return cell


SHOWN_EARLIER = 5  # earlier runs linked one by one, besides the last


def _earlier_runs(cell: ET.Element, verdict: dict[str, Any]) -> None:
    """The earlier runs of a review: the last one, and each whose outcome differs from the
    current one (a rerun that changed the verdict is worth a look); the rest are counted.
    Every identical rerun is kept in the history folder, and twenty of them are noise."""
    earlier: list[dict[str, Any]] = verdict.get("_history", [])
    if not earlier:
        return
    shown = [earlier[-1]]
    shown += [e for e in reversed(earlier[:-1]) if e.get("outcome") != verdict["outcome"]][
        :SHOWN_EARLIER
    ]
    note = ET.SubElement(cell, "span", {"class": "note"})
    note.text = f"earlier runs ({len(earlier)}): "
    for number, run in enumerate(shown):
        older = ET.SubElement(note, "a", {"href": run["report"]})
        outcome = run.get("outcome")
        mark = f" {MARK.get(outcome, '')} {outcome.replace('_', ' ')}" if outcome else ""
        older.text = f"{run.get('ran') or 'undated'}{mark}"
        older.tail = ", " if number < len(shown) - 1 else ""
    hidden = [e for e in earlier if not any(e is s for s in shown)]
    if hidden:
        other = sum(e.get("outcome") != verdict["outcome"] for e in hidden)
        words = (
            f"each {verdict['outcome'].replace('_', ' ')}"
            if not other
            else f"{other} with another outcome"
        )
        folder = Path(shown[0]["report"]).parent.name
        older.tail = f"; {len(hidden)} more, {words}, in {folder}/"


def _registration(verdict: dict[str, Any]) -> str:
    registration = verdict.get("registration") or {}
    problem = registration_problem(verdict)
    if problem:
        return f"⚠ {problem}: not counted in the hit rate"
    if not registration.get("registered"):
        return "not registered"
    late = " after launch" if registration.get("registered_after_launch") else ""
    return f"registered {str(registration.get('registered_at', ''))[:10]}{late}"


def render(
    verdicts: list[dict[str, Any]],
    *,
    today: dt.date,
    scheduled: list[dict[str, Any]] | None = None,
    quarters: Sequence[str] = (),
    look: settings.ReportLook | None = None,
) -> str:
    """The portfolio page as HTML text.

    Args:
        verdicts: the published verdicts.
        today: the reference day for "the last 6 months".
        scheduled: the checkpoints the scheduler last listed; launches without a verdict
            yet and their coming reviews come from here.
        quarters: the published quarter reviews (``2026-Q4``), each linked.
        look: the project's look (logo, colours, footer), as the reports wear it.
    """
    launches = _by_launch(verdicts)
    html = ET.Element("html", lang="en")
    head = ET.SubElement(html, "head")
    head.append(_el("meta", charset="utf-8"))
    head.append(_el("meta", name="viewport", content="width=device-width, initial-scale=1"))
    head.append(_el("title", "Launch portfolio"))
    head.append(_el("style", STYLE))
    if look is not None:
        head.append(_el("style", look.css("body")))
    body = ET.SubElement(html, "body")
    header = look.header() if look is not None else None
    if header is not None:
        body.append(header)
    body.append(_el("h1", "Launch portfolio"))
    six_months = today - dt.timedelta(days=183)
    hit = _el("p", "", class_="hit")
    hit.append(_el("strong", "Hit rate: "))
    recent = hit_rate(verdicts, since=six_months)
    ET.SubElement(hit, "span").text = f"{hit_rate(verdicts).sentence()}; last 6 months: {recent}."
    body.append(hit)
    body.append(
        _el(
            "p",
            "A launch counts once its deciding review (the final one, or an interim look that "
            "shipped or reverted) is in and not invalid. Launches marked ⚠ (no lock, a "
            "deciding field changed after registration, or amended after launch) are counted "
            "apart.",
            class_="note",
        )
    )
    if quarters:
        line = _el("p", "", class_="quarters")
        line.append(_el("strong", "Quarter reviews: "))
        for index, label in enumerate(sorted(quarters, reverse=True)):
            link = _el("a", label, href=f"quarters/{label}.html")
            link.tail = " · " if index < len(quarters) - 1 else ""
            line.append(link)
        body.append(line)
    # on a phone each launch is a stack of labelled lines (the style sheet); wider, a table
    holder = ET.SubElement(body, "div", {"class": "impact-scroll"})
    table = ET.SubElement(holder, "table", {"class": "impact-stack"})
    ET.SubElement(table, "thead").append(_row(COLUMNS, True))
    rows = ET.SubElement(table, "tbody")
    upcoming: dict[tuple[str, str], str] = {}  # (date, launch) -> the line; one per review
    listed = {str(entry.get("spec_id")) for entry in scheduled or []}
    for spec_id, reviews in launches.items():
        latest = reviews[-1]
        link = _el(
            "a",
            f"{MARK.get(latest['outcome'], '')} {latest['outcome'].replace('_', ' ')}",
            href=latest["_report"],
        )
        verdict_cell = ET.Element("span")
        verdict_cell.append(link)
        link.tail = f" ({latest['action']})"
        title = f"{latest.get('title', spec_id)} ({spec_id})"
        decided = deciding(reviews)
        next_review = latest.get("next_review")
        if decided is not None and decided["outcome"] in ("ship", "revert"):
            next_review = None
        due = next_review is not None and next_review <= today.isoformat()
        rows.append(
            _row(
                [
                    title,
                    str(latest.get("owner", "")),
                    str(latest.get("design", "")),
                    _registration(latest),
                    verdict_cell,
                    f"{_effect(latest)} ({latest['checkpoint']}, as of {latest['as_of']})",
                    _reviews(reviews),
                    f"{next_review}{DUE_NOW if due else ''}" if next_review else "none",
                ]
            )
        )
        if next_review and spec_id not in listed:  # else the scheduler's listing names it
            upcoming[(next_review, spec_id)] = f"{title}{DUE_NOW if due else ''}"
    reviewed = set(launches)
    waiting: dict[str, tuple[str, str]] = {}
    for entry in scheduled or []:
        if entry.get("state") in ("upcoming", "due", "failed"):
            title = f"{entry.get('title', entry['spec_id'])} ({entry['spec_id']})"
            if entry["state"] == "failed":
                state = " (its last run failed: impact due says why)"
            elif str(entry["date"]) <= today.isoformat():
                state = DUE_NOW
            else:
                state = ""
            upcoming[(str(entry["date"]), str(entry["spec_id"]))] = (
                f"{title}, {entry['checkpoint']}{state}"
            )
            if entry["spec_id"] not in reviewed:
                waiting.setdefault(entry["spec_id"], (title, str(entry["date"])))
    for title, date in waiting.values():
        rows.append(_row([title, "", "", "", "not reviewed yet", "", "", date]))
    body.append(_el("h2", "Upcoming reviews"))
    listing = ET.SubElement(body, "ul")
    for (date, _), title in sorted(upcoming.items()):
        listing.append(_el("li", f"{date}: {title}"))
    if not upcoming:
        listing.append(_el("li", "none scheduled among the reviewed launches"))
    body.append(_el("p", "Launches not reviewed yet are listed by impact due.", class_="note"))
    footer = look.footer_element() if look is not None else None
    if footer is not None:
        body.append(footer)
    return "<!DOCTYPE html>\n" + ET.tostring(html, encoding="unicode", method="html") + "\n"


def write(
    output: Path, *, today: dt.date | None = None, look: settings.ReportLook | None = None
) -> Path:
    """Rebuild ``output/reports/index.html`` atomically, with the project's ``look`` (the
    caller's, read from the specs' folder; else the settings nearest to ``output``); return
    its path.

    Raises:
        SpecError: without ``look``, the settings nearest to ``output`` are wrong.
    """
    look = look if look is not None else settings.report_look(output)
    verdicts = load_verdicts(output)
    reference = today or max(
        (dt.date.fromisoformat(v["as_of"]) for v in verdicts), default=dt.date(1970, 1, 1)
    )
    path = output / "reports" / "index.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".index.{os.getpid()}.html")
    quarters = [p.stem for p in sorted((output / "reports" / "quarters").glob("*.html"))]
    page = render(
        verdicts,
        today=reference,
        scheduled=load_schedule(output),
        quarters=quarters,
        look=look,
    )
    staged.write_text(page, encoding="utf-8")
    os.replace(staged, path)
    return path
