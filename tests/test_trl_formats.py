"""Reward models trained by TRL's ``RewardTrainer`` score under rmeval's default text format
exactly as they were trained: the same token ids, and the scores of a direct forward."""

from __future__ import annotations

import pytest
from rmeval.harness.adapters.hf import HFRewardModel
from rmeval.harness.records import ScoreRequest

from tests.trl_fixtures import CHOSEN, PROMPTS, REJECTED, trl_models  # noqa: F401  (fixture)

REQUESTS = [ScoreRequest(p, c) for p, c in zip(PROMPTS, CHOSEN)] + [
    ScoreRequest(p, r) for p, r in zip(PROMPTS[:4], REJECTED[:4])
]


def direct_scores(folder, texts_or_chats) -> list[float]:
    """One unpadded forward per text (a string: ``tokenizer(text)``; messages: the template)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    out = []
    for item in texts_or_chats:
        if isinstance(item, str):
            ids = tok(item)["input_ids"]
        else:
            ids = tok.apply_chat_template(item, tokenize=True, return_dict=True)["input_ids"]
        with torch.inference_mode():
            out.append(float(model(torch.tensor([ids])).logits[0, 0]))
    return out


def scores(model: HFRewardModel, requests=REQUESTS) -> list[float]:
    return [s.value for s in model.forward(model.encode(requests))]


def test_plain_data_model_reads_prompt_response_eos_by_default(trl_models):  # noqa: F811
    trained = trl_models["plain"]
    model = HFRewardModel(str(trained.folder), device="cpu")
    assert model.text_format.name == "concat" and not model.text_format.chosen
    ids = [e.payload["input_ids"] for e in model.encode(REQUESTS[: len(PROMPTS)])]
    assert ids == trained.chosen_ids  # token for token what RewardTrainer trained on
    eos = model.tokenizer.eos_token
    want = direct_scores(trained.folder, [r.prompt + r.response + eos for r in REQUESTS])
    got = scores(model)
    assert got == pytest.approx(want, abs=1e-5)
    plain = scores(HFRewardModel(str(trained.folder), device="cpu", format="plain"))
    assert max(abs(a - b) for a, b in zip(got, plain, strict=True)) > 1e-3  # the format matters


def test_conversational_model_reads_its_chat_template_by_default(trl_models):  # noqa: F811
    trained = trl_models["chat"]
    model = HFRewardModel(str(trained.folder), device="cpu")
    assert model.text_format.name == "chat"
    requests = [ScoreRequest(r.prompt, r.response.strip()) for r in REQUESTS]  # as trained
    ids = [e.payload["input_ids"] for e in model.encode(requests[: len(PROMPTS)])]
    assert ids == trained.chosen_ids
    chats = [
        [{"role": "user", "content": r.prompt}, {"role": "assistant", "content": r.response}]
        for r in requests
    ]
    want = direct_scores(trained.folder, chats)
    assert scores(model, requests) == pytest.approx(want, abs=1e-5)


def test_folder_fingerprint_hashes_only_the_files_the_model_loads(trl_models, tmp_path):  # noqa: F811
    import shutil

    folder = shutil.copytree(trl_models["plain"].folder, tmp_path / "out")
    assert sorted(p.name for p in folder.glob("checkpoint-*")) == [
        "checkpoint-1",
        "checkpoint-2",
        "checkpoint-3",
    ]
    model = HFRewardModel(str(folder), device="cpu")
    files = set(model.checkpoint.provenance["files"])
    assert files == {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}
    first = model.fingerprint()
    (folder / "checkpoint-1" / "model.safetensors").write_bytes(b"another step")
    (folder / "training_args.bin").write_bytes(b"other arguments")
    (folder / "README.md").write_text("notes", encoding="utf-8")
    assert HFRewardModel(str(folder), device="cpu").fingerprint() == first
    (folder / "chat_template.jinja").write_text("{{ messages[0]['content'] }}", encoding="utf-8")
    again = HFRewardModel(str(folder), device="cpu")
    assert "chat_template.jinja" in again.checkpoint.provenance["files"]
    assert again.fingerprint() != first  # the tokenizer now loads a template


def test_a_pickled_peft_adapter_is_hashed(tmp_path):
    from rmeval.harness.adapters.hub import folder_hashes

    (tmp_path / "adapter_config.json").write_text("{}", encoding="utf-8")
    (tmp_path / "adapter_model.bin").write_bytes(b"pickled lora weights")
    (tmp_path / "training_args.bin").write_bytes(b"not loaded")
    hashes = folder_hashes(tmp_path)
    assert set(hashes) == {"adapter_config.json", "adapter_model.bin"}
    first = hashes["adapter_model.bin"]
    (tmp_path / "adapter_model.bin").write_bytes(b"retrained lora weights")
    assert folder_hashes(tmp_path)["adapter_model.bin"] != first
