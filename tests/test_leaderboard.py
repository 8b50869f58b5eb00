"""Leaderboard: loading/validation, the table model, charts data, HTML safety, determinism."""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.errors import RmevalError
from leaderboard import add_board_parser, board_main, build_site
from leaderboard.assets import csp_hash, safe_json, script_safe
from leaderboard.charts import build_figures, clustered_order, plot_text
from leaderboard.loading import load_results
from leaderboard.samples import hardest
from leaderboard.site import load_metadata
from leaderboard.table import build_table, rank_column
from leaderboard.views import page_name
from tests.board_fixtures import (
    DATA_HASH,
    HOSTILE_NAME,
    HOSTILE_TEXT,
    JS_LINK,
    LINE_SEP,
    MASTER_KEYS,
    result,
    write_json,
    write_results,
)

META = load_metadata()


# ---------------------------------------------------------------- table model


def test_rank_column_ranks_and_ci_ties_higher_is_better():
    idx = ["a", "b", "c", "d"]
    value = pd.Series([0.80, 0.70, 0.55, math.nan], index=idx)
    lo = pd.Series([0.75, 0.64, 0.49, math.nan], index=idx)
    hi = pd.Series([0.85, 0.76, 0.61, math.nan], index=idx)
    out = rank_column(value, lo, hi, higher_is_better=True)
    assert out["rank"].tolist()[:3] == [1.0, 2.0, 3.0]
    assert math.isnan(out.at["d", "rank"])  # missing: no rank, never last-with-0
    assert out["leader"].tolist() == [True, False, False, False]
    # b's CI [0.64, 0.76] overlaps a's [0.75, 0.85]; c's [0.49, 0.61] does not.
    assert out["tied"].tolist() == [False, True, False, False]


def test_rank_column_lower_is_better_equal_values_and_touching_cis():
    idx = ["a", "b", "c", "d"]
    value = pd.Series([0.30, 0.10, 0.10, 0.20], index=idx)
    lo = pd.Series([0.25, 0.05, 0.08, 0.15], index=idx)
    hi = pd.Series([0.35, 0.15, 0.12, 0.25], index=idx)
    out = rank_column(value, lo, hi, higher_is_better=False)
    assert out["rank"].tolist() == [4.0, 1.0, 1.0, 3.0]  # competition ranking "1134"
    assert out["leader"].tolist() == [False, True, True, False]
    # d's lower bound 0.15 touches b's upper bound 0.15: overlapping closed intervals.
    assert out["tied"].tolist() == [False, False, False, True]


def test_rank_column_without_cis_is_never_tied():
    idx = ["a", "b"]
    value = pd.Series([0.9, 0.89], index=idx)
    nan = pd.Series([math.nan, math.nan], index=idx)
    out = rank_column(value, nan, nan, higher_is_better=True)
    assert out["tied"].tolist() == [False, False]


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    return write_results(tmp_path)


def test_table_columns_na_and_order(results_dir: Path):
    table = build_table(load_results(results_dir).runs, META)
    keys = [c.key for c in table.columns]
    # metadata order: rewardbench first (main, then sections in metadata order, then subsets)
    assert keys[:5] == ["rewardbench"] + [
        f"rewardbench/section/{s}" for s in ("Chat", "Chat Hard", "Safety", "Reasoning")
    ]
    assert "rmbench/difficulty/hard" in keys and "probes/dimension/helpfulness" in keys
    assert "core-pairwise/subset/math" in keys
    # sorted by the default column (rewardbench), models without it last
    assert table.order == ["hostile", "minilm", "random", "length"]
    assert math.isnan(table.value.at["length", "core-bon"])
    assert math.isnan(table.rank.at["length", "core-bon"])
    assert table.value.at["minilm", "core-bon"] == 0.60
    assert table.leader.at["minilm", "core-bon"]
    fpr = next(c for c in table.columns if c.key == "master-keys")
    assert fpr.higher_is_better is False
    assert table.leader.at["minilm", "master-keys"]  # lower FPR wins
    assert table.tied.at["minilm", "core-pairwise"]  # CI overlaps the leader's


def test_csv_and_json_keep_missing_as_na_not_zero(results_dir: Path, tmp_path: Path):
    site = tmp_path / "site"
    build_site(results_dir, site)
    frame = pd.read_csv(site / "leaderboard.csv", index_col="slug")
    assert pd.isna(frame.at["length", "core-bon"])
    assert "n/a" in (site / "leaderboard.csv").read_text().splitlines()[-1]
    data = json.loads((site / "leaderboard.json").read_text())
    length = next(m for m in data["models"] if m["slug"] == "length")
    assert length["scores"]["core-bon"]["value"] is None
    assert length["scores"]["core-bon"]["rank"] is None
    hostile = next(m for m in data["models"] if m["slug"] == "hostile")
    assert hostile["name"] == f"hf:{HOSTILE_NAME}"


def test_csv_cells_never_start_a_spreadsheet_formula(tmp_path: Path):
    root = tmp_path / "results"
    data = result("hostile", "core-pairwise", 0.8, 0.7, 0.9)
    data["model"]["spec"] = '=HYPERLINK("http://x.example","click")'
    data["model"]["type"] = "@SUM(A1)"
    write_json(root / "a" / "core-pairwise.json", data)
    low = result("minilm", "core-pairwise", -0.5, -0.6, -0.4)  # negative numbers stay numbers
    write_json(root / "b" / "core-pairwise.json", low)
    build_site(root, tmp_path / "site")
    text = (tmp_path / "site" / "leaderboard.csv").read_text()
    frame = pd.read_csv(tmp_path / "site" / "leaderboard.csv")
    assert "'=HYPERLINK" in text and "'@SUM(A1)" in text
    assert not any(str(c).startswith(("=", "+", "@")) for c in frame.astype(str).to_numpy().ravel())
    assert -0.5 in frame["core-pairwise"].tolist()


def test_dataset_hash_mismatch_splits_columns(tmp_path: Path):
    root = tmp_path / "results"
    write_json(root / "a" / "core-pairwise.json", result("hostile", "core-pairwise", 0.8, 0.7, 0.9))
    other = result("minilm", "core-pairwise", 0.6, 0.5, 0.7)
    other["task"]["dataset"]["sha256"] = "cd" * 32
    write_json(root / "b" / "core-pairwise.json", other)
    loaded = load_results(root)
    assert sorted(r.task_key for r in loaded.runs) == [
        "core-pairwise@abababab",
        "core-pairwise@cdcdcdcd",
    ]
    table = build_table(loaded.runs, META)
    mains = [c.key for c in table.columns if c.kind == "main"]
    assert mains == ["core-pairwise@abababab", "core-pairwise@cdcdcdcd"]
    assert math.isnan(table.value.at["a", "core-pairwise@cdcdcdcd"])
    assert math.isnan(table.value.at["b", "core-pairwise@abababab"])
    # each column ranks only the models measured on its own rows
    assert table.rank.at["b", "core-pairwise@cdcdcdcd"] == 1
    html = build_and_read(root, tmp_path / "site")
    assert "Core pairwise (data abababab)" in html and "Core pairwise (data cdcdcdcd)" in html


def build_and_read(results: Path, out: Path) -> str:
    build_site(results, out)
    return (out / "index.html").read_text(encoding="utf-8")


# ---------------------------------------------------------------- loading / validation


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(schema_version=2), "schema_version 2 is not supported"),
        (lambda d: d["task"]["dataset"].pop("sha256"), "task.dataset.sha256 is missing"),
        (lambda d: d["metrics"].pop("accuracy"), "no entry for the main score 'accuracy'"),
    ],
)
def test_invalid_result_files_fail_with_one_sentence(tmp_path: Path, mutate, message):
    data = result("hostile", "core-pairwise", 0.8, 0.7, 0.9)
    mutate(data)
    path = tmp_path / "results" / "m" / "core-pairwise.json"
    write_json(path, data)
    with pytest.raises(RmevalError, match=re.escape(message)) as err:
        load_results(tmp_path / "results")
    assert str(path) in str(err.value)


def test_non_strict_json_and_missing_folder_are_refused(tmp_path: Path):
    path = tmp_path / "results" / "m" / "core-pairwise.json"
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps(result("hostile", "core-pairwise", 0.8, 0.7, 0.9)).replace("0.8", "NaN")
    )
    with pytest.raises(RmevalError, match="strict JSON"):
        load_results(tmp_path / "results")
    with pytest.raises(RmevalError, match="no such results folder"):
        load_results(tmp_path / "nowhere")


def test_incomplete_runs_are_skipped_and_listed(tmp_path: Path):
    root = tmp_path / "results"
    write_json(root / "a" / "core-pairwise.json", result("hostile", "core-pairwise", 0.8, 0.7, 0.9))
    write_json(root / "b" / "core-pairwise.json",
               result("minilm", "core-pairwise", 0.6, 0.5, 0.7, status="partial"))  # fmt: skip
    loaded = load_results(root)
    assert [r.slug for r in loaded.runs] == ["a"]
    assert loaded.skipped == ["b/core-pairwise.json: status is 'partial', not complete."]


def test_malformed_compare_matrix_is_refused(tmp_path: Path):
    root = write_results(tmp_path, with_compare=False)
    write_json(root / "compare" / "starc.json", {"models": ["a", "b"], "starc": [[0.0, 1.0]]})
    with pytest.raises(RmevalError, match="starc must be a 2x2 matrix"):
        load_results(root)


# ---------------------------------------------------------------- samples, charts, helpers


def test_hardest_examples_by_wrong_margin(results_dir: Path):
    found = hardest(results_dir / "hostile" / "core-pairwise.samples.jsonl")
    # ex-1: 0.9 - 0.2 = 0.7; ex-2: 0.4 - 0.1 = 0.3; ex-3 tie (credit 0): 0; right and invalid out
    assert [h.id for h in found] == ["ex-1", "ex-2", "ex-3"]
    assert [round(h.margin, 6) for h in found] == [0.7, 0.3, 0.0]
    assert found[0].texts is not None and found[0].texts[0] == HOSTILE_TEXT
    assert found[1].texts is None


def test_clustered_order_puts_close_models_together():
    # 0 and 2 are close, 1 and 3 are close
    d = np.array([[0, 9, 1, 9], [9, 0, 9, 1], [1, 9, 0, 9], [9, 1, 9, 0]], dtype=float)
    order = clustered_order(d)
    pos = {m: i for i, m in enumerate(order)}
    assert abs(pos[0] - pos[2]) == 1 and abs(pos[1] - pos[3]) == 1
    assert clustered_order(np.array([[0.0, np.nan], [np.nan, 0.0]])) == [0, 1]


def test_figures_only_for_data_that_exist(results_dir: Path, tmp_path: Path):
    loaded = load_results(results_dir)
    table = build_table(loaded.runs, META)
    ids = [f.id for f in build_figures(table, loaded.runs, loaded.compare, META)]
    assert ids == ["probe-probes", "rmbench-style", "master-keys", "distance-starc",
                   "distance-epic", "size-scatter"]  # fmt: skip
    only = [r for r in loaded.runs if r.task == "core-pairwise" and r.slug in ("length", "random")]
    small = build_table(only, META)
    assert build_figures(small, only, None, META) == []  # no probes, grids, sizes or compare
    grid = next(f for f in build_figures(table, loaded.runs, None, META) if f.id == "master-keys")
    assert grid.spec["data"][0]["y"] == [json.dumps(k, ensure_ascii=False) for k in MASTER_KEYS]


def test_safe_json_and_script_safe_escape_html_breakers():
    text = safe_json({"k": "</script><!--&'\u2028\u2029"})
    assert not re.search("[<>&'\u2028\u2029]", str(text))
    assert json.loads(str(text)) == {"k": "</script><!--&'\u2028\u2029"}
    assert script_safe("a='</SCRIPT>'; b=/<!--/; c='<script'") == (
        "a='\\x3C/SCRIPT>'; b=/\\x3C!--/; c='\\x3Cscript'"
    )
    assert plot_text("<b>&</b>") == "&lt;b&gt;&amp;&lt;/b&gt;"


def test_page_names_cannot_escape_the_models_folder():
    assert page_name("good-model_1.0") == "good-model_1.0.html"
    for slug in ("../evil", "a/b", "<img src=x>", ".."):
        name = page_name(slug)
        assert re.fullmatch(r"[A-Za-z0-9._-]+\.html", name) and not name.startswith(".")
    assert page_name("a/b") != page_name("a-b")


def test_board_command_builds_the_site(results_dir: Path, tmp_path: Path):
    parser = argparse.ArgumentParser()
    add_board_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["board", "--results", str(results_dir), "--out", str(tmp_path / "s")])
    assert args.func is board_main
    assert board_main(args) == 0
    assert (tmp_path / "s" / "index.html").is_file()
    assert sorted(p.name for p in (tmp_path / "s" / "models").iterdir()) == [
        "hostile.html", "length.html", "minilm.html", "random.html"]  # fmt: skip


def test_rebuild_drops_pages_of_models_no_longer_in_the_results(results_dir: Path, tmp_path: Path):
    import shutil

    results = tmp_path / "results-copy"
    shutil.copytree(results_dir, results)
    build_site(results, tmp_path / "site")
    assert (tmp_path / "site" / "models" / "length.html").is_file()
    shutil.rmtree(results / "length")
    build_site(results, tmp_path / "site")
    pages = sorted(p.name for p in (tmp_path / "site" / "models").iterdir())
    assert pages == ["hostile.html", "minilm.html", "random.html"]
    assert "models/length.html" not in (tmp_path / "site" / "index.html").read_text()


# ---------------------------------------------------------------- HTML safety


class Page(HTMLParser):
    """Collects tags, attributes, text and script blocks of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self._in: tuple[str, dict[str, str | None]] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._in = (tag, dict(attrs))

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in and self._in[0] == "script":
            self.scripts.append((self._in[1], data))
        elif self._in and self._in[0] == "style":
            self.styles.append(data)
        else:
            self.text.append(data)


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


@pytest.fixture
def site(results_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "site"
    build_site(results_dir, out)
    return out


URL_ATTRS = ("href", "src", "action", "formaction", "srcset", "poster", "data", "xlink:href")
LOCAL_LINK = re.compile(r"(models/)?[A-Za-z0-9._-]+\.(html|csv|json)|\.\./index\.html")


def test_pages_have_no_handlers_no_external_urls_and_a_strict_csp(site: Path):
    pages = [site / "index.html", *sorted((site / "models").iterdir())]
    for path in pages:
        page = parse(path)
        for tag, attrs in page.tags:
            assert tag not in ("img", "iframe", "link", "object", "embed", "base", "form"), path
            for name, value in attrs.items():
                assert not name.startswith("on"), (path, tag, name)
                if name in URL_ATTRS:
                    assert value and LOCAL_LINK.fullmatch(value), (path, tag, name, value)
        csp = next(
            a["content"] for t, a in page.tags if a.get("http-equiv") == "Content-Security-Policy"
        )
        assert csp.startswith("default-src 'none'")
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "http" not in csp
        for attrs, code in page.scripts:
            if attrs.get("type") == "application/json":
                assert "<" not in code and "\u2028" not in code
                json.loads(code)
            else:  # every executable block is allowed by its exact hash
                assert csp_hash(code) in csp.split("style-src")[0]
        for css in page.styles:
            assert csp_hash(css) in csp.split("style-src")[1]


def test_hostile_strings_are_escaped_and_shown_literally(site: Path):
    index_raw = (site / "index.html").read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt;" in index_raw
    index = parse(site / "index.html")
    assert f"hf:{HOSTILE_NAME}" in index.text
    assert all(t != "img" for t, _ in index.tags)
    model_raw = (site / "models" / "hostile.html").read_text(encoding="utf-8")
    model = parse(site / "models" / "hostile.html")
    assert model.scripts == []  # model pages run no script at all
    assert HOSTILE_TEXT in model.text  # the sample text, literally, as text
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in model_raw
    assert any(LINE_SEP in t for t in model.text)
    assert any(JS_LINK in t for t in model.text)  # the dataset path: text, never a link
    assert not any(JS_LINK in str(a.get("href")) for _, a in model.tags)
    for key in MASTER_KEYS:
        assert json.dumps(key, ensure_ascii=False) in model.text
    figures = [json.loads(c) for a, c in index.scripts if a.get("id", "").startswith("figure-data")]
    names = [t["name"] for f in figures for t in f["data"] if "name" in t]
    assert "hf:&lt;img src=x onerror=alert(1)&gt;" in names  # plotly shows entities literally


def test_build_is_deterministic(results_dir: Path, tmp_path: Path):
    first = build_site(results_dir, tmp_path / "one")
    second = build_site(results_dir, tmp_path / "two")
    assert [p.relative_to(tmp_path / "one") for p in first] == [
        p.relative_to(tmp_path / "two") for p in second
    ]

    def digest(paths):
        return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]

    assert digest(first) == digest(second)


def test_model_page_provenance_and_missing_texts_note(results_dir: Path, tmp_path: Path):
    samples = results_dir / "minilm" / "core-pairwise.samples.jsonl"
    lines = [json.loads(x) for x in samples.read_text().splitlines()]
    for line in lines:
        line.pop("texts", None), line.pop("prompt", None)
    samples.write_text("".join(json.dumps(x) + "\n" for x in lines))
    build_site(results_dir, tmp_path / "site")
    minilm = parse(tmp_path / "site" / "models" / "minilm.html")
    for fact in (DATA_HASH, "fp-minilm", "0123abc", "22.7M"):
        assert fact in minilm.text
    note = (
        "Texts are not stored in the samples file (only their hashes), "
        "so scores and text hashes are shown."
    )
    assert note in minilm.text and "h1c" in minilm.text
    assert note not in parse(tmp_path / "site" / "models" / "hostile.html").text


def test_section_columns_take_the_ci_of_the_matching_metric(results_dir: Path):
    table = build_table(load_results(results_dir).runs, META)
    key = "rewardbench/section/Chat Hard"
    assert (table.lo.at["hostile", key], table.hi.at["hostile", key]) == pytest.approx((0.45, 0.65))
    assert math.isnan(table.lo.at["hostile", "rewardbench/section/Chat"])  # no such metric
