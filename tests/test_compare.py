"""``rmeval compare``: paired differences, tests and refusals on hand-made run folders."""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import pytest

from harness.compare import (
    add_compare_parser,
    compare_main,
    compare_runs,
    load_runs,
    sign_test_p,
)
from harness.errors import RmevalError
from harness.records import ExampleResult, Score
from tasks.preference import PairwiseTask
from tasks.rewardbench import rewardbench
from tests.test_rewardbench import V1_CHAT, V1_REASONING, V1_SCORES, v1_rows, write_jsonl


def write_run(folder, task, samples, *, sha="abc", revision=None, main="accuracy", metrics=None):
    """A run folder in the results format: <task>.json + <task>.samples.jsonl."""
    folder.mkdir(parents=True, exist_ok=True)
    result = {
        "schema_version": 1,
        "model": {"spec": f"hf:./{folder.name}"},
        "task": {
            "name": task,
            "version": "1",
            "params": {},
            "dataset": {"path": "d.jsonl", "revision": revision, "split": None, "sha256": sha},
            "main_score": main,
            "higher_is_better": True,
        },
        "metrics": metrics or {main: {"value": None, "ci95": None, "n": len(samples)}},
        "status": "complete",
    }
    (folder / f"{task}.json").write_text(json.dumps(result), encoding="utf-8")
    lines = "".join(json.dumps(s.to_dict()) + "\n" for s in samples)
    (folder / f"{task}.samples.jsonl").write_text(lines, encoding="utf-8")
    return folder


def pair_samples(credits, subsets, extra_ids=()):
    """Pairwise samples: credit 1 -> scores [1, 0], credit 0 -> [0, 1]."""
    out = [
        ExampleResult(f"i{k}", s, [1.0, 0.0] if c else [0.0, 1.0], float(c))
        for k, (c, s) in enumerate(zip(credits, subsets, strict=True))
    ]
    return out + [ExampleResult(i, "s1", [1.0, 0.0], 1.0) for i in extra_ids]


A_CREDITS = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]  # mean 0.5
B_CREDITS = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]  # mean 0.8: B better on i5, i6, i7, never worse
SUBSETS = ["s1"] * 5 + ["s2"] * 5


def no_scorer(name, **params):
    return [PairwiseTask(**params)]


@pytest.fixture
def two_runs(tmp_path):
    write_run(tmp_path / "rm-a", "pairwise", pair_samples(A_CREDITS, SUBSETS, extra_ids=["only-a"]))
    write_run(tmp_path / "rm-b", "pairwise", pair_samples(B_CREDITS, SUBSETS))
    return [tmp_path / "rm-a", tmp_path / "rm-b"]


def test_sign_test_is_the_exact_binomial_tail():
    assert sign_test_p(5, 0) == pytest.approx(2 / 32)  # 2·(1/2)^5
    assert sign_test_p(1, 9) == pytest.approx(2 * (1 + 10) / 1024)  # 2·(C(10,0)+C(10,1))/2^10
    assert sign_test_p(3, 3) == 1.0 and sign_test_p(0, 0) == 1.0


def test_known_paired_difference_on_shared_items(two_runs):
    report = compare_runs(load_runs(two_runs), seed=0, loader=no_scorer)
    main = report["rows"][0]
    assert (main["metric"], main["a"], main["b"], main["n"]) == ("accuracy", "rm-a", "rm-b", 10)
    assert (
        main["method"] == "credit_mean" and report["tasks"]["pairwise"]["method"] == "credit_mean"
    )
    # 'only-a' is not shared: A = 5/10, B = 8/10, B - A = 0.3
    assert (main["a_value"], main["b_value"]) == (0.5, 0.8)
    assert main["diff"] == pytest.approx(0.3)
    # 3 discordant items, all in B's favour: exact McNemar p = 2·(1/2)^3 = 0.25
    assert main["p_value"] == pytest.approx(0.25)
    # every per-item difference is >= 0, so every paired resample's difference is too
    lo, hi = main["ci95"]
    assert 0.0 <= lo < 0.3 < hi
    assert main["agreement"] == pytest.approx(0.7)  # same argmax on 7 of 10 items
    subsets = {r["metric"]: r for r in report["rows"][1:]}
    assert subsets["subset:s1"]["diff"] == 0.0 and subsets["subset:s1"]["p_value"] == 1.0
    assert subsets["subset:s2"]["diff"] == pytest.approx(0.6)
    assert report["tasks"]["pairwise"]["n_items"] == {"rm-a": 11, "rm-b": 10}


@pytest.mark.parametrize(
    ("key", "kw"), [("sha256", {"sha": "other"}), ("revision", {"revision": "v2"})]
)
def test_refuses_runs_on_different_data(tmp_path, key, kw):
    write_run(tmp_path / "a", "pairwise", pair_samples(A_CREDITS, SUBSETS))
    write_run(tmp_path / "b", "pairwise", pair_samples(B_CREDITS, SUBSETS), **kw)
    runs = load_runs([tmp_path / "a", tmp_path / "b"])
    with pytest.raises(RmevalError, match=f"used different datasets \\({key} "):
        compare_runs(runs, loader=no_scorer)


def test_rewardbench_main_score_is_recomputed_by_the_task(tmp_path):
    task = rewardbench(data=write_jsonl(tmp_path / "rb.jsonl", v1_rows()))
    b_scores = V1_SCORES | {"2": [2.0, 1.0], "8": [1.0, 0.0]}  # B fixes the tie and hep-python
    for name, scores in (("a", V1_SCORES), ("b", b_scores)):
        results = [task.evaluate(ex, [Score(v) for v in scores[ex.id]]) for ex in task.examples()]
        metrics = {k: v.to_dict() for k, v in task.aggregate(results).metrics.items()}
        write_run(tmp_path / name, "rewardbench", results, main="score", metrics=metrics)
    report = compare_runs(
        load_runs([tmp_path / "a", tmp_path / "b"]), loader=lambda n, **p: [rewardbench(**p)]
    )
    rows = {r["metric"]: r for r in report["rows"]}
    # A = (78/128 + 0.5 + 6/7)/3; B: Chat = (1·100 + 1·28)/128 = 1, Chat Hard 0.5, Reasoning 1
    assert rows["score"]["method"] == "task"
    assert rows["score"]["b_value"] == pytest.approx(2.5 / 3)
    assert rows["score"]["diff"] == pytest.approx((1 - V1_CHAT + 1 - V1_REASONING) / 3)
    assert rows["chat"]["diff"] == pytest.approx(1 - V1_CHAT)
    assert rows["chat_hard"]["diff"] == 0.0
    # the sign test still counts per-item credits: B better on ids 2 and 8, worse on none
    assert rows["score"]["p_value"] == pytest.approx(0.5)
    assert rows["subset:math-prm"]["diff"] == 0.0


def test_cli_prints_table_writes_json_and_starc(two_runs, tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="rmeval")
    add_compare_parser(parser.add_subparsers(dest="command"))
    out = tmp_path / "cmp.json"
    args = parser.parse_args(
        ["compare", *map(str, two_runs), "--json", str(out), "--distance", "starc",
         "--output-dir", str(tmp_path / "res")]
    )  # fmt: skip
    assert args.func(args) == 0 and args.func is compare_main
    text = capsys.readouterr().out
    header = text.splitlines()[0].split()
    assert header[:4] == ["task", "metric", "A", "B"]
    assert "+0.3000" in text and "pairwise" in text
    report = json.loads(out.read_text())
    assert report["rows"][0]["diff"] == pytest.approx(0.3)
    starc = json.loads((tmp_path / "res" / "compare" / "starc.json").read_text())
    assert starc["models"] == ["rm-a", "rm-b"] and starc["task"] == "pairwise"
    assert starc["n_prompts"] == 10  # shared items only
    assert starc["starc"][0][0] == 0.0 and starc["starc"][0][1] == starc["starc"][1][0] > 0


def test_cli_needs_two_runs(two_runs):
    args = argparse.Namespace(runs=[str(two_runs[0])], task=None, distance=None)
    with pytest.raises(RmevalError, match="two or more run folders"):
        compare_main(args)
