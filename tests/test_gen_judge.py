"""The generating judge (gen-judge): grammars, protocols against hand computations, endpoints
(a scripted and a model-serving chat-completions server on 127.0.0.1), the hf backend, cache."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rmeval.harness.adapters.gen_judge import GeneratingJudge
from rmeval.harness.adapters.verdicts import parse_label, parse_pair, parse_rating, parse_yes_no
from rmeval.harness.errors import RmevalError
from rmeval.harness.runner import RunOptions, run
from rmeval.tasks.master_keys.keys import DEFAULT_KEYS

from tests.judge_servers import ChatServer, model_reply
from tests.lm_fixtures import lm_dirs  # noqa: F401 (fixture)

DATA = Path(__file__).parent / "data"
RB2 = str(DATA / "rewardbench2.jsonl")
RB1 = str(DATA / "rewardbench.jsonl")


def evaluate(tmp_path: Path, spec: str, tasks: list[str], **kw) -> dict:
    """Run in-process; {task: (result json, samples lines)}."""
    opts = RunOptions(
        models=[spec],
        tasks=tasks,
        output_dir=str(tmp_path / "out"),
        cache_dir=str(tmp_path / "cache"),
        progress=False,
        **kw,
    )
    out = {}
    for res in run(opts):
        doc = json.loads(res.path.read_text())
        lines = [
            json.loads(x)
            for x in res.path.with_suffix(".samples.jsonl").read_text().split("\n")
            if x
        ]
        out[res.task["name"]] = (doc, lines)
    return out


def api_args(server: ChatServer, **extra) -> dict:
    return {"backend": "local-chat-completions", "base_url": server.url, **extra}


def value(doc: dict, metric: str) -> float:
    return doc["metrics"][metric]["value"]


# -- grammars ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, want",
    [
        ("YES", "YES"),
        ("yes, the answer is right.", "YES"),
        ("After checking the steps, NO.", "NO"),
        ("Verdict: [[NO]] (yes, I checked)", "NO"),
        ("Yes and no.", None),
        ("", None),
        ("I cannot help with grading this.", None),
        ("Nope", None),
    ],
)
def test_yes_no_grammar(text, want):
    assert parse_yes_no(text) == want


@pytest.mark.parametrize(
    "text, want",
    [
        ("Assistant B is clearly more accurate. [[B]]", "B"),
        ("[[A]]", "A"),
        (" a. ", "A"),
        ("[[A]] or maybe [[B]]", None),
        ("[[C]]", "tie"),
        ("C", None),
        ("", None),
        ("I'm sorry, I can't compare these.", None),
        ("Both are fine.", None),
    ],
)
def test_pair_grammar(text, want):
    assert parse_pair(text) == want


def test_choice_and_rating_grammars():
    labels = ["A", "B", "C", "D"]
    assert parse_label("The best is [[C]].", labels) == "C"
    assert parse_label("[[E]]", labels) is None and parse_label("[[A]] [[D]]", labels) is None
    assert parse_rating("Rating: [[7]]") == 7 and parse_rating("rating: 10") == 10
    assert parse_rating("[[11]]") is None and parse_rating("[[3]] then [[4]]") is None
    assert parse_rating("no number") is None
    # decimals are read whole, never cut to their integer part
    assert parse_rating("Rating: 7.5") == 7.5 and parse_rating("Rating: 8.5/10") == 8.5
    assert parse_rating("[[8.0]]") == 8.0 and parse_rating("Rating: [[7.5]]") == 7.5
    assert parse_rating("[[10.5]]") is None


# -- hand computations with scripted judges ------------------------------------------------------
def always_a(prompt: str) -> str:
    return "Rating: [[7]]" if "scale of 1 to 10" in prompt else "I pick [[A]]"


def core_ids(limit: int) -> list[str]:
    from rmeval.tasks.core import core_rows

    return [r["id"] for r in core_rows("test", 0, limit, 1)[0]]


def test_always_a_judge_gets_the_seeded_reference_score(tmp_path):
    seed = 3
    with ChatServer(always_a) as server:
        got = evaluate(tmp_path / "one", "gen-judge:judge", ["core-pairwise", "rewardbench2", "rewardbench"],
                       model_args=api_args(server), data={"rewardbench2": RB2, "rewardbench": RB1}, limit=30, seed=seed)  # fmt: skip
        both = evaluate(tmp_path / "both", "gen-judge:judge", ["core-pairwise"],
                        model_args=api_args(server), task_args={"both_orders": "true"}, limit=30, seed=seed)  # fmt: skip
    # the draw, written out: chosen shown as B when Random("rmeval-judge:seed:id:0") < 0.5
    ids = core_ids(30)
    shown_first = [random.Random(f"rmeval-judge:{seed}:{i}:0").random() >= 0.5 for i in ids]
    doc, lines = got["core-pairwise"]
    assert value(doc, "accuracy") == pytest.approx(sum(shown_first) / 30)
    assert [ln["credit"] for ln in lines] == [float(x) for x in shown_first]
    assert value(doc, "position_bias") == 1.0 and "order_consistency" not in doc["metrics"]
    assert doc["model"]["kind"] == "generative-judge" and doc["counts"]["unparseable"] == 0
    # both orders: one win and one loss per pair, never consistent
    doc2 = both["core-pairwise"][0]
    assert value(doc2, "accuracy") == 0.5 and value(doc2, "order_consistency") == 0.0
    assert doc2["task"]["params"]["both_orders"] is True
    # rewardbench2: credit 1 when the correct answer landed in slot A; Ties rated 7 everywhere
    rows = [json.loads(x) for x in Path(RB2).read_text().splitlines() if x]
    subsets: dict[str, list[float]] = {}
    for r in rows:
        if r["subset"] != "Ties":
            pos = random.Random(f"rmeval-judge:{seed}:{r['id']}").randrange(4)
            subsets.setdefault(r["subset"], []).append(float(pos == 0))
    means = [sum(v) / len(v) for v in subsets.values()] + [0.0]  # equal ratings: Ties = 0
    doc3, lines3 = got["rewardbench2"]
    assert value(doc3, "score") == pytest.approx(sum(means) / 6)
    assert value(doc3, "ties") == 0.0
    doc4, lines4 = got["rewardbench"]  # RewardBench: the same draw per pair, sections as usual
    assert [ln["credit"] for ln in lines4] == [
        float(random.Random(f"rmeval-judge:{seed}:{ln['id']}:0").random() >= 0.5) for ln in lines4
    ]
    assert value(doc4, "position_bias") == 1.0 and value(doc4, "score") is not None
    tie_line = next(ln for ln in lines3 if ln["subset"] == "Ties")
    assert tie_line["judge"]["protocol"] == "rating" and tie_line["scores"][0] == 7.0


def length_rater(prompt: str) -> str:
    found = re.search(r"Assistant's Answer\]\n(.*)\n\[The End", prompt, re.S)
    return f"Rating: [[{len(found.group(1))}]]"


def test_ratings_everywhere_reproduce_the_scalar_formula(tmp_path):
    # the data's responses are 1-10 characters: a judge rating by length is the length baseline
    with ChatServer(length_rater) as server:
        rated = evaluate(tmp_path / "j", "gen-judge:judge", ["rewardbench2"], data={"rewardbench2": RB2},
                         model_args=api_args(server), task_args={"ratings": "true"})  # fmt: skip
    scalar = evaluate(tmp_path / "s", "length", ["rewardbench2"], data={"rewardbench2": RB2})
    doc, lines = rated["rewardbench2"]
    want = scalar["rewardbench2"][0]
    assert {k: v["value"] for k, v in doc["metrics"].items()} == {
        k: v["value"] for k, v in want["metrics"].items()
    }
    assert [ln["scores"] for ln in lines] == [ln["scores"] for ln in scalar["rewardbench2"][1]]
    assert {ln["judge"]["protocol"] for ln in lines} == {"rating"}


def key_in(prompt: str) -> str | None:
    found = re.search(r"\[Response\]\n(.*)\n\nIs the response correct", prompt, re.S)
    return found.group(1) if found else None


def test_master_keys_fpr_per_key_and_sanity_numbers(tmp_path):
    fooled_by = list(DEFAULT_KEYS)[1]

    def reply(prompt: str) -> str:  # fooled by one key only; rejects every other response
        return "yes, correct" if key_in(prompt) == fooled_by else "NO"

    with ChatServer(reply) as server:
        got = evaluate(
            tmp_path, "gen-judge:judge", ["master-keys"], model_args=api_args(server), limit=3
        )
    doc, lines = got["master-keys"]
    rates = [v["value"] for k, v in doc["metrics"].items() if k.startswith("fpr[")]
    assert rates[1] == 1.0 and sum(rates) == 1.0  # share of questions answered YES per key
    assert value(doc, "worst_key_rate") == 1.0 and doc["tables"]["worst_key"] == fooled_by
    assert value(doc, "judge_accuracy_correct") == 0.0 and value(doc, "judge_accuracy_wrong") == 1.0
    call = lines[0]["judge"]["calls"][3]
    assert call == {
        "prompt_sha256": call["prompt_sha256"],
        "generation": "yes, correct",
        "verdict": "YES",
        "truncated": False,
    }


# item -> reply per response (correct, wrong, k1, k2); "hmm" parses as no verdict
MASK_ROWS = [
    {"id": "q0", "question": "What is 2 + 3?", "reference": "5", "correct": "It is 5.",
     "wrong": "It is 6."},
    {"id": "q1", "question": "What is 4 x 2?", "reference": "8", "correct": "It is 8.",
     "wrong": "It is 7."},
]  # fmt: skip
MASK_REPLIES = {
    "What is 2 + 3?": {"It is 5.": "YES", "It is 6.": "NO", "k1": "YES", "k2": "NO"},
    "What is 4 x 2?": {"It is 8.": "YES", "It is 7.": "NO", "k1": "NO", "k2": "hmm"},
}


def test_an_unparseable_reply_masks_only_its_own_key(tmp_path):
    def reply(prompt: str) -> str:
        question = re.search(r"\[Question\]\n(.*?)\n\n", prompt, re.S).group(1)
        return MASK_REPLIES[question][key_in(prompt)]

    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in MASK_ROWS))
    (tmp_path / "keys.json").write_text('["k1", "k2"]')
    args = {"keys": str(tmp_path / "keys.json"), "default_keys": False}
    with ChatServer(reply) as server:
        got = evaluate(tmp_path, "gen-judge:judge", ["master-keys"], model_args=api_args(server),
                       task_args=args, data={"master-keys": str(data)})  # fmt: skip
    doc, lines = got["master-keys"]
    m = doc["metrics"]
    assert (m["fpr[0:'k1']"]["value"], m["fpr[0:'k1']"]["n"]) == (0.5, 2)
    assert (m["fpr[1:'k2']"]["value"], m["fpr[1:'k2']"]["n"]) == (0.0, 1)
    assert value(doc, "worst_key_rate") == 0.5 and m["worst_key_rate"]["n"] == 2
    assert value(doc, "mean_key_rate") == 0.25
    assert m["judge_accuracy_correct"] == {"value": 1.0, "ci95": [1.0, 1.0], "n": 2}
    assert value(doc, "judge_accuracy_wrong") == 1.0 and m["judge_accuracy_wrong"]["n"] == 2
    assert doc["counts"]["invalid"] == 0 and doc["counts"]["unparseable"] == 1
    assert doc["tables"]["unparseable_by_key"] == [0, 1] and doc["tables"]["worst_key"] == "k1"
    assert doc["tables"]["grid"]["values"] == [[0.5], [0.0]]
    assert [x["accepted"] for x in lines] == [[True, False], [False, None]]
    assert [x["credit"] for x in lines] == [0.5, 0.0]


def test_edge_replies_are_counted_and_errors_retried(tmp_path):
    rows = [
        {"id": str(i), "prompt": f"question {i}", "chosen": f"good {i}", "rejected": f"bad {i}"}
        for i in range(5)
    ]
    path = tmp_path / "prefs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    replies = ["Long reasoning first ... so [[B]]", "[[A]] no wait [[B]]", "",
               "I'm sorry, I can't judge this.", "It is a tie: [[C]]"]  # fmt: skip

    def reply(prompt: str) -> str:
        return replies[int(re.search(r"question (\d)", prompt).group(1))]

    with ChatServer(reply) as server:
        server.failures = [429, 503]  # retried by lm-eval with back-off
        got = evaluate(tmp_path, "gen-judge:judge", ["pairwise"], data={"pairwise": str(path)},
                       model_args=api_args(server, max_retries=3))  # fmt: skip
    doc, lines = got["pairwise"]
    verdicts = [ln["judge"]["calls"][0]["verdict"] for ln in lines]
    assert verdicts == ["B", None, None, None, "tie"]
    assert doc["counts"]["unparseable"] == 3 and doc["counts"]["ties"] == 1
    first = lines[0]["judge"]["calls"][0]
    assert lines[0]["credit"] == (1.0 if first["chosen_shown_as"] == "B" else 0.0)
    assert [ln["credit"] for ln in lines[1:]] == [0.5] * 4
    assert [ln["judge"]["calls"][0]["generation"] for ln in lines] == replies


def test_killed_run_resumes_and_rerun_generates_nothing(tmp_path):
    args = {"max_retries": 1}
    with ChatServer(always_a) as server:
        server.fail_after = 35  # the second chunk of 32 prompts fails
        with pytest.raises(RmevalError, match="generation failed after retries"):
            evaluate(
                tmp_path,
                "gen-judge:judge",
                ["core-pairwise"],
                model_args=api_args(server, **args),
                limit=40,
            )
        server.fail_after = None
        before = server.served
        first = evaluate(
            tmp_path,
            "gen-judge:judge",
            ["core-pairwise"],
            model_args=api_args(server, **args),
            limit=40,
        )
        assert server.served - before == 8  # 32 replies were committed before the failure
        again = evaluate(
            tmp_path,
            "gen-judge:judge",
            ["core-pairwise"],
            model_args=api_args(server, **args),
            limit=40,
        )
        assert server.served - before == 8  # nothing generated the second time
    assert first["core-pairwise"][1] == again["core-pairwise"][1]
    scored = evaluate(tmp_path, "gen-judge:judge", ["core-pairwise"], limit=40, cache_only=True,
                      model_args=api_args(server, **args))  # fmt: skip
    assert scored["core-pairwise"][1] == first["core-pairwise"][1]  # `rmeval score`: cache only
    with pytest.raises(RmevalError, match="not in the cache"):
        evaluate(tmp_path, "gen-judge:judge", ["core-pairwise"], limit=41, cache_only=True, name="more",
                 model_args=api_args(server, **args))  # fmt: skip
    other = GeneratingJudge("judge", **api_args(server, max_gen_toks=9))
    assert other.fingerprint() != GeneratingJudge("judge", **api_args(server)).fingerprint()
    same = GeneratingJudge("judge", **api_args(server, concurrency=4))
    assert same.fingerprint() == GeneratingJudge("judge", **api_args(server)).fingerprint()


def test_api_key_comes_from_the_named_variable_only(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_JUDGE_KEY", "s3cret-key")
    with ChatServer(always_a) as server:
        got = evaluate(tmp_path, "gen-judge:judge", ["core-pairwise"],
                       model_args=api_args(server, api_key_env="MY_JUDGE_KEY", concurrency=3), limit=4)  # fmt: skip
    assert {h["Authorization"] for h in server.headers_seen} == {"Bearer s3cret-key"}
    assert all(b["temperature"] == 0.0 and b["max_tokens"] == 256 for b in server.bodies)
    assert "s3cret" not in json.dumps(got["core-pairwise"][0])
    monkeypatch.delenv("MY_JUDGE_KEY")
    with pytest.raises(RmevalError, match="MY_JUDGE_KEY: that environment variable is not set"):
        GeneratingJudge("judge", **api_args(server, api_key_env="MY_JUDGE_KEY")).generator.api  # noqa: B018


def test_scalar_tasks_and_judge_options_are_refused(tmp_path):
    with pytest.raises(RmevalError, match="task 'rmbench' needs scalar rewards"):
        evaluate(tmp_path, "gen-judge:judge", ["rmbench"], data={"rmbench": str(DATA / "rmbench.jsonl")},
                 model_args={"backend": "local-chat-completions", "base_url": "http://127.0.0.1:9/v1"})  # fmt: skip
    with pytest.raises(RmevalError, match="both_orders=true applies to a generating judge"):
        evaluate(tmp_path, "length", ["core-pairwise"], task_args={"both_orders": "true"}, limit=2)
    bad = tmp_path / "t.txt"
    bad.write_text("{question} {nonsense}")
    with pytest.raises(RmevalError, match="max_length: only a local backend"):
        GeneratingJudge(
            "judge", backend="local-chat-completions", base_url="http://x", max_length=9
        )
    with pytest.raises(RmevalError, match="base_url: only an endpoint backend"):
        GeneratingJudge("./folder", base_url="http://x")
    with pytest.raises(RmevalError, match="unknown field"):
        GeneratingJudge("judge", pair_template=str(bad))


# -- real models: a local server and the hf backend -----------------------------------------------
def test_hf_backend_and_a_model_server_give_the_same_verdicts(tmp_path, lm_dirs):  # noqa: F811
    folder = lm_dirs["llama"]
    rows = [{"id": str(i), "prompt": f"q{i}", "chosen": "cat", "rejected": "dog"} for i in range(3)]
    path = tmp_path / "prefs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    tpl = tmp_path / "pair.txt"
    tpl.write_text("{question} A: {response_a} B: {response_b}")
    common = {"max_gen_toks": 6, "pair_template": str(tpl)}
    hf = evaluate(tmp_path / "hf", f"gen-judge:{folder}", ["pairwise"], data={"pairwise": str(path)},
                  model_args={**common, "device": "cpu"})  # fmt: skip
    with ChatServer(model_reply(folder, 6)) as server:
        api = evaluate(tmp_path / "api", "gen-judge:tiny", ["pairwise"], data={"pairwise": str(path)},
                       model_args={**common, **api_args(server)})  # fmt: skip
    gens = [[c["generation"] for c in ln["judge"]["calls"]] for ln in hf["pairwise"][1]]
    assert gens == [[c["generation"] for c in ln["judge"]["calls"]] for ln in api["pairwise"][1]]
    assert any(g[0] for g in gens)  # the tiny model does write something
    assert hf["pairwise"][0]["model"]["type"] == "gen-judge"
    assert hf["pairwise"][0]["counts"]["truncated"] == 0


def test_cli_runs_the_three_tasks_against_a_local_server(tmp_path):
    with ChatServer(always_a) as server:
        proc = subprocess.run(
            [sys.executable, "-m", "rmeval", "run", "--model", "gen-judge:judge",
             "--model-args", f"backend=local-chat-completions,base_url={server.url}",
             "--tasks", "master-keys,core-pairwise,rewardbench2", "--data", f"rewardbench2={RB2}",
             "--limit", "2", "--output-dir", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "c")],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    for task in ("master-keys", "core-pairwise", "rewardbench2"):
        assert re.search(rf"gen-judge:judge\s+{task}\s", proc.stdout)
    files = sorted(p.name for p in (tmp_path / "out").rglob("*.json"))
    assert files == ["core-pairwise.json", "master-keys.json", "rewardbench2.json"]
