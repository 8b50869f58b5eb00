"""``--config run.yaml``: the same settings as the flags; flags given on the command line win.

Every setting, from a flag or from the file, goes through :func:`check_setting`, so a value of
the wrong type is refused with one sentence naming the flag or the file and key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rmeval.harness.errors import RmevalError

_INT = re.compile(r"[+-]?\d+")


def _integer(value: Any, minimum: int, what: str) -> int:
    if isinstance(value, str) and _INT.fullmatch(value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"use {what}")
    return value


def _count(value: Any) -> int:
    return _integer(value, 1, "a positive whole number, e.g. 100")


def _seed(value: Any) -> int:
    return _integer(value, 0, "a whole number >= 0, e.g. 1234")


def _batch_tokens(value: Any) -> int | str:
    if isinstance(value, str) and value.strip() == "auto":
        return "auto"
    return _integer(value, 1, "a positive whole number of tokens, e.g. 8192, or auto")


def _names(value: Any) -> str | list[str]:
    if isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        return value
    raise ValueError("use a name, a comma-separated string or a list of names")


def _models(value: Any) -> str | list[Any]:
    """Model specs, or a list whose items are specs or ``{spec: ..., args: {...}}``."""
    if not isinstance(value, list) or not any(isinstance(v, dict) for v in value):
        return _names(value)
    for item in value:
        if isinstance(item, dict):
            if set(item) - {"spec", "model", "args", "model_args"} or not isinstance(
                item.get("spec", item.get("model")), str
            ):
                raise ValueError(
                    "give each model as a spec or as {spec: TYPE:ID, args: {key: value}}"
                )
            _assignments(item.get("args", item.get("model_args")) or {})
        elif not isinstance(item, str):
            raise ValueError("give each model as a spec or as {spec: TYPE:ID, args: {...}}")
    return value


def _assignments(value: Any) -> str | list[str] | dict[str, Any]:
    scalar = (str, int, float, bool, type(None))
    if isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        return value
    if isinstance(value, dict) and all(isinstance(v, scalar) for v in value.values()):
        return value
    raise ValueError(_ASSIGNMENTS)


_ASSIGNMENTS = (
    "use a mapping of names to plain values (e.g. {pairwise: ./prefs.jsonl}) or NAME=VALUE strings"
)


def _file_assignments(value: Any) -> str | list[str] | dict[str, Any]:
    """As :func:`_assignments`, for a config file: a string without ``=`` (``[a, b]`` written
    for ``{a: b}``) is refused here, naming the file and key, not later as a flag."""
    value = _assignments(value)
    items = [value] if isinstance(value, str) else value
    if isinstance(items, list) and any("=" not in item for item in items):
        raise ValueError(_ASSIGNMENTS)
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("use a plain string")
    return str(value)


def _switch(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("use true or false")
    return value


def _ties(value: Any) -> str:
    if value not in ("strict", "half"):
        raise ValueError("use strict or half")
    return value


CHECKS: dict[str, Callable[[Any], Any]] = {
    "model": _models,
    "model_args": _assignments,
    "name": _text,
    "tasks": _names,
    "task_args": _assignments,
    "data": _assignments,
    "output_dir": _text,
    "cache_dir": _text,
    "limit": _count,
    "batch_tokens": _batch_tokens,
    "dtype": _text,
    "max_length": _count,
    "device": _text,
    "seed": _seed,
    "ties": _ties,
    "trust_remote_code": _switch,
    "allow_unsafe_weights": _switch,
    "no_progress": _switch,
    "log_texts": _switch,
}
"""Each setting (flag name with ``_``) and the check that turns its value into the runner's."""
KEYS = set(CHECKS)
_FILE_CHECKS = dict.fromkeys(("model_args", "task_args", "data"), _file_assignments)
"""Stricter checks for values read from a config file (a flag's own parser names the flag)."""


def check_setting(key: str, value: Any, source: str | None = None) -> Any:
    """``value`` of setting ``key`` as the runner takes it; a wrong one is refused with a
    sentence naming the flag (``source=None``) or the config file ``source``."""
    check = _FILE_CHECKS.get(key, CHECKS[key]) if source else CHECKS[key]
    try:
        return check(value)
    except ValueError as exc:
        where = (
            f"--config {source}: {key}: {value!r}"
            if source
            else f"--{key.replace('_', '-')} {value}"
        )
        raise RmevalError(f"{where}: {exc}.") from None


def _strict_loader() -> type:
    """A safe YAML loader that refuses a key given twice in one mapping (instead of last-wins)."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: dict[Any, int] = {}
            for key_node, _ in getattr(node, "value", []):
                if (
                    isinstance(key_node, yaml.ScalarNode)
                    and key_node.tag != "tag:yaml.org,2002:merge"
                ):
                    line = key_node.start_mark.line + 1
                    if key_node.value in seen:
                        raise _DuplicateKey(key_node.value, seen[key_node.value], line)
                    seen[key_node.value] = line
            return super().construct_mapping(node, deep=deep)

    return StrictLoader


class _DuplicateKey(Exception):
    def __init__(self, key: str, first: int, again: int) -> None:
        super().__init__(f"key '{key}' appears twice (lines {first} and {again}); keep one")


def _read_yaml(path: str) -> Any:
    import yaml

    p = Path(path)
    if not p.is_file():
        raise RmevalError(f"--config {path}: no such file.")
    try:
        return yaml.load(p.read_text(encoding="utf-8"), Loader=_strict_loader())
    except _DuplicateKey as exc:
        raise RmevalError(f"--config {path}: {exc}.") from None
    except UnicodeDecodeError:
        raise RmevalError(f"--config {path}: not UTF-8 text; save it as UTF-8.") from None
    except yaml.YAMLError as exc:
        raise RmevalError(f"--config {path}: invalid YAML ({_yaml_problem(exc)}).") from None


def _yaml_problem(exc: Exception) -> str:
    """PyYAML's multi-line error as one phrase: the problem and its line."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    return f"{problem} at line {mark.line + 1}" if mark is not None else problem


def load_config(path: str) -> dict[str, Any]:
    """Read a YAML mapping whose keys are flag names (``model_args`` for ``--model-args``)."""
    data = _read_yaml(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RmevalError(f"--config {path}: must be a mapping of flag names to values.")
    out: dict[str, Any] = {}
    spelled: dict[str, Any] = {}
    for raw, value in data.items():
        key = str(raw).replace("-", "_")
        if key in out:
            raise RmevalError(
                f"--config {path}: {spelled[key]} and {raw} are the same key; keep one."
            )
        out[key], spelled[key] = value, raw
    unknown = set(out) - KEYS
    if unknown:
        raise RmevalError(
            f"--config {path}: unknown key(s) {', '.join(sorted(unknown))}; use flag names "
            f"such as model, tasks, model_args, data."
        )
    return {k: check_setting(k, v, path) for k, v in out.items() if v is not None}


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
