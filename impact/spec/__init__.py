"""The launch spec: pydantic models of format v1, YAML loading and error messages.

A spec is loaded with :func:`load`; every problem becomes a :class:`~impact.errors.SpecError`
whose message names the file, the field path and what would be right, e.g.::

    specs/checkout.yaml: metrics.primary.target: "+2pp" is not a number or a percentage;
    write +0.02 or +6%

Numbers keep the sign the author wrote: ``target: +0.02`` (explicitly signed) and
``target: 0.02`` (a magnitude) are told apart, so a sign that contradicts ``direction`` is
caught rather than silently flipped.

The modules: :mod:`~impact.spec.fields` (durations, effects, names),
:mod:`~impact.spec.metric` (the metrics and their roles), :mod:`~impact.spec.model` (the
other models and the spec itself), :mod:`~impact.spec.yamlfile` (reading YAML safely),
:mod:`~impact.spec.validate` (load and the one-line messages); what ``impact validate``
prints is :mod:`impact.spec_summary`, above the number formats.
"""

from __future__ import annotations

from impact.errors import SpecError
from impact.spec.fields import SPEC_VERSION, Effect, format_duration, parse_duration
from impact.spec.model import (
    Adoption,
    Bet,
    DataSpec,
    Decision,
    Hypothesis,
    LaunchSpec,
    Metric,
    Metrics,
    Segment,
    Stage,
    Thresholds,
    json_schema,
)
from impact.spec.validate import from_dict, load
from impact.spec.yamlfile import MAX_BYTES, MAX_DEPTH, MAX_NODES, read_yaml

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "SPEC_VERSION",
    "Adoption",
    "Bet",
    "DataSpec",
    "Decision",
    "Effect",
    "Hypothesis",
    "LaunchSpec",
    "Metric",
    "Metrics",
    "Segment",
    "SpecError",
    "Stage",
    "Thresholds",
    "format_duration",
    "from_dict",
    "json_schema",
    "load",
    "parse_duration",
    "read_yaml",
]
