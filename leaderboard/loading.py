"""Result files on disk -> validated run records for the leaderboard.

Results for the same task computed on different data (different ``task.dataset.sha256``) are
kept apart: each dataset hash becomes its own column group, labelled by the short hash, so
numbers measured on different rows never share a column or a ranking.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import RmevalError

SCHEMA_VERSION = 1
SHORT_HASH = 8
COMPARE_DIR = "compare"
NOT_RUNS = {COMPARE_DIR, "bench"}
"""Folders of results/ that hold no per-model runs (distance matrices, benchmarks)."""
_REQUIRED = (
    ("schema_version",),
    ("model", "spec"),
    ("task", "name"),
    ("task", "main_score"),
    ("task", "dataset", "sha256"),
    ("metrics",),
)


@dataclass(frozen=True)
class Run:
    """One validated result file: one model on one task."""

    slug: str
    """The model's folder under results/ (its identity on the board)."""
    task_key: str
    """Task name, suffixed with ``@<short hash>`` when its task has results on several datasets."""
    path: Path
    """The result file it came from."""
    data: dict[str, Any]
    """The parsed result file."""

    @property
    def task(self) -> str:
        """The task's name."""
        return self.data["task"]["name"]

    @property
    def dataset_hash(self) -> str:
        """sha256 of the rows the task used."""
        return self.data["task"]["dataset"]["sha256"]

    @property
    def samples_path(self) -> Path:
        """The per-example samples file beside the result file (may not exist)."""
        return self.path.with_name(self.path.name[: -len(".json")] + ".samples.jsonl")


@dataclass
class Results:
    """Everything the board is built from."""

    runs: list[Run]
    compare: dict[str, Any] | None = None
    """``results/compare/starc.json`` when present."""
    skipped: list[str] = field(default_factory=list)
    """One sentence per result file left out (e.g. a run that did not complete)."""


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


def _get(data: dict[str, Any], keys: tuple[str, ...]) -> Any:
    cur: Any = data
    for key in keys:
        if not isinstance(cur, dict) or key not in cur or cur[key] is None:
            return None
        cur = cur[key]
    return cur


def validate_run(path: Path, data: dict[str, Any]) -> None:
    """Check the schema version, the required fields and the main score of one result file."""
    for keys in _REQUIRED:
        if _get(data, keys) is None:
            raise RmevalError(
                f"{path}: required field {'.'.join(keys)} is missing; "
                "regenerate the file with `rmeval run`."
            )
    if data["schema_version"] != SCHEMA_VERSION:
        raise RmevalError(
            f"{path}: schema_version {data['schema_version']!r} is not supported "
            f"(this leaderboard reads {SCHEMA_VERSION}); rebuild with a matching rmeval."
        )
    main = data["task"]["main_score"]
    metric = _get(data, ("metrics", main))
    if not isinstance(metric, dict) or "value" not in metric:
        raise RmevalError(
            f"{path}: metrics has no entry for the main score {main!r}; "
            "regenerate the file with `rmeval run`."
        )


def _result_paths(results_dir: Path) -> list[Path]:
    paths = []
    for path in sorted(results_dir.rglob("*.json")):
        rel = path.relative_to(results_dir)
        if rel.parts[0] in NOT_RUNS or len(rel.parts) < 2:
            continue
        paths.append(path)
    return paths


def _task_keys(found: list[tuple[Path, str, dict[str, Any]]]) -> dict[tuple[str, str], str]:
    """Map (task, dataset hash) to a column-group key; suffix the hash only when needed."""
    hashes: dict[str, set[str]] = {}
    for _, _, data in found:
        hashes.setdefault(data["task"]["name"], set()).add(data["task"]["dataset"]["sha256"])
    keys = {}
    for task, task_hashes in hashes.items():
        for h in task_hashes:
            keys[(task, h)] = task if len(task_hashes) == 1 else f"{task}@{h[:SHORT_HASH]}"
    return keys


def load_results(results_dir: Path) -> Results:
    """Read and validate ``results_dir/<model-slug>/<task>.json`` (+ ``compare/starc.json``)."""
    if not results_dir.is_dir():
        raise RmevalError(
            f"{results_dir}: no such results folder; run `rmeval run` first or pass --results."
        )
    found: list[tuple[Path, str, dict[str, Any]]] = []
    skipped: list[str] = []
    for path in _result_paths(results_dir):
        data = read_json(path)
        validate_run(path, data)
        slug = path.parent.relative_to(results_dir).as_posix()
        if data.get("status", "complete") != "complete":
            skipped.append(f"{slug}/{path.name}: status is {data.get('status')!r}, not complete.")
            continue
        found.append((path, slug, data))
    if not found:
        raise RmevalError(
            f"{results_dir}: no complete result files (<model>/<task>.json) found; "
            "run `rmeval run` first or pass --results."
        )
    keys = _task_keys(found)
    runs, seen = [], {}
    for path, slug, data in found:
        key = keys[(data["task"]["name"], data["task"]["dataset"]["sha256"])]
        if (slug, key) in seen:
            raise RmevalError(
                f"{path}: model {slug!r} already has a result for task {key!r} in "
                f"{seen[(slug, key)]}; remove one of the two files."
            )
        seen[(slug, key)] = path
        runs.append(Run(slug=slug, task_key=key, path=path, data=data))
    return Results(runs=runs, compare=_load_compare(results_dir), skipped=skipped)


def _load_compare(results_dir: Path) -> dict[str, Any] | None:
    path = results_dir / COMPARE_DIR / "starc.json"
    if not path.is_file():
        return None
    data = read_json(path)
    models = data.get("models")
    if not isinstance(models, list) or not models:
        raise RmevalError(f"{path}: field models must be a non-empty list of model slugs.")
    for name in ("starc", "epic"):
        matrix = data.get(name)
        if matrix is None:
            continue
        if not (
            isinstance(matrix, list)
            and len(matrix) == len(models)
            and all(isinstance(row, list) and len(row) == len(models) for row in matrix)
        ):
            raise RmevalError(
                f"{path}: {name} must be a {len(models)}x{len(models)} matrix (one row and "
                "column per entry of models); regenerate it with `rmeval compare`."
            )
    return data
