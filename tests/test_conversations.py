"""Multi-turn prompts: kept as chat messages from the data to the model's chat template."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from rmeval.harness.adapters.dpo import DPOImplicitReward
from rmeval.harness.adapters.hf import HFRewardModel
from rmeval.harness.errors import DataError
from rmeval.harness.records import ScoreRequest, canonical_json, sha256_text
from rmeval.tasks.preference import pairwise

from tests.lm_fixtures import CHAT_TEMPLATE, direct_lms, lm_dirs  # noqa: F401  (fixtures)

TURNS = (("user", "hi"), ("assistant", "hello"))
MULTI = ScoreRequest("what is two plus two", "the answer is four", None, TURNS)


def test_single_turn_keys_are_unchanged_and_context_changes_the_key():
    single = ScoreRequest("what is two plus two", "the answer is four")
    assert single.key == sha256_text(canonical_json([single.prompt, single.response, None]))
    assert MULTI.key != single.key
    assert MULTI.key != ScoreRequest(MULTI.prompt, MULTI.response, None, TURNS[:1]).key
    assert single.prompt_text == single.prompt
    assert MULTI.prompt_text == "User: hi\n\nAssistant: hello\n\nUser: what is two plus two"
    assert [m["role"] for m in MULTI.messages()] == ["user", "assistant", "user", "assistant"]
    assert MULTI.messages(response=False)[-1] == {"role": "user", "content": MULTI.prompt}


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_preference_rows_take_chat_message_prompts(tmp_path):
    conversation = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "sum it up"},
    ]
    rows = [
        {"id": "m", "prompt": conversation, "chosen": "a", "rejected": "b"},
        {"id": "s", "prompt": "plain", "chosen": "a", "rejected": "b"},
    ]
    task = pairwise(data=_write(tmp_path / "p.jsonl", rows))
    multi, single = task.examples()
    assert multi.prompt == "sum it up" and single.prompt == "plain" and single.context == ()
    assert multi.context == (("system", "be brief"), ("user", "hi"), ("assistant", "hello"))
    assert all(r.context == multi.context for r in task.requests(multi))


@pytest.mark.parametrize(
    ("prompt", "problem"),
    [
        ([], "field 'prompt' is an empty list"),
        ([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
         "field 'prompt' must end with a user message, not assistant"),
        ([{"role": "bot", "content": "q"}], "field 'prompt'[0] is not a chat message"),
        ([{"role": "user", "content": " "}], "field 'prompt'[0].content is empty"),
        ({"role": "user", "content": "q"}, "field 'prompt' is dict"),
    ],
)  # fmt: skip
def test_bad_conversations_are_named_by_row(tmp_path, prompt, problem):
    rows = [{"id": "ok", "prompt": "q", "chosen": "a", "rejected": "b"},
            {"id": "bad", "prompt": prompt, "chosen": "a", "rejected": "b"}]  # fmt: skip
    with pytest.raises(DataError, match=f"row bad: {re.escape(problem)}"):
        pairwise(data=_write(tmp_path / "p.jsonl", rows)).examples()


@pytest.fixture(scope="module")
def chat_rm(tiny_llama_rm, tmp_path_factory):
    """The tiny Llama reward model with the test chat template on its tokenizer."""
    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("chat_rm")
    shutil.copytree(tiny_llama_rm, folder, dirs_exist_ok=True)
    tok = AutoTokenizer.from_pretrained(folder)
    tok.chat_template = CHAT_TEMPLATE
    tok.save_pretrained(folder)
    return folder


def test_hf_reward_model_reads_the_whole_conversation(chat_rm, tiny_llama_rm):
    model = HFRewardModel(str(chat_rm), device="cpu")
    assert model.text_of(MULTI) == (  # the template, worked by hand
        "<|user|>\nhi\n<|assistant|>\nhello\n"
        "<|user|>\nwhat is two plus two\n<|assistant|>\nthe answer is four\n"
    )
    single = ScoreRequest(MULTI.prompt, MULTI.response)
    with_context, without = (s.value for s in model.forward(model.encode([MULTI, single])))
    assert with_context != without  # the earlier turns reach the model
    plain = HFRewardModel(str(tiny_llama_rm), device="cpu", format="plain")  # flattened
    flat = "User: hi\n\nAssistant: hello\n\nUser: what is two plus two"
    assert plain.text_of(MULTI) == flat + "\n\nAssistant: the answer is four"
    concat = HFRewardModel(str(tiny_llama_rm), device="cpu")  # no chat template: the default
    assert concat.text_of(MULTI) == flat + "the answer is four</s>"


@pytest.mark.parametrize(
    ("arch", "context"),
    [
        ("llama", "<|user|>\nhi\n<|assistant|>\nhello\n<|user|>\nwhat is two plus two\n"
                  "<|assistant|>\n"),
        ("gpt2", "User: hi\n\nAssistant: hello\n\nUser: what is two plus two\n"),
    ],
)  # fmt: skip
def test_dpo_reward_conditions_on_the_whole_conversation(arch, context, lm_dirs, direct_lms):  # noqa: F811
    model = DPOImplicitReward(str(lm_dirs[arch]), ref=str(lm_dirs[f"{arch}_ref"]), device="cpu")
    (got,) = model.forward(model.encode([MULTI]))
    policy, ref = direct_lms[arch], direct_lms[f"{arch}_ref"]
    pair = (context, MULTI.response)  # exactly the response's tokens are scored
    want = policy.response_logprob(*pair) - ref.response_logprob(*pair)
    assert got.value == pytest.approx(want, abs=1e-4)
