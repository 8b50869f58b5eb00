"""Tiny random-init reward models saved in the real layouts of other reward-model families:
a PEFT LoRA adapter on a causal-LM base, a value head under its own key (UltraRM / Starling),
an ArmoRM-style remote-code classifier and an InternLM2-reward-style remote AutoModel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.tiny_models import tiny_llama_config

CHAT_TEMPLATE = "{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}</s>{% endfor %}"

ARMO_CODE = """
from dataclasses import dataclass
import torch
from transformers import LlamaModel, LlamaPreTrainedModel
from transformers.utils import ModelOutput


@dataclass
class RewardOutput(ModelOutput):
    score: torch.FloatTensor = None
    rewards: torch.FloatTensor = None


class TinyArmoRM(LlamaPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.model = LlamaModel(config)
        self.regression_layer = torch.nn.Linear(config.hidden_size, config.num_labels, bias=False)
        self.gating = torch.nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids, attention_mask=None, position_ids=None, **kwargs):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        hidden = self.model(
            input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids
        ).last_hidden_state
        last = (torch.arange(input_ids.shape[1]) * attention_mask).argmax(-1)
        h = hidden[torch.arange(hidden.shape[0]), last]
        rewards = self.regression_layer(h)
        weights = torch.softmax(self.gating(h), dim=-1)
        return RewardOutput(score=(rewards * weights).sum(-1, keepdim=True), rewards=rewards)
"""

INTERN_CODE = """
import torch
from transformers import LlamaModel, LlamaPreTrainedModel


class TinyInternLM2Reward(LlamaPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.model = LlamaModel(config)
        self.v_head = torch.nn.Linear(config.hidden_size, 1, bias=False)
        self.post_init()

    def forward(self, input_ids, attention_mask=None, **kwargs):
        return self.v_head(self.model(input_ids=input_ids).last_hidden_state)

    @torch.no_grad()
    def get_scores(self, tokenizer, conversations):
        out = []
        for conversation in conversations:
            text = tokenizer.apply_chat_template(conversation, tokenize=False)
            ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
            out.append(self.forward(torch.tensor([ids]))[0, -1, 0].item())
        return out
"""


def _randomize(module, seed):
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.2)


@pytest.fixture(scope="session")
def lora_rm(tmp_path_factory, tiny_llama_lm) -> Path:
    """A LoRA reward-model adapter (score head in modules_to_save) on the tiny Llama LM."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification

    folder = tmp_path_factory.mktemp("lora_rm")
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_llama_lm, num_labels=1)
    config = LoraConfig(
        r=4, target_modules=["q_proj", "v_proj"], modules_to_save=["score"], task_type="SEQ_CLS"
    )
    peft = get_peft_model(model, config)
    for name, module in peft.named_modules():
        if name.endswith("lora_B.default"):  # zero at init: make the adapter matter
            _randomize(module, 1)
    peft.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session", params=[("model", "regression_head"), ("transformer", "v_head")])
def value_head_rm(request, tmp_path_factory) -> Path:
    """A Llama backbone + linear value head saved under its own key (UltraRM: ``model.`` +
    ``regression_head``; Starling: ``transformer.`` + ``v_head``)."""
    import torch
    from safetensors.torch import save_file
    from transformers import LlamaModel

    from tests.tiny_models import train_tokenizer

    prefix, head = request.param
    folder = tmp_path_factory.mktemp(f"value_head_{head}")
    tok = train_tokenizer(folder)
    config = tiny_llama_config(tok, architectures=["LlamaRewardModel"])
    config.save_pretrained(folder)
    torch.manual_seed(2)
    backbone = LlamaModel(config)
    state = {f"{prefix}.{k}": v.contiguous() for k, v in backbone.state_dict().items()}
    state[f"{head}.weight"] = torch.randn(1, 64) * 0.2
    save_file(state, str(folder / "model.safetensors"))
    return folder


def _remote(folder: Path, tok, model, code: str, module: str, auto: str) -> Path:
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    (folder / f"{module}.py").write_text(code, encoding="utf-8")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {auto: f"{module}.{type(model).__name__}"}
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def armo_rm(tmp_path_factory) -> Path:
    """An ArmoRM-style remote-code classifier: output object with score + 3 rewards."""
    import sys
    import types

    import torch

    from tests.tiny_models import train_tokenizer

    folder = tmp_path_factory.mktemp("armo_rm")
    tok = train_tokenizer()
    labels = {0: "helpfulness", 1: "correctness", 2: "verbosity"}
    config = tiny_llama_config(
        tok, num_labels=3, id2label=labels, label2id={v: k for k, v in labels.items()}
    )
    code = types.ModuleType("tiny_armo_build")
    exec(ARMO_CODE, code.__dict__)
    sys.modules.pop("tiny_armo_build", None)
    torch.manual_seed(3)
    model = code.TinyArmoRM(config)
    _randomize(model.gating, 4)
    return _remote(
        folder, tok, model, ARMO_CODE, "modeling_armo", "AutoModelForSequenceClassification"
    )


@pytest.fixture(scope="session")
def intern_rm(tmp_path_factory) -> Path:
    """An InternLM2-reward-style remote AutoModel scoring conversations with get_scores."""
    import types

    import torch

    from tests.tiny_models import train_tokenizer

    folder = tmp_path_factory.mktemp("intern_rm")
    tok = train_tokenizer()
    tok.chat_template = CHAT_TEMPLATE
    code = types.ModuleType("tiny_intern_build")
    exec(INTERN_CODE, code.__dict__)
    torch.manual_seed(5)
    model = code.TinyInternLM2Reward(tiny_llama_config(tok))
    _randomize(model.v_head, 6)
    return _remote(folder, tok, model, INTERN_CODE, "modeling_intern", "AutoModel")
