"""Display names and the user's ``--metadata`` file: what a visitor reads instead of raw specs.

Without metadata a model is shown by its spec with any local path cut to its last folder name
(``hf:/home/me/ckpt/rm-7b`` -> ``hf:rm-7b``), so no absolute local path reaches the page; the
full spec stays in ``leaderboard.json``. A task measured on several datasets is labelled by the
dataset's file name (the short hash only where two files share a name).

The metadata file (YAML) may hold::

    models:
      <model slug>: {display_name, link, organisation, type, base_model, license, date}
    tasks:
      <task name>: {display_name, section_order, description}
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import yaml
from rmeval.harness.errors import RmevalError

MODEL_KEYS = ("display_name", "link", "organisation", "type", "base_model", "license", "date")
TASK_KEYS = ("display_name", "section_order", "description")
_LINK = re.compile(r"https?://[^\s\"'<>]+")
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


def looks_local(ident: str) -> bool:
    """A model id that names a local path rather than a hub repo (``org/name``)."""
    return (
        ident.startswith(("/", "~", "./", "../", "\\"))
        or bool(_DRIVE.match(ident))
        or ident.count("/") >= 2
        or "\\" in ident
    )


def short_spec(spec: str) -> str:
    """The spec with a local path cut to its last component (``TYPE:`` prefix kept)."""
    kind, sep, ident = spec.partition(":")
    if not sep or _DRIVE.match(spec):  # no TYPE, or a Windows drive letter
        kind, sep, ident = "", "", spec
    if not looks_local(ident):
        return spec
    path = PureWindowsPath(ident) if "\\" in ident or _DRIVE.match(ident) else PurePosixPath(ident)
    name = path.name or "model"
    return f"{kind}:{name}" if sep else name


def short_path(path: Any) -> str:
    """A dataset path for display: a local path as its file name, a hub id as it is."""
    text = str(path)
    if not looks_local(text):
        return text
    return PureWindowsPath(text).name if "\\" in text else PurePosixPath(text).name


def shorten_locals(value: Any) -> Any:
    """``value`` (params, adapter args) with every string that names a local path cut to its
    last component (``TYPE:`` prefix kept), in nested lists and dicts too; URLs stay as they
    are. For display only: the full values stay in the result files and leaderboard.json."""
    if isinstance(value, dict):
        return {k: shorten_locals(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [shorten_locals(v) for v in value]
    if isinstance(value, str) and "://" not in value:
        return short_spec(value)
    return value


def load_user_metadata(path: Path) -> dict[str, Any]:
    """Read and check a ``--metadata`` file; a bad one is refused naming the file and field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RmevalError(f"{path}: cannot read it as YAML ({exc}); fix the file.") from exc
    if not isinstance(data, dict):
        raise RmevalError(f"{path}: expected a mapping with 'models' and/or 'tasks'; fix it.")
    _known(path, "the top level", data, ("models", "tasks"))
    for group, keys in (("models", MODEL_KEYS), ("tasks", TASK_KEYS)):
        block = data.get(group) or {}
        if not isinstance(block, dict):
            raise RmevalError(f"{path}: '{group}' must map names to fields; fix the file.")
        for name, fields in block.items():
            where = f"{group}.{name}"
            if not isinstance(fields, dict):
                raise RmevalError(f"{path}: '{where}' must be a mapping of fields; fix the file.")
            _known(path, where, fields, keys)
            _check_fields(path, where, fields)
    return data


def _known(path: Path, where: str, block: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in block:
        if key not in allowed:
            raise RmevalError(
                f"{path}: unknown field '{key}' in {where}; use one of {', '.join(allowed)}."
            )


def _check_fields(path: Path, where: str, fields: dict[str, Any]) -> None:
    for key, value in fields.items():
        if key == "section_order":
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            if not ok:
                raise RmevalError(f"{path}: '{where}.{key}' must be a list of names; fix it.")
            continue
        if key == "date" and hasattr(value, "isoformat"):
            fields[key] = value.isoformat()  # YAML reads 2026-01-02 as a date
            continue
        if not isinstance(value, str) or not value.strip():
            raise RmevalError(f"{path}: '{where}.{key}' must be a non-empty string; fix it.")
        if key == "link" and not _LINK.fullmatch(value):
            raise RmevalError(
                f"{path}: '{where}.link' must be an http:// or https:// address, not {value!r}."
            )


def merge_metadata(base: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    """The board's metadata with the user's models and task fields laid over it."""
    out = dict(base)
    tasks = {k: dict(v or {}) for k, v in (base.get("tasks") or {}).items()}
    for name, fields in (user.get("tasks") or {}).items():
        tasks.setdefault(name, {}).update(fields)
    out["tasks"] = tasks
    out["models"] = {**(base.get("models") or {}), **(user.get("models") or {})}
    return out


def model_meta(meta: dict[str, Any], slug: str) -> dict[str, Any]:
    """The metadata file's fields for one model slug (empty without any)."""
    return dict((meta.get("models") or {}).get(slug) or {})


def variant_labels(datasets: dict[str, Any]) -> dict[str, str]:
    """``task key -> label`` for split tasks (``task@hash``): the dataset's file name, plus the
    short hash where two variants of one task share a file name."""
    names = {key: short_path(path) for key, path in datasets.items() if "@" in key}
    out = {}
    for key, name in names.items():
        task, _, short = key.partition("@")
        clash = sum(k.partition("@")[0] == task and n == name for k, n in names.items()) > 1
        out[key] = f"{name}, {short}" if clash else name
    return out
