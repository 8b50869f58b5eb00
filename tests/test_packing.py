"""Packed (and prompt-shared) forwards equal one-text-at-a-time forwards across architectures."""

import pytest
from rmeval.harness.adapters import packing
from rmeval.harness.adapters.base import Encoded

COMMON = dict(vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, num_labels=2, pad_token_id=0,
              max_position_embeddings=128)  # fmt: skip
ARCHS = {  # name: (config class, model class, config extras)
    "qwen3": ("Qwen3Config", "Qwen3ForSequenceClassification", {"head_dim": 8}),
    "qwen2": ("Qwen2Config", "Qwen2ForSequenceClassification", {}),
    "mistral": ("MistralConfig", "MistralForSequenceClassification", {"sliding_window": None}),
    "gemma": ("GemmaConfig", "GemmaForSequenceClassification", {"head_dim": 8}),
    "phi3": ("Phi3Config", "Phi3ForSequenceClassification", {"eos_token_id": 1}),
    "olmo2": ("Olmo2Config", "Olmo2ForSequenceClassification", {"eos_token_id": 1}),
}


def _model(arch: str, **extra):
    import torch
    import transformers

    config_cls, model_cls, defaults = ARCHS[arch]
    config = getattr(transformers, config_cls)(**COMMON, **(defaults | extra))
    torch.manual_seed(0)
    return getattr(transformers, model_cls)(config).eval()


def _texts(prompts: int = 3, responses: int = 3):
    """Token ids: each prompt (12-20 tokens) with responses of 1-15 tokens, and a lone text."""
    import random

    rng = random.Random(0)
    out = []
    for _ in range(prompts):
        prompt = [rng.randrange(2, 50) for _ in range(rng.randrange(12, 21))]
        for _ in range(responses):
            out.append(
                (
                    tuple(prompt),
                    prompt + [rng.randrange(2, 50) for _ in range(rng.randrange(1, 16))],
                )
            )
    out.append(((), [rng.randrange(2, 50) for _ in range(7)]))
    return out


def _one_by_one(model, ids):
    import torch

    with torch.inference_mode():
        return torch.cat([model(torch.tensor([x])).logits for x in ids])


@pytest.mark.parametrize("arch", sorted(ARCHS))
@pytest.mark.parametrize("share", [False, True])
def test_packed_logits_equal_one_text_at_a_time(arch, share):
    import torch

    model = _model(arch)
    texts = _texts()
    expected = _one_by_one(model, [x for _, x in texts])
    assert packing.unsupported_reason(model) is None
    packing.enable(model)
    encoded = [Encoded(len(x), {"input_ids": x}, False) for _, x in texts]
    if share:
        packing.mark_shared_prefixes([p for p, _ in texts], encoded)
        assert all(e.payload["prefix_len"] >= 12 for e in encoded[:-1])
    inputs = packing.collate(encoded, "cpu", torch.float32)
    with torch.inference_mode():
        got = packing.logits(model, inputs)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    total = sum(len(x) for _, x in texts)
    shared = sum(len(p) for p, _ in texts[:-1:3]) * 2 if share else 0  # each prompt once, not 3×
    assert inputs["input_ids"].shape[1] == total - shared
    # unpacked calls on the same model still go through transformers' own SDPA path
    torch.testing.assert_close(_one_by_one(model, [x for _, x in texts]), expected)


@pytest.mark.parametrize(
    ("arch", "extra", "reason"),
    [
        ("mistral", {"sliding_window": 16}, "sliding-window"),
        ("qwen3", {"layer_types": ["sliding_attention", "full_attention"], "sliding_window": 16,
                   "use_sliding_window": True}, "sliding-window"),
    ],
)  # fmt: skip
def test_sliding_window_models_are_not_packed(arch, extra, reason):
    assert reason in packing.unsupported_reason(_model(arch, **extra))


def _reference_varlen(calls: list):
    """torch's varlen_attn semantics ([tokens, heads, dim], cumulative span ends, causal within
    each span, grouped-query heads), written with SDPA so it runs on CPU."""
    import torch

    def varlen(q, k, v, cu, max_len, scale):
        calls.append((cu.tolist(), max_len, q.shape[1], k.shape[1]))
        k, v = (x.repeat_interleave(q.shape[1] // x.shape[1], dim=1) for x in (k, v))
        out = torch.empty_like(q)
        for a, b in zip(cu[:-1].tolist(), cu[1:].tolist()):
            part = torch.nn.functional.scaled_dot_product_attention(
                *(x[a:b].transpose(0, 1) for x in (q, k, v)), is_causal=True, scale=scale
            )
            out[a:b] = part.transpose(0, 1)
        return out

    return varlen


@pytest.mark.parametrize("share", [False, True])
def test_cuda_path_runs_all_spans_in_one_varlen_call_per_layer(monkeypatch, share):
    """torch's flash-attention varlen kernel is CUDA-only, so a CPU reference with its
    documented semantics stands in for it here (bench/gpu.sh checks the real one: Hp vs A);
    this checks the span boundaries, the layouts and the grouped-query heads around the call.
    Shared prefixes keep the span loop (their masks are not per-span causal)."""
    import itertools

    import torch

    calls: list = []
    monkeypatch.setattr(packing, "_varlen_kernel", lambda: _reference_varlen(calls))
    monkeypatch.setattr(packing, "_varlen_applies", lambda query: True)
    model = _model("qwen3")  # 4 query heads, 2 key/value heads
    texts = _texts()
    expected = _one_by_one(model, [x for _, x in texts])
    packing.enable(model)
    encoded = [Encoded(len(x), {"input_ids": x}, False) for _, x in texts]
    if share:
        packing.mark_shared_prefixes([p for p, _ in texts], encoded)
    inputs = packing.collate(encoded, "cpu", torch.float32)
    with torch.inference_mode():
        got = packing.logits(model, inputs)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    lengths = [len(x) for _, x in texts]
    ends = list(itertools.accumulate(lengths, initial=0))
    assert calls == ([] if share else [(ends, max(lengths), 4, 2)] * 2)  # once per layer


def test_varlen_kernel_takes_the_arguments_this_torch_expects():
    import torch

    q = torch.randn(10, 4, 8)
    kv = torch.randn(10, 2, 8)
    assert not packing._varlen_applies(q)  # CPU: the span loop runs
    kernel = packing._varlen_kernel()
    assert kernel is not None  # torch 2.13 ships torch.nn.attention.varlen
    cu = torch.tensor([0, 4, 10], dtype=torch.int32)
    # the arguments pass varlen_attn's checks and reach the flash kernel, which has no CPU build
    with pytest.raises(NotImplementedError, match="_flash_attention_forward"):
        kernel(q, kv, kv, cu, 6, 0.35)
