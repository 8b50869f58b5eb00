"""A results folder from real ``rmeval run`` calls on every built-in task, for the board tests.

Kept cheap: the length and random baselines on the scored tasks (test data files, texts logged
with ``--log-texts``), a tiny random Llama on the two probe tasks (probes need hidden states), a
tiny token-classification PRM on the process tasks (``processbench`` is ``process-core``'s task
on hub data, which tests cannot reach), and ``rmeval compare --distance starc`` between the
baselines.
"""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
FILE_TASKS = ("rewardbench", "rewardbench2", "rmbench", "pairwise", "best-of-n")
SCORED = ("core", "starc", "master-keys", "reward-hacking", *FILE_TASKS)


def run_every_task(root: Path, tiny_rm: Path, tiny_prm: Path) -> Path:
    """Write ``root/results`` from real runs of every built-in task; return it."""
    from rmeval.harness.cli import main

    results = root / "results"
    common = ["--output-dir", str(results), "--cache-dir", str(root / "cache")]
    data = [x for t in FILE_TASKS for x in ("--data", f"{t}={DATA / f'{t}.jsonl'}")]
    runs = [
        ["--model", "length", "--model", "random", "--tasks", ",".join(SCORED), "--limit", "12",
         "--log-texts", *data],
        ["--model", f"hf:{tiny_rm}", "--tasks", "probe-core", "--limit", "2",
         "--task-args", "confidence=false"],
        ["--model", f"hf:{tiny_rm}", "--tasks", "mrmbench", "--limit", "8",
         "--task-args", "confidence=false", "--data", f"mrmbench={DATA / 'mrmbench'}"],
        ["--model", f"prm-token:{tiny_prm}", "--tasks", "process-core,prm-hacking", "--limit", "6",
         "--task-args", "aggregate=sum|min"],
    ]  # fmt: skip
    for args in runs:
        assert main(["run", *args, *common]) == 0
    folders = [str(results / slug) for slug in ("length", "random")]
    compare = ["compare", *folders, "--distance", "starc", "--output-dir", str(results)]
    assert main(compare) == 0
    return results


@pytest.fixture(scope="session")
def real_board_results(tmp_path_factory, tiny_llama_rm: Path, tiny_token_prm: Path) -> Path:
    """Result files of real runs of every built-in task (shared by the board tests)."""
    return run_every_task(tmp_path_factory.mktemp("real-board"), tiny_llama_rm, tiny_token_prm)
