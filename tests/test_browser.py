"""The report in a real headless browser: Debian's chromium, driven by Playwright.

Nothing downloads a browser: Playwright is pointed at /usr/bin/chromium, which `make test`
installs when it is missing. Screenshots are kept in tests/artifacts/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from conftest import DEMO_SPEC, ROOT

from impact import demo, runner

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "tests" / "artifacts"
VIEWPORTS = [(1280, 800), (375, 812)]
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="chromium is missing: run `make test`, which installs it"
)


def _workspace(root: Path, spec_document: dict[str, Any], *, hostile: bool) -> Path:
    data = root / "data" / "demo"
    demo.generate(data, units=20_000)
    if hostile:
        units = pd.read_parquet(data / "units.parquet")
        units["variant"] = units["variant"].map(
            {"control": "<i>control</i>", "treatment": "treat<script>alert('v')</script>"}
        )
        units.to_parquet(data / "units.parquet")
        events = pd.read_parquet(data / "events.parquet")
        events["event"] = events["event"].replace("purchase", "buy<img src=x onerror=alert('e')>")
        events.to_parquet(data / "events.parquet")
    (root / "specs").mkdir()
    spec = root / "specs" / "launch.yaml"
    spec.write_text(yaml.safe_dump(spec_document, sort_keys=False))
    return spec


def _hostile_spec() -> dict[str, Any]:
    document = yaml.safe_load(DEMO_SPEC.read_text())
    attack = "<script>alert('{}')</script><img src=x onerror=alert('{}')>"
    document["title"] = attack.format("title", "title")
    document["owner"] = '"><svg onload=alert(1)>'
    for part in ("users", "problem", "solution", "result"):
        document["hypothesis"][part] = attack.format(part, part)
    document["data"]["control"] = "<i>control</i>"
    document["data"]["split"] = {"<i>control</i>": 0.5, "treat<script>alert('v')</script>": 0.5}
    document["data"]["segment"] = "platform <> '<script>alert(\"segment\")</script>'"
    document["metrics"]["primary"]["description"] = attack.format("description", "d")
    hostile_event = "buy<img src=x onerror=alert('e')>"
    for metric in (document["metrics"]["primary"], *document["metrics"]["secondary"]):
        for side in (metric, metric.get("numerator", {}), metric.get("denominator", {})):
            if side.get("event") == "purchase":
                side["event"] = hostile_event
    document["decision"]["on_success"] = "<b onmouseover=alert('action')>ship</b>"
    return document


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    made = {}
    for name, document, hostile in (
        ("demo", yaml.safe_load(DEMO_SPEC.read_text()), False),
        ("hostile", _hostile_spec(), True),
    ):
        root = tmp_path_factory.mktemp(name)
        spec = _workspace(root, document, hostile=hostile)
        made[name] = runner.review(spec, today="2026-11-26", output_dir=root).report
    root = tmp_path_factory.mktemp("prepost")
    demo.generate_series(root / "data" / "demo-prepost")
    spec = demo.write_demo_spec(root / "specs", "prepost")
    made["prepost"] = runner.review(spec, today="2026-11-26", output_dir=root).report
    # the adoption demo shares the prepost demo's folder: a portfolio of two launches, one
    # with two checkpoints
    demo.generate_adoption(root / "data" / "demo-adoption", units=5000)
    spec = demo.write_demo_spec(root / "specs", "adoption")
    runner.review(spec, checkpoint="28d", today="2026-11-26", output_dir=root)
    made["adoption"] = runner.review(spec, today="2026-11-26", output_dir=root).report
    made["portfolio"] = root / "reports" / "index.html"
    return made


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.mark.parametrize("name", ["demo", "hostile", "prepost", "adoption"])
@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_report_in_a_browser(
    browser: Any, reports: dict[str, Path], name: str, width: int, height: int
) -> None:
    page = browser.new_page(viewport={"width": width, "height": height})
    requests: list[str] = []
    problems: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(reports[name].as_uri())
    page.wait_for_load_state("load")

    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    assert not [
        url for url in requests if url.startswith("file:") and url != reports[name].as_uri()
    ]
    assert problems == []
    assert dialogs == []
    assert page.locator("script").count() == 0
    assert page.locator("[onerror], [onload], [onmouseover]").count() == 0

    card = page.locator('[aria-label="verdict"]')
    heading = card.locator("h1")
    action = card.locator(".action")
    # the first screen alone says the outcome, the action, baseline -> observed with the
    # change in its units, and what happens next
    lead_box, next_line = card.locator(".impact-lead"), card.locator(".next")
    for element in (heading, action, lead_box, next_line):
        box = element.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, f"below the fold: {box}"
    assert heading.inner_text().strip() in {"✔ Ship", "↻ Iterate", "… Keep running"}
    if name == "hostile":
        assert "<script>alert('title')</script>" in card.inner_text()
    anchors = ["Methods-and-assumptions", "Provenance"]
    if name != "adoption":
        anchors += ["Primary-metric", "Guardrails"]
    for anchor in anchors:
        assert page.locator(f'[id="{anchor}"]').count() == 1, anchor
    if name == "adoption":
        assert "Diagnosis:" in page.locator(".impact-flag").first.inner_text()
        assert page.locator('img[alt^="Adoption funnel"]').count() == 1
    if name == "prepost":
        assert page.locator('[id="Can-the-model-be-trusted?"]').count() == 1
        assert "Observational evidence" in page.locator(".impact-flag").first.inner_text()
        assert page.locator('img[alt*="placebo windows"]').count() == 1
    _fits_the_screen(page, width)
    if width < 700:
        _stacked(page, width)
        # found by a new user: the checks' sentences wrapped in a column 55 pixels wide
        # ("place/bo/launc/hes"); stacked, each cell has the screen's width
        cells = page.evaluate(
            """() => [...document.querySelectorAll('table')]
                .filter(t => [...t.querySelectorAll('thead th')]
                    .some(th => th.textContent === 'detail'))
                .flatMap(t => [...t.querySelectorAll('tbody td')])
                .map(td => td.getBoundingClientRect().width)"""
        )
        assert cells and min(cells) > 0.6 * width, cells
    lead = card.locator(".impact-lead").inner_text()
    if name == "adoption":
        assert "eligible" in lead and "needs" in lead, lead
    else:
        assert "→" in lead and "target" in lead and "data up to" in lead, lead
    units = {"prepost": " orders", "adoption": "%"}.get(name, " pp")
    assert units in lead, lead
    assert next_line.inner_text().startswith(
        ("Next review:", "This was the last review:", "Decided at this interim review:")
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{width}x{height}.png"))
    page.screenshot(path=str(ARTIFACTS / f"{name}-{width}x{height}-full.png"), full_page=True)
    page.close()


def _fits_the_screen(page: Any, width: int) -> None:
    """No page-level sideways scroll; every table aligned and either inside the screen or in
    a container that scrolls (with a visible hint on a phone); chart text legible."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    tables = page.evaluate(
        """() => [...document.querySelectorAll('table')].map(t => {
            const box = t.getBoundingClientRect();
            const holder = t.closest('.impact-scroll');
            const hint = holder && holder.parentElement.querySelector('.impact-swipe');
            return {
                headers: [...t.querySelectorAll('thead tr')].map(r => r.children.length),
                rows: [...t.querySelectorAll('tbody tr')].map(r => r.children.length),
                right: box.right,
                scrolls: !!holder && getComputedStyle(holder).overflowX === 'auto'
                    && holder.getBoundingClientRect().right <= window.innerWidth,
                hinted: !!hint && getComputedStyle(hint).display !== 'none',
            };
        })"""
    )
    assert tables
    for table in tables:
        assert len(table["headers"]) == 1, table
        assert all(cells == table["headers"][0] for cells in table["rows"]), table
        if table["right"] > width:
            assert table["scrolls"], table
            if width < 700:
                assert table["hinted"], table
    charts = page.evaluate(
        """() => [...document.querySelectorAll('img[data-smallest-text]')].map(i =>
            i.getBoundingClientRect().width / i.naturalWidth * Number(i.dataset.smallestText))"""
    )
    assert all(size >= 8.5 for size in charts), charts


def _stacked(page: Any, width: int) -> list[dict[str, Any]]:
    """On a phone a wide table (four columns or more) is a stack of labelled lines: every
    cell inside the screen, each after its column's name (the first one, the row's name)."""
    cells: list[dict[str, Any]] = page.evaluate(
        """() => [...document.querySelectorAll('table')]
            .filter(t => t.querySelectorAll('thead th').length > 3)
            .flatMap(t => [...t.querySelectorAll('tbody td')])
            .filter(td => td.textContent)
            .map(td => ({
                label: getComputedStyle(td, '::before').content,
                header: td.closest('table').querySelectorAll('thead th')[td.cellIndex]
                    .textContent,
                first: td.cellIndex === 0,
                right: td.getBoundingClientRect().right,
            }))"""
    )
    assert cells
    for cell in cells:
        assert cell["right"] <= width, cell
        assert cell["label"] == ("none" if cell["first"] else f'"{cell["header"]}: "'), cell
    assert page.locator(".impact-swipe:visible").count() == 0
    return cells


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_portfolio_in_a_browser(
    browser: Any, reports: dict[str, Path], width: int, height: int
) -> None:
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(reports["portfolio"].as_uri())
    page.wait_for_load_state("load")
    _fits_the_screen(page, width)
    links = page.evaluate("[...document.querySelectorAll('a')].map(a => a.getAttribute('href'))")
    assert "demo-adoption/28d.html" in links and "demo-adoption/56d.html" in links, links
    text = page.locator("body").inner_text()
    assert text.count("demo-adoption") >= 1
    if width < 700:  # a phone: each launch is a stack of labelled lines, nothing to swipe
        cells = _stacked(page, width)
        effects = [cell for cell in cells if cell["header"] == "effect at that review"]
        assert effects and all(cell["label"] != "none" for cell in effects), effects
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"portfolio-{width}x{height}.png"), full_page=True)
    page.close()


def test_demo_report_is_small(reports: dict[str, Path]) -> None:
    assert reports["demo"].stat().st_size < 1_000_000
    summary = reports["demo"].with_suffix(".md").read_text()
    assert summary.splitlines()[-1] == "Report: 56d.html"


def test_hostile_summary_is_defused_for_slack(reports: dict[str, Path]) -> None:
    summary = reports["hostile"].with_suffix(".md").read_text()
    assert "<script>" not in summary and "\u2039script\u203a" in summary and "&lt;" not in summary
