"""The tiny-model run's own cost (issue 24): packed rows built with numpy, equal-length texts
attended in one batched call, scores converted once per batch, chunks planned in the worker.
Each must give exactly what the per-text code gave."""

import threading

import pytest
from rmeval.harness.adapters import hf_head, packing
from rmeval.harness.adapters.base import Encoded
from rmeval.harness.adapters.hf import HFRewardModel
from rmeval.harness.records import Score, ScoreRequest
from rmeval.harness.scoring import chunk_bounds, planned


def test_plain_row_is_laid_out_as_worked_by_hand():
    import torch

    batch = [Encoded(3, {"input_ids": [5, 6, 7]}), Encoded(2, {"input_ids": [8, 9]})]
    got = packing.collate(batch, "cpu", torch.float32)
    assert got["input_ids"].tolist() == [[5, 6, 7, 8, 9]]
    assert got["position_ids"].tolist() == [[0, 1, 2, 0, 1]]
    assert got["attention_mask"].tolist() == [[1, 1, 1, 1, 1]]
    assert got["last"].tolist() == [2, 4]
    assert {got[k].dtype for k in ("input_ids", "position_ids", "last")} == {torch.int64}
    spans = got["spans"]
    assert list(spans) == [(0, 3, None, None), (3, 5, None, None)]
    assert all(type(x) is int for span in spans for x in span[:2])
    assert spans.cu_seqlens.tolist() == [0, 3, 5] and spans.cu_seqlens.dtype == torch.int32
    assert spans.max_len == 3 and spans.runs == [(0, 1), (1, 1)]


def test_equal_runs_join_only_adjacent_equal_unshared_spans():
    mask = object()
    spans = [(0, 3, None, None), (3, 6, None, None), (6, 9, None, None), (9, 11, None, None),
             (11, 13, (0, 3), mask), (13, 15, None, None), (15, 17, None, None),
             (20, 22, None, None)]  # fmt: skip
    # 0-2 one run of 3; 3 (length 2) alone; 4 has a prefix; 5-6 a run; 7 is not adjacent to 6
    assert packing.equal_runs(spans) == [(0, 3), (3, 1), (4, 1), (5, 2), (7, 1)]
    assert packing.equal_runs([]) == []


def _gqa_model():
    """A tiny Qwen3 classifier: 4 query heads over 2 key/value heads (grouped-query)."""
    import torch
    import transformers

    config = transformers.Qwen3Config(
        vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, num_labels=2, pad_token_id=0,
        max_position_embeddings=128, head_dim=8,
    )  # fmt: skip
    torch.manual_seed(0)
    return transformers.Qwen3ForSequenceClassification(config).eval()


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_batched_equal_length_attention_is_bit_identical_to_one_call_per_text(dtype):
    import random

    import torch

    model = _gqa_model().to(getattr(torch, dtype))
    packing.enable(model)
    rng = random.Random(1)
    lengths = [9, 9, 9, 6, 6, 1, 4, 4, 4, 4]  # longest first, as plans lay them out
    batch = [Encoded(n, {"input_ids": [rng.randrange(2, 50) for _ in range(n)]}) for n in lengths]
    inputs = packing.collate(batch, "cpu", getattr(torch, dtype))
    assert inputs["spans"].runs == [(0, 3), (3, 2), (5, 1), (6, 4)]
    with torch.inference_mode():
        batched = packing.logits(model, inputs)
        inputs["spans"].runs = [(i, 1) for i in range(len(batch))]  # one SDPA call per text
        single = packing.logits(model, inputs)
    assert torch.equal(batched, single)


def test_scores_of_a_batch_equal_the_per_row_conversion():
    import torch

    logits = torch.tensor([[0.1], [-2.5], [3.0]], dtype=torch.bfloat16).float()
    batch = [Encoded(3), Encoded(5, truncated=True), Encoded(1)]
    old = [hf_head.to_score(row.tolist(), e, ["x"], "mean") for row, e in zip(logits, batch)]
    assert hf_head.to_scores(logits.tolist(), batch, ["x"], "mean") == old
    assert old[1] == Score(-2.5, 5, True)
    two = torch.tensor([[1.0, 3.0], [0.5, 0.25]])
    got = hf_head.to_scores(two.tolist(), batch[:2], ["a", "b"], "mean")
    assert [(s.value, s.attributes) for s in got] == [(2.0, {"a": 1.0, "b": 3.0}),
                                                       (0.375, {"a": 0.5, "b": 0.25})]  # fmt: skip


def test_chunks_are_planned_in_the_encode_worker_as_whole_chunk_plans(tiny_llama_rm):
    words = "alpha beta gamma delta epsilon zeta eta theta".split()
    requests = [ScoreRequest(f"q{i // 2} {words[i % 8]}", " ".join(words[: 1 + i % 7]))
                for i in range(150)]  # fmt: skip
    keys = [r.key for r in requests]
    model = HFRewardModel(str(tiny_llama_rm), device="cpu")
    threads: list[str] = []
    plan = model.plan

    def spy(encoded, budget, chunk_keys):
        threads.append(threading.current_thread().name)
        return plan(encoded, budget, chunk_keys)

    model.plan = spy
    got = [(idx, [e.payload for e in batch]) for idx, batch in planned(model, requests, keys, 64)]
    bounds = chunk_bounds(requests)
    assert len(threads) == len(bounds) and all(t.startswith("rmeval-encode") for t in threads)
    expected = []  # the plan worked out chunk by chunk in this thread
    for lo, hi in bounds:
        encoded = model.encode(requests[lo:hi])
        for b in plan(encoded, 64, keys[lo:hi]):
            expected.append(([lo + j for j in b], [encoded[j].payload for j in b]))
    assert got == expected
