"""End to end through the CLI: result files, bad input, cache isolation, score, kill and resume."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rmeval.harness.cli import main

WORDS = "the a helpful honest answer math code facts safety focus zero one two three plus".split()


def write_prefs(path: Path, n: int = 12, **overrides) -> Path:
    rows = []
    for i in range(n):
        rows.append(
            {
                "id": f"r{i}",
                "prompt": f"question {i}: " + " ".join(WORDS[: 3 + i % 7]),
                "chosen": " ".join(WORDS[i % 5 :]),
                "rejected": " ".join(WORDS[: 2 + i % 4]),
                "subset": "odd" if i % 2 else "even",
            }
        )
    for idx, row in overrides.items():
        rows[int(idx[1:])] = row
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def run_cli(*argv) -> int:
    return main([str(a) for a in argv])


def test_run_writes_result_and_samples_files(tmp_path, tiny_llama_rm, capsys):
    data = write_prefs(tmp_path / "prefs.jsonl")
    code = run_cli(
        "run",
        "--model",
        f"hf:{tiny_llama_rm}",
        "--tasks",
        "pairwise",
        "--data",
        f"pairwise={data}",
        "--output-dir",
        tmp_path / "out",
        "--cache-dir",
        tmp_path / "cache",
        "--no-progress",
    )
    assert code == 0
    folders = list((tmp_path / "out").iterdir())
    assert len(folders) == 1 and ".." not in folders[0].name
    result = json.loads((folders[0] / "pairwise.json").read_text())
    for key in (
        "schema_version",
        "harness",
        "model",
        "task",
        "metrics",
        "by_subset",
        "counts",
        "status",
        "started_at",
        "duration_s",
        "throughput",
    ):
        assert key in result
    assert result["task"]["dataset"]["sha256"] and result["model"]["fingerprint"]
    assert set(result["by_subset"]) == {"odd", "even"}
    samples = [
        json.loads(x) for x in (folders[0] / "pairwise.samples.jsonl").read_text().splitlines()
    ]
    assert [s["id"] for s in samples] == [f"r{i}" for i in range(12)]
    credits = [s["credit"] for s in samples]
    assert result["metrics"]["accuracy"]["value"] == pytest.approx(sum(credits) / len(credits))
    assert "pairwise" in capsys.readouterr().out


def test_score_recomputes_from_cache_without_the_model(tmp_path, tiny_llama_rm):
    data = write_prefs(tmp_path / "prefs.jsonl")
    common = [
        "--tasks",
        "pairwise",
        "--data",
        f"pairwise={data}",
        "--cache-dir",
        tmp_path / "cache",
        "--no-progress",
    ]
    model = tmp_path / "rm"
    import shutil

    shutil.copytree(tiny_llama_rm, model)
    assert run_cli("run", "--model", f"hf:{model}", "--output-dir", tmp_path / "a", *common) == 0
    # the weights are gone: `score` must not need them (fingerprint from hashes of what is left
    # would differ, so keep the files but make loading impossible)
    from rmeval.harness.adapters import hf

    loaded = []
    original = hf.HFRewardModel.model
    hf.HFRewardModel.model = property(lambda self: loaded.append(1) or original.fget(self))
    try:
        assert (
            run_cli("score", "--model", f"hf:{model}", "--output-dir", tmp_path / "b", *common[:-1])
            == 0
        )
    finally:
        hf.HFRewardModel.model = original
    assert not loaded
    a = json.loads(next((tmp_path / "a").glob("*/pairwise.json")).read_text())
    b = json.loads(next((tmp_path / "b").glob("*/pairwise.json")).read_text())
    assert a["metrics"] == b["metrics"]


def test_score_with_an_empty_cache_is_a_clear_error(tmp_path, capsys):
    data = write_prefs(tmp_path / "prefs.jsonl")
    code = run_cli(
        "score",
        "--model",
        "length",
        "--tasks",
        "pairwise",
        "--data",
        f"pairwise={data}",
        "--cache-dir",
        tmp_path / "cache",
        "--output-dir",
        tmp_path / "out",
    )
    assert code == 2
    assert "not in the cache" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_two_models_never_share_cache_entries(tmp_path, tiny_llama_rm, tiny_llama_rm_other):
    data = write_prefs(tmp_path / "prefs.jsonl")
    for i, model in enumerate((tiny_llama_rm, tiny_llama_rm_other)):
        assert (
            run_cli(
                "run",
                "--model",
                f"hf:{model}",
                "--tasks",
                "pairwise",
                "--data",
                f"pairwise={data}",
                "--output-dir",
                tmp_path / f"out{i}",
                "--cache-dir",
                tmp_path / "cache",
                "--no-progress",
            )
            == 0
        )
    db = sqlite3.connect(tmp_path / "cache" / "scores.sqlite")
    per_model = dict(
        db.execute("SELECT fingerprint, COUNT(*) FROM scores GROUP BY fingerprint").fetchall()
    )
    assert len(per_model) == 2 and all(n == 24 for n in per_model.values())
    a = [
        json.loads(x)["scores"]
        for x in next((tmp_path / "out0").glob("*/*.samples.jsonl")).read_text().splitlines()
    ]
    b = [
        json.loads(x)["scores"]
        for x in next((tmp_path / "out1").glob("*/*.samples.jsonl")).read_text().splitlines()
    ]
    assert a != b


BAD_ROWS = {
    "missing field": ({"id": "x", "prompt": "p", "chosen": "c"}, "row x: missing field 'rejected'"),
    "empty": (
        {"id": "x", "prompt": "p", "chosen": "  ", "rejected": "r"},
        "row x: field 'chosen' is empty",
    ),
    "non-string": (
        {"id": "x", "prompt": "p", "chosen": 3, "rejected": "r"},
        "row x: field 'chosen' is int",
    ),
    "identical": (
        {"id": "x", "prompt": "p", "chosen": "same", "rejected": "same"},
        "row x: chosen and rejected are identical",
    ),
    "duplicate id": (
        {"id": "r0", "prompt": "p", "chosen": "c", "rejected": "r"},
        "row r0: duplicate id",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_bad_rows_are_named_and_nothing_is_written(case, tmp_path, capsys):
    row, message = BAD_ROWS[case]
    data = write_prefs(tmp_path / "prefs.jsonl", n=4, r3=row)
    code = run_cli(
        "run",
        "--model",
        "length",
        "--tasks",
        "pairwise",
        "--data",
        f"pairwise={data}",
        "--output-dir",
        tmp_path / "out",
        "--cache-dir",
        tmp_path / "cache",
    )
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert run_cli("validate", "--tasks", "pairwise", "--data", f"pairwise={data}") == 1
    assert message in capsys.readouterr().out


def test_validate_accepts_good_data(tmp_path, capsys):
    data = write_prefs(tmp_path / "prefs.jsonl")
    assert run_cli("validate", "--tasks", "pairwise", "--data", f"pairwise={data}") == 0
    assert "12 examples OK" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--model", "length", "--tasks", "pairwize"],
            "unknown task 'pairwize'. Did you mean 'pairwise'",
        ),
        (
            ["--model", "lenght:", "--tasks", "pairwise"],
            "unknown model type 'lenght'. Did you mean 'length'",
        ),
        (
            ["--model", "length", "--tasks", "pairwise", "--data", "pairwise=/no/such.jsonl"],
            "/no/such.jsonl: no such file",
        ),
        (
            ["--model", "hf:/no/such/model", "--tasks", "pairwise", "--data", "pairwise={data}"],
            "no such model folder",
        ),
        (["--model", "length", "--tasks", "pairwise"], "pass --data pairwise="),
        (
            ["--model", "length", "--tasks", "pairwise", "--data", "core=x.jsonl"],
            "--data names task(s) not in --tasks",
        ),
        (
            [
                "--model",
                "length",
                "--tasks",
                "pairwise",
                "--batch-tokens",
                "0",
                "--data",
                "pairwise={data}",
            ],
            "--batch-tokens 0",
        ),
        (
            ["--model", "length", "--tasks", "core", "--task-args", "tie=half,seed=1"],
            "--task-args tie: not an option of core-pairwise, core-bon; their options:",
        ),
    ],
)
def test_bad_flags_get_one_clear_sentence(argv, message, tmp_path, capsys):
    data = write_prefs(tmp_path / "prefs.jsonl")
    argv = [a.format(data=data) for a in argv]
    code = run_cli(
        "run", *argv, "--output-dir", tmp_path / "out", "--cache-dir", tmp_path / "cache"
    )
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_task_args_used_by_one_of_the_tasks_are_accepted(tmp_path):
    from rmeval.harness.runner import RunOptions, build_tasks

    opts = RunOptions(["length"], ["core", "master-keys"], task_args={"default_keys": True})
    tasks = build_tasks(opts.tasks, opts)  # core has no default_keys option: still fine
    assert [t.name for t in tasks] == ["core-pairwise", "core-bon", "master-keys"]
    # only the task that applies an argument records it (no argument recorded but not applied)
    assert [t.params.get("default_keys") for t in tasks] == [None, None, True]


def test_config_file_mirrors_flags(tmp_path):
    data = write_prefs(tmp_path / "prefs.jsonl")
    cfg = tmp_path / "run.yaml"
    cfg.write_text(
        f"model: [length, random]\ntasks: pairwise\ndata: {{pairwise: {data}}}\n"
        f"output_dir: {tmp_path / 'out'}\ncache_dir: {tmp_path / 'cache'}\nties: half\n"
    )
    assert run_cli("run", "--config", cfg) == 0
    result = json.loads((tmp_path / "out" / "length" / "pairwise.json").read_text())
    assert result["task"]["params"]["ties"] == "half"
    assert (tmp_path / "out" / "random" / "pairwise.json").exists()


def test_model_slug_cannot_escape_the_output_folder(tmp_path):
    from rmeval.harness.results import model_slug, result_dir

    for spec in ["hf:../../etc", "hf:/abs/path", "..", "hf:a/../../b", "embed:<img src=x>"]:
        folder = result_dir(tmp_path, spec)
        assert folder.parent == tmp_path.resolve()
        assert model_slug(spec) not in {"", ".", ".."}


def _run_subprocess(args, env):
    return subprocess.Popen(
        [sys.executable, "-m", "rmeval", *map(str, args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_killed_run_resumes_and_matches_an_uninterrupted_run(tmp_path, tiny_gpt2_rm):
    data = write_prefs(tmp_path / "prefs.jsonl", n=150)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    base = [
        "run",
        "--model",
        f"hf:{tiny_gpt2_rm}",
        "--tasks",
        "pairwise",
        "--data",
        f"pairwise={data}",
        "--batch-tokens",
        "24",
        "--no-progress",
    ]
    db_path = tmp_path / "cache" / "scores.sqlite"
    proc = _run_subprocess(
        [*base, "--output-dir", tmp_path / "out", "--cache-dir", tmp_path / "cache"], env
    )
    count = 0
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if db_path.exists():
            try:
                count = (
                    sqlite3.connect(db_path).execute("SELECT COUNT(*) FROM scores").fetchone()[0]
                )
            except sqlite3.Error:
                count = 0
            if count >= 20:
                break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < count < 300, "the run must be killed part-way"
    assert not list((tmp_path / "out").glob("*/*.json")), "no partial result file"
    resumed = _run_subprocess(
        [*base, "--output-dir", tmp_path / "out", "--cache-dir", tmp_path / "cache"], env
    )
    assert resumed.wait() == 0, resumed.stderr.read().decode()
    fresh = _run_subprocess(
        [*base, "--output-dir", tmp_path / "ref", "--cache-dir", tmp_path / "cache2"], env
    )
    assert fresh.wait() == 0
    out = next((tmp_path / "out").glob("*/pairwise.samples.jsonl")).read_text()
    ref = next((tmp_path / "ref").glob("*/pairwise.samples.jsonl")).read_text()
    assert out == ref  # scores identical bit for bit, not just the metrics
    a = json.loads(next((tmp_path / "out").glob("*/pairwise.json")).read_text())
    b = json.loads(next((tmp_path / "ref").glob("*/pairwise.json")).read_text())
    assert a["metrics"] == b["metrics"] and a["counts"] == b["counts"]
    assert a["throughput"]["texts_cached"] > 0 and b["throughput"]["texts_cached"] == 0
