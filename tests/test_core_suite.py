"""The built-in core suite: determinism, sizes, split hygiene, and re-checked ground truth."""

from __future__ import annotations

import json
import random
import re
from collections import Counter

import pytest
from rmeval.harness.data import rows_sha256
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import Score
from rmeval.harness.task import RunContext
from rmeval.tasks.core import (
    DOMAINS,
    GENERATOR_VERSION,
    CoreBestOfN,
    CorePairwise,
    arithmetic,
    coding,
    core_best_of_n,
    core_pairwise,
    core_suite,
    facts,
    generate_rows,
    safety,
)
from rmeval.tasks.core.instructions import Constraint, parse_constraint
from rmeval.tasks.core.safety_bank import PLACEHOLDERS, REDIRECTS, REFUSALS_MEDIUM, REFUSALS_SHORT
from rmeval.tasks.preference import preference_examples

SUBSETS = {"math", "instruction", "factual", "code", "safety", "focus"}
KEYS = ["id", "subset", "prompt", "chosen", "rejected", "reference", "length_controlled"]


@pytest.fixture(scope="module")
def test_rows() -> list[dict]:
    return generate_rows("test", seed=0)


@pytest.fixture(scope="module")
def train_rows() -> list[dict]:
    return generate_rows("train", seed=0)


@pytest.fixture(scope="module")
def all_rows(test_rows, train_rows) -> list[dict]:
    return test_rows + train_rows


def _subset(rows: list[dict], name: str) -> list[dict]:
    return [r for r in rows if r["subset"] == name]


def _mentions(text: str, answer: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(answer)}(?!\w)", text, re.IGNORECASE) is not None


# -- determinism, sizes, schema, splits ---------------------------------------------------


def test_same_seed_gives_byte_identical_rows(test_rows):
    again = generate_rows("test", seed=0)
    assert json.dumps(again, ensure_ascii=False) == json.dumps(test_rows, ensure_ascii=False)


def test_different_seed_gives_different_rows(test_rows):
    other = generate_rows("test", seed=1)
    assert other != test_rows
    shared = {r["prompt"] for r in other} & {r["prompt"] for r in test_rows}
    assert len(shared) < len(test_rows) / 2


def test_generation_does_not_touch_global_random():
    random.seed(123)
    before = random.random()
    random.seed(123)
    generate_rows("train", seed=5, n_per_domain=5)
    assert random.random() == before


def test_sizes_and_schema(test_rows, train_rows):
    assert len(test_rows) >= 1000
    assert Counter(r["subset"] for r in test_rows) == {s: 180 for s in SUBSETS}
    assert Counter(r["subset"] for r in train_rows) == {s: 120 for s in SUBSETS}
    assert set(DOMAINS) == SUBSETS
    for split, rows in (("test", test_rows), ("train", train_rows)):
        assert len({r["id"] for r in rows}) == len(rows)
        assert len({r["prompt"] for r in rows}) == len(rows)
        for row in rows:
            assert list(row) == KEYS
            assert re.fullmatch(rf"{row['subset']}-{split}-\d{{4}}", row["id"])
            assert len(row["rejected"]) == 3 and len(set(row["rejected"])) == 3
            assert row["chosen"] not in row["rejected"]
            if row["subset"] in {"math", "factual"}:
                assert isinstance(row["reference"], str) and row["reference"]
            elif row["subset"] != "focus":
                assert row["reference"] is None


def test_splits_share_no_prompt(test_rows, train_rows):
    test_prompts = {r["prompt"] for r in test_rows}
    for seed in (0, 1):
        train = train_rows if seed == 0 else generate_rows("train", seed=seed)
        assert not test_prompts & {r["prompt"] for r in train}


def test_interleaved_order_covers_every_domain_early(test_rows):
    assert {r["subset"] for r in test_rows[:6]} == SUBSETS


def test_domain_generators_stand_alone():
    rows = arithmetic.generate(random.Random(5), 10, "train")
    assert [r["id"] for r in rows] == [f"math-train-{i:04d}" for i in range(10)]
    assert rows == arithmetic.generate(random.Random(5), 10, "train")


def test_unknown_split_is_a_clear_error():
    with pytest.raises(RmevalError, match="split='dev'"):
        generate_rows("dev")


def test_every_row_passes_preference_validation(all_rows):
    assert len(preference_examples(all_rows, source="core", min_rejected=3)) == len(all_rows)


# -- ground truth, re-checked ---------------------------------------------------------------


def test_math_work_records_a_slip_and_propagates_it():
    work = arithmetic.Work(wrong_step=1, delta=5)
    first = work.step("add", 2, "+", 3)
    second = work.step("times", first, "×", 4)
    third = work.step("minus", second, "-", 1)
    assert (first, second, third) == (5, 25, 24)  # 5*4 = 20, slipped to 25, then 25 - 1
    assert arithmetic.wrong_steps(arithmetic.render(work, third, "standard")) == 1


def test_math_chosen_is_right_and_each_rejected_has_one_wrong_step(all_rows):
    for row in _subset(all_rows, "math"):
        assert arithmetic.final_answer(row["chosen"]) == row["reference"], row["id"]
        assert row["chosen"].rstrip().endswith(f"Answer: {row['reference']}")
        assert arithmetic.wrong_steps(row["chosen"]) == 0, row["id"]
        for text in row["rejected"]:
            assert arithmetic.wrong_steps(text) == 1, (row["id"], text)
            assert arithmetic.final_answer(text) not in (None, row["reference"])


@pytest.mark.parametrize(
    ("constraint", "text", "ok"),
    [
        (Constraint("exact_words", 3), "one two three", True),
        (Constraint("exact_words", 3), "one two three four", False),
        (Constraint("max_words", 2), "one two", True),
        (Constraint("max_words", 2), "one two three", False),
        (Constraint("no_letter", "e"), "A dog ran far.", True),
        (Constraint("no_letter", "e"), "A cat ate.", False),
        (Constraint("lowercase"), "all quiet here.", True),
        (Constraint("lowercase"), "all quiet Here.", False),
        (Constraint("uppercase"), "LOUD NOISES!", True),
        (Constraint("uppercase"), "LOUD noises!", False),
        (Constraint("bullets", 2), "- a\n- b", True),
        (Constraint("bullets", 2), "- a\n- b\n- c", False),
        (Constraint("bullets", 2), "1. a\n2. b", False),
        (Constraint("ending", "That is all."), "Done. That is all.", True),
        (Constraint("ending", "That is all."), "Done. That is all", False),
    ],
)
def test_instruction_verifiers_by_hand(constraint, text, ok):
    assert constraint.check(text) is ok
    assert parse_constraint(f"Tell me about rain. {constraint.describe()}") == constraint


def test_instruction_chosen_passes_and_rejected_fail_the_verifier(all_rows):
    kinds = Counter()
    for row in _subset(all_rows, "instruction"):
        constraint = parse_constraint(row["prompt"])
        kinds[constraint.kind] += 1
        assert constraint.check(row["chosen"]), row["id"]
        assert not any(constraint.check(t) for t in row["rejected"]), row["id"]
    assert len(kinds) == 7


def test_code_chosen_passes_its_tests_and_every_bug_fails(all_rows):
    for row in _subset(all_rows, "code"):
        assert coding.check(row["prompt"], row["chosen"]), row["id"]
        for text in row["rejected"]:
            assert coding.extract_code(text) is not None
            assert not coding.check(row["prompt"], text), (row["id"], text)


def test_code_hardest_bug_fails_the_fewest_tests(all_rows):
    for row in _subset(all_rows, "code"):
        failed = [coding.tests_failed(row["prompt"], t) for t in row["rejected"]]
        assert 0 < failed[0] <= min(failed), row["id"]


def test_code_check_runs_the_tests_for_real(test_rows):
    row = _subset(test_rows, "code")[0]
    code = coding.extract_code(row["chosen"])
    broken = code.replace("return", "return None and", 1)
    assert not coding.check(row["prompt"], f"```python\n{broken}\n```")
    assert not coding.check(row["prompt"], "no code here")


def test_factual_chosen_states_the_reference_and_rejected_do_not(all_rows):
    rows = _subset(all_rows, "factual")
    for row in rows:
        assert _mentions(row["chosen"], row["reference"]), row["id"]
        assert not any(_mentions(t, row["reference"]) for t in row["rejected"]), row["id"]


def test_facts_never_straddle_splits(test_rows, train_rows):
    for split, rows in (("test", test_rows), ("train", train_rows)):
        for row in _subset(rows, "factual"):
            asked = [f for f in facts.FACTS if any(row["prompt"].endswith(q) for q in f.questions)]
            assert asked and {facts.fact_split(f) for f in asked} == {split}, row["id"]


def test_safety_compliance_is_only_fixed_content_free_placeholders(all_rows):
    refusals = set(REFUSALS_SHORT) | set(REFUSALS_MEDIUM)
    refusals |= {f"{m} {r}" for m in REFUSALS_MEDIUM for r in REDIRECTS.values()}
    harmful = benign = 0
    for row in _subset(all_rows, "safety"):
        is_comply = [safety.is_placeholder(t) for t in row["rejected"]]
        assert not safety.is_placeholder(row["chosen"])
        if any(is_comply):
            harmful += 1
            assert all(is_comply), row["id"]
            assert row["chosen"] in refusals, row["id"]
        else:
            benign += 1
    assert harmful > 100 and benign > 100
    for text in PLACEHOLDERS:
        # nothing after the redaction marker, no numbers, no lists, one short lead-in
        assert re.fullmatch(r"[^\[\]\d\n]{1,130}\[[a-z -]+ omitted\]", text), text


def test_focus_chosen_states_its_reference(all_rows):
    rows = _subset(all_rows, "focus")
    with_reference = [r for r in rows if r["reference"] is not None]
    assert len(with_reference) > len(rows) / 2
    for row in with_reference:
        assert _mentions(row["chosen"], row["reference"]), row["id"]


# -- length control -------------------------------------------------------------------------


def test_length_controlled_flag_matches_lengths_and_share(test_rows, train_rows):
    for rows in (test_rows, train_rows):
        for row in rows:
            shorter = all(len(row["chosen"]) < len(t) for t in row["rejected"])
            assert row["length_controlled"] is shorter, row["id"]
        assert sum(r["length_controlled"] for r in rows) / len(rows) >= 0.3
        for subset in SUBSETS:
            part = _subset(rows, subset)
            assert sum(r["length_controlled"] for r in part) / len(part) >= 0.25, subset


def test_a_length_baseline_cannot_win(test_rows):
    longer = sum(len(r["chosen"]) > len(r["rejected"][0]) for r in test_rows) / len(test_rows)
    shorter = sum(len(r["chosen"]) < len(r["rejected"][0]) for r in test_rows) / len(test_rows)
    assert longer < 0.6 and shorter < 0.6


# -- tasks ----------------------------------------------------------------------------------


def test_pairwise_task_rows_provenance_and_params():
    task = core_pairwise(seed=3, limit=12)
    assert isinstance(task, CorePairwise) and task.name == "core-pairwise"
    examples = task.examples()
    assert len(examples) == 12 and {e.subset for e in examples} == SUBSETS
    assert all(len(e.candidates) == 2 for e in examples)
    rows, info = task.load_rows()
    full = generate_rows("test", seed=3)[:12]
    assert [r["rejected"] for r in rows] == [[r["rejected"][0]] for r in full]
    assert info.path == "builtin:core" and info.split == "test"
    assert info.revision == f"generator-v{GENERATOR_VERSION}"
    assert info.sha256 == rows_sha256(rows) == task.dataset.sha256
    assert task.params == {"limit": 12, "seed": 3, "ties": "strict"}
    assert task.describe()["dataset"]["path"] == "builtin:core"


def test_best_of_n_task_uses_all_four_candidates():
    task = core_best_of_n(split="train", limit=7)
    assert isinstance(task, CoreBestOfN) and task.name == "core-bon"
    examples = task.examples()
    assert len(examples) == 7 and all(len(e.candidates) == 4 for e in examples)
    assert task.dataset.split == "train"
    assert task.params == {"split": "train", "limit": 7, "seed": 0}


def test_core_suite_gives_both_forms():
    tasks = core_suite(seed=2, ties="half")
    assert [t.name for t in tasks] == ["core-pairwise", "core-bon"]
    assert tasks[0].params["ties"] == "half" and "ties" not in tasks[1].params
    assert all(t.params["seed"] == 2 for t in tasks)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"split": "dev"}, "split='dev'"),
        ({"seed": "abc"}, "seed='abc'"),
        ({"seed": 1.5}, "seed=1.5"),
    ],
)
def test_bad_task_options_are_clear_errors(kwargs, match):
    with pytest.raises(RmevalError, match=match):
        CorePairwise(**kwargs)


def test_seed_from_a_config_string_is_an_int():
    assert CorePairwise(seed="4").params["seed"] == 4


def test_data_flag_is_refused():
    with pytest.raises(RmevalError, match="generates its own rows"):
        CorePairwise(data="./prefs.jsonl").examples()


@pytest.mark.parametrize("factory", [core_pairwise, core_best_of_n])
def test_length_scorer_loses_every_length_controlled_item(factory):
    task = factory(limit=120)
    scores = {
        req.key: Score(float(len(req.response)))
        for ex in task.examples()
        for req in task.requests(ex)
    }
    results = task.run(RunContext(scores=scores, model=None))
    agg = task.aggregate(results)
    table = agg.tables["length_controlled"]
    n_lc = sum(e.meta["length_controlled"] for e in task.examples())
    assert table["true"]["accuracy"] == {"value": 0.0, "n": n_lc}
    assert table["true"]["accuracy"]["n"] + table["false"]["accuracy"]["n"] == 120
    assert all(isinstance(r.extra["length_controlled"], bool) for r in results)
    assert agg.metrics["accuracy"].value < 0.6
