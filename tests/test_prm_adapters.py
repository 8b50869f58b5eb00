"""Step-scoring adapters against a direct transformers computation, on tiny models saved in
each family's real layout; the step vector as one cached value; capability checks."""

from __future__ import annotations

import math

import pytest
import torch
from rmeval.harness.cache import ScoreCache
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import Score, ScoreRequest
from rmeval.harness.runner import build_model
from rmeval.harness.scoring import score_requests
from rmeval.harness.steps import STEP_JOIN, aggregate, prefixes

from tests.lm_fixtures import CHAT_TEMPLATE

PROMPT = "what is two plus three times four"
STEPS = [
    ("three times four equals twelve", "two plus twelve equals fourteen", "so the answer is"),
    ("two plus three is five",),
    ("the cat sat", "on a mat and", "the dog ran to the park", "while two birds sang"),
]


def step_requests() -> list[ScoreRequest]:
    """Solutions of different lengths, so the batch is padded."""
    return [ScoreRequest(PROMPT, STEP_JOIN.join(s), steps=s) for s in STEPS]


def scored(spec: str, tmp_path, args: dict | None = None, batch_tokens: int = 4096):
    model = build_model(spec, args or {})
    cache = ScoreCache(tmp_path / "cache.sqlite")
    reqs = step_requests()
    scores, _ = score_requests(model, reqs, cache, batch_tokens=batch_tokens, progress=False)
    return model, cache, [scores[r.key] for r in reqs]


def test_token_classifier_prm_reads_the_positive_class_at_each_separator(tiny_token_prm, tmp_path):
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    model, cache, got = scored(f"prm-token:{tiny_token_prm}", tmp_path)
    tok = AutoTokenizer.from_pretrained(tiny_token_prm)
    net = AutoModelForTokenClassification.from_pretrained(tiny_token_prm).eval()
    sep = tok.convert_tokens_to_ids("<extra_0>")
    for steps, score in zip(STEPS, got):
        text = f"User: {PROMPT}\n\nAssistant: " + "".join(s + "<extra_0>" for s in steps)
        ids = torch.tensor([tok(text)["input_ids"]])
        with torch.no_grad():
            probs = net(input_ids=ids).logits[0].softmax(-1)[:, 1]
        want = probs[ids[0] == sep].tolist()
        assert len(score.steps) == len(steps)
        assert score.steps == pytest.approx(want, abs=1e-5)
        assert score.value == score.steps[-1]
    # the vector is the cached value: a fresh scorer reads it back without the model
    back = cache.get_many(model.fingerprint(), [r.key for r in step_requests()])
    assert [back[r.key].steps for r in step_requests()] == [s.steps for s in got]
    # positive=0 reads the other class: 1 - p for a two-class head
    _, _, other = scored(f"prm-token:{tiny_token_prm}", tmp_path, {"positive": "wrong"})
    assert other[0].steps == pytest.approx([1 - p for p in got[0].steps], abs=1e-5)
    # with a chat template and a system turn, as Qwen2.5-Math-PRM's usage example has them
    args = {"chat_template": CHAT_TEMPLATE, "system": "Reason step by step."}
    _, _, chat = scored(f"prm-token:{tiny_token_prm}", tmp_path, args)
    tok.chat_template = CHAT_TEMPLATE
    body = "".join(s + "<extra_0>" for s in STEPS[0])
    turns = [("system", args["system"]), ("user", PROMPT), ("assistant", body)]
    text = tok.apply_chat_template([{"role": r, "content": c} for r, c in turns], tokenize=False)
    ids = torch.tensor([tok(text, add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        probs = net(input_ids=ids).logits[0].softmax(-1)[:, 1]
    assert chat[0].steps == pytest.approx(probs[ids[0] == sep].tolist(), abs=1e-5)
    assert chat[0].steps != pytest.approx(got[0].steps, abs=1e-5)


def test_token_prm_in_trl_layout_reads_the_rows_prm_trainer_trains_on(tiny_token_prm, tmp_path):
    """TRL's PRMTrainer.tokenize_row: [BOS] + prompt ids + per step (step ids + separator ids),
    the label on each step's last token (separator default a newline)."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    _, _, got = scored(f"prm-token:{tiny_token_prm}", tmp_path, {"layout": "trl"})
    tok = AutoTokenizer.from_pretrained(tiny_token_prm)
    net = AutoModelForTokenClassification.from_pretrained(tiny_token_prm).eval()
    sep = tok("\n", add_special_tokens=False)["input_ids"]
    for steps, score in zip(STEPS, got):
        ids = [tok.bos_token_id] + tok(PROMPT, add_special_tokens=False)["input_ids"]
        labelled = []
        for step in steps:
            ids += tok(step, add_special_tokens=False)["input_ids"] + sep
            labelled.append(len(ids) - 1)
        with torch.no_grad():
            probs = net(input_ids=torch.tensor([ids])).logits[0].softmax(-1)[:, 1]
        assert score.steps == pytest.approx(probs[labelled].tolist(), abs=1e-5)
    with pytest.raises(RmevalError, match="layout=trl reads the prompt"):
        build_model(f"prm-token:{tiny_token_prm}", {"layout": "trl", "system": "x"}).encode(
            step_requests()
        )


def assert_tag_scores(got, net, tok) -> None:
    """Each solution's step scores equal P(+)/(P(+)+P(-)) at its tags in ``net``'s own forward."""
    tag = tok.convert_tokens_to_ids("ки")
    good, bad = tok("+")["input_ids"][0], tok("-")["input_ids"][0]
    for steps, score in zip(STEPS, got):
        text = f"{PROMPT} " + "\n".join(f"{s} ки" for s in steps)
        ids = torch.tensor([tok(text)["input_ids"]])
        with torch.no_grad():
            logits = net(input_ids=ids).logits[0]
        pair = logits[ids[0] == tag][:, [good, bad]].softmax(-1)
        assert score.steps == pytest.approx(pair[:, 0].tolist(), abs=1e-5)


def test_tag_prm_is_good_over_good_plus_bad_at_each_tag(tiny_tag_prm, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _, _, got = scored(f"prm-tag:{tiny_tag_prm}", tmp_path, batch_tokens=64)
    tok = AutoTokenizer.from_pretrained(tiny_tag_prm)
    net = AutoModelForCausalLM.from_pretrained(tiny_tag_prm).eval()
    assert_tag_scores(got, net, tok)


def test_prefix_outcome_rm_scores_each_truncated_solution(tiny_llama_rm, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    _, _, got = scored(f"prm-prefix:{tiny_llama_rm}", tmp_path, {"pack": False})
    _, _, packed = scored(
        f"prm-prefix:{tiny_llama_rm}", tmp_path, {"pack": True, "share_prompts": True}
    )
    tok = AutoTokenizer.from_pretrained(tiny_llama_rm)
    net = AutoModelForSequenceClassification.from_pretrained(tiny_llama_rm).eval()
    for steps, score, shared in zip(STEPS, got, packed):
        want = []
        for k in range(1, len(steps) + 1):
            text = PROMPT + STEP_JOIN.join(steps[:k]) + tok.eos_token  # hf's default: concat
            with torch.no_grad():
                want.append(net(**tok(text, return_tensors="pt")).logits[0, 0].item())
        assert score.steps == pytest.approx(want, abs=1e-5)
        assert shared.steps == pytest.approx(want, abs=1e-5)


def _logprobs(net, ids: list[int], n_cont: int) -> list[float]:
    with torch.no_grad():
        logp = net(input_ids=torch.tensor([ids])).logits[0].log_softmax(-1)
    return [logp[i - 1, ids[i]].item() for i in range(len(ids) - n_cont, len(ids))]


def test_implicit_prm_is_beta_times_the_step_log_ratio(tiny_llama_lm, tiny_llama_lm_ref, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    args = {"ref": str(tiny_llama_lm_ref), "beta": 0.5, "device": "cpu", "batch_size": 2}
    _, _, got = scored(f"prm-implicit:{tiny_llama_lm}", tmp_path, args)
    tok = AutoTokenizer.from_pretrained(tiny_llama_lm)
    pol = AutoModelForCausalLM.from_pretrained(tiny_llama_lm).eval()
    ref = AutoModelForCausalLM.from_pretrained(tiny_llama_lm_ref).eval()

    def split(cont: str) -> tuple[list[int], int]:
        # exactly the response's tokens: the separator newline belongs to the prompt
        ctx = tok(PROMPT + "\n")["input_ids"]
        whole = tok(PROMPT + "\n" + cont)["input_ids"]
        assert whole[: len(ctx)] == ctx
        return whole, len(whole) - len(ctx)

    for steps, score in zip(STEPS, got):
        whole, n = split(STEP_JOIN.join(steps))
        ratio = [p - q for p, q in zip(_logprobs(pol, whole, n), _logprobs(ref, whole, n))]
        bounds = [split(STEP_JOIN.join(steps[:k]))[1] for k in range(1, len(steps))] + [n]
        starts = [0, *bounds[:-1]]
        want = [0.5 * sum(ratio[a:b]) for a, b in zip(starts, bounds)]
        assert score.steps == pytest.approx(want, abs=1e-5)


def test_baselines_score_each_step_and_keep_scalar_scores(tmp_path):
    _, _, lengths = scored("length", tmp_path)
    assert lengths[0].steps == tuple(float(len(s)) for s in STEPS[0])
    _, _, first = scored("random", tmp_path, {"seed": 3})
    _, _, again = scored("random", tmp_path, {"seed": 3})
    assert first[2].steps == again[2].steps and len(set(first[2].steps)) == 4
    assert all(0 <= v < 1 for v in first[2].steps)
    # a scalar request to a baseline is a scalar score, as before steps existed
    scalar = ScoreRequest(PROMPT, "two plus three")
    assert build_model("length", {}).forward(build_model("length", {}).encode([scalar]))[
        0
    ] == Score(14.0)


def test_step_scores_round_trip_and_keys_differ():
    s = Score(0.25, 3, True, steps=(0.5, math.nan, 0.25))
    back = Score.from_json(s.to_json())
    assert back.steps[0] == 0.5 and math.isnan(back.steps[1]) and back.value == 0.25
    assert Score.from_json(Score(1.0).to_json()).steps is None
    plain = ScoreRequest(PROMPT, "a\n\nb")
    assert plain.key != ScoreRequest(PROMPT, "a\n\nb", steps=("a", "b")).key
    assert ScoreRequest(PROMPT, "a\n\nb", steps=("a", "b")).key != (
        ScoreRequest(PROMPT, "a\n\nb", steps=("a\n\nb",)).key
    )


def test_aggregations_and_prefixes_by_hand():
    v = [0.5, 0.25, 0.75]
    assert [aggregate(v, a) for a in ("min", "last", "mean", "product", "sum")] == [
        0.25,
        0.75,
        0.5,
        0.09375,
        1.5,
    ]
    assert math.isnan(aggregate([0.5, math.nan], "sum"))
    req = ScoreRequest(PROMPT, "Step one.\nStep two.", steps=("Step one.", "Step two."))
    assert prefixes(req) == ["Step one.", "Step one.\nStep two."]
    with pytest.raises(RmevalError, match="not in its response"):
        prefixes(ScoreRequest(PROMPT, "a b", steps=("b", "a")))


def test_markers_must_be_one_token_and_one_per_step(tiny_token_prm, tmp_path):
    model = build_model(f"prm-token:{tiny_token_prm}", {"separator": "two plus"})
    with pytest.raises(RmevalError, match="separator=two plus.*one token"):
        model.encode(step_requests())
    # a max-length cut that removes separators: those steps score NaN, the rest are kept
    full = build_model(f"prm-token:{tiny_token_prm}", {}).encode(step_requests())[2]
    cut = build_model(
        f"prm-token:{tiny_token_prm}",
        {"max_length": full.payload["steps"][1] + 1, "truncation_side": "right"},
    )
    (score,) = cut.forward(cut.encode(step_requests()[2:]))
    assert score.truncated and all(math.isnan(v) for v in score.steps[2:])
    assert all(math.isfinite(v) for v in score.steps[:2])
    model = build_model(f"prm-token:{tiny_token_prm}", {})
    bad = ScoreRequest(PROMPT, "a<extra_0>b", steps=("a<extra_0>b",))
    with pytest.raises(RmevalError, match="1 steps but 2 '<extra_0>'"):
        model.encode([bad])


def test_step_tasks_and_scalar_tasks_refuse_the_wrong_model(tiny_token_prm):
    from rmeval.harness.plugins import load_tasks

    prm = build_model(f"prm-token:{tiny_token_prm}", {})
    (pairwise,) = load_tasks("core-pairwise", limit=2)
    with pytest.raises(RmevalError, match="one score per step, and task 'core-pairwise'"):
        pairwise.check_model(prm)
    (process,) = load_tasks("process-core", limit=2)
    with pytest.raises(RmevalError, match="needs one score per step"):
        process.check_model(build_model("embed", {}))
    for task in (process, pairwise):  # the baselines give both kinds
        task.check_model(build_model("random", {}))


@pytest.mark.parametrize("kind", ["prm-token", "prm-tag"])
def test_marker_prms_score_the_same_left_and_right_padded(
    kind, tiny_token_prm, tiny_tag_prm, tmp_path
):
    """Step positions count unpadded ids; a left-padded row reads them past its padding
    (padding_side is not in the fingerprint, so both sides must give the same vector)."""
    folder = tiny_token_prm if kind == "prm-token" else tiny_tag_prm
    # two solutions one word apart: one batch through the scorer, the shorter row padded
    steps = [("two plus three is five", "so it is five"), ("two plus three is five", "so five")]
    reqs = [ScoreRequest(PROMPT, STEP_JOIN.join(s), steps=s) for s in steps]
    alone = [
        build_model(f"{kind}:{folder}", {}).forward([e])[0]
        for e in build_model(f"{kind}:{folder}", {}).encode(reqs)
    ]
    for side in ("right", "left"):
        model = build_model(f"{kind}:{folder}", {"padding_side": side})
        cache = ScoreCache(tmp_path / f"{side}.sqlite")  # the fingerprint does not hold the side
        scores, _ = score_requests(model, reqs, cache, batch_tokens=4096, progress=False)
        for r, one in zip(reqs, alone):
            assert scores[r.key].steps == pytest.approx(one.steps, abs=1e-5)
        # rows of very different lengths in one padded batch
        encoded = model.encode(step_requests())
        batched = model.forward(encoded)
        for e, score in zip(encoded, batched):
            assert score.steps == pytest.approx(model.forward([e])[0].steps, abs=1e-5)


def test_tag_prm_applies_the_lm_post_head_transform(tmp_path):
    """Granite divides its logits by ``logits_scaling``: the two-row head shortcut must too,
    matching the model's own forward."""
    from transformers import AutoModelForCausalLM, GraniteConfig, GraniteForCausalLM

    from tests.tiny_models import tiny_llama_config, train_tokenizer

    tok = train_tokenizer()
    tok.add_tokens(["ки"], special_tokens=True)
    tok.save_pretrained(tmp_path / "granite")
    fields = tiny_llama_config(tok).to_dict()
    keep = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers")
    keep += ("num_attention_heads", "num_key_value_heads", "max_position_embeddings")
    keep += ("bos_token_id", "eos_token_id", "pad_token_id")
    cfg = GraniteConfig(**{k: fields[k] for k in keep}, logits_scaling=8.0)
    torch.manual_seed(0)
    GraniteForCausalLM(cfg).eval().save_pretrained(tmp_path / "granite")
    _, _, got = scored(f"prm-tag:{tmp_path / 'granite'}", tmp_path)
    net = AutoModelForCausalLM.from_pretrained(tmp_path / "granite").eval()
    assert_tag_scores(got, net, tok)
