"""Reward-model head layouts that ``AutoModelForSequenceClassification`` does not load, each
recognised from the checkpoint's config and state-dict keys (never from its name).

Built in, tried in this order:

- ``scoring_method`` (InternLM2-reward style): ``auto_map`` maps ``AutoModel`` to remote code
  whose model has a ``get_scores(tokenizer, conversations)`` method; rewards are what it
  returns for each request's conversation;
- ``output_object`` (ArmoRM style): a remote-code classifier (``auto_map`` maps
  ``AutoModelForSequenceClassification``) with a ``regression_layer`` whose output object
  holds ``score`` and per-objective ``rewards``; the score is the reward, the objectives are
  its attributes;
- ``value_head`` (Starling / UltraRM style): a causal-LM backbone and a linear ``v_head`` or
  ``regression_head`` on the last hidden state, read at the last real token.

Remote code runs only with ``--trust-remote-code``. A package adds a layout through the
``rmeval.head_layouts`` entry-point group (a :class:`HeadLayout`, tried before the built-ins)
or by calling :func:`register`; :func:`rmeval.harness.adapters.head_loaders.find` picks the
layout of a checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmeval.harness.adapters import hub
from rmeval.harness.errors import RmevalError

if TYPE_CHECKING:
    from rmeval.harness.adapters.pretrained import Checkpoint


@dataclass(frozen=True)
class Files:
    """What a layout is recognised from: ``config.json`` and the weights' key shapes."""

    config: dict[str, Any]
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    """Shape of every weight in the checkpoint's safetensors files, by key."""

    def auto_map(self, auto_class: str) -> str | None:
        """The remote class ``config.json``'s ``auto_map`` gives for ``auto_class``."""
        value = (self.config.get("auto_map") or {}).get(auto_class)
        return value[0] if isinstance(value, list) else value


Loader = Callable[["Checkpoint", str, str], Any]
"""Loads the model as ``(checkpoint, dtype, device)``: a module whose call on padded
inputs returns an object with ``logits`` [batch, labels]."""


@dataclass(frozen=True)
class HeadLayout:
    """One recognised layout: how to spot it and how to load it."""

    name: str
    detect: Callable[[Files], bool]
    load: Loader
    labels: Callable[[Files, Any], list[str]] | None = None
    """Label names from (files, config); None: the config's own (``id2label``)."""
    reduce: str | None = None
    """The label that is the reward when ``reduce=`` is not given (None: ``reduce``'s default)."""
    conversations: bool = False
    """The model scores chat conversations itself (inputs carry ``conversations``)."""


_REGISTERED: list[HeadLayout] = []


def register(layout: HeadLayout) -> HeadLayout:
    """Add ``layout`` (tried before those registered earlier and the built-ins)."""
    _REGISTERED.insert(0, layout)
    return layout


def registered() -> list[HeadLayout]:
    """Layouts added by :func:`register` and the ``rmeval.head_layouts`` entry points, in the
    order they are tried (before the built-ins)."""
    return [*_REGISTERED, *_entry_point_layouts()]


@cache
def _entry_point_layouts() -> tuple[HeadLayout, ...]:
    from importlib.metadata import entry_points

    found = []
    for ep in entry_points(group="rmeval.head_layouts"):
        try:
            layout = ep.load()
        except Exception as exc:
            raise RmevalError(f"head layout plugin '{ep.name}' failed to import: {exc}") from exc
        if not isinstance(layout, HeadLayout):
            raise RmevalError(f"head layout plugin '{ep.name}' is not a HeadLayout.")
        found.append(layout)
    return tuple(found)


def files_of(checkpoint: Checkpoint) -> Files | None:
    """The config and weight shapes of a checkpoint whose ``config.json`` does not name a
    plain sequence classifier (None for such a classifier, or where no config is found)."""
    config = _config_json(checkpoint)
    if config is None or _plain_classifier(config):
        return None
    folder = local_folder(checkpoint)
    return None if folder is None else Files(config, weight_shapes(folder))


def _plain_classifier(config: dict[str, Any]) -> bool:
    """``config.json`` names a transformers ``*ForSequenceClassification`` and no remote code."""
    names = config.get("architectures") or []
    return not config.get("auto_map") and any(
        str(n).endswith("ForSequenceClassification") for n in names
    )


def _config_json(checkpoint: Checkpoint) -> dict[str, Any] | None:
    if not checkpoint.model_id:
        return None
    if hub.is_local(checkpoint.model_id):
        path = Path(checkpoint.model_id).expanduser() / (checkpoint.subfolder or "") / "config.json"
    else:
        try:
            from huggingface_hub import hf_hub_download

            path = Path(
                hf_hub_download(
                    checkpoint.model_id,
                    "config.json",
                    subfolder=checkpoint.subfolder,
                    revision=checkpoint.revision,
                )
            )
        except Exception:  # not on the hub or not cached offline: from_pretrained says so
            return None
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def local_folder(checkpoint: Checkpoint) -> Path | None:
    """The folder holding the checkpoint's files: the local folder, or the hub snapshot (its
    config, code and safetensors weights fetched at the resolved commit)."""
    if hub.is_local(checkpoint.model_id):
        return Path(checkpoint.model_id).expanduser() / (checkpoint.subfolder or "")
    try:
        from huggingface_hub import snapshot_download

        root = snapshot_download(
            checkpoint.model_id,
            revision=checkpoint.revision,
            allow_patterns=["*.json", "*.py", "*.safetensors"],
        )
    except Exception:
        return None
    return Path(root) / (checkpoint.subfolder or "")


def weight_shapes(folder: Path) -> dict[str, tuple[int, ...]]:
    """Key -> shape of every tensor in the folder's safetensors files (headers only)."""
    from safetensors import safe_open

    shapes: dict[str, tuple[int, ...]] = {}
    for path in sorted(folder.glob("*.safetensors")):
        with safe_open(str(path), "pt") as f:
            shapes |= {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118 (not iterable)
    return shapes
