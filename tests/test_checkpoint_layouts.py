"""Checkpoints as users have them: a PEFT LoRA adapter and reward-model head layouts, each
scoring as a direct forward of the same model (1e-5, fp32)."""

from __future__ import annotations

import shutil

import pytest
from rmeval.harness.adapters.hf import HFRewardModel
from rmeval.harness.adapters.hf_text import text_of
from rmeval.harness.batching import plan_batches
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import ScoreRequest

from tests.head_layout_models import *  # noqa: F401,F403  (fixtures)

REQUESTS = [
    ScoreRequest("what is two plus two", "four"),
    ScoreRequest("say something rude", "no the answer is wrong because math is code"),
    ScoreRequest("name a color", "blue", context=(("user", "hi"), ("assistant", "hello"))),
]


def _scores(model, budget=10_000):
    """Scores of REQUESTS through the adapter's own batching (padded when budget allows)."""
    enc = model.encode(REQUESTS)
    out = [None] * len(REQUESTS)
    for batch in plan_batches([e.n_tokens for e in enc], budget):
        for i, s in zip(batch, model.forward([enc[i] for i in batch])):
            out[i] = s
    return out


def _ids(model, request):
    import torch

    text = text_of(model.tokenizer, model.text_format, request)
    ids = model.tokenizer(text, add_special_tokens=model.text_format != "chat_template")
    return torch.tensor([ids["input_ids"]])


def test_lora_adapter_scores_as_its_merged_model(lora_rm, tiny_llama_lm):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    base = AutoModelForSequenceClassification.from_pretrained(tiny_llama_lm, num_labels=1)
    merged = PeftModel.from_pretrained(base, str(lora_rm)).merge_and_unload().eval()
    plain = AutoModelForSequenceClassification.from_pretrained(tiny_llama_lm, num_labels=1)
    for pack in (False, True):
        for merge in (False, True):
            model = HFRewardModel(str(lora_rm), device="cpu", pack=pack, merge=merge)
            got = [s.value for s in _scores(model)]
            with torch.no_grad():
                want = [merged(_ids(model, r)).logits[0, 0].item() for r in REQUESTS]
            assert got == pytest.approx(want, abs=1e-5)
    with torch.no_grad():  # the adapter changes the base's scores (the test can fail)
        base_scores = [plain(_ids(model, r)).logits[0, 0].item() for r in REQUESTS]
    assert max(abs(a - b) for a, b in zip(got, base_scores)) > 1e-3


def test_lora_fingerprint_covers_adapter_and_base(lora_rm, tiny_llama_lm, tmp_path):
    model = HFRewardModel(str(lora_rm), device="cpu")
    files = model.checkpoint.provenance
    assert "adapter_model.safetensors" in files["files"]
    assert "model.safetensors" in files["base"]["files"]
    other_base = tmp_path / "base"
    shutil.copytree(tiny_llama_lm, other_base)
    config = other_base / "config.json"
    config.write_text(config.read_text().replace('"rms_norm_eps": 1e-06', '"rms_norm_eps": 1e-05'))
    moved = HFRewardModel(str(lora_rm), device="cpu", base=str(other_base))
    assert moved.checkpoint.adapter.base == str(other_base)
    assert moved.fingerprint() != model.fingerprint()


def test_lora_adapter_without_a_reachable_base_is_refused(lora_rm, tmp_path):
    folder = tmp_path / "adapter"
    shutil.copytree(lora_rm, folder)
    cfg = folder / "adapter_config.json"
    cfg.write_text(cfg.read_text().replace(str(cfg.parent.parent), "/nowhere"))
    import json

    data = json.loads(cfg.read_text())
    data["base_model_name_or_path"] = "/nowhere/base"
    cfg.write_text(json.dumps(data))
    with pytest.raises(RmevalError, match="base model /nowhere/base .* --model-args base="):
        HFRewardModel(str(folder), device="cpu")


def test_value_head_layout_scores_as_backbone_plus_head(value_head_rm):
    import torch
    from safetensors.torch import load_file
    from transformers import AutoConfig, LlamaModel

    state = load_file(str(value_head_rm / "model.safetensors"))
    head = next(k for k in state if k.endswith("head.weight"))
    prefix = next(iter(state)).split(".")[0] + "."
    backbone = LlamaModel(AutoConfig.from_pretrained(value_head_rm)).eval()
    backbone.load_state_dict({k[len(prefix) :]: v for k, v in state.items() if k != head})
    model = HFRewardModel(str(value_head_rm), device="cpu")
    assert model.checkpoint.layout.name == "value_head"
    got = [s.value for s in _scores(model)]
    with torch.no_grad():
        want = [
            (backbone(_ids(model, r)).last_hidden_state[0, -1] @ state[head][0]).item()
            for r in REQUESTS
        ]
    assert got == pytest.approx(want, abs=1e-5)
    feats = model.hidden_states(REQUESTS[:1], [-1])[-1][0]  # probes read the backbone
    with torch.no_grad():
        last = backbone(_ids(model, REQUESTS[0])).last_hidden_state[0, -1]
    assert feats.tolist() == pytest.approx(last.tolist(), abs=1e-5)


def test_output_object_layout_reports_score_and_objectives(armo_rm):
    import torch
    from transformers import AutoModelForSequenceClassification

    with pytest.raises(RmevalError, match="--trust-remote-code"):
        HFRewardModel(str(armo_rm), device="cpu")
    model = HFRewardModel(str(armo_rm), device="cpu", trust_remote_code=True)
    assert model.checkpoint.layout.name == "output_object"
    got = _scores(model)
    ref = AutoModelForSequenceClassification.from_pretrained(armo_rm, trust_remote_code=True)
    for score, request in zip(got, REQUESTS):
        with torch.no_grad():
            out = ref.eval()(_ids(model, request))
        assert score.value == pytest.approx(out.score[0, 0].item(), abs=1e-5)
        names = ["helpfulness", "correctness", "verbosity"]
        want = dict(zip(names, out.rewards[0].tolist()))
        assert {k: score.attributes[k] for k in names} == pytest.approx(want, abs=1e-5)
    picked = HFRewardModel(str(armo_rm), device="cpu", trust_remote_code=True, reduce="verbosity")
    assert picked.fingerprint() != model.fingerprint()
    assert _scores(picked)[0].value == pytest.approx(got[0].attributes["verbosity"], abs=1e-6)


def test_scoring_method_layout_uses_the_models_own_method(intern_rm):
    import torch
    from transformers import AutoModel, AutoTokenizer

    model = HFRewardModel(str(intern_rm), device="cpu", trust_remote_code=True)
    assert model.checkpoint.layout.name == "scoring_method"
    got = [s.value for s in _scores(model)]
    ref = AutoModel.from_pretrained(intern_rm, trust_remote_code=True).eval()
    tok = AutoTokenizer.from_pretrained(intern_rm)
    want = []
    for r in REQUESTS:  # a direct forward: chat text, the reward token, v_head at the end
        text = tok.apply_chat_template(r.messages(), tokenize=False)
        ids = tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        with torch.no_grad():
            hidden = ref.model(torch.tensor([ids])).last_hidden_state
        want.append(ref.v_head(hidden[0, -1]).item())
    assert got == pytest.approx(want, abs=1e-5)


def test_attribute_credit_by_hand():
    from rmeval.harness.records import Score
    from rmeval.tasks.attribute_table import attribute_credit

    chosen = Score(1.0, 3, False, {"help": 2.0, "safe": 0.0})
    rejected = [
        Score(0.5, 3, False, {"help": 1.0, "safe": 1.0}),
        Score(0.2, 3, False, {"help": 3.0, "safe": 0.0}),
    ]
    # help: beats the first (1), loses to the second (0) -> 0.5; safe: loses, ties -> 0 strict
    assert attribute_credit([chosen, *rejected], "strict") == {"help": 0.5, "safe": 0.0}
    assert attribute_credit([chosen, *rejected], "half") == {"help": 0.5, "safe": 0.25}
    assert attribute_credit([chosen, Score(0.1, 3, False)], "strict") is None


def test_pairwise_run_reports_by_attribute(armo_rm, tmp_path):
    import json

    from rmeval.harness.runner import RunOptions, run

    data = tmp_path / "prefs.jsonl"
    rows = [
        {"id": str(i), "prompt": r.prompt, "chosen": r.response, "rejected": "no"}
        for i, r in enumerate(REQUESTS[:2])
    ]
    data.write_text("\n".join(json.dumps(r) for r in rows))
    opts = RunOptions(
        models=[f"hf:{armo_rm}"],
        tasks=["pairwise"],
        data={"pairwise": str(data)},
        model_args={"trust_remote_code": True, "device": "cpu"},
        output_dir=str(tmp_path / "results"),
        cache_dir=str(tmp_path / "cache"),
        progress=False,
    )
    (result,) = run(opts)
    table = result.tables["by_attribute"]
    assert set(table) == {"score", "helpfulness", "correctness", "verbosity"}
    lines = [
        json.loads(x) for x in result.path.with_suffix(".samples.jsonl").read_text().splitlines()
    ]
    for name, row in table.items():
        credits = [line["attribute_credit"][name] for line in lines]
        assert row["accuracy"] == pytest.approx(sum(credits) / len(credits)) and row["n"] == 2
    assert table["score"]["accuracy"] == result.main_value
