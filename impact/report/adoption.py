"""The adoption section: who was eligible, exposed, tried and kept using the feature."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from impact import adoption as adoption_module
from impact import formats, message
from impact.adoption_review import AdoptionReview
from impact.report.blocks import MISSING, HTMLBlock, Reviewed, _and, _el, _heading, _root, _table
from impact.sources import postgres
from impact.stats.adoption import Share

ADOPTION_METHODS = [
    "Eligible: the units table's units inside data.segment (in an experiment, the treatment "
    "arm's units of the review). Exposed, tried: units with the exposure or feature event at "
    "or after 00:00 UTC of the launch date and before as_of. Repeat: units with the feature "
    "event in at least repeat_weeks distinct weeks, a week being seven days counted from the "
    "launch date. Shares are of eligible units, with Wilson intervals.",
    "Met: every share at or above its threshold. Diagnosis: the first step whose share of "
    "eligible units falls short of its own threshold, the same comparison as met (exposed "
    "against thresholds.exposed: discoverability; tried against thresholds.tried: "
    "communication; repeat against thresholds.repeat: value), so met and no diagnosis always "
    "agree. Without an exposure event, discoverability and communication cannot be told "
    "apart.",
    "Retention is a landmark comparison: among units active in week 1 (any event but the "
    "feature and exposure events), adopters tried the feature in week 1, and each group's "
    "share active in each later week is compared (difference of shares, unpooled normal "
    "interval). Fixing the groups at week 1 avoids immortal-time bias (a unit that stays "
    "longer has more time to try the feature). It is an association: people who try a "
    "feature early differ from those who do not.",
    "Difference in differences (with data.pre_period and an event primary metric): each "
    "unit's weekly primary metric after week 1 minus its weekly mean over the pre-period, "
    "adopters against the others (Welch); the pre-trend check is the same comparison between "
    "the pre-period's two halves. Observational: it assumes the groups would have moved in "
    "parallel without the feature.",
]


def _share(value: Share | None) -> str:
    return MISSING if value is None or value.value is None else f"{value.value:.1%}"


def _share_interval(value: Share | None) -> str:
    if value is None or value.lower is None or value.upper is None:
        return MISSING
    return f"{value.lower:.1%} to {value.upper:.1%}"


def adoption(result: Reviewed) -> HTMLBlock | None:
    """The adoption funnel, its diagnosis, the breakdown, retention and the difference in
    differences, under a heading beside other designs (None without an adoption block)."""
    found = result.adoption
    if found is None:
        return None
    block, funnel = found.block, found.funnel
    limits = block.thresholds
    steps: list[tuple[str, Share | None, float | None]] = []
    if funnel.exposed is not None:
        steps.append(("exposed", funnel.exposed, limits.exposed))
    steps += [("tried", funnel.tried, limits.tried), ("repeat", funnel.repeat, limits.repeat)]
    rows: list[list[ET.Element | str]] = [
        ["eligible", f"{funnel.eligible:,}", "100%", MISSING, MISSING, MISSING]
    ]
    for name, step, threshold in steps:
        assert step is not None
        reached = step.value is not None and threshold is not None and step.value >= threshold
        rows.append(
            [
                name,
                f"{step.units:,}",
                _share(step),
                _share_interval(step),
                f"{threshold:.0%}" if threshold is not None else MISSING,
                _el(
                    "span",
                    f"{'✔ met' if reached else '✖ short'}: {_share(step)} of eligible "
                    f"against {threshold:.0%}"
                    if threshold is not None
                    else MISSING,
                    class_="status",
                ),
            ]
        )
    level = f"{(1 - result.spec.decision.alpha) * 100:.4g}% CI"
    parts: list[ET.Element | None] = [
        None if isinstance(result, AdoptionReview) else _heading("Adoption"),
        _el(
            "div",
            _el("strong", "Diagnosis: "),
            adoption_module.sentence(found) + ".",
            class_="impact-flag" if not funnel.met else "",
        ),
        _table(
            ["step", "units", "share of eligible", level, "threshold", "status"], rows, {1, 2, 3}
        ),
    ]
    if found.breakdown:
        parts.append(_el("h3", f"By {block.breakdown}"))
        parts.append(
            _table(
                [
                    str(block.breakdown),
                    "eligible",
                    "exposed",
                    "tried",
                    "repeat",
                    "what falls short",
                ],
                [
                    [
                        group.group or MISSING,
                        f"{group.eligible:,}",
                        _share(group.exposed),
                        _share(group.tried),
                        _share(group.repeat),
                        message.DIAGNOSES[group.diagnosis],
                    ]
                    for group in found.breakdown
                ],
                numeric={1, 2, 3, 4},
            )
        )
    retention = found.retention
    parts.append(_el("h3", "Do adopters come back? (association, not an effect)"))
    if retention.weeks:
        gap_weeks = _and([str(week) for week in adoption_module.GAP_WEEKS])
        parts.append(
            _el(
                "p",
                f"Among the {retention.adopters[0].total:,} adopters (tried in week 1) and "
                f"{retention.others[0].total:,} other units active in week 1, the share active "
                "in each later week. The gap (adopters minus others, with its interval) is "
                f"measured at weeks {gap_weeks} once each is whole, as verdict.json records "
                "it; other weeks show the shares alone. Those who try a feature early differ "
                "from those who do not, so a gap here is not what the feature caused.",
                class_="note",
            )
        )
        gap_rows: list[list[ET.Element | str]] = []
        for index, week in enumerate(retention.weeks):
            gap = retention.gaps.get(week)
            gap_rows.append(
                [
                    f"week {week}",
                    _share(retention.adopters[index]),
                    _share(retention.others[index]),
                    f"{gap.effect * 100:+.1f} pp" if gap and gap.effect is not None else MISSING,
                    f"{gap.ci_lower * 100:+.1f} to {gap.ci_upper * 100:+.1f} pp"
                    if gap and gap.ci_lower is not None and gap.ci_upper is not None
                    else MISSING,
                ]
            )
        parts.append(
            _table(
                ["week", "adopters active", "others active", "gap", level], gap_rows, {1, 2, 3, 4}
            )
        )
    else:
        parts.append(_el("p", "No whole week after week 1 yet.", class_="note"))
    if found.trend is not None:
        trend = found.trend
        change, pretrend = trend.change, trend.pretrend
        primary = result.spec.metrics.primary
        style = formats.of(primary) if primary is not None else formats.Style()
        bounds = (change.ci_lower, change.ci_upper)
        before = (pretrend.ci_lower, pretrend.ci_upper)
        parts.append(
            _el(
                "p",
                f"Difference in differences (observational): adopters' weekly {trend.metric} "
                f"changed by {formats.change(style, change.effect, group=bounds)} more than the "
                f"others' since launch ({level} {formats.interval(style, *bounds)}). "
                + (
                    "The groups moved in parallel before launch."
                    if trend.parallel
                    else "But their trends already differed before launch "
                    f"({formats.change(style, pretrend.effect, group=before)} a week, {level} "
                    f"{formats.interval(style, *before)}), so this difference is not credible."
                ),
                class_="note",
            )
        )
    elif found.trend_note:
        parts.append(_el("p", f"No difference in differences: {found.trend_note}.", class_="note"))
    return _root(*parts)


def _adoption_data(result: AdoptionReview) -> list[list[ET.Element | str]]:
    spec = result.spec
    block = result.adoption.block
    return [
        ["eligible units", f"{result.adoption.funnel.eligible:,}"],
        ["segment", spec.data.segment or "all units"],
        ["feature event", block.feature_event],
        ["exposure event", block.exposure_event or "none registered"],
        ["events counted from", f"{spec.launch_date} 00:00 UTC"],
        ["as_of (nothing at or after it is read)", f"{result.look.as_of:%Y-%m-%d %H:%M} UTC"],
        ["newest event read", f"{result.newest_event:%Y-%m-%d %H:%M} UTC"],
        ["data source", postgres.safe(spec.data.source)],
    ]
