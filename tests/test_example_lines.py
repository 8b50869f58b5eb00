"""Per-example fast paths: ``PairwiseTask``/``BestOfNTask.evaluate`` and the samples line give
exactly what the general rules give (values, types, bytes), for plain and unusual inputs."""

import itertools
import json
import math

import numpy as np
import pytest
from rmeval.harness import results
from rmeval.harness.metrics import best_of_n_credit, pairwise_credit
from rmeval.harness.records import Example, ExampleResult, Score
from rmeval.tasks.preference import BestOfNTask, PairwiseTask


def general_line(sample: ExampleResult) -> str:
    """The samples line as written before the fast path: ``json.dumps`` of ``to_dict()``."""
    d = sample.to_dict()
    try:
        return json.dumps(d, ensure_ascii=False, allow_nan=False) + "\n"
    except ValueError:
        return json.dumps(results._strict(d), ensure_ascii=False, allow_nan=False) + "\n"


def general_pairwise(values: list, ties: str) -> tuple:
    """(credit, tie, invalid) by the mean-over-rejected rule, as in the task's general path."""
    outcomes = [pairwise_credit(values[0], r, ties) for r in values[1:]]
    invalid = any(o[2] for o in outcomes)
    credit = None if invalid else sum(o[0] for o in outcomes) / len(outcomes)
    return credit, any(o[1] for o in outcomes), invalid


def test_a_plain_line_worked_out_by_hand():
    r = ExampleResult("r7", "default", [12.0, 0.1], 1.0, text_hashes=["ab", "cd"])
    assert results.sample_line(r) == (
        '{"id": "r7", "subset": "default", "scores": [12.0, 0.1], "credit": 1.0, "tie": false, '
        '"invalid": false, "truncated": false, "text_hashes": ["ab", "cd"]}\n'
    )


class Tag(str):
    """A str subclass (the encoder writes it as a plain string)."""


LINES = {
    "plain": {},
    "no credit": {"credit": None, "invalid": True},
    "odd strings": {"id": 'a"b\\c\n\u2028é😀\x00', "subset": Tag("s\tx")},
    "numpy floats": {"scores": [np.float64(0.1), np.float64(-2.5)], "credit": np.float64(0.5)},
    "tiny and huge": {"scores": [5e-324, -1.7976931348623157e308], "credit": 1 / 3},
    "nan score": {"scores": [math.nan, 1.0], "credit": None, "invalid": True},
    "inf credit": {"credit": math.inf},
    "int score": {"scores": [3, 1.0]},
    "array scores": {"scores": np.array([0.1, 2.0])},
    "tuple scores": {"scores": (0.1, 2.0)},
    "bool score": {"scores": [True, 1.0]},
    "int credit": {"credit": 1},
    "int flag": {"tie": 1},
    "truncated": {"truncated": True},
    "no hashes": {"text_hashes": []},
    "tuple hashes": {"text_hashes": ("x", "y")},
    "extra with nan": {"extra": {"margin": math.nan, "k": [1, 2]}},
    "int id": {"id": 17},
}


@pytest.mark.parametrize("case", LINES)
def test_samples_line_is_byte_identical_to_json_dumps(case):
    fields = {"id": "r1", "subset": "s", "scores": [1.5, 0.25], "credit": 1.0}
    fields |= {"text_hashes": ["0f" * 32, "a1" * 32]} | LINES[case]
    r = ExampleResult(**fields)
    assert results.sample_line(r) == general_line(r)


@pytest.mark.parametrize("field", ["tie", "text_hashes", "scores"])
def test_what_json_refuses_is_still_refused(field):
    bad = {"tie": np.True_, "text_hashes": {"a", "b"}, "scores": [1.0, "x"]}[field]
    r = ExampleResult(
        **{"id": "r", "subset": "s", "scores": [1.0, 2.0], "credit": 1.0} | {field: bad}
    )
    with pytest.raises(TypeError):
        general_line(r)
    with pytest.raises(TypeError):
        results.sample_line(r)


GRID = [0.0, -0.0, 1.0, -1.0, 0.5, 7, math.nan, math.inf, -math.inf, np.float64(0.5)]


@pytest.mark.parametrize("ties", ["strict", "half"])
def test_pairwise_evaluate_equals_the_general_rule(ties):
    task = PairwiseTask(ties=ties)
    ex = Example("e", "sub", "p", ("a", "b"))
    for a, b in itertools.product(GRID, GRID):
        got = task.evaluate(ex, [Score(a), Score(b)])
        credit, tie, invalid = general_pairwise([a, b], ties)
        assert (got.credit, got.tie, got.invalid, got.extra) == (credit, tie, invalid, {})
        assert (type(got.credit), type(got.tie)) == (type(credit), type(tie)), (a, b)
        assert got.scores == [a, b] or invalid  # NaN != NaN
    three = task.evaluate(
        Example("e", "s", "p", ("a", "b", "c")), [Score(2.0), Score(1.0), Score(2.0)]
    )
    assert (three.credit, three.tie) == ((1.0 + (0.5 if ties == "half" else 0.0)) / 2, True)


def test_pairwise_with_attributes_keeps_its_attribute_credit():
    task, ex = PairwiseTask(), Example("e", "s", "p", ("a", "b"))
    scores = [
        Score(1.0, attributes={"help": 0.9, "safe": 0.1}),
        Score(0.5, attributes={"help": 0.2, "safe": 0.4}),
    ]
    got = task.evaluate(ex, scores)
    assert got.extra == {"attribute_credit": {"help": 1.0, "safe": 0.0}}
    first, second = (
        task.evaluate(ex, [Score(1.0), Score(0.0)]),
        task.evaluate(ex, [Score(1.0), Score(0.0)]),
    )
    assert first.extra is not second.extra  # a subclass adds to it (core suite)


@pytest.mark.parametrize(
    "scores", [[3.0, 1.0, 3.0, 3.0], [1.0, 3.0, 2.0], [2.0, 2.0], [1, 1.0, 0], [0.5, math.nan, 1.0]]
)
def test_best_of_n_credit_for_lists_tuples_and_arrays(scores):
    def general(values):
        if any(not math.isfinite(s) for s in values):
            return None, False, True
        top = max(values)
        if values[0] != top:
            return 0.0, False, False
        k = sum(1 for s in values if s == top)
        return 1.0 / k, k > 1, False

    for values in (scores, tuple(scores), np.array(scores)):
        got, expected = best_of_n_credit(values), general(values)
        assert got == expected and [type(v) for v in got] == [type(v) for v in expected]
    ex = Example("e", "s", "p", tuple("abcde"[: len(scores)]))
    result = BestOfNTask().evaluate(ex, [Score(v) for v in scores])
    assert (result.credit, result.tie, result.invalid) == general(scores)
