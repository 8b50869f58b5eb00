"""``rmeval show`` prints the exact strings and token ids a model receives; ``rmeval run``
prints ties, invalid and truncated counts and warns when more than 5% of texts were cut."""

from __future__ import annotations

import ast
import json
import re

from rmeval.harness.cli import main

from tests.lm_fixtures import boundary_dirs, lm_dirs  # noqa: F401  (fixtures)

ROWS = [
    {"id": "a", "prompt": "what is two plus two", "chosen": " four", "rejected": " the cat"},
    {"id": "b", "prompt": "the capital of france", "chosen": " paris", "rejected": " a tree"},
]


def write_rows(path, rows=ROWS):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def shown_ids(out: str, label: str) -> list[list[int]]:
    """Every ``<label> ids (n): [...]`` list printed, in order."""
    return [ast.literal_eval(m) for m in re.findall(rf"{label} ids \(\d+\): (\[.*\])", out)]


def test_show_prints_the_classifier_input_and_reward_position(
    tmp_path, tiny_llama_rm, capsys, caplog
):
    from transformers import AutoTokenizer

    caplog.set_level("INFO", logger="rmeval")
    data = write_rows(tmp_path / "p.jsonl")
    argv = ["show", "--model", f"hf:{tiny_llama_rm}", "--tasks", "pairwise"]
    assert main([*argv, "--data", f"pairwise={data}", "--limit", "1"]) == 0
    captured = capsys.readouterr()
    tok = AutoTokenizer.from_pretrained(tiny_llama_rm)
    texts = [ROWS[0]["prompt"] + ROWS[0][k] + tok.eos_token for k in ("chosen", "rejected")]
    assert shown_ids(captured.out, "input") == [tok(t)["input_ids"] for t in texts]
    assert f"text: {texts[0]!r}" in captured.out
    assert "format: concat (default)" in captured.out and "example b" not in captured.out
    assert captured.out.count(f">>>{tok.eos_token!r}<<<") == 2  # the reward token, marked
    assert "(format=concat;" in caplog.text  # the one-line notice names the choice


def test_show_prints_the_scored_tokens_of_a_dpo_reward(tmp_path, boundary_dirs, capsys):  # noqa: F811
    from transformers import AutoTokenizer

    folder = boundary_dirs["llama_bos"]
    data = write_rows(tmp_path / "p.jsonl")
    argv = ["show", "--model", f"dpo:{folder}", "--model-args", "ref_free=sum"]
    assert main([*argv, "--tasks", "pairwise", "--data", f"pairwise={data}"]) == 0
    out = capsys.readouterr().out
    tok = AutoTokenizer.from_pretrained(folder)
    contexts, scored = shown_ids(out, "context"), shown_ids(out, "scored")
    assert len(scored) == 4  # two examples (of the default 3), two candidates each
    for row, ctx in zip([ROWS[0], ROWS[0], ROWS[1], ROWS[1]], contexts):
        assert ctx == tok(row["prompt"] + "\n")["input_ids"]  # BOS, prompt, separator
    response = ROWS[0]["chosen"]
    assert scored[0] == tok(ROWS[0]["prompt"] + "\n" + response)["input_ids"][len(contexts[0]) :]


def test_run_prints_counts_and_warns_when_many_texts_are_cut(tmp_path, tiny_llama_rm, capsys):
    rows = [dict(r, prompt=r["prompt"] + " and the dog ran" * 8) for r in ROWS]
    data = write_rows(tmp_path / "p.jsonl", rows + [dict(ROWS[0], id="c")])
    argv = ["run", "--model", f"hf:{tiny_llama_rm}", "--tasks", "pairwise", "--no-progress"]
    common = ["--data", f"pairwise={data}", "--output-dir", str(tmp_path / "out")]
    assert main([*argv, *common, "--cache-dir", str(tmp_path / "c"), "--max-length", "20"]) == 0
    captured = capsys.readouterr()
    want = f"counts hf:{tiny_llama_rm} pairwise: 3 examples, 0 ties, 0 invalid, 2 truncated (66.7%)"
    assert want in captured.out
    assert "2 of 3 examples (66.7%) had a text cut at 20 tokens" in captured.err
    assert main([*argv, *common, "--cache-dir", str(tmp_path / "c2"), "--name", "full"]) == 0
    captured = capsys.readouterr()
    assert "0 truncated (0.0%)" in captured.out and "had a text cut" not in captured.err


def test_show_names_the_pairs_of_likelihood_and_judge_rewards(boundary_dirs):  # noqa: F811
    from rmeval.harness.adapters.judge import GenerativeJudge
    from rmeval.harness.adapters.likelihood import LikelihoodReward
    from rmeval.harness.records import ScoreRequest

    folder = str(boundary_dirs["gpt2"])
    request = ScoreRequest("what is two plus two", " four", "four")
    (likelihood,) = LikelihoodReward(folder, device="cpu").show([request])
    assert "  reference continuation: ' four'" in likelihood
    assert any(line.startswith("  reference context: ") for line in likelihood)
    (judge,) = GenerativeJudge(folder, device="cpu").show([request])
    assert "  yes continuation: ' YES'" in judge and "  no continuation: ' NO'" in judge
    assert sum(line.startswith("  scored ids (1): ") for line in judge) == 2  # one token each


def test_counts_line_lists_a_task_counter_after_the_shared_ones():
    from types import SimpleNamespace

    from rmeval.harness.run_report import count_lines

    r = SimpleNamespace(
        model_spec="gen-judge:m",
        task_name="core-pairwise",
        counts={"examples": 4, "ties": 0, "invalid": 1, "truncated": 1, "unparseable": 3},
    )
    assert count_lines([r]) == [
        "counts gen-judge:m core-pairwise: 4 examples, 0 ties, 1 invalid, 1 truncated (25.0%), "
        "3 unparseable"
    ]
