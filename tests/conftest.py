"""Shared fixtures: offline Hugging Face, a tokenizer trained in-process, tiny random models."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tests.board_real import real_board_results  # noqa: E402,F401  (fixture)
from tests.prm_models import *  # noqa: E402,F401,F403  (fixtures)
from tests.tiny_models import *  # noqa: E402,F401,F403  (fixtures)


def pytest_sessionfinish(session, exitstatus):
    """The repository's folders sit on sys.path in a test run (the current folder), so code that
    imported ``leaderboard`` instead of ``rmeval.leaderboard`` would pass here and fail for every
    user: fail the run if any of the bare names was imported."""
    import sys

    bare = sorted({"harness", "tasks", "probes", "leaderboard"} & set(sys.modules))
    if bare:
        session.exitstatus = 1
        print(f"\nimported by their bare names (use rmeval.<name>): {', '.join(bare)}")
