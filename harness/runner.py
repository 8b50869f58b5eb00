"""Orchestration: tasks -> requests -> scores (cached) -> per-example results -> result files."""

from __future__ import annotations

import difflib
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

from rmeval.harness.adapters.base import RewardModel, parse_model_args, split_spec
from rmeval.harness.adapters.hub import remembered_hashes
from rmeval.harness.cache import ScoreCache
from rmeval.harness.distributed import SingleProcess, launch_env
from rmeval.harness.distributed import sharding as default_sharding
from rmeval.harness.errors import RmevalError
from rmeval.harness.plugins import model_class, model_names
from rmeval.harness.records import canonical_json, sha256_text
from rmeval.harness.result import (
    HARNESS_VERSION,
    SCHEMA_VERSION,
    STATUS_COMPLETE,
    Result,
    environment,
)
from rmeval.harness.results import (
    check_identity,
    git_commit,
    result_dir,
    samples_path,
    write,
)
from rmeval.harness.reuse import plan_reuse
from rmeval.harness.sample_texts import with_texts
from rmeval.harness.scoring import Scorer, ScoringStats
from rmeval.harness.staged_file import StagedFile, check_writable
from rmeval.harness.streamed import evaluate_streamed
from rmeval.harness.sweep import SweepReport, refuse_if_nothing_runs
from rmeval.harness.task import RunContext, Task
from rmeval.harness.task_options import build_tasks
from rmeval.harness.timing import TaskShares, streamed_timing

log = logging.getLogger(__name__)


@dataclass
class RunOptions:
    """Everything ``rmeval run`` and ``rmeval score`` take (mirrors the CLI flags)."""

    models: list[str]
    tasks: list[str]
    model_args: dict[str, Any] = field(default_factory=dict)
    task_args: dict[str, Any] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)
    output_dir: str | None = "results"
    """Where result files go; None writes none (``rmeval.evaluate`` without ``output_dir``)."""
    cache_dir: str = ".rmeval_cache"
    limit: int | None = None
    batch_tokens: int | None = None
    seed: int = 0
    progress: bool | str = True
    """A progress bar (True), periodic log lines on stderr (``log``: no terminal) or none."""
    cache_only: bool = False
    """True for ``rmeval score``: never load a model; missing scores are an error."""
    name: str | None = None
    """Result folder name for a single model (default: the spec, plus a hash of its args)."""
    per_model_args: list[dict[str, Any]] | None = None
    """Each model's own ``--model-args`` (in ``models`` order), over ``model_args``."""
    log_texts: bool = False
    """Store each example's prompt and candidate texts in its samples line (``--log-texts``)."""
    recompute: bool = False
    """Evaluate even a (model, task) whose result file is up to date (``--recompute``); without
    it such a result is reused (``rmeval.harness.reuse``)."""


def run_label(model: RewardModel) -> str:
    """Spec plus a short hash of the model's output-changing arguments (as the adapter declares
    them: the same decision as its fingerprint), so that e.g. ``dpo:X`` with ``ref=A`` and with
    ``ref_free=norm`` land in different result folders while ``pack=false`` does not."""
    relevant = model.output_arguments(model.args)
    if not relevant:
        return model.spec
    return f"{model.spec}-{sha256_text(canonical_json(relevant))[:8]}"


def _parse_spec(spec: str) -> tuple[str, str]:
    return (spec, "") if ":" not in spec and spec in model_names() else split_spec(spec)


def build_model(spec: str, args: dict[str, Any], others: Sequence[str] = ()) -> RewardModel:
    """An adapter from ``TYPE:ID`` (or a bare registered type, or a bare id meaning ``hf``).

    Unknown ``args`` are refused by the adapter. With ``others`` (the other models of the same
    run, which get the same ``--model-args``), each model takes the keys it declares and a key
    that no model takes is refused."""
    kind, ident = _parse_spec(spec)
    cls = model_class(kind)
    takes = [k for k in args if _takes(cls, k, args)]
    for key in set(args) - set(takes) - {"device"}:  # --device is harmless where there is none
        if not others:
            cls.check_arguments(args)  # raises with a did-you-mean
        classes = [cls, *(model_class(_parse_spec(o)[0]) for o in others)]
        if not any(_takes(c, key, args) for c in classes[1:]):
            _refuse_untaken(key, classes)
    return cls(ident, **{k: args[k] for k in takes})


def _takes(cls: Any, key: str, args: dict[str, Any]) -> bool:
    """Whether adapter class ``cls`` accepts the ``--model-args`` key ``key``."""
    declared = cls.declared()
    return declared is None or key in declared or key in cls.extra_argument_names(args)


def _refuse_untaken(key: str, classes: Sequence[Any]) -> None:
    """A ``--model-args`` key that no model of the run takes: refused with a did-you-mean over
    the arguments of all of them."""
    names = sorted({n for c in classes for n in c.declared() or {}})
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    kinds = ", ".join(dict.fromkeys(c.type_name for c in classes))
    raise RmevalError(
        f"--model-args {key}: not an argument of any model of this run ({kinds}); {hint}"
        f"run `rmeval ls TYPE` to list a model type's arguments."
    )


def evaluate_model(
    model: RewardModel,
    tasks: Sequence[Task],
    cache: ScoreCache,
    opts: RunOptions,
    scored: ScoringStats | None = None,
    digest: Callable[[str], str | None] | None = None,
) -> list[Result]:
    """Score every task's requests once (shared across tasks), then evaluate each task and write
    its result; return the results (each with ``path`` set to its file).

    ``scored`` describes a scoring pass done elsewhere (data-parallel ranks); the scores are
    then all in ``cache``. A task's result file of another identity is refused before scoring.
    ``digest(task name)`` gives the ``inputs`` digest each written result records (see
    ``rmeval.harness.reuse``; None: none).
    """
    started = datetime.now(timezone.utc)
    folder = checked_result_dir(model, tasks, opts)
    streamed = [t for t in tasks if t.stream is not None and model.scalar_scores and not scored]
    listed = [t for t in tasks if t not in streamed]
    requests = [r for t in listed for r in t.all_requests()] if model.scalar_scores else []
    n_examples = sum(len(t.examples()) for t in listed if t.needs_scores)
    scores, stats = _scores(model, requests, cache, opts, n_examples / max(len(requests), 1))
    stats = scored or stats
    shares = TaskShares(listed, scores, stats)
    written = []
    for task in tasks:
        if task in streamed:
            written.append(_streamed_result(model, task, cache, opts, folder, started, digest))
            continue
        t0 = time.perf_counter()
        ctx = RunContext(
            scores, model, cache, opts.seed, cache_only=opts.cache_only, progress=opts.progress
        )
        samples = task.run(ctx)
        aggregate = task.aggregate(samples, seed=opts.seed)
        if opts.log_texts:
            samples = with_texts(task.examples(), samples)
        timing = shares.timing(task, len(samples), time.perf_counter() - t0)
        env = model_environment(model, cache, opts.batch_tokens)
        result = _result_record(model, task, aggregate, started, timing, env, digest)
        if folder is not None:
            # again: a concurrent run may have written this file while we were scoring
            check_identity(folder, result.identity, opts.name or run_label(model))
            result = write(result, samples, folder)
        written.append(result)
    return written


def _streamed_result(
    model: RewardModel,
    task: Task,
    cache: ScoreCache,
    opts: RunOptions,
    folder: Path | None,
    started: datetime,
    digest: Callable[[str], str | None] | None = None,
) -> Result:
    """A streamed task's result (:mod:`rmeval.harness.streamed`), its samples written as the
    chunks are evaluated and committed with the result file."""
    t0, data = time.perf_counter(), task.stream
    assert data is not None
    scorer = Scorer(
        model,
        cache,
        batch_tokens=opts.batch_tokens,
        progress=opts.progress,
        examples_per_text=data.examples / max(data.texts, 1),
        total=data.texts,
        keep_keys=False,
        cache_only=opts.cache_only,
    )
    staged = StagedFile(samples_path(folder, task.name)) if folder is not None else None
    with staged or nullcontext():
        aggregate = evaluate_streamed(
            task, scorer, seed=opts.seed, log_texts=opts.log_texts, samples=staged
        )
        timing = streamed_timing(scorer.stats, data.examples, time.perf_counter() - t0)
        env = model_environment(model, cache, opts.batch_tokens)
        result = _result_record(model, task, aggregate, started, timing, env, digest)
        if folder is None or staged is None:
            return result
        check_identity(folder, result.identity, opts.name or run_label(model))
        return write(result, staged, folder)


def checked_result_dir(model: RewardModel, tasks: Sequence[Task], opts: RunOptions) -> Path | None:
    """The model's result folder, once no task's result file there has another identity; None
    without an output folder (the Python API: results are returned, not written)."""
    label = opts.name or run_label(model)
    for task in tasks:
        task.check_model(model)
        task.prepare()  # reads the rows: the identity holds their sha256
    if opts.output_dir is None:
        return None
    folder = result_dir(opts.output_dir, label, None if opts.name else model.spec)
    for task in tasks:
        check_identity(folder, result_identity(model, task), label)
    return folder


def result_folder(model: RewardModel, opts: RunOptions) -> Path:
    """The model's result folder under ``opts.output_dir`` (checked to lie inside it)."""
    assert opts.output_dir is not None
    label = opts.name or run_label(model)
    return result_dir(opts.output_dir, label, None if opts.name else model.spec)


def result_identity(model: RewardModel, task: Task) -> dict[str, Any]:
    """What a result file belongs to: (model fingerprint, task, dataset sha256)."""
    return {
        "model_fingerprint": model.fingerprint(),
        "task": task.name,
        "dataset_sha256": task.dataset.sha256 if task.dataset else None,
    }


def _scores(
    model: RewardModel, requests: list, cache: ScoreCache, opts: RunOptions, ex_per_text: float
) -> tuple[dict, ScoringStats]:
    if not requests:
        return {}, ScoringStats()
    scorer = Scorer(
        model,
        cache,
        batch_tokens=opts.batch_tokens,
        progress=opts.progress,
        examples_per_text=ex_per_text,
        cache_only=opts.cache_only,
    )
    return scorer.scores(requests), scorer.stats


def _result_record(
    model: RewardModel,
    task: Task,
    aggregate: Any,
    started: datetime,
    timing: dict[str, Any],
    env: dict[str, Any],
    digest: Callable[[str], str | None] | None = None,
) -> Result:
    """The (not yet written) result of ``task`` on ``model``, with its inputs ``digest``."""
    return Result(
        schema_version=SCHEMA_VERSION,
        harness={"version": HARNESS_VERSION, "git_commit": git_commit()},
        model=model.describe(),
        task=task.describe(),
        metrics={k: v.to_dict() for k, v in aggregate.metrics.items()},
        by_subset=aggregate.by_subset,
        counts=aggregate.counts,
        tables=aggregate.tables,
        status=STATUS_COMPLETE,
        started_at=started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        duration_s=timing["duration_s"],
        throughput=timing["throughput"],
        identity=result_identity(model, task),
        samples=None,
        environment=env,
        inputs=digest(task.name) if digest else None,
    )


def model_environment(
    model: RewardModel, cache: ScoreCache, batch_tokens: int | None
) -> dict[str, Any]:
    """The ``environment`` block of ``model``'s results: its device, dtype, the token budget its
    batches were planned with (as given, else as recorded in the cache) and whether it packed."""
    budget = batch_tokens or cache.get_blob("batch_tokens", model.fingerprint())
    execution = model.execution()
    device, packing = execution.get("device"), execution.get("packing")
    return environment(
        device=device if isinstance(device, str) else None,
        dtype=model.describe().get("dtype"),
        batch_tokens=int(budget) if budget else None,
        packing=packing if isinstance(packing, bool) else None,
    )


def run(opts: RunOptions, sharding: SingleProcess | None = None) -> list[Result]:
    """Evaluate each model on each task; return the results (with the files they were written
    to). A (model, task) whose result file is up to date is reused, not evaluated again
    (``rmeval.harness.reuse``; ``opts.recompute`` evaluates it anyway).

    ``sharding`` spreads the scoring over processes (default: data-parallel ranks under a
    launcher, else this process alone); only the process that writes results returns any."""
    # under a launcher every rank validates before the ranks form a group; elsewhere the data
    # files are hashed (for reuse) before they are read, so a digest never names other bytes
    early = launch_env()[1] > 1
    tasks = prepared_tasks(opts, validate=early)
    report = SweepReport()
    with sharding or default_sharding(opts) as shard:
        cache = shard.open_cache(opts.cache_dir)
        try:
            written: list[Result] = []
            models = build_models(opts, shard, cache)  # all checked before any runs
            refuse_if_nothing_runs(models, tasks)
            # reuse: decided before any data is read; the data of what runs is validated now,
            # still before any model loads (building a model loads no weights)
            reuse = plan_reuse(models, tasks, opts, lambda m: result_folder(m, opts))
            if not early:
                validate_data(reuse.to_run(models, tasks))
            for model in models:
                runnable = [t for t in tasks if not _skipped(model, t, report)]
                kept = reuse.results(model, runnable)
                report.done(kept)
                order = {t.name: i for i, t in enumerate(runnable)}
                todo = [t for t in runnable if reuse.runs(model, t)]
                fresh: list[Result] = []
                if todo:
                    checked_result_dir(model, todo, opts)  # on every rank, before any scoring
                    scored = shard.score(model, todo, cache, opts)
                    if shard.writes_results:
                        digest = None if early else partial(reuse.digest, model)
                        fresh = evaluate_model(model, todo, cache, opts, scored, digest)
                        report.done(fresh)
                    shard.barrier()
                written.extend(sorted([*kept, *fresh], key=lambda r: order[r.task_name]))
            if shard.writes_results and (len(opts.models) > 1 or report.skipped):
                report.finish(opts.output_dir)
            return written
        finally:
            cache.close()


def _skipped(model: RewardModel, task: Task, report: SweepReport) -> bool:
    """Whether (model, task) cannot run: recorded in ``report`` and skipped."""
    reason = task.incompatible(model)
    if reason is not None:
        report.skip(model, task, reason)
    return reason is not None


def build_models(opts: RunOptions, shard: Any, cache: ScoreCache) -> list[RewardModel]:
    """Every model of the run (each with its own ``per_model_args``), built before the first
    one runs, so a bad path or argument of a later model fails at once."""
    models = []
    for i, spec in enumerate(opts.models):
        own = opts.per_model_args[i] if opts.per_model_args else {}
        cls = model_class(_parse_spec(spec)[0])
        if any(not _takes(cls, k, own) for k in own):
            cls.check_arguments(own)  # a model's own argument it does not take: did-you-mean
        with remembered_hashes(cache):  # a second run does not re-read the weights
            others = [o for o in opts.models if o != spec]
            models.append(build_model(spec, shard.model_args(opts.model_args | own), others))
    return models


def prepared_tasks(opts: RunOptions, validate: bool = True) -> list[Task]:
    """The tasks, after every check that needs no model: done before any model loads (and, under
    a launcher, on every rank before the ranks form a group, so none waits for one that failed).
    ``validate=False`` leaves the data unread (for :func:`validate_data` once reuse is decided)."""
    if opts.name and len(opts.models) > 1:
        raise RmevalError("--name names one model's results; give it with a single --model.")
    for spec in opts.models:
        model_class(_parse_spec(spec)[0])  # an unknown model type fails before data loads
    tasks = build_tasks(opts.tasks, opts)
    if validate:
        validate_data(tasks)
    if opts.output_dir is not None:
        check_writable(opts.output_dir)
    return tasks


def validate_data(tasks: Sequence[Task]) -> None:
    """Validate every task's data (before any model loads; see ``Task.prepare``)."""
    for t in tasks:
        t.prepare()


__all__ = ["RunOptions", "build_model", "build_tasks", "evaluate_model", "parse_model_args", "run"]
