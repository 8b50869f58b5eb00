"""Tiny random-init process reward models saved in their families' real layouts.

- ``tiny_token_prm``: a Llama token classifier with two labels (wrong, correct) whose tokenizer
  has the Qwen2.5-Math-PRM step separator ``<extra_0>`` as a special token.
- ``tiny_tag_prm``: a Llama causal LM whose tokenizer has the Math-Shepherd step tag ``ки``.
- ``tiny_llama_lm_ref``: a second Llama causal LM (other weights, same tokenizer) as the
  reference of an implicit PRM whose policy is ``tiny_llama_lm``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tiny_models import build_model, tiny_llama_config, train_tokenizer

__all__ = ["tiny_llama_lm_ref", "tiny_tag_prm", "tiny_token_prm"]


def _llama(folder: Path, head: str, special: list[str], seed: int = 0) -> Path:
    import torch
    from transformers import LlamaForCausalLM, LlamaForTokenClassification

    tok = train_tokenizer()
    tok.add_tokens(special, special_tokens=True)
    tok.save_pretrained(folder)
    labels = {"num_labels": 2, "id2label": {0: "wrong", 1: "correct"}} if head == "token" else {}
    cfg = tiny_llama_config(tok, **labels)
    torch.manual_seed(seed)
    cls = LlamaForTokenClassification if head == "token" else LlamaForCausalLM
    cls(cfg).eval().save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_token_prm(tmp_path_factory) -> Path:
    return _llama(tmp_path_factory.mktemp("token_prm"), "token", ["<extra_0>"])


@pytest.fixture(scope="session")
def tiny_tag_prm(tmp_path_factory) -> Path:
    return _llama(tmp_path_factory.mktemp("tag_prm"), "lm", ["ки"])


@pytest.fixture(scope="session")
def tiny_llama_lm_ref(tmp_path_factory) -> Path:
    return build_model("llama", "lm", tmp_path_factory.mktemp("llama_lm_ref"), seed=1)
