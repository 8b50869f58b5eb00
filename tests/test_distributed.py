"""Data-parallel scoring: 2 gloo processes give the samples of a single-process run exactly."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rmeval.harness.cache import ScoreCache
from rmeval.harness.distributed import ShardCache, merge_caches, rank_cache_path
from rmeval.harness.records import Score

from tests.test_cli import write_prefs


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # One thread in both runs: the same kernels on the same batches give the same bits.
    env.update(OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env.pop("WORLD_SIZE", None)
    return env


def _run(launcher: list[str], model: Path, data: Path, out: Path) -> subprocess.CompletedProcess:
    argv = [*launcher, "-m", "rmeval", "run", "--model", f"hf:{model}", "--tasks",
            "pairwise", "--data", f"pairwise={data}", "--output-dir", str(out / "results"),
            "--cache-dir", str(out / "cache"), "--batch-tokens", "48", "--no-progress"]  # fmt: skip
    proc = subprocess.run(argv, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_two_gloo_ranks_equal_a_single_process_run(tmp_path, tiny_llama_rm):
    data = write_prefs(tmp_path / "prefs.jsonl", n=24)
    _run([sys.executable], tiny_llama_rm, data, tmp_path / "single")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    proc = _run(torchrun, tiny_llama_rm, data, tmp_path / "dp")
    for rank in (0, 1):  # both ranks did real work
        line = next(x for x in proc.stderr.splitlines() if f"rank {rank}/2 scored" in x)
        assert int(line.split("scored ")[1].split()[0]) > 0
    single = next((tmp_path / "single" / "results").iterdir())
    dp = next((tmp_path / "dp" / "results").iterdir())
    a = (single / "pairwise.samples.jsonl").read_bytes()
    assert a == (dp / "pairwise.samples.jsonl").read_bytes()
    metrics = [json.loads((d / "pairwise.json").read_text())["metrics"] for d in (single, dp)]
    assert metrics[0] == metrics[1]
    assert [p.name for p in (tmp_path / "dp" / "cache").glob("scores.rank*")] == []
    merged = ScoreCache(tmp_path / "dp" / "cache" / "scores.sqlite")
    assert merged.count() == 48  # 24 pairs, every text once
    merged.close()


def test_shard_cache_reads_both_writes_own_and_merge_keeps_first(tmp_path):
    main = ScoreCache(tmp_path / "scores.sqlite")
    own = ScoreCache(rank_cache_path(tmp_path, 1))
    main.put_many("fp", [("a", Score(1.0))])
    shard = ShardCache(main, own)
    shard.put_many("fp", [("b", Score(2.0)), ("a", Score(9.0))])
    assert {k: s.value for k, s in shard.get_many("fp", ["a", "b", "c"]).items()} == {
        "a": 1.0,
        "b": 2.0,
    }
    assert main.count() == 1 and own.count() == 2
    own.close()
    assert merge_caches(main.path, [rank_cache_path(tmp_path, 1), tmp_path / "missing"]) == 2
    assert {k: s.value for k, s in main.get_many("fp", ["a", "b"]).items()} == {"a": 1.0, "b": 2.0}
    assert not rank_cache_path(tmp_path, 1).exists()
    main.close()


def one_rank_group(monkeypatch) -> None:
    """The environment a launcher gives a group of one rank on a free local port."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for key, value in dict(RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MASTER_PORT", str(port))


def test_a_data_parallel_run_refuses_another_identity_before_scoring(tmp_path, monkeypatch):
    import pytest
    from rmeval.harness import distributed
    from rmeval.harness.cli import main
    from rmeval.harness.errors import RmevalError
    from rmeval.harness.runner import RunOptions, run

    first = write_prefs(tmp_path / "a.jsonl", n=4)
    out, cache = str(tmp_path / "results"), str(tmp_path / "cache")
    flags = ["--output-dir", out, "--cache-dir", cache, "--no-progress"]
    assert main(["run", "--model", "length", "--tasks", "pairwise", "--data", f"pairwise={first}", *flags]) == 0  # fmt: skip
    one_rank_group(monkeypatch)
    monkeypatch.setattr(
        distributed.DataParallel, "_score_shard", lambda *a: pytest.fail("scored first")
    )
    other = write_prefs(tmp_path / "b.jsonl", n=5)
    opts = RunOptions(["length"], ["pairwise"], data={"pairwise": str(other)},
                      output_dir=out, cache_dir=cache, progress=False)  # fmt: skip
    with pytest.raises(RmevalError, match="already holds a result of other data"):
        run(opts, sharding=distributed.DataParallel())


def test_a_data_parallel_run_gives_each_model_the_keys_it_declares(tmp_path, monkeypatch):
    """As in a single-process run: ``unit`` goes to length, ``seed`` to random, none refused."""
    from rmeval.harness import distributed
    from rmeval.harness.runner import RunOptions, run

    one_rank_group(monkeypatch)
    opts = RunOptions(["length", "random"], ["pairwise"], model_args={"unit": "words", "seed": 3},
                      data={"pairwise": str(write_prefs(tmp_path / "a.jsonl", n=4))},
                      output_dir=str(tmp_path / "results"), cache_dir=str(tmp_path / "cache"),
                      progress=False)  # fmt: skip
    written = run(opts, sharding=distributed.DataParallel())
    models = [r.model for r in written]
    assert [(m["spec"], m["args"]) for m in models] == [
        ("length", {"unit": "words"}),
        ("random", {"seed": 3}),
    ]


@pytest.mark.parametrize(
    "extra, said",
    [
        (["--model", "random", "--name", "mine"], "--name names one model's results"),
        (["--model", "nosuch:x"], "unknown model type 'nosuch'"),
    ],
)
def test_a_launched_run_makes_the_single_process_checks_before_the_ranks_meet(
    tmp_path, monkeypatch, capsys, extra, said
):
    import torch.distributed as dist

    from rmeval.cli import main

    monkeypatch.setenv("WORLD_SIZE", "2")  # as under torchrun; no rank 1 and no rendezvous
    monkeypatch.setenv("RANK", "0")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    data = write_prefs(tmp_path / "p.jsonl", n=3)
    argv = ["run", "--model", "length", *extra, "--tasks", "pairwise",
            "--data", f"pairwise={data}", "--output-dir", str(tmp_path / "out"),
            "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    assert main(argv) == 2
    assert said in capsys.readouterr().err
    assert not dist.is_initialized() and not (tmp_path / "cache").exists()


def test_the_budget_ranks_agree_on_is_resolved_and_recorded_once(tmp_path):
    from rmeval.harness.adapters.baselines import LengthBaseline
    from rmeval.harness.scoring import resolve_budget

    model = LengthBaseline()
    main, own = ScoreCache(tmp_path / "scores.sqlite"), ScoreCache(rank_cache_path(tmp_path, 1))
    shard = ShardCache(main, own)
    agreed = resolve_budget(model, shard, None, agree=lambda local: local // 4)
    assert agreed == model.default_batch_tokens // 4
    assert own.get_blob("batch_tokens", model.fingerprint()) == str(agreed)
    main.put_blob("batch_tokens", model.fingerprint(), "640")  # rank 0, after the merge
    never = resolve_budget(model, shard, None, agree=lambda local: 1 / 0)  # no rank reduces
    assert never == 640 and resolve_budget(model, shard, 96, agree=lambda local: 1 / 0) == 96
    main.close()
    own.close()
