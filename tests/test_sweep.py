"""Sweeps over several models: per-model arguments, incompatible pairs skipped and reported,
every model checked before the first runs, progress without a terminal."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from rmeval.harness.cli import main
from rmeval.harness.errors import RmevalError
from rmeval.harness.sweep import pair_model_args, split_models

ROWS = [
    {"id": "a", "prompt": "q", "chosen": "a long good answer", "rejected": "bad"},
    {"id": "b", "prompt": "q2", "chosen": "no", "rejected": "a much longer answer"},
]


@pytest.fixture
def prefs(tmp_path):
    path = tmp_path / "prefs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS), encoding="utf-8")
    return str(path)


def test_model_args_pair_in_order_or_apply_to_all():
    assert pair_model_args(["a", "b"], ["unit=words", "seed=3"]) == (
        {},
        [{"unit": "words"}, {"seed": 3}],
    )
    assert pair_model_args(["a", "b"], ["seed=3"]) == ({"seed": 3}, None)
    assert pair_model_args(["a"], ["seed=3", "x=1"]) == ({"seed": 3, "x": 1}, None)
    with pytest.raises(RmevalError, match="given 2 times for 3 models"):
        pair_model_args(["a", "b", "c"], ["seed=3", "x=1"])
    assert split_models(["length", {"spec": "random", "args": {"seed": 2}}]) == (
        ["length", "random"],
        [{}, {"seed": 2}],
    )


def test_sweep_skips_an_incompatible_pair_and_reports_it(tmp_path, prefs, capsys, caplog):
    out = tmp_path / "results"
    argv = ["run", "--model", "length", "--model-args", "unit=words", "--model", "random"]
    argv += ["--model-args", "seed=7", "--tasks", "pairwise,probe-core", "--limit", "4"]
    argv += ["--data", f"pairwise={prefs}", "--output-dir", str(out)]
    argv += ["--cache-dir", str(tmp_path / "cache")]
    with caplog.at_level(logging.INFO, logger="rmeval"):
        assert main(argv) == 0
    captured = capsys.readouterr()
    logged = [r.getMessage() for r in caplog.records]
    summary = json.loads((out / "sweep-summary.json").read_text())
    assert [(s["model"], s["task"]) for s in summary["skipped"]] == [
        ("length", "probe-core"),
        ("random", "probe-core"),
    ]
    assert "no hidden states" in summary["skipped"][0]["reason"]
    assert sorted((c["model"], c["task"]) for c in summary["completed"]) == [
        ("length", "pairwise"),
        ("random", "pairwise"),
    ]
    assert logged[-2].startswith("rmeval: skipped probe-core on random: model type 'random'")
    # per-model args applied: length counted words (row a: 4 > 1 words, b: 1 < 4 -> 0.5),
    # random took seed 7 (its result's args say so)
    length, random = sorted(summary["completed"], key=lambda c: c["model"])
    assert length["value"] == 0.5
    record = json.loads(Path(random["file"]).read_text())
    assert record["model"]["args"] == {"seed": 7}
    assert "pairwise" in captured.out  # the summary table still printed
    header = next(line for line in logged if line.startswith("scoring length:"))
    assert (
        header
        == "scoring length: 4 texts, device n/a, dtype n/a, token budget 1,048,576, packing n/a"
    )


def test_a_task_needing_rewards_refuses_probability_scores():
    from rmeval.harness.adapters.baselines import LengthBaseline
    from rmeval.tasks.preference import pairwise
    from rmeval.tasks.starc.task import StarcTask

    class Judge(LengthBaseline):
        score_kind = "probability"

    reason = StarcTask().incompatible(Judge())
    assert reason == "it needs reward scores and model type 'length' gives probability scores"
    assert pairwise().incompatible(Judge()) is None
    assert StarcTask().incompatible(LengthBaseline()) is None


def test_config_list_of_models_with_their_own_args(tmp_path, prefs):
    config = tmp_path / "sweep.yaml"
    config.write_text(
        "model:\n  - spec: length\n    args: {unit: words}\n  - random\ntasks: pairwise\n"
        f"data: {{pairwise: {prefs}}}\noutput_dir: {tmp_path / 'r'}\n"
        f"cache_dir: {tmp_path / 'c'}\n"
    )
    assert main(["run", "--config", str(config)]) == 0
    summary = json.loads((tmp_path / "r" / "sweep-summary.json").read_text())
    length = next(c for c in summary["completed"] if c["model"] == "length")
    assert json.loads(Path(length["file"]).read_text())["model"]["args"] == {"unit": "words"}


def test_a_bad_later_model_path_fails_before_the_first_model_runs(tmp_path, prefs, capsys):
    out = tmp_path / "results"
    argv = ["run", "--model", "length", "--model", f"hf:{tmp_path / 'missing'}"]
    argv += ["--tasks", "pairwise", "--data", f"pairwise={prefs}", "--output-dir", str(out)]
    assert main(argv + ["--cache-dir", str(tmp_path / "cache")]) == 2
    assert "no such model folder" in capsys.readouterr().err
    assert not list(out.rglob("*.json"))


def test_progress_logs_lines_without_a_terminal(monkeypatch, caplog):
    from rmeval.harness import progress

    monkeypatch.setattr(progress, "LOG_EVERY", 0.0)
    with caplog.at_level(logging.INFO, logger="rmeval"):
        bar = progress.Progress(10, "scoring m", "log")
        bar.update(4, 40)
        bar.close()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("scoring m: 4/10 texts (40%), ")
    assert "texts/s, ETA " in lines[0]
    assert lines[-1].startswith("scoring m: 4/10 texts") and "after" in lines[-1]


def test_a_run_where_no_pair_can_run_is_refused(tmp_path, capsys):
    argv = ["run", "--model", "length", "--tasks", "probe-core", "--limit", "2"]
    argv += ["--output-dir", str(tmp_path / "r"), "--cache-dir", str(tmp_path / "c")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "task 'probe-core' cannot run on length: model type 'length' has no hidden" in err
