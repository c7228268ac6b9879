"""One adoption review (design: adoption): the funnel against its pre-registered thresholds.

What the adoption template's cells call::

    result = adoption_review.run("specs/demo-adoption.yaml", checkpoint="56d", today="2026-11-26")
    result.verdict.outcome      # "iterate"
    result.to_json()            # the verdict.json payload, with "primary": null

The outcome is ship when every threshold is met, otherwise (at the final review) iterate with
the diagnosis as the reason: which step of the funnel falls short.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from impact import adoption, registry, seal
from impact.adoption import AdoptionResult
from impact.payload import checks_json, clean, payload_head, run_json
from impact.review import (
    parse_today,
    prepare,
    registration_check,
)
from impact.spec import LaunchSpec
from impact.verdict import Check, Look, Verdict, decide_adoption

__all__ = ["AdoptionReview", "run"]


@dataclass(frozen=True)
class AdoptionReview:
    """Everything an adoption review found, ready for display and for verdict.json."""

    spec: LaunchSpec
    look: Look
    today: dt.date
    adoption: AdoptionResult
    checks: list[Check]
    registration: registry.Registration
    verdict: Verdict
    newest_event: dt.datetime
    data_fingerprint: str
    started_at: dt.datetime
    seconds: float

    def to_json(self) -> dict[str, Any]:
        """The verdict.json payload (schema ``impact/schemas/verdict.v1.json``)."""
        payload = {
            **payload_head(self.spec, self.look, self.verdict),
            "primary": None,
            "guardrails": [],
            "secondary": [],
            "checks": checks_json(self.checks),
            "adoption": self.adoption.to_json(),
            "registration": self.registration.to_json(),
            "data": {
                "units": {"eligible": self.adoption.funnel.eligible},
                "newest_event": self.newest_event.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            "run": run_json(self.data_fingerprint, self.started_at, self.seconds, self.today),
        }
        return clean(payload)


def run(
    spec_path: str,
    checkpoint: str | None = None,
    today: str | dt.date | None = None,
    data_source: str | None = None,
    *,
    clock: dt.datetime | None = None,
) -> AdoptionReview:
    """Run one adoption review (the arguments are those of ``review.run``)."""
    started_at = clock or dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    prepared = prepare(spec_path, checkpoint, today, data_source)
    spec, look, source, newest, registration, *_ = prepared
    try:
        found = adoption.measure(source, spec, look.as_of, spec.decision.alpha)
        fingerprint = source.fingerprint()
    finally:
        source.close()
    checks = [registration_check(spec, registration)]
    floor = spec.decision.min_units
    too_little = (
        f"too little data: {found.funnel.eligible} eligible units, fewer than min_units ({floor})"
        if found.funnel.eligible < floor
        else None
    )
    verdict = decide_adoption(
        spec, look, found.funnel.met, adoption.sentence(found), checks, too_little
    )
    result = AdoptionReview(
        spec=spec,
        look=look,
        today=parse_today(today),
        adoption=found,
        checks=checks,
        registration=registration,
        verdict=verdict,
        newest_event=newest,
        data_fingerprint=fingerprint,
        started_at=started_at,
        seconds=time.perf_counter() - started,
    )
    seal.record(spec_path, checkpoint, today, data_source, result.to_json())
    return result
