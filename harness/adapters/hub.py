"""Loading Hugging Face checkpoints safely: local folder or hub id, provenance, device, dtype."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from rmeval.harness.adapters.checkpoint_files import loaded_files
from rmeval.harness.errors import RmevalError

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt")
_DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
}


def is_local(model_id: str) -> bool:
    """True for a path (existing or clearly meant as one), False for a hub id ``org/name``."""
    return model_id.startswith((".", "/", "~")) or Path(model_id).expanduser().exists()


_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_HASH_NAMESPACE = "file-sha256/v1"


class BlobStore(Protocol):
    """Where file hashes are remembered between runs (the score cache's ``blobs`` table)."""

    def get_blob(self, namespace: str, key: str) -> str | None: ...

    def put_blob(self, namespace: str, key: str, value: str) -> None: ...


_hash_store: ContextVar[BlobStore | None] = ContextVar("rmeval_hash_store", default=None)


@contextmanager
def remembered_hashes(store: BlobStore | None) -> Iterator[None]:
    """Within the block, checkpoint file hashes are looked up in and saved to ``store``, so a
    second run of the same checkpoint does not re-read its weights."""
    token = _hash_store.set(store)
    try:
        yield
    finally:
        _hash_store.reset(token)


def _stat_key(path: Path) -> str:
    """What identifies one version of a file without reading it: replacing the file (even
    with ``cp -p``, which copies size and mtime) changes its inode or ctime."""
    st = path.stat()
    ident = [str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]
    return json.dumps(ident)


@cache
def _read_sha256(path: str, stat_key: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of a file, read once per version of the file (see :func:`remembered_hashes`)."""
    key = _stat_key(path)
    store = _hash_store.get()
    known = store.get_blob(_HASH_NAMESPACE, key) if store is not None else None
    if known is not None:
        return json.loads(known)
    digest = _read_sha256(str(path), key)
    if store is not None:
        store.put_blob(_HASH_NAMESPACE, key, json.dumps(digest))
    return digest


def folder_hashes(folder: Path) -> dict[str, str]:
    """sha256 of each file of a checkpoint folder that the model loads (config, weights,
    tokenizer, templates; see :mod:`~rmeval.harness.adapters.checkpoint_files`), by name."""
    return {str(p.relative_to(folder)): file_sha256(p) for p in loaded_files(folder)}


def check_local_checkpoint(
    model_id: str, *, allow_unsafe_weights: bool, trust_remote_code: bool
) -> Path:
    """Resolve a local checkpoint folder and refuse pickled weights or remote code unless asked."""
    folder = Path(model_id).expanduser()
    if not folder.exists():
        raise RmevalError(f"{model_id}: no such model folder; check the --model path.")
    if not folder.is_dir() or not (folder / "config.json").exists():
        raise RmevalError(f"{model_id}: not a Hugging Face checkpoint folder (no config.json).")
    weights = [p for p in folder.iterdir() if p.name.endswith(_WEIGHT_SUFFIXES)]
    safe = [p for p in weights if p.name.endswith(".safetensors")]
    if weights and not safe and not allow_unsafe_weights:
        raise RmevalError(
            f"{model_id}: only pickled weights ({weights[0].name}); loading them can run code. "
            f"Convert to safetensors or pass --allow-unsafe-weights if you trust the source."
        )
    config = json.loads((folder / "config.json").read_text())
    if config.get("auto_map") and not trust_remote_code:
        raise RmevalError(
            f"{model_id}: config.json needs custom code (auto_map); pass --trust-remote-code "
            f"if you trust it."
        )
    return folder


def resolve_device(device: str | None) -> str:
    """``auto`` -> cuda, mps or cpu, whichever is available."""
    import torch

    if device in (None, "", "auto"):
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    return str(device)


def resolve_dtype(dtype: str | None, device: str) -> str:
    """Canonical dtype name; ``auto`` is bfloat16 on CUDA and float32 elsewhere."""
    if dtype in (None, "", "auto"):
        if device.startswith("cuda"):
            import torch

            return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        return "float32"
    if dtype not in _DTYPES:
        raise RmevalError(f"--dtype {dtype}: use one of float32, bfloat16, float16, auto.")
    return _DTYPES[dtype]


def sha256_or_none(text: str | None) -> str | None:
    """sha256 of a string, None for None (e.g. a tokenizer without a chat template)."""
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


def provenance(
    model_id: str, revision: str | None, *, allow_unsafe_weights: bool, trust_remote_code: bool
) -> dict[str, Any]:
    """Fingerprint fields that identify the weights: file hashes locally, id and resolved
    commit on the hub (a branch or tag such as ``main`` moves; its commit does not)."""
    if is_local(model_id):
        folder = check_local_checkpoint(
            model_id, allow_unsafe_weights=allow_unsafe_weights, trust_remote_code=trust_remote_code
        )
        return {"id": folder.name, "files": folder_hashes(folder), "revision": None}
    return {"id": model_id, "revision": resolve_commit(model_id, revision)}


def resolve_commit(model_id: str, revision: str | None) -> str:
    """The commit a hub revision (default ``main``) points to now: asked of the hub online,
    read from the local hub cache's ``refs`` offline. A full commit hash is returned as is."""
    if revision and _COMMIT.match(revision):
        return revision
    from huggingface_hub import HfApi, constants

    ref = revision or "main"
    if not constants.HF_HUB_OFFLINE:
        try:
            return str(HfApi().model_info(model_id, revision=ref).sha)
        except Exception as exc:
            raise hub_error(model_id, exc) from exc
    repo = Path(constants.HF_HUB_CACHE) / f"models--{model_id.replace('/', '--')}"
    refs = repo / "refs" / ref
    commit = refs.read_text().strip() if refs.is_file() else ""
    if not _COMMIT.match(commit):
        raise RmevalError(
            f"{model_id}: revision {ref} is not in the local Hugging Face cache ({repo}); "
            f"download it first or pass a local folder (--model hf:./path)."
        )
    return commit


def pretrained_kwargs(
    model_id: str, revision: str | None, *, allow_unsafe_weights: bool, trust_remote_code: bool
) -> dict[str, Any]:
    """Keyword arguments for ``from_pretrained`` that enforce the safety defaults."""
    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if not is_local(model_id):
        kwargs["revision"] = revision
    if not allow_unsafe_weights:
        kwargs["use_safetensors"] = True
    return kwargs


def hub_error(model_id: str, exc: BaseException) -> RmevalError:
    """One sentence for a failed hub load (offline machines see this for every hub id)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return RmevalError(
        f"{model_id}: could not load ({type(exc).__name__}: {first[:200]}). Offline, pass a "
        f"local folder (--model hf:./path) or pre-download it into the Hugging Face cache."
    )
