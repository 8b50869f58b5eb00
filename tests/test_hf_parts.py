"""The parts ``hf`` is composed of, each used on its own: checkpoint loading, text format,
batches (padding, packing choice, budget) and the head (logits, reduce, hidden states)."""

from pathlib import Path
from types import SimpleNamespace

import pytest
from rmeval.harness.adapters import hf_batches, hf_head, hf_text, hub, pretrained
from rmeval.harness.adapters.base import Encoded, parse_auto_bool
from rmeval.harness.adapters.hf import HFRewardModel
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import ScoreRequest

REQUESTS = [
    ScoreRequest("what is two plus two", "four"),
    ScoreRequest("say something helpful", "a reward model prefers honest answers " * 3),
    ScoreRequest("plus three", "nine", context=(("user", "hi"), ("assistant", "one"))),
]
HF_MODULES = ["hf", "hf_text", "hf_batches", "hf_head", "pretrained"]


def _options(**given):
    """An ``option(key)`` accessor with ``hf``'s defaults, as ``HFRewardModel.argument``."""
    defaults = {k: a.default for k, a in HFRewardModel.arguments.items()}
    return lambda key: given.get(key, defaults[key])


def test_checkpoint_alone_loads_what_hf_loads(tiny_llama_rm):
    import torch

    ckpt = pretrained.Checkpoint.of(str(tiny_llama_rm), _options(), "cpu")
    assert ckpt.provenance == hub.provenance(
        str(tiny_llama_rm), None, allow_unsafe_weights=False, trust_remote_code=False
    )
    assert ckpt.kwargs(weights=True) == {"trust_remote_code": False, "use_safetensors": True}
    tok, config = ckpt.load_tokenizer(), ckpt.load_config()
    model = ckpt.load_classifier("float32", "cpu")
    assert not model.training and pretrained.is_decoder(config, lambda: tok)
    ids = [
        hf_text.truncate(x, 256, "left")
        for x in hf_text.token_ids(tok, hf_text.TextFormat("concat"), REQUESTS)
    ]
    inputs = hf_batches.Padding.of(tok, True, "right").collate(ids, "cpu")
    with torch.inference_mode():
        got = hf_head.logits(model, inputs, decoder=True)[:, 0].tolist()
    rm = HFRewardModel(str(tiny_llama_rm), device="cpu", pack=False)
    assert got == [s.value for s in rm.forward(rm.encode(REQUESTS))]  # the same numbers


def test_checkpoint_subfolder_and_weight_keywords(tiny_llama_rm, tmp_path):
    import shutil

    shutil.copytree(tiny_llama_rm, tmp_path / "repo" / "rm")
    ckpt = pretrained.Checkpoint.of(
        str(tmp_path / "repo"), _options(subfolder="rm", device_map="cpu"), "cpu"
    )
    assert ckpt.provenance["files"] == hub.folder_hashes(Path(tiny_llama_rm))
    assert ckpt.kwargs() == {"trust_remote_code": False, "subfolder": "rm"}
    assert ckpt.kwargs(weights=True)["device_map"] == "cpu"
    assert ckpt.tokenizer_identity() == {}


def test_is_decoder_reads_the_tokenizer_only_for_unknown_model_types():
    def unused():
        raise AssertionError("the config decides; the tokenizer must not be loaded")

    assert pretrained.is_decoder(SimpleNamespace(model_type="llama"), unused)
    assert not pretrained.is_decoder(SimpleNamespace(model_type="bert"), unused)
    assert not pretrained.is_decoder(SimpleNamespace(is_encoder_decoder=True), unused)
    pair = SimpleNamespace(sep_token="[SEP]", cls_token="[CLS]")
    assert not pretrained.is_decoder(SimpleNamespace(model_type="custom-rm"), lambda: pair)
    plain = SimpleNamespace(sep_token=None, cls_token=None)
    assert pretrained.is_decoder(SimpleNamespace(model_type="custom-rm"), lambda: plain)


def test_text_format_max_length_and_truncation():
    chat = SimpleNamespace(chat_template="{{ x }}", sep_token=None, eos_token="</s>")
    pair = SimpleNamespace(chat_template=None, sep_token="[SEP]", eos_token="</s>")
    choose = hf_text.choose_format
    assert choose(None, chat, False, "m") == hf_text.TextFormat("chat", "{{ x }}", chosen=False)
    assert choose(None, pair, False, "m").name == "pair"
    assert choose(None, pair, True, "m").name == "concat"
    assert choose("plain", chat, True, "m").identity == hf_text.PLAIN_FORMAT
    with pytest.raises(RmevalError, match="format=chat: the tokenizer of m has no chat template"):
        choose("chat", pair, True, "m")
    with pytest.raises(RmevalError, match="format=concat: the tokenizer of m has no EOS token"):
        choose(
            "concat", SimpleNamespace(chat_template=None, sep_token=None, eos_token=None), 1, "m"
        )
    plain = hf_text.TextFormat("plain")
    assert hf_text.text_of(None, plain, REQUESTS[0]) == "User: what is two plus two\n\n" + (
        "Assistant: four"
    )
    assert hf_text.text_of(None, plain, REQUESTS[2]).startswith("User: hi\n\nAssistant: one")
    eos = SimpleNamespace(eos_token="</s>")
    concat = hf_text.TextFormat("concat")
    assert hf_text.text_of(eos, concat, REQUESTS[0]) == "what is two plus twofour</s>"
    tok = SimpleNamespace(model_max_length=int(1e30))  # "no limit", as transformers says it
    assert hf_text.max_length(None, SimpleNamespace(max_position_embeddings=256), tok) == 256
    assert hf_text.max_length(None, SimpleNamespace(), tok) == 4096
    assert hf_text.max_length(7, SimpleNamespace(max_position_embeddings=256), tok) == 7
    ids = {"input_ids": [1, 2, 3, 4, 5], "token_type_ids": [0, 0, 1, 1, 1]}
    left = hf_text.truncate(ids, 3, "left")
    assert left.payload == {"input_ids": [3, 4, 5], "token_type_ids": [1, 1, 1]}
    assert left.truncated and left.n_tokens == 3
    right = hf_text.truncate(ids, 3, "right")
    assert right.payload["input_ids"] == [1, 2, 3]
    assert not hf_text.truncate(ids, 5, "left").truncated


def test_padding_layout_by_side_type_ids_and_positions():
    import torch

    batch = [
        Encoded(3, {"input_ids": [5, 6, 7], "token_type_ids": [0, 1, 1]}),
        Encoded(1, {"input_ids": [8], "token_type_ids": [1]}),
    ]
    tok = SimpleNamespace(
        pad_token_id=None, eos_token_id=2, padding_side="left", pad_token_type_id=3
    )
    encoder = hf_batches.Padding.of(tok, decoder=False, padding_side="right")
    assert encoder == hf_batches.Padding(pad_id=2, type_id=3, side="left", positions=False)
    out = encoder.collate(batch, "cpu")
    assert out["input_ids"].tolist() == [[5, 6, 7], [2, 2, 8]]
    assert out["attention_mask"].tolist() == [[1, 1, 1], [0, 0, 1]]
    assert out["token_type_ids"].tolist() == [[0, 1, 1], [3, 3, 1]]
    assert "position_ids" not in out
    decoder = hf_batches.Padding.of(tok, decoder=True, padding_side="right")
    out = decoder.collate(
        [Encoded(2, {"input_ids": [5, 6]}), Encoded(1, {"input_ids": [8]})], "cpu"
    )
    assert out["input_ids"].tolist() == [[5, 6], [8, 2]]
    assert torch.equal(out["position_ids"], torch.tensor([[0, 1], [0, 0]]))
    assert hf_head.last_token(out["attention_mask"]).tolist() == [1, 0]


def test_packing_choice_loads_no_model_for_an_encoder():
    def unused():
        raise AssertionError("an encoder is never packed: its weights must not load")

    off = hf_batches.Packing(pack="auto", share_prompts=False)
    assert not off.applies("cuda", decoder=True, model=unused, name="rm")  # auto: CPU only
    assert not off.applies("cpu", decoder=False, model=unused, name="rm")
    forced = hf_batches.Packing(pack=True, share_prompts=False)
    with pytest.raises(RmevalError, match="pack=true: rm cannot be packed .an encoder"):
        forced.applies("cpu", decoder=False, model=unused, name="rm")
    with pytest.raises(RmevalError, match="pack=maybe: use auto, true or false"):
        parse_auto_bool("maybe", "pack")


def test_cpu_budget_from_the_widest_activation():
    llama = SimpleNamespace(hidden_size=64, intermediate_size=128)
    assert hf_batches.cpu_batch_tokens(llama, "float32", 2 << 20) == 4096
    assert hf_batches.cpu_batch_tokens(llama, "bfloat16", 2 << 20) == 8192
    gpt2 = SimpleNamespace(n_embd=64)  # no n_inner: 4 × 64 wide
    assert hf_batches.cpu_batch_tokens(gpt2, "float32", 2 << 20) == 2048
    assert hf_batches.cpu_batch_tokens(gpt2, "float32", 1) == 1024


def test_head_labels_reduce_and_scores():
    config = SimpleNamespace(num_labels=3, id2label={0: "help", "1": "safe"})
    names = hf_head.labels(config)
    assert names == ["help", "safe", "label_2"]
    row = [1.0, 4.0, -2.0]
    assert hf_head.reduce(row, "safe", names) == 4.0
    assert hf_head.reduce(row, "mean", names) == 1.0
    assert hf_head.reduce(row, "min", names) == -2.0
    with pytest.raises(RmevalError, match="reduce=median: use one of mean, sum.* or a label"):
        hf_head.reduce(row, "median", names)
    score = hf_head.to_score(row, Encoded(4, None, True), names, "max")
    assert (score.value, score.n_tokens, score.truncated) == (4.0, 4, True)
    assert score.attributes == {"help": 1.0, "safe": 4.0, "label_2": -2.0}
    assert hf_head.to_score([0.5], Encoded(2), ["x"], "max").attributes is None
    assert hf_head.n_layers(SimpleNamespace(n_layer=6)) == 6


def test_hidden_states_part_matches_the_adapter(tiny_gpt2_rm):
    import numpy as np

    rm = HFRewardModel(str(tiny_gpt2_rm), device="cpu")
    inputs = rm._pad(rm.encode(REQUESTS))
    got = hf_head.hidden_states(rm.model, [inputs], [0, -1], decoder=True)
    want = rm.hidden_states(REQUESTS, [0, -1])
    assert all(np.array_equal(got[k], want[k]) for k in (0, -1))


@pytest.mark.parametrize("name", HF_MODULES)
def test_hf_modules_stay_small(name):
    """One concept per module, under the design's ~400 lines (hf.py was 544 before the split)."""
    path = Path(__file__).parent.parent / "harness" / "adapters" / f"{name}.py"
    assert len(path.read_text().splitlines()) < 300


def test_format_file_is_a_jinja_template_fingerprinted_by_content(tiny_llama_rm, tmp_path):
    template = tmp_path / "rm.jinja"
    template.write_text("Q: {{ prompt }}\nA: {{ response }}{{ eos_token }}", encoding="utf-8")
    model = HFRewardModel(str(tiny_llama_rm), device="cpu", format=str(template))
    assert model.text_format.name == "template"
    assert model.text_of(REQUESTS[0]) == "Q: what is two plus two\nA: four</s>"
    ids = model.encode(REQUESTS[:1])[0].payload["input_ids"]
    assert ids == model.tokenizer("Q: what is two plus two\nA: four</s>")["input_ids"]
    first = model.fingerprint()
    assert model.describe()["text_template_sha256"] == model.text_format.template_sha256
    template.write_text("Q: {{ prompt }} A: {{ response }}", encoding="utf-8")
    assert HFRewardModel(str(tiny_llama_rm), device="cpu", format=str(template)).fingerprint() != (
        first
    )
    for fmt in ("plain", "concat"):
        other = HFRewardModel(str(tiny_llama_rm), device="cpu", format=fmt)
        assert other.fingerprint() != first
    with pytest.raises(RmevalError, match="format=nope: use chat, pair, concat, plain"):
        HFRewardModel(str(tiny_llama_rm), device="cpu", format="nope")
