"""report.html in headless Chromium: every table and plot renders, nothing errs; a screenshot is kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.report.build import write_report
from tests.report_support import floor_runs

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "reports" / "test-artifacts"

pytestmark = [
    pytest.mark.timeout(400),  # the first test may wait for the four short runs
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (Debian package chromium; .ci/run installs it)"
    ),
]


def test_the_html_report_renders_every_table_and_plot(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    out = tmp_path / "report"
    summary = write_report(floor_runs(tmp_path_factory), out)
    expected_tables = (out / "report.md").read_text().count("\n|---")
    expected_plots = len(list((out / "plots").glob("*.png")))
    assert expected_plots == 5

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
            page.goto((out / "report.html").as_uri(), wait_until="load")
            tables = page.evaluate(
                """() => [...document.querySelectorAll('table')].map(t => ({
                    rows: t.querySelectorAll('tbody tr').length,
                    height: t.getBoundingClientRect().height,
                    cells: [...t.querySelectorAll('tbody td')].filter(td => td.textContent.trim()).length}))"""
            )
            images = page.evaluate(
                """() => [...document.querySelectorAll('img')].map(i => ({
                    complete: i.complete, width: i.naturalWidth, height: i.naturalHeight, shown: i.clientWidth,
                    data: i.src.startsWith('data:image/png;base64,')}))"""
            )
            headline = page.inner_text("#table-headline")
            screenshot = tmp_path / "report.png"
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot, ARTIFACTS / "report-browser.png")

    assert problems == []
    assert len(tables) == expected_tables
    for table in tables:
        assert table["rows"] > 0, table
        assert table["height"] > 0, table
        assert table["cells"] > 0, table
    assert len(images) == expected_plots
    for image in images:
        assert image["complete"], image
        assert image["width"] > 0, image
        assert image["height"] > 0, image
        assert image["shown"] > 0, image
        assert image["data"], "a plot is not embedded"
    for label in ("Average response latency", "Memory footprint / node", "Database write throughput"):
        assert label in headline
    assert summary.baseline in headline
    assert screenshot.stat().st_size > 10_000
