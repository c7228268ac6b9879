r"""verdict.md: a few lines for Slack or email, written from verdict.json alone.

Strings from the spec and the data are made inert for the chat and the Markdown renderers
the text is posted to (Slack, Teams, GitHub), and kept to one line each:

- control characters and bidirectional overrides are dropped (no terminal escape sequence
  or reordered text reaches a webhook);
- ``&``, ``<``, ``>`` are escaped as Slack requires, so ``<!channel>``, ``<@U123>`` and
  ``<https://...|text>`` stay text;
- Markdown's ``\ ` * ~ [ ] |`` and an ``_`` that could open or close emphasis are escaped
  with a backslash, so ``[text](https://...)`` is no link and ``*text*`` no formatting in
  Teams or GitHub (Slack shows those few backslashes);
- ``@`` before a name gets a word joiner (U+2060), so ``@channel`` or ``@team`` notifies
  no one.

Examples:
    >>> verdict = {"title": "Checkout", "spec_id": "checkout", "checkpoint": "56d",
    ...     "final": True, "outcome": "ship", "action": "ship", "next_review": None,
    ...     "primary": {"name": "conversion", "kind": "proportion", "status": "target_met",
    ...         "status_words": "improved: the interval excludes 0 and reaches the target",
    ...         "effect": 0.03, "ci": [0.02, 0.04], "alpha": 0.05, "target": "+0.02"},
    ...     "guardrails": [{"name": "refunds", "status": "ok"}]}
    >>> print(markdown(verdict, "56d.html"))  # doctest: +ELLIPSIS
    *Checkout*: 56d final review: *Ship* (action: ship)
    conversion: +3.00 pp (95% CI +2.00 pp to +4.00 pp), improved: ... reaches the target (...)
    Guardrails: refunds ok
    Report: 56d.html
    >>> verdict.update(primary=None, guardrails=[], outcome="iterate", action="iterate",
    ...     adoption={"eligible": 12000, "exposed": 0.62, "tried": 0.31, "repeat": 0.12,
    ...         "met": False, "diagnosis": "value"})
    >>> print(markdown(verdict, "56d.html"))
    *Checkout*: 56d final review: *Iterate* (action: iterate)
    Adoption of 12,000 eligible: exposed 62.0%, tried 31.0%, repeat 12.0% (short: value)
    Report: 56d.html
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["markdown"]

OUTCOMES = {
    "ship": "Ship",
    "iterate": "Iterate",
    "revert": "Revert",
    "keep_running": "Keep running",
    "invalid": "Invalid",
}


_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_MARKUP = re.compile(r"[\\`*~\[\]|]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_MENTION = re.compile(r"@(?=\w)")


def _text(value: object) -> str:
    r"""A spec's or the data's string, inert in Slack, Teams and GitHub Markdown.

    Examples:
        >>> _text("[Win](https://x.example) *now* @channel <!here>")
        '\\[Win\\](https://x.example) \\*now\\* @\u2060channel &lt;!here&gt;'
        >>> _text("\x1b[31m_red_ rev_per_user")
        '\\[31m_red\\_ rev_per_user'
    """
    text = " ".join(_INVISIBLE.sub(" ", str(value)).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKUP.sub(lambda match: "\\" + match.group(), text)
    return _MENTION.sub("@\u2060", text)


def _status(judged: dict[str, Any]) -> str:
    """What the status checked, as verdict.json words it (older verdicts: the code)."""
    words = judged.get("status_words") or str(judged["status"]).replace("_", " ")
    return _text(words)


def _number(kind: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 100:+.2f} pp" if kind == "proportion" else f"{value:+.4g}"


def markdown(verdict: dict[str, Any], report_link: str) -> str:
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
        low, high = primary["ci"]
        level = f"{(1 - primary['alpha']) * 100:.4g}% CI"
        interval = (
            f"{level} {_number(primary['kind'], low)} to {_number(primary['kind'], high)}"
            if low is not None and high is not None
            else "no interval"
        )
        lines.append(
            f"{_text(primary['name'])}: {_number(primary['kind'], primary['effect'])} "
            f"({interval}), {_status(primary)} "
            f"(target {_text(primary.get('target', ''))})"
        )
    adoption = verdict.get("adoption")
    if adoption:
        shares = ", ".join(
            f"{step} {adoption[step]:.1%}"
            for step in ("exposed", "tried", "repeat")
            if adoption.get(step) is not None
        )
        diagnosis = adoption["diagnosis"].replace("_", " ")
        state = "every threshold met" if adoption["met"] else f"short: {diagnosis}"
        lines.append(f"Adoption of {adoption['eligible']:,} eligible: {shares} ({state})")
    guardrails = verdict.get("guardrails") or []
    if guardrails:
        states = "; ".join(f"{_text(g['name'])} {_status(g)}" for g in guardrails)
        lines.append(f"Guardrails: {states}")
    if verdict["outcome"] == "invalid":
        lines.append(f"Why: {_text(verdict['reasons'][0])}" if verdict.get("reasons") else "")
    if verdict.get("next_review"):
        lines.append(f"Next review: {verdict['next_review']}")
    lines.append(f"Report: {report_link}")
    return "\n".join(line for line in lines if line)
