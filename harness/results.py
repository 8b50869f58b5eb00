"""Result files: ``<out>/<model-slug>/<task>.json`` and ``.samples.jsonl``, written atomically."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from harness.errors import RmevalError
from harness.records import ExampleResult

SCHEMA_VERSION = 1
_SLUG_BAD = re.compile(r"[^A-Za-z0-9._-]+")


def model_slug(spec: str) -> str:
    """A folder name for a model spec that cannot escape the output folder.

    ``hf:./runs/../my-rm`` -> ``hf__runs_.._my-rm`` is not allowed to stay ``..``: every run of
    characters outside ``[A-Za-z0-9._-]`` becomes ``_``, leading dots are dropped, and the result
    is never empty, ``.`` or ``..``.
    """
    slug = _SLUG_BAD.sub("_", spec).strip("_")
    slug = re.sub(r"\.{2,}", "_", slug).lstrip(".")
    return slug[:120] or "model"


def result_dir(output_dir: str | Path, spec: str) -> Path:
    """The model's result folder, checked to lie inside ``output_dir``."""
    root = Path(output_dir).resolve()
    folder = (root / model_slug(spec)).resolve()
    if root != folder.parent:
        raise RmevalError(f"model spec '{spec}' maps outside {root}; rename the model.")
    return folder


@cache
def git_commit() -> str | None:
    """The harness checkout's commit, when it is a git checkout (asked once per process)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _strict(obj: Any) -> Any:
    """Replace non-finite floats with None so the JSON stays strict."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strict(v) for v in obj]
    return obj


def atomic_write(path: Path, lines: Iterable[str]) -> None:
    """Write text to a temp file in the same folder, fsync, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for line in lines:
                fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dumps(obj: Any) -> str:
    """Strict JSON (raises on NaN/inf that slipped through ``_strict``)."""
    return json.dumps(_strict(obj), ensure_ascii=False, allow_nan=False, indent=1, sort_keys=False)


def write_result(
    folder: Path, task_name: str, result: dict[str, Any], samples: Sequence[ExampleResult]
) -> tuple[Path, Path]:
    """Write samples first, then the result file, both atomically; return their paths."""
    safe = model_slug(task_name)
    samples_path = folder / f"{safe}.samples.jsonl"
    result_path = folder / f"{safe}.json"
    atomic_write(
        samples_path,
        (
            json.dumps(_strict(s.to_dict()), ensure_ascii=False, allow_nan=False) + "\n"
            for s in samples
        ),
    )
    atomic_write(result_path, [dumps(result) + "\n"])
    return result_path, samples_path
