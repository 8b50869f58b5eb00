"""The result record: one (model, task) evaluation, as ``<task>.json`` holds it.

The runner builds a :class:`Result`; ``rmeval score``, ``rmeval compare`` and the leaderboard read
files back through :meth:`Result.from_dict`, so every stage agrees on one layout and one schema
version. This module imports nothing heavy (no torch, transformers or datasets).
"""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmeval.harness.errors import RmevalError

from rmeval import __version__

SCHEMA_VERSION = 2
"""2: adds ``identity`` and ``samples`` {path, sha256, lines}; per-task throughput; later the
optional ``environment`` block (files without it read with an empty one)."""
READABLE_SCHEMAS = (2,)
"""Versions readers accept: version 1 files carry no samples checksum, so they are refused."""
STATUS_COMPLETE = "complete"
HARNESS_VERSION = __version__
"""The one version string of rmeval (``rmeval.__version__``), recorded in every result."""
ENVIRONMENT_PACKAGES = ("torch", "transformers", "datasets", "lm_eval")
"""Distributions whose versions the ``environment`` block records (None when not installed)."""
_RERUN = "rerun the same `rmeval run` command to rewrite it"
_REGENERATE = "regenerate the file with `rmeval run`"
_OBJECTS = ("harness", "by_subset", "counts", "tables", "throughput", "identity", "environment")
"""Blocks that may be absent (read as empty) but must be JSON objects when present."""


@dataclass
class Result:
    """One (model, task) evaluation: the record behind <task>.json."""

    schema_version: int
    """Layout version of the record (:data:`SCHEMA_VERSION` when written by this rmeval)."""
    harness: dict[str, Any]
    """The rmeval that wrote it: {version, git_commit}."""
    model: dict[str, Any]
    """The model: {spec, type, fingerprint, revision, dtype, max_length, chat_template_sha256,
    n_parameters, args}."""
    task: dict[str, Any]
    """The task: {name, version, params, dataset {path, revision, split, sha256}, main_score,
    higher_is_better, samples_view?}."""
    metrics: dict[str, Any]
    """Metric name -> {value, ci95, n}; ``value`` is null when no example was valid."""
    by_subset: dict[str, Any]
    """Subset -> metric -> {value, n}."""
    counts: dict[str, Any]
    """{examples, ties, invalid, truncated} (tasks may add their own counts)."""
    tables: dict[str, Any]
    """Task-specific tables (sections, grids, matrices)."""
    status: str
    """``complete`` once every example is evaluated; readers refuse anything else."""
    started_at: str
    """UTC start of the model's evaluation, ``YYYY-MM-DDTHH:MM:SSZ``."""
    duration_s: float | None
    """Seconds this task took: its share of the scoring pass plus its evaluation."""
    throughput: dict[str, Any]
    """{examples_per_s, tokens_per_s, texts_scored, texts_cached, scoring_s} of this task."""
    identity: dict[str, Any]
    """{model_fingerprint, task, dataset_sha256}: a file of another identity is never replaced."""
    samples: dict[str, Any] | None
    """The samples file beside it: {path, sha256, lines}; None until written."""
    environment: dict[str, Any]
    """Where the numbers were produced: package versions, python, platform, device, dtype,
    batch budget, packing (empty for files written before it was recorded)."""
    inputs: str | None = None
    """sha256 of everything that decides the numbers (``rmeval.harness.reuse``): a rerun with
    the same inputs reuses the file; None (never reused) for files without it, a hub dataset,
    a callable model, or a result written without an output folder."""
    path: Path | None = field(default=None, compare=False)
    """Where the record was written or read from (not serialised)."""
    reused: bool = field(default=False, compare=False)
    """True when this run reported the file instead of evaluating again (not serialised)."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the result file, keys in file order."""
        return {
            "schema_version": self.schema_version,
            "harness": self.harness,
            "identity": self.identity,
            "inputs": self.inputs,
            "model": self.model,
            "task": self.task,
            "metrics": self.metrics,
            "by_subset": self.by_subset,
            "counts": self.counts,
            "tables": self.tables,
            "status": self.status,
            "started_at": self.started_at,
            "duration_s": self.duration_s,
            "throughput": self.throughput,
            "environment": self.environment,
            "samples": self.samples,
        }

    @classmethod
    def from_dict(cls, data: Any, source: str | Path) -> Result:
        """Parse a result file's JSON object; a bad shape or another schema version is one
        RmevalError sentence naming ``source`` (other keys of the file are ignored)."""
        if not isinstance(data, dict):
            raise RmevalError(f"{source}: not a result record (a JSON object); {_REGENERATE}.")
        check_schema(data.get("schema_version"), source)
        for key in ("model", "task", "metrics", *_OBJECTS):
            if key in data and data[key] is not None and not isinstance(data[key], dict):
                raise RmevalError(f"{source}: field {key} must be an object; {_REGENERATE}.")
        for key in ("model", "task", "metrics"):
            if not isinstance(data.get(key), dict):
                raise RmevalError(f"{source}: field {key} is missing; {_REGENERATE}.")
        if not isinstance(data["task"].get("name"), str):
            raise RmevalError(f"{source}: field task.name must be a string; {_REGENERATE}.")
        samples = data.get("samples")
        duration = data.get("duration_s")
        inputs = data.get("inputs")
        return cls(
            schema_version=data["schema_version"],
            **{key: data.get(key) or {} for key in ("model", "task", "metrics", *_OBJECTS)},
            status=str(data.get("status")),
            started_at=str(data.get("started_at") or ""),
            duration_s=float(duration) if _is_number(duration) else None,
            samples=samples if isinstance(samples, dict) else None,
            inputs=inputs if isinstance(inputs, str) else None,
            path=Path(source),
        )

    @property
    def task_name(self) -> str:
        """The task's registered name."""
        return self.task["name"]

    @property
    def main_score(self) -> str:
        """Name of the task's main metric."""
        return str(self.task.get("main_score"))

    @property
    def main_value(self) -> float | None:
        """The main metric's value (None when it has none)."""
        value = (self.metrics.get(self.main_score) or {}).get("value")
        return float(value) if _is_number(value) else None

    @property
    def model_spec(self) -> str:
        """The model spec the run was given (e.g. ``hf:org/name``)."""
        return str(self.model.get("spec"))

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger main score is better (true unless the task says otherwise)."""
        return bool(self.task.get("higher_is_better", True))

    @property
    def samples_path(self) -> Path | None:
        """The samples file beside the written record (None before it is written)."""
        name = (self.samples or {}).get("path")
        return None if self.path is None or not isinstance(name, str) else self.path.parent / name


def check_schema(version: Any, source: str | Path) -> None:
    """Refuse a schema version this rmeval cannot read, in one sentence naming ``source``."""
    if version in READABLE_SCHEMAS:
        return
    if _is_number(version) and version > max(READABLE_SCHEMAS):
        raise RmevalError(
            f"{source}: schema_version {version!r} is not readable by this rmeval {HARNESS_VERSION} "
            f"(it reads {', '.join(map(str, READABLE_SCHEMAS))}): a newer rmeval wrote it; upgrade "
            "rmeval to read it."
        )
    raise RmevalError(
        f"{source}: schema_version {version!r} is not readable by this rmeval (it reads "
        f"{', '.join(map(str, READABLE_SCHEMAS))}); {_RERUN}."
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def package_version(name: str) -> str | None:
    """An installed distribution's version, read from its metadata (never imported)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def device_name(device: str | None) -> str:
    """A readable name of the device: the GPU's name for ``cuda``, else the CPU's."""
    torch = sys.modules.get("torch")  # already imported by the adapter that uses a GPU
    if device and device.startswith("cuda") and torch is not None and torch.cuda.is_available():
        return str(torch.cuda.get_device_name(device))
    return cpu_name()


def cpu_name() -> str:
    """The CPU model (``/proc/cpuinfo`` on Linux), else the machine architecture."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def environment(
    device: str | None, dtype: str | None, batch_tokens: int | None, packing: bool | None
) -> dict[str, Any]:
    """The ``environment`` block (as lm-eval records it): what produced the numbers.

    ``packing`` is None when the adapter does not pack or did not decide (no forward pass)."""
    return {
        "packages": {name: package_version(name) for name in ENVIRONMENT_PACKAGES},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": device,
        "device_name": device_name(device),
        "dtype": dtype,
        "batch_tokens": batch_tokens,
        "packing": packing,
    }
