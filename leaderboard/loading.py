"""Result files on disk -> validated run records for the leaderboard.

Results for the same task computed on different data (different ``task.dataset.sha256``) are
kept apart: each dataset hash becomes its own column group, labelled by the short hash, so
numbers measured on different rows never share a column or a ranking. Results on the same
rows but with other task settings (``task.params`` besides data/revision/split/limit) are
kept apart the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmeval.harness.compare import settings_hash
from rmeval.harness.errors import RmevalError
from rmeval.harness.result import Result
from rmeval.harness.result_fields import Fields, validate_result
from rmeval.harness.results import check_result
from rmeval.leaderboard.samples import SampleView, parse_view

SHORT_HASH = 8
COMPARE_DIR = "compare"
NOT_RUNS = {COMPARE_DIR, "bench"}
"""Folders of results/ that hold no per-model runs (distance matrices, benchmarks)."""


@dataclass(frozen=True)
class Run:
    """One validated result file: one model on one task."""

    slug: str
    """The model's folder under results/ (its identity on the board)."""
    task_key: str
    """Task name, suffixed with ``@<short hash>`` when its task has results on several datasets
    or settings."""
    path: Path
    """The result file it came from."""
    data: dict[str, Any]
    """The parsed result file."""
    samples: Path
    """Its samples file, checked against the sha256 the result records."""
    view: SampleView | None = None
    """How the task's sample lines are read (None: the task declares no hardest examples)."""

    @property
    def task(self) -> str:
        """The task's name."""
        return self.data["task"]["name"]

    @property
    def dataset_hash(self) -> str:
        """sha256 of the rows the task used."""
        return self.data["task"]["dataset"]["sha256"]


@dataclass
class Results:
    """Everything the board is built from."""

    runs: list[Run]
    compare: dict[str, Any] | None = None
    """``results/compare/starc.json`` when present."""
    skipped: list[str] = field(default_factory=list)
    """One sentence per result file left out (only when asked to skip unfinished results)."""


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-standard JSON constant {name}")


def read_json(path: Path) -> dict[str, Any]:
    """Parse a strict-JSON object file, or raise a one-sentence RmevalError naming it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RmevalError(
            f"{path}: cannot read it as strict JSON ({exc}); regenerate it with `rmeval run`."
        ) from exc
    if not isinstance(data, dict):
        raise RmevalError(f"{path}: expected a JSON object at the top level; regenerate it.")
    return data


def _result_paths(results_dir: Path) -> list[Path]:
    paths = []
    for path in sorted(results_dir.rglob("*.json")):
        rel = path.relative_to(results_dir)
        if rel.parts[0] in NOT_RUNS or len(rel.parts) < 2:
            continue
        paths.append(path)
    return paths


def _task_keys(
    found: list[tuple[Path, str, dict[str, Any]]],
) -> dict[tuple[str, str, str], str]:
    """Map (task, dataset hash, settings hash) to a column-group key.

    The key is the task name alone when a task has one variant; otherwise it is suffixed with
    ``@<short dataset hash>``, plus ``.<short settings hash>`` when variants on the same rows
    differ in their other params (``ties``, perturbations, mode, ...).
    """
    variants: dict[str, set[tuple[str, str]]] = {}
    for _, _, data in found:
        variants.setdefault(data["task"]["name"], set()).add(_variant(data))
    keys = {}
    for task, task_variants in variants.items():
        for h, p in task_variants:
            same_rows = sum(h == other for other, _ in task_variants)
            suffix = h[:SHORT_HASH] + (f".{p[:SHORT_HASH]}" if same_rows > 1 else "")
            keys[(task, h, p)] = task if len(task_variants) == 1 else f"{task}@{suffix}"
    return keys


def _variant(data: dict[str, Any]) -> tuple[str, str]:
    """(dataset sha256, settings hash) of a result: what must match to share a column."""
    return data["task"]["dataset"]["sha256"], settings_hash(data["task"])


def load_results(results_dir: Path, skip_unfinished: bool = False) -> Results:
    """Read and validate ``results_dir/<model-slug>/<task>.json`` (+ ``compare/starc.json``).

    A result that is not complete or whose samples file does not match is refused, or, with
    ``skip_unfinished``, left out and listed in ``Results.skipped``.
    """
    if not results_dir.is_dir():
        raise RmevalError(
            f"{results_dir}: no such results folder; run `rmeval run` first or pass --results."
        )
    found: list[tuple[Path, str, dict[str, Any], Path]] = []
    skipped: list[str] = []
    for path in _result_paths(results_dir):
        data = read_json(path)
        try:
            samples = check_result(path, Result.from_dict(data, path))
        except RmevalError as exc:
            if not skip_unfinished:
                raise
            skipped.append(str(exc))
            continue
        validate_result(path, data)
        slug = path.parent.relative_to(results_dir).as_posix()
        found.append((path, slug, data, samples))
    if not found:
        raise RmevalError(
            f"{results_dir}: no complete result files (<model>/<task>.json) found; "
            "run `rmeval run` first or pass --results."
        )
    return Results(runs=_runs(found), compare=_load_compare(results_dir), skipped=skipped)


def _runs(found: list[tuple[Path, str, dict[str, Any], Path]]) -> list[Run]:
    """One run per file; a model with two results for one task (and data) is refused."""
    keys = _task_keys([(p, s, d) for p, s, d, _ in found])
    runs, seen = [], {}
    for path, slug, data, samples in found:
        key = keys[(data["task"]["name"], *_variant(data))]
        if (slug, key) in seen:
            raise RmevalError(
                f"{path}: model {slug!r} already has a result for task {key!r} in "
                f"{seen[(slug, key)]}; remove one of the two files."
            )
        seen[(slug, key)] = path
        view = parse_view(path, data["task"].get("samples_view"))
        runs.append(Run(slug=slug, task_key=key, path=path, data=data, samples=samples, view=view))
    return runs


def _load_compare(results_dir: Path) -> dict[str, Any] | None:
    """``compare/starc.json``: model slugs and square distance matrices over them."""
    path = results_dir / COMPARE_DIR / "starc.json"
    if not path.is_file():
        return None
    data = read_json(path)
    f = Fields(path, "regenerate it with `rmeval compare`")
    models = data.get("models")
    if not isinstance(models, list) or not models or not all(isinstance(m, str) for m in models):
        f.fail("models", "must be a non-empty list of model slugs")
    for name in ("starc", "epic"):
        if data.get(name) is not None:
            f.matrix(data[name], name, len(models), len(models))
    return data
