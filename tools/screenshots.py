"""Regenerate the README's screenshots (docs/screenshots) from the demo reports in chromium.

    .venv/bin/python tools/screenshots.py

Reviews the three demos and a portfolio of them in a temporary folder under a fixed clock,
opens each report in Debian's headless chromium (as tests/test_browser.py does) at 1280x800
and 375x812, and writes the first screen of each.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from impact import demo, runner

TODAY = "2026-11-26"
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SIZES = [(1280, 800), (375, 812)]


def _reports(root: Path) -> dict[str, Path]:
    demo.generate(root / "data" / "demo")
    demo.generate_series(root / "data" / "demo-prepost")
    demo.generate_adoption(root / "data" / "demo-adoption")
    made = {}
    for name, design in (
        ("report", "experiment"),
        ("prepost", "prepost"),
        ("adoption", "adoption"),
    ):
        spec = demo.write_demo_spec(root / "specs", design)
        published = runner.review(spec, today=TODAY, output_dir=root)
        assert published is not None
        made[name] = published.report
    made["portfolio"] = root / "reports" / "index.html"
    return made


def main() -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        reports = _reports(Path(folder))
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        for name, report in reports.items():
            for width, height in SIZES:
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(report.as_uri())
                page.wait_for_load_state("load")
                path = SHOTS / f"{name}-{width}x{height}.png"
                page.screenshot(path=str(path))
                print(path.relative_to(SHOTS.parent.parent))
                page.close()
        browser.close()


if __name__ == "__main__":
    main()
