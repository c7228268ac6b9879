"""The commented launch spec that ``impact new`` writes.

Every field is explained in one line. Values to decide are placeholders of the form
``<fill in: ...>``; the spec does not validate until each is replaced.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from impact.errors import SpecError

__all__ = ["DESIGNS", "PLACEHOLDER", "render", "write"]

DESIGNS = ("experiment", "prepost", "adoption")
PLACEHOLDER = "<fill in"
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")

_EXPERIMENT = """\
# Launch spec for {id}: what success means, written before launch.
# Fill in every <fill in: ...>, check with `impact validate {file}`, then freeze it with
# `impact register {file}` before the launch date. Field reference: docs/spec.md
# yaml-language-server: $schema=impact-spec.schema.json
spec_version: 1
id: {id}                               # names the output folders: lower-case, digits, dashes
title: "<fill in: what launches, in a few words>"
owner: "<fill in: who answers for this launch, e.g. maria@example.com>"
hypothesis:                            # We believe that [users] [problem] and that [solution] will produce [result].
  users: "<fill in: who, e.g. mobile shoppers>"
  problem: "<fill in: what goes wrong for them today>"
  solution: "<fill in: what we launch>"
  result: "<fill in: the measurable change we expect, e.g. +2pp checkout conversion in 14 days>"
launch_date: {launch}                  # the day it launches (UTC); four weeks from today until you set it
design: experiment                     # an A/B test with a control arm
reviews: [28d, 56d]                    # checkpoints after launch; the last is final
data:
  source: ../data/{id}                 # a folder of Parquet/CSV files or a .duckdb file, relative to this spec
  units: units                         # table with unit_id, variant, exposed_at (one row per unit)
  events: events                       # table with unit_id, event, ts [, value]
  # columns: {{unit_id: user_id}}        # rename your columns to the contract's names
  control: control                     # the control arm's name in the variant column
  split: {{control: 0.5, treatment: 0.5}}  # planned share of units per arm (two arms, summing to 1)
  # start: {launch}                    # analyse only units exposed from this day (after a ramp)
  # segment: "platform = 'ios'"        # a condition on the units table (docs/spec.md)
# segments: [platform]                 # effects per value of these unit columns, registered now
# rollout:                             # a staged release: each stage's first day and split
#   - {{start: {launch}, split: {{control: 0.9, treatment: 0.1}}}}
#   - {{start: <a later day>, split: {{control: 0.5, treatment: 0.5}}}}   # then leave data.split out
metrics:
  primary:                             # the one metric that decides
    name: "<fill in: metric name, e.g. checkout_conversion>"
    kind: proportion                   # proportion (share of units with the event) or mean (per-unit value)
    event: "<fill in: the event counted, e.g. purchase>"
    window: 14d                        # events count from exposure until this long after it
    baseline: "<fill in: today's value in the control, e.g. 0.32>"
    target: "<fill in: the smallest change worth it, e.g. +0.02 or +6%>"
    direction: increase                # which way is good: increase or decrease
  guardrails:                          # must not get worse by more than their margin
    - name: "<fill in: e.g. refund_rate>"
      kind: proportion
      event: "<fill in: e.g. refund>"
      window: 14d
      direction: decrease              # which way is good
      margin: "<fill in: how far it may move the harmful way, e.g. +0.005>"
  secondary: []                        # watched, never deciding, e.g. {{name: revenue_per_user, kind: mean, event: purchase, value: sum, window: 14d, direction: increase}}
decision:
  alpha: 0.05                          # two-sided level of each review
  power: 0.80                          # power the target is planned for
  srm_alpha: 0.001                     # sample-ratio mismatch below this makes the verdict invalid
  min_units: 30                        # per arm; fewer is "too little data"
  on_success: ship                     # the words shown for each outcome
  on_failure: revert
  on_no_effect: revert                 # when the target is ruled out at the final review: revert or iterate
  on_inconclusive: iterate
"""

_PREPOST = """\
# Launch spec for {id}: what success means, written before launch.
# A prepost review: the launch goes to everyone, so each daily series is compared with a
# forecast from the days before launch. Fill in every <fill in: ...>, check with
# `impact validate {file}`, then freeze it with `impact register {file}` before the launch
# date. Field reference: docs/spec.md (design: prepost)
# yaml-language-server: $schema=impact-spec.schema.json
spec_version: 1
id: {id}                               # names the output folders: lower-case, digits, dashes
title: "<fill in: what launches, in a few words>"
owner: "<fill in: who answers for this launch, e.g. sam@example.com>"
hypothesis:                            # We believe that [users] [problem] and that [solution] will produce [result].
  users: "<fill in: who, e.g. shoppers comparing prices>"
  problem: "<fill in: what goes wrong for them today>"
  solution: "<fill in: what we launch>"
  result: "<fill in: the measurable change we expect, e.g. +3% orders per day>"
launch_date: {launch}                  # the day it launches to everyone (UTC); four weeks from today until you set it
design: prepost                        # no control group: a modelled counterfactual
reviews: [28d, 56d]                    # checkpoints after launch; the last is final
data:
  source: ../data/{id}                 # a folder of Parquet/CSV files or a .duckdb file, relative to this spec
  series: daily                        # one row per day: date and one numeric column per series
  # columns: {{date: day}}               # rename your date column
  # pre_period: 365d                   # fit on this much history (default: all of it)
metrics:
  primary:                             # the one series that decides
    name: "<fill in: metric name, e.g. orders>"
    column: "<fill in: its column in the daily table, e.g. orders>"
    controls: []                       # columns the launch cannot move (a market index, another product), chosen now
    seasonality: 7d                    # weekly pattern; remove for none
    # trend: true                      # add a trend when the series grows or shrinks steadily
    flow: true                         # the series adds up over days (orders, revenue): report the cumulative effect
    target: "<fill in: the smallest change per day worth it, e.g. +3% or +25>"
    direction: increase                # which way is good: increase or decrease
  guardrails: []                       # e.g. {{name: refund_rate, column: refunds_per_100_orders, direction: decrease, margin: +0.5}}
  secondary: []
decision:
  alpha: 0.05                          # two-sided level, split between the reviews
  on_success: ship                     # the words shown for each outcome
  on_failure: revert
  on_no_effect: iterate                # when the target is ruled out at the final review: revert or iterate
  on_inconclusive: iterate
"""

_ADOPTION = """\
# Launch spec for {id}: what adoption success means, written before launch.
# An adoption review: who found the feature, who tried it, who came back. Fill in every
# <fill in: ...>, check with `impact validate {file}`, then freeze it with
# `impact register {file}` before the launch date. Field reference: docs/spec.md (adoption)
# yaml-language-server: $schema=impact-spec.schema.json
spec_version: 1
id: {id}                               # names the output folders: lower-case, digits, dashes
title: "<fill in: what launches, in a few words>"
owner: "<fill in: who answers for this launch, e.g. lee@example.com>"
hypothesis:                            # We believe that [users] [problem] and that [solution] will produce [result].
  users: "<fill in: who the feature is for>"
  problem: "<fill in: what goes wrong for them today>"
  solution: "<fill in: what we launch>"
  result: "<fill in: the adoption we expect, e.g. 30% try it within 8 weeks>"
launch_date: {launch}                  # the day it launches (UTC); four weeks from today until you set it
design: adoption                       # no variants: the funnel against its thresholds
reviews: [28d, 56d]                    # checkpoints after launch; the last is final
data:
  source: ../data/{id}                 # a folder of Parquet/CSV files or a .duckdb file, relative to this spec
  units: units                         # everyone the feature is for: unit_id [, attributes], one row per unit
  events: events                       # table with unit_id, event, ts [, value]
  # segment: "platform = 'ios'"        # a condition on the units table (docs/spec.md)
adoption:
  feature_event: "<fill in: the event of using the feature, e.g. used_search_filters>"
  # exposure_event: saw_filters_button # the entry point was on screen: tells discoverability from communication
  repeat_weeks: 2                      # recurrent = used in at least this many distinct weeks
  thresholds:                          # shares of eligible units, decided now
    # exposed: 0.5                     # with an exposure_event
    tried: "<fill in: share who should try it, e.g. 0.3>"
    repeat: "<fill in: share who should come back, e.g. 0.15>"
  # breakdown: platform                # the funnel per value of this units column
decision:
  min_units: 30                        # fewer eligible units is "too little data"
  on_success: ship                     # the words shown for each outcome
  on_inconclusive: iterate             # the words shown when a threshold is missed
"""


def render(spec_id: str, *, design: str, today: dt.date, file_name: str) -> str:
    """The commented spec text for a new launch (launch date four weeks from today)."""
    if design not in DESIGNS:
        raise SpecError(f"--design {design} is not a design; use experiment, prepost or adoption")
    if not _SLUG.match(spec_id):
        raise SpecError(
            f'--id "{spec_id}" is not a valid id; use lower-case letters, digits and dashes, '
            "such as one-page-checkout"
        )
    launch = today + dt.timedelta(days=28)
    template = {"prepost": _PREPOST, "adoption": _ADOPTION}.get(design, _EXPERIMENT)
    return template.format(id=spec_id, launch=launch.isoformat(), file=file_name)


def write(folder: Path, spec_id: str, *, design: str, today: dt.date) -> Path:
    """Write ``<folder>/<id>.yaml``; refuse to overwrite an existing file."""
    path = folder / f"{spec_id}.yaml"
    text = render(spec_id, design=design, today=today, file_name=str(path))
    if path.exists():
        raise SpecError(f"{path}: exists already; choose another --id or edit that spec")
    folder.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as handle:
        handle.write(text)
    return path
