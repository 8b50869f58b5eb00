"""Tiny random-init causal LMs (GPT-2, Llama) with an in-process BPE tokenizer, plus a direct
log-probability computation to check the lm-eval adapters against.

Import the fixtures into a test module (``from tests.lm_fixtures import ...``); they are session-scoped
and write their checkpoints under a pytest temporary folder.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.tiny_models import tiny_llama_config  # noqa: E402

EOS = "<|endoftext|>"
PAD = "<pad>"
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
"""A small chat template given to the Llama tokenizer (the GPT-2 one has none)."""

_WORDS = [
    "the",
    "cat",
    "sat",
    "on",
    "a",
    "mat",
    "and",
    "the",
    "dog",
    "ran",
    "to",
    "the",
    "park",
    "while",
    "two",
    "birds",
    "sang",
    "in",
    "a",
    "tall",
    "tree",
    "what",
    "is",
    "two",
    "plus",
    "two",
    "the",
    "answer",
    "is",
    "four",
    "paris",
    "is",
    "the",
    "capital",
    "of",
    "france",
    "question",
    "response",
    "reference",
    "correct",
    "grader",
    "decide",
    "whether",
]
_EXTRA = [
    "YES NO YES NO Answer: YES Answer: NO",
    "Is the response correct? Answer YES or NO.",
    "Which response is better? Answer A or B.",
    "[Question] [Response] [Reference answer] [Response A] [Response B]",
    "<|user|>\n<|assistant|>\n",
]


def _corpus() -> list[str]:
    import random

    rng = random.Random(0)
    lines = [" ".join(rng.choice(_WORDS) for _ in range(12)) for _ in range(300)]
    return lines + _EXTRA * 40


BOS = "<s>"
BOS_CHAT_TEMPLATE = "{{ bos_token }}" + CHAT_TEMPLATE
"""A template that writes the BOS token itself (as Llama's do)."""


def build_tokenizer(chat_template: str | None = None, add_bos: bool = False):
    """A byte-level BPE tokenizer (vocab ~500) trained on a fixed in-process corpus; with
    ``add_bos`` it prepends a ``<s>`` BOS token to every text, as Llama's tokenizers do."""
    from tests.tiny_models import train_tokenizer

    if add_bos:
        from tokenizers.processors import TemplateProcessing

        fast = train_tokenizer(lines=_corpus(), bos=BOS, eos=EOS, pad=PAD)
        bos = [(BOS, fast.convert_tokens_to_ids(BOS))]
        fast._tokenizer.post_processor = TemplateProcessing(
            single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=bos
        )
    else:
        fast = train_tokenizer(lines=_corpus(), bos=EOS, eos=EOS, pad=PAD)
    if chat_template is not None:
        fast.chat_template = chat_template
    return fast


def build_causal_lm(arch: str, tokenizer, seed: int):
    """A 2-layer, hidden-64 causal LM with large random weights (so log-probs vary a lot)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaForCausalLM

    ids = {
        "vocab_size": len(tokenizer),
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    torch.manual_seed(seed)
    if arch == "gpt2":
        cfg = GPT2Config(
            n_embd=64, n_layer=2, n_head=2, n_positions=128, initializer_range=0.15, **ids
        )
        model = GPT2LMHeadModel(cfg)
    else:
        cfg = tiny_llama_config(
            tokenizer,
            max_position_embeddings=128,
            initializer_range=0.15,
            tie_word_embeddings=False,
        )
        model = LlamaForCausalLM(cfg)
    return model.eval()


def save_checkpoint(
    folder: Path, arch: str, seed: int, chat_template: str | None, add_bos: bool = False
) -> Path:
    """Build and ``save_pretrained`` a model and its tokenizer into one folder."""
    tok = build_tokenizer(chat_template, add_bos)
    model = build_causal_lm(arch, tok, seed)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def lm_dirs(tmp_path_factory) -> dict[str, Path]:
    """Checkpoint folders: ``gpt2`` and ``gpt2_ref`` (no chat template), ``llama`` and
    ``llama_ref`` (chat template); the ``_ref`` twins have other seeds."""
    root = tmp_path_factory.mktemp("tiny_lms")
    return {
        "gpt2": save_checkpoint(root / "gpt2", "gpt2", 0, None),
        "gpt2_ref": save_checkpoint(root / "gpt2_ref", "gpt2", 1, None),
        "llama": save_checkpoint(root / "llama", "llama", 2, CHAT_TEMPLATE),
        "llama_ref": save_checkpoint(root / "llama_ref", "llama", 3, CHAT_TEMPLATE),
    }


@pytest.fixture(scope="session")
def boundary_dirs(lm_dirs, tmp_path_factory) -> dict[str, Path]:
    """GPT-2 (no BOS added) and Llama with a tokenizer that adds BOS, each without and with a
    chat template: ``gpt2``, ``gpt2_chat``, ``llama_bos``, ``llama_bos_chat``."""
    root = tmp_path_factory.mktemp("boundary_lms")
    return {
        "gpt2": lm_dirs["gpt2"],
        "gpt2_chat": save_checkpoint(root / "gpt2_chat", "gpt2", 4, CHAT_TEMPLATE),
        "llama_bos": save_checkpoint(root / "llama_bos", "llama", 5, None, add_bos=True),
        "llama_bos_chat": save_checkpoint(
            root / "llama_bos_chat", "llama", 6, BOS_CHAT_TEMPLATE, add_bos=True
        ),
    }


class DirectLM:
    """Reference computation with ``AutoModelForCausalLM``: log-softmax over the continuation
    tokens, context and continuation tokenised separately with ``add_special_tokens=False``."""

    def __init__(self, folder: Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tok = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModelForCausalLM.from_pretrained(folder).eval()

    def token_logprobs(self, context: str, continuation: str) -> list[float]:
        """Per-token log-probabilities of ``continuation`` after ``context``."""
        import torch

        ctx = self.tok(context, add_special_tokens=False)["input_ids"]
        cont = self.tok(continuation, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([ctx + cont])
        with torch.no_grad():
            logp = torch.log_softmax(self.model(ids).logits[0].float(), dim=-1)
        return [float(logp[len(ctx) - 1 + i, t]) for i, t in enumerate(cont)]

    def logprob(self, context: str, continuation: str) -> float:
        """Sum of :meth:`token_logprobs`."""
        return sum(self.token_logprobs(context, continuation))

    def response_logprobs(self, context: str, continuation: str) -> list[float]:
        """Per-token log-probabilities of exactly the continuation's tokens: ``context +
        continuation`` tokenised whole (special tokens added unless a chat template rendered
        the context), the first ``len(tokenise(context))`` tokens being the context."""
        import torch

        special = not self.tok.chat_template
        ctx = self.tok(context, add_special_tokens=special)["input_ids"]
        ids = self.tok(context + continuation, add_special_tokens=special)["input_ids"]
        assert ids[: len(ctx)] == ctx, "the test texts keep a clean token boundary"
        with torch.no_grad():
            logp = torch.log_softmax(self.model(torch.tensor([ids])).logits[0].float(), dim=-1)
        return [float(logp[i - 1, ids[i]]) for i in range(len(ctx), len(ids))]

    def response_logprob(self, context: str, continuation: str) -> float:
        """Sum of :meth:`response_logprobs`."""
        return sum(self.response_logprobs(context, continuation))

    def chat_context(self, prompt: str) -> str:
        """The prompt as a user turn plus the generation prompt (raw prompt without a template)."""
        if not self.tok.chat_template:
            return prompt
        return self.tok.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )


@pytest.fixture(scope="session")
def direct_lms(lm_dirs) -> dict[str, DirectLM]:
    """A :class:`DirectLM` per checkpoint in ``lm_dirs``."""
    return {name: DirectLM(folder) for name, folder in lm_dirs.items()}
