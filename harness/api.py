"""The Python API: evaluate a reward model on tasks, read result and samples files as tables.

``evaluate`` takes the same settings as ``rmeval run`` and returns typed :class:`Result`
records; it writes result files only when ``output_dir`` is given and caches scores on disk
only when ``cache_dir`` is given (else in memory, for this call alone).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmeval.harness.adapters.base import RewardModel, parse_model_args
from rmeval.harness.adapters.memory import CallableRewardModel, InMemoryRewardModel
from rmeval.harness.cache import ScoreCache
from rmeval.harness.errors import RmevalError
from rmeval.harness.result import Result
from rmeval.harness.results import read_result
from rmeval.harness.reuse import plan_reuse
from rmeval.harness.runner import (
    RunOptions,
    build_model,
    build_tasks,
    evaluate_model,
    result_folder,
    validate_data,
)
from rmeval.harness.staged_file import check_writable
from rmeval.harness.task import Task

if TYPE_CHECKING:
    import pandas

ModelLike = Any
"""A spec string, a :class:`RewardModel`, ``(model, tokenizer)``, or a scoring callable."""
NOT_RUNS = ("bench", "compare")
"""Folders of a results tree that hold no per-model result files."""


def evaluate(
    model: ModelLike,
    tasks: str | Sequence[str | Task],
    *,
    tokenizer: Any = None,
    limit: int | None = None,
    data: Mapping[str, str | Path] | None = None,
    task_args: Mapping[str, Any] | str | None = None,
    model_args: Mapping[str, Any] | str | None = None,
    seed: int = 0,
    batch_tokens: int | None = None,
    output_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    name: str | None = None,
    ties: str | None = None,
    progress: bool = False,
    recompute: bool = False,
) -> list[Result]:
    """Evaluate one reward model on ``tasks`` (names, suites or :class:`Task` objects).

    ``model`` is a spec (``"hf:./rm"``, ``"length"``), a :class:`RewardModel`, a transformers
    sequence classifier with its tokenizer (``(model, tokenizer)`` or ``tokenizer=``; used as
    is, never saved), or a callable ``list[ScoreRequest] -> list[float]``. The other options
    are ``rmeval run``'s flags. Returns one :class:`Result` per task, with ``path`` set when
    ``output_dir`` is given (the files ``rmeval run`` writes). With ``output_dir``, a task whose
    result file there is up to date is read back, not evaluated again (``Result.reused``);
    ``recompute=True`` evaluates it anyway. Without ``output_dir`` nothing is reused."""
    task_params = _as_args(task_args) | ({"ties": ties} if ties else {})
    opts = RunOptions(
        models=[],
        tasks=[t for t in _as_list(tasks) if isinstance(t, str)],
        model_args=_as_args(model_args),
        task_args=task_params,
        data={task: str(where) for task, where in (data or {}).items()},
        output_dir=None if output_dir is None else str(output_dir),  # type: ignore[arg-type]
        cache_dir=str(cache_dir) if cache_dir is not None else "",
        limit=limit,
        batch_tokens=batch_tokens,
        seed=seed,
        progress=progress,
        name=name,
        recompute=recompute,
    )
    built = _tasks(_as_list(tasks), opts)
    reward_model = reward_model_of(model, tokenizer, opts.model_args, name)  # loads no weights
    _check_callable(reward_model, opts)
    reuse = plan_reuse([reward_model], built, opts, lambda m: result_folder(m, opts))
    todo = reuse.to_run([reward_model], built)
    validate_data(todo)  # every task's data is checked before the model is used
    if output_dir is not None:
        check_writable(output_dir)
    digest = partial(reuse.digest, reward_model)
    fresh = _evaluated(reward_model, todo, opts, digest) if todo else []
    found = {r.task_name: r for r in [*reuse.results(reward_model, built), *fresh]}
    return [found[t.name] for t in built]


def _evaluated(
    model: RewardModel,
    tasks: list[Task],
    opts: RunOptions,
    digest: Callable[[str], str | None] | None = None,
) -> list[Result]:
    """``evaluate_model`` with the cache ``opts`` names (or one in memory)."""
    cache = ScoreCache(Path(opts.cache_dir) / "scores.sqlite" if opts.cache_dir else ":memory:")
    try:
        in_memory = isinstance(model, InMemoryRewardModel)
        with model.scoring() if in_memory else nullcontext():
            return list(evaluate_model(model, tasks, cache, opts, digest=digest))
    finally:
        cache.close()


def _as_list(tasks: str | Sequence[str | Task]) -> list[str | Task]:
    if isinstance(tasks, (str, Task)):
        tasks = [tasks]
    out: list[str | Task] = []
    for t in tasks:
        out.extend([n.strip() for n in t.split(",") if n.strip()] if isinstance(t, str) else [t])
    if not out:
        raise RmevalError("tasks is empty: name at least one task, e.g. tasks='core'.")
    return out


def _as_args(args: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """``k=v,...`` text (as on the command line) or a mapping, as a dict."""
    return parse_model_args(args) if isinstance(args, str) else dict(args or {})


def _tasks(tasks: list[str | Task], opts: RunOptions) -> list[Task]:
    """Named tasks built as ``rmeval run`` builds them (suites expanded), then the Task
    objects as given."""
    objects = [t for t in tasks if isinstance(t, Task)]
    if objects and (opts.limit is not None or opts.data or opts.task_args):
        raise RmevalError(
            "limit, data, task_args and ties apply to tasks given by name; build the Task "
            f"object {objects[0].name!r} with them instead (e.g. its data=, limit= arguments)."
        )
    out = [*(build_tasks(opts.tasks, opts) if opts.tasks else []), *objects]
    names = [t.name for t in out]
    if len(set(names)) != len(names):
        raise RmevalError(f"tasks lists a task twice ({', '.join(names)}); list each once.")
    return out


def reward_model_of(
    model: ModelLike, tokenizer: Any, model_args: dict[str, Any], name: str | None
) -> RewardModel:
    """The adapter for any form of ``model`` that :func:`evaluate` accepts."""
    if isinstance(model, str):
        return build_model(model, dict(model_args))
    if isinstance(model, tuple) and len(model) == 2 and tokenizer is None:
        model, tokenizer = model
    if _is_transformers_model(model):
        if tokenizer is None:
            raise RmevalError(
                f"{type(model).__name__}: an in-memory model needs its tokenizer; pass "
                "evaluate((model, tokenizer), ...) or tokenizer=."
            )
        return InMemoryRewardModel(model, tokenizer, name, **model_args)
    if model_args:
        raise RmevalError(
            f"model_args {', '.join(model_args)}: they configure a model built from a spec or "
            f"a transformers model; a {type(model).__name__} is used as given."
        )
    if isinstance(model, RewardModel):
        return model
    if callable(model):
        return CallableRewardModel(model, name)
    raise RmevalError(
        f"model={model!r}: give a spec ('hf:./rm'), a RewardModel, (model, tokenizer) or a "
        "callable list[ScoreRequest] -> list[float]."
    )


def _is_transformers_model(model: Any) -> bool:
    return hasattr(model, "config") and hasattr(model, "state_dict") and hasattr(model, "forward")


def _check_callable(model: RewardModel, opts: RunOptions) -> None:
    """A callable has no identity but its name: no disk cache, and files only under a name."""
    if not isinstance(model, CallableRewardModel):
        return
    if opts.cache_dir:
        raise RmevalError(
            "cache_dir: a callable has no identity to key cached scores on (its code or state "
            "may change between calls); drop cache_dir (its scores are kept for this call only)."
        )
    if opts.output_dir is not None and not opts.name:
        raise RmevalError(
            "output_dir: result files of a callable need name='...' (the model's name in the "
            "files and the result folder); pass name= or drop output_dir."
        )


# -- reading ------------------------------------------------------------------------------
def result_files(path: str | Path) -> list[Path]:
    """A result file itself, or the ``<task>.json`` files of a model folder or results tree."""
    root = Path(path)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise RmevalError(f"{root}: no such result file or folder; pass a results folder.")
    found = [p for p in sorted(root.rglob("*.json")) if not _not_a_run(p.relative_to(root))]
    if not found:
        raise RmevalError(f"{root}: holds no result files (<task>.json); run `rmeval run` first.")
    return found


def _not_a_run(rel: Path) -> bool:
    return any(part in NOT_RUNS for part in rel.parts[:-1])


def _results(path: str | Path) -> Iterator[Result]:
    for file in result_files(path):
        yield read_result(file)


def load_results(path: str | Path) -> pandas.DataFrame:
    """One row per model × task × metric of the (verified) result files under ``path``."""
    import pandas

    rows = []
    for r in _results(path):
        dataset = r.task.get("dataset") or {}
        for metric, m in r.metrics.items():
            ci = m.get("ci95") or [None, None]
            rows.append(
                {
                    "model": r.model_spec,
                    "fingerprint": r.model.get("fingerprint"),
                    "task": r.task_name,
                    "metric": metric,
                    "value": m.get("value"),
                    "ci_low": ci[0],
                    "ci_high": ci[1],
                    "n": m.get("n"),
                    "main_score": metric == r.main_score,
                    "higher_is_better": r.higher_is_better,
                    "dataset_path": dataset.get("path"),
                    "dataset_sha256": dataset.get("sha256"),
                    "dataset_revision": dataset.get("revision"),
                    "file": str(r.path),
                }
            )
    return pandas.DataFrame(rows, columns=_RESULT_COLUMNS)


_RESULT_COLUMNS = [
    "model",
    "fingerprint",
    "task",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "main_score",
    "higher_is_better",
    "dataset_path",
    "dataset_sha256",
    "dataset_revision",
    "file",
]


def load_samples(path: str | Path, task: str | None = None) -> pandas.DataFrame:
    """The sample lines (one row per example) of the verified results under ``path`` (a result
    file, a model folder or a results tree), with ``model`` and ``task`` columns; ``task``
    picks one task where the folder holds several."""
    import pandas

    results = [r for r in _results(path) if task is None or r.task_name == task]
    if not results:
        raise RmevalError(f"{path}: holds no result of task {task!r}; check the task name.")
    tasks = sorted({r.task_name for r in results})
    if task is None and len(tasks) > 1:
        raise RmevalError(f"{path}: holds several tasks ({', '.join(tasks)}); pass task=.")
    frames = []
    for r in results:
        with Path(str(r.samples_path)).open(encoding="utf-8") as fh:
            lines = [json.loads(line) for line in fh if line.strip()]
        frame = pandas.DataFrame(lines)
        frame.insert(0, "task", r.task_name)
        frame.insert(0, "model", r.model_spec)
        frames.append(frame)
    return pandas.concat(frames, ignore_index=True)
