"""Loading Hugging Face checkpoints safely: local folder or hub id, provenance, device, dtype."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from harness.errors import RmevalError

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


@cache
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def folder_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file in a checkpoint folder (weights, config, tokenizer), by name."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts):
            st = p.stat()
            out[str(p.relative_to(folder))] = _file_sha256(str(p), st.st_size, st.st_mtime_ns)
    return out


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
    """Fingerprint fields that identify the weights: file hashes locally, id@revision on the hub."""
    if is_local(model_id):
        folder = check_local_checkpoint(
            model_id, allow_unsafe_weights=allow_unsafe_weights, trust_remote_code=trust_remote_code
        )
        return {"id": folder.name, "files": folder_hashes(folder), "revision": None}
    return {"id": model_id, "revision": revision or "main"}


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
