"""The scoring loop: chunked encoding that runs ahead of the forward passes in a worker thread."""

import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from rmeval.harness.adapters.base import Encoded, RewardModel
from rmeval.harness.adapters.hf import HFRewardModel
from rmeval.harness.cache import ScoreCache
from rmeval.harness.records import Score, ScoreRequest
from rmeval.harness.scoring import chunk_bounds, planned, score_requests


def test_chunks_double_and_never_split_a_prompt_group():
    prompts = "a a a b c c d e f g h i".split()
    requests = [ScoreRequest(p, f"response {i}") for i, p in enumerate(prompts)]
    # 2 rows, extended over the third "a"; then 4 rows (3-6: b c c d); then the 5 left
    assert chunk_bounds(requests, first=2) == [(0, 3), (3, 7), (7, 12)]
    assert chunk_bounds([], first=2) == []


def _requests(n: int) -> list[ScoreRequest]:
    words = "alpha beta gamma delta epsilon zeta eta theta".split()
    return [
        ScoreRequest(f"question {i // 2} about {words[i // 2 % 8]}", " ".join(words[: 1 + i % 8]))
        for i in range(n)
    ]


def _score(model: HFRewardModel, requests: list[ScoreRequest], budget: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as d:
        cache = ScoreCache(Path(d) / "c.sqlite")
        found, stats = score_requests(model, requests, cache, batch_tokens=budget, progress=False)
        cache.close()
    assert stats.scored == len(requests)
    return np.array([found[r.key].value for r in requests])


def test_next_chunk_is_tokenised_in_a_worker_while_this_one_is_scored(tiny_llama_rm):
    requests = _requests(200)  # chunks: 64, 128 and 8 requests
    model = HFRewardModel(str(tiny_llama_rm), device="cpu")
    events: list[tuple[str, int, str, float]] = []
    encode, forward = model.encode, model.forward_collated

    def spy_encode(reqs):
        chunk = next(
            k for k, (lo, _) in enumerate(chunk_bounds(requests)) if reqs[0] is requests[lo]
        )
        events.append(("encode", chunk, threading.current_thread().name, time.perf_counter()))
        return encode(reqs)

    def spy_forward(inputs, batch):
        out = forward(inputs, batch)
        events.append(("forward", len(batch), threading.current_thread().name, time.perf_counter()))
        return out

    model.encode, model.forward_collated = spy_encode, spy_forward
    got = _score(model, requests, budget=400)
    encodes = [e for e in events if e[0] == "encode"]
    assert [e[1] for e in encodes] == [0, 1, 2]
    assert all(e[2].startswith("rmeval-encode") for e in encodes)
    forwards = [e for e in events if e[0] == "forward"]
    assert all(e[2] == threading.main_thread().name for e in forwards)
    # chunk 1 was being tokenised before chunk 0's first batch was scored: it did not wait
    assert encodes[1][3] < forwards[0][3]
    assert sum(e[1] for e in forwards) == len(requests)

    model.encode, model.forward_collated = encode, forward
    model.encode_in_worker = False  # one chunk, encoded in the caller's thread
    whole = _score(model, requests, budget=400)
    assert np.max(np.abs(got - whole)) <= 1e-5


def test_chunked_plan_covers_every_request_once_and_is_deterministic(tiny_llama_rm):
    requests = _requests(150)
    model = HFRewardModel(str(tiny_llama_rm), device="cpu", share_prompts=True)
    keys = [r.key for r in requests]
    batches = list(planned(model, requests, keys, 48))
    assert sorted(i for idx, _ in batches for i in idx) == list(range(len(requests)))
    for idx, batch in batches:
        assert [e.payload["input_ids"] for e in batch] == [
            e.payload["input_ids"] for e in model.encode([requests[i] for i in idx])
        ]
    assert batches == list(planned(model, requests, keys, 48))  # deterministic


class _Plain(RewardModel):
    """An adapter that implements only the abstract methods of the protocol."""

    type_name = "plain"
    default_batch_tokens = 96

    def fingerprint_fields(self) -> dict:
        return {}

    def encode(self, requests):
        return [Encoded(len(r.response), r.response) for r in requests]

    def forward(self, batch):
        return [Score(float(len(e.payload)), e.n_tokens) for e in batch]


class _Collating(_Plain):
    def auto_batch_tokens(self) -> int:
        return 32

    def collate(self, batch):
        return [e.payload.upper() for e in batch]

    def forward_collated(self, inputs, batch):
        return [Score(float(len(t)) + 0.5 * t.isupper(), 1) for t in inputs]


def test_optional_capabilities_have_declared_defaults_the_scorer_calls(tmp_path):
    plain, collating = _Plain(), _Collating()
    batch = plain.encode([ScoreRequest("p", "abc")])
    assert plain.auto_batch_tokens() == 96 and plain.collate(batch) is None
    assert plain.forward_collated(None, batch) == plain.forward(batch)
    requests = [ScoreRequest("p", "x" * n) for n in range(1, 6)]
    for model, budget, extra in ((plain, "96", 0.0), (collating, "32", 0.5)):
        cache = ScoreCache(tmp_path / f"{model.type_name}-{budget}.sqlite")
        found, _ = score_requests(model, requests, cache, progress=False)
        assert [found[r.key].value for r in requests] == [n + extra for n in range(1, 6)]
        assert cache.get_blob("batch_tokens", model.fingerprint()) == budget
        cache.close()
