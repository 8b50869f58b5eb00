"""PEFT adapters as reward models: a LoRA folder (``adapter_config.json``, no ``config.json``)
loaded on its base model, the score head saved with the adapter (``modules_to_save``) included.

The base is the adapter config's ``base_model_name_or_path`` unless ``--model-args base=``
names another; the fingerprint holds the adapter's file hashes and the base's provenance.
``merge=true`` folds the adapter into the base weights (faster; equal up to rounding).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rmeval.harness.adapters import hub
from rmeval.harness.errors import RmevalError

ADAPTER_CONFIG = "adapter_config.json"
_PREFIX = "base_model.model."
"""Where PEFT saves the wrapped model's own weights (the head of ``modules_to_save``)."""


def is_adapter(where: str) -> bool:
    """Whether ``where`` is a local PEFT adapter folder (an adapter config, no model config)."""
    folder = Path(where).expanduser()
    return (
        hub.is_local(where)
        and (folder / ADAPTER_CONFIG).is_file()
        and not (folder / "config.json").is_file()
    )


def locate(
    where: str, revision: str | None, option: Callable[[str], Any], safety: dict[str, bool]
) -> tuple[Adapter | None, dict[str, Any]]:
    """The adapter at ``where`` (None for a full checkpoint) and the fingerprint's provenance
    (an adapter's: its files plus its base's, at ``revision`` or the adapter config's)."""
    if not is_adapter(where):
        return None, hub.provenance(where, revision, **safety)
    merge = bool(option("merge"))
    adapter = Adapter.of(where, option("base"), merge, safety["allow_unsafe_weights"])
    base_revision = revision or adapter.config.get("revision")
    return adapter, adapter.provenance(hub.provenance(adapter.base, base_revision, **safety))


@dataclass(frozen=True)
class Adapter:
    """A PEFT adapter folder and the base model it applies to."""

    folder: Path
    config: dict[str, Any]
    """``adapter_config.json``."""
    base: str
    """The base model: ``base=``, else the adapter config's ``base_model_name_or_path``."""
    merge: bool
    """``merge=true``: merge the adapter into the base weights after loading."""

    @classmethod
    def of(cls, where: str, base: str | None, merge: bool, allow_unsafe: bool) -> Adapter:
        """The adapter at ``where``; refuses pickled adapter weights unless allowed."""
        folder = Path(where).expanduser()
        try:
            config = json.loads((folder / ADAPTER_CONFIG).read_text(encoding="utf-8"))
        except ValueError as exc:
            raise RmevalError(f"{folder / ADAPTER_CONFIG}: not valid JSON ({exc}).") from exc
        named = base or config.get("base_model_name_or_path")
        if not named:
            raise RmevalError(
                f"{where}: {ADAPTER_CONFIG} names no base model; pass --model-args base=PATH."
            )
        if not (folder / "adapter_model.safetensors").is_file() and not allow_unsafe:
            raise RmevalError(
                f"{where}: no adapter_model.safetensors (pickled adapter weights can run code); "
                f"convert it or pass --allow-unsafe-weights if you trust the source."
            )
        if base is None and hub.is_local(named) and not Path(named).expanduser().exists():
            raise RmevalError(
                f"{where}: its base model {named} ({ADAPTER_CONFIG} base_model_name_or_path) "
                f"does not exist here; pass --model-args base=PATH_OR_HUB_ID."
            )
        return cls(folder, config, str(named), merge)

    def provenance(self, base: dict[str, Any]) -> dict[str, Any]:
        """Fingerprint fields: the adapter's files and ``base``, the base's provenance."""
        return {
            "id": self.folder.name,
            "files": hub.folder_hashes(self.folder),
            "revision": None,
            "base": base,
        }

    def config_kwargs(self, base_kwargs: dict[str, Any]) -> dict[str, Any]:
        """``AutoConfig.from_pretrained`` keywords of the base, ``num_labels`` from the head."""
        kwargs = {k: v for k, v in base_kwargs.items() if k != "use_safetensors"}
        n = self.num_labels()
        return kwargs | ({"num_labels": n} if n else {})

    def tokenizer_source(
        self, own_kwargs: dict[str, Any], base_kwargs: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """Where the tokenizer loads from: the adapter folder when it holds one, else the base."""
        own = (self.folder / "tokenizer_config.json").is_file()
        where, kwargs = (str(self.folder), own_kwargs) if own else (self.base, base_kwargs)
        return where, {k: v for k, v in kwargs.items() if k != "use_safetensors"}

    def head_keys(self) -> dict[str, Any]:
        """Shapes of the adapter's own copies of base weights (``modules_to_save``), by the
        base model's key (``score.weight``)."""
        from safetensors import safe_open

        path = self.folder / "adapter_model.safetensors"
        if not path.is_file():
            import torch

            weights = torch.load(self.folder / "adapter_model.bin", weights_only=True)
            return {k[len(_PREFIX) :]: v.shape for k, v in weights.items() if _is_own(k)}
        with safe_open(str(path), "pt") as f:
            return {k[len(_PREFIX) :]: f.get_slice(k).get_shape() for k in f.keys() if _is_own(k)}  # noqa: SIM118

    def num_labels(self) -> int | None:
        """Rows of the saved score head (None when the adapter saves none)."""
        shapes = self.head_keys()
        for key in ("score.weight", "classifier.weight", "classifier.out_proj.weight"):
            if key in shapes:
                return int(shapes[key][0])
        return None

    def apply(self, model: Any, missing: list[str]) -> Any:
        """``model`` (the base classifier, whose ``missing`` weights were newly initialised)
        with the adapter applied (merged when asked), in eval mode."""
        from peft import PeftModel

        saved = self.head_keys()
        random = [k for k in missing if k not in saved]
        if random:
            raise RmevalError(
                f"{self.folder}: the adapter does not save {', '.join(random[:3])} (its "
                f"modules_to_save), so the score head would be random; save the adapter with "
                f"modules_to_save=['score']."
            )
        peft = PeftModel.from_pretrained(model, str(self.folder), is_trainable=False)
        merged = peft.merge_and_unload() if self.merge else peft.get_base_model()
        return merged.eval()


def _is_own(key: str) -> bool:
    """A key of a base weight the adapter saves a full copy of (not a LoRA factor)."""
    return key.startswith(_PREFIX) and ".lora_" not in key
