"""The built-in head layouts (see :mod:`~rmeval.harness.adapters.head_layouts`) and the choice
of a checkpoint's layout. Each loaded model is a module whose call on padded inputs returns an
object with ``logits`` [batch, labels] (and ``hidden_states`` where the model has them).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, cached_property
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from rmeval.harness.adapters import head_layouts
from rmeval.harness.adapters.base import Encoded
from rmeval.harness.adapters.head_layouts import Files, HeadLayout
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import ScoreRequest

if TYPE_CHECKING:
    from rmeval.harness.adapters.pretrained import Checkpoint

VALUE_HEADS = ("v_head", "regression_head")
"""Keys a linear value head is saved under (Starling, GRM, InternLM2: ``v_head``; UltraRM:
``regression_head``)."""
OBJECTIVES = "regression_layer"
"""ArmoRM's per-objective linear layer ([objectives, hidden])."""


def find(checkpoint: Checkpoint) -> HeadLayout | None:
    """The layout of ``checkpoint``, or None for a plain sequence classifier (or a hub id)."""
    files = head_layouts.files_of(checkpoint)
    if files is None:
        return None
    tried = [*head_layouts.registered(), *BUILTIN]
    return next((layout for layout in tried if layout.detect(files)), None)


def layout_labels(checkpoint: Checkpoint, config: Any) -> list[str] | None:
    """Label names of ``checkpoint``'s layout, or None when the config's own apply."""
    layout = checkpoint.layout
    if layout is None or layout.labels is None:
        return None
    files = head_layouts.files_of(checkpoint)
    return None if files is None else layout.labels(files, config)


class LayoutParts:
    """What a checkpoint's head layout decides for an ``hf`` model (a mixin): its label names,
    the default ``reduce``, the layout's fingerprint field, and the conversations a model that
    scores them itself reads."""

    checkpoint: Checkpoint
    config: Any
    args: dict[str, Any]

    @cached_property
    def labels(self) -> list[str]:
        """The head's label names, one score each (a head layout's own, else the config's)."""
        from rmeval.harness.adapters.hf_head import labels

        return layout_labels(self.checkpoint, self.config) or labels(self.config)

    @cached_property
    def reduce(self) -> str:
        """``reduce=`` when given, else the layout's reward label, else ``mean``."""
        layout = self.checkpoint.layout
        return self.args.get("reduce") or (layout.reduce if layout else None) or "mean"

    def layout_fields(self) -> dict[str, Any]:
        """The fingerprint's ``head_layout`` (nothing for a plain classifier)."""
        layout = self.checkpoint.layout
        return {"head_layout": layout.name} if layout else {}

    def add_conversations(
        self, encoded: Sequence[Encoded], requests: Sequence[ScoreRequest]
    ) -> None:
        """Give each encoded request its conversation where the model scores them itself."""
        layout = self.checkpoint.layout
        if layout and layout.conversations:
            for e, r in zip(encoded, requests):
                e.payload["messages"] = r.messages()


def value_head_name(files: Files) -> str | None:
    """The key of a linear value head ([labels, hidden] weight), or None."""
    for name in VALUE_HEADS:
        shape = files.shapes.get(f"{name}.weight")
        if shape is not None and len(shape) == 2:
            return name
    return None


def _folder(checkpoint: Checkpoint) -> Path:
    folder = head_layouts.local_folder(checkpoint)
    if folder is None:
        raise RmevalError(f"{checkpoint.model_id}: could not fetch its weight files.")
    return folder


# -- value_head: a causal-LM backbone and a linear head (Starling / UltraRM) -----------------
def _is_value_head(files: Files) -> bool:
    return value_head_name(files) is not None and not files.auto_map("AutoModel")


def _load_value_head(checkpoint: Checkpoint, dtype: str, device: str) -> Any:
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModel

    state: dict[str, Any] = {}
    for path in sorted(_folder(checkpoint).glob("*.safetensors")):
        state |= load_file(str(path))
    name = value_head_name(Files({}, {k: tuple(v.shape) for k, v in state.items()}))
    head_state = {k[len(name) + 1 :]: state.pop(k) for k in list(state) if k.startswith(f"{name}.")}
    # the LM head plays no part in a reward; the backbone must account for every other weight
    state = {k: v for k, v in state.items() if not k.startswith("lm_head.")}
    trust = checkpoint.safety["trust_remote_code"]
    backbone = AutoModel.from_config(  # built in dtype: a 7B model in float32 is 28 GB
        checkpoint.load_config(), trust_remote_code=trust, dtype=getattr(torch, dtype)
    )
    backbone.load_state_dict(_backbone_state(checkpoint.model_id, backbone, state))
    weight = head_state["weight"]
    head = torch.nn.Linear(weight.shape[1], weight.shape[0], bias="bias" in head_state)
    head.load_state_dict(head_state)
    model = _classes()["value_head"](backbone, head)
    return model.to(device=device, dtype=getattr(torch, dtype))


def _backbone_state(model_id: str, backbone: Any, state: dict[str, Any]) -> dict[str, Any]:
    """``state`` without the backbone's key prefix (``model.``, ``transformer.``); every
    backbone weight must be there and nothing else left over."""
    wanted = set(backbone.state_dict())
    firsts = {k.split(".", 1)[0] for k in state}
    prefix = f"{next(iter(firsts))}." if len(firsts) == 1 else ""
    for p in dict.fromkeys(["", prefix]):
        stripped = {k[len(p) :]: v for k, v in state.items() if k.startswith(p)}
        if set(stripped) == wanted and len(stripped) == len(state):
            return stripped
    missing = sorted(wanted - {k[len(prefix) :] for k in state})
    raise RmevalError(
        f"{model_id}: the value-head checkpoint's backbone weights do not match its config "
        f"({len(missing)} missing, e.g. {', '.join(missing[:2]) or 'none'}; or extra weights); "
        f"check that the folder is complete."
    )


# -- output_object: a remote classifier returning score + rewards (ArmoRM) -------------------
def _is_output_object(files: Files) -> bool:
    shape = files.shapes.get(f"{OBJECTIVES}.weight")
    return bool(files.auto_map("AutoModelForSequenceClassification")) and shape is not None


def _objective_labels(files: Files, config: Any) -> list[str]:
    """``score``, then one name per objective (``id2label`` when it names them all)."""
    k = int(files.shapes[f"{OBJECTIVES}.weight"][0])
    names = getattr(config, "id2label", None) or {}
    named = [names.get(i, names.get(str(i))) for i in range(k)]
    if any(n is None or str(n).startswith("LABEL_") for n in named):
        named = [f"reward_{i}" for i in range(k)]
    return ["score", *map(str, named)]


def _load_output_object(checkpoint: Checkpoint, dtype: str, device: str) -> Any:
    from transformers import AutoModelForSequenceClassification

    model = checkpoint.load_auto(AutoModelForSequenceClassification, dtype, device)
    return _classes()["output_object"](model)


# -- scoring_method: AutoModel remote code with get_scores (InternLM2-reward) ----------------
def _is_scoring_method(files: Files) -> bool:
    return bool(files.auto_map("AutoModel")) and not files.auto_map(
        "AutoModelForSequenceClassification"
    )


def _load_scoring_method(checkpoint: Checkpoint, dtype: str, device: str) -> Any:
    from transformers import AutoModel

    model = checkpoint.load_auto(AutoModel, dtype, device)
    if not callable(getattr(model, "get_scores", None)):
        raise RmevalError(
            f"{checkpoint.model_id}: its remote AutoModel ({type(model).__name__}) has no "
            f"get_scores(tokenizer, conversations) method to score with; it is not a reward "
            f"model rmeval recognises (see the README's head layouts)."
        )
    return _classes()["scoring_method"](model, checkpoint.load_tokenizer())


@cache
def _classes() -> dict[str, type]:
    """The wrapper modules (defined on first use: torch is imported only when a model loads)."""
    import torch
    from rmeval.harness.adapters.hf_head import last_token, no_cache

    class ValueHeadModel(torch.nn.Module):
        """A backbone and a linear head read at each row's last real token."""

        def __init__(self, backbone: Any, head: Any) -> None:
            super().__init__()
            self.backbone, self.head, self.config = backbone, head, backbone.config

        def forward(self, input_ids: Any, attention_mask: Any, **kw: Any) -> Any:
            out = self.backbone(
                input_ids=input_ids, attention_mask=attention_mask, **kw, **no_cache(self.backbone)
            )
            hidden = out.last_hidden_state
            last = last_token(attention_mask).to(hidden.device)
            rows = torch.arange(hidden.shape[0], device=hidden.device)
            return SimpleNamespace(
                logits=self.head(hidden[rows, last]), hidden_states=out.hidden_states
            )

    class OutputObjectModel(torch.nn.Module):
        """A classifier whose output holds ``score`` [batch, 1] and ``rewards`` [batch, k]:
        logits are the score, then the rewards."""

        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model, self.config = model, model.config

        def forward(self, **inputs: Any) -> Any:
            out = self.model(**inputs, **no_cache(self.model))
            score, rewards = getattr(out, "score", None), getattr(out, "rewards", None)
            if score is None or rewards is None:
                raise RmevalError(
                    f"{type(self.model).__name__} returned no `score` and `rewards`; its "
                    f"outputs do not fit the output_object layout."
                )
            n = score.shape[0]
            logits = torch.cat([score.reshape(n, 1), rewards.reshape(n, -1)], dim=-1)
            return SimpleNamespace(logits=logits, hidden_states=getattr(out, "hidden_states", None))

    class ScoringMethodModel(torch.nn.Module):
        """A model scored through its own ``get_scores(tokenizer, conversations)``."""

        def __init__(self, model: Any, tokenizer: Any) -> None:
            super().__init__()
            self.model, self.config, self.tokenizer = model, model.config, tokenizer

        def forward(self, conversations: list[Any] | None = None, **kw: Any) -> Any:
            if conversations is None or kw.get("output_hidden_states"):
                raise RmevalError(
                    f"{type(self.model).__name__} scores through its own get_scores method and "
                    f"gives no hidden states (probe tasks need them)."
                )
            values = self.model.get_scores(self.tokenizer, conversations)
            values = [values] if isinstance(values, float) else list(values)
            return SimpleNamespace(logits=torch.tensor(values, dtype=torch.float32).reshape(-1, 1))

    return {
        "value_head": ValueHeadModel,
        "output_object": OutputObjectModel,
        "scoring_method": ScoringMethodModel,
    }


BUILTIN = (
    HeadLayout("scoring_method", _is_scoring_method, _load_scoring_method, conversations=True),
    HeadLayout(
        "output_object",
        _is_output_object,
        _load_output_object,
        labels=_objective_labels,
        reduce="score",
    ),
    HeadLayout("value_head", _is_value_head, _load_value_head),
)
"""The built-in layouts, in the order they are tried (after registered ones)."""
