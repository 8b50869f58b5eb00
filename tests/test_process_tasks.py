"""processbench, process-core, prm-hacking and best-of-n with a PRM, against values worked out
by hand on small files.

The model is the real ``length`` baseline with ``unit=words``: each step's score is its word
count, so the step scores of tests/data/processbench.jsonl are read straight off the file:

    row       steps (words)  label  τ=3: first step < 3
    gsm8k-0   3 2 4          1      1  right
    gsm8k-1   3 3            -1     -1 right
    gsm8k-2   1 3            1      0  wrong
    math-0    3 3 1          -1     2  wrong
    math-1    4 2            1      1  right
    math-2    3 5            0      -1 wrong
    math-3    3              -1     -1 right

acc_erroneous = 2/4, acc_correct = 2/3, F1 = 2·(1/2)(2/3)/(1/2 + 2/3) = 4/7; gsm8k: 1/2, 1,
F1 2/3; math: 1/2, 1/2, F1 1/2. On processbench_dev.jsonl (running minima [3,1] label 1,
[4,4] -1, [2,2] label 0, [5,3] -1) F1 is 0, 2/3, 1, 1/2, 0 at τ = 1, 2, 3, 4, 5: best τ = 3.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rmeval.harness.cache import ScoreCache
from rmeval.harness.errors import RmevalError
from rmeval.harness.plugins import load_tasks
from rmeval.harness.runner import RunOptions, build_model, evaluate_model

DATA = Path(__file__).parent / "data"
BENCH, DEV = str(DATA / "processbench.jsonl"), str(DATA / "processbench_dev.jsonl")
WORDS = {"unit": "words"}


def evaluate(tmp_path, task: str, model: str = "length", args: dict | None = None, **task_args):
    tasks = load_tasks(task, **task_args)
    opts = RunOptions(models=[model], tasks=[task], output_dir=None, progress=False)
    cache = ScoreCache(tmp_path / "cache.sqlite")
    (result,) = evaluate_model(
        build_model(model, WORDS if args is None else args), tasks, cache, opts
    )
    return result


def values(result) -> dict[str, float]:
    return {k: v["value"] for k, v in result.metrics.items()}


def test_processbench_metrics_equal_the_hand_computation(tmp_path):
    result = evaluate(tmp_path, "processbench", data=BENCH, tau=3)
    got = values(result)
    assert got["acc_erroneous"] == pytest.approx(0.5)
    assert got["acc_correct"] == pytest.approx(2 / 3)
    assert got["f1"] == pytest.approx(4 / 7)
    assert got["f1_subset_mean"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert result.by_subset["gsm8k"]["f1"]["value"] == pytest.approx(2 / 3)
    assert result.by_subset["math"]["acc_correct"]["value"] == pytest.approx(0.5)
    lo, hi = result.metrics["f1"]["ci95"]
    assert 0 <= lo <= 4 / 7 <= hi <= 1
    assert result.tables["first_error_confusion"] == {
        "labels": ["none", "0", "1", "2"],
        "matrix": [[2, 0, 0, 1], [1, 0, 0, 0], [0, 1, 2, 0], [0, 0, 0, 0]],
    }
    assert result.counts["erroneous"] == 4 and result.counts["correct"] == 3
    assert result.tables["threshold"] == {"tau": 3.0, "chosen_on": "given"}
    # the default τ = 0.5 flags no step of a word count: nothing erroneous is found
    default = values(evaluate(tmp_path, "processbench", data=BENCH))
    assert (default["acc_erroneous"], default["acc_correct"], default["f1"]) == (0.0, 1.0, 0.0)


def test_tau_best_is_chosen_on_the_named_dev_split_only(tmp_path):
    result = evaluate(tmp_path, "processbench", data=BENCH, tau="best", dev=DEV)
    threshold = result.tables["threshold"]
    assert threshold["tau"] == threshold["dev_tau"] == 3.0 and threshold["chosen_on"] == "dev"
    assert threshold["dev_f1"] == pytest.approx(1.0)
    assert values(result)["f1"] == pytest.approx(4 / 7)  # the test rows at the dev's τ
    # a given τ with a dev split: both reported
    both = values(evaluate(tmp_path, "processbench", data=BENCH, tau=0.5, dev=DEV))
    assert both["f1"] == 0.0 and both["f1_at_dev_tau"] == pytest.approx(4 / 7)
    with pytest.raises(RmevalError, match="tau=best.*dev split you name"):
        load_tasks("processbench", data=BENCH, tau="best")
    with pytest.raises(RmevalError, match="dev rows are the evaluated rows"):
        evaluate(tmp_path, "processbench", data=BENCH, tau="best", dev=BENCH)
    with pytest.raises(RmevalError, match="dev_split=test: that is the evaluated split"):
        load_tasks("process-core", tau="best", dev_split="test")


def test_processbench_rows_are_validated_by_id(tmp_path):
    bad = tmp_path / "bad.jsonl"
    rows = [
        {"id": "x", "problem": "p", "steps": [], "label": -1},
        {"id": "y", "problem": "p", "steps": ["a"], "label": 1},
        {"id": "z", "problem": "p", "steps": ["a", 3], "label": True},
    ]
    bad.write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(RmevalError) as err:
        load_tasks("processbench", data=str(bad))[0].examples()
    text = str(err.value)
    assert "row x: field 'steps' is an empty list" in text
    assert "row y: field 'label' is 1" in text
    assert "row z: field 'steps[1]' is int" in text and "row z: field 'label' is True" in text


def test_process_core_labels_are_the_first_miscalculated_step():
    from rmeval.tasks.process.generator import first_wrong_step, generate_rows

    rows = generate_rows("test", 0)
    assert len(rows) == 240 and sum(r["label"] == -1 for r in rows) == 120
    answers = {r["problem"]: r["steps"][-1] for r in rows if r["label"] == -1}
    assert all(a.startswith("Answer: ") for a in answers.values())
    for row in rows:
        answer = int(answers[row["problem"]].removeprefix("Answer: ").rstrip("."))
        assert first_wrong_step(row["steps"], answer) == row["label"]
        assert row["final_answer_correct"] == (row["label"] == -1)
    train = {r["problem"] for r in generate_rows("train", 0)}
    assert not train & {r["problem"] for r in rows}


HACK_ROWS = [
    {"id": "s0", "problem": "p0", "steps": ["a b c", "a b", "Answer: 5."], "label": -1},
    {"id": "s1", "problem": "p1", "steps": ["a b c d"], "label": -1},
    {"id": "e0", "problem": "p2", "steps": ["a", "b"], "label": 0},  # not correct: skipped
]


def test_prm_hacking_rates_equal_the_hand_computation(tmp_path):
    """Words per step. s0 [3,2,2]: repeat ×2 -> [3,2,2,2,2], filler ×2 -> [3,2,3,4,2];
    s1 [4]: repeat -> [4,4,4], filler -> [3,4,4]. Increases: s0 mean+filler, product and sum
    both (5 of 10 cells); s1 product and sum both (4 of 10)."""
    data = tmp_path / "hack.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in HACK_ROWS))
    result = evaluate(tmp_path, "prm-hacking", data=str(data))
    got = values(result)
    assert got["hacking_rate"] == pytest.approx(0.45)
    assert got["hacking_rate_sum"] == 1.0 and got["hacking_rate_min"] == 0.0
    assert got["hacking_rate_mean"] == pytest.approx(0.25)
    assert result.counts["examples"] == 2
    rows = {(r["aggregation"], r["perturbation"]): r for r in result.tables["by_aggregation"]}
    assert len(rows) == 10
    assert rows["sum", "repeat_step_x2"]["mean_increase"] == pytest.approx(6.0)
    assert rows["mean", "filler_x2"]["rate"] == 0.5
    assert rows["mean", "filler_x2"]["mean_increase"] == pytest.approx((7 / 15 - 1 / 3) / 2)
    assert rows["product", "filler_x2"]["mean_increase"] == pytest.approx((132 + 44) / 2)
    assert rows["min", "filler_x2"]["n"] == 2 and len(rows["min", "filler_x2"]["rate_ci95"]) == 2
    with pytest.raises(RmevalError, match="aggregate=max"):
        load_tasks("prm-hacking", aggregate="max")


def test_best_of_n_with_a_prm_is_reported_per_aggregation(tmp_path):
    """Candidates' lines in words: chosen [2, 2], rejected [5] and [1, 1, 1]: the chosen one
    wins under min (2 > 1, 5 is higher: no), so check each aggregation by hand."""
    data = tmp_path / "bon.jsonl"
    row = {"prompt": "q", "chosen": "a b\nc d", "rejected": ["a b c d e", "a\nb\nc"]}
    data.write_text(json.dumps(row))
    result = evaluate(tmp_path, "best-of-n", data=str(data), aggregate="min|sum|product|last")
    got = values(result)
    # min: 2 vs 5, 1 -> lost; sum: 4 vs 5, 3 -> lost; product: 4 vs 5, 1 -> lost; last: 2 vs 5
    assert got["accuracy_min"] == 0.0 and got["accuracy_sum"] == 0.0
    row["rejected"] = ["a b c", "a\nb\nc"]  # [3] and [1, 1, 1]
    data.write_text(json.dumps(row))
    got = values(evaluate(tmp_path, "best-of-n", data=str(data), aggregate="sum|min|last|mean"))
    # sum: 4 > 3, 3 -> won; min: 2 < 3 -> lost; last: 2 < 3 -> lost; mean: 2 < 3 -> lost
    assert (got["accuracy"], got["accuracy_sum"], got["accuracy_min"]) == (1.0, 1.0, 0.0)
    assert got["accuracy_last"] == 0.0 and got["accuracy_mean"] == 0.0
    with pytest.raises(RmevalError, match="needs one score per step"):
        evaluate(tmp_path, "best-of-n", "embed", {}, data=str(data), aggregate="min")


def test_cli_runs_a_token_prm_on_the_process_tasks_and_score_rereads_the_vectors(
    tmp_path, tiny_token_prm, capsys
):
    from rmeval.harness.cli import main

    common = ["--tasks", "process-core,prm-hacking", "--limit", "6"]
    common += ["--task-args", "aggregate=sum|min", "--cache-dir", str(tmp_path / "cache")]
    model = f"prm-token:{tiny_token_prm}"
    assert (
        main(
            ["run", "--model", model, "--output-dir", str(tmp_path / "a"), *common, "--no-progress"]
        )
        == 0
    )
    assert "process-core" in capsys.readouterr().out
    assert main(["score", "--model", model, "--output-dir", str(tmp_path / "b"), *common]) == 0
    for name in ("process-core", "prm-hacking"):
        a = json.loads(next((tmp_path / "a").glob(f"*/{name}.json")).read_text())
        b = json.loads(next((tmp_path / "b").glob(f"*/{name}.json")).read_text())
        assert a["metrics"] == b["metrics"] and a["tables"] == b["tables"]
    core = json.loads(next((tmp_path / "a").glob("*/process-core.json")).read_text())
    assert core["task"]["main_score"] == "f1" and core["task"]["higher_is_better"] is True
    matrix = core["tables"]["first_error_confusion"]["matrix"]
    assert sum(map(sum, matrix)) == core["counts"]["examples"] == 6
    hack = json.loads(next((tmp_path / "a").glob("*/prm-hacking.json")).read_text())
    assert hack["task"]["higher_is_better"] is False
    assert {r["aggregation"] for r in hack["tables"]["by_aggregation"]} == {"sum", "min"}
    samples = (next((tmp_path / "a").glob("*/process-core.samples.jsonl"))).read_text()
    line = json.loads(samples.splitlines()[0])
    assert len(line["scores"]) == line["n_steps"] and all(0 < s < 1 for s in line["scores"])


def test_compare_resamples_the_f1_formula():
    """The scorer ``rmeval compare`` uses gives the result file's values on the hand rows."""
    import numpy as np
    from rmeval.harness.records import ExampleResult
    from rmeval.tasks.process.metrics import best_threshold

    labels, preds = [1, -1, 1, -1, 1, 0, -1], [1, -1, 0, 2, 1, -1, -1]
    results = [
        ExampleResult(str(i), "s", [1.0], float(p == t), extra={"label": t, "predicted": p})
        for i, (t, p) in enumerate(zip(labels, preds))
    ]
    (task,) = load_tasks("processbench", data=BENCH)
    scorer = task.scorer(results)
    assert scorer.point()["f1"] == pytest.approx(4 / 7)
    assert scorer.resampled(np.array([0, 1]))["f1"] == 1.0  # one right of each kind
    dev = [[3, 1], [4, 4], [2, 4], [5, 3]]
    assert best_threshold(dev, [1, -1, 0, -1]) == (3.0, 1.0)


def test_a_nan_step_is_invalid_and_a_wrong_count_is_refused():
    import math

    from rmeval.harness.records import Score

    (task,) = load_tasks("processbench", data=BENCH)
    example = task.examples()[0]  # three steps
    result = task.evaluate(example, [Score(0.9, steps=(0.9, math.nan, 0.9))])
    assert result.invalid and result.credit is None
    agg = task.aggregate([result, task.evaluate(example, [Score(0.1, steps=(0.9, 0.1, 0.9))])])
    assert agg.counts["invalid"] == 1 and agg.metrics["acc_erroneous"].n == 1
    with pytest.raises(RmevalError, match="example gsm8k-0: .* returned 2 step scores for 3"):
        task.evaluate(example, [Score(0.9, steps=(0.9, 0.9))])


@pytest.mark.parametrize("family", ["prm-tag", "prm-prefix", "prm-implicit"])
def test_every_step_family_writes_processbench_results(
    family, tmp_path, request, tiny_tag_prm, tiny_llama_lm
):
    spec, args = {
        "prm-tag": (f"prm-tag:{tiny_tag_prm}", {}),
        "prm-prefix": (f"prm-prefix:{request.getfixturevalue('tiny_llama_rm')}", {}),
        "prm-implicit": (
            f"prm-implicit:{tiny_llama_lm}",
            {"ref": str(request.getfixturevalue("tiny_llama_lm_ref")), "device": "cpu"},
        ),
    }[family]
    tasks = load_tasks("processbench", data=BENCH, tau="best", dev=DEV)
    opts = RunOptions(models=[spec], tasks=["processbench"], output_dir=str(tmp_path / "out"))
    opts.progress = False
    model = build_model(spec, args)
    (result,) = evaluate_model(model, tasks, ScoreCache(tmp_path / "c.sqlite"), opts)
    written = json.loads(result.path.read_text())
    assert written["counts"]["examples"] == 7 and written["counts"]["invalid"] == 0
    assert written["tables"]["threshold"]["chosen_on"] == "dev"
    lines = result.path.with_suffix(".samples.jsonl").read_text().splitlines()
    assert [len(json.loads(x)["scores"]) for x in lines] == [3, 2, 2, 3, 2, 2, 1]
