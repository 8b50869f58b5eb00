"""Result files: ``<out>/<model-folder>/<task>.json`` and ``.samples.jsonl``, written atomically.

A result's identity is (model fingerprint, task, dataset sha256); it is stored in the file and
decides whether a rerun may replace it. The result records the sha256 of its samples file, so a
reader can tell a matching pair from one left half-replaced by a kill.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from rmeval.harness.errors import RmevalError
from rmeval.harness.records import ExampleResult
from rmeval.harness.result import (  # noqa: F401 (SCHEMA_VERSION, READABLE_SCHEMAS: public here too)
    READABLE_SCHEMAS,
    SCHEMA_VERSION,
    STATUS_COMPLETE,
    Result,
)
from rmeval.harness.staged_file import StagedFile, atomic_write

MAX_SLUG = 100
"""Longest readable part of a folder name (a hash is added when the name is cut)."""
SHORT_HASH = 8
_SLUG_BAD = re.compile(r"[^A-Za-z0-9._-]+")
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_TYPE = re.compile(r"[a-z0-9-]+")
_RERUN = "rerun the same `rmeval run` command to rewrite it"


def model_slug(spec: str) -> str:
    """A file or folder name that cannot escape its folder (lossy: see :func:`folder_name`).

    Every run of characters outside ``[A-Za-z0-9._-]`` becomes ``_``, runs of dots become ``_``,
    leading dots are dropped, and the result is never empty, ``.`` or ``..``.
    """
    slug = _SLUG_BAD.sub("_", spec).strip("_")
    slug = re.sub(r"\.{2,}", "_", slug).lstrip(".")
    return slug[:120] or "model"


def exact_spec(spec: str) -> str:
    """The spec with a local model path made absolute (``hf:./final`` differs by directory)."""
    kind, sep, ident = spec.partition(":")
    if not sep or not ident:
        return spec
    path = Path(ident).expanduser()
    if ident.startswith(("/", "./", "../", "~")) or path.exists():
        return f"{kind}:{os.path.abspath(path)}"  # symlinks kept: two paths, two specs
    return spec


def _readable(label: str) -> str | None:
    """``label`` as a folder name when it maps to one without loss, else None."""
    kind, sep, ident = label.partition(":")
    if not sep:
        return label if _PLAIN.fullmatch(label) else None
    return f"{kind}_{ident}" if _TYPE.fullmatch(kind) and _PLAIN.fullmatch(ident) else None


def folder_name(label: str, spec: str | None = None) -> str:
    """The result folder name of a run label (a model spec, maybe with an args hash, or --name).

    It stays readable when the label maps to it without loss (``length``, ``embed:all-MiniLM-L6-v2``
    -> ``embed_all-MiniLM-L6-v2``); otherwise (characters replaced, name cut, or a local path,
    whose meaning depends on the directory) it gets ``-<8 hex>`` of the exact label, so two
    models never share a folder. ``spec`` is the model spec the label starts with, if any.
    """
    readable = _readable(label)
    exact = label
    if spec and label.startswith(spec) and exact_spec(spec) != spec:
        exact, readable = exact_spec(spec) + label[len(spec) :], None
    if readable is not None and len(readable) <= MAX_SLUG:
        return readable
    digest = hashlib.sha256(exact.encode("utf-8")).hexdigest()[:SHORT_HASH]
    return f"{model_slug(label)[:MAX_SLUG].rstrip('._-') or 'model'}-{digest}"


def result_dir(output_dir: str | Path, label: str, spec: str | None = None) -> Path:
    """The run's result folder (see :func:`folder_name`), checked to lie inside ``output_dir``."""
    root = Path(output_dir).resolve()
    folder = (root / folder_name(label, spec)).resolve()
    if root != folder.parent:
        raise RmevalError(f"model '{label}' maps outside {root}; pass --name NAME.")
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


def dumps(obj: Any) -> str:
    """Strict JSON (raises on NaN/inf that slipped through ``_strict``)."""
    return json.dumps(_strict(obj), ensure_ascii=False, allow_nan=False, indent=1, sort_keys=False)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def identity(result: dict[str, Any]) -> dict[str, Any]:
    """(model fingerprint, task, dataset sha256) of a result record (older files included)."""
    if isinstance(result.get("identity"), dict):
        return result["identity"]
    model, task = result.get("model") or {}, result.get("task") or {}
    return {
        "model_fingerprint": model.get("fingerprint"),
        "task": task.get("name"),
        "dataset_sha256": (task.get("dataset") or {}).get("sha256"),
    }


def task_file_stem(task_name: str) -> str:
    """The file name stem of a task's result and samples files."""
    return model_slug(task_name)


def check_identity(folder: Path, record: dict[str, Any], label: str) -> None:
    """Refuse to overwrite ``folder/<task>.json`` when it holds a result of another identity."""
    path = folder / f"{task_file_stem(record['task'])}.json"
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except (OSError, UnicodeDecodeError, ValueError):
        old = None
    if isinstance(old, dict) and identity(old) == record:
        return
    what = _difference(old, record)
    raise RmevalError(
        f"{path} already holds a result of {what}; to keep both, pass --name NAME (a new folder "
        f"for '{label}') or --output-dir DIR, or delete that file to replace it."
    )


def _difference(old: Any, new: dict[str, Any]) -> str:
    if not isinstance(old, dict):
        return "unknown identity (it is not a readable result file)"
    ident = identity(old)
    if ident.get("model_fingerprint") != new["model_fingerprint"]:
        spec = (old.get("model") or {}).get("spec")
        return f"another model ({spec!r}, fingerprint {str(ident.get('model_fingerprint'))[:12]})"
    if ident.get("dataset_sha256") != new["dataset_sha256"]:
        return f"other data (dataset sha256 {str(ident.get('dataset_sha256'))[:12]})"
    return f"another task ({ident.get('task')!r})"


def write_result(
    folder: Path, task_name: str, result: dict[str, Any], samples: Sequence[ExampleResult]
) -> tuple[Path, Path]:
    """Write samples first, then the result file (with the samples' sha256), both atomically;
    return their paths. A kill between the two leaves a pair that :func:`check_result` refuses."""
    safe = task_file_stem(task_name)
    samples_path = folder / f"{safe}.samples.jsonl"
    result_path = folder / f"{safe}.json"
    record = _write_samples(samples_path, samples)
    atomic_write(result_path, [dumps({**result, "samples": record}) + "\n"])
    return result_path, samples_path


def _write_samples(samples_path: Path, samples: Sequence[ExampleResult]) -> dict[str, Any]:
    """Write the samples file atomically; return its ``samples`` record."""
    with StagedFile(samples_path) as staged:
        for s in samples:
            staged.write(sample_line(s))
        staged.commit()
    return staged_record(staged)


def staged_record(staged: StagedFile) -> dict[str, Any]:
    """The result file's ``samples`` block of a committed samples file."""
    return {"path": staged.path.name, "sha256": staged.sha256, "lines": staged.lines}


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
"""``json.dumps(..., ensure_ascii=False, allow_nan=False)``, built once instead of per line."""
_quote = json.encoder.encode_basestring
"""How that encoder writes a string (``ensure_ascii=False``)."""


def sample_line(sample: ExampleResult) -> str:
    """One samples-file line, strict JSON; the tree is walked for non-finite floats only when
    the plain encoding meets one (a task's ``extra`` may hold NaN), as walking every line
    costs more than encoding it."""
    line = _plain_line(sample)
    if line is not None:
        return line
    d = sample.to_dict()
    try:
        return _ENCODER.encode(d) + "\n"
    except ValueError:
        return _ENCODER.encode(_strict(d)) + "\n"


def _plain_line(r: ExampleResult) -> str | None:
    """The line ``_ENCODER`` writes for ``r.to_dict()``, byte for byte, built directly when
    every field has its plain type (strings, finite floats, ``True``/``False``, no ``extra``);
    None otherwise. The encoder writes a str (subclass) with ``_quote`` and a float (subclass)
    with ``float.__repr__``: both raise TypeError on anything else."""
    flags = [_JSON_BOOL.get(id(f)) for f in (r.tie, r.invalid, r.truncated)]
    if r.extra or None in flags or not isinstance(r.text_hashes, list | tuple):
        return None
    if not isinstance(r.scores, list | tuple):  # read twice below (an array: the encoder)
        return None
    credit = r.credit
    try:
        for v in r.scores:
            if not math.isfinite(v):
                return None
        scores = ", ".join(map(float.__repr__, r.scores))
        if credit is None:
            credit_text = "null"
        elif math.isfinite(credit):
            credit_text = float.__repr__(credit)
        else:
            return None
        return (
            f'{{"id": {_quote(r.id)}, "subset": {_quote(r.subset)}, "scores": [{scores}], '
            f'"credit": {credit_text}, "tie": {flags[0]}, "invalid": {flags[1]}, '
            f'"truncated": {flags[2]}, "text_hashes": [{", ".join(map(_quote, r.text_hashes))}]}}\n'
        )
    except TypeError:  # not a str or float where one is expected: the encoder decides
        return None


_JSON_BOOL = {id(True): "true", id(False): "false"}
"""By identity: 1, 0 or numpy's bools are not ``True``/``False`` to the encoder."""


def samples_path(folder: Path, task_name: str) -> Path:
    """Where a task's samples file lies in a result folder."""
    return folder / f"{task_file_stem(task_name)}.samples.jsonl"


def write(result: Result, samples: Sequence[ExampleResult] | StagedFile, folder: Path) -> Result:
    """Write ``folder/<task>.samples.jsonl`` then ``folder/<task>.json`` (both atomically, as
    :func:`write_result`); return the record with its ``samples`` block and ``path`` set.
    ``samples`` may be a :class:`StagedFile` of them written already (a streamed run): it is
    committed here."""
    result_path = folder / f"{task_file_stem(result.task_name)}.json"
    if isinstance(samples, StagedFile):
        samples.commit()
        record = staged_record(samples)
    else:
        record = _write_samples(samples_path(folder, result.task_name), samples)
    written = replace(result, samples=record)
    atomic_write(result_path, [dumps(written.to_dict()) + "\n"])
    written.path = result_path
    return written


def read_result(path: Path) -> Result:
    """Read and verify a result file (see :func:`check_result`); one RmevalError sentence when it
    is not strict JSON, not a result of a readable schema, unfinished or half-written."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RmevalError(f"{path}: cannot read it as strict JSON ({exc}); {_RERUN}.") from exc
    result = Result.from_dict(data, path)
    check_result(path, result)
    return result


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-standard JSON constant {name}")


def check_result(result_path: Path, data: dict[str, Any] | Result) -> Path:
    """Verify a loaded result: readable schema, status complete, and the samples file beside it
    with the recorded sha256. Returns the samples path; raises a one-sentence RmevalError."""
    result = data if isinstance(data, Result) else Result.from_dict(data, result_path)
    if result.status != STATUS_COMPLETE:
        raise RmevalError(f"{result_path}: status is {result.status!r}, not 'complete'; {_RERUN}.")
    record = result.samples
    name = record.get("path") if isinstance(record, dict) else None
    if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
        raise RmevalError(f"{result_path}: no valid samples record (path, sha256); {_RERUN}.")
    samples_path = result_path.parent / name
    try:
        actual = file_sha256(samples_path)
    except FileNotFoundError as exc:
        raise RmevalError(
            f"{result_path}: its samples file {samples_path} is missing; {_RERUN}."
        ) from exc
    except OSError as exc:
        raise RmevalError(
            f"{result_path}: cannot read its samples file {samples_path} ({exc.strerror}); "
            "fix its permissions."
        ) from exc
    if actual != record.get("sha256"):
        raise RmevalError(
            f"{result_path}: its samples file {samples_path} does not match the sha256 recorded "
            f"in it (the pair was left half-written, e.g. by a kill); {_RERUN}."
        )
    return samples_path
