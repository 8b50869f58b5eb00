"""Plugin discovery, `rmeval ls` without torch, and one contract test over every task."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rmeval.harness.plugins import load_tasks, model_names, task_names
from rmeval.harness.task import Task

SAMPLES = Path(__file__).parent / "data"


def test_ls_lists_tasks_and_models_without_importing_torch():
    code = (
        "import sys; from rmeval.harness.cli import main; main(['ls']); "
        "heavy = [m for m in ('torch', 'transformers', 'lm_eval', 'datasets') if m in sys.modules]; "
        "print('HEAVY', heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "HEAVY []" in out
    assert "core" in out and "hf" in out and "embed" in out


def test_builtin_models_are_registered():
    assert {"hf", "embed", "length", "random"} <= set(model_names())


def _tasks_for(name: str) -> list[Task]:
    for sample in (SAMPLES / f"{name}.jsonl", SAMPLES / name):
        if sample.exists():
            return load_tasks(name, data=str(sample), limit=40)
    return load_tasks(name, limit=40)


@pytest.mark.parametrize("name", task_names())
def test_every_registered_task_honours_the_contract(name, tmp_path):
    """Every task builds, yields valid examples, runs with a baseline and writes strict results."""
    from rmeval.harness.cache import ScoreCache
    from rmeval.harness.runner import RunOptions, build_model, evaluate_model

    tasks = _tasks_for(name)
    assert tasks, f"task {name} built nothing"
    for task in tasks:
        assert task.name and task.version and task.main_score
        examples = task.examples()
        assert examples, (
            f"{task.name}: no examples (ship tests/data/{name}.jsonl if it needs --data)"
        )
        assert len({e.id for e in examples}) == len(examples)
        assert task.dataset is not None and len(task.dataset.sha256) == 64
    cache = ScoreCache(tmp_path / "cache.sqlite")
    opts = RunOptions(
        models=["random"], tasks=[name], output_dir=str(tmp_path / "out"), progress=False
    )
    model = (
        build_model("random", {})
        if all(t.needs_scores for t in tasks)
        else build_model("embed", {})
    )
    written = evaluate_model(model, tasks, cache, opts)
    results = [json.loads(r.path.read_text()) for r in written]
    assert len(results) == len(tasks)
    for result, task in zip(results, tasks):
        assert result["task"]["name"] == task.name
        assert task.main_score in result["metrics"]
        assert result["counts"]["examples"] == len(task.examples())
        json.dumps(result, allow_nan=False)
