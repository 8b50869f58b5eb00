"""Paired comparison of runs on the items they share: ``rmeval compare results/a results/b``.

For every task present in all runs (same dataset sha256 and revision, else a clear error): the
difference of main scores with a paired bootstrap 95% CI, an exact sign test on per-item credits
(the exact McNemar test when credits are 0/1) and the agreement of the models' preferences, per
task, per reported metric and per subset. Tasks whose plugin offers ``scorer(results)`` (e.g.
rewardbench, rewardbench2, rmbench) have their main score recomputed by the task's own formula on
the shared items and resampled by the task's units; other tasks use the mean credit.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import RmevalError
from harness.metrics import bootstrap_ci
from harness.records import ExampleResult

TaskLoader = Callable[..., list[Any]]
_SAMPLE_FIELDS = {"id", "subset", "scores", "credit", "tie", "invalid", "truncated", "text_hashes"}
TESTS = {
    "ci95": "paired bootstrap over shared items (the task's resampling units), B - A",
    "p_value": "exact two-sided sign test on per-item credits (= exact McNemar for 0/1 credits)",
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
        samples = read_samples(path.with_name(path.stem + ".samples.jsonl"))
        tasks[result["task"]["name"]] = TaskRun(label, path, result, samples)
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


def check_same_data(name: str, task_runs: Sequence[TaskRun]) -> None:
    """Refuse runs whose rows differ (dataset sha256 or revision)."""
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


def shared_ids(task_runs: Sequence[TaskRun], *, valid: bool = True) -> list[str]:
    """Ids present (and, with ``valid``, scored validly) in every run, in the first run's order."""
    return [
        i
        for i, r in task_runs[0].samples.items()
        if all(i in t.samples for t in task_runs)
        and (not valid or all(t.samples[i].credit is not None for t in task_runs))
    ]


# -- statistics -------------------------------------------------------------------------------
def sign_test_p(n_better: int, n_worse: int) -> float:
    """Exact two-sided sign test p-value: 2·P(X ≤ min) for X ~ Binomial(n_better + n_worse, 1/2)."""
    n = n_better + n_worse
    if n == 0:
        return 1.0
    logs = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2)
        for i in range(min(n_better, n_worse) + 1)
    ]
    top = max(logs)
    return min(1.0, 2.0 * math.exp(top) * sum(math.exp(v - top) for v in logs))


def top_set(scores: Sequence[float]) -> frozenset[int]:
    """Indices of the candidates that share the maximum score."""
    best = max(scores)
    return frozenset(i for i, s in enumerate(scores) if s == best)


def agreement(a: Sequence[ExampleResult], b: Sequence[ExampleResult]) -> float | None:
    """Fraction of items whose preferred candidate set (argmax, ties kept) is the same."""
    same = [
        top_set(x.scores) == top_set(y.scores)
        for x, y in zip(a, b, strict=True)
        if x.scores
        and len(x.scores) == len(y.scores)
        and all(map(math.isfinite, x.scores + y.scores))
    ]
    return float(np.mean(same)) if same else None


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


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


def scorer_row(task: str, key: str, a: TaskRun, b: TaskRun, sa: Any, sb: Any, seed: int) -> dict:
    """Difference of a task-formula metric with a paired bootstrap over the task's units."""
    ci = bootstrap_ci(
        sa.n_units,
        lambda idx: _nan(sb.resampled(idx).get(key)) - _nan(sa.resampled(idx).get(key)),
        seed=seed,
    )
    pa, pb = sa.point().get(key), sb.point().get(key)
    row = _row(task, key, a, b, len(sa.units), pa, pb)
    return row | {"ci95": list(ci) if ci else None, "method": "task"}


def pair_rows(a: TaskRun, b: TaskRun, ids: list[str], scorers: Any, seed: int) -> list[dict]:
    """One pair's rows: the main score, the task's other reported metrics, then each subset."""
    name, main = a.result["task"]["name"], a.result["task"]["main_score"]
    rows = [credit_row(name, main, a, b, ids, seed)]
    if scorers is not None:
        sa, sb = scorers
        keep = ("a_value", "b_value", "diff", "ci95", "method")
        rows[0] |= {
            k: v for k, v in scorer_row(name, main, a, b, sa, sb, seed).items() if k in keep
        }
        reported = [k for k in a.result.get("metrics", {}) if k != main and k in sa.point()]
        rows += [scorer_row(name, k, a, b, sa, sb, seed) for k in reported]
    for s in sorted({a.samples[i].subset for i in ids}):
        sub_ids = [i for i in ids if a.samples[i].subset == s]
        rows.append(credit_row(name, f"subset:{s}", a, b, sub_ids, seed))
    return rows


# -- comparison -------------------------------------------------------------------------------
def _scorers(name: str, runs: Sequence[TaskRun], ids: list[str], loader: TaskLoader | None):
    """The task's unit scorers on the shared items, or (None, reason) to fall back to credits."""
    main = runs[0].result["task"]["main_score"]
    if loader is None:
        from harness.plugins import load_tasks as loader
    try:
        task = loader(name, **(runs[0].result["task"].get("params") or {}))[0]
    except (RmevalError, TypeError) as exc:
        return None, f"task plugin unavailable ({exc}); main score = mean credit on shared items"
    if not hasattr(task, "scorer"):
        return None, "task has no scorer; main score = mean credit on shared items"
    scorers = [task.scorer([r.samples[i] for i in ids]) for r in runs]
    if any(not np.array_equal(s.units, scorers[0].units) or main not in s.point() for s in scorers):
        return None, "task scorer units differ between runs; main score = mean credit"
    return scorers, None


def compare_task(
    name: str, task_runs: Sequence[TaskRun], *, seed: int, loader: TaskLoader | None
) -> dict:
    """Rows for every pair of runs on one task (main score, reported metrics, subsets)."""
    check_same_data(name, task_runs)
    ids = shared_ids(task_runs)
    main = task_runs[0].result["task"]["main_score"]
    scorers, note = _scorers(name, task_runs, ids, loader) if ids else (None, "no shared items")
    rows = []
    for x, y in itertools.combinations(range(len(task_runs)), 2):
        pair = (scorers[x], scorers[y]) if scorers else None
        rows += pair_rows(task_runs[x], task_runs[y], ids, pair, seed)
    method = "task" if scorers is not None else "credit_mean"
    items = {t.label: len(t.samples) for t in task_runs}
    info = dict(main_score=main, method=method, note=note, n_shared=len(ids), n_items=items)
    return {"info": info, "rows": rows}


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


# -- output -----------------------------------------------------------------------------------
def _num(x: Any, fmt: str = ".4f") -> str:
    return "-" if x is None else format(round(x, 12) + 0.0, fmt)  # never print "-0.0000"


def _cells(r: dict) -> list[str]:
    ci = r.get("ci95")
    texts = [r["task"], r["metric"], r["a"], r["b"], str(r["n"])]
    nums = [_num(r["a_value"]), _num(r["b_value"]), _num(r["diff"], "+.4f")]
    tests = [_num(r.get("p_value"), ".3g"), _num(r.get("agreement"), ".3f")]
    return texts + nums + [f"[{_num(ci[0], '+.4f')}, {_num(ci[1], '+.4f')}]" if ci else "-"] + tests


def format_table(report: dict) -> str:
    """The report's rows as an aligned plain-text table, with per-task notes below."""
    head = ["task", "metric", "A", "B", "n", "score A", "score B", "B-A", "95% CI", "p", "agree"]
    body = [_cells(r) for r in report["rows"]]
    widths = [max(len(row[c]) for row in [head, *body]) for c in range(len(head))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if k < 4 else c.rjust(w)
            for k, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    out = [line(head), "  ".join("-" * w for w in widths), *(line(b) for b in body)]
    for name, info in report["tasks"].items():
        out.append(
            f"{name}: main score '{info['main_score']}' by {info['method']}, "
            f"{info['n_shared']} shared items" + (f" ({info['note']})" if info["note"] else "")
        )
    return "\n".join(out)


def write_json(path: Path, obj: Any) -> None:
    """Strict JSON written atomically (temp file + fsync + rename)."""
    from harness.results import atomic_write, dumps

    atomic_write(path, [dumps(obj) + "\n"])


# -- STARC ------------------------------------------------------------------------------------
def starc_distances(runs: Sequence[Run], task: str | None = None) -> dict:
    """STARC/EPIC distance matrices between the runs' rewards on one task's shared items."""
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
    try:
        from tasks.starc.bandit import distance_matrix
    except ImportError as exc:
        raise RmevalError(f"--distance starc needs tasks.starc.bandit ({exc}).") from exc
    scores = {t.label: {i: t.samples[i].scores for i in ids} for t in task_runs}
    return distance_matrix(scores) | {"task": name}


def format_matrices(starc: dict) -> str:
    """The STARC and EPIC matrices as aligned text."""
    models = starc["models"]
    width = max(8, *(len(m) for m in models))
    out = [f"task {starc.get('task')}, {starc['n_prompts']} prompts; {starc['convention']}"]
    for key in ("starc", "epic"):
        out.append(key.upper().ljust(width) + "".join(m.rjust(width + 2) for m in models))
        for m, row in zip(models, starc[key], strict=True):
            out.append(m.ljust(width) + "".join(f"{v:.4f}".rjust(width + 2) for v in row))
    return "\n".join(out)


# -- CLI --------------------------------------------------------------------------------------
def add_compare_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``rmeval compare`` on the CLI's subparsers (handler in ``func``)."""
    p = subparsers.add_parser("compare", help="compare runs on shared items (paired statistics)")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="folders like results/<model-slug>")
    p.add_argument("--distance", choices=["starc"], help="add STARC/EPIC distance matrices")
    p.add_argument("--task", help="task for --distance (default: first with >=2 candidates)")
    p.add_argument("--json", metavar="OUT", help="also write the comparison as JSON to OUT")
    p.add_argument(
        "--output-dir", default="results", help="--distance writes DIR/compare/starc.json"
    )
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.set_defaults(func=compare_main)
    return p


add_parser = add_compare_parser  # the name harness.cli looks up for optional subcommands


def compare_main(args: argparse.Namespace) -> int:
    """Run ``rmeval compare``: print the table, write JSON and distances when asked."""
    if len(args.runs) < 2:
        raise RmevalError("rmeval compare needs two or more run folders, e.g. results/a results/b.")
    if args.task and not args.distance:
        raise RmevalError("--task picks the task for --distance; add --distance starc.")
    runs = load_runs([Path(p) for p in args.runs])
    report = compare_runs(runs, seed=args.seed)
    print(format_table(report))
    if args.json:
        write_json(Path(args.json), report)
        print(f"wrote {args.json}")
    if args.distance == "starc":
        starc = starc_distances(runs, args.task)
        path = Path(args.output_dir) / "compare" / "starc.json"
        write_json(path, starc)
        print(format_matrices(starc))
        print(f"wrote {path}")
    return 0
