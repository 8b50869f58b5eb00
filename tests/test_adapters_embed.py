"""The embed adapter on the real MiniLM encoder, and the two baselines."""

import numpy as np
import pytest
from rmeval.harness.adapters.baselines import LengthBaseline, RandomBaseline
from rmeval.harness.adapters.embed import EmbeddingSimilarity
from rmeval.harness.records import ScoreRequest


def test_minilm_embeddings_match_sentence_transformers(minilm_path):
    from sentence_transformers import SentenceTransformer

    texts = ["What is the capital of France?", "Paris is the capital of France.", "解 かいせつ"]
    model = EmbeddingSimilarity(minilm_path, device="cpu")
    ours = model.embed_ids([model._ids(t)[0] for t in texts]).numpy()
    ref = SentenceTransformer(minilm_path, device="cpu").encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_on_topic_answers_score_higher_than_off_topic(minilm_path):
    model = EmbeddingSimilarity(minilm_path, device="cpu")
    prompt = "What is the capital of France?"
    reqs = [
        ScoreRequest(prompt, "The capital of France is Paris."),
        ScoreRequest(prompt, "I enjoy baking bread on Sundays."),
    ]
    on, off = (s.value for s in model.forward(model.encode(reqs)))
    assert on > off
    assert model.spec == "embed:" + minilm_path
    assert EmbeddingSimilarity(device="cpu").spec == "embed:all-MiniLM-L6-v2"


def test_embed_batches_agree_with_single_texts(minilm_path):
    model = EmbeddingSimilarity(minilm_path, device="cpu")
    reqs = [ScoreRequest("a question about math", "two plus two is four " * k) for k in range(1, 6)]
    enc = model.encode(reqs)
    together = [s.value for s in model.forward(enc)]
    alone = [model.forward([e])[0].value for e in enc]
    assert np.max(np.abs(np.array(together) - np.array(alone))) <= 1e-5


def test_length_baseline_counts_chars_or_words():
    reqs = [ScoreRequest("p", "one two three"), ScoreRequest("p", "x")]
    assert [s.value for s in LengthBaseline().forward(LengthBaseline().encode(reqs))] == [13.0, 1.0]
    words = LengthBaseline(unit="words")
    assert [s.value for s in words.forward(words.encode(reqs))] == [3.0, 1.0]


def test_random_baseline_is_seeded_and_order_free():
    reqs = [ScoreRequest("p", f"r{i}") for i in range(20)]
    a = RandomBaseline(seed=1)
    forward = [s.value for s in a.forward(a.encode(reqs))]
    backward = [s.value for s in a.forward(a.encode(reqs[::-1]))][::-1]
    assert forward == backward
    b = RandomBaseline(seed=2)
    assert forward != [s.value for s in b.forward(b.encode(reqs))]
    assert all(0 <= v < 1 for v in forward)
    assert a.fingerprint() != b.fingerprint()


@pytest.mark.parametrize("budget", [1, 7, 1000])
def test_plan_batches_respects_the_budget_and_covers_everything(budget):
    from rmeval.harness.batching import plan_batches

    lengths = [5, 1, 9, 3, 3, 7, 2]
    batches = plan_batches(lengths, budget)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= budget
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(flat, reverse=True)


def test_out_of_memory_halves_the_batch_and_keeps_order():
    from rmeval.harness.batching import run_with_backoff

    calls = []

    def fn(batch):
        calls.append(len(batch))
        if len(batch) > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")
        return [x * 10 for x in batch]

    assert run_with_backoff(list(range(7)), fn) == [x * 10 for x in range(7)]
    assert calls == [7, 3, 1, 2, 4, 2, 2]  # 7 -> 3 + 4 -> (1 + 2) + (2 + 2)
    with pytest.raises(ValueError):
        run_with_backoff([1, 2], lambda b: (_ for _ in ()).throw(ValueError("other")))
