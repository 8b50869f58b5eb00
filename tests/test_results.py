"""Result files: one (model, task, data) per file, never overwritten by another, consistent
pairs under a kill, the user's umask, clear write errors and per-task throughput."""

import errno
import json
import os
from pathlib import Path

import pytest
from rmeval.harness.errors import RmevalError
from rmeval.harness.results import check_result, folder_name, result_dir

from tests.test_cli import run_cli, write_prefs


def _run(tmp_path: Path, *extra, model: str = "length", out: str = "out") -> int:
    return run_cli("run", "--model", model, "--output-dir", tmp_path / out,
                   "--cache-dir", tmp_path / "cache", "--no-progress", *extra)  # fmt: skip


def _pairwise(tmp_path: Path, data: Path, *extra, **kw) -> int:
    return _run(tmp_path, "--tasks", "pairwise", "--data", f"pairwise={data}", *extra, **kw)


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


# -- folder names -------------------------------------------------------------------------


def test_lossy_specs_get_distinct_hashed_folders_lossless_ones_stay_readable(tmp_path, monkeypatch):
    assert folder_name("length") == "length"
    spec = "embed:all-MiniLM-L6-v2"
    assert folder_name(spec, spec) == "embed_all-MiniLM-L6-v2"
    a, b = "hf:/a/tiny/llama-rm", "hf:/a/tiny_llama-rm"
    assert folder_name(a, a) != folder_name(b, b)
    assert folder_name(a, a).startswith("hf_a_tiny_llama-rm-")
    long = "hf:/" + "/".join(["experiments"] * 12) + "/run/checkpoint-"
    names = {folder_name(long + n, long + n) for n in ("1000", "2000")}
    assert len(names) == 2 and all(len(n) <= 109 for n in names)
    rel = []
    for where in ("x", "y"):
        (tmp_path / where / "final").mkdir(parents=True)
        monkeypatch.chdir(tmp_path / where)
        rel.append(folder_name("hf:./final", "hf:./final"))
        assert result_dir(tmp_path, "hf:./final", "hf:./final").parent == tmp_path.resolve()
    assert rel[0] != rel[1]


def test_two_model_paths_that_sanitise_alike_keep_both_results(tmp_path, tiny_llama_rm):
    data = write_prefs(tmp_path / "prefs.jsonl", n=4)
    specs = []
    for sub in ("a/tiny/llama-rm", "a/tiny_llama-rm"):
        path = tmp_path / sub
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(tiny_llama_rm, target_is_directory=True)
        specs.append(f"hf:{path}")
        assert _pairwise(tmp_path, data, model=specs[-1]) == 0
    results = sorted((tmp_path / "out").glob("*/pairwise.json"))
    assert len(results) == 2
    assert sorted(_load(p)["model"]["spec"] for p in results) == sorted(specs)


# -- identity -----------------------------------------------------------------------------


def test_second_data_file_for_a_task_is_refused_not_overwritten(tmp_path, capsys):
    first = write_prefs(tmp_path / "a.jsonl", n=6)
    second = write_prefs(tmp_path / "b.jsonl", n=8)
    assert _pairwise(tmp_path, first) == 0
    assert _pairwise(tmp_path, first) == 0  # a rerun of the same identity replaces it
    path = tmp_path / "out" / "length" / "pairwise.json"
    before = path.read_bytes()
    capsys.readouterr()
    assert _pairwise(tmp_path, second) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "other data" in err and "--name" in err
    assert path.read_bytes() == before
    assert _pairwise(tmp_path, second, "--name", "length-b") == 0
    kept = _load(tmp_path / "out" / "length-b" / "pairwise.json")
    assert kept["counts"]["examples"] == 8 and _load(path)["counts"]["examples"] == 6
    assert kept["identity"]["dataset_sha256"] == kept["task"]["dataset"]["sha256"]


def test_a_result_written_by_a_concurrent_run_meanwhile_is_not_overwritten(
    tmp_path, monkeypatch, capsys
):
    import rmeval.harness.runner as runner

    first = write_prefs(tmp_path / "a.jsonl", n=6)
    second = write_prefs(tmp_path / "b.jsonl", n=8)
    real_scores = runner._scores

    def other_run_finishes_first(*args, **kwargs):
        out = real_scores(*args, **kwargs)
        with monkeypatch.context() as m:  # the other run, on other data, ends while we score
            m.setattr(runner, "_scores", real_scores)
            assert _pairwise(tmp_path, second) == 0
        return out

    monkeypatch.setattr(runner, "_scores", other_run_finishes_first)
    path = tmp_path / "out" / "length" / "pairwise.json"
    capsys.readouterr()
    assert _pairwise(tmp_path, first) == 2
    assert "other data" in capsys.readouterr().err
    assert _load(path)["counts"]["examples"] == 8  # the other run's result is kept


# -- a kill between the two renames -------------------------------------------------------


def _tie_prefs(path: Path) -> Path:
    rows = [{"id": f"r{i}", "prompt": "p", "chosen": "same" if i % 2 else "longer answer",
             "rejected": "four" if i % 2 else "no"} for i in range(6)]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_kill_between_the_renames_leaves_a_pair_that_readers_refuse(tmp_path, monkeypatch):
    import rmeval.harness.results as results
    from rmeval.harness.compare import load_run
    from rmeval.leaderboard.loading import load_results

    data = _tie_prefs(tmp_path / "ties.jsonl")
    assert _pairwise(tmp_path, data) == 0  # ties count 0 (strict)
    folder = tmp_path / "out" / "length"
    check_result(folder / "pairwise.json", _load(folder / "pairwise.json"))
    real_replace = os.replace

    def killed_before_result(src, dst):
        if str(dst).endswith("pairwise.json"):
            raise KeyboardInterrupt  # the kill lands between the two renames
        real_replace(src, dst)

    monkeypatch.setattr(results.os, "replace", killed_before_result)
    assert _pairwise(tmp_path, data, "--ties", "half") == 130  # new samples: ties count 0.5
    monkeypatch.setattr(results.os, "replace", real_replace)
    assert [p.name for p in folder.iterdir()] and not list(folder.glob(".*.tmp"))
    result = _load(folder / "pairwise.json")
    assert result["status"] == "complete"
    with pytest.raises(RmevalError, match="does not match the sha256"):
        check_result(folder / "pairwise.json", result)
    with pytest.raises(RmevalError, match="does not match the sha256"):
        load_run(folder, "length")
    with pytest.raises(RmevalError, match="does not match the sha256"):
        load_results(tmp_path / "out")


def test_check_result_refuses_missing_samples_and_incomplete_status(tmp_path):
    data = write_prefs(tmp_path / "a.jsonl", n=3)
    assert _pairwise(tmp_path, data) == 0
    path = tmp_path / "out" / "length" / "pairwise.json"
    result = _load(path)
    assert result["samples"]["lines"] == 3
    with pytest.raises(RmevalError, match="status is 'running', not 'complete'"):
        check_result(path, {**result, "status": "running"})
    with pytest.raises(RmevalError, match="schema_version 1"):
        check_result(path, {**result, "schema_version": 1})
    with pytest.raises(RmevalError, match="no valid samples record"):
        check_result(path, {**result, "samples": {"path": "../x.jsonl", "sha256": "0"}})
    (path.parent / "pairwise.samples.jsonl").unlink()
    with pytest.raises(RmevalError, match="is missing"):
        check_result(path, result)


# -- permissions and write errors ---------------------------------------------------------


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_result_files_follow_the_umask(tmp_path, mask):
    data = write_prefs(tmp_path / "a.jsonl", n=3)
    old = os.umask(mask)
    try:
        assert _pairwise(tmp_path, data) == 0
    finally:
        os.umask(old)
    for name in ("pairwise.json", "pairwise.samples.jsonl"):
        mode = (tmp_path / "out" / "length" / name).stat().st_mode & 0o777
        assert mode == 0o666 & ~mask


def test_unwritable_output_folder_is_refused_before_any_model_loads(tmp_path, monkeypatch, capsys):
    import rmeval.harness.runner as runner

    def no_model(*_a, **_k):
        raise AssertionError("a model was built before the output folder was checked")

    monkeypatch.setattr(runner, "build_model", no_model)
    data = write_prefs(tmp_path / "a.jsonl", n=3)
    (tmp_path / "file").write_text("not a folder")
    assert _pairwise(tmp_path, data, out="file/results") == 2
    err = capsys.readouterr().err
    assert "output folder" in err and "not writable" in err and "Traceback" not in err


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_write_error_is_one_sentence_and_leaves_no_partial_file(
    tmp_path, monkeypatch, capsys, code
):
    import rmeval.harness.results as results

    def failing_fsync(_fd):
        raise OSError(code, os.strerror(code))

    data = write_prefs(tmp_path / "a.jsonl", n=3)
    monkeypatch.setattr(results.os, "fsync", failing_fsync)
    assert _pairwise(tmp_path, data) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "pairwise.samples.jsonl" in err and os.strerror(code) in err
    assert list((tmp_path / "out" / "length").iterdir()) == []
    monkeypatch.undo()
    assert run_cli("score", "--model", "length", "--tasks", "pairwise", "--data",
                   f"pairwise={data}", "--output-dir", tmp_path / "out",
                   "--cache-dir", tmp_path / "cache") == 0  # fmt: skip


# -- per-task duration and throughput -----------------------------------------------------


def test_throughput_describes_each_task_and_not_cached_texts(tmp_path):
    assert _run(tmp_path, "--tasks", "core-pairwise", "--limit", "4") == 0
    folder = tmp_path / "out" / "length"
    first = _load(folder / "core-pairwise.json")["throughput"]
    assert first["texts_scored"] == 8 and first["texts_cached"] == 0
    # --recompute: an unchanged core-pairwise result would otherwise be reused, not evaluated
    assert _run(tmp_path, "--tasks", "core-pairwise,core-bon", "--limit", "4", "--recompute") == 0
    pairwise = _load(folder / "core-pairwise.json")
    assert pairwise["throughput"]["texts_scored"] == 0  # all cached by the first run
    assert pairwise["throughput"]["texts_cached"] == 8
    assert pairwise["throughput"]["examples_per_s"] is None
    assert pairwise["throughput"]["scoring_s"] == 0
    bon = _load(folder / "core-bon.json")["throughput"]
    assert bon["texts_scored"] > 0 and bon["examples_per_s"] is not None


def test_data_parallel_results_report_what_the_ranks_scored(tmp_path, monkeypatch):
    import torch.distributed as dist
    from rmeval.harness.cli import run_options
    from rmeval.harness.distributed import DataParallel
    from rmeval.harness.runner import run

    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(29500 + os.getpid() % 1000))
    data = write_prefs(tmp_path / "a.jsonl", n=5)
    from rmeval.harness.cli import build_parser

    args = build_parser().parse_args(["run", "--model", "length", "--tasks", "pairwise",
                                      "--data", f"pairwise={data}", "--output-dir",
                                      str(tmp_path / "out"), "--cache-dir",
                                      str(tmp_path / "cache")])  # fmt: skip
    run(run_options(args, cache_only=False), sharding=DataParallel())
    assert not dist.is_initialized()
    throughput = _load(tmp_path / "out" / "length" / "pairwise.json")["throughput"]
    assert throughput["texts_scored"] == 10 and throughput["examples_per_s"] is not None


# -- the result record --------------------------------------------------------------------


def test_result_record_reads_back_the_file_it_wrote_byte_for_byte(tmp_path):
    from rmeval.harness.result import Result
    from rmeval.harness.results import dumps, read_result

    data = write_prefs(tmp_path / "a.jsonl", n=4)
    assert _pairwise(tmp_path, data) == 0
    path = tmp_path / "out" / "length" / "pairwise.json"
    result = read_result(path)
    assert dumps(result.to_dict()) + "\n" == path.read_text(encoding="utf-8")
    assert Result.from_dict(_load(path), path) == result and result.path == path
    assert (result.task_name, result.main_score, result.model_spec) == (
        "pairwise",
        "accuracy",
        "length",
    )
    assert result.main_value == _load(path)["metrics"]["accuracy"]["value"]
    assert result.higher_is_better is True and result.samples["lines"] == 4
    assert result.samples_path == path.parent / "pairwise.samples.jsonl"


def test_evaluate_model_returns_written_records(tmp_path):
    from rmeval.harness.cache import ScoreCache
    from rmeval.harness.result import Result
    from rmeval.harness.runner import RunOptions, build_model, build_tasks, evaluate_model

    data = write_prefs(tmp_path / "a.jsonl", n=3)
    opts = RunOptions(models=["length"], tasks=["pairwise"], data={"pairwise": str(data)},
                      output_dir=str(tmp_path / "out"), progress=False)  # fmt: skip
    cache = ScoreCache(tmp_path / "cache.sqlite")
    try:
        (result,) = evaluate_model(build_model("length", {}), build_tasks(["pairwise"], opts),
                                   cache, opts)  # fmt: skip
    finally:
        cache.close()
    assert isinstance(result, Result) and result.path == tmp_path / "out/length/pairwise.json"
    assert _load(result.path) == json.loads(json.dumps(result.to_dict()))
    assert result.samples_path.is_file() and result.counts["examples"] == 3


def test_environment_records_versions_device_budget_and_packing(tmp_path, tiny_llama_rm):
    import importlib.metadata
    import platform

    data = write_prefs(tmp_path / "a.jsonl", n=3)
    assert _pairwise(tmp_path, data, "--batch-tokens", "512", model=f"hf:{tiny_llama_rm}") == 0
    (path,) = (tmp_path / "out").glob("*/pairwise.json")
    env = _load(path)["environment"]
    assert env["packages"]["torch"] == importlib.metadata.version("torch")
    assert env["packages"]["transformers"] == importlib.metadata.version("transformers")
    assert env["python"] == platform.python_version()
    assert env["device"] == "cpu" and env["dtype"] == _load(path)["model"]["dtype"]
    assert env["batch_tokens"] == 512 and env["packing"] is True and env["device_name"]
    assert _run(tmp_path, "--tasks", "pairwise", "--data", f"pairwise={data}") == 0
    plain = _load(tmp_path / "out" / "length" / "pairwise.json")["environment"]
    assert plain["device"] is None and plain["packing"] is None and plain["batch_tokens"] > 0


def test_environment_reads_versions_without_importing_the_packages():
    import subprocess
    import sys

    code = ("import sys; from rmeval.harness.result import environment; "
            "env = environment('cpu', 'float32', 64, None); "
            "assert env['packages']['torch'] and env['device_name']; "
            "print(sorted(m for m in ('torch', 'transformers', 'datasets', 'lm_eval') "
            "if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema_version": 99}, "schema_version 99 is not readable .* a newer rmeval wrote it"),
        ({"schema_version": 1}, "schema_version 1 is not readable .* rerun the same"),
        ({"schema_version": None}, "schema_version None is not readable"),
        ({"counts": [1]}, "field counts must be an object"),
        ({"task": None}, "field task is missing"),
        ({"task": {"name": 3}}, "field task.name must be a string"),
    ],
)
def test_every_reader_refuses_another_schema_or_shape_in_one_sentence(tmp_path, change, message):
    from rmeval.harness.compare import load_run
    from rmeval.harness.result import Result
    from rmeval.leaderboard.loading import load_results

    data = write_prefs(tmp_path / "a.jsonl", n=3)
    assert _pairwise(tmp_path, data) == 0
    path = tmp_path / "out" / "length" / "pairwise.json"
    path.write_text(json.dumps({**_load(path), **change}))
    for read in (
        lambda: Result.from_dict(_load(path), path),
        lambda: check_result(path, _load(path)),
        lambda: load_run(path.parent, "length"),
        lambda: load_results(tmp_path / "out"),
    ):
        with pytest.raises(RmevalError, match=message) as err:
            read()
        assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_a_schema_2_file_without_environment_reads_with_an_empty_one(tmp_path):
    from rmeval.harness.results import read_result

    data = write_prefs(tmp_path / "a.jsonl", n=3)
    assert _pairwise(tmp_path, data) == 0
    path = tmp_path / "out" / "length" / "pairwise.json"
    old = {k: v for k, v in _load(path).items() if k != "environment"}
    path.write_text(json.dumps(old))
    assert read_result(path).environment == {}
