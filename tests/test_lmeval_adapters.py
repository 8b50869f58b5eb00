"""The lm-eval adapters (dpo, likelihood, judge) against a direct AutoModelForCausalLM computation."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from rmeval.harness.adapters.dpo import DPOImplicitReward
from rmeval.harness.adapters.judge import (
    PAIRWISE_TEMPLATE,
    VERIFIER_TEMPLATE,
    VERIFIER_TEMPLATE_NO_REFERENCE,
    GenerativeJudge,
    pairwise_preference,
)
from rmeval.harness.adapters.likelihood import LikelihoodReward
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import ScoreRequest

from tests.lm_fixtures import DirectLM, direct_lms, lm_dirs  # noqa: F401  (fixtures)

TOL = 1e-4
ARCHS = ["gpt2", "llama"]  # gpt2: no chat template; llama: chat template
REQUESTS = [
    ScoreRequest("what is two plus two", "the answer is four", "four"),
    ScoreRequest("what is the capital of france", "paris is the capital", "paris"),
    ScoreRequest(
        "the cat sat on a mat", "and the dog ran to the park while two birds sang", "a tree"
    ),
    ScoreRequest("decide whether the bird sang", "YES", "the bird sang in a tall tree"),
    ScoreRequest("what is two plus two", "four", "four"),
]


def user_context(d: DirectLM, prompt: str) -> str:
    """What the adapters put before a response: chat turn, or the raw prompt and a newline."""
    return d.chat_context(prompt) if d.tok.chat_template else prompt + "\n"


def scores(model, requests=REQUESTS) -> list[float]:
    return [s.value for s in model.forward(model.encode(requests))]


def softmax_first(a: float, b: float) -> float:
    return math.exp(a) / (math.exp(a) + math.exp(b))


@pytest.fixture(scope="module")
def dpo_models(lm_dirs):  # noqa: F811
    return {
        arch: DPOImplicitReward(
            str(lm_dirs[arch]), ref=str(lm_dirs[f"{arch}_ref"]), device="cpu", batch_size=4
        )
        for arch in ARCHS
    }


# -- dpo -------------------------------------------------------------------------------------
@pytest.mark.parametrize("arch", ARCHS)
def test_dpo_reward_is_policy_minus_reference_logprob(arch, dpo_models, direct_lms):  # noqa: F811
    got = scores(dpo_models[arch])
    policy, ref = direct_lms[arch], direct_lms[f"{arch}_ref"]
    want = []
    for r in REQUESTS:
        pair = (user_context(policy, r.prompt), r.response)
        want.append(policy.response_logprob(*pair) - ref.response_logprob(*pair))
    assert got == pytest.approx(want, abs=TOL)
    assert max(want) - min(want) > 1.0  # the models disagree enough for the check to bite


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("variant", ["sum", "avg", "norm"])
def test_reference_free_variants(arch, variant, lm_dirs, direct_lms):  # noqa: F811
    model = DPOImplicitReward(str(lm_dirs[arch]), ref_free=variant, device="cpu", batch_size=3)
    d = direct_lms[arch]
    want = []
    for r in REQUESTS:
        lp = d.response_logprobs(user_context(d, r.prompt), r.response)
        by_variant = {"sum": sum(lp), "avg": sum(lp) / len(lp), "norm": -math.hypot(*lp)}
        want.append(by_variant[variant])
    assert scores(model) == pytest.approx(want, abs=TOL)


@pytest.mark.parametrize("arch", ARCHS)
def test_per_token_routes_agree_with_loglikelihood(arch, dpo_models):
    model = dpo_models[arch]
    splits = [e.payload[0] for e in model.encode(REQUESTS)]
    fast = model.main.token_logprobs(splits, fast=True)
    slow = model.main.token_logprobs(splits, fast=False)
    sums = model.main.loglikelihood(splits)
    for f, s, total, split in zip(fast, slow, sums, splits, strict=True):
        assert len(f) == len(split.continuation_ids) >= 1
        assert f == pytest.approx(s, abs=TOL)
        assert sum(f) == pytest.approx(total, abs=TOL)
    assert max(len(f) for f in fast) > 1


@pytest.mark.parametrize("arch", ARCHS)
def test_batching_and_order_do_not_change_scores(arch, dpo_models, lm_dirs):  # noqa: F811
    model = dpo_models[arch]
    encoded = model.encode(REQUESTS)
    whole = [s.value for s in model.forward(encoded)]
    singles = [model.forward([e])[0].value for e in encoded]
    backwards = [s.value for s in model.forward(encoded[::-1])][::-1]
    other = DPOImplicitReward(
        str(lm_dirs[arch]), ref=str(lm_dirs[f"{arch}_ref"]), device="cpu", batch_size=1
    )
    assert other.fingerprint() == model.fingerprint()  # batch size is not part of it
    unbatched = scores(other)
    for variant in (singles, backwards, unbatched):
        assert variant == pytest.approx(whole, abs=TOL)


def test_dpo_needs_exactly_one_of_ref_and_ref_free(lm_dirs):  # noqa: F811
    path = str(lm_dirs["gpt2"])
    with pytest.raises(RmevalError, match="ref="):
        DPOImplicitReward(path)
    with pytest.raises(RmevalError, match="exactly one"):
        DPOImplicitReward(path, ref=path, ref_free="sum")
    with pytest.raises(RmevalError, match="ref_free=mean"):
        DPOImplicitReward(path, ref_free="mean")
    with pytest.raises(RmevalError, match="needs a model"):
        DPOImplicitReward("", ref_free="sum")


def test_fingerprint_is_cheap_and_records_backend(lm_dirs):  # noqa: F811
    model = DPOImplicitReward(str(lm_dirs["gpt2"]), ref=str(lm_dirs["gpt2_ref"]), device="cpu")
    fields = model.fingerprint_fields()
    assert "lm" not in model.main.__dict__  # no weights loaded
    assert fields["backend"] == "hf" and fields["lm_args"]["dtype"] == "float32"
    assert fields["ref"]["model"]["files"] != fields["model"]["files"]
    free = DPOImplicitReward(str(lm_dirs["gpt2"]), ref_free="sum", device="cpu")
    avg = DPOImplicitReward(str(lm_dirs["gpt2"]), ref_free="avg")
    assert len({model.fingerprint(), free.fingerprint(), avg.fingerprint()}) == 3
    assert model.describe()["dtype"] == "float32"


def test_fingerprint_follows_file_contents_not_paths(tmp_path, lm_dirs):  # noqa: F811
    import shutil

    moved = shutil.copytree(lm_dirs["gpt2_ref"], tmp_path / "elsewhere" / "gpt2_ref")
    here = DPOImplicitReward(str(lm_dirs["gpt2"]), ref=str(lm_dirs["gpt2_ref"]))
    there = DPOImplicitReward(str(lm_dirs["gpt2"]), ref=str(moved))
    assert here.fingerprint() == there.fingerprint()
    other_ref = DPOImplicitReward(str(lm_dirs["gpt2"]), ref=str(lm_dirs["llama_ref"]))
    assert other_ref.fingerprint() != here.fingerprint()


def test_declared_and_backend_arguments_reach_lm_eval_and_typos_are_refused(lm_dirs):  # noqa: F811
    model = DPOImplicitReward(
        str(lm_dirs["gpt2"]),
        ref_free="sum",
        device="cpu",
        attn_implementation="eager",
        add_bos_token=True,  # not declared by rmeval: a named argument of lm-eval's HFLM
    )
    assert model.fingerprint_fields()["lm_args"]["attn_implementation"] == "eager"
    model.encode(REQUESTS[:1])
    assert model.main.lm.model.config._attn_implementation == "eager"
    assert model.main.lm.add_bos_token is True
    with pytest.raises(RmevalError, match="did you mean 'add_bos_token'"):
        DPOImplicitReward(str(lm_dirs["gpt2"]), ref_free="sum", add_bos_tokn=True)


@pytest.mark.parametrize("text, mode", [("no", "false"), ("yes", "true"), ("auto", "auto")])
def test_chat_template_reads_booleans_as_every_flag_does(text, mode, lm_dirs):  # noqa: F811
    model = LikelihoodReward(str(lm_dirs["gpt2"]), chat_template=text)
    assert model.settings.chat_template == mode
    with pytest.raises(RmevalError, match="chat_template=maybe: use auto, true or false"):
        LikelihoodReward(str(lm_dirs["gpt2"]), chat_template="maybe")


def test_a_hub_model_loads_the_commit_it_was_fingerprinted_at(monkeypatch):
    from rmeval.harness.adapters import hub, loglik

    commit = "c0ffee" + "0" * 34
    monkeypatch.setattr(hub, "resolve_commit", lambda model_id, revision: commit)
    seen: dict = {}
    monkeypatch.setattr(loglik, "backend_class", lambda name: lambda **kw: seen.update(kw))
    main = loglik.LMEvalModel("org/policy", loglik.LMSettings(revision="main", device="cpu"))
    assert main.fingerprint_fields()["model"]["revision"] == commit
    _ = main.lm
    assert seen["revision"] == commit  # not "main", which may have moved since


def test_missing_backend_is_one_clear_error(lm_dirs):  # noqa: F811
    model = DPOImplicitReward(str(lm_dirs["gpt2"]), ref_free="sum", backend="vllm")
    with pytest.raises(RmevalError, match="backend=vllm"):
        model.encode(REQUESTS[:1])
    bogus = DPOImplicitReward(str(lm_dirs["gpt2"]), ref_free="sum", backend="no-such-backend")
    with pytest.raises(RmevalError, match="not an lm-eval model"):
        bogus.encode(REQUESTS[:1])


def test_truncation_is_flagged_and_overlong_responses_are_nan(lm_dirs):  # noqa: F811
    model = DPOImplicitReward(str(lm_dirs["gpt2"]), ref_free="sum", device="cpu", max_length=12)
    long_prompt = " ".join(["the cat sat on a mat"] * 3)
    out = model.forward(
        model.encode(
            [
                ScoreRequest(long_prompt, "four"),
                ScoreRequest("two", " ".join(["the dog ran to the park"] * 4)),
                ScoreRequest("two", "four"),
            ]
        )
    )
    assert out[0].truncated and math.isfinite(out[0].value)
    assert out[1].truncated and math.isnan(out[1].value)
    assert not out[2].truncated and math.isfinite(out[2].value)


# -- likelihood ------------------------------------------------------------------------------
@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("normalize", ["none", "tokens"])
def test_likelihood_is_reference_logprob_after_response(arch, normalize, lm_dirs, direct_lms):  # noqa: F811
    model = LikelihoodReward(str(lm_dirs[arch]), normalize=normalize, device="cpu", batch_size=2)
    d = direct_lms[arch]
    want = []
    for r in REQUESTS:
        lp = d.response_logprobs(
            user_context(d, r.prompt) + r.response + "\nAnswer:", " " + r.reference
        )
        want.append(sum(lp) / (len(lp) if normalize == "tokens" else 1))
    assert scores(model) == pytest.approx(want, abs=TOL)


def test_likelihood_without_reference_names_the_problem(lm_dirs):  # noqa: F811
    model = LikelihoodReward(str(lm_dirs["gpt2"]), device="cpu")
    with pytest.raises(RmevalError, match="no reference answer"):
        model.encode([ScoreRequest("what is two plus two", "four")])
    lenient = LikelihoodReward(str(lm_dirs["gpt2"]), device="cpu", missing_reference="nan")
    out = scores(lenient, [ScoreRequest("what is two plus two", "four"), REQUESTS[0]])
    assert math.isnan(out[0]) and math.isfinite(out[1])
    assert lenient.fingerprint() != model.fingerprint()


# -- judge -----------------------------------------------------------------------------------
def judge_context(d: DirectLM, text: str) -> str:
    return d.chat_context(text)


def answer_logprob(d: DirectLM, context: str, answer: str) -> float:
    cont = answer if context[-1].isspace() else " " + answer
    return d.response_logprob(context, cont)


@pytest.mark.parametrize("arch", ARCHS)
def test_judge_p_yes_is_two_way_softmax(arch, lm_dirs, direct_lms):  # noqa: F811
    judge = GenerativeJudge(str(lm_dirs[arch]), device="cpu", batch_size=3)
    d = direct_lms[arch]
    requests = [*REQUESTS, ScoreRequest("what is two plus two", "four")]
    got = scores(judge, requests)
    for r, p in zip(requests, got, strict=True):
        template = VERIFIER_TEMPLATE if r.reference else VERIFIER_TEMPLATE_NO_REFERENCE
        text = template.format(question=r.prompt, response=r.response, reference=r.reference)
        ctx = judge_context(d, text)
        ly, ln = answer_logprob(d, ctx, "YES"), answer_logprob(d, ctx, "NO")
        assert p == pytest.approx(softmax_first(ly, ln), abs=TOL)
        assert math.log(p / (1 - p)) == pytest.approx(ly - ln, abs=1e-3)
    assert "[Reference answer]" not in VERIFIER_TEMPLATE_NO_REFERENCE


def test_judge_refuses_multi_token_answers_unless_asked(lm_dirs, direct_lms):  # noqa: F811
    path = str(lm_dirs["gpt2"])
    with pytest.raises(RmevalError, match="multi_token=sum"):
        GenerativeJudge(path, yes="AFFIRMATIVE", device="cpu").encode(REQUESTS[:1])
    judge = GenerativeJudge(path, yes="AFFIRMATIVE", multi_token="sum", device="cpu")
    d, r = direct_lms["gpt2"], REQUESTS[0]
    ctx = VERIFIER_TEMPLATE.format(question=r.prompt, response=r.response, reference=r.reference)
    want = softmax_first(answer_logprob(d, ctx, "AFFIRMATIVE"), answer_logprob(d, ctx, "NO"))
    assert scores(judge, [r]) == pytest.approx([want], abs=TOL)
    with pytest.raises(RmevalError, match="differ"):
        GenerativeJudge(path, yes="NO", device="cpu").encode(REQUESTS[:1])


def test_judge_custom_template(tmp_path, lm_dirs, direct_lms):  # noqa: F811
    file = tmp_path / "verifier.txt"
    file.write_text("Q: {question}\nA: {response}\nGood? {{YES/NO}}\nAnswer:", encoding="utf-8")
    judge = GenerativeJudge(str(lm_dirs["gpt2"]), template=str(file), device="cpu")
    d, r = direct_lms["gpt2"], REQUESTS[1]
    ctx = f"Q: {r.prompt}\nA: {r.response}\nGood? {{YES/NO}}\nAnswer:"
    want = softmax_first(answer_logprob(d, ctx, "YES"), answer_logprob(d, ctx, "NO"))
    assert scores(judge, [r]) == pytest.approx([want], abs=TOL)
    other = GenerativeJudge(str(lm_dirs["gpt2"]))
    assert other.fingerprint() != judge.fingerprint()
    file.write_text("{question} {answer}", encoding="utf-8")
    with pytest.raises(RmevalError, match="unknown field"):
        GenerativeJudge(str(lm_dirs["gpt2"]), template=str(file))
    file.write_text("{question} {reference}", encoding="utf-8")
    ref_judge = GenerativeJudge(str(lm_dirs["gpt2"]), template=str(file), device="cpu")
    with pytest.raises(RmevalError, match="reference"):
        ref_judge.encode([ScoreRequest("q", "a")])


@pytest.mark.parametrize("arch", ARCHS)
def test_pairwise_preference_runs_both_orders(arch, lm_dirs, direct_lms):  # noqa: F811
    judge = GenerativeJudge(str(lm_dirs[arch]), device="cpu")
    d, prompt, a, b = direct_lms[arch], "what is two plus two", "four", "the cat sat on a mat"
    want = []
    for first, second in ((a, b), (b, a)):
        ctx = judge_context(
            d, PAIRWISE_TEMPLATE.format(question=prompt, response_a=first, response_b=second)
        )
        want.append(softmax_first(answer_logprob(d, ctx, "A"), answer_logprob(d, ctx, "B")))
    verdict = pairwise_preference(judge, prompt, a, b)
    assert verdict.p_a_first == pytest.approx(want[0], abs=TOL)
    assert verdict.p_a_second == pytest.approx(1 - want[1], abs=TOL)
    assert verdict.p_a == pytest.approx((want[0] + 1 - want[1]) / 2, abs=TOL)
    assert verdict.consistent == ((want[0] > 0.5) == (want[1] < 0.5))
    swapped = pairwise_preference(judge, prompt, b, a)
    assert swapped.p_a == pytest.approx(1 - verdict.p_a, abs=TOL)


# -- through the harness -----------------------------------------------------------------------
def test_scoring_loop_batch_budget_and_order_invariance(tmp_path, lm_dirs):  # noqa: F811
    from rmeval.harness.cache import ScoreCache
    from rmeval.harness.scoring import score_requests

    judge = GenerativeJudge(str(lm_dirs["llama"]), device="cpu", batch_size=2)
    runs = []
    for i, (budget, order) in enumerate([(16, REQUESTS), (1 << 16, REQUESTS[::-1])]):
        cache = ScoreCache(tmp_path / f"cache{i}.sqlite")
        found, stats = score_requests(judge, order, cache, batch_tokens=budget, progress=False)
        cache.close()
        assert stats.scored == len(REQUESTS)
        runs.append([found[r.key].value for r in REQUESTS])
    assert runs[0] == pytest.approx(runs[1], abs=TOL)
    assert all(0.0 < p < 1.0 for p in runs[0])


@pytest.mark.parametrize(
    "make",
    [
        lambda d: DPOImplicitReward(str(d["gpt2"]), ref=str(d["gpt2_ref"]), device="cpu"),
        lambda d: GenerativeJudge(str(d["llama"]), device="cpu"),
        lambda d: LikelihoodReward(str(d["gpt2"]), device="cpu", normalize="tokens"),
    ],
    ids=["dpo", "judge", "likelihood"],
)
def test_end_to_end_pairwise_run_writes_results(make, tmp_path, lm_dirs):  # noqa: F811
    import json

    from rmeval.harness.cache import ScoreCache
    from rmeval.harness.runner import RunOptions, evaluate_model
    from rmeval.tasks.preference import pairwise

    rows = [
        {
            "id": f"r{i}",
            "prompt": r.prompt,
            "chosen": r.response,
            "rejected": "the cat sat on a mat",
            "reference": r.reference,
        }
        for i, r in enumerate(REQUESTS)
    ]
    data = tmp_path / "prefs.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    model = make(lm_dirs)
    opts = RunOptions(
        models=[model.spec], tasks=["pairwise"], output_dir=str(tmp_path / "out"), progress=False
    )
    cache = ScoreCache(tmp_path / "cache.sqlite")
    try:
        written = evaluate_model(model, [pairwise(data=str(data))], cache, opts)
    finally:
        cache.close()
    result = json.loads(written[0].path.read_text())
    assert result["model"]["fingerprint"] == model.fingerprint()
    assert result["model"]["type"] == model.type_name
    assert result["metrics"]["accuracy"]["n"] == len(rows)
    assert result["counts"]["invalid"] == 0


# -- dpo with a PEFT adapter on the policy -----------------------------------------------------
def _save_lora(base: Path, folder: Path, seed: int) -> Path:
    """A LoRA (q_proj, v_proj) with random, non-zero weights on the causal LM in ``base``."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base)
    config = LoraConfig(
        r=4,
        lora_alpha=16,
        target_modules=["q_proj", "v_proj"],
        task_type="CAUSAL_LM",
        init_lora_weights=False,  # random B too, so the adapter changes the outputs
    )
    get_peft_model(model, config).save_pretrained(folder)
    return folder


def test_dpo_peft_applies_to_the_policy_only_and_is_fingerprinted_by_content(
    tmp_path,
    lm_dirs,  # noqa: F811
    direct_lms,  # noqa: F811
):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = lm_dirs["llama"]
    lora = _save_lora(base, tmp_path / "lora", seed=7)
    merged = tmp_path / "merged"
    plain = AutoModelForCausalLM.from_pretrained(base)
    PeftModel.from_pretrained(plain, str(lora)).merge_and_unload().save_pretrained(merged)
    AutoTokenizer.from_pretrained(base).save_pretrained(merged)
    policy, ref = DirectLM(merged), direct_lms["llama"]

    model = DPOImplicitReward(str(base), ref=str(base), peft=str(lora), device="cpu")
    want = []
    for r in REQUESTS:
        pair = (user_context(policy, r.prompt), r.response)
        want.append(policy.response_logprob(*pair) - ref.response_logprob(*pair))
    assert max(abs(w) for w in want) > 0.1  # the adapter changes the log-probs
    assert scores(model) == pytest.approx(want, abs=TOL)
    assert "peft" not in model.ref.settings.extra

    before = DPOImplicitReward(str(base), ref=str(base), peft=str(lora)).fingerprint()
    _save_lora(base, lora, seed=8)  # retrained in place: same path, other weights
    after = DPOImplicitReward(str(base), ref=str(base), peft=str(lora)).fingerprint()
    assert before != after
