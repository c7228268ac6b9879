r"""verdict.md: a few lines for Slack or email, written from verdict.json alone.

What a reader needs without opening the report: the outcome and the spec's action, the
primary metric from its baseline to what was observed, in its units, with the absolute and
relative change and the interval, the target in the same units, n and dates, whether the
evidence is observational, anything odd about the registration, and a link.

Strings from the spec and the data are made inert for the chat and the Markdown renderers
the text is posted to (Slack, Teams, GitHub), and kept to one line each:

- control characters and bidirectional overrides are dropped (no terminal escape sequence
  or reordered text reaches a webhook);
- ``<`` and ``>`` become single angle quotation marks (U+2039, U+203A) and an ``&`` that
  could start an entity gets a word joiner, so ``<!channel>``, ``<@U123>`` and
  ``<https://...|text>`` stay text, and nothing is HTML-escaped (no "-&gt;" in a paste);
- Markdown's ``\ ` * ~ [ ] |`` and an ``_`` that could open or close emphasis are escaped
  with a backslash, so ``[text](https://...)`` is no link and ``*text*`` no formatting in
  Teams or GitHub (Slack shows those few backslashes);
- ``@`` before a name gets a word joiner (U+2060), so ``@channel`` or ``@team`` notifies
  no one.

The link is ``IMPACT_REPORT_URL`` (or the ``report_url`` argument) joined with
``<spec id>/<checkpoint>.html``; without one, the report's file name.

Examples:
    >>> verdict = {"title": "Checkout", "spec_id": "checkout", "checkpoint": "56d",
    ...     "final": True, "outcome": "ship", "action": "ship", "next_review": None,
    ...     "launch_date": "2026-09-01", "as_of": "2026-10-27",
    ...     "primary": {"name": "conversion", "kind": "proportion", "status": "target_met",
    ...         "control": 0.32, "treatment": 0.35, "effect": 0.03, "ci": [0.02, 0.04],
    ...         "relative_effect": 0.094, "relative_ci": [0.06, 0.13], "alpha": 0.05,
    ...         "target": "+0.02", "n": {"control": 1000, "treatment": 1000}},
    ...     "guardrails": [{"name": "refunds", "status": "ok"}]}
    >>> text = markdown(verdict, "56d.html", report_url="https://example.com/reports")
    >>> for part in text.split("; "):
    ...     print(part)
    *Checkout*: 56d final review: *Ship* (action: ship)
    conversion: 32.0% → 35.0%, +3.00 pp (+9.4%)
    95% CI +2.00 to +4.00 pp
    target +2.00 pp: target met
    1,000 control, 1,000 treatment
    launched 2026-09-01, data up to 2026-10-26
    Guardrails: refunds ok
    Report: https://example.com/reports/checkout/56d.html
"""

from __future__ import annotations

import datetime as dt
import os
import re
from typing import Any

from impact import formats

__all__ = ["DIAGNOSES", "REPORT_URL", "STEPS", "cell", "failed_section", "markdown", "report_link"]

REPORT_URL = "IMPACT_REPORT_URL"  # the setting: where reports/ is served
OUTCOMES = {
    "ship": "Ship",
    "iterate": "Iterate",
    "revert": "Revert",
    "keep_running": "Keep running",
    "invalid": "Invalid",
}
DIAGNOSES = {
    "none": "every step met its threshold",
    "discoverability": "people do not find it",
    "communication": "people find it but do not try it",
    "discoverability_or_communication": "people do not find it or do not try it",
    "value": "people try it but do not come back",
}
STEPS = {  # the step of the funnel that falls short, named
    "none": "none: every step met its threshold",
    "discoverability": "being found (the entry point's reach)",
    "communication": "being tried (why to use it, said where people see it)",
    "discoverability_or_communication": "being found or tried",
    "value": "coming back (repeat use in different weeks)",
}


_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_MARKUP = re.compile(r"[\\`*~\[\]|]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_MENTION = re.compile(r"@(?=\w)")
_ENTITY = re.compile(r"&(?=#?\w+;)")


def _text(value: object) -> str:
    r"""A spec's or the data's string, inert in Slack, Teams and GitHub Markdown.

    Examples:
        >>> _text("[Win](https://x.example) *now* @channel <!here> a->b")
        '\\[Win\\](https://x.example) \\*now\\* @\u2060channel \u2039!here\u203a a→b'
        >>> _text("\x1b[31m_red_ rev_per_user &lt;")
        '\\[31m_red\\_ rev_per_user &\u2060lt;'
    """
    text = " ".join(_INVISIBLE.sub(" ", str(value)).split()).replace("->", "→")
    text = text.replace("<", "\u2039").replace(">", "\u203a")
    text = _ENTITY.sub("&\u2060", text)
    text = _MARKUP.sub(lambda match: "\\" + match.group(), text)
    return _MENTION.sub("@\u2060", text)


def _status(judged: dict[str, Any]) -> str:
    """What the status checked, as verdict.json words it (older verdicts: the code)."""
    words = judged.get("status_words") or str(judged["status"]).replace("_", " ")
    return _text(words)


def report_link(verdict: dict[str, Any], report_file: str, report_url: str | None = None) -> str:
    """The report's address: the URL base (argument or ``IMPACT_REPORT_URL``) joined with
    ``<spec id>/<checkpoint>.html``, or ``report_file`` without one."""
    base = report_url if report_url is not None else os.environ.get(REPORT_URL, "")
    base = "".join(base.split())
    if not base:
        return report_file
    return f"{base.rstrip('/')}/{verdict['spec_id']}/{verdict['checkpoint']}.html"


def _target(style: formats.Style, text: str | None) -> str:
    if not text:
        return formats.MISSING
    try:
        if text.endswith("%"):
            shown = formats.relative(float(text[:-1]) / 100)
            # beside an interval in points, a share's relative target must say it is relative
            return f"{shown} (relative)" if style.format == "percent" else shown
        return formats.change(style, float(text))
    except ValueError:
        return _text(text)


PER = ("day", "active unit per day")  # verdict.json's primary.per (schema: series)


def _primary(verdict: dict[str, Any], primary: dict[str, Any]) -> list[str]:
    style = formats.style_of_json(primary)
    per = primary.get("per") if primary.get("per") in PER else "day"
    name = _text(primary["name"]) + (f" per {per}" if primary.get("kind") == "series" else "")
    control, treatment = primary.get("control"), primary.get("treatment")
    low, high = primary.get("ci") or (None, None)
    relative = primary.get("relative_effect")
    levels = f"{formats.value(style, control, group=(treatment,))} → "
    levels += f"{formats.value(style, treatment, group=(control,))}"
    levels += " (counterfactual → actual), " if "pre" in (primary.get("n") or {}) else ", "
    change = formats.change(style, primary.get("effect"), group=(low, high))
    if relative is not None:
        change += f" ({formats.relative(relative, group=primary.get('relative_ci') or ())})"
    level = f"{(1 - primary['alpha']) * 100:.3g}% CI"
    interval = formats.interval(style, low, high, estimate=primary.get("effect"))
    lines = [
        f"{name}: {levels}{change}; {level} {interval}; "
        f"target {_target(style, primary.get('target'))}: "
        f"{_status(primary)}"
    ]
    n = primary.get("n") or {}
    dates = _dates(verdict)
    if "pre" in n:
        lines.append(
            "Observational (no control group): against a counterfactual modelled on the "
            f"{n['pre']:,} days before launch, {n['post']:,} since; {dates}"
        )
    else:
        arms = _per_arm(n)
        exposed = (verdict.get("data") or {}).get("units") or {}
        if n and not all(n.values()) and any(exposed.values()):  # an arm's windows not over
            arms += f" counted ({_per_arm(exposed)} exposed; a unit counts once its window ends)"
        lines.append(f"{arms}; {dates}")
    return lines


def _per_arm(counts: dict[str, int]) -> str:
    """Units per arm, in words: ``1,000 control, 1,000 treatment``."""
    return ", ".join(f"{count:,} {_text(arm)}" for arm, count in counts.items())


def _dates(verdict: dict[str, Any]) -> str:
    as_of = verdict.get("as_of")
    last = (dt.date.fromisoformat(as_of) - dt.timedelta(days=1)).isoformat() if as_of else None
    parts = [f"launched {verdict['launch_date']}"] if verdict.get("launch_date") else []
    if last:
        parts.append(f"data up to {last}")
    return ", ".join(parts)


def _registration(verdict: dict[str, Any]) -> list[str]:
    found = verdict.get("registration") or {}
    if not found:
        return []
    if not found.get("registered"):
        return ["Not registered before launch: the criteria were not fixed in advance"]
    lines = []
    if found.get("registered_after_launch"):
        lines.append(f"Registered after launch ({str(found.get('registered_at', ''))[:10]})")
    changed = list(found.get("changed_fields") or [])
    if found.get("template_changed") and not any(c["field"] == "template" for c in changed):
        name = (verdict.get("template") or {}).get("name", "")
        changed.append({"field": f"the team template {name}".strip(), "deciding": False})
    for amendment in found.get("amendments") or []:
        if not (amendment.get("after_launch") and amendment.get("deciding_fields")):
            continue  # before launch, or words only: the criteria were not moved after launch
        moves = ", ".join(
            f"{_text(c['field'])} {_text(c['old'])} → {_text(c['new'])}"
            for c in amendment.get("changes") or []
            if c["field"] in amendment["deciding_fields"]
        )
        when = amendment.get("when") or "after launch"
        lines.append(
            f"⚠ Amended after launch (amendment {amendment['number']}, {_text(when)}): {moves}; "
            f"reason: {_text(amendment.get('reason', ''))}"
        )
    if changed:
        parts = [
            ", ".join(_text(c["field"]) for c in changed if bool(c.get("deciding")) is deciding)
            + (" (deciding: the verdict is invalid)" if deciding else " (words only)")
            for deciding in (True, False)
            if any(bool(c.get("deciding")) is deciding for c in changed)
        ]
        lines.append(f"Changed since registration: {'; '.join(parts)}")
    return lines


def _styles(verdict: dict[str, Any]) -> dict[str, formats.Style]:
    """Each deciding metric's number style, by name."""
    items = [verdict.get("primary") or {}, *(verdict.get("guardrails") or [])]
    return {item["name"]: formats.style_of_json(item) for item in items if item.get("name")}


def _segments(verdict: dict[str, Any]) -> list[str]:
    """Who the launch hurt (a harm or breach with q below alpha) and, where a column's values
    differ, who it helped: as the report's first screen says it."""
    cells = verdict.get("segments") or []
    styles = _styles(verdict)
    differ = {
        (t["metric"], t["column"])
        for t in verdict.get("heterogeneity") or []
        if t.get("p_value") is not None and t["p_value"] < (cells[0]["alpha"] if cells else 0)
    }
    lines = []
    for words, wanted in (("harms", ("harm", "breach")), ("helps", ("target_met", "below_target"))):
        for cell in cells:
            q = cell.get("q_value")
            if cell["status"] not in wanted or q is None or q >= cell["alpha"]:
                continue
            if words == "helps" and (
                cell.get("role") != "primary" or (cell["metric"], cell["column"]) not in differ
            ):
                continue
            style = styles.get(cell["metric"], formats.style_of_json({}))
            change = formats.change(style, cell.get("effect"), group=cell.get("ci") or ())
            line = (
                f"Segments: {words} {_text(cell['value'])} ({_text(cell['column'])}): "
                f"{_text(cell['metric'])} {change}, q = {q:.2g}"
            )
            if words == "harms":
                line += (
                    "; segments never change the outcome, but wherever it ships, this one may "
                    "be held back"
                )
            lines.append(line)
    return lines


def _stages(verdict: dict[str, Any]) -> list[str]:
    """The rollout's stages with their sample-ratio p-values, and the pooled estimate where
    it differs from the stratified one enough to matter."""
    phases = verdict.get("phases") or []
    if not phases:
        return []
    treated = phases[0]["arms"]["treatment"]
    parts = []
    for index, phase in enumerate(phases, start=1):
        p = phase.get("sample_ratio_p_value")
        shown = formats.p_value(p) if p is not None else "no units yet"
        parts.append(
            f"{index} from {phase['start']} ({phase['split'][treated]:.0%} {_text(treated)}, "
            f"sample ratio p = {shown})"
        )
    lines = ["Stages: " + "; ".join(parts)]
    primary = verdict.get("primary") or {}
    pooled = (verdict.get("pooled") or {}).get(primary.get("name"), {})
    if pooled.get("shown"):
        style = formats.style_of_json(primary)
        lines.append(
            f"Pooled over stages {_text(primary['name'])} would read "
            f"{formats.change(style, pooled.get('effect'), group=pooled.get('ci') or ())}; "
            "the stratified estimate compares within stages, so drift over the launch is "
            "not read as an effect"
        )
    return lines


def cell(number: int, section: str | None) -> str:
    """A notebook cell in words: its number counting from 1 (papermill's error notes aside)
    and the heading of the section it is in.

    Examples:
        >>> cell(23, "More from the team")
        'cell 23 (counting from 1, in the section "More from the team")'
    """
    if section:
        return f'cell {number} (counting from 1, in the section "{section}")'
    return f"cell {number} (counting from 1)"


def failed_section(entry: dict[str, Any], *, inert: bool = False) -> str:
    """A failed team section of verdict.json's ``sections_failed`` in words: where it is and
    its error's first line (``inert``: the section's and the error's words made inert for
    Slack, as verdict.md's are)."""
    text = _text if inert else str
    number = entry.get("number") or int(entry["cell"]) + 1
    section = entry.get("section")
    error = str(entry.get("evalue", "")).strip()
    first = error.splitlines()[0] if error else ""
    words = f"{cell(number, text(section) if section else None)}: {text(entry['ename'])}"
    return f"{words}: {text(first)}" if first else words


def markdown(verdict: dict[str, Any], report_file: str, *, report_url: str | None = None) -> str:
    """The verdict in a few lines of Slack-flavoured markdown, ending with the report link."""
    title = _text(verdict.get("title") or verdict["spec_id"])
    kind = "final review" if verdict.get("final") else "interim review"
    if verdict.get("monitoring"):
        kind = "monitoring run"
    lines = [
        f"*{title}*: {verdict['checkpoint']} {kind}: *{OUTCOMES[verdict['outcome']]}* "
        f"(action: {_text(verdict['action'])})"
    ]
    primary = verdict.get("primary")
    if primary:
        lines += _primary(verdict, primary)
    adoption = verdict.get("adoption")
    if adoption:
        shares = ", ".join(
            f"{adoption[step]:.1%} {words}"
            for step, words in (
                ("exposed", "saw it"),
                ("tried", "tried it"),
                ("repeat", "came back"),
            )
            if adoption.get(step) is not None
        )
        diagnosis = DIAGNOSES.get(adoption["diagnosis"], _text(adoption["diagnosis"]))
        state = "every threshold met" if adoption["met"] else f"short: {diagnosis}"
        lines.append(f"Adoption of {adoption['eligible']:,} eligible: {shares}; {state}")
        if not adoption["met"] and adoption["diagnosis"] in STEPS:
            lines.append(f"The step to fix: {STEPS[adoption['diagnosis']]}")
    guardrails = verdict.get("guardrails") or []
    if guardrails:
        states = "; ".join(f"{_text(g['name'])} {_status(g)}" for g in guardrails)
        lines.append(f"Guardrails: {states}")
    lines += _segments(verdict)
    lines += _stages(verdict)
    lines += _registration(verdict)
    lines += [
        f"⚠ A team section failed: {failed_section(entry, inert=True)}. The verdict stands; "
        "the report shows the block"
        for entry in verdict.get("sections_failed") or []
    ]
    run = verdict.get("run") or {}
    if run.get("data_source_override"):
        lines.append(
            f"Data read from {_text(run['data_source_override'])}, given instead of the spec's "
            f"data.source (fingerprint {_text(str(run.get('data_fingerprint', ''))[:12])})"
        )
    why = (
        verdict["reasons"][0]
        if verdict["outcome"] == "invalid" and verdict.get("reasons")
        else None
    )
    # the report's flags (a failed check short of invalid): the message reads no cleaner
    lines += [
        f"! {_text(check['detail'])}"
        for check in verdict.get("checks") or []
        if not check.get("passed")
        and check.get("name") != "registration"  # lines above
        and check.get("detail") != why
    ]
    if why is not None:
        lines.append(f"Why: {_text(why)}")
    if verdict.get("next_review") and verdict["outcome"] not in ("ship", "revert"):
        due = str(run.get("today") or "") >= verdict["next_review"]
        lines.append(
            f"Next review: {verdict['next_review']}"
            + (", due now (its date has passed)" if due else "")
        )
    lines.append(f"Report: {report_link(verdict, report_file, report_url)}")
    return "\n".join(line for line in lines if line)
