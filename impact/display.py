"""The report's sections as notebook templates show them: one import for every template.

Each function returns an :class:`HTMLBlock` that Jupyter shows as HTML (or ``None`` where the
review has nothing for that section); :func:`payload` is the verdict the runner reads. The
blocks themselves live in :mod:`impact.report`, one module per part of the page.
"""

from __future__ import annotations

from impact.report.adoption import adoption
from impact.report.bet import bet
from impact.report.blocks import HTMLBlock, Payload
from impact.report.card import contents, verdict_card
from impact.report.evidence import data_summary, methods, payload, provenance
from impact.report.prepost import model_checks, observational
from impact.report.segments import segments, stages
from impact.report.tables import criteria, guardrails, primary, secondary

__all__ = [
    "HTMLBlock",
    "Payload",
    "adoption",
    "bet",
    "contents",
    "criteria",
    "data_summary",
    "guardrails",
    "methods",
    "model_checks",
    "observational",
    "payload",
    "primary",
    "provenance",
    "secondary",
    "segments",
    "stages",
    "verdict_card",
]
