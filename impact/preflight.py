"""A review's checks before its notebook runs, started ahead of the notebook stack's imports.

``impact review`` checks the spec and the data before any notebook runs, so that bad input
exits 2 without one (``review.prepare``, ``prepost.prepare``). ``start`` runs those checks on
a helper thread (``impact.ahead``) and, once they pass, the metric query of an experiment
reviewed in this process, while the main thread imports papermill and nbconvert and builds
the report's exporter. The runner takes the checks' result (their errors are
raised there, as before) and hands it to the notebook (``impact.handover``), whose review
takes the metric table (``review.Prepared.metric_table``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from impact import metrics, prepost, publish
from impact import review as review_module
from impact import spec as spec_module
from impact.ahead import Ahead
from impact.looks import Look
from impact.spec import LaunchSpec

__all__ = ["Checked", "start"]


class Checked(NamedTuple):
    """The checked inputs of a review.

    Attributes:
        spec: the launch spec.
        look: the look being reviewed.
        checked: what the notebook takes over (``review.Prepared`` or ``prepost.Prepared``).
        close: releases ``checked`` (its data source, its query running ahead) when no
            notebook takes it.
    """

    spec: LaunchSpec
    look: Look
    checked: object
    close: Callable[[], None]


def start(
    spec_path: str,
    checkpoint: str | None,
    day: dt.date,
    data_source: str | None,
    output: Path,
    *,
    metrics_ahead: bool,
) -> Ahead[Checked]:
    """Start the checks of a review on a helper thread.

    Args:
        spec_path, checkpoint, day, data_source: the review's (see ``runner.review``).
        output: where earlier looks' verdicts are published (their boundaries).
        metrics_ahead: once the checks pass, also run an experiment's metric query ahead
            (only when the notebook runs in this process and takes the checked inputs over).
    """
    return Ahead(
        lambda: _checked(spec_path, checkpoint, day, data_source, output, metrics_ahead),
        name="impact-checks",
        release=lambda found: found.close(),
    )


def _nothing() -> None:
    pass


def _checked(
    spec_path: str,
    checkpoint: str | None,
    day: dt.date,
    data_source: str | None,
    output: Path,
    metrics_ahead: bool,
) -> Checked:
    if spec_module.load(spec_path).design == "prepost":
        series = prepost.prepare(spec_path, checkpoint, day, data_source)
        source = series.source
        return Checked(
            series.spec, series.look, series, source.close if source is not None else _nothing
        )
    prepared = review_module.prepare(spec_path, checkpoint, day, data_source, output_dir=output)
    publish.fault("checks", prepared.spec.id)  # tests pause here to send a signal
    if metrics_ahead and prepared.spec.design == "experiment":
        source, spec, as_of = prepared.source, prepared.spec, prepared.look.as_of
        try:
            query = Ahead(lambda: metrics.compute(source, spec, as_of), name="impact-metrics")
        except BaseException:
            source.close()
            raise
        prepared = prepared._replace(metrics_ahead=query)

    def close() -> None:
        if prepared.metrics_ahead is not None:
            prepared.metrics_ahead.abandon()
        prepared.source.close()

    return Checked(prepared.spec, prepared.look, prepared, close)
