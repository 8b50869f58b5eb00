"""The Python API: ``rmeval.evaluate`` on a spec, an in-memory model and a callable gives the
CLI's numbers; ``load_results``/``load_samples`` read result files as tables; ``--include``."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from rmeval.harness.cli import main
from rmeval.harness.errors import RmevalError

import rmeval
from tests.test_cli import write_prefs


def cli_metrics(tmp_path: Path, spec: str, data: Path, *extra) -> dict:
    """The pairwise metrics ``rmeval run`` writes for ``spec`` on ``data``."""
    out = tmp_path / "cli-out"
    argv = ["run", "--model", spec, "--tasks", "pairwise", "--data", f"pairwise={data}"]
    argv += ["--output-dir", out, "--cache-dir", tmp_path / "cli-cache", "--no-progress", *extra]
    assert main([str(a) for a in argv]) == 0
    (path,) = out.glob("*/pairwise.json")
    return json.loads(path.read_text())["metrics"]


def test_import_is_light_and_surface_is_deliberate():
    code = "import sys, rmeval; rmeval.evaluate; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert set(rmeval.__all__) == {
        "__version__", "evaluate", "load_results", "load_samples", "RewardEvalCallback", "Task",
        "RewardModel", "Example", "ScoreRequest", "Score", "ExampleResult", "Aggregate", "Result",
        "RowCheck", "ResultColumns",
    }  # fmt: skip
    assert rmeval.Result.__module__ == "rmeval.harness.result"


def test_evaluate_spec_equals_cli_and_writes_only_with_output_dir(tmp_path, tiny_llama_rm):
    data = write_prefs(tmp_path / "prefs.jsonl")
    expected = cli_metrics(tmp_path, f"hf:{tiny_llama_rm}", data)
    before = set(tmp_path.iterdir())
    (result,) = rmeval.evaluate(f"hf:{tiny_llama_rm}", "pairwise", data={"pairwise": str(data)})
    assert set(tmp_path.iterdir()) == before and result.path is None  # nothing written
    assert result.metrics == expected and result.main_score == "accuracy"
    (written,) = rmeval.evaluate(
        f"hf:{tiny_llama_rm}", ["pairwise"], data={"pairwise": data}, output_dir=tmp_path / "py"
    )
    assert written.path.is_file() and json.loads(written.path.read_text())["metrics"] == expected


def _load(folder):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(folder)
    return model, AutoTokenizer.from_pretrained(folder)


def test_in_memory_model_scores_as_the_saved_checkpoint_and_keeps_training_mode(
    tmp_path, tiny_llama_rm
):
    data = write_prefs(tmp_path / "prefs.jsonl")
    expected = cli_metrics(tmp_path, f"hf:{tiny_llama_rm}", data)
    model, tok = _load(tiny_llama_rm)
    model.train()
    attention = model.config._attn_implementation
    (result,) = rmeval.evaluate((model, tok), "pairwise", data={"pairwise": data}, name="step-0")
    assert result.metrics == expected
    assert result.model_spec == "memory:step-0"
    assert model.training and model.config._attn_implementation == attention


def test_in_memory_model_never_reuses_scores_of_other_weights(tmp_path, tiny_llama_rm):
    import torch

    data = write_prefs(tmp_path / "prefs.jsonl")
    model, tok = _load(tiny_llama_rm)
    opts = {"data": {"pairwise": data}, "cache_dir": tmp_path / "cache"}
    (first,) = rmeval.evaluate(model, "pairwise", tokenizer=tok, output_dir=tmp_path / "a", **opts)
    with torch.no_grad():
        model.score.weight.mul_(-1.0)  # a "training step": every reward changes sign
    (second,) = rmeval.evaluate(model, "pairwise", tokenizer=tok, output_dir=tmp_path / "b", **opts)
    assert first.model["fingerprint"] != second.model["fingerprint"]
    a = rmeval.load_samples(first.path)["scores"].tolist()
    b = rmeval.load_samples(second.path)["scores"].tolist()
    assert b == [[-x for x in pair] for pair in a] or b == pytest.approx(
        [[-x for x in pair] for pair in a], rel=1e-5
    )


def test_callable_scores_as_the_equivalent_adapter(tmp_path):
    data = write_prefs(tmp_path / "prefs.jsonl")
    expected = cli_metrics(tmp_path, "random", data)
    seen = []

    def by_length(requests):  # the `random` adapter's rewards, computed here
        seen.append(len(requests))
        digests = [hashlib.sha256(f"0:{r.key}".encode()).digest() for r in requests]
        return [int.from_bytes(d[:8], "big") / 2**64 for d in digests]

    (result,) = rmeval.evaluate(by_length, "pairwise", data={"pairwise": data})
    assert result.metrics == expected and result.model_spec == "callable:by_length"
    assert len(seen) == 1  # one call with every text
    with pytest.raises(RmevalError, match="name="):
        rmeval.evaluate(by_length, "pairwise", data={"pairwise": data}, output_dir=tmp_path / "o")
    with pytest.raises(RmevalError, match="cache_dir"):
        rmeval.evaluate(by_length, "pairwise", data={"pairwise": data}, cache_dir=tmp_path / "c")
    (named,) = rmeval.evaluate(
        by_length, "pairwise", data={"pairwise": data}, output_dir=tmp_path / "o", name="len"
    )
    assert named.path.parent.name == "len" and named.metrics == expected


def test_callable_returning_wrong_count_is_refused(tmp_path):
    data = write_prefs(tmp_path / "prefs.jsonl")
    with pytest.raises(RmevalError, match="returned 1 scores"):
        rmeval.evaluate(lambda reqs: [0.0], "pairwise", data={"pairwise": data})


def test_load_results_and_samples(tmp_path):
    data = write_prefs(tmp_path / "prefs.jsonl")
    out = tmp_path / "results"
    for spec in ("length", "random"):
        rmeval.evaluate(spec, "pairwise", data={"pairwise": data}, output_dir=out)
    table = rmeval.load_results(out)
    main_rows = table[table["main_score"]]
    assert sorted(main_rows["model"]) == ["length", "random"]
    assert set(main_rows["metric"]) == {"accuracy"} and set(main_rows["n"]) == {12}
    row = main_rows[main_rows["model"] == "length"].iloc[0]
    assert row["ci_low"] <= row["value"] <= row["ci_high"] and row["higher_is_better"]
    assert row["dataset_sha256"] and Path(row["file"]).is_file()
    samples = rmeval.load_samples(out, task="pairwise")
    assert len(samples) == 24 and {"model", "task", "id", "scores", "credit"} <= set(samples)
    (Path(row["file"]).parent / "pairwise.samples.jsonl").write_text("{}\n")
    with pytest.raises(RmevalError, match="sha256"):
        rmeval.load_results(out)


TASK_FILE = '''
from rmeval import Example, ExampleResult, Task


class Echo(Task):
    """Every example is right: the first candidate is the chosen one."""

    name = "echo"

    def build_examples(self, rows):
        return [Example(str(r["id"]), "all", r["prompt"], (r["chosen"], r["rejected"])) for r in rows]

    def evaluate(self, example, scores):
        credit = 1.0 if scores[0].value > scores[1].value else 0.0
        return ExampleResult(example.id, example.subset, [s.value for s in scores], credit)


TASKS = {"echo": Echo}
'''


def test_include_registers_a_task_file_for_one_run(tmp_path, capsys):
    data = write_prefs(tmp_path / "prefs.jsonl")
    task_file = tmp_path / "my_tasks.py"
    task_file.write_text(TASK_FILE)
    run = ["run", "--model", "length", "--tasks", "echo", "--data", f"echo={data}"]
    run += ["--output-dir", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "c")]
    assert main([*run, "--include", str(task_file)]) == 0
    assert json.loads((tmp_path / "out" / "length" / "echo.json").read_text())["metrics"]
    assert main(["ls", "--include", str(task_file)]) == 0
    assert "echo" in capsys.readouterr().out
    assert main(["validate", "--tasks", "echo", "--data", f"echo={data}", "--include", str(task_file)]) == 0  # fmt: skip
    assert main(["run", "--model", "length", "--tasks", "echo"]) == 2  # not registered without it
    assert "unknown task 'echo'" in capsys.readouterr().err


def test_include_refuses_a_bad_file(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("X = 1\n")
    assert main(["ls", "--include", str(bad)]) == 2
    assert "TASKS" in capsys.readouterr().err
    clash = tmp_path / "clash.py"
    clash.write_text("TASKS = {'pairwise': print}\n")
    assert main(["ls", "--include", str(clash)]) == 2
    assert "already" in capsys.readouterr().err
    assert main(["ls", "--include", str(tmp_path / "missing.py")]) == 2


def test_task_objects_run_as_given_and_options_for_named_tasks_are_not_ignored(tmp_path):
    from rmeval.tasks.preference import pairwise

    data = write_prefs(tmp_path / "prefs.jsonl")
    expected = cli_metrics(tmp_path, "random", data)
    (result,) = rmeval.evaluate("random", [pairwise(data=str(data))])
    assert result.metrics == expected
    with pytest.raises(RmevalError, match="tasks given by name"):
        rmeval.evaluate("random", [pairwise(data=str(data))], limit=3)
