"""Orchestration: tasks -> requests -> scores (cached) -> per-example results -> result files."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness import __version__
from harness.adapters.base import RewardModel, parse_model_args, split_spec
from harness.cache import ScoreCache
from harness.errors import RmevalError
from harness.plugins import load_tasks, model_class, model_names
from harness.records import ExampleResult
from harness.results import SCHEMA_VERSION, git_commit, result_dir, write_result
from harness.scoring import ScoringStats, score_requests
from harness.task import RunContext, Task

log = logging.getLogger(__name__)


@dataclass
class RunOptions:
    """Everything ``rmeval run`` and ``rmeval score`` take (mirrors the CLI flags)."""

    models: list[str]
    tasks: list[str]
    model_args: dict[str, Any] = field(default_factory=dict)
    task_args: dict[str, Any] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)
    output_dir: str = "results"
    cache_dir: str = ".rmeval_cache"
    limit: int | None = None
    batch_tokens: int | None = None
    seed: int = 0
    progress: bool = True
    cache_only: bool = False
    """True for ``rmeval score``: never load a model; missing scores are an error."""
    name: str | None = None
    """Result folder name for a single model (default: the spec, plus a hash of its args)."""


_RUNTIME_ARGS = {
    "device",
    "batch_size",
    "trust_remote_code",
    "allow_unsafe_weights",
    "timeout",
    "retries",
}


def run_label(spec: str, model_args: dict[str, Any]) -> str:
    """Spec plus a short hash of the output-changing model args, so that e.g. ``dpo:X`` with
    ``ref=A`` and with ``ref_free=norm`` land in different result folders."""
    relevant = {k: v for k, v in model_args.items() if k not in _RUNTIME_ARGS}
    if not relevant:
        return spec
    from harness.records import canonical_json, sha256_text

    return f"{spec}-{sha256_text(canonical_json(relevant))[:8]}"


def _parse_spec(spec: str) -> tuple[str, str]:
    return (spec, "") if ":" not in spec and spec in model_names() else split_spec(spec)


def build_model(spec: str, args: dict[str, Any]) -> RewardModel:
    """An adapter from ``TYPE:ID`` (or a bare registered type, or a bare id meaning ``hf``)."""
    kind, ident = _parse_spec(spec)
    return model_class(kind)(ident, **args)


def build_tasks(names: Sequence[str], opts: RunOptions) -> list[Task]:
    """Tasks (suites expanded) with ``--data``, ``--limit`` and ``--task-args`` applied."""
    unknown_data = set(opts.data) - set(names)
    tasks: list[Task] = []
    for name in names:
        params: dict[str, Any] = dict(opts.task_args)
        if name in opts.data:
            params["data"] = opts.data[name]
        if opts.limit is not None:
            params["limit"] = opts.limit
        tasks.extend(load_tasks(name, **params))
    for t in tasks:
        unknown_data.discard(t.name)
    if unknown_data:
        raise RmevalError(
            f"--data names task(s) not in --tasks: {', '.join(sorted(unknown_data))}; "
            f"write --data TASK=PATH with a task you run."
        )
    names_seen = [t.name for t in tasks]
    if len(set(names_seen)) != len(names_seen):
        raise RmevalError(f"--tasks lists a task twice ({', '.join(names_seen)}); list each once.")
    _check_task_args(opts.task_args, tasks)
    return tasks


def _check_task_args(task_args: dict[str, Any], tasks: Sequence[Task]) -> None:
    """Refuse a ``--task-args`` key that no task accepts (a typo would otherwise be ignored).
    A key used by some of the tasks is fine: the arguments go to every task."""
    import inspect

    accepted: set[str] = set()
    for task in tasks:
        for cls in type(task).__mro__:
            init = cls.__dict__.get("__init__")
            if init is not None and cls is not object:
                params = inspect.signature(init).parameters.values()
                accepted |= {
                    p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                }
    accepted -= {"self", "data", "limit"}  # set by --data and --limit
    unknown = sorted(set(task_args) - accepted)
    if unknown:
        raise RmevalError(
            f"--task-args {', '.join(unknown)}: not an option of "
            f"{', '.join(t.name for t in tasks)}; their options: {', '.join(sorted(accepted))}."
        )


def evaluate_model(
    model: RewardModel, tasks: Sequence[Task], cache: ScoreCache, opts: RunOptions
) -> list[Path]:
    """Score every task's requests once (shared across tasks), then evaluate and write results."""
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    requests = [r for t in tasks for r in t.all_requests()]
    n_examples = sum(len(t.examples()) for t in tasks if t.needs_scores)
    scores, stats = _scores(model, requests, cache, opts, n_examples / max(len(requests), 1))
    folder = result_dir(opts.output_dir, opts.name or run_label(model.spec, opts.model_args))
    written = []
    for task in tasks:
        ctx = RunContext(scores=scores, model=model, cache=cache, seed=opts.seed)
        samples = task.run(ctx)
        aggregate = task.aggregate(samples, seed=opts.seed)
        result = _result_record(
            model, task, aggregate, samples, stats, started, time.perf_counter() - t0
        )
        written.extend(write_result(folder, task.name, result, samples))
    return written


def _scores(
    model: RewardModel, requests: list, cache: ScoreCache, opts: RunOptions, ex_per_text: float
) -> tuple[dict, ScoringStats]:
    if not requests:
        return {}, ScoringStats()
    if opts.cache_only:
        from harness.scoring import unique_requests

        unique = unique_requests(requests)
        found = cache.get_many(model.fingerprint(), [r.key for r in unique])
        missing = len(unique) - len(found)
        if missing:
            raise RmevalError(
                f"{missing} of {len(unique)} texts for {model.spec} are not in the cache "
                f"{cache.path}; run `rmeval run` with the same model, tasks and flags first."
            )
        return found, ScoringStats(requested=len(unique), cached=len(unique))
    return score_requests(
        model,
        requests,
        cache,
        batch_tokens=opts.batch_tokens,
        progress=opts.progress,
        examples_per_text=ex_per_text,
    )


def _result_record(
    model: RewardModel,
    task: Task,
    aggregate: Any,
    samples: list[ExampleResult],
    stats: ScoringStats,
    started: datetime,
    duration: float,
) -> dict[str, Any]:
    seconds = stats.seconds or None
    return {
        "schema_version": SCHEMA_VERSION,
        "harness": {"version": __version__, "git_commit": git_commit()},
        "model": model.describe(),
        "task": task.describe(),
        "metrics": {k: v.to_dict() for k, v in aggregate.metrics.items()},
        "by_subset": aggregate.by_subset,
        "counts": aggregate.counts,
        "tables": aggregate.tables,
        "status": "complete",
        "started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": round(duration, 3),
        "throughput": {
            "examples_per_s": round(len(samples) / seconds, 3) if seconds else None,
            "tokens_per_s": round(stats.tokens / seconds, 1) if seconds else None,
            "texts_scored": stats.scored,
            "texts_cached": stats.cached,
        },
    }


def run(opts: RunOptions) -> list[Path]:
    """Evaluate each model on each task; return the files written."""
    from harness.distributed import launch_env

    if launch_env()[1] > 1 and not opts.cache_only:  # under torchrun / accelerate launch
        from harness.distributed import run_distributed

        return run_distributed(opts)
    cache = ScoreCache(Path(opts.cache_dir) / "scores.sqlite")
    try:
        if opts.name and len(opts.models) > 1:
            raise RmevalError("--name names one model's results; give it with a single --model.")
        for spec in opts.models:
            model_class(_parse_spec(spec)[0])  # an unknown model type fails before data loads
        tasks = build_tasks(opts.tasks, opts)
        for t in tasks:
            t.examples()  # validate every task's data before any model loads
        written: list[Path] = []
        for spec in opts.models:
            model = build_model(spec, dict(opts.model_args))
            written.extend(evaluate_model(model, tasks, cache, opts))
        return written
    finally:
        cache.close()


def parse_assignments(items: Sequence[str] | None, flag: str) -> dict[str, str]:
    """``NAME=VALUE`` pairs (repeatable or comma-separated) into a dict."""
    out: dict[str, str] = {}
    for item in items or []:
        for part in item.split(",") if flag != "--data" else [item]:
            if "=" not in part:
                raise RmevalError(
                    f"{flag} {part}: write NAME=VALUE, e.g. {flag} pairwise=./prefs.jsonl."
                )
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out


__all__ = ["RunOptions", "build_model", "build_tasks", "evaluate_model", "parse_model_args", "run"]
