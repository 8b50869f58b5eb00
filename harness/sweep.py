"""Sweeps over several models: per-model ``--model-args``, (model, task) pairs that cannot
run (skipped and reported, never fatal), and the sweep summary file."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmeval.harness.errors import RmevalError

if TYPE_CHECKING:
    from rmeval.harness.adapters.base import RewardModel
    from rmeval.harness.result import Result
    from rmeval.harness.task import Task

log = logging.getLogger("rmeval")
SUMMARY_FILE = "sweep-summary.json"


def split_models(items: Sequence[Any]) -> tuple[list[str], list[dict[str, Any]] | None]:
    """Model specs and, when any item of a config's ``model`` list is a mapping
    (``{spec: hf:./a, args: {revision: x}}``), each model's own arguments."""
    from rmeval.harness.adapters.base import parse_model_args

    specs, own = [], []
    for item in items:
        if isinstance(item, dict):
            specs.append(str(item.get("spec") or item.get("model")))
            args = item.get("args", item.get("model_args")) or {}
            own.append(parse_model_args(args) if isinstance(args, str) else dict(args))
        else:
            specs.append(str(item))
            own.append({})
    return specs, own if any(isinstance(i, dict) for i in items) else None


def pair_model_args(
    models: Sequence[str], items: Sequence[str]
) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
    """``--model-args`` as (arguments for every model, each model's own or None): one per
    ``--model`` when there are several models and as many ``--model-args`` (paired in order);
    otherwise all of them apply to every model."""
    from rmeval.harness.adapters.base import parse_model_args

    if len(models) > 1 and len(items) == len(models):
        return {}, [parse_model_args(item) for item in items]
    if len(models) > 1 and len(items) > 1:
        raise RmevalError(
            f"--model-args given {len(items)} times for {len(models)} models: give it once "
            f"(applies to every model) or once per --model, in the same order."
        )
    shared: dict[str, Any] = {}
    for item in items:
        shared |= parse_model_args(item)
    return shared, None


def refuse_if_nothing_runs(models: Sequence[RewardModel], tasks: Sequence[Task]) -> None:
    """Refuse a run none of whose (model, task) pairs can run (a sweep skips some pairs; a
    run with nothing left to do is a mistake, said in one sentence)."""
    pairs = [(m, t, t.incompatible(m)) for m in models for t in tasks]
    if not pairs or not all(reason for _, _, reason in pairs):
        return
    model, task, reason = pairs[0]
    task.check_model(model)  # the task's own sentence, where it has one
    raise RmevalError(
        f"task '{task.name}' cannot run on {model.spec}: {reason}; no pair of this run can, "
        f"so nothing was run."
    )


@dataclass
class SweepReport:
    """What a run did per (model, task): result files written, pairs skipped and why."""

    completed: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def skip(self, model: RewardModel, task: Task, reason: str) -> None:
        """Record a pair that cannot run (and say so now, on stderr)."""
        self.skipped.append({"model": model.spec, "task": task.name, "reason": reason})
        log.warning(f"rmeval: skipping {task.name} on {model.spec}: {reason}")

    def done(self, results: Sequence[Result]) -> None:
        for r in results:
            self.completed.append(
                {
                    "model": r.model_spec,
                    "task": r.task_name,
                    "main_score": r.main_score,
                    "value": r.main_value,
                    "file": None if r.path is None else str(r.path),
                }
            )

    def finish(self, output_dir: str | None) -> Path | None:
        """Report the skipped pairs again (the end of a long log) and write the summary
        file ``OUTPUT_DIR/sweep-summary.json`` (None without an output folder)."""
        for s in self.skipped:
            log.warning(f"rmeval: skipped {s['task']} on {s['model']}: {s['reason']}")
        if output_dir is None:
            return None
        from rmeval.harness.staged_file import atomic_write

        path = Path(output_dir) / SUMMARY_FILE
        body = {"completed": self.completed, "skipped": self.skipped}
        atomic_write(path, [json.dumps(body, indent=2, allow_nan=False) + "\n"])
        if self.skipped:
            log.warning(f"rmeval: {len(self.skipped)} pair(s) skipped; see {path}")
        return path
