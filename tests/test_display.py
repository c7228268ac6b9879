"""HTML blocks: exact markup for the building blocks, escaping for everything from a spec."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from conftest import DEMO_SPEC

from impact import demo, display, plots, review
from impact.report import blocks
from impact.verdict import MIME_TYPE

BOLD = "white-space:nowrap;font-weight:600"
NOTE = "color:#555;font-size:0.88rem"


def test_table_markup_is_exact_and_escaped() -> None:
    table = blocks._table(["metric", "effect"], [["<b>x</b>", "+1.00 pp"]], numeric={1})
    assert display.HTMLBlock(table)._repr_html_() == (
        '<div class="impact-scroll" role="region" tabindex="0" '
        'aria-label="table (scrolls sideways on a narrow screen)" '
        'style="overflow-x:auto;max-width:100%">'
        '<table class="impact-table"><thead><tr><th scope="col">metric</th><th scope="col">effect</th></tr>'
        '</thead><tbody><tr><td>&lt;b&gt;x&lt;/b&gt;</td><td class="num" style="text-align:right;'
        'font-variant-numeric:tabular-nums;white-space:nowrap">+1.00 pp</td></tr>'
        "</tbody></table></div>"
    )


def test_a_wide_table_stacks_on_a_phone_with_each_cell_labelled() -> None:
    wide = blocks._table(["a", blocks._term("CI"), "c", "d"], [list("1234")], numeric={1})
    assert wide.get("class") == "impact-scroll"
    table = wide.find("table")
    assert table is not None and table.get("class") == "impact-table impact-stack"
    assert [td.get("data-label") for td in table.iter("td")] == ["a", "CI", "c", "d"]
    assert "td::before { content: attr(data-label)" in blocks.STYLE
    narrow = blocks._table(list("abc"), [list("123")], numeric=set()).find("table")
    assert narrow is not None and narrow.get("class") == "impact-table"
    assert all(td.get("data-label") is None for td in narrow.iter("td"))


@pytest.mark.parametrize(
    ("status", "markup"),
    [
        (
            "target_met",
            f'<span><span class="status" style="{BOLD}">✔ improved</span><span class="note" style="{NOTE}">: the interval '
            "excludes 0 and reaches the target</span></span>",
        ),
        (
            "breach",
            f'<span><span class="status" style="{BOLD}">✖ breached</span><span class="note" style="{NOTE}">: the interval is '
            "on the harmful side and the estimate beyond the margin</span></span>",
        ),
        (
            "unclear",
            f'<span><span class="status" style="{BOLD}">? unclear</span><span class="note" style="{NOTE}">: harm beyond the '
            "margin is not ruled out</span></span>",
        ),
    ],
)
def test_status_markup(status: str, markup: str) -> None:
    assert display.HTMLBlock(blocks._status(status))._repr_html_() == markup


def test_payload_bundle() -> None:
    bundle = display.Payload({"outcome": "ship"})._repr_mimebundle_()
    assert bundle == {MIME_TYPE: {"outcome": "ship"}, "text/plain": "impact verdict: ship"}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> review.ReviewResult:
    root = tmp_path_factory.mktemp("hostile")
    demo.generate(root / "data" / "demo", units=3000)
    (root / "specs").mkdir()
    document = yaml.safe_load(DEMO_SPEC.read_text())
    document["title"] = "<script>alert('title')</script>"
    document["owner"] = '"><img src=x onerror=alert(1)>'
    document["hypothesis"]["users"] = "<b>bold</b> users"
    document["metrics"]["primary"]["description"] = "<iframe src='http://example.com'>"
    spec = root / "specs" / "hostile.yaml"
    spec.write_text(yaml.safe_dump(document))
    return review.run(str(spec), today="2026-11-26")


def test_every_block_escapes_spec_strings(hostile: review.ReviewResult) -> None:
    blocks = [
        display.verdict_card(hostile),
        display.criteria(hostile),
        display.primary(hostile),
        display.guardrails(hostile),
        display.secondary(hostile),
        display.data_summary(hostile),
        display.methods(hostile),
    ]
    markup = "".join(block._repr_html_() for block in blocks)
    assert "<script" not in markup and "<img" not in markup and "<iframe" not in markup
    assert "<b>bold" not in markup
    assert "&lt;script&gt;alert('title')&lt;/script&gt;" in markup
    assert "&lt;iframe" in markup


def test_chart_embeds_an_svg_with_alt_text(hostile: review.ReviewResult) -> None:
    chart = plots.effects(hostile)
    markup = chart.html()
    assert markup.startswith('<figure class="impact-figure"')
    assert 'src="data:image/svg+xml;base64,' in markup
    assert "checkout_conversion (primary)" in chart.alt
    assert chart.svg.startswith("<svg ")
    assert set(chart._repr_mimebundle_()) == {"text/html", "text/plain"}


def test_a_team_chart_embeds_its_matplotlib_figure_as_a_png() -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 1))
    figure.subplots().set_title("<b>units</b>", fontsize=9)
    chart = plots.Chart(figure, 'units "per" <day>')
    assert chart.png().startswith(b"\x89PNG")
    markup = chart.html()
    assert 'src="data:image/png;base64,' in markup
    assert 'alt="units &quot;per&quot; &lt;day&gt;"' in markup
    assert 'data-smallest-text="13.8"' in markup  # 9 points at 110 dpi


def test_demo_spec_shipped_with_the_package_is_the_repository_one() -> None:
    shipped = Path(demo.__file__).parent / "specs" / "demo-checkout.yaml"
    assert shipped.read_text() == DEMO_SPEC.read_text()


def _text(block: display.HTMLBlock) -> str:
    return "".join(block.element.itertext())


def test_the_card_leads_with_baseline_change_target_n_and_dates(
    hostile: review.ReviewResult,
) -> None:
    card = display.verdict_card(hostile)
    comparison = hostile.primary.comparison
    n = hostile.table.metrics["checkout_conversion"]
    lead = card.element.find(".//*[@class='impact-lead']")
    assert lead is not None
    words = "".join(lead.itertext())
    assert f"{comparison.control:.1%} → {comparison.treatment:.1%}" in words
    assert f"{comparison.effect * 100:+.2f} pp" in words
    assert f"({comparison.relative_effect * 100:+.1f}%)" in words
    assert "target +2.00 pp" in words
    assert f"{n.control.n:,} control" in words and f"{n.treatment.n:,} treatment" in words
    assert "launched 2026-09-01" in words and "data up to 2026-10-26" in words
    level = f"{(1 - comparison.alpha) * 100:.3g}%"
    assert f"{level} because this is the second of two looks" in _text(card)
    # Found by a new user: "Intervals are 95% because this is the second of two looks ...
    # each look asks for more than one alone would", where one look alone asks for 95%.
    nearly = dataclasses.replace(hostile, look=dataclasses.replace(hostile.look, alpha=0.04996))
    assert blocks._level_words(nearly) == (
        "Intervals are 95.00%, this the second of two looks: the 5% chance of a false alarm is "
        "shared between the looks, and the earlier ones spent almost none of it (little had "
        "matured), so this look's level is nearly one look's 95%."
    )
    markup = card._repr_html_()
    assert '<abbr title="confidence interval' in markup
    assert "within reach" not in markup


def test_terms_are_explained_where_they_appear(hostile: review.ReviewResult) -> None:
    markup = "".join(
        block._repr_html_()
        for block in (
            display.criteria(hostile),
            display.primary(hostile),
            display.secondary(hostile),
        )
    )
    for term in ("CI", "pp", "CUPED", "q (BH)"):
        assert f">{term}</abbr>" in markup, term


def test_empty_sections_are_left_out_with_their_contents_link(
    hostile: review.ReviewResult,
) -> None:
    assert display.adoption(hostile) is None  # the demo checkout registers no adoption block
    links = display.contents(hostile).element.findall(".//a")
    assert [a.get("href") for a in links] == [
        "#Primary-metric",
        "#Guardrails",
        "#Secondary-metrics",
        "#The-data-behind-it",
        "#Methods-and-assumptions",
        "#Provenance",
    ]
    guardrails = display.guardrails(hostile)
    assert guardrails is not None
    assert guardrails.element.find("h2").get("id") == "Guardrails"


def test_blocks_read_without_a_style_sheet_or_html(hostile: review.ReviewResult) -> None:
    card = display.verdict_card(hostile)
    frame = card.element.find(".//*[@aria-label='verdict']")
    assert frame is not None and "border:3px solid #555" in frame.get("style", "")
    text = repr(card)
    assert "object at 0x" not in text and "<div" not in text and "<span" not in text
    assert text.splitlines()[0] == "<script>alert('title')</script>"  # the title, as text
    assert text.splitlines()[1] in {"✔ Ship", "↻ Iterate", "… Keep running"}
    assert "checkout_conversion:" in text and "→" in text
    table = repr(display.criteria(hostile))
    assert "metric | role | pre-registered | observed" in table


def test_the_weeks_say_why_each_is_below_the_headline(hostile: review.ReviewResult) -> None:
    text = _text(display.primary(hostile))
    whole = hostile.analyses["checkout_conversion"].unadjusted
    assert whole.control is not None and whole.effect is not None
    weeks = [f"{week.control:.1%}" for week in hostile.weeks if week.control is not None]
    assert len(weeks) == 2
    below = all(abs(week.effect or 0) < abs(whole.effect) for week in hostile.weeks)
    lead = "Why each week's effect is below the" if below else "How the weeks relate to the"
    assert f"{lead} {whole.effect * 100:+.2f} pp (" in text
    assert "over the whole 14-day window: a week counts a unit with purchase in that week" in text
    assert f"the control's weekly rates ({weeks[0]} and {weeks[1]}) are each below its " in text
    assert f"14-day rate ({whole.control:.1%} before CUPED)" in text
    assert "holds only the last" not in text  # two full weeks


AMENDMENT = {
    "number": 1,
    "at": "2026-10-30T09:00:00Z",
    "reason": "the first weeks showed a smaller effect",
    "after_launch": True,
    "deciding_fields": ["metrics.guardrails[refund_rate].margin", "metrics.primary.target"],
    "changes": [
        {"field": "metrics.guardrails[refund_rate].margin", "old": "0.005", "new": "0.008"},
        {"field": "metrics.primary.target", "old": "0.02", "new": "0.01"},
    ],
    "when": "after the 56d review",
}


def test_criteria_amended_after_launch_are_not_called_pre_registered(
    hostile: review.ReviewResult,
) -> None:
    """Found by a new user: a target lowered after the data were in stood in the column
    'pre-registered'."""
    registration = dataclasses.replace(hostile.registration, amendments=[AMENDMENT])
    amended = dataclasses.replace(hostile, registration=registration)
    rows = display.criteria(amended).element.findall(".//tbody/tr")
    cells = {"".join(row[0].itertext()): "".join(row[2].itertext()) for row in rows}
    assert "⚠ amended after launch (amendment 1): target was 0.02" in cells["checkout_conversion"]
    assert "⚠ amended after launch (amendment 1): margin was 0.005" in cells["refund_rate"]
    assert "amended" not in cells["support_contact_rate"]
    assert "amended" not in _text(display.criteria(hostile))
