"""Shared fixtures: offline Hugging Face, a tokenizer trained in-process, tiny random models."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tests.tiny_models import *  # noqa: E402,F401,F403  (fixtures)
