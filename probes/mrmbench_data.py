"""MRMBench data: ``{input, output, label}`` records per dimension, train and test splits.

Accepted local layouts (``--data mrmbench=DIR``), checked in this order for each dimension:

1. ``DIR/mrm_<difficulty>`` or ``DIR/data/mrm_<difficulty>`` (the MRMBench repository's layout):
   the folder for the task's ``difficulty`` (``mrm_easy`` or ``mrm_hard``) is used as DIR
   below, when present;
2. ``DIR/<dimension>/train.json`` and ``DIR/<dimension>/test.json`` (MRMBench's own layout;
   ``.jsonl`` also accepted);
3. ``DIR/<dimension>_train.jsonl`` and ``DIR/<dimension>_test.jsonl`` (``.json`` also accepted).

A ``.json`` file holds a JSON array of records, a ``.jsonl`` file one record per line. ``input``
becomes the prompt and ``output`` the response; ``label`` is an integer class (0, 1 or 0, 1, 2;
the highest label is taken as the dimension's "better" end). Without ``--data`` the hub dataset
``ifnoc/MRMBench`` is downloaded at ``HUB_REVISION`` (any ``owner/name`` hub id given with
``--data`` likewise) and read with the same rules.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from rmeval.harness.errors import DataError, RmevalError
from rmeval.harness.records import canonical_json

HUB_ID = "ifnoc/MRMBench"
HUB_REVISION: str | None = None
"""Commit of ``ifnoc/MRMBench`` to pin. None (= latest) until a commit is verified online:
this project's build machines cannot reach the Hub to resolve one."""
SPLITS = ("train", "test")
SUFFIXES = (".json", ".jsonl")


def resolve_root(root: Path, difficulty: str) -> Path:
    """``root/mrm_<difficulty>`` (also under ``root/data``) when present, else ``root``."""
    for base in (root, root / "data"):
        sub = base / f"mrm_{difficulty}"
        if sub.is_dir():
            return sub
    return root


def split_file(root: Path, dimension: str, split: str) -> Path | None:
    """The file holding one dimension's split under ``root`` (layouts 2 and 3), or None."""
    for suffix in SUFFIXES:
        for path in (root / dimension / f"{split}{suffix}", root / f"{dimension}_{split}{suffix}"):
            if path.is_file():
                return path
    return None


def read_records(path: Path) -> list[Any]:
    """Records of a ``.json`` array or a ``.jsonl`` file (errors name the file and line)."""
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RmevalError(f"{path}: invalid JSON at line {exc.lineno} ({exc.msg}).") from exc
        return list(data)
    records = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise RmevalError(
                    f"{path}:{lineno}: invalid JSON ({exc.msg}); fix this line."
                ) from exc
    return records


def to_rows(records: list[Any], path: Path, dimension: str, split: str) -> list[dict[str, Any]]:
    """Validated rows (id, dimension, split, prompt, response, label); DataError lists all bad ones."""
    rows, problems = [], []
    for i, rec in enumerate(records):
        where = f"{path.name} record {i}"
        if not isinstance(rec, dict):
            problems.append(f"{where}: not a JSON object")
            continue
        bad = [k for k in ("input", "output") if not isinstance(rec.get(k), str)]
        label = rec.get("label")
        if isinstance(label, str) and label.strip().lstrip("-").isdigit():
            label = int(label)
        if isinstance(label, bool) or not isinstance(label, int) or label < 0:
            bad.append("label")
        if bad:
            problems.append(f"{where}: missing or invalid {', '.join(bad)}")
            continue
        rows.append(
            {
                "id": f"{dimension}-{split}-{i:05d}",
                "dimension": dimension,
                "split": split,
                "prompt": rec["input"],
                "response": rec["output"],
                "label": label,
            }
        )
    if problems:
        raise DataError(str(path), problems)
    return rows


def sample(rows: list[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    """The first ``limit`` rows in a content-hash order (file order may be sorted by label)."""
    if limit is None or limit >= len(rows):
        return rows

    def key(row: dict[str, Any]) -> str:
        return hashlib.sha256(
            canonical_json([row["prompt"], row["response"], row["label"]]).encode()
        ).hexdigest()

    chosen = {row["id"] for row in sorted(rows, key=key)[:limit]}
    return [row for row in rows if row["id"] in chosen]


def load_local(
    source: str, dimensions: tuple[str, ...], difficulty: str, limit: int | None
) -> list[dict[str, Any]]:
    """Rows of every dimension and split from a local folder (see the module docstring)."""
    given = Path(source).expanduser()
    if not given.is_dir():
        raise RmevalError(
            f"--data mrmbench={source}: not a folder; pass the folder holding the MRMBench files."
        )
    root = resolve_root(given, difficulty)
    rows: list[dict[str, Any]] = []
    for dim in dimensions:
        for split in SPLITS:
            path = split_file(root, dim, split)
            if path is None:
                raise RmevalError(
                    f"--data mrmbench={source}: no {split} file for '{dim}'; expected "
                    f"{root / dim / (split + '.json')} or {root / f'{dim}_{split}.jsonl'}."
                )
            rows.extend(sample(to_rows(read_records(path), path, dim, split), limit))
    return rows


def looks_like_hub_id(source: str) -> bool:
    """``owner/name`` that is not an existing local path."""
    return (
        source.count("/") == 1
        and not source.startswith((".", "/", "~"))
        and not Path(source).expanduser().exists()
    )


def download(repo_id: str, revision: str | None, difficulty: str) -> str:
    """Local snapshot folder of a hub dataset repository (json files only)."""
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(
            repo_id,
            repo_type="dataset",
            revision=revision,
            allow_patterns=["*.json", "*.jsonl", "**/*.json", "**/*.jsonl"],
        )
    except Exception as exc:
        raise RmevalError(
            f"could not download {repo_id} (revision {revision or 'latest'}): {type(exc).__name__}. "
            f"Without network access, pass a local copy with --data mrmbench=DIR "
            f"(MRMBench's data/mrm_{difficulty} folder)."
        ) from exc
