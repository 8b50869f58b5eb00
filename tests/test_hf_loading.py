"""``hf`` loading: non-reward checkpoints refused, text format from the model, provenance."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from rmeval.harness.adapters import hub
from rmeval.harness.adapters.hf import HFRewardModel
from rmeval.harness.cache import ScoreCache
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import ScoreRequest
from rmeval.harness.runner import RunOptions, run

from tests.tiny_models import corpus

PAIRWISE = Path(__file__).parent / "data" / "pairwise.jsonl"
REQUESTS = [
    ScoreRequest(prompt="what is two plus two", response="four"),
    ScoreRequest(prompt="say something helpful", response="a reward model prefers honest answers"),
]


def _options(model: str, tmp_path: Path) -> RunOptions:
    return RunOptions(
        models=[model],
        tasks=["pairwise"],
        data={"pairwise": str(PAIRWISE)},
        model_args={"device": "cpu"},
        output_dir=str(tmp_path / "results"),
        cache_dir=str(tmp_path / "cache"),
        limit=3,
        progress=False,
    )


def _result(tmp_path: Path) -> dict:
    (path,) = (tmp_path / "results").rglob("pairwise.json")
    return json.loads(path.read_text())


def _scores(tmp_path: Path) -> list[list[float]]:
    (path,) = (tmp_path / "results").rglob("pairwise.samples.jsonl")
    return [json.loads(line)["scores"] for line in path.read_text().splitlines()]


# -- a model that is not a reward model --------------------------------------------------
@pytest.mark.parametrize("fixture", ["tiny_gpt2_lm", "tiny_llama_lm"])
def test_causal_lm_checkpoint_is_refused_before_any_score(fixture, request, tmp_path):
    folder = request.getfixturevalue(fixture)
    with pytest.raises(
        RmevalError,
        match="not a reward model: its score head .*score.weight.*dpo:, likelihood: or judge:",
    ):
        run(_options(f"hf:{folder}", tmp_path))
    cache = ScoreCache(tmp_path / "cache" / "scores.sqlite")
    assert cache.count() == 0  # nothing random was cached for a later run to reuse
    cache.close()
    assert not list(tmp_path.rglob("*.json"))


# -- text format from what the model is ---------------------------------------------------
def _wordpiece_tokenizer(padding_side: str = "right"):
    """A BERT-style WordPiece tokenizer ([CLS] a [SEP] b [SEP]) trained in-process."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    special = {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=300, special_tokens=list(special.values()))
    tok.train_from_iterator(corpus(), trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[(t, tok.token_to_id(t)) for t in ("[CLS]", "[SEP]")],
    )
    names = {f"{k}_token": v for k, v in special.items()}
    return PreTrainedTokenizerFast(tokenizer_object=tok, padding_side=padding_side, **names)


def _encoder_config(family: str, vocab: int):
    import transformers as tf

    small = {
        "vocab_size": vocab,
        "hidden_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "max_position_embeddings": 128,
    }
    xl = {"vocab_size": vocab, "d_model": 32, "n_head": 2, "d_inner": 64}
    return {
        "bert": lambda: tf.BertConfig(**small),
        "albert": lambda: tf.AlbertConfig(embedding_size=16, **small),
        "mpnet": lambda: tf.MPNetConfig(**small),
        "ernie": lambda: tf.ErnieConfig(**small),
        "longformer": lambda: tf.LongformerConfig(attention_window=4, **small),
        "big_bird": lambda: tf.BigBirdConfig(attention_type="original_full", **small),
        "funnel": lambda: tf.FunnelConfig(
            d_head=16, block_sizes=[1, 1], num_decoder_layers=1, **xl
        ),
        "xlnet": lambda: tf.XLNetConfig(n_layer=1, **xl),
    }[family]()


def _tiny_encoder(family: str, folder: Path) -> Path:
    import torch
    from transformers import AutoModelForSequenceClassification

    tok = _wordpiece_tokenizer("left" if family == "xlnet" else "right")  # as XLNet's own
    cfg = _encoder_config(family, len(tok))
    cfg.num_labels, cfg.pad_token_id = 1, tok.pad_token_id
    torch.manual_seed(0)
    AutoModelForSequenceClassification.from_config(cfg).eval().save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


ENCODERS = ["bert", "albert", "mpnet", "ernie", "longformer", "big_bird", "funnel", "xlnet"]


@pytest.mark.parametrize("family", ENCODERS)
def test_encoder_cross_encoders_are_fed_text_pairs(family, tmp_path):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = _tiny_encoder(family, tmp_path / family)
    rm = HFRewardModel(str(folder), device="cpu")
    assert rm.text_format.name == "pair" and not rm._is_decoder
    tok = AutoTokenizer.from_pretrained(folder)
    expected_ids = [tok(r.prompt, r.response)["input_ids"] for r in REQUESTS]
    encoded = rm.encode(REQUESTS)
    assert [e.payload["input_ids"] for e in encoded] == expected_ids
    ref = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    with torch.inference_mode():
        alone = [
            float(ref(**tok(r.prompt, r.response, return_tensors="pt")).logits) for r in REQUESTS
        ]
    batched = [s.value for s in rm.forward(encoded)]  # two lengths: padding must not matter
    assert batched == pytest.approx(alone, abs=1e-5)


def test_decoders_keep_their_format_with_a_pair_framing_tokenizer(tiny_llama_rm, tmp_path):
    """A decoder is a decoder even when its tokenizer has [CLS]/[SEP] tokens (the model's
    type decides), and an encoder the old name list did not know is still an encoder."""
    folder = tmp_path / "llama"
    shutil.copytree(tiny_llama_rm, folder)
    _wordpiece_tokenizer().save_pretrained(folder)
    llama = HFRewardModel(str(folder), device="cpu")
    assert llama._is_decoder and llama.text_format.name in ("concat", "plain")
    albert = HFRewardModel(str(_tiny_encoder("albert", tmp_path / "albert")), device="cpu")
    assert not albert._is_decoder and albert.text_format.name == "pair"


# -- provenance ---------------------------------------------------------------------------
COMMIT_A, COMMIT_B = "a" * 40, "b" * 40


def _hub_cache(tmp_path: Path, source: Path, commit: str) -> Path:
    """A Hugging Face hub-cache layout holding ``source`` as ``org/tiny-rm`` at ``commit``,
    with ``refs/main`` pointing there."""
    repo = tmp_path / "hub" / "models--org--tiny-rm"
    shutil.copytree(source, repo / "snapshots" / commit)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return tmp_path / "hub"


def test_hub_model_is_keyed_on_the_resolved_commit(
    tiny_llama_rm, tiny_llama_rm_other, tmp_path, monkeypatch
):
    from huggingface_hub import constants

    monkeypatch.setattr(
        constants, "HF_HUB_CACHE", str(_hub_cache(tmp_path, tiny_llama_rm, COMMIT_A))
    )
    run(_options("hf:org/tiny-rm", tmp_path))
    first, first_scores = _result(tmp_path), _scores(tmp_path)
    assert first["model"]["revision"] == COMMIT_A
    _hub_cache(tmp_path, tiny_llama_rm_other, COMMIT_B)  # upstream moved main
    shutil.rmtree(tmp_path / "results")
    run(_options("hf:org/tiny-rm", tmp_path))
    second = _result(tmp_path)
    assert second["model"]["revision"] == COMMIT_B
    assert second["model"]["fingerprint"] != first["model"]["fingerprint"]
    assert second["throughput"]["texts_cached"] == 0  # scored afresh, not the old commit's
    assert _scores(tmp_path) != first_scores  # by the weights of the new commit
    pinned = HFRewardModel("org/tiny-rm", revision=COMMIT_A, device="cpu")
    assert pinned.fingerprint() == first["model"]["fingerprint"]
    with pytest.raises(RmevalError, match="revision v2 is not in the local Hugging Face cache"):
        HFRewardModel("org/tiny-rm", revision="v2", device="cpu")


def _reads(monkeypatch, fresh: bool = True) -> list[str]:
    """Paths the hashing opens (spied); ``fresh`` forgets this process's remembered hashes,
    as a new process would."""
    opened: list[str] = []

    def spy(path, *args, **kwargs):
        opened.append(str(path))
        return open(path, *args, **kwargs)

    for memo in vars(hub).values() if fresh else ():
        if hasattr(memo, "cache_clear"):
            memo.cache_clear()
    monkeypatch.setattr(hub, "open", spy, raising=False)
    return opened


def test_weight_hashes_are_remembered_and_a_replaced_file_is_rehashed(
    tiny_llama_rm, tiny_llama_rm_other, tmp_path, monkeypatch
):
    folder = tmp_path / "rm"
    shutil.copytree(tiny_llama_rm, folder)
    weights = folder / "model.safetensors"
    opened = _reads(monkeypatch)
    run(_options(f"hf:{folder}", tmp_path))
    first = _result(tmp_path)
    assert str(weights) in opened
    shutil.rmtree(tmp_path / "results")
    opened = _reads(monkeypatch)
    run(_options(f"hf:{folder}", tmp_path))
    assert opened == []  # nothing re-read
    assert _result(tmp_path)["model"]["fingerprint"] == first["model"]["fingerprint"]
    other = tiny_llama_rm_other / "model.safetensors"
    assert other.stat().st_size == weights.stat().st_size
    before = weights.stat()
    shutil.copyfile(other, weights)  # other bytes, same name and size, and a copied mtime:
    os.utime(weights, ns=(before.st_atime_ns, before.st_mtime_ns))
    shutil.rmtree(tmp_path / "results")
    opened = _reads(monkeypatch, fresh=False)  # same process: its memo must not be stale
    run(_options(f"hf:{folder}", tmp_path))
    second = _result(tmp_path)
    assert str(weights) in opened
    assert second["model"]["fingerprint"] != first["model"]["fingerprint"]
    assert second["throughput"]["texts_cached"] == 0 and second["throughput"]["texts_scored"] > 0
