"""Which files of a local checkpoint folder the model loads, and so what its fingerprint hashes.

``from_pretrained`` reads the folder's top level only: the config, the weights (safetensors,
pickled ``pytorch_model*.bin`` where allowed, their shard indexes, a PEFT adapter), the tokenizer
(``tokenizer.json``, ``tokenizer_config.json``, vocabularies, merges, sentencepiece models, special
and added tokens), the chat templates (``chat_template.jinja``/``.json`` and the
``additional_chat_templates/`` folder) and, with remote code, the folder's ``.py`` modules. A
trainer's ``checkpoint-*/`` subfolders, ``training_args.bin``, optimizer states, logs and
READMEs are not read, so they are not hashed (a TRL output folder hashed 638 MB in 24 files
instead of the 92 MB in 4 that the model is).
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

LOADED = (
    "config.json",
    "*.safetensors",
    "pytorch_model*.bin",
    "*.index.json",
    "adapter_config.json",
    "adapter_model.bin",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.*",
    "merges.txt",
    "*.model",
    "*.tiktoken",
    "chat_template.jinja",
    "chat_template.json",
    "*.py",
)
"""Top-level file names (glob patterns) that ``from_pretrained`` of a model and its tokenizer
may read."""

TEMPLATE_FOLDERS = ("additional_chat_templates",)
"""Subfolders whose files the tokenizer loads (named chat templates)."""


def is_loaded(name: str) -> bool:
    """Whether a top-level file ``name`` is one the model or tokenizer loads."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in LOADED)


def loaded_files(folder: Path) -> list[Path]:
    """The files of ``folder`` that loading the model and its tokenizer reads, sorted."""
    out = [p for p in folder.iterdir() if p.is_file() and is_loaded(p.name)]
    for sub in TEMPLATE_FOLDERS:
        if (folder / sub).is_dir():
            out += [p for p in (folder / sub).rglob("*") if p.is_file()]
    return sorted(p for p in out if not p.name.startswith("."))
