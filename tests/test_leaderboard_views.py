"""Leaderboard views: paired ties, display names and ``--metadata``, logged texts, page weight."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rmeval.harness.compare import TaskRun, compare_task, read_samples
from rmeval.harness.errors import RmevalError
from rmeval.leaderboard import build_site
from rmeval.leaderboard.display import short_spec
from rmeval.leaderboard.formatting import fmt
from rmeval.leaderboard.loading import load_results
from rmeval.leaderboard.site import load_metadata
from rmeval.leaderboard.table import build_table

from tests.board_fixtures import HOSTILE_TEXT, result, write_results, write_run

META = load_metadata()


def _lines(credits: list[float]) -> list[dict]:
    return [{"id": f"p{i}", "subset": "s", "scores": [c, 1 - c], "credit": c, "tie": False,
             "invalid": False, "truncated": False, "text_hashes": []}
            for i, c in enumerate(credits)]  # fmt: skip


def _pairwise(root: Path, slug: str, model: str, credits: list[float], ci: list[float]) -> None:
    mean = sum(credits) / len(credits)
    write_run(root / slug / "core-pairwise.json",
              result(model, "core-pairwise", mean, *ci), _lines(credits))  # fmt: skip


def test_ties_come_from_the_paired_test_not_from_overlapping_cis(tmp_path: Path):
    root = tmp_path / "results"
    _pairwise(root, "a", "hostile", [1.0] * 40, [0.9, 1.0])
    _pairwise(root, "b", "minilm", [1.0] * 39 + [0.0], [0.9, 1.0])  # one item differs
    # c's recorded CI overlaps a's, but it loses 16 shared items and wins none: not tied
    _pairwise(root, "c", "random", [1.0] * 24 + [0.0] * 16, [0.45, 0.95])
    runs = load_results(root).runs
    table = build_table(runs, META)
    assert table.leader.at["a", "core-pairwise"]
    assert table.tied.at["b", "core-pairwise"]  # a difference of 1/40: CI contains 0
    assert not table.tied.at["c", "core-pairwise"]
    paired = table.paired[("c", "core-pairwise")]
    assert paired.n == 40 and paired.diff == pytest.approx(-16 / 40)
    assert paired.ci95[1] < 0
    # the same verdict as `rmeval compare` on the pair
    by_slug = {r.slug: TaskRun(r.slug, r.path, r.data, read_samples(r.samples)) for r in runs}
    report = compare_task("core-pairwise", [by_slug["a"], by_slug["c"]], seed=0, loader=None)
    row = next(r for r in report["rows"] if r["metric"] == "accuracy")
    assert row["ci95"] == paired.ci95 and row["significant"]
    html = _build(root, tmp_path / "site")
    assert "paired comparison with the leader on 40 shared items" in html


def _build(results: Path, out: Path, **kw) -> str:
    build_site(results, out, **kw)
    return (out / "index.html").read_text(encoding="utf-8")


def test_display_names_never_show_local_paths():
    assert short_spec("hf:/home/me/ckpts/rm-7b/") == "hf:rm-7b"
    assert short_spec("hf:./runs/x/final") == "hf:final"
    assert short_spec("C:\\models\\rm") == "rm"
    assert (
        short_spec("hf:OpenAssistant/reward-model-deberta")
        == "hf:OpenAssistant/reward-model-deberta"
    )
    assert short_spec("random:seed=0") == "random:seed=0"


def test_model_pages_never_show_local_paths_in_params(tmp_path: Path):
    root = tmp_path / "results"
    data = result("hostile", "core-pairwise", 0.8, 0.7, 0.9)
    data["task"]["params"] = {"data": "/home/me/secret/prefs.jsonl", "ties": "half"}
    data["model"]["args"] = {"base": "/home/me/secret/base-7b", "hub": "org/name"}
    write_run(root / "a" / "core-pairwise.json", data, [])
    build_site(root, tmp_path / "site")
    pages = [p.read_text(encoding="utf-8") for p in (tmp_path / "site" / "models").glob("*.html")]
    assert pages and all("/home/me" not in page for page in pages)
    assert any("prefs.jsonl" in page and "base-7b" in page for page in pages)


def test_integers_are_shown_as_integers():
    assert [fmt(160.0), fmt(160), fmt(0.5), fmt(1.0), fmt(1234.5), fmt(None)] == [
        "160", "160", "0.500", "1.000", "1234.5", "n/a"
    ]  # fmt: skip


def _metadata(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "board.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_metadata_file_names_links_and_describes(tmp_path: Path):
    results = write_results(tmp_path)
    meta = _metadata(
        tmp_path,
        """
models:
  minilm: {display_name: MiniLM similarity, link: "https://example.org/minilm",
           organisation: Example Lab, license: Apache-2.0, date: 2026-01-02}
tasks:
  core-pairwise: {display_name: Pairs, description: "Pairs <b>described</b>."}
""",
    )
    html = _build(results, tmp_path / "site", user_metadata=meta)
    assert ">MiniLM similarity</a>" in html and "Example Lab" in html
    assert "Pairs ↑" in html and "Pairs &lt;b&gt;described&lt;/b&gt;." in html
    model = (tmp_path / "site" / "models" / "minilm.html").read_text(encoding="utf-8")
    for fact in ("MiniLM similarity", "https://example.org/minilm", "Apache-2.0", "2026-01-02"):
        assert fact in model
    assert 'href="https://' not in model  # shown as text: a link from a file is never followed
    data = json.loads((tmp_path / "site" / "leaderboard.json").read_text())
    minilm = next(m for m in data["models"] if m["slug"] == "minilm")
    assert minilm["spec"] == "embed:minilm" and minilm["organisation"] == "Example Lab"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("models: {minilm: {link: 'javascript:alert(1)'}}", "'models.minilm.link' must be an http"),
        ("models: {minilm: {colour: red}}", "unknown field 'colour' in models.minilm"),
        ("tasks: {rmbench: {section_order: hard}}", "'tasks.rmbench.section_order' must be a list"),
        ("[1, 2]", "expected a mapping"),
    ],
)
def test_a_bad_metadata_file_is_refused_naming_the_field(tmp_path: Path, text, message):
    results = write_results(tmp_path)
    path = _metadata(tmp_path, text)
    with pytest.raises(RmevalError, match=re.escape(message)) as err:
        build_site(results, tmp_path / "site", user_metadata=path)
    assert str(path) in str(err.value)


def test_logged_texts_reach_the_hardest_examples_escaped(real_board_results: Path, tmp_path: Path):
    line = json.loads(
        (real_board_results / "length" / "core-pairwise.samples.jsonl").read_text().splitlines()[0]
    )
    assert isinstance(line["prompt"], str) and line["prompt"]
    assert len(line["texts"]) == len(line["scores"]) == 2  # candidates in score order
    build_site(real_board_results, tmp_path / "site")
    page = (tmp_path / "site" / "models" / "length.html").read_text(encoding="utf-8")
    assert "Texts are not stored" not in page
    assert '<pre class="text">' in page
    # the probe runs were not asked to log texts: their lines hold hashes only
    probe = next((real_board_results).glob("hf*/probe-core.samples.jsonl"))
    assert "texts" not in json.loads(probe.read_text().splitlines()[0])


def test_hostile_logged_text_is_escaped(tmp_path: Path):
    results = write_results(tmp_path)
    build_site(results, tmp_path / "site")
    page = (tmp_path / "site" / "models" / "hostile.html").read_text(encoding="utf-8")
    assert HOSTILE_TEXT not in page and "&lt;/script&gt;&lt;script&gt;" in page


def test_page_of_every_task_stays_under_2_mb(real_board_results: Path, tmp_path: Path):
    html = _build(real_board_results, tmp_path / "site")
    assert len(html.encode("utf-8")) < 2_000_000
    assert "plotly.js (cartesian - minified) v4.1.1" in html
    assert "/tmp/" not in re.sub(r'href="[^"]*"|data-search="[^"]*"', "", html)


def test_with_texts_adds_the_prompt_after_its_turns_and_candidates_in_score_order():
    from rmeval.harness.records import Example, ExampleResult
    from rmeval.harness.sample_texts import with_texts

    ex = Example(
        "e1", "s", "and now?", ("good", "bad"), context=(("user", "hi"), ("assistant", "yo"))
    )
    kept = ExampleResult("other", "s", [0.1], 1.0)
    out = with_texts([ex], [ExampleResult("e1", "s", [0.9, 0.2], 1.0, extra={"k": 1}), kept])
    assert out[0].to_dict()["prompt"] == "user: hi\nassistant: yo\nand now?"
    assert out[0].to_dict()["texts"] == ["good", "bad"] and out[0].extra["k"] == 1
    assert out[1] is kept  # no example of that id: left as it was
