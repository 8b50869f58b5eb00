"""A task's ``duration_s`` and ``throughput`` fields: its share of a scoring pass shared with
other tasks (the in-memory path), or the scoring a streamed task did on its own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rmeval.harness.scoring import ScoringStats

if TYPE_CHECKING:
    from rmeval.harness.task import Task


class TaskShares:
    """Splits one shared scoring pass between the tasks that asked for its texts.

    A text scored in this pass costs time in proportion to its tokens; a text several tasks
    share is split between them, so the tasks' scoring times add up to the pass's time.
    """

    def __init__(self, tasks: Sequence[Task], scores: dict[str, Any], stats: ScoringStats):
        self.keys = {t.name: {r.key for r in t.all_requests()} for t in tasks}
        self.users: dict[str, int] = {}
        for keys in self.keys.values():
            for k in keys & stats.scored_keys:
                self.users[k] = self.users.get(k, 0) + 1
        self.weight = {k: max(scores[k].n_tokens, 1) for k in self.users}
        self.total = sum(self.weight.values())
        self.stats = stats

    def timing(self, task: Task, n_examples: int, eval_seconds: float) -> dict[str, Any]:
        """``duration_s`` and ``throughput`` of one task."""
        keys = self.keys[task.name]
        fresh = keys & self.users.keys()
        share = sum(self.weight[k] / self.users[k] for k in fresh)
        seconds = self.stats.seconds * share / self.total if self.total else 0.0
        rate = seconds > 0 and bool(fresh)
        return {
            "duration_s": round(seconds + eval_seconds, 3),
            "throughput": {
                # examples' worth of the texts scored now, per second of scoring them
                "examples_per_s": round(n_examples * len(fresh) / len(keys) / seconds, 3)
                if rate
                else None,
                "tokens_per_s": round(share / seconds, 1) if rate else None,
                "texts_scored": len(fresh),
                "texts_cached": len(keys) - len(fresh),
                "scoring_s": round(seconds, 3),
            },
        }


def streamed_timing(stats: ScoringStats, examples: int, seconds: float) -> dict[str, Any]:
    """``duration_s`` and ``throughput`` of a streamed task (the fields of the in-memory
    path's ``TaskShares.timing``): its scoring time is its own."""
    rate = stats.seconds > 0 and stats.fresh > 0
    share = stats.fresh / stats.requested if stats.requested else 0.0
    return {
        "duration_s": round(seconds, 3),
        "throughput": {
            "examples_per_s": round(examples * share / stats.seconds, 3) if rate else None,
            "tokens_per_s": round(stats.tokens / stats.seconds, 1) if rate else None,
            "texts_scored": stats.fresh,
            "texts_cached": stats.requested - stats.fresh,
            "scoring_s": round(stats.seconds, 3),
        },
    }
