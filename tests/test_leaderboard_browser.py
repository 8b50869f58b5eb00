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

from tests.board_fixtures import HOSTILE_NAME, HOSTILE_TEXT, write_new_tasks, write_results

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


def _screenshot(page, tmp_path: Path, name: str, full_page: bool = True) -> None:
    page.screenshot(path=str(tmp_path / name), full_page=full_page)
    target = os.environ.get("RMEVAL_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp_path / name, Path(target) / name)


@pytest.fixture(scope="module")
def browser():
    sync_playwright = _browser_or_fail()
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _open(browser, url: str, width: int = 1400, height: int = 900):
    page = browser.new_page(viewport={"width": width, "height": height})
    watch = Watch(page)
    page.goto(url)
    if "/models/" not in url:  # model pages run no script at all
        page.wait_for_selector("html[data-ready=true]")
    return page, watch


def test_leaderboard_in_headless_chromium(tmp_path: Path, browser):
    site = tmp_path / "site"
    build_site(write_results(tmp_path), site)
    page, watch = _open(browser, (site / "index.html").as_uri())
    assert page.locator(".js-plotly-plot").count() == 6  # every figure drew
    assert page.locator("#board tbody tr").count() == 4
    # overall: Borda points 7, 7, 1, 0 (see test_table_columns_na_and_order)
    assert first_model(page) == "embed:minilm"
    assert page.inner_text("#board tbody tr:nth-child(2) td:nth-child(2)") == f"hf:{HOSTILE_NAME}"

    page.click("#board thead tr.columns th:has-text('Core best-of-n')")  # higher is better: desc
    assert first_model(page) == "embed:minilm"
    page.click("#board thead tr.columns th:has-text('Core pairwise')")
    assert first_model(page) == f"hf:{HOSTILE_NAME}"  # the name, literally
    page.click("#board thead tr.columns th:has-text('Core pairwise')")  # again: ascending
    assert first_model(page) == "random:seed=0"

    page.fill("#filter-text", "random")
    assert page.locator("#board tbody tr:visible").count() == 1
    assert page.inner_text("#board-count") == "1 of 4 models"
    page.fill("#filter-text", "")
    page.select_option("#filter-type", "Length baseline")
    assert page.locator("#board tbody tr:visible").count() == 1
    assert page.inner_text("#board tbody tr:visible td:nth-child(2)") == "length:"
    page.select_option("#filter-type", "")
    assert page.locator("#board tbody tr:visible").count() == 4

    before = page.locator("#board thead tr.columns th:visible").count()
    page.click(".toggles summary")
    page.click("button[data-columns$='-subset'] >> nth=0")  # expand a subsets section
    assert page.locator("#board thead tr.columns th:visible").count() == before + 2
    watch.check(page)

    model, model_watch = _open(browser, (site / "models" / "hostile.html").as_uri())
    model.click("ol.hardest summary >> nth=0")
    assert model.locator("pre.text").first.inner_text() == "Which is right? " + HOSTILE_TEXT
    assert model.locator("h1").inner_text() == f"hf:{HOSTILE_NAME}"
    model_watch.check(model)


@pytest.fixture(scope="module")
def full_site(real_board_results: Path, tmp_path_factory) -> Path:
    """The board of real runs of every built-in task, plus the shapes of the tasks being added
    (reward-hacking, processbench, prm-hacking) and a generative judge."""
    root = tmp_path_factory.mktemp("full")
    shutil.copytree(real_board_results, root / "results")
    write_new_tasks(root / "results")
    build_site(root / "results", root / "site")
    return root / "site"


TRACE_LAYERS = {"heatmap": ".heatmaplayer image", "scatter": ".scatterlayer .trace",
                "bar": ".barlayer .trace"}  # fmt: skip


@pytest.mark.parametrize(("width", "height", "name"), [(1400, 900, "desktop"), (390, 844, "phone")])
def test_every_view_at_desktop_and_phone_width(full_site, browser, tmp_path, width, height, name):
    page, watch = _open(browser, (full_site / "index.html").as_uri(), width, height)
    figures = page.locator("figure[data-chart]")
    assert figures.count() == page.locator(".js-plotly-plot").count() >= 12  # every chart drew
    for kind, selector in TRACE_LAYERS.items():
        assert page.locator(selector).count() > 0, kind
    # the overall columns, and the sections collapsed under their task
    heads = page.locator("#board thead tr.columns th:visible").all_inner_texts()
    assert heads[:5] == ["Rank", "Model", "Borda ↑", "Mean rank ↓", "Tasks"]
    assert page.locator("#board th.detail:visible, #board th.subset:visible").count() == 0
    assert heads.index("Type") > heads.index("RewardBench ↑")  # scores before metadata
    # Rank and Model stay in view while the table scrolls sideways
    cell = page.locator("#board tbody tr:first-child td.model")
    x0 = cell.bounding_box()["x"]
    page.evaluate("(w => { w.scrollLeft = w.scrollWidth; })(document.querySelector('.table-wrap'))")
    assert page.evaluate("document.querySelector('.table-wrap').scrollLeft") > 200
    assert abs(cell.bounding_box()["x"] - x0) < 1
    right = page.locator("#board thead tr.columns th:visible").last
    assert right.bounding_box()["x"] < width  # scrolled to the last (metadata) column
    page.evaluate("document.querySelector('.table-wrap').scrollLeft = 0")
    # the page itself never scrolls sideways: only the table, inside its frame
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    _screenshot(page, tmp_path, f"leaderboard-index-{name}.png")
    watch.check(page)

    model, model_watch = _open(browser, (full_site / "models" / "length.html").as_uri(), width,
                               height)  # fmt: skip
    model.click("ol.hardest summary >> nth=0")
    assert model.locator("ol.hardest pre.text").first.inner_text()  # logged texts shown
    assert model.evaluate("document.documentElement.scrollWidth") <= width
    _screenshot(model, tmp_path, f"leaderboard-model-{name}.png", full_page=False)
    model_watch.check(model)
