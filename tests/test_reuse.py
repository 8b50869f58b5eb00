"""An unchanged rerun reuses its result file (data not even parsed, file not rewritten); any
change to what decides the numbers, a tampered samples file, ``--recompute``, hub data or the
Python API without an output folder evaluates again."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from rmeval.harness import reuse, runner
from rmeval.harness.adapters.pretrained import Checkpoint
from rmeval.harness.cli import main
from rmeval.harness.errors import RmevalError
from rmeval.harness.plugins import included
from rmeval.harness.result_fields import validate_result
from rmeval.harness.results import read_result
from rmeval.harness.runner import RunOptions, build_model, build_tasks
from rmeval.harness.task import Task

import rmeval

ROWS = [
    {"id": "a", "prompt": "q1", "chosen": "a long and careful answer", "rejected": "no"},
    {"id": "b", "prompt": "q2", "chosen": "yes", "rejected": "a much longer wrong answer"},
    {"id": "c", "prompt": "q3", "chosen": "four words right here", "rejected": "two words"},
    {"id": "d", "prompt": "q4", "chosen": "tie", "rejected": "eit"},
]


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", "utf-8")
    return path


@pytest.fixture
def run_dir(tmp_path):
    """A data file and the argv of `rmeval run` on it (output and cache under tmp_path)."""
    data = write_rows(tmp_path / "prefs.jsonl", ROWS)
    argv = ["run", "--tasks", "pairwise", "--data", f"pairwise={data}", "--no-progress"]
    argv += ["--output-dir", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")]
    return tmp_path, data, argv


@pytest.fixture
def evaluated(monkeypatch):
    """The task names ``evaluate_model`` is called with, in order (what was recomputed)."""
    calls: list[str] = []
    real = runner.evaluate_model

    def spy(model, tasks, *args, **kwargs):
        calls.extend(t.name for t in tasks)
        return real(model, tasks, *args, **kwargs)

    monkeypatch.setattr(runner, "evaluate_model", spy)
    return calls


def files_state(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Bytes and mtime (ns) of every result and samples file under ``folder``."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*.json*"))
        if p.name != "sweep-summary.json"
    }


def no_data_read(monkeypatch):
    """Make any parse of task data, or building of examples, fail the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("the data was read")

    monkeypatch.setattr(Task, "examples", refuse)
    monkeypatch.setattr("rmeval.harness.data.read_local_rows", refuse)


def test_unchanged_rerun_reports_the_file_without_reading_data(run_dir, capsys, monkeypatch):
    tmp, _, argv = run_dir
    argv = [*argv, "--model", "length", "--model", "random"]
    assert main(argv) == 0
    fresh = capsys.readouterr().out.splitlines()
    before = files_state(tmp / "out")
    summary = json.loads((tmp / "out" / "sweep-summary.json").read_text())
    for name in ("length/pairwise.json", "random/pairwise.json"):
        inputs = json.loads((tmp / "out" / name).read_text())["inputs"]
        assert isinstance(inputs, str) and len(inputs) == 64

    no_data_read(monkeypatch)
    assert main(argv) == 0
    again = capsys.readouterr().out.splitlines()
    assert again[0] == fresh[0]  # header
    assert again[1:3] == [line + reuse.REUSED_NOTE for line in fresh[1:3]]
    assert again[3:] == fresh[3:]  # the counts lines
    assert files_state(tmp / "out") == before  # neither rewritten nor touched
    assert json.loads((tmp / "out" / "sweep-summary.json").read_text()) == summary


def _tamper_samples(tmp: Path, data: Path, argv: list[str]) -> list[str]:
    with (tmp / "out" / "length" / "pairwise.samples.jsonl").open("a") as fh:
        fh.write("\n")
    return argv


def _reformat_data(tmp: Path, data: Path, argv: list[str]) -> list[str]:
    data.write_text(data.read_text().replace('": "', '":  "'), "utf-8")  # same rows, new bytes
    return argv


def _code_changed(tmp: Path, data: Path, argv: list[str]) -> list[str]:
    return argv  # the test replaces the code hash


CHANGES = {
    "data bytes": _reformat_data,
    "task arg": lambda tmp, data, argv: [*argv, "--task-args", "ties=half"],
    "seed": lambda tmp, data, argv: [*argv, "--seed", "3"],
    "model args": lambda tmp, data, argv: [*argv, "--model-args", "unit=words"],
    "log texts": lambda tmp, data, argv: [*argv, "--log-texts"],
    "samples tampered": _tamper_samples,
    "recompute": lambda tmp, data, argv: [*argv, "--recompute"],
    "code hash": _code_changed,
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_change_to_what_decides_the_numbers_evaluates_again(
    run_dir, change, capsys, monkeypatch, evaluated
):
    tmp, data, argv = run_dir
    argv = [*argv, "--model", "length"]
    assert main(argv) == 0
    first = json.loads((tmp / "out" / "length" / "pairwise.json").read_text())
    if change == "code hash":
        monkeypatch.setattr(reuse, "code_sha256", lambda: "0" * 64)
    capsys.readouterr()
    assert main(CHANGES[change](tmp, data, argv)) == 0
    assert reuse.REUSED_NOTE not in capsys.readouterr().out
    assert evaluated == ["pairwise", "pairwise"]
    written = max((tmp / "out").glob("*/pairwise.json"), key=lambda p: p.stat().st_mtime_ns)
    again = json.loads(written.read_text())
    assert again["inputs"] != first["inputs"] or change in ("samples tampered", "recompute")
    read_result(written)  # the pair verifies again
    if change in ("recompute", "samples tampered", "data bytes", "code hash"):
        # the same numbers, every score from the cache
        assert again["metrics"] == first["metrics"]
        assert again["throughput"]["texts_scored"] == 0
        assert again["throughput"]["texts_cached"] == first["throughput"]["texts_scored"] > 0


def test_other_rows_are_refused_not_reused(run_dir, capsys):
    tmp, data, argv = run_dir
    argv = [*argv, "--model", "length"]
    assert main(argv) == 0
    write_rows(data, [*ROWS[:3], {**ROWS[3], "chosen": "changed"}])
    assert main(argv) == 2
    assert "already holds a result of other data" in capsys.readouterr().err


def test_a_data_file_changed_during_the_run_is_not_marked_reusable(run_dir, monkeypatch, capsys):
    tmp, data, argv = run_dir
    real = runner.evaluate_model

    def touching(*args, **kwargs):
        os.utime(data, ns=(1, 1))  # as an editor saving the same bytes would
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "evaluate_model", touching)
    argv = [*argv, "--model", "length"]
    assert main(argv) == 0
    path = tmp / "out" / "length" / "pairwise.json"
    assert json.loads(path.read_text())["inputs"] is None
    monkeypatch.setattr(runner, "evaluate_model", real)
    capsys.readouterr()
    assert main(argv) == 0  # a file without inputs (also one written before them) is evaluated
    assert reuse.REUSED_NOTE not in capsys.readouterr().out
    assert json.loads(path.read_text())["inputs"] is not None
    assert main(argv) == 0
    assert reuse.REUSED_NOTE in capsys.readouterr().out


def test_hub_data_is_never_reused(tmp_path, caplog):
    opts = RunOptions(
        models=["length"], tasks=["pairwise"], data={"pairwise": "someorg/prefs"},
        output_dir=str(tmp_path),
    )  # fmt: skip
    (task,) = build_tasks(opts.tasks, opts)
    model = build_model("length", {})
    inputs = reuse.task_inputs(model, task, seed=0, log_texts=False)
    assert inputs.sha256 is None and "hub dataset someorg/prefs" in inputs.reason
    with caplog.at_level(logging.INFO, logger="rmeval"):
        models = [model, build_model("random", {})]
        plan = reuse.plan_reuse(models, [task], opts, lambda m: tmp_path / m.spec)
    assert plan.runs(model, task) and not plan.reused
    told = [r.getMessage() for r in caplog.records if "never reused" in r.getMessage()]
    assert told == ["rmeval: pairwise: evaluated on every run (never reused): it reads the hub "
                    "dataset someorg/prefs."]  # fmt: skip


def test_building_a_model_loads_no_weights_and_reuse_keeps_data_before_load(
    run_dir, tiny_llama_rm, monkeypatch, capsys
):
    tmp, _, argv = run_dir
    bad = write_rows(tmp / "bad.jsonl", [{"id": "x", "prompt": "q", "chosen": "c"}])
    argv = [*argv, "--model", f"hf:{tiny_llama_rm}"]
    assert main(argv) == 0

    def no_load(*args, **kwargs):
        raise AssertionError("weights loaded")

    monkeypatch.setattr(Checkpoint, "load_classifier", no_load)
    model = build_model(f"hf:{tiny_llama_rm}", {})
    model.fingerprint(), model.describe()  # what reuse asks of a model: no weights
    capsys.readouterr()
    assert main(argv) == 0
    assert reuse.REUSED_NOTE in capsys.readouterr().out
    # a task that still runs has its data validated before any model loads
    more = [*argv, "--tasks", "pairwise,best-of-n", "--data", f"best-of-n={bad}"]
    assert main(more) == 2
    assert f"{bad}: 1 bad row(s): row x: missing field 'rejected'" in capsys.readouterr().err


def test_api_reuses_only_with_an_output_folder(run_dir, monkeypatch):
    tmp, data, _ = run_dir
    kw = {"data": {"pairwise": data}, "output_dir": tmp / "api"}
    first = rmeval.evaluate("length", "pairwise", **kw)
    assert not first[0].reused and first[0].inputs is not None
    assert not rmeval.evaluate("length", "pairwise", **kw, recompute=True)[0].reused
    assert rmeval.evaluate("length", "pairwise", data={"pairwise": data})[0].inputs is None
    no_data_read(monkeypatch)
    (again,) = rmeval.evaluate("length", "pairwise", **kw)
    assert again.reused and again.metrics == first[0].metrics
    with pytest.raises(AssertionError, match="the data was read"):
        rmeval.evaluate("length", "pairwise", data={"pairwise": data})


PLUGIN = """from rmeval.tasks.preference import PairwiseTask


class Mine(PairwiseTask):
    name = "mine"
"""


def test_plugin_source_is_part_of_the_inputs(tmp_path, monkeypatch):
    (tmp_path / "myplugin.py").write_text(PLUGIN, "utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    from myplugin import Mine  # as an entry point would import it

    model = build_model("length", {})
    task = Mine(data=str(write_rows(tmp_path / "p.jsonl", ROWS)))
    before = reuse.task_inputs(model, task, 0, False).sha256
    (tmp_path / "myplugin.py").write_text(PLUGIN + "# edited\n", "utf-8")
    after = reuse.task_inputs(model, task, 0, False).sha256
    assert before is not None and after is not None and before != after
    assert reuse.plugin_sources([model]) == []  # built-ins are covered by the code hash
    # an --include file's module is not importable by name: its class without methods has no
    # source file to hash, so such a task is never reused
    (tmp_path / "inc.py").write_text(PLUGIN.replace("mine", "inc") + "TASKS = {'inc': Mine}\n")
    opts = RunOptions(models=["length"], tasks=["inc"], data={"inc": str(tmp_path / "p.jsonl")})
    with included([tmp_path / "inc.py"]):
        (task,) = build_tasks(opts.tasks, opts)
        inputs = reuse.task_inputs(model, task, 0, False)
    assert inputs.sha256 is None and "no readable source file" in inputs.reason


def test_inputs_field_shape_is_checked(tmp_path):
    with pytest.raises(RmevalError, match="field inputs must be a sha256"):
        validate_result(tmp_path / "r.json", {"inputs": "abc"})


def test_a_folder_contributes_the_files_of_its_split(tmp_path):
    folder = tmp_path / "prefs"
    folder.mkdir()
    for split in ("train", "test"):
        write_rows(folder / f"{split}.jsonl", ROWS)
    opts = RunOptions(models=[], tasks=["pairwise"], data={"pairwise": str(folder)})
    (task,) = build_tasks(opts.tasks, opts)
    assert task.split == "train"
    model = build_model("length", {})

    def digest() -> str | None:
        return reuse.task_inputs(model, task, 0, False).sha256

    first = digest()
    write_rows(folder / "test.jsonl", ROWS[:2])
    assert digest() == first  # another split's file is not read
    write_rows(folder / "train.jsonl", ROWS[:2])
    assert digest() not in (first, None)


def test_reused_and_fresh_results_come_back_in_task_order(tmp_path):
    def opts(tasks):
        return RunOptions(models=["length"], tasks=tasks, progress=False,
                          output_dir=str(tmp_path / "out"), cache_dir=str(tmp_path / "c"))  # fmt: skip

    runner.run(opts(["core-bon"]))
    results = runner.run(opts(["core-pairwise", "core-bon"]))
    assert [(r.task_name, r.reused) for r in results] == [
        ("core-pairwise", False),
        ("core-bon", True),
    ]
