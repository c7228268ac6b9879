"""The quarter report in a real headless browser: the launch reports' checks (offline,
escaped, readable at 375 px), on a quarter whose titles, owners and reasons attack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import quarters
from test_browser import ARTIFACTS, CHROMIUM, FLAGS, VIEWPORTS, _fits_the_screen

from impact import quarter_run

ATTACK = "<script>alert('{}')</script><img src=x onerror=alert('{}')>"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="chromium is missing: run `make test`, which installs it"
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("quarter")
    for index in range(6):
        payload = quarters.verdict(
            f"launch-{index}",
            title=ATTACK.format("title", index),
            owner=f'"><svg onload=alert({index})>',
            confidence=0.8,
            status="target_met" if index < 2 else "inconclusive",
            effect=0.025 if index < 2 else 0.005,
            ci=(0.01, 0.04) if index < 2 else (-0.01, 0.02),
        )
        payload["hypothesis"] = ATTACK.format("hypothesis", index)
        payload["reasons"] = [ATTACK.format("reason", index)]
        quarters.publish(root, payload)
    quarters.publish(
        root, quarters.verdict("no-bet", title=ATTACK.format("apart", 0), confidence=None)
    )
    (root / "specs").mkdir()
    return quarter_run.run(
        root / "specs", quarter_label="2026Q4", today="2026-12-20", output_dir=root
    ).report


@pytest.fixture(scope="module")
def browser() -> Any:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_quarter_report_in_a_browser(browser: Any, report: Path, width: int, height: int) -> None:
    page = browser.new_page(viewport={"width": width, "height": height})
    requests: list[str] = []
    problems: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    assert [url for url in requests if url.startswith("file:")] == [report.as_uri()]
    assert problems == [] and dialogs == []
    assert page.locator("script").count() == 0
    assert page.locator("[onerror], [onload], [onmouseover]").count() == 0
    heading = page.locator("h1").first
    box = heading.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    assert box["y"] + box["height"] <= height
    assert heading.inner_text().startswith("Quarter review 2026-Q4")
    text = page.locator("body").inner_text()
    assert "Overconfident" in text
    for where in ("title", "hypothesis", "reason"):  # shown as text, never run
        assert f"<script>alert('{where}')</script>" in text, where
    for anchor in (
        "Hit-rate",
        "Calibration",
        "Predicted-and-measured",
        "Moved-in-total",
        "RICE",
        "Each-launch",
        "Not-counted",
        "Methods",
    ):
        assert page.locator(f'[id="{anchor}"]').count() == 1, anchor
    _fits_the_screen(page, width)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"quarter-{width}x{height}.png"), full_page=True)
    page.close()
