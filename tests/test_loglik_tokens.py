"""Log-likelihood rewards score exactly the response tokens (TRL's DPO boundary), against a
direct transformers sum over those tokens, on GPT-2 and on a Llama tokenizer that adds BOS,
each with and without a chat template; ``lm_eval_compat=true`` keeps lm-eval's convention."""

from __future__ import annotations

import math

import pytest
from rmeval.harness.adapters.dpo import DPOImplicitReward
from rmeval.harness.adapters.judge import VERIFIER_TEMPLATE, GenerativeJudge
from rmeval.harness.adapters.likelihood import LikelihoodReward
from rmeval.harness.adapters.loglik_tokens import exact_ids
from rmeval.harness.records import ScoreRequest

from tests.lm_fixtures import DirectLM, boundary_dirs, lm_dirs  # noqa: F401  (fixtures)

TOL = 1e-4
KINDS = ["gpt2", "gpt2_chat", "llama_bos", "llama_bos_chat"]
REQUESTS = [
    ScoreRequest("what is two plus two", "the answer is four", "four"),
    ScoreRequest("the cat sat on a mat", "and the dog ran to the park", "a tall tree"),
    ScoreRequest("what is the capital of france", "paris", "paris"),
]


@pytest.fixture(scope="module")
def direct(boundary_dirs):  # noqa: F811
    return {kind: DirectLM(boundary_dirs[kind]) for kind in KINDS}


def context_of(d: DirectLM, prompt: str) -> str:
    """The prompt as a user turn with the generation prompt, else the prompt and a newline."""
    return d.chat_context(prompt) if d.tok.chat_template else prompt + "\n"


def lmeval_pair(context: str, continuation: str) -> tuple[str, str]:
    """lm-eval's rule: trailing whitespace of the context belongs to the continuation."""
    stripped = context.rstrip()
    return stripped, context[len(stripped) :] + continuation


def values(model, requests=REQUESTS) -> list[float]:
    return [s.value for s in model.forward(model.encode(requests))]


@pytest.mark.parametrize("kind", KINDS)
def test_dpo_sums_exactly_the_response_tokens(kind, boundary_dirs, direct):  # noqa: F811
    model = DPOImplicitReward(str(boundary_dirs[kind]), ref_free="sum", device="cpu")
    d = direct[kind]
    want = [d.response_logprob(context_of(d, r.prompt), r.response) for r in REQUESTS]
    assert values(model) == pytest.approx(want, abs=TOL)
    split = model.encode(REQUESTS[:1])[0].payload[0]
    response_ids = d.tok(" " + REQUESTS[0].response, add_special_tokens=False)["input_ids"]
    assert len(split.continuation_ids) == len(response_ids)  # no separator token scored
    bos = d.tok.convert_tokens_to_ids("<s>")
    if kind.startswith("llama_bos"):  # BOS once: the tokenizer's or the template's, not both
        assert split.context_ids[0] == bos and split.context_ids.count(bos) == 1


@pytest.mark.parametrize("kind", ["gpt2", "llama_bos_chat"])
def test_likelihood_and_judge_score_exactly_their_tokens(kind, boundary_dirs, direct):  # noqa: F811
    d, r = direct[kind], REQUESTS[0]
    likelihood = LikelihoodReward(str(boundary_dirs[kind]), device="cpu")
    context = context_of(d, r.prompt) + r.response + "\nAnswer:"
    assert values(likelihood, [r]) == pytest.approx(
        [d.response_logprob(context, " " + r.reference)], abs=TOL
    )
    judge = GenerativeJudge(str(boundary_dirs[kind]), device="cpu")
    text = VERIFIER_TEMPLATE.format(question=r.prompt, response=r.response, reference=r.reference)
    ctx = d.chat_context(text)
    space = "" if ctx[-1].isspace() else " "
    yes, no = (d.response_logprob(ctx, space + a) for a in ("YES", "NO"))
    assert values(judge, [r]) == pytest.approx([1 / (1 + math.exp(no - yes))], abs=TOL)


@pytest.mark.parametrize("kind", ["gpt2", "llama_bos_chat"])
def test_lm_eval_compat_reproduces_lm_evals_whitespace_rule(kind, boundary_dirs, direct):  # noqa: F811
    d = direct[kind]
    compat = DPOImplicitReward(
        str(boundary_dirs[kind]), ref_free="sum", device="cpu", lm_eval_compat=True
    )
    exact = DPOImplicitReward(str(boundary_dirs[kind]), ref_free="sum", device="cpu")
    want = [d.logprob(*lmeval_pair(context_of(d, r.prompt), r.response)) for r in REQUESTS]
    got = values(compat)
    assert got == pytest.approx(want, abs=TOL)
    # the separator newline is scored as a response token there: a real difference
    assert all(abs(a - b) > 0.1 for a, b in zip(got, values(exact), strict=True))
    assert compat.fingerprint() != exact.fingerprint()


def test_a_token_merged_across_the_boundary_belongs_to_the_continuation(direct):
    tok = direct["gpt2"].tok
    ctx, cont = exact_ids(tok, "two plus tw", "o is four", special=True, prefix_id=None)
    whole = tok("two plus two is four")["input_ids"]
    assert ctx + cont == whole
    assert len(ctx) < len(tok("two plus tw")["input_ids"])  # "tw" + "o" merged into " two"


def test_add_bos_token_false_drops_the_bos_of_plain_text(boundary_dirs):  # noqa: F811
    folder = str(boundary_dirs["llama_bos"])
    plain = DPOImplicitReward(folder, ref_free="sum", device="cpu")
    bare = DPOImplicitReward(folder, ref_free="sum", device="cpu", add_bos_token=False)
    with_bos = plain.encode(REQUESTS[:1])[0].payload[0]
    without = bare.encode(REQUESTS[:1])[0].payload[0]
    assert with_bos.context_ids[1:] == without.context_ids
    assert with_bos.continuation_ids == without.continuation_ids
    assert plain.fingerprint() != bare.fingerprint()


def test_an_eos_the_tokenizer_appends_is_not_a_response_token():
    from tokenizers.processors import TemplateProcessing

    from tests.lm_fixtures import BOS, EOS, build_tokenizer

    tok = build_tokenizer(add_bos=True)
    bos, eos = tok.convert_tokens_to_ids(BOS), tok.convert_tokens_to_ids(EOS)
    tok._tokenizer.post_processor = TemplateProcessing(  # as add_eos_token=True does
        single=f"{BOS} $A {EOS}", special_tokens=[(BOS, bos), (EOS, eos)]
    )
    assert tok("the cat")["input_ids"][-1] == eos
    ctx, cont = exact_ids(tok, "the cat sat\n", "on a mat", special=True, prefix_id=None)
    plain = tok("on a mat", add_special_tokens=False)["input_ids"]
    assert cont == plain and eos not in cont
    assert ctx == tok("the cat sat\n")["input_ids"][:-1]  # BOS kept, EOS dropped
