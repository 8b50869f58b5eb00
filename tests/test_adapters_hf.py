"""The hf adapter: padding/batch invariance, last-token reading, multi-label heads, safety."""

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from rmeval.harness.adapters.hf import HFRewardModel
from rmeval.harness.batching import plan_batches
from rmeval.harness.cache import ScoreCache
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import ScoreRequest

TEXTS = [
    ScoreRequest("what is two plus two", "four"),
    ScoreRequest("what is two plus two", "the answer is five because two plus two is five"),
    ScoreRequest("say something rude", "no"),
    ScoreRequest("tell me about math facts and code", "math is about numbers " * 6),
    ScoreRequest("x", "y"),
]


def _scores(model, budget):
    enc = model.encode(TEXTS)
    out = [None] * len(TEXTS)
    for batch in plan_batches([e.n_tokens for e in enc], budget):
        for i, s in zip(batch, model.forward([enc[i] for i in batch])):
            out[i] = s.value
    return np.array(out)


@pytest.mark.parametrize("fixture", ["tiny_gpt2_rm", "tiny_llama_rm"])
def test_scores_do_not_depend_on_batch_size_or_padding_side(fixture, request):
    folder = request.getfixturevalue(fixture)
    right = HFRewardModel(str(folder), padding_side="right", device="cpu", pack=False)
    left = HFRewardModel(str(folder), padding_side="left", device="cpu", pack=False)
    one = _scores(right, budget=1)  # batch of 1: no padding at all
    for model in (right, left):
        for budget in (64, 10_000):
            assert np.max(np.abs(_scores(model, budget) - one)) <= 1e-5


def test_reward_is_read_at_the_last_real_token(tiny_gpt2_rm):
    import torch
    from transformers import AutoModelForSequenceClassification

    model = HFRewardModel(str(tiny_gpt2_rm), device="cpu")
    enc = model.encode(TEXTS[:1])[0]
    ref = AutoModelForSequenceClassification.from_pretrained(tiny_gpt2_rm).eval()
    with torch.no_grad():
        hidden = ref.transformer(torch.tensor([enc.payload["input_ids"]])).last_hidden_state
        expected = ref.score(hidden[0, -1]).item()
    assert model.forward([enc])[0].value == pytest.approx(expected, abs=1e-6)


def test_multi_label_head_reports_attributes_and_declared_reduction(tiny_multi_rm):
    mean = HFRewardModel(str(tiny_multi_rm), device="cpu")
    pick = HFRewardModel(str(tiny_multi_rm), device="cpu", reduce="correctness")
    enc = mean.encode(TEXTS[:2])
    for s_mean, s_pick in zip(mean.forward(enc), pick.forward(enc)):
        assert set(s_mean.attributes) == {"helpfulness", "correctness", "verbosity"}
        assert s_mean.value == pytest.approx(np.mean(list(s_mean.attributes.values())), abs=1e-6)
        assert s_pick.value == pytest.approx(s_pick.attributes["correctness"], abs=1e-6)
    assert mean.fingerprint() != pick.fingerprint()
    with pytest.raises(RmevalError, match="reduce=bogus"):
        HFRewardModel(str(tiny_multi_rm), device="cpu", reduce="bogus").forward(enc)


def test_overlong_inputs_are_truncated_and_flagged(tiny_llama_rm):
    model = HFRewardModel(str(tiny_llama_rm), device="cpu", max_length=8)
    enc = model.encode(TEXTS)
    assert all(e.n_tokens <= 8 for e in enc)
    assert any(e.truncated for e in enc)
    assert all(s.truncated == e.truncated for s, e in zip(model.forward(enc), enc))


def test_fingerprint_separates_models_and_ignores_batching(tiny_llama_rm, tiny_llama_rm_other):
    a = HFRewardModel(str(tiny_llama_rm), device="cpu")
    b = HFRewardModel(str(tiny_llama_rm_other), device="cpu")
    assert a.fingerprint() != b.fingerprint()
    assert (
        a.fingerprint()
        == HFRewardModel(str(tiny_llama_rm), device="cpu", padding_side="left").fingerprint()
    )
    assert (
        a.fingerprint()
        != HFRewardModel(str(tiny_llama_rm), device="cpu", max_length=16).fingerprint()
    )


def test_pickled_weights_need_a_flag(tiny_llama_rm, tmp_path):
    folder = tmp_path / "pickled"
    shutil.copytree(tiny_llama_rm, folder)
    (folder / "model.safetensors").unlink()
    (folder / "pytorch_model.bin").write_bytes(b"not really a pickle")
    with pytest.raises(RmevalError, match="--allow-unsafe-weights"):
        HFRewardModel(str(folder), device="cpu")


def test_remote_code_needs_a_flag(tiny_llama_rm, tmp_path):
    folder = tmp_path / "remote"
    shutil.copytree(tiny_llama_rm, folder)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["auto_map"] = {"AutoModelForSequenceClassification": "modeling_x.XForRM"}
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(RmevalError, match="--trust-remote-code"):
        HFRewardModel(str(folder), device="cpu")


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(RmevalError, match="no such model folder"):
        HFRewardModel(str(tmp_path / "nope"), device="cpu")


def test_hub_id_fails_fast_offline_with_a_clear_error():
    model = HFRewardModel("org-that-does-not-exist/rm", revision="0" * 40, device="cpu")
    with pytest.raises(RmevalError, match="could not load"):
        model.encode(TEXTS[:1])


def test_hidden_states_at_last_real_token_match_a_hand_forward(tiny_gpt2_rm):
    import torch
    from transformers import AutoModelForSequenceClassification

    model = HFRewardModel(str(tiny_gpt2_rm), device="cpu")
    feats = model.hidden_states(TEXTS, layers=[-1, 1])
    ref = AutoModelForSequenceClassification.from_pretrained(tiny_gpt2_rm).eval()
    for i, enc in enumerate(model.encode(TEXTS)):
        with torch.no_grad():
            out = ref(torch.tensor([enc.payload["input_ids"]]), output_hidden_states=True)
        np.testing.assert_allclose(feats[-1][i], out.hidden_states[-1][0, -1].numpy(), atol=1e-5)
        np.testing.assert_allclose(feats[1][i], out.hidden_states[1][0, -1].numpy(), atol=1e-5)


SHARED = (
    [
        ScoreRequest("tell me about math facts and code safety and focus", r)
        for r in ("four", "the answer is five because two plus two is five", "no", "math " * 9)
    ]
    + [
        ScoreRequest("what is two plus two times three equals", r)
        for r in ("six", "ten because two plus two is four", "zero one two three")
    ]
    + [ScoreRequest("x", "a lone request")]
)


def _spy_spans(monkeypatch) -> list[list[tuple]]:
    """Records the packed spans of every packed forward."""
    from rmeval.harness.adapters import packing

    seen: list[list[tuple]] = []
    real = packing.logits

    def spy(model, inputs):
        seen.append(inputs["spans"])
        return real(model, inputs)

    monkeypatch.setattr(packing, "logits", spy)
    return seen


def _cached_scores(model, requests, budget):
    from rmeval.harness.scoring import score_requests

    with tempfile.TemporaryDirectory() as d:
        cache = ScoreCache(Path(d) / "c.sqlite")
        found, _ = score_requests(model, requests, cache, batch_tokens=budget, progress=False)
        cache.close()
    return np.array([found[r.key].value for r in requests])


@pytest.mark.parametrize("fixture", ["tiny_gpt2_rm", "tiny_llama_rm"])
def test_packed_batches_score_like_padded_ones_without_padding(fixture, request, monkeypatch):
    folder = request.getfixturevalue(fixture)
    padded = HFRewardModel(str(folder), device="cpu", pack=False)
    packed = HFRewardModel(str(folder), device="cpu")  # auto: packs on CPU
    seen = _spy_spans(monkeypatch)
    expected = np.array([s.value for s in padded.forward(padded.encode(SHARED))])
    assert not seen  # pack=false keeps padded batches
    lengths = [e.n_tokens for e in packed.encode(SHARED)]
    for budget in (30, 10_000):
        seen.clear()
        got = _cached_scores(packed, SHARED, budget)
        assert np.max(np.abs(got - expected)) <= 1e-5
        spans = [s for batch in seen for s in batch]
        assert sorted(end - start for start, end, _, _ in spans) == sorted(lengths)
        assert all(
            sum(e - s for s, e, _, _ in batch) <= max(budget, max(lengths)) for batch in seen
        )
    assert len(seen) == 1  # the large budget packs everything in one padding-free row
    assert packed.fingerprint() == padded.fingerprint()


@pytest.mark.parametrize("fixture", ["tiny_gpt2_rm", "tiny_llama_rm"])
def test_prompt_sharing_keeps_scores_and_groups_whole(fixture, request, monkeypatch):
    folder = request.getfixturevalue(fixture)
    plain = HFRewardModel(str(folder), device="cpu", pack=False)
    shared = HFRewardModel(str(folder), device="cpu", share_prompts=True)
    enc = shared.encode(SHARED)
    prefix_lens = [e.payload["prefix_len"] for e in enc]
    assert all(n >= 8 for n in prefix_lens[:7]) and prefix_lens[7] == 0
    keys = [r.key for r in SHARED]
    for budget in (40, 10_000):
        batches = shared.plan(enc, budget, keys)
        assert sorted(i for b in batches for i in b) == list(range(len(SHARED)))
        for group in (range(0, 4), range(4, 7)):
            assert sum(any(i in b for i in group) for b in batches) == 1  # never split
    expected = np.array([s.value for s in plain.forward(plain.encode(SHARED))])
    seen = _spy_spans(monkeypatch)
    for budget in (40, 10_000):
        seen.clear()
        got = _cached_scores(shared, SHARED, budget)
        assert np.max(np.abs(got - expected)) <= 1e-5
        spans = [s for batch in seen for s in batch]
        assert sum(s[2] is not None for s in spans) == 7  # grouped responses use their prefix
        computed = sum(end - start for start, end, _, _ in spans)  # each prompt once
        assert computed == sum(e.n_tokens for e in enc) - 3 * prefix_lens[0] - 2 * prefix_lens[4]
    assert shared.fingerprint() == plain.fingerprint()


@pytest.mark.parametrize("fixture", ["tiny_gpt2_rm", "tiny_llama_rm"])
def test_scoring_builds_no_key_value_cache(fixture, request, monkeypatch):
    import torch
    from transformers import cache_utils

    built = []
    real_init = cache_utils.DynamicCache.__init__

    def counting_init(self, *args, **kwargs):
        built.append(self)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(cache_utils.DynamicCache, "__init__", counting_init)
    folder = request.getfixturevalue(fixture)
    models = [HFRewardModel(str(folder), device="cpu", **kw)
              for kw in ({"pack": False}, {}, {"share_prompts": True})]  # fmt: skip
    for model in models:
        model.forward(model.encode(SHARED))
    models[0].hidden_states(SHARED[:2])
    assert built == []
    base = getattr(models[0].model, models[0].model.base_model_prefix)
    with torch.inference_mode():
        base(torch.tensor([[1, 2, 3]]))  # transformers' default does build one: the spy sees it
    assert len(built) == 1


def test_packing_refuses_models_it_cannot_pack(tiny_gpt2_rm, minilm_path):
    with pytest.raises(RmevalError, match="pack=true: .* cannot be packed .*encoder"):
        HFRewardModel(str(minilm_path), device="cpu", pack=True).plan([], 100, [])
    auto = HFRewardModel(str(minilm_path), device="cpu")
    assert auto.plan([], 100, []) == [] and not auto._packing  # auto falls back to padding
    eager = HFRewardModel(str(tiny_gpt2_rm), device="cpu", share_prompts=True)
    eager.model.set_attn_implementation("eager")
    with pytest.raises(RmevalError, match="share_prompts=true: .*attn_implementation=eager"):
        eager.encode(SHARED)
    with pytest.raises(RmevalError, match="pack=maybe: use auto, true or false"):
        HFRewardModel(str(tiny_gpt2_rm), pack="maybe")


def test_packing_refuses_a_model_whose_layers_drop_the_spans(tiny_llama_rm):
    packed = HFRewardModel(str(tiny_llama_rm), device="cpu", pack=True)
    attention = packed.model.model.layers[0].self_attn
    forward = attention.forward

    def without_spans(*args, **kwargs):  # a model that does not pass kwargs to its attention
        kwargs.pop("rmeval_spans", None)
        return forward(*args, **kwargs)

    attention.forward = without_spans
    enc = packed.encode(TEXTS)
    with pytest.raises(RmevalError, match="packed attention in 1 of 2 layers.*pack=false"):
        packed.forward(enc)


def test_cpu_budget_keeps_the_widest_activation_under_the_limit(tiny_llama_rm, tiny_gpt2_rm):
    llama = HFRewardModel(str(tiny_llama_rm), device="cpu")  # intermediate 128, float32
    assert llama.auto_batch_tokens() == 16384  # 16 MiB / (4 B × 128) = 32,768, capped
    llama.cpu_activation_bytes = 2 << 20  # 2 MiB / 512 B = 4,096 tokens exactly
    assert llama.auto_batch_tokens() == 4096
    llama.cpu_activation_bytes = (2 << 20) - 1
    assert llama.auto_batch_tokens() == 2048
    gpt2 = HFRewardModel(str(tiny_gpt2_rm), device="cpu")  # n_inner unset: 4 × 64 = 256 wide
    gpt2.cpu_activation_bytes = 2 << 20  # 2 MiB / (4 B × 256) = 2,048
    assert gpt2.auto_batch_tokens() == 2048
    gpt2.cpu_activation_bytes = 1
    assert gpt2.auto_batch_tokens() == 1024  # floor


def test_out_of_memory_on_a_packed_shared_batch_backs_off_to_the_same_scores(
    tiny_llama_rm, monkeypatch
):
    from rmeval.harness.adapters import packing

    plain = HFRewardModel(str(tiny_llama_rm), device="cpu", pack=False)
    expected = np.array([s.value for s in plain.forward(plain.encode(SHARED))])
    real, rows = packing.logits, []

    def small_memory(model, inputs):  # a packed row over 40 tokens "does not fit"
        rows.append(inputs["input_ids"].shape[1])
        if rows[-1] > 40:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")
        return real(model, inputs)

    monkeypatch.setattr(packing, "logits", small_memory)
    shared = HFRewardModel(str(tiny_llama_rm), device="cpu", share_prompts=True)
    got = _cached_scores(shared, SHARED, 10_000)
    assert max(rows) > 40 and any(n <= 40 for n in rows)  # it failed, then halved
    assert np.max(np.abs(got - expected)) <= 1e-5
