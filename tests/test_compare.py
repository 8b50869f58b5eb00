"""``rmeval compare``: paired differences, tests and refusals on hand-made run folders."""

from __future__ import annotations

import argparse
import copy
import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import numpy as np
import pytest
from rmeval.harness.cli import main as cli_main
from rmeval.harness.compare import compare_runs, load_runs, sign_test_p
from rmeval.harness.compare_command import add_compare_parser, compare_main
from rmeval.harness.comparison_report import p_text
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import ExampleResult, Score
from rmeval.harness.results import SCHEMA_VERSION, write_result
from rmeval.tasks.preference import PairwiseTask
from rmeval.tasks.rewardbench import rewardbench

from tests.test_rewardbench import V1_CHAT, V1_REASONING, V1_SCORES, v1_rows, write_jsonl


def write_run(
    folder, task, samples, *, sha="abc", revision=None, main="accuracy", metrics=None, hib=True,
    **extra,
):  # fmt: skip
    """A run folder in the results format: <task>.json + <task>.samples.jsonl."""
    folder.mkdir(parents=True, exist_ok=True)
    result = {
        "schema_version": SCHEMA_VERSION,
        "model": {"spec": f"hf:./{folder.name}"},
        "task": {
            "name": task,
            "version": "1",
            "params": {},
            "dataset": {"path": "d.jsonl", "revision": revision, "split": None, "sha256": sha},
            "main_score": main,
            "higher_is_better": hib,
        },
        "metrics": metrics or {main: {"value": None, "ci95": None, "n": len(samples)}},
        "status": "complete",
    } | extra
    write_result(folder, task, result, samples)
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


def test_refuses_runs_with_different_task_settings(tmp_path):
    write_run(tmp_path / "a", "pairwise", pair_samples(A_CREDITS, SUBSETS))
    write_run(tmp_path / "b", "pairwise", pair_samples(B_CREDITS, SUBSETS))
    path = tmp_path / "b" / "pairwise.json"
    result = json.loads(path.read_text(encoding="utf-8"))
    result["task"]["params"] = {"ties": "half", "data": "elsewhere.jsonl"}
    path.write_text(json.dumps(result), encoding="utf-8")
    runs = load_runs([tmp_path / "a", tmp_path / "b"])
    with pytest.raises(RmevalError, match="different task settings"):
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
    assert header[:6] == ["task", "score", "better", "rm-a", "rm-b", "rm-b-rm-a"]
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


# -- the task's own numbers -------------------------------------------------------------------
def _result(folder, task):
    return json.loads((folder / f"{task}.json").read_text())


def test_run_then_compare_rows_are_the_result_files_values(tmp_path, capsys):
    out = tmp_path / "res"
    argv = ["run", "--model", "length", "--model", "random", "--tasks", "core,starc,master-keys"]
    assert cli_main([*argv, "--limit", "6", "--output-dir", str(out)]) == 0
    runs = [out / "length", out / "random"]
    capsys.readouterr()
    assert cli_main(["compare", *map(str, runs), "--json", str(tmp_path / "cmp.json")]) == 0
    text = capsys.readouterr().out
    report = json.loads((tmp_path / "cmp.json").read_text())
    assert set(report["tasks"]) == {"core-pairwise", "core-bon", "starc", "master-keys"}
    assert report["tasks"]["starc"]["method"] == report["tasks"]["master-keys"]["method"] == "task"
    for row in report["rows"]:
        files = [_result(f, row["task"]) for f in runs]
        main = files[0]["task"]["main_score"]
        if row["metric"].startswith("subset:"):
            subset = row["metric"].removeprefix("subset:")
            values = [f["by_subset"][subset].get(main, {}).get("value") for f in files]
            if row["measure"] == "mean credit":  # core: by_subset holds the accuracy itself
                values = [f["by_subset"][subset]["accuracy"]["value"] for f in files]
        else:
            values = [f["metrics"][row["metric"]]["value"] for f in files]
        assert [row["a_value"], row["b_value"]] == values, row
        if row["metric"] == main:
            assert f"{values[0]:.4f}  {values[1]:.4f}" in text  # the summary line prints them
            assert row["measure"] == main
    starc = next(r for r in report["rows"] if r["metric"] == "starc_distance")
    assert starc["a_value"] > 1.0 and starc["ci95"][0] <= starc["diff"] <= starc["ci95"][1]
    for row in report["rows"]:  # no sign test on credits that are not the task's score
        if row["task"] in {"starc", "master-keys"} and row["measure"] != "mean credit":
            assert row["p_method"] == "bootstrap", row
        elif row["task"].startswith("core"):
            assert "p_method" not in row


def test_bootstrap_p_value_is_twice_the_far_side_share():
    from rmeval.harness.paired_stats import _boot_p

    diffs = np.array([-1.0] * 30 + [0.0] * 10 + [2.0] * 960)  # 40 of 1000 at or below 0
    assert _boot_p(diffs) == pytest.approx(0.08)
    assert _boot_p(np.ones(1000)) == pytest.approx(0.002)  # none on the far side: p < 2/1000
    assert _boot_p(np.array([-1.0, 1.0] * 500)) == 1.0


def test_paired_ci_level_from_a_difference_with_a_known_distribution():
    from rmeval.harness.paired_stats import ItemScorer, paired_cis

    # B - A is idx[0] of a resample of range(1000), uniform on 0..999: its central 95% is about
    # [25, 975] (a 90% interval would be [50, 950]); sampling error over 1000 resamples ~5
    a = ItemScorer(1000, lambda idx: {"m": 0.0})
    b = ItemScorer(1000, lambda idx: {"m": 0.0 if idx is None else float(idx[0])})
    lo, hi = paired_cis(a, b, ["m"], seed=0)["m"]["ci95"]
    assert lo == pytest.approx(25, abs=15) and hi == pytest.approx(975, abs=15)


def _quick_probe(x, y, seed=0, *, name="probe"):
    """``fit_probe`` without the C grid search (the comparison needs fitted probes, not good ones)."""
    from rmeval.probes.fit import Probe, majority_label
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=200).fit(x, y)
    classes = [int(c) for c in model.classes_]
    return Probe(model, classes, 1.0, 0.0, majority_label(np.asarray(y)))


def test_probe_rows_are_the_result_files_values(tmp_path, monkeypatch):
    from tests.test_probes import FakeModel, SyntheticTask, _run

    monkeypatch.setattr("rmeval.probes.task.fit_probe", _quick_probe)

    class SmallSynthetic(SyntheticTask):
        def load_rows(self):
            rows, info = super().load_rows()
            return [r for r in rows if int(r["id"].rsplit("-", 1)[1]) < 24], info

    task = SmallSynthetic(confidence=False)
    results, agg = _run(task, FakeModel("helpfulness"))
    worse = copy.deepcopy(results)  # the samples of another model's probes
    for k, r in enumerate(worse):
        if r.subset == "helpfulness" and k % 3:
            r.extra["prediction"] = 1 - r.extra["label"]
            r.credit = 0.0
    folders = []
    for name, res, ag in (("good", results, agg), ("worse", worse, task.aggregate(worse))):
        metrics = {k: v.to_dict() for k, v in ag.metrics.items()}
        folders.append(
            write_run(
                tmp_path / name, "probe-synthetic", res, metrics=metrics, by_subset=ag.by_subset
            )
        )
    report = compare_runs(load_runs(folders), loader=lambda n, **p: [SmallSynthetic(**p)])
    rows = {r["metric"]: r for r in report["rows"]}
    files = [_result(f, "probe-synthetic") for f in folders]
    assert rows["accuracy"]["method"] == "task"
    assert [rows["accuracy"]["a_value"], rows["accuracy"]["b_value"]] == [
        f["metrics"]["accuracy"]["value"] for f in files
    ]
    assert [rows["macro_f1"]["a_value"], rows["macro_f1"]["b_value"]] == pytest.approx(
        [f["metrics"]["macro_f1"]["value"] for f in files], abs=1e-12
    )
    helpful = rows["subset:helpfulness"]
    assert [helpful["a_value"], helpful["b_value"]] == [
        f["by_subset"]["helpfulness"]["accuracy"]["value"] for f in files
    ]
    assert helpful["better"] == "good" and helpful["significant"]


def test_probe_scorer_macro_f1_is_sklearns_over_the_probes_classes():
    from rmeval.probes.task import probe_core
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    y, pred = rng.integers(0, 3, 40), rng.integers(0, 2, 40)  # class 3: the probe's, never seen
    samples = [
        ExampleResult(
            f"i{k}", "coherence", [0.5, 0.5], float(a == b),
            extra={"label": int(a), "prediction": int(b), "classes": [0, 1, 3]},
        )
        for k, (a, b) in enumerate(zip(y, pred, strict=True))
    ]  # fmt: skip
    scorer = probe_core().scorer(samples)
    want = f1_score(y, pred, labels=[0, 1, 2, 3], average="macro", zero_division=0)
    assert scorer.point()["macro_f1"] == pytest.approx(want, abs=1e-15)
    assert scorer.point()["accuracy"] == float(np.mean(y == pred))
    idx = rng.integers(0, 40, 40)
    want = f1_score(y[idx], pred[idx], labels=[0, 1, 2, 3], average="macro", zero_division=0)
    assert scorer.resampled(idx)["macro_f1"] == pytest.approx(want, abs=1e-15)


# -- the printed report -----------------------------------------------------------------------
def _cli(parts, capsys):
    capsys.readouterr()
    rc = cli_main(["compare", *map(str, parts)])
    return rc, capsys.readouterr()


@pytest.fixture
def many_items(tmp_path):
    """1,100 items: B right on every one, A on none (p underflows double precision)."""
    n = 1100
    for name, credit in (("rm-a", 0), ("rm-b", 1)):
        for hib in (True, False):
            task = "pairwise" if hib else "lower"
            samples = pair_samples([credit] * n, ["s1"] * n)
            write_run(tmp_path / name, task, samples, hib=hib)
    return [tmp_path / "rm-a", tmp_path / "rm-b"]


def test_summary_verdict_follows_the_direction_and_tiny_p_is_shown(many_items, capsys):
    rc, out = _cli(many_items, capsys)
    assert rc == 0
    lines = {line.split()[0]: line for line in out.out.splitlines() if line}
    assert lines["pairwise"].endswith("rm-b better, CI excludes 0")
    assert lines["lower"].endswith("rm-a better, CI excludes 0")  # lower is better
    assert "<1e-16" in lines["pairwise"] and " 0  " not in lines["pairwise"]
    assert "subset:s1" not in out.out
    rc, out = _cli([*many_items, "--details"], capsys)
    assert rc == 0 and "subset:s1" in out.out


def test_p_text():
    assert p_text(0.0) == "<1e-16" and p_text(3e-17) == "<1e-16"
    assert p_text(0.0123) == "0.0123" and p_text(1.0) == "1" and p_text(None) == "-"


def test_three_runs_are_a_table_against_the_best(tmp_path, capsys):
    write_run(tmp_path / "rm-a", "pairwise", pair_samples(A_CREDITS, SUBSETS))
    write_run(tmp_path / "rm-b", "pairwise", pair_samples(B_CREDITS, SUBSETS))
    write_run(tmp_path / "rm-c", "pairwise", pair_samples(A_CREDITS, SUBSETS))
    rc, out = _cli([tmp_path / "rm-a", tmp_path / "rm-b", tmp_path / "rm-c"], capsys)
    assert rc == 0
    head, _, row, *_ = out.out.splitlines()
    assert head.split() == ["task", "score", "better", "best", "rm-a", "rm-b", "rm-c"]
    assert row.split()[:4] == ["pairwise", "accuracy", "higher", "rm-b"]
    assert "0.8000 (best)" in row and row.count("0.5000 -0.3000 [") == 2  # A, C vs B


# -- refusals ---------------------------------------------------------------------------------
def test_json_to_a_folder_or_under_a_file_is_one_sentence(two_runs, tmp_path, capsys):
    (tmp_path / "file.txt").write_text("x")
    under_file = tmp_path / "file.txt" / "c.json"
    for bad, why in ((tmp_path, f"{tmp_path}: is a folder"), (under_file, f"write {under_file} (")):
        rc, out = _cli([*two_runs, "--json", bad], capsys)
        assert rc == 2 and out.out == ""  # refused before any work
        assert out.err.startswith("rmeval: error: --json") and why in out.err
        assert len(out.err.strip().splitlines()) == 1 and "Traceback" not in out.err


def test_compare_verifies_each_result_with_check_result(two_runs):
    samples = two_runs[1] / "pairwise.samples.jsonl"
    samples.write_text(samples.read_text().replace('"credit": 0.0', '"credit": 1.0'))
    with pytest.raises(RmevalError, match="does not match the sha256"):
        load_runs(two_runs)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.update(task=5), "field task must be an object"),
        (lambda r: r["metrics"]["accuracy"].update(value="0.5"), "field metrics.accuracy.value"),
    ],
)
def test_a_result_field_of_the_wrong_shape_is_one_sentence(two_runs, capsys, mutate, field):
    path = two_runs[1] / "pairwise.json"
    result = json.loads(path.read_text())
    mutate(result)
    path.write_text(json.dumps(result))
    rc, out = _cli(two_runs, capsys)
    assert rc == 2 and f"{path}: {field}" in out.err and "Traceback" not in out.err
