"""A killed run resumes with exactly the batches an uninterrupted run would have forwarded."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from rmeval.harness.adapters.hf import HFRewardModel
from rmeval.harness.cache import ScoreCache
from rmeval.harness.cli import main
from rmeval.harness.records import ScoreRequest
from rmeval.harness.scoring import score_requests

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()


def _requests(n: int) -> list[ScoreRequest]:
    """``n`` texts of mixed lengths, two responses per prompt (more than one encoding chunk)."""
    return [
        ScoreRequest(
            f"question {i // 2}: {' '.join(WORDS[: 1 + i // 2 % 7])}", " ".join(WORDS[: 1 + i % 9])
        )
        for i in range(n)
    ]


class Killed(Exception):
    """Stands in for SIGKILL in the middle of a run."""


class BatchSpy:
    """Records, by text key, every batch the model forwards; raises after ``kill_after``."""

    def __init__(self, model: HFRewardModel, kill_after: int | None = None) -> None:
        self.batches: list[tuple[str, ...]] = []
        self.kill_after = kill_after
        self._key_of: dict[int, str] = {}
        plan, forward, forward_collated = model.plan, model.forward, model.forward_collated

        def spy_plan(encoded, budget, keys):
            self._key_of.update({id(e): k for e, k in zip(encoded, keys, strict=True)})
            return plan(encoded, budget, keys)

        def spy_forward(batch):
            self._record(batch)
            return forward(batch)

        def spy_forward_collated(inputs, batch):
            self._record(batch)
            return forward_collated(inputs, batch)

        model.plan, model.forward = spy_plan, spy_forward
        model.forward_collated = spy_forward_collated

    def _record(self, batch) -> None:
        if self.kill_after is not None and len(self.batches) == self.kill_after:
            raise Killed
        self.batches.append(tuple(self._key_of[id(e)] for e in batch))


def _score(model, requests, cache, budget=400):
    return score_requests(model, requests, cache, batch_tokens=budget, progress=False)


@pytest.mark.parametrize("pack", ["auto", "false"])
def test_resumed_run_forwards_exactly_the_cold_runs_missing_batches(tmp_path, tiny_llama_rm, pack):
    requests = _requests(80)  # two encoding chunks (64 and 16 requests), 13-15 batches
    cold_model = HFRewardModel(str(tiny_llama_rm), device="cpu", pack=pack)
    cold = BatchSpy(cold_model)
    cold_scores, _ = _score(cold_model, requests, ScoreCache(tmp_path / "cold.sqlite"))
    assert len(cold.batches) > 6

    cache = ScoreCache(tmp_path / "killed.sqlite")
    killed_model = HFRewardModel(str(tiny_llama_rm), device="cpu", pack=pack)
    killed = BatchSpy(killed_model, kill_after=3)
    with pytest.raises(Killed):
        _score(killed_model, requests, cache)
    assert killed.batches == cold.batches[:3]
    assert 0 < cache.count() < len(requests)

    resumed_model = HFRewardModel(str(tiny_llama_rm), device="cpu", pack=pack)
    resumed = BatchSpy(resumed_model)
    scores, stats = _score(resumed_model, requests, cache)
    # the same plan over all texts: the batches never committed, composed exactly as cold
    assert killed.batches + resumed.batches == cold.batches
    assert stats.cached == sum(len(b) for b in killed.batches)
    assert {k: s.value for k, s in scores.items()} == {
        k: s.value for k, s in cold_scores.items()
    }  # bit for bit: the same batch composition gives the same floats


def _run(model: Path, data: Path, out: Path, cache: Path) -> list[list[float]]:
    argv = ["run", "--model", f"hf:{model}", "--tasks", "pairwise", "--data", f"pairwise={data}"]
    argv += ["--output-dir", str(out), "--cache-dir", str(cache), "--no-progress"]
    assert main(argv) == 0
    (samples,) = out.glob("*/pairwise.samples.jsonl")
    return [json.loads(line)["scores"] for line in samples.read_text().splitlines()]


def test_new_weights_in_the_same_folder_are_scored_anew(
    tmp_path, tiny_llama_rm, tiny_llama_rm_other
):
    data = tmp_path / "prefs.jsonl"
    rows = [
        {
            "id": f"r{i}",
            "prompt": f"question {i}",
            "chosen": " ".join(WORDS[i:]),
            "rejected": WORDS[i],
        }
        for i in range(6)
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    folder = tmp_path / "my-rm"
    shutil.copytree(tiny_llama_rm, folder)
    cache = tmp_path / "cache"
    before = _run(folder, data, tmp_path / "out1", cache)

    weights = folder / "model.safetensors"
    st = weights.stat()
    shutil.copyfile(tiny_llama_rm_other / "model.safetensors", weights)  # same inode, same size
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old mtime, as `cp -p` could
    assert weights.stat().st_size == st.st_size
    after = _run(folder, data, tmp_path / "out2", cache)

    other = _run(tiny_llama_rm_other, data, tmp_path / "out3", tmp_path / "fresh-cache")
    assert after == other != before
