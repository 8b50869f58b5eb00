"""Bench workload and model: a seeded RB2-like text mix, a word-level tokenizer, a random-weight
Llama/Qwen3 classifier from a config, the useful-FLOP count and the hardware peak.

Useful FLOPs per text of L real tokens (causal attention, padding excluded):
``2 · N_nonemb · L + 2 · n_layers · d_attn · L · (L + 1)`` (QKᵀ and AV, token i attends to i keys).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rmeval.harness.errors import RmevalError
from rmeval.harness.records import ScoreRequest

_SPECIALS = ["<pad>", "<s>", "</s>", "<unk>", "User", ":", "Assistant"]
SHAPE_KEYS = (
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
)
PRESETS: dict[str, dict[str, Any]] = {
    "cpu-tiny": dict(arch="llama", hidden_size=256, intermediate_size=688, num_hidden_layers=4,
                     num_attention_heads=4, num_key_value_heads=4, head_dim=64, dtype="float32",
                     n_prompts=48, prompt_median=40, response_median=50, max_tokens=1024),
    "cpu-small": dict(arch="llama", hidden_size=1024, intermediate_size=2816, num_hidden_layers=2,
                      num_attention_heads=16, num_key_value_heads=16, head_dim=64, dtype="float32",
                      n_prompts=32, prompt_median=40, response_median=50, max_tokens=1024),
    "qwen3-0.6b": dict(arch="qwen3", hidden_size=1024, intermediate_size=3072,
                       num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=8,
                       head_dim=128, dtype="bfloat16", n_prompts=128, prompt_median=150,
                       response_median=220, max_tokens=4096),
    "qwen3-1.7b": dict(arch="qwen3", hidden_size=2048, intermediate_size=6144,
                       num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=8,
                       head_dim=128, dtype="bfloat16", n_prompts=128, prompt_median=150,
                       response_median=220, max_tokens=4096),
}  # fmt: skip
# Dense bf16 peaks (no sparsity) by device-name fragment, most specific first.
GPU_PEAKS = (("H100 PCIe", 756e12), ("H100 NVL", 835e12), ("H100", 989e12), ("H200", 989e12),
             ("A100", 312e12), ("L40S", 362e12))  # fmt: skip


# -- workload ---------------------------------------------------------------------------------
@dataclass
class Workload:
    """Prompts with 4 responses each (chosen first), in dataset order."""

    prompts: list[str]
    responses: list[list[str]]

    def requests(self) -> list[ScoreRequest]:
        """One request per (prompt, response), dataset order."""
        return [ScoreRequest(p, r) for p, rs in zip(self.prompts, self.responses) for r in rs]


def vocabulary(n_words: int = 2000) -> list[str]:
    """The synthetic word list (also the tokenizer's vocabulary)."""
    return [f"w{i}" for i in range(n_words)]


def make_workload(
    n_prompts: int, seed: int, prompt_median: int, response_median: int, max_tokens: int
) -> Workload:
    """Seeded RB2-like mix: lognormal prompt (σ 0.8) and response (σ 1.2) word counts, texts
    capped at ``max_tokens``; refuses a mix whose p99/p50 text length is below 4."""
    import numpy as np

    rng = np.random.default_rng(seed)
    words = vocabulary()
    plen = np.clip(rng.lognormal(np.log(prompt_median), 0.8, n_prompts), 1, max_tokens // 2)
    rlen = np.clip(rng.lognormal(np.log(response_median), 1.2, (n_prompts, 4)), 1, None)
    rlen = np.minimum(rlen, max_tokens - 4 - plen[:, None])
    total = (plen[:, None] + rlen + 4).ravel()
    ratio = float(np.percentile(total, 99) / np.percentile(total, 50))
    if ratio < 4:
        raise RmevalError(
            f"bench workload: p99/p50 length ratio {ratio:.2f} < 4; use more prompts or a "
            f"larger --max-tokens."
        )

    def text(n: float) -> str:
        return " ".join(words[j] for j in rng.integers(0, len(words), int(n)))

    return Workload([text(p) for p in plen], [[text(r) for r in row] for row in rlen])


def length_ratio(lengths: Sequence[int]) -> float:
    """p99 / p50 of text lengths."""
    import numpy as np

    return float(np.percentile(lengths, 99) / np.percentile(lengths, 50))


# -- model ------------------------------------------------------------------------------------
def word_tokenizer(max_tokens: int) -> Any:
    """A whitespace word-level fast tokenizer over :func:`vocabulary` (no special tokens added)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(_SPECIALS + vocabulary())}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        model_max_length=max_tokens,
    )


def build_classifier(preset: dict[str, Any], vocab_size: int, device: str, seed: int = 0) -> Any:
    """A random-weight Llama/Qwen3 sequence classifier (1 label, SDPA attention) on ``device``."""
    import torch
    import transformers as tf

    arch = preset["arch"]
    cfg_cls, model_cls = {
        "llama": (tf.LlamaConfig, tf.LlamaForSequenceClassification),
        "qwen3": (tf.Qwen3Config, tf.Qwen3ForSequenceClassification),
    }[arch]
    cfg = cfg_cls(
        vocab_size=vocab_size,
        max_position_embeddings=preset["max_tokens"] + 8,
        num_labels=1,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        tie_word_embeddings=False,
        **{k: preset[k] for k in SHAPE_KEYS},
    )
    cfg._attn_implementation = "sdpa"
    torch.manual_seed(seed)
    dtype = getattr(torch, preset["dtype"])
    with torch.device(device):
        model = model_cls(cfg).to(dtype)
    return model.eval()


def nonembedding_params(cfg: Any) -> int:
    """Parameters outside the token embedding, from a Llama/Qwen3 config (head: 1 label)."""
    h, layers = cfg.hidden_size, cfg.num_hidden_layers
    hd = getattr(cfg, "head_dim", None) or h // cfg.num_attention_heads
    q, kv = cfg.num_attention_heads * hd, cfg.num_key_value_heads * hd
    attn = h * q + 2 * h * kv + q * h
    if getattr(cfg, "attention_bias", False):
        attn += q + 2 * kv + h
    qk_norm = 2 * hd if cfg.model_type == "qwen3" else 0
    mlp = 3 * h * cfg.intermediate_size
    per_layer = attn + qk_norm + mlp + 2 * h
    return layers * per_layer + h + h * cfg.num_labels


def useful_flops(cfg: Any, lengths: Sequence[int]) -> float:
    """Σ over texts of ``2·N_nonemb·L + 2·n_layers·d_attn·L·(L+1)`` (see the module docstring)."""
    n = nonembedding_params(cfg)
    hd = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    d_attn = cfg.num_attention_heads * hd
    return float(sum(2 * n * L + 2 * cfg.num_hidden_layers * d_attn * L * (L + 1) for L in lengths))


def peak_flops(device: str, dtype: str) -> tuple[float, str]:
    """(FLOP/s, how it was obtained): a known GPU peak by name, else a timed big matmul."""
    import torch

    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(device)
        for fragment, peak in GPU_PEAKS:
            if fragment in name:
                return peak, f"{name}: dense {dtype} peak from the spec sheet"
    n = 2048
    a = torch.randn(n, n, dtype=getattr(torch, dtype), device=device)
    best = float("inf")
    for _ in range(6):
        t0 = time.perf_counter()
        for _ in range(3):
            a @ a
        sync(device)
        best = min(best, (time.perf_counter() - t0) / 3)
    return 2 * n**3 / best, f"measured {n}x{n} {dtype} torch.matmul on {device}"


def sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize(device)
