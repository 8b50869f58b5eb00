"""``--config run.yaml``: the same settings as the flags; flags given on the command line win."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import RmevalError

KEYS = {
    "model",
    "model_args",
    "tasks",
    "task_args",
    "data",
    "output_dir",
    "cache_dir",
    "limit",
    "batch_tokens",
    "dtype",
    "max_length",
    "device",
    "seed",
    "ties",
    "trust_remote_code",
    "allow_unsafe_weights",
    "no_progress",
}


def load_config(path: str) -> dict[str, Any]:
    """Read a YAML mapping whose keys are flag names (``model_args`` for ``--model-args``)."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise RmevalError(f"--config {path}: no such file.")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise RmevalError(f"--config {path}: invalid YAML ({exc}).") from exc
    if not isinstance(data, dict):
        raise RmevalError(f"--config {path}: must be a mapping of flag names to values.")
    data = {str(k).replace("-", "_"): v for k, v in data.items()}
    unknown = set(data) - KEYS
    if unknown:
        raise RmevalError(
            f"--config {path}: unknown key(s) {', '.join(sorted(unknown))}; use flag names "
            f"such as model, tasks, model_args, data."
        )
    return data


def as_list(value: Any) -> list[str]:
    """A comma-separated string or a list into a list of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def as_assignments(value: Any) -> list[str]:
    """A mapping or ``k=v`` strings into ``k=v`` strings."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [f"{k}={v}" for k, v in value.items()]
    return as_list(value) if isinstance(value, str) else [str(v) for v in value]
