"""The built leaderboard in a real headless Chromium, offline, under its own CSP.

Needs Debian's ``chromium`` (apt) and the ``playwright`` Python package (never
``playwright install``). Missing either: skipped locally, a failure when ``CI`` is set.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from rmeval.leaderboard import build_site

from tests.board_fixtures import HOSTILE_NAME, HOSTILE_TEXT, write_results

CHROMIUM = Path("/usr/bin/chromium")
CSP_PROBE = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) =>
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sample));
"""


def _browser_or_fail():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not CHROMIUM.exists():
        why = "needs `apt-get install chromium` and `pip install playwright`"
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run in CI: {why}")
        pytest.skip(why)
    return sync_playwright


class Watch:
    """Console errors, page errors, dialogs and network attempts of one page."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.network: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("dialog", lambda d: (self.errors.append(f"dialog: {d.message}"), d.dismiss()))
        page.add_init_script(CSP_PROBE)
        page.route("**/*", self._route)

    def _route(self, route) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            self.network.append(route.request.url)
            route.abort()

    def check(self, page) -> None:
        assert page.evaluate("window.__csp") == []
        assert self.errors == []
        assert self.network == []


def first_model(page) -> str:
    return page.inner_text("#board tbody tr:first-child td:nth-child(2)")


def _screenshot(page, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / name), full_page=True)
    target = os.environ.get("RMEVAL_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp_path / name, Path(target) / name)


def test_leaderboard_in_headless_chromium(tmp_path: Path):
    sync_playwright = _browser_or_fail()
    site = tmp_path / "site"
    build_site(write_results(tmp_path), site)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            watch = Watch(page)
            page.goto((site / "index.html").as_uri())
            page.wait_for_selector("html[data-ready=true]")
            page.wait_for_selector("#board.dataTable")
            assert page.locator(".js-plotly-plot").count() == 6  # every figure drew
            assert page.locator("#board tbody tr").count() == 4
            assert first_model(page) == f"hf:{HOSTILE_NAME}"  # the name, literally

            page.click(
                "#board thead tr.columns th:has-text('Core best-of-n')"
            )  # higher is better: desc
            assert first_model(page) == "embed:minilm"

            page.fill("#filter-text", "random")
            assert page.locator("#board tbody tr").count() == 1
            assert first_model(page) == "random:seed=0"
            page.fill("#filter-text", "")
            page.select_option("#filter-type", "Length baseline")
            assert page.locator("#board tbody tr").count() == 1
            assert first_model(page) == "length:"
            page.select_option("#filter-type", "")
            assert page.locator("#board tbody tr").count() == 4

            before = page.locator("#board thead tr.columns th").count()
            page.click("button[data-columns$='-subset'] >> nth=0")  # expand a subsets section
            assert page.locator("#board thead tr.columns th").count() == before + 2
            page.evaluate("document.querySelector('.table-wrap').scrollLeft = 0")
            _screenshot(page, tmp_path, "leaderboard-index.png")
            watch.check(page)

            model = browser.new_page()
            model_watch = Watch(model)
            model.goto((site / "models" / "hostile.html").as_uri())
            model.click("ol.hardest summary >> nth=0")
            assert model.locator("pre.text").first.inner_text() == "Which is right? " + HOSTILE_TEXT
            assert model.locator("h1").inner_text() == f"hf:{HOSTILE_NAME}"
            _screenshot(model, tmp_path, "leaderboard-model.png")
            model_watch.check(model)
        finally:
            browser.close()
