"""Where a review sits among the registered looks, and the level it may spend there.

The registered ``reviews`` are looks at one test: Lan-DeMets O'Brien-Fleming spending on the
information fraction (units whose primary metric has matured). Each look records its
boundaries in its verdict.json; a later look reads the earlier looks' boundaries from the
published verdicts and solves its own given them, so the looks together spend exactly alpha
whatever the accrual (docs/methods.md, docs/validation.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from pathlib import Path
from typing import Any, Literal

from impact import layout
from impact import spec as spec_module
from impact.errors import DataError
from impact.metrics import MetricTable
from impact.spec import LaunchSpec
from impact.stats import sequential
from impact.verdict import Look

__all__ = ["information_basis", "published_boundaries", "sequential_json", "sequential_look"]


def _default_output() -> Path:
    """Where a notebook run finds published verdicts without being told: the output folder
    of the run folder it runs in (``<output>/.impact-runs/<run>/``), else the current one."""
    here = Path.cwd()
    return here.parent.parent if here.parent.name == layout.RUNS_FOLDER else here


def published_boundaries(
    spec: LaunchSpec, look: Look, output_dir: str | Path | None = None
) -> tuple[float | None, ...]:
    """The boundary each earlier registered look used, read from its published verdict.json.

    One entry per registered review before this look: the z boundary recorded in that
    look's verdict.json (``sequential.boundaries``, or its level for verdicts written before
    boundaries were recorded); infinity when a checkpoint before this look was published
    (a monitoring run, another look) but not that one, so it never ran and spent nothing;
    None when nothing of the launch before this look is published under ``output_dir`` (a
    review run outside the runner), where the planned boundary is assumed, which is
    conservative. Only checkpoints before this look count as evidence, so a rerun of a look
    (whose own verdict.json is then published) reads the same boundaries as its first run.

    Raises:
        DataError: a published verdict.json cannot be read.
    """
    if not look.registered:
        return ()
    output = Path(output_dir) if output_dir is not None else _default_output()
    earlier = [days for days in spec.reviews if days < look.days]
    folder = output / "reports" / spec.id
    before = [
        path
        for path in (folder.glob("*d.json") if folder.is_dir() else [])
        if path.stem[:-1].isdigit() and int(path.stem[:-1]) < look.days
    ]
    if not before:
        return tuple(None for _ in earlier)
    used: list[float | None] = []
    for days in earlier:
        path = layout.verdict_path(output, spec.id, spec_module.format_duration(days))
        if not path.is_file():
            used.append(math.inf)
            continue
        try:
            published = json.loads(path.read_text(encoding="utf-8"))
            recorded = published.get("sequential") or {}
            bounds = recorded.get("boundaries")
            levels = recorded.get("levels") or []
            if bounds:
                used.append(math.inf if bounds[-1] is None else float(bounds[-1]))
            elif levels:
                used.append(sequential.boundary(float(levels[-1])))
            else:
                used.append(math.inf)  # no information at that look: nothing was tested
        except (OSError, ValueError, TypeError, AttributeError) as error:
            raise DataError(
                f"{path}: the published verdict of an earlier look cannot be read ({error}); "
                "its boundary decides this look's level. Restore it from its .history folder"
            ) from None
    return tuple(used)


def sequential_look(spec: LaunchSpec, look: Look, table: MetricTable) -> Look:
    """The look's level from Lan-DeMets O'Brien-Fleming spending on the information fraction.

    The information at a look is the number of units whose primary metric has matured by
    its as_of (its window, or ``matures_after``, has ended). At an interim look the final
    information is projected from the accrual so far (units exposed per day over the last
    week); at a later look every fraction is observed, and its boundary is solved given the
    boundaries the earlier looks actually used (``look.earlier``, read from their published
    verdicts; a look that never ran spends nothing; where nothing is published, the boundary
    the earlier look computed from its own projection), so the looks spend alpha in total
    whatever the accrual. A monitoring run (not a registered review) uses the spec's alpha
    and never decides.
    """
    if not look.registered:
        return look
    looks = [days for days in spec.reviews if days <= look.days]
    alpha = spec.decision.alpha
    used: list[float | None] = []
    for index in range(len(looks) - 1):
        known = look.earlier[index] if index < len(look.earlier) else None
        # as that look computed it, from the accrual it saw
        fractions = _fractions(spec, looks[: index + 1], table, final=False)
        planned = (
            math.inf
            if fractions is None
            else sequential.boundaries(fractions, alpha, [*used, None])[-1]
        )
        if known is None or math.isclose(known, planned, rel_tol=1e-9):
            known = planned  # the published boundary is the plan, up to verdict.json's rounding
        used.append(known)
    fractions = _fractions(spec, looks, table, final=look.final)
    if fractions is None:
        return look
    bounds = sequential.boundaries(fractions, alpha, [*used, None])
    levels = [sequential.level(c) for c in bounds]
    return dataclasses.replace(
        look,
        alpha=levels[-1],
        information=tuple(fractions),
        levels=tuple(levels),
        boundaries=tuple(bounds),
        basis=information_basis(spec, table),
    )


def information_basis(spec: LaunchSpec, table: MetricTable) -> Literal["units", "time"]:
    """What a look's information fraction counts: ``units`` (units whose primary metric has
    matured, from their exposure times or ``data.accrual_end``) or ``time`` (the look's share
    of the time to the final look, for data with neither)."""
    if not table.population.by_day and spec.data.accrual_end is None:
        return "time"
    return "units"


def _fractions(
    spec: LaunchSpec, looks: list[int], table: MetricTable, *, final: bool
) -> list[float] | None:
    """The information fraction of each of ``looks`` as seen at the last of them.

    Only units exposed before that look's as_of count, so an earlier look's fractions are
    those it computed. None when nothing has matured yet.
    """
    if information_basis(spec, table) == "time":
        # no exposure times, no accrual_end: units taken to arrive evenly until the final look
        fractions = [days / spec.reviews[-1] for days in looks]
        return fractions if final else [min(f, 0.99) for f in fractions]
    primary = spec.metrics.primary
    assert primary is not None
    window = dt.timedelta(days=primary.window or primary.matures_after or 0)
    today = spec.as_of(looks[-1]).date()
    per_day = {day: n for day, n in table.population.by_day.items() if day < today}

    def mature_by(days: int) -> int:
        cutoff = (spec.as_of(days) - window).date()
        if not table.population.by_day and spec.data.accrual_end is not None:
            # no exposure times: every unit has matured once accrual_end is a window old
            everyone = sum(table.population.units.values())
            return everyone if spec.data.accrual_end <= cutoff else 0
        return sum(n for day, n in per_day.items() if day < cutoff)

    observed = [mature_by(days) for days in looks]
    if final:
        total = float(observed[-1])
    else:
        final_cutoff = (spec.as_of(spec.reviews[-1]) - window).date()
        recent = [n for day, n in per_day.items() if day >= today - dt.timedelta(days=7)]
        rate = sum(recent) / 7
        remaining = max((final_cutoff - today).days, 0)
        total = sum(n for day, n in per_day.items() if day < final_cutoff) + rate * remaining
    if total <= 0 or observed[-1] == 0:
        return None
    # an interim look never spends all of alpha, and an earlier look stays one
    fractions = [min(max(n / total, 1e-6), 0.99) for n in observed]
    if final:
        fractions[-1] = 1.0
    for k in range(1, len(fractions)):
        fractions[k] = max(fractions[k], fractions[k - 1])
    return fractions


def sequential_json(spec: LaunchSpec, look: Look) -> dict[str, Any]:
    """verdict.json's ``sequential``: each look's information, level and boundary (null when
    it spends nothing), where each earlier look's boundary came from, and what the
    information counts (``look.basis``)."""
    # only looks whose boundaries were solved here (not prepost's split levels) have them
    earlier = [d for d in spec.reviews if d < look.days] if look.boundaries else []
    sources = []
    for index, days in enumerate(earlier):
        found = look.earlier[index] if index < len(look.earlier) else None
        source = "planned" if found is None else "not run" if math.isinf(found) else "published"
        used = look.boundaries[index] if index < len(look.boundaries) else found
        sources.append(
            {
                "checkpoint": spec_module.format_duration(days),
                "boundary": used if used is not None and math.isfinite(used) else None,
                "source": source,
            }
        )
    return {
        "information": list(look.information),
        "levels": list(look.levels),
        "boundaries": [c if math.isfinite(c) else None for c in look.boundaries],
        "earlier": sources,
        "information_basis": look.basis,
    }
