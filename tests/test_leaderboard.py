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
from rmeval.harness.errors import RmevalError
from rmeval.leaderboard import add_board_parser, board_main, build_site
from rmeval.leaderboard.assets import csp_hash, safe_json, script_safe
from rmeval.leaderboard.charts import build_figures, clustered_order, plot_text
from rmeval.leaderboard.display import variant_labels
from rmeval.leaderboard.loading import load_results
from rmeval.leaderboard.samples import hardest, parse_view
from rmeval.leaderboard.site import load_metadata
from rmeval.leaderboard.table import build_table, rank_column
from rmeval.leaderboard.views import page_name

from tests.board_fixtures import (
    DATA_HASH,
    HOSTILE_NAME,
    HOSTILE_TEXT,
    JS_LINK,
    LINE_SEP,
    MASTER_KEYS,
    PERTURBATIONS,
    key_rate,
    result,
    samples,
    write_json,
    write_new_tasks,
    write_results,
    write_run,
    write_samples,
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
    assert "rmbench/difficulty/hard" in keys and "probe-core/dimension/helpfulness" in keys
    assert "core-pairwise/subset/math" in keys
    # overall, by hand from the fixture's MAIN (tasks: core-pairwise, core-bon, rewardbench,
    # rmbench, master-keys, probe-core): ranks hostile 1,2,1,1,2,2 (mean 9/6), minilm
    # 2,1,2,2,1,1 (9/6), length 3 (one task), random 4,3,3 (10/3); models beaten (Borda)
    # hostile 3+1+2+1+0+0 = 7, minilm 2+2+1+0+1+1 = 7, length 1, random 0+0+0 = 0. hostile and
    # minilm share position 1 (then by name).
    assert table.order == ["minilm", "hostile", "length", "random"]
    assert table.overall.points.tolist() == [7, 7, 1, 0]
    assert table.overall.mean_rank.tolist() == pytest.approx([1.5, 1.5, 3.0, 10 / 3])
    assert table.overall.n_tasks.tolist() == [6, 6, 1, 3]
    assert table.overall.position.tolist() == [1, 1, 3, 4]
    by_task = build_table(
        load_results(results_dir).runs, {**META, "site": {"default_sort": "rewardbench"}}
    )
    assert by_task.order == ["hostile", "minilm", "random", "length"]  # models without it last
    assert math.isnan(table.value.at["length", "core-bon"])
    assert math.isnan(table.rank.at["length", "core-bon"])
    assert table.value.at["minilm", "core-bon"] == 0.60
    assert table.leader.at["minilm", "core-bon"]
    fpr = next(c for c in table.columns if c.key == "master-keys")
    assert fpr.higher_is_better is False
    assert table.leader.at["minilm", "master-keys"]  # lower FPR wins
    # the fixture's samples (mean credit 0.25) are not its recorded accuracies: no paired
    # verdict on numbers the board does not show (see test_paired_tie_with_the_leader)
    assert ("minilm", "core-pairwise") not in (table.paired or {})


def test_paired_tie_with_the_leader(tmp_path: Path):
    """Recorded scores = the samples' mean credits: a paired verdict, tied on 4 items."""
    root = tmp_path / "results"
    better = samples("minilm")
    better[2] |= {"scores": [0.4, 0.1], "credit": 1.0}  # mean credit 0.5 (hostile's: 0.25)
    for slug, value, lines in (("hostile", 0.25, samples("hostile")), ("minilm", 0.5, better)):
        write_run(root / slug / "core-pairwise.json",
                  result(slug, "core-pairwise", value, 0.0, 1.0), lines)  # fmt: skip
    table = build_table(load_results(root).runs, META)
    assert table.leader.at["minilm", "core-pairwise"]
    assert table.tied.at["hostile", "core-pairwise"]
    assert table.paired[("hostile", "core-pairwise")].diff == pytest.approx(-0.25)


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
    write_run(root / "a" / "core-pairwise.json", data, [])
    low = result("minilm", "core-pairwise", -0.5, -0.6, -0.4)  # negative numbers stay numbers
    write_run(root / "b" / "core-pairwise.json", low, [])
    build_site(root, tmp_path / "site")
    text = (tmp_path / "site" / "leaderboard.csv").read_text()
    frame = pd.read_csv(tmp_path / "site" / "leaderboard.csv")
    assert "'=HYPERLINK" in text and "'@SUM(A1)" in text
    assert not any(str(c).startswith(("=", "+", "@")) for c in frame.astype(str).to_numpy().ravel())
    assert -0.5 in frame["core-pairwise"].tolist()


def test_dataset_hash_mismatch_splits_columns(tmp_path: Path):
    root = tmp_path / "results"
    first = result("hostile", "core-pairwise", 0.8, 0.7, 0.9)
    first["task"]["dataset"]["path"] = "/home/me/data/pairs-v1.jsonl"
    write_run(root / "a" / "core-pairwise.json", first, [])
    other = result("minilm", "core-pairwise", 0.6, 0.5, 0.7)
    other["task"]["dataset"].update(sha256="cd" * 32, path="/home/me/data/pairs-v2.jsonl")
    write_run(root / "b" / "core-pairwise.json", other, [])
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
    # labelled by the dataset's file name, never a hash or the local folder
    assert "Core pairwise (pairs-v1.jsonl)" in html and "Core pairwise (pairs-v2.jsonl)" in html
    assert "/home/me" not in html and "abababab" not in html
    same_name = {"t@abababab": "/a/x.jsonl", "t@cdcdcdcd": "/b/x.jsonl", "u": "/c/y.jsonl"}
    assert variant_labels(same_name) == {"t@abababab": "x.jsonl, abababab",
                                         "t@cdcdcdcd": "x.jsonl, cdcdcdcd"}  # fmt: skip


def test_task_settings_split_columns(tmp_path: Path):
    """Same rows, other settings (``ties``): separate columns, never ranked together."""
    root = tmp_path / "results"
    first = result("hostile", "core-pairwise", 0.8, 0.7, 0.9)
    first["task"]["params"] = {"data": "/a/pairs.jsonl", "limit": 5}
    write_run(root / "a" / "core-pairwise.json", first, [])
    other = result("minilm", "core-pairwise", 0.6, 0.5, 0.7)
    other["task"]["params"] = {"data": "/b/pairs.jsonl", "ties": "half"}
    write_run(root / "b" / "core-pairwise.json", other, [])
    third = result("minilm", "core-pairwise", 0.5, 0.4, 0.6)
    third["task"]["params"] = {"data": "/c/pairs.jsonl"}
    write_run(root / "c" / "core-pairwise.json", third, [])
    keys = {r.slug: r.task_key for r in load_results(root).runs}
    assert keys["a"] == keys["c"] != keys["b"]  # data/limit don't split; ties does
    assert all(k.startswith("core-pairwise@abababab.") for k in keys.values())
    table = build_table(load_results(root).runs, META)
    assert table.rank.at["b", keys["b"]] == 1 and math.isnan(table.value.at["a", keys["b"]])


def build_and_read(results: Path, out: Path) -> str:
    build_site(results, out)
    return (out / "index.html").read_text(encoding="utf-8")


# ---------------------------------------------------------------- loading / validation


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(schema_version=99), "schema_version 99 is not readable"),
        (lambda d: d["task"]["dataset"].pop("sha256"), "task.dataset.sha256 must be a non-empty"),
        (lambda d: d["metrics"].pop("accuracy"), "no entry for the main score 'accuracy'"),
        (
            lambda d: d["model"].update(spec=5),
            "model.spec must be a non-empty string, not the number 5",
        ),
    ],
)
def test_invalid_result_files_fail_with_one_sentence(tmp_path: Path, mutate, message):
    data = result("hostile", "core-pairwise", 0.8, 0.7, 0.9)
    mutate(data)
    path = tmp_path / "results" / "m" / "core-pairwise.json"
    write_run(path, data, [])
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


def test_unfinished_runs_are_refused_or_skipped_and_listed(tmp_path: Path):
    root = tmp_path / "results"
    write_run(
        root / "a" / "core-pairwise.json", result("hostile", "core-pairwise", 0.8, 0.7, 0.9), []
    )
    partial = root / "b" / "core-pairwise.json"
    write_run(partial, result("minilm", "core-pairwise", 0.6, 0.5, 0.7, status="partial"), [])
    with pytest.raises(RmevalError, match=re.escape(f"{partial}: status is 'partial'")):
        load_results(root)
    loaded = load_results(root, skip_unfinished=True)
    assert [r.slug for r in loaded.runs] == ["a"]
    assert len(loaded.skipped) == 1 and str(partial) in loaded.skipped[0]


def test_malformed_compare_matrix_is_refused(tmp_path: Path):
    root = write_results(tmp_path, with_compare=False)
    write_json(root / "compare" / "starc.json", {"models": ["a", "b"], "starc": [[0.0, 1.0]]})
    with pytest.raises(RmevalError, match="field starc must be a 2x2 matrix"):
        load_results(root)


# ---------------------------------------------------------------- samples, charts, helpers


def test_hardest_examples_by_wrong_margin(results_dir: Path):
    run = next(r for r in load_results(results_dir).runs if r.slug == "hostile"
               and r.task == "core-pairwise")  # fmt: skip
    found = hardest(run.samples, run.view)
    # ex-1: 0.9 - 0.2 = 0.7; ex-2: 0.4 - 0.1 = 0.3; ex-3 tie (credit 0): 0; right and invalid out
    assert [h.id for h in found] == ["ex-1", "ex-2", "ex-3"]
    assert [round(h.margin, 6) for h in found] == [0.7, 0.3, 0.0]
    assert found[0].candidates[0].text == HOSTILE_TEXT and found[0].stored_texts
    assert [c.label for c in found[0].candidates] == ["chosen", "rejected"]
    assert found[1].candidates[0].text is None and not found[1].stored_texts


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
    assert ids == ["probe-probe-core", "rmbench-style", "master-keys-key_beats_wrong",
                   "distance-starc", "distance-epic", "size-scatter"]  # fmt: skip
    only = [r for r in loaded.runs if r.task == "core-pairwise" and r.slug in ("length", "random")]
    small = build_table(only, META)
    assert build_figures(small, only, None, META) == []  # no probes, grids, sizes or compare
    grid = next(
        f for f in build_figures(table, loaded.runs, None, META) if f.id.startswith("master")
    )
    trace = grid.spec["data"][0]
    assert trace["x"] == [json.dumps(k, ensure_ascii=False) for k in MASTER_KEYS]  # keys x models
    assert trace["y"] == ["hf:&lt;img src=x onerror…", "embed:minilm"]  # cut to fit, escaped
    # overall per-key rates (metrics key_beats_wrong[<label>]), key 1 the worst: marked
    assert trace["z"][1] == [key_rate(0.10, j) for j in range(len(MASTER_KEYS))]
    assert [i for i, t in enumerate(trace["text"][1]) if t] == [1]


def test_views_of_the_tasks_being_added_and_judges(tmp_path: Path):
    results = write_new_tasks(write_results(tmp_path))
    loaded = load_results(results)
    table = build_table(loaded.runs, META)
    figs = {f.id: f for f in build_figures(table, loaded.runs, None, META)}
    hacking = figs["reward-hacking"].spec["data"][0]
    assert hacking["x"] == [plot_text(n) for n in PERTURBATIONS]
    assert hacking["z"] == [
        [0.25, 0.5, 0.75],
        [0.125, 0.25, 0.375],
    ]  # hostile, minilm: (i + 1) / 4 * scale
    assert figs["prm-hacking"].spec["data"][0]["z"] == [[0.2, 0.4, 0.6], [0.1, 0.2, 0.3]]
    confusion = figs["process-confusion"].spec["data"][0]
    assert confusion["z"] == [[12, 3, 1], [2, 9, 4], [0, 5, 8]]  # rows true, columns predicted
    f1 = {t["name"]: t["y"] for t in figs["process-f1"].spec["data"]}
    assert f1 == {"f1": [0.7, 0.45], "acc_erroneous": [0.4, 0.4], "acc_correct": [0.7, 0.7]}
    # judges and reward models never share a master-key chart: each has its own metric
    judge = figs["master-keys-fpr"].spec["data"][0]
    assert (
        judge["y"] == ["judge:qwen-judge"]
        and "fpr"
        in figs["master-keys-fpr"].title + figs["master-keys-fpr"].spec["layout"]["meta"]["title"]
    )
    assert figs["judge-consistency"].spec["data"][0]["y"] == [0.8]
    # lower is better: the smaller worst flip rate leads
    assert table.leader.at["minilm", "reward-hacking"]
    assert table.models.at["judge", "type"] == "Generative judge"
    assert table.models.at["judge", "name"] == "judge:qwen-judge"  # no local folder shown
    build_site(results, tmp_path / "site")
    page = parse(tmp_path / "site" / "models" / "hostile.html")
    text = " ".join(page.text)
    assert "flip rate (95% CI)" in text and "0.250 (0.000–0.500)" in text  # records, CIs
    assert "predicted: step 1" in text and "true: step 0" in text
    assert "/home/me" not in (tmp_path / "site" / "index.html").read_text()
    assert "/home/me" not in (tmp_path / "site" / "models" / "judge.html").read_text()


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
LOCAL_LINK = re.compile(r"(models/)?[A-Za-z0-9._-]+\.(html|csv|json)|\.\./index\.html|#task-\d+")


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
    lines = samples("minilm")
    for line in lines:
        line.pop("texts", None), line.pop("prompt", None)
    write_run(results_dir / "minilm" / "core-pairwise.json",
              result("minilm", "core-pairwise", 0.70, 0.64, 0.76), lines)  # fmt: skip
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


# ---------------------------------------------------------------- real `rmeval run` output


@pytest.fixture
def real_results(real_board_results: Path) -> Path:
    """Result files of real runs of every built-in task (``tests/board_real.py``)."""
    return real_board_results


def panels(page: Path) -> dict[str, list[str]]:
    """Task title -> sample ids listed in its hardest-examples panel (absent: no panel)."""
    out = {}
    for section in page.read_text(encoding="utf-8").split('<section class="run"')[1:]:
        title = re.search(r"<h2>(.*?)</h2>", section).group(1)
        if "<h3>Hardest examples</h3>" in section:
            out[title] = re.findall(r'<span class="sample-id">(.*?)</span>', section)
    return out


def expected(samples_path: Path, wrong, margin) -> list[str]:
    """Ids a task-aware panel lists: wrong lines, largest margin first (hand-computed)."""
    lines = [json.loads(x) for x in samples_path.read_text().splitlines()]
    picked = [
        (-margin(x), x["id"], i) for i, x in enumerate(lines) if not x["invalid"] and wrong(x)
    ]
    return [pid for _, pid, _ in sorted(picked)][:20]


def worst_pair(x):
    return max(x["scores"][1:]) - x["scores"][0]


def test_board_from_real_runs_lists_only_what_each_task_calls_wrong(real_results, tmp_path):
    build_site(real_results, tmp_path / "site")
    pages = {p.stem: p for p in (tmp_path / "site" / "models").iterdir()}
    probe_slug = next(s for s in pages if s.startswith("hf_"))
    prm_slug = next(s for s in pages if s.startswith("prm-token_"))
    assert sorted(pages) == sorted(["length", "random", probe_slug, prm_slug])
    right_starc_items = 0
    for slug in ("length", "random"):
        got = panels(pages[slug])
        folder = real_results / slug
        for task in ("core-pairwise", "core-bon"):
            title = META["tasks"][task]["display_name"]
            want = expected(folder / f"{task}.samples.jsonl", lambda x: x["credit"] < 1, worst_pair)
            assert got[title] == want
        starc = folder / "starc.samples.jsonl"
        lines = [json.loads(x) for x in starc.read_text().splitlines()]
        # items the model ranked right, some with a small distance term (credit) below 1
        right_starc_items += sum(worst_pair(x) < 0 and x["credit"] < 1 for x in lines)
        want = expected(starc, lambda x: worst_pair(x) >= 0, worst_pair)
        assert got["STARC distance"] == want
        assert not {x["id"] for x in lines if worst_pair(x) < 0} & set(want)
        keys = folder / "master-keys.samples.jsonl"
        want = expected(
            keys, lambda x: x["credit"] > 0, lambda x: max(x["scores"][2:]) - x["scores"][1]
        )
        assert got["Master keys"] == want
    assert right_starc_items > 0  # the old panel listed these as "wrong by" a negative margin
    probe_file = real_results / probe_slug / "probe-core.samples.jsonl"
    want = expected(probe_file, lambda x: x["prediction"] != x["label"],
                    lambda x: x["scores"][x["prediction"]] - x["scores"][x["label"]])  # fmt: skip
    html = pages[probe_slug].read_text(encoding="utf-8")
    assert panels(pages[probe_slug])["Probes (core)"] == want and want
    assert "P(label 0)" in html and "chosen ·" not in html  # class probabilities, not rewards
    assert "margin -" not in "".join(p.read_text() for p in pages.values())


# ---------------------------------------------------------------- sample views, unit level


def _line(i: int, scores, credit, **extra):
    return {"id": f"x{i}", "subset": "s", "scores": scores, "credit": credit, "tie": False,
            "invalid": False, "truncated": False, "text_hashes": [], **extra}  # fmt: skip


def _hardest(tmp_path: Path, view: dict, lines: list[dict]) -> list:
    path = tmp_path / "t.samples.jsonl"
    write_samples(path, lines)
    return hardest(path, parse_view(tmp_path / "t.json", view))


def test_rewardbench2_ties_rows_use_their_number_of_correct_answers(tmp_path: Path):
    from rmeval.tasks.rewardbench2 import RewardBench2Task

    lines = [
        # Ties row, 2 correct answers first: 0.5 (correct) is below 0.7 (incorrect) by 0.2
        _line(0, [0.9, 0.5, 0.7, 0.1], 0.0, num_correct=2),
        _line(1, [0.9, 0.8, 0.7, 0.1], 1.0, num_correct=2),  # right: not listed
        _line(2, [0.1, 0.4, 0.2, 0.0], 0.0, num_correct=1),  # best-of-4 row, wrong by 0.3
    ]
    found = _hardest(tmp_path, RewardBench2Task.samples_view, lines)
    assert [h.id for h in found] == ["x2", "x0"]
    assert [round(h.margin, 6) for h in found] == [0.3, 0.2]
    assert [c.label for c in found[1].candidates] == ["chosen", "chosen", "rejected", "rejected"]


def test_rmbench_margin_is_the_worst_chosen_against_the_best_rejected(tmp_path: Path):
    from rmeval.tasks.rmbench import RMBenchTask

    lines = [_line(0, [0.9, 0.2, 0.8, 0.5, 0.4, 0.1], 8 / 9)]
    (found,) = _hardest(tmp_path, RMBenchTask.samples_view, lines)
    assert round(found.margin, 6) == 0.3  # 0.5 (best rejected) - 0.2 (worst chosen)


def test_master_keys_panel_names_keys_in_both_score_kinds(tmp_path: Path):
    from rmeval.tasks.master_keys.task import MasterKeysTask

    keys = {"keys": [" ", "Thought process:"], "reference": "42"}
    lines = [
        _line(0, [0.9, 0.6, 0.7, 0.2], 0.5, **keys),  # key " " fooled the judge
        _line(1, [0.9, 0.2, 0.1, 0.3], 0.0, **keys),  # no key accepted: not wrong
    ]
    judge = MasterKeysTask(mode="probability").describe_samples()
    (found,) = _hardest(tmp_path, judge, lines)
    assert found.id == "x0" and round(found.margin, 6) == 0.2  # 0.7 - the 0.5 threshold
    labels = [c.label for c in found.candidates]
    assert labels == ["correct answer", "wrong answer", 'key " "', 'key "Thought process:"']
    assert ("reference", "42") in found.facts
    reward = MasterKeysTask(mode="reward").describe_samples()
    (found,) = _hardest(tmp_path, reward, lines)
    assert round(found.margin, 6) == 0.1  # best key 0.7 - wrong answer 0.6


def test_a_task_without_a_samples_view_gets_no_panel(results_dir: Path, tmp_path: Path):
    data = result("minilm", "core-pairwise", 0.70, 0.64, 0.76)
    data["task"]["samples_view"] = None
    write_run(results_dir / "minilm" / "core-pairwise.json", data, samples("minilm"))
    build_site(results_dir, tmp_path / "site")
    assert "Core pairwise" not in panels(tmp_path / "site" / "models" / "minilm.html")
    assert panels(tmp_path / "site" / "models" / "hostile.html")["Core pairwise"] == [
        "ex-1", "ex-2", "ex-3"]  # fmt: skip


def test_metadata_names_exactly_the_registered_tasks():
    from rmeval.harness.plugins import task_names

    suites = {"core"}  # a suite: its results are core-pairwise and core-bon
    assert set(META["tasks"]) == set(task_names()) - suites
    listed = [t for section in META["sections"] for t in section["tasks"]]
    assert sorted(listed) == sorted(META["tasks"])


# ---------------------------------------------------------------- wrong shapes, whole sites


def _main(d):
    return d["metrics"][d["task"]["main_score"]]


def snapshot(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    ("task", "mutate", "field"),
    [
        ("rmbench", lambda d: _main(d).update(ci95=[0.1, 0.2, 0.3]), "metrics.score.ci95"),
        ("rmbench", lambda d: _main(d).update(value="0.8"), "metrics.score.value"),
        ("rmbench", lambda d: _main(d).update(ci95=["a", "b"]), "metrics.score.ci95"),
        ("rmbench", lambda d: d["model"].update(n_parameters="7B"), "model.n_parameters"),
        ("rmbench", lambda d: d["by_subset"].update(math="x"), "by_subset.math"),
        ("rmbench", lambda d: d.update(counts="x"), "counts"),
        ("rmbench", lambda d: d["task"].update(higher_is_better="no"), "task.higher_is_better"),
        ("rmbench", lambda d: d["tables"]["style_matrix"].update(chat=[[1, 2]]),
         "tables.style_matrix.chat"),
        ("probe-core", lambda d: d["tables"]["dimensions"]["helpfulness"].update(ci95=[0.1]),
         "tables.dimensions.helpfulness.ci95"),
        ("master-keys", lambda d: d["tables"]["grid"].update(values=[["x"]]), "tables.grid.values"),
        ("rmbench", lambda d: d["task"]["samples_view"].update(wrong="credit<0.5"),
         "task.samples_view.wrong"),
    ],
)  # fmt: skip
def test_fields_of_the_wrong_shape_are_refused_naming_file_and_field(
    results_dir: Path, tmp_path: Path, task, mutate, field
):
    site = tmp_path / "site"
    build_site(results_dir, site)
    before = snapshot(site)
    path = results_dir / "hostile" / f"{task}.json"
    data = json.loads(path.read_text())
    mutate(data)
    write_run(path, data, [])
    with pytest.raises(RmevalError, match=re.escape(f"{path}: field {field} ")) as err:
        build_site(results_dir, site)
    assert "\n" not in str(err.value) and "regenerate the file" in str(err.value)
    assert snapshot(site) == before  # old site kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results", "site"]  # no leftovers


def test_a_bad_samples_line_found_mid_build_leaves_the_old_site(results_dir: Path, tmp_path: Path):
    site = tmp_path / "site"
    build_site(results_dir, site)
    before = snapshot(site)
    lines = samples("random")
    lines[2]["scores"] = ["0.1", 0.4]  # a string where a number belongs
    path = results_dir / "random" / "core-pairwise.json"
    write_run(path, result("random", "core-pairwise", 0.5, 0.44, 0.56), lines)
    samples_file = path.with_name("core-pairwise.samples.jsonl")
    with pytest.raises(RmevalError, match=re.escape(f"{samples_file}:3: field scores must be")):
        build_site(results_dir, site)
    assert snapshot(site) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results", "site"]


def test_a_folder_holding_other_files_is_never_replaced(
    results_dir: Path, tmp_path: Path, monkeypatch
):
    out = tmp_path / "mine"
    (out / "notes").mkdir(parents=True)
    (out / "notes" / "keep.txt").write_text("mine")
    with pytest.raises(RmevalError, match="holds 'notes', which the leaderboard did not write"):
        build_site(results_dir, out)
    assert (out / "notes" / "keep.txt").read_text() == "mine"
    (out / "notes" / "keep.txt").unlink(), (out / "notes").rmdir()
    monkeypatch.chdir(out)  # "--out ." would delete the folder the user works in
    with pytest.raises(RmevalError, match="is the current folder"):
        build_site(results_dir, Path("."))
    assert list(out.iterdir()) == []


def test_site_files_follow_the_umask(results_dir: Path, tmp_path: Path):
    import os

    old = os.umask(0o022)
    try:
        build_site(results_dir, tmp_path / "site")
    finally:
        os.umask(old)
    assert (tmp_path / "site").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "site" / "index.html").stat().st_mode & 0o777 == 0o644


def test_csv_headers_never_start_a_spreadsheet_formula(tmp_path: Path):
    root = tmp_path / "results"
    data = result("hostile", "core-pairwise", 0.8, 0.7, 0.9)
    data["task"]["name"] = '=HYPERLINK("http://x.example","t")'
    data["by_subset"] = {"+SUM(A1)": {"accuracy": {"value": 0.5, "n": 3}}}
    write_run(root / "a" / "t.json", data, [])
    build_site(root, tmp_path / "site")
    header = (tmp_path / "site" / "leaderboard.csv").read_text().splitlines()[0]
    cells = next(__import__("csv").reader([header]))
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    assert '\'=HYPERLINK("http://x.example","t")' in cells
    assert '\'=HYPERLINK("http://x.example","t")/subset/+SUM(A1)' in cells


def test_board_cli_refuses_a_samples_file_that_does_not_match(
    results_dir: Path, tmp_path: Path, capsys
):
    from rmeval.cli import main  # `board` is added outside the engine

    samples_file = results_dir / "random" / "core-pairwise.samples.jsonl"
    samples_file.write_text(samples_file.read_text() + samples_file.read_text())  # replaced
    out = tmp_path / "site"
    assert main(["board", "--results", str(results_dir), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(results_dir / "random" / "core-pairwise.json") in err
    assert "Traceback" not in err and not out.exists()
    assert (
        main(["board", "--results", str(results_dir), "--out", str(out), "--skip-unfinished"]) == 0
    )
    err = capsys.readouterr().err
    assert "left out:" in err and str(samples_file) in err
    page = parse(out / "index.html")
    assert any(str(samples_file) in t for t in page.text)  # listed on the page too
    assert "models/random.html" in (out / "index.html").read_text()  # its other tasks stay
    assert "<h2>Core pairwise</h2>" not in (out / "models" / "random.html").read_text()


def test_every_registered_task_declares_a_view_the_board_reads(tmp_path: Path):
    from rmeval.harness.plugins import load_tasks, task_names

    views = {}
    for name in task_names():
        for task in load_tasks(name):
            views[task.name] = parse_view(tmp_path / "r.json", task.describe()["samples_view"])
    assert set(views) == set(META["tasks"])
    assert views["starc"].wrong == "margin>=0"  # its credit is a distance term, not a verdict
    assert views["rewardbench2"].n_chosen == "num_correct" and views["rmbench"].n_chosen == 3
    assert views["probe-core"].margin == views["mrmbench"].margin == "predicted_minus_label"
    assert views["master-keys"].candidates == "correct/wrong/keys"
