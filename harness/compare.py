"""Paired comparison of runs on the items they share: ``rmeval compare results/a results/b``.

For every task present in all runs (same dataset sha256 and revision, else a clear error): the
difference of main scores with a paired bootstrap 95% CI, a p-value (the exact sign test on
per-item credits, the exact McNemar test when credits are 0/1, where the score is their mean; the
paired bootstrap's otherwise) and the agreement of the models' preferences, per task, per
reported metric and per subset. Tasks whose plugin offers ``scorer(results)`` (every
built-in task whose main score is not a mean of per-item credits: rewardbench, rewardbench2,
rmbench, starc, master-keys, probe-core, mrmbench) have each value recomputed by the task's own
formula on the shared items, resampled by the task's units, so a row equals the result file's
value on the full set; other tasks use the mean credit and say so in the row's ``measure``.
Every result file read is verified by ``rmeval.harness.results.check_result``; the command
line is :mod:`rmeval.harness.compare_command`.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rmeval.harness.errors import RmevalError
from rmeval.harness.metrics import bootstrap_ci
from rmeval.harness.paired_stats import (  # noqa: F401 (sign_test_p, ItemScorer: public here too)
    ItemScorer,
    agreement,
    paired_cis,
    sign_test_p,
)
from rmeval.harness.plugins import load_tasks
from rmeval.harness.records import ExampleResult, canonical_json, sha256_text
from rmeval.harness.result import Result
from rmeval.harness.result_fields import validate_result
from rmeval.harness.results import check_result

TaskLoader = Callable[..., list[Any]]
_SAMPLE_FIELDS = {"id", "subset", "scores", "credit", "tie", "invalid", "truncated", "text_hashes"}
TESTS = {
    "ci95": "paired bootstrap over shared items (the task's resampling units), B - A",
    "p_value": "exact two-sided sign test on per-item credits (= exact McNemar for 0/1 credits) "
    "where the task's score is the mean credit; else (p_method: bootstrap) twice the share of "
    "paired bootstrap differences on the far side of 0",
    "agreement": "fraction of shared items whose top-scoring candidate set is the same",
}


@dataclass
class TaskRun:
    """One task's result file and samples in one run folder."""

    label: str
    path: Path
    result: dict[str, Any]
    samples: dict[str, ExampleResult]


@dataclass
class Run:
    """A run folder: ``results/<model-slug>`` with ``<task>.json`` + ``<task>.samples.jsonl``."""

    label: str
    folder: Path
    tasks: dict[str, TaskRun]


# -- loading ----------------------------------------------------------------------------------
def read_samples(path: Path) -> dict[str, ExampleResult]:
    """Samples file lines as results by id (null scores become NaN, other keys go to ``extra``)."""
    if not path.is_file():
        raise RmevalError(f"{path} is missing; rerun that task so its samples file is written.")
    out: dict[str, ExampleResult] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            out[str(d["id"])] = ExampleResult(
                id=str(d["id"]),
                subset=str(d.get("subset")),
                scores=[math.nan if v is None else float(v) for v in d["scores"]],
                credit=None if d.get("credit") is None else float(d["credit"]),
                tie=bool(d.get("tie", False)),
                invalid=bool(d.get("invalid", False)),
                truncated=bool(d.get("truncated", False)),
                text_hashes=list(d.get("text_hashes") or []),
                extra={k: v for k, v in d.items() if k not in _SAMPLE_FIELDS},
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise RmevalError(
                f"{path}:{lineno}: not a samples line ({type(exc).__name__}: {exc}); "
                f"rewrite the file with `rmeval score`."
            ) from exc
    return out


def load_run(folder: Path, label: str) -> Run:
    """Every result file in a run folder, with its samples."""
    if not folder.is_dir():
        raise RmevalError(f"{folder}: no such run folder; pass folders like results/<model-slug>.")
    tasks: dict[str, TaskRun] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise RmevalError(f"{path}: invalid JSON ({exc.msg}); rerun the task.") from exc
        if not (isinstance(result, dict) and "schema_version" in result and "task" in result):
            continue  # not a result file (e.g. a comparison written next to it)
        record = Result.from_dict(result, path)
        samples = read_samples(check_result(path, record))
        validate_result(path, result)  # a field of the wrong shape: one sentence, not a crash
        tasks[record.task_name] = TaskRun(label, path, result, samples)
    if not tasks:
        raise RmevalError(f"{folder}: no result files (<task>.json); run `rmeval run` first.")
    return Run(label, folder, tasks)


def load_runs(folders: Sequence[Path]) -> list[Run]:
    """Runs labelled by folder name (by the path given when two names clash)."""
    names = [f.name for f in folders]
    return [load_run(f, f.name if names.count(f.name) == 1 else str(f)) for f in folders]


def shared_tasks(runs: Sequence[Run]) -> list[str]:
    """Task names present in every run, in the first run's order."""
    return [t for t in runs[0].tasks if all(t in r.tasks for r in runs[1:])]


DATA_PARAMS = ("data", "revision", "split", "limit")
"""Task params that choose the rows: ``task.dataset`` (its sha256) already tells them apart."""


def settings_hash(task: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of ``task.params`` without the row-choosing ones.

    Two runs of one task on the same rows but with other settings (``ties``, a perturbation
    list, a mode) get different hashes, so their numbers are never compared as one.
    """
    params = {k: v for k, v in (task.get("params") or {}).items() if k not in DATA_PARAMS}
    return sha256_text(canonical_json(params))


def check_same_data(name: str, task_runs: Sequence[TaskRun]) -> None:
    """Refuse runs whose rows differ (dataset sha256 or revision) or whose settings differ."""
    first = task_runs[0].result["task"].get("dataset") or {}
    for other in task_runs[1:]:
        ds = other.result["task"].get("dataset") or {}
        for key in ("sha256", "revision"):
            if ds.get(key) != first.get(key):
                raise RmevalError(
                    f"task '{name}': {task_runs[0].path} and {other.path} used different datasets "
                    f"({key} {first.get(key)} vs {ds.get(key)}); rerun both on the same data "
                    f"(same --data, revision and --limit) to compare them."
                )
        if settings_hash(other.result["task"]) != settings_hash(task_runs[0].result["task"]):
            raise RmevalError(
                f"task '{name}': {task_runs[0].path} and {other.path} were run with different "
                f"task settings (task.params other than {', '.join(DATA_PARAMS)}); rerun both "
                f"with the same task arguments to compare them."
            )


def shared_ids(task_runs: Sequence[TaskRun], *, valid: bool = True) -> list[str]:
    """Ids present (and, with ``valid``, scored validly) in every run, in the first run's order."""
    return [
        i
        for i, r in task_runs[0].samples.items()
        if all(i in t.samples for t in task_runs)
        and (not valid or all(t.samples[i].credit is not None for t in task_runs))
    ]


# -- rows -------------------------------------------------------------------------------------
def _row(task: str, metric: str, a: TaskRun, b: TaskRun, n: int, va: Any, vb: Any) -> dict:
    va, vb = (None if v is None else float(v) for v in (va, vb))
    diff = None if va is None or vb is None else vb - va
    return dict(
        task=task, metric=metric, a=a.label, b=b.label, n=n, a_value=va, b_value=vb, diff=diff
    )


def credit_row(task: str, metric: str, a: TaskRun, b: TaskRun, ids: list[str], seed: int) -> dict:
    """Mean-credit difference on ``ids`` with paired CI, sign test and agreement."""
    ra, rb = [a.samples[i] for i in ids], [b.samples[i] for i in ids]
    ca = np.array([r.credit for r in ra], dtype=float)
    cb = np.array([r.credit for r in rb], dtype=float)
    ci = bootstrap_ci(len(ids), lambda idx: float(cb[idx].mean() - ca[idx].mean()), seed=seed)
    d = cb - ca
    row = _row(task, metric, a, b, len(ids), ca.mean() if ids else None, cb.mean() if ids else None)
    return row | {
        "ci95": list(ci) if ci else None,
        "p_value": sign_test_p(int((d > 0).sum()), int((d < 0).sum())),
        "agreement": agreement(ra, rb),
        "method": "credit_mean",
    }


def scorer_rows(
    task: str, keys: Sequence[str], a: TaskRun, b: TaskRun, sa: Any, sb: Any, seed: int
) -> list[dict]:
    """Differences of task-formula metrics with a paired bootstrap over the task's units."""
    stats = paired_cis(sa, sb, keys, seed)
    pa, pb = sa.point(), sb.point()
    return [
        _row(task, k, a, b, len(sa.units), pa.get(k), pb.get(k))
        | {"ci95": (stats[k] or {}).get("ci95"), "p_boot": (stats[k] or {}).get("p_value")}
        | {"method": "task"}
        for k in keys
    ]


def pair_rows(
    a: TaskRun, b: TaskRun, ids: list[str], scorers: Any, subsets: dict[str, Any], seed: int
) -> list[dict]:
    """One pair's rows: the main score, the task's other reported metrics, then each subset.

    ``subsets`` maps a subset to its per-run scorers (the task's formula on the subset's items)
    or to None, where the subset row is the mean per-item credit (its ``measure`` says which).
    """
    name, main = a.result["task"]["name"], a.result["task"]["main_score"]
    rows = [credit_row(name, main, a, b, ids, seed)]
    if scorers is not None:
        sa, sb = scorers
        reported = [k for k in a.result.get("metrics", {}) if k != main and k in sa.point()]
        first, *others = scorer_rows(name, [main, *reported], a, b, sa, sb, seed)
        rows[0] = _merged(rows[0], first, sa.sign_test)
        boot = {} if sa.sign_test else {"p_method": "bootstrap"}
        rows += [r | {"measure": r["metric"], "p_value": r["p_boot"]} | boot for r in others]
    rows[0]["measure"] = main if scorers is not None else _credit_measure(main, a, b, rows[0])
    for s, sub in subsets.items():
        sub_ids = [i for i in ids if a.samples[i].subset == s]
        if sub is None:
            row = credit_row(name, f"subset:{s}", a, b, sub_ids, seed) | {"measure": "mean credit"}
        else:
            row = credit_row(name, f"subset:{s}", a, b, sub_ids, seed)
            row = _merged(row, scorer_rows(name, [main], a, b, *sub, seed)[0], sub[0].sign_test)
            row["measure"] = main
        rows.append(row)
    return [r | verdict(r, a.result["task"].get("higher_is_better", True)) for r in rows]


def _merged(credit: dict, task_row: dict, sign_test: bool) -> dict:
    """A credit row with the task formula's values; it keeps its agreement, and its sign test
    where the task's metrics are (weighted) means of credits, else the bootstrap p-value."""
    row = credit | {k: task_row[k] for k in ("a_value", "b_value", "diff", "ci95", "method")}
    if not sign_test:
        row |= {"p_value": task_row["p_boot"], "p_method": "bootstrap"}
    return row


def _credit_measure(main: str, a: TaskRun, b: TaskRun, row: dict) -> str:
    """``main`` when the mean credit is the main score of both result files, else what it is."""
    for run, value in ((a, row["a_value"]), (b, row["b_value"])):
        recorded = (run.result.get("metrics", {}).get(main) or {}).get("value")
        if value is None or recorded is None or abs(value - recorded) > 1e-12:
            return "mean credit"
    return main


def verdict(row: dict, higher_is_better: bool) -> dict:
    """Which run is better on this row and whether the 95% CI of the difference excludes 0."""
    diff, ci = row.get("diff"), row.get("ci95")
    if diff is None or diff == 0:
        return {"better": None, "significant": False}
    better = row["b"] if (diff > 0) == bool(higher_is_better) else row["a"]
    return {"better": better, "significant": bool(ci and (ci[0] > 0 or ci[1] < 0))}


# -- comparison -------------------------------------------------------------------------------
def _plugin(name: str, run: TaskRun, loader: TaskLoader | None) -> tuple[Any, str | None]:
    """The task plugin built with the recorded parameters, or (None, why not)."""
    try:
        task = (loader or load_tasks)(name, **(run.result["task"].get("params") or {}))[0]
    except (RmevalError, TypeError) as exc:
        return None, f"task plugin unavailable ({exc}); main score = mean credit on shared items"
    return task, None


def _scorers(
    task: Any, runs: Sequence[TaskRun], ids: list[str], key: str
) -> tuple[list[Any] | None, str | None]:
    """The task's unit scorers of each run on ``ids``, or (None, why) when it has none
    (``Task.scorer``'s default) or they cannot be paired."""
    scorers = [task.scorer([r.samples[i] for i in ids]) for r in runs]
    if any(s is None for s in scorers):
        return None, "task has no scorer; main score = mean credit on shared items"
    if any(not np.array_equal(s.units, scorers[0].units) or key not in s.point() for s in scorers):
        return None, "task scorer units differ between runs; main score = mean credit"
    return scorers, None


def _subset_scorers(task: Any, runs: Sequence[TaskRun], ids: list[str], main: str) -> dict:
    """Per subset: scorers when the result file reports the main score per subset, else None."""
    by_subset = runs[0].result.get("by_subset") or {}
    names = sorted({runs[0].samples[i].subset for i in ids})
    out: dict[str, Any] = {}
    for s in names:
        own = task is not None and main in (by_subset.get(s) or {})
        sub_ids = [i for i in ids if runs[0].samples[i].subset == s]
        out[s] = _scorers(task, runs, sub_ids, main)[0] if own else None
    return out


def compare_task(
    name: str, task_runs: Sequence[TaskRun], *, seed: int, loader: TaskLoader | None
) -> dict:
    """Rows for every pair of runs on one task (main score, reported metrics, subsets)."""
    check_same_data(name, task_runs)
    ids = shared_ids(task_runs)
    main = task_runs[0].result["task"]["main_score"]
    task, note = _plugin(name, task_runs[0], loader) if ids else (None, "no shared items")
    scorers = None
    if task is not None:
        scorers, note = _scorers(task, task_runs, ids, main)
    subsets = _subset_scorers(task, task_runs, ids, main) if ids else {}
    rows = []
    for x, y in itertools.combinations(range(len(task_runs)), 2):
        pair = (scorers[x], scorers[y]) if scorers else None
        sub = {s: (v[x], v[y]) if v else None for s, v in subsets.items()}
        rows += pair_rows(task_runs[x], task_runs[y], ids, pair, sub, seed)
    method = "task" if scorers is not None else "credit_mean"
    hib = bool(task_runs[0].result["task"].get("higher_is_better", True))
    info = dict(
        main_score=main,
        higher_is_better=hib,
        method=method,
        note=note,
        n_shared=len(ids),
        n_items={t.label: len(t.samples) for t in task_runs},
        values=_run_values(task_runs, rows, main),
    )
    return {"info": info, "rows": rows}


def main_row(
    name: str, a: TaskRun, b: TaskRun, *, seed: int = 0, loader: TaskLoader | None = None
) -> dict | None:
    """The main-score row ``compare_task`` gives the pair (a, b), without the other metrics and
    the subsets (the leaderboard's ties with the leader need only this); None without shared
    items."""
    check_same_data(name, [a, b])
    ids = shared_ids([a, b])
    if not ids:
        return None
    main = a.result["task"]["main_score"]
    task, _ = _plugin(name, a, loader)
    scorers = _scorers(task, [a, b], ids, main)[0] if task is not None else None
    row = credit_row(name, main, a, b, ids, seed)
    if scorers is not None:
        first = scorer_rows(name, [main], a, b, *scorers, seed)[0]
        row = _merged(row, first, scorers[0].sign_test)
    return row | verdict(row, a.result["task"].get("higher_is_better", True))


def _run_values(task_runs: Sequence[TaskRun], rows: list[dict], main: str) -> dict:
    """Each run's main score on the shared items, read off the main rows."""
    values: dict[str, float | None] = {}
    for r in rows:
        if r["metric"] == main:
            values.setdefault(r["a"], r["a_value"])
            values.setdefault(r["b"], r["b_value"])
    return {t.label: values.get(t.label) for t in task_runs}


def compare_runs(runs: Sequence[Run], *, seed: int = 0, loader: TaskLoader | None = None) -> dict:
    """The comparison report (JSON-ready) of every task shared by all runs."""
    names = shared_tasks(runs)
    if not names:
        raise RmevalError(
            f"no task is present in all of {', '.join(str(r.folder) for r in runs)}; "
            f"run the same tasks for every model."
        )
    tasks, rows = {}, []
    for name in names:
        out = compare_task(name, [r.tasks[name] for r in runs], seed=seed, loader=loader)
        tasks[name] = out["info"]
        rows += out["rows"]
    models = [{"label": r.label, "folder": str(r.folder), "model": _spec(r)} for r in runs]
    return {"runs": models, "seed": seed, "tests": TESTS, "tasks": tasks, "rows": rows}


def _spec(run: Run) -> str | None:
    return next(iter(run.tasks.values())).result.get("model", {}).get("spec")


# -- distances --------------------------------------------------------------------------------
def distances(
    runs: Sequence[Run],
    method: str = "starc",
    task: str | None = None,
    loader: TaskLoader | None = None,
) -> dict:
    """Distance matrices between the runs' rewards on one task's shared items, computed by the
    ``distance`` of the task plugin named ``method`` (``starc``: STARC-L2 and EPIC)."""
    names = shared_tasks(runs)
    if task is not None and task not in names:
        raise RmevalError(f"--task {task}: not in every run; shared: {', '.join(names) or 'none'}.")
    for name in [task] if task else names:
        task_runs = [r.tasks[name] for r in runs]
        ids = shared_ids(task_runs, valid=False)
        if ids and all(len(t.samples[i].scores) >= 2 for t in task_runs for i in ids):
            break
    else:
        raise RmevalError("no shared task has 2 or more candidates per example; pass --task.")
    check_same_data(name, task_runs)
    provider = (loader or load_tasks)(method)[0]
    scores = {t.label: {i: t.samples[i].scores for i in ids} for t in task_runs}
    return provider.distance(scores) | {"task": name}
