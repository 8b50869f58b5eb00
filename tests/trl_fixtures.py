"""Tiny reward models trained for a few steps by TRL's ``RewardTrainer``, as users make them:
one on plain (non-conversational) data, one on conversational data with a chat template
(``RewardConfig(chat_template_path=FILE.jinja)``). Each output folder keeps the trainer's
``checkpoint-*/`` subfolders beside the final model, as ``trainer.save_model`` leaves them.

Import the fixture into a test module (``from tests.trl_fixtures import trl_models``).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

from tests.lm_fixtures import CHAT_TEMPLATE, build_tokenizer  # noqa: E402
from tests.tiny_models import tiny_llama_config  # noqa: E402

N_PAIRS = 20
PROMPTS = [f"what is two plus two {i}" for i in range(N_PAIRS)]
CHOSEN = [" the answer is four" if i % 2 else " four because two plus two" for i in range(N_PAIRS)]
REJECTED = [" the cat sat on a mat" if i % 2 else " a tall tree" for i in range(N_PAIRS)]


@dataclass(frozen=True)
class TrainedRM:
    """A TRL-trained reward model folder and the token ids TRL trained it on."""

    folder: Path
    chosen_ids: list[list[int]]
    """``RewardTrainer``'s tokenisation of each prompt + chosen response (its train set)."""


def _classifier(tokenizer: Any) -> Any:
    """A 2-layer, hidden-64 Llama sequence classifier (one label) for ``tokenizer``."""
    import torch
    from transformers import LlamaForSequenceClassification

    cfg = tiny_llama_config(tokenizer, max_position_embeddings=128, num_labels=1)
    torch.manual_seed(0)
    return LlamaForSequenceClassification(cfg)


def train(folder: Path, rows: dict[str, list[Any]], **config: Any) -> TrainedRM:
    """Train for 3 steps (a checkpoint each) and ``save_model`` into ``folder``."""
    import trl
    from datasets import Dataset

    tokenizer = build_tokenizer(add_bos=True)
    args = trl.RewardConfig(
        output_dir=str(folder),
        max_steps=3,
        per_device_train_batch_size=4,
        learning_rate=1e-2,
        save_strategy="steps" if "chat_template_path" not in config else "no",
        save_steps=1,
        report_to=[],
        use_cpu=True,
        dataset_num_proc=None,
        **config,
    )
    trainer = trl.RewardTrainer(
        model=_classifier(tokenizer),
        args=args,
        train_dataset=Dataset.from_dict(rows),
        processing_class=tokenizer,
    )
    trainer.train()
    trainer.save_model(str(folder))
    return TrainedRM(folder, [list(x) for x in trainer.train_dataset["chosen_ids"]])


@pytest.fixture(scope="session")
def trl_models(tmp_path_factory) -> dict[str, TrainedRM]:
    """``plain`` (prompt/chosen/rejected strings) and ``chat`` (the same as chat messages,
    trained with a chat template): TRL reward models and the ids they were trained on."""
    root = tmp_path_factory.mktemp("trl_rms")
    plain = {"prompt": PROMPTS, "chosen": CHOSEN, "rejected": REJECTED}
    template = root / "chat.jinja"
    template.write_text(CHAT_TEMPLATE, encoding="utf-8")

    def turn(role: str, texts: list[str]) -> list[list[dict[str, str]]]:
        return [[{"role": role, "content": t.strip()}] for t in texts]

    chat = {
        "prompt": turn("user", PROMPTS),
        "chosen": turn("assistant", CHOSEN),
        "rejected": turn("assistant", REJECTED),
    }
    return {
        "plain": train(root / "plain", plain),
        "chat": train(root / "chat", chat, chat_template_path=str(template)),
    }
