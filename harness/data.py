"""Row loading through `datasets`: a hub id at a pinned revision, or a local file or folder."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import RmevalError
from harness.records import canonical_json

_BUILDERS = {
    ".json": "json",
    ".jsonl": "json",
    ".json.gz": "json",
    ".jsonl.gz": "json",
    ".parquet": "parquet",
    ".csv": "csv",
}


@dataclass(frozen=True)
class DatasetInfo:
    """Provenance of the rows a task used (written into the result file)."""

    path: str
    revision: str | None
    split: str | None
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "revision": self.revision,
            "split": self.split,
            "sha256": self.sha256,
        }


def rows_sha256(rows: list[dict[str, Any]]) -> str:
    """Hash of the rows used, independent of file format and key order."""
    h = hashlib.sha256()
    for row in rows:
        h.update(canonical_json(row).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def _builder_for(path: Path) -> str:
    name = path.name.lower()
    for suffix, builder in sorted(_BUILDERS.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return builder
    raise RmevalError(f"{path}: unknown file type; use .json, .jsonl, .jsonl.gz, .parquet or .csv.")


def _looks_local(source: str) -> bool:
    return source.startswith((".", "/", "~")) or Path(source).expanduser().exists()


def _local_files(path: Path, split: str | None) -> list[Path]:
    if path.is_file():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if split:
        named = [p for p in files if p.name.split(".")[0] == split]
        if named:
            return named
    data = [p for p in files if any(p.name.lower().endswith(s) for s in _BUILDERS)]
    if not data:
        raise RmevalError(f"{path}: no .json, .jsonl, .parquet or .csv files in this folder.")
    return data


def load_rows(
    source: str,
    *,
    revision: str | None = None,
    split: str | None = "train",
    name: str | None = None,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], DatasetInfo]:
    """Load rows from a local file/folder or a hub dataset id; return rows and provenance.

    Local files are read with the matching `datasets` builder (json, parquet, csv); a hub id is
    loaded with ``datasets.load_dataset(source, name, split=split, revision=revision)``.
    """
    import datasets

    datasets.disable_progress_bars()
    if _looks_local(source):
        path = Path(source).expanduser()
        if not path.exists():
            raise RmevalError(f"{source}: no such file or folder; check the --data path.")
        files = _local_files(path, split)
        builders = {_builder_for(p) for p in files}
        if len(builders) > 1:
            raise RmevalError(f"{source}: mixed file types in one folder; keep one format.")
        builder = builders.pop()
        try:
            ds = datasets.load_dataset(builder, data_files=[str(p) for p in files], split="train")
        except Exception as exc:  # datasets raises many types for malformed files
            if builder != "json":
                raise RmevalError(f"{source}: could not be read ({_first_line(exc)}).") from exc
            # Arrow needs one type per column; stdlib JSON keeps mixed-type rows so that
            # validation can name the offending row instead of failing on the whole file.
            rows = _read_json_rows(files)[:limit]
            return rows, DatasetInfo(str(path), None, None, rows_sha256(rows))
        info_path, info_rev, info_split = str(path), None, None
    else:
        try:
            ds = datasets.load_dataset(source, name, split=split, revision=revision)
        except Exception as exc:
            raise RmevalError(
                f"{source}: could not load this hub dataset (revision {revision or 'latest'}, "
                f"split {split}): {_first_line(exc)}. Without network access, pass a local copy "
                f"with --data TASK=PATH."
            ) from exc
        info_path, info_rev, info_split = source, revision, split
    if limit is not None:
        ds = ds.select(range(min(limit, len(ds))))
    rows = ds.to_list()
    return rows, DatasetInfo(info_path, info_rev, info_split, rows_sha256(rows))


def _read_json_rows(files: list[Path]) -> list[dict[str, Any]]:
    """Rows of JSON/JSONL files read with the stdlib; errors name the file and line."""
    import gzip
    import json

    rows: list[dict[str, Any]] = []
    for path in files:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as fh:
            text = fh.read()
        stripped = text.lstrip()
        if stripped.startswith("["):
            try:
                rows.extend(json.loads(text))
            except json.JSONDecodeError as exc:
                raise RmevalError(
                    f"{path}: invalid JSON at line {exc.lineno} ({exc.msg})."
                ) from exc
            continue
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RmevalError(
                    f"{path}:{lineno}: invalid JSON ({exc.msg}); fix this line."
                ) from exc
            if not isinstance(row, dict):
                raise RmevalError(f"{path}:{lineno}: each line must be a JSON object.")
            rows.append(row)
    return rows


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
