"""STARC / EPIC: tabular properties on random MDPs, hand-worked values, bandit form, task."""

from __future__ import annotations

import itertools
import json
import math
import os
import sys
import types

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import numpy as np
import pytest
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import Score, ScoreRequest
from rmeval.harness.task import RunContext
from rmeval.tasks.starc import (
    bandit,
    canonicalize,
    epic_distance,
    standardize,
    starc,
    starc_distance,
)

SIZES = [(2, 2), (3, 2), (4, 3), (5, 4), (7, 3)]
GAMMAS = [0.0, 0.5, 0.9, 0.99]
CONFIGS = [(m, n, p) for m in ("val", "epic") for n in (1, 2, math.inf) for p in (1, 2, math.inf)]


def random_mdp(rng: np.random.Generator, S: int, A: int, deterministic: bool = False):
    if deterministic:
        T = np.zeros((S, A, S))
        T[np.arange(S)[:, None], np.arange(A)[None, :], rng.integers(0, S, (S, A))] = 1.0
    else:
        T = rng.dirichlet(np.ones(S) * 0.5, size=(S, A))
    return T, rng.normal(size=(S, A, S))


def mdps(n: int = 60, seed: int = 0, gammas=GAMMAS):
    """n random (T, R, gamma) over several sizes and discounts, some with deterministic T."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        S, A = SIZES[i % len(SIZES)]
        T, R = random_mdp(rng, S, A, deterministic=i % 4 == 3)
        yield T, R, gammas[i % len(gammas)], rng


def shaped(R, Phi, gamma):
    return R + gamma * Phi[None, None, :] - Phi[:, None, None]


def optimal_actions(R, T, gamma, rtol=1e-9):
    """Optimal action sets per state by value iteration (to 1e-12 relative)."""
    r = (T * R).sum(axis=2)
    Q = np.zeros(R.shape[:2])
    for _ in range(100_000):
        new = r + gamma * np.einsum("sax,x->sa", T, Q.max(axis=1))
        scale = max(1.0, np.abs(new).max())
        if np.abs(new - Q).max() < 1e-12 * scale:
            break
        Q = new
    else:
        raise AssertionError("value iteration did not converge")
    return [frozenset(np.flatnonzero(q >= q.max() - rtol * scale)) for q in new]


# -- invariances -----------------------------------------------------------------------------
def test_zero_distance_under_potential_shaping_and_positive_scaling():
    for T, R, gamma, rng in mdps():
        Phi = rng.normal(size=R.shape[0]) * 3
        R2 = rng.uniform(0.1, 10) * shaped(R, Phi, gamma)
        for method, norm, metric in CONFIGS:
            assert starc_distance(R, R2, T, gamma, method, norm, metric) < 1e-8
        assert epic_distance(R, R2, T, gamma) < 1e-6
        # and a negative scaling is the farthest point, not an equivalent reward
        assert starc_distance(R, -R, T, gamma) == pytest.approx(2.0)


def test_positive_distance_when_optimal_policies_differ():
    checked = 0
    # gamma 0.99 would need ~2,750 value-iteration sweeps per reward; 0.95 keeps this fast
    for T, R, gamma, rng in mdps(80, seed=1, gammas=(0.0, 0.5, 0.9, 0.95)):
        pi = optimal_actions(R, T, gamma)
        # equivalent reward: the test's value iteration must agree that nothing changed
        assert optimal_actions(shaped(R, rng.normal(size=len(pi)), gamma), T, gamma) == pi
        # make the optimal action of state 0 worse than every other action there
        R2 = R.copy()
        a = min(pi[0])
        R2[0, a, :] -= 2 * np.abs(R).max() / (1 - gamma) + 1
        for other in (R2, rng.normal(size=R.shape)):
            if optimal_actions(other, T, gamma) == pi:
                continue
            checked += 1
            for method, norm, metric in CONFIGS:
                assert starc_distance(R, other, T, gamma, method, norm, metric) > 1e-3
            assert epic_distance(R, other, T, gamma) > 1e-3
    assert checked >= 100


def pair_distances(rewards, T, gamma):
    """{name: d} with d[i][j] the distance from rewards[i] to rewards[j], every config."""
    n = range(len(rewards))
    out = {
        c: [[starc_distance(rewards[i], rewards[j], T, gamma, *c) for j in n] for i in n]
        for c in CONFIGS
    }
    out["epic"] = [[epic_distance(rewards[i], rewards[j], T, gamma) for j in n] for i in n]
    return out


def test_symmetry_and_triangle_inequality():
    for T, R, gamma, rng in mdps(50, seed=2):
        rewards = (R, R + 0.5 * rng.normal(size=R.shape), rng.normal(size=R.shape))
        for d in pair_distances(rewards, T, gamma).values():
            for x, y, z in itertools.permutations(range(3)):
                assert d[x][y] == pytest.approx(d[y][x], abs=1e-12)
                assert d[x][z] <= d[x][y] + d[y][z] + 1e-12


def test_val_canonical_is_idempotent_and_independent_of_next_state():
    for T, R, gamma, _ in mdps(50, seed=3):
        for method in ("val", "epic"):
            C = canonicalize(R, T, gamma, method)
            np.testing.assert_allclose(canonicalize(C, T, gamma, method), C, atol=1e-9)
        C = canonicalize(R, T, gamma, "val")
        np.testing.assert_array_equal(C, np.broadcast_to(C[:, :, :1], C.shape))


def test_val_ignores_next_state_redistribution_but_epic_does_not():
    for T, R, gamma, rng in mdps(20, seed=4):
        D = rng.normal(size=R.shape)
        D -= (T * D).sum(axis=2, keepdims=True)  # E_{S'~T(s,a)} D(s,a,S') = 0
        assert starc_distance(R, R + D, T, gamma, "val") < 1e-8
        assert epic_distance(R, R + D, T, gamma) > 1e-3


def test_reward_equivalent_to_zero_canonicalises_to_exact_zeros():
    for T, R, gamma, rng in mdps(20, seed=5):
        pure = shaped(np.zeros_like(R), rng.normal(size=R.shape[0]), gamma) + 0.0
        for method in ("val", "epic"):
            assert not canonicalize(pure, T, gamma, method).any()
            assert not standardize(pure, T, gamma, method).any()
            assert starc_distance(pure, np.zeros_like(R), T, gamma, method) == 0.0
            assert starc_distance(pure, R, T, gamma, method) == pytest.approx(1.0)
        assert epic_distance(pure, 3 * np.ones_like(R), T, gamma) == 0.0
        assert epic_distance(pure, R, T, gamma) == pytest.approx(math.sqrt(0.5))


def test_starc_epic_l2_is_twice_epic_distance():
    # EPIC-canonical rewards have mean 0, so Pearson = cosine and ||x^ - y^|| = sqrt(2 - 2 rho)
    for T, R, gamma, rng in mdps(30, seed=6):
        R2 = rng.normal(size=R.shape)
        expect = 2 * epic_distance(R, R2, T, gamma)
        assert starc_distance(R, R2, T, gamma, "epic") == pytest.approx(expect, abs=1e-9)
        assert starc_distance(R, R2, T, gamma, "epic", scale=0.5) == pytest.approx(expect / 2)


# -- slow reference implementations ----------------------------------------------------------
def slow_epic(R, gamma):
    S, A, _ = R.shape
    C = np.zeros_like(R)
    for s, a, s2 in itertools.product(range(S), range(A), range(S)):
        e = 0.0
        for x, b, y in itertools.product(range(S), range(A), range(S)):  # S, A, S' uniform
            e += gamma * R[s2, b, y] - R[s, b, y] - gamma * R[x, b, y]
        C[s, a, s2] = R[s, a, s2] + e / (S * A * S)
    return C


def slow_val(R, T, gamma):
    """Iterative policy evaluation of the uniform policy to 1e-10, then explicit loops."""
    S, A, _ = R.shape
    V = np.zeros(S)
    while True:
        new = np.array(
            [
                sum(T[s, a, y] * (R[s, a, y] + gamma * V[y]) for a in range(A) for y in range(S))
                / A
                for s in range(S)
            ]
        )
        if np.abs(new - V).max() < 1e-12:
            break
        V = new
    C = np.zeros_like(R)
    for s, a, s2 in itertools.product(range(S), range(A), range(S)):
        C[s, a, s2] = sum(T[s, a, y] * (R[s, a, y] + gamma * V[y]) for y in range(S)) - V[s]
    return C


def test_vectorised_canonicalisations_match_explicit_loops():
    for T, R, gamma, _ in mdps(12, seed=7):
        np.testing.assert_allclose(
            canonicalize(R, T, gamma, "epic"), slow_epic(R, gamma), atol=1e-12
        )
        np.testing.assert_allclose(
            canonicalize(R, T, gamma, "val"), slow_val(R, T, gamma), atol=1e-9
        )


# -- hand-worked 2-state MDP -----------------------------------------------------------------
# States {0, 1}, actions {0: stay, 1: switch}, deterministic, gamma = 1/2.
# R1 = 1 only for switching from 0 to 1. Uniform policy: r_pi = (1/2, 0), every row of P_pi is
# (1/2, 1/2), so V0 = 1/2 + (V0 + V1)/4 and V1 = (V0 + V1)/4, giving V = (3/4, 1/4).
# VAL: C(0,stay) = 0 + V0/2 - V0 = -3/8; C(0,switch) = 1 + V1/2 - V0 = 3/8;
#      C(1,stay) = V1/2 - V1 = -1/8;     C(1,switch) = V0/2 - V1 = 1/8   (each for both s').
# EPIC: m(s) = mean_{a,s''} R1(s,a,s'') = (1/4, 0), mean R1 = 1/8, so
#      C = R1 + m(s')/2 - m(s) - 1/16: (0,a,0) -> -3/16, (0,0,1) -> -5/16, (0,1,1) -> 11/16,
#      (1,a,0) -> 1/16, (1,a,1) -> -1/16.
# R2 = 1 for landing in state 1: r_pi = (1/2, 1/2), V = (1, 1), C = R2 + 1/2 - 1 = +-1/2 with
# signs (0,stay) -, (0,switch) +, (1,stay) +, (1,switch) -.  Entry norms (each value twice):
# ||C1||^2 = 2 (9 + 9 + 1 + 1)/64 = 5/8, ||C2||^2 = 8/4 = 2, <C1, C2> = 2 (3+3-1-1)/16 = 1/2,
# cos = (1/2) / sqrt(5/4) = 1/sqrt(5), so STARC-VAL (L2, L2) = sqrt(2 - 2/sqrt(5)).
T2 = np.zeros((2, 2, 2))
T2[0, 0, 0] = T2[0, 1, 1] = T2[1, 0, 1] = T2[1, 1, 0] = 1.0
R_SWITCH = np.zeros((2, 2, 2))
R_SWITCH[0, 1, 1] = 1.0
R_LAND = np.zeros((2, 2, 2))
R_LAND[:, :, 1] = 1.0


def test_hand_worked_two_state_example():
    val = np.array([[-3, 3], [-1, 1]]) / 8
    np.testing.assert_allclose(
        canonicalize(R_SWITCH, T2, 0.5, "val"), np.repeat(val[:, :, None], 2, 2)
    )
    epic = np.array([[[-3, -5], [-3, 11]], [[1, -1], [1, -1]]]) / 16
    np.testing.assert_allclose(canonicalize(R_SWITCH, T2, 0.5, "epic"), epic)
    land = np.array([[-1, 1], [1, -1]]) / 2
    np.testing.assert_allclose(
        canonicalize(R_LAND, T2, 0.5, "val"), np.repeat(land[:, :, None], 2, 2)
    )
    np.testing.assert_allclose(
        standardize(R_SWITCH, T2, 0.5), np.repeat(val[:, :, None], 2, 2) / math.sqrt(5 / 8)
    )
    expect = math.sqrt(2 - 2 / math.sqrt(5))
    assert starc_distance(R_SWITCH, R_LAND, T2, 0.5) == pytest.approx(expect, rel=1e-12)
    assert starc_distance(R_SWITCH, R_LAND, T2, 0.5, scale=0.5) == pytest.approx(expect / 2)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"R": np.zeros((2, 2))}, "shape"),
        ({"R": np.full((2, 2, 2), np.nan)}, "NaN"),
        ({"T": T2 * 0.5}, "T[0, 0, :] sums to 0.5"),
        ({"T": np.zeros((3, 2, 3))}, "must match"),
        ({"gamma": 1.0}, "[0, 1)"),
        ({"method": "vall"}, "'epic' or 'val'"),
        ({"norm": 3}, "norm=3"),
    ],
)
def test_bad_input_is_refused_clearly(kwargs, needle):
    args = {"R": R_SWITCH, "T": T2, "gamma": 0.5, "method": "val", "norm": 2} | kwargs
    with pytest.raises(ValueError) as info:
        standardize(**args)
    assert needle in str(info.value)
    assert isinstance(info.value, RmevalError)


# -- reward models: the bandit form ----------------------------------------------------------
def random_pools(rng, n=20, lo=2, hi=6):
    return [list(rng.normal(size=rng.integers(lo, hi + 1))) for _ in range(n)]


def test_bandit_starc_is_twice_epic_and_matches_tabular_form():
    rng = np.random.default_rng(10)
    for _ in range(30):
        a = random_pools(rng)
        b = [list(np.array(x) + rng.normal(size=len(x))) for x in a]
        assert bandit.starc_l2(a, b) == pytest.approx(2 * bandit.epic(a, b), abs=1e-12)
    # equal pool sizes: a one-step MDP with gamma = 0 gives the same numbers
    a, b = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    T = np.full((6, 4, 6), 1 / 6)
    Ra, Rb = (np.repeat(x[:, :, None], 6, axis=2) for x in (a, b))
    assert bandit.starc_l2(a, b) == pytest.approx(starc_distance(Ra, Rb, T, 0.0), abs=1e-12)
    assert bandit.epic(a, b) == pytest.approx(epic_distance(Ra, Rb, T, 0.0), abs=1e-12)


def test_bandit_invariances():
    rng = np.random.default_rng(11)
    a = random_pools(rng)
    moved = [list(3.7 * np.array(x) + rng.normal() * 10) for x in a]
    assert bandit.starc_l2(a, moved) < 1e-12
    assert bandit.epic(a, moved) < 1e-6
    # a different positive scale per prompt is not an equivalence
    warped = [list(np.array(x) * rng.uniform(0.1, 10)) for x in a]
    assert bandit.starc_l2(a, warped) > 1e-3
    # hand-worked: centred a = [1, -1] and [-1, 1, 0]; norms^2 2 and 2 -> rho = ...
    x, y = [[3.0, 1.0], [0.0, 2.0, 1.0]], [[0.0, 2.0], [1.0, 1.0, 1.0]]
    # centred x = [1,-1],[-1,1,0]; y = [-1,1],[0,0,0]: <x,y> = -2, |x| = 2, |y| = sqrt 2
    rho = -2 / (2 * math.sqrt(2))
    assert bandit.epic(x, y) == pytest.approx(math.sqrt((1 - rho) / 2))
    assert bandit.starc_l2(x, y) == pytest.approx(math.sqrt(2 - 2 * rho))


def test_bandit_degenerate_rewards_follow_the_stated_convention():
    ties = [[0.1, 0.1, 0.1], [2.0, 2.0]]
    assert all(not c.any() for c in bandit.center(ties))
    other = [[1.0, 0.0, 0.5], [0.0, 1.0]]
    assert bandit.starc_l2(ties, other) == pytest.approx(1.0)
    assert bandit.epic(ties, other) == pytest.approx(math.sqrt(0.5))
    assert bandit.starc_l2(ties, [[5.0] * 3, [1.0] * 2]) == 0.0
    moments = bandit.prompt_moments(ties, other)
    assert bandit.distances_from_moments(moments) == (1.0, math.sqrt(0.5))
    assert bandit.distances_from_moments(moments[:, [0, 0, 2]]) == (0.0, 0.0)
    with pytest.raises(RmevalError, match=r"scores\[1\] has 1 candidate"):
        bandit.center([[1.0, 2.0], [1.0]])
    with pytest.raises(RmevalError, match="NaN"):
        bandit.epic([[1.0, float("nan")]], [[1.0, 2.0]])


def test_bootstrap_moments_reproduce_direct_distances():
    rng = np.random.default_rng(12)
    a = random_pools(rng, n=15)
    b = [list(np.array(x) + rng.normal(size=len(x))) for x in a]
    m = bandit.prompt_moments(a, b)
    s, e = bandit.distances_from_moments(m)
    assert s == pytest.approx(bandit.starc_l2(a, b)) and e == pytest.approx(bandit.epic(a, b))
    idx = rng.integers(0, 15, 15)
    s, e = bandit.distances_from_moments(m[idx])
    assert s == pytest.approx(bandit.starc_l2([a[i] for i in idx], [b[i] for i in idx]))
    assert e == pytest.approx(bandit.epic([a[i] for i in idx], [b[i] for i in idx]))
    out = bandit.bootstrap_distances(a, b, seed=0)
    for key in ("starc_distance", "epic_distance"):
        lo, hi = out[key].ci95
        assert lo <= out[key].value <= hi and out[key].n == 15
    assert out == bandit.bootstrap_distances(a, b, seed=0)


def test_distance_matrix():
    rng = np.random.default_rng(13)
    ids = [f"q{i}" for i in range(12)]
    base = {i: list(rng.normal(size=4)) for i in ids}
    models = {
        "m-a": base,
        "m-b": {i: list(2 * np.array(v) + 5) for i, v in base.items()},
        "m-c": {i: list(rng.normal(size=4)) for i in ids},
    }
    out = bandit.distance_matrix(models)
    assert out["models"] == ["m-a", "m-b", "m-c"] and out["n_prompts"] == 12
    assert out["convention"] == bandit.CONVENTION and out["n_dropped"] == 0
    S, E = np.array(out["starc"]), np.array(out["epic"])
    for M in (S, E):
        np.testing.assert_array_equal(M, M.T)
        np.testing.assert_array_equal(np.diag(M), 0.0)
    assert S[0, 1] < 1e-12 and S[0, 2] > 0.1
    a, c = [base[i] for i in sorted(ids)], [models["m-c"][i] for i in sorted(ids)]
    assert S[0, 2] == bandit.starc_l2(a, c) and E[2, 0] == bandit.epic(a, c)
    np.testing.assert_allclose(S[E > 1e-6], 2 * E[E > 1e-6])
    json.dumps(out, allow_nan=False)

    nan = {**models, "m-c": {**models["m-c"], "q3": [float("nan"), 1.0, 2.0, 3.0]}}
    assert bandit.distance_matrix(nan)["n_dropped"] == 1
    assert bandit.distance_matrix(nan)["n_prompts"] == 11
    missing = {**models, "m-c": {i: v for i, v in models["m-c"].items() if i != "q0"}}
    with pytest.raises(RmevalError, match="models 'm-a' and 'm-c' were scored on different items"):
        bandit.distance_matrix(missing)
    short = {**models, "m-b": {**models["m-b"], "q5": [1.0, 2.0, 3.0]}}
    with pytest.raises(RmevalError, match="item 'q5' has different candidate counts"):
        bandit.distance_matrix(short)
    with pytest.raises(RmevalError, match="at least two models"):
        bandit.distance_matrix({"m-a": base})


# -- the per-model task ----------------------------------------------------------------------
# p1 (subset a): truth [1, 0] -> centred [1/2, -1/2]; model [3, 1] -> [1, -1].
# p2 (subset b): truth [1, 0, 0] -> [2/3, -1/3, -1/3]; model [0, 2, 1] -> [-1, 1, 0].
# p3 (subset a): a NaN score -> invalid, excluded, counted.
# ||x||^2 = 1/2 + 2/3 = 7/6, ||y||^2 = 4, <x, y> = 1 - 1 = 0 -> rho = 0:
# STARC = sqrt(2), EPIC = sqrt(1/2). Credits: p1 = (1/2)/(7/6) + 2/4 - 2 (1)/(2 sqrt(7/6)),
# p2 = (2/3)/(7/6) + 2/4 + 2 (1)/(2 sqrt(7/6)); they sum to 2 = STARC^2.
# Subset a alone: x and y are parallel -> 0 and 0. Subset b alone: <x,y> = -1, ||x|| = sqrt(2/3),
# ||y|| = sqrt(2), rho = -sqrt(3)/2 -> STARC = sqrt(2 + sqrt 3), EPIC = sqrt((1 + sqrt(3)/2) / 2).
ROWS = [
    {"id": "p1", "subset": "a", "prompt": "1+1?", "chosen": "2", "rejected": ["3"]},
    {"id": "p2", "subset": "b", "prompt": "2+2?", "chosen": "4", "rejected": ["5", "6"]},
    {"id": "p3", "subset": "a", "prompt": "3+3?", "chosen": "6", "rejected": ["7"]},
]
MODEL = {"p1": [3.0, 1.0], "p2": [0.0, 2.0, 1.0], "p3": [float("nan"), 1.0]}


@pytest.fixture(scope="module")
def task_and_scores(tmp_path_factory):
    path = tmp_path_factory.mktemp("starc") / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    task = starc(data=str(path))
    scores = {}
    for ex in task.examples():
        for req, v in zip(task.requests(ex), MODEL[ex.id], strict=True):
            scores[req.key] = Score(v)
    return task, scores


def test_task_matches_hand_computed_values(task_and_scores):
    task, scores = task_and_scores
    results = task.run(RunContext(scores=scores, model=None))
    agg = task.aggregate(results, seed=0)
    assert agg.metrics["starc_distance"].value == pytest.approx(math.sqrt(2))
    assert agg.metrics["epic_distance"].value == pytest.approx(math.sqrt(0.5))
    assert agg.metrics["starc_distance"].n == 2 and agg.counts["invalid"] == 1
    lo, hi = agg.metrics["starc_distance"].ci95
    assert lo <= math.sqrt(2) <= hi
    k = 1 / math.sqrt(7 / 6)
    credits = {r.id: r.credit for r in results}
    assert credits["p1"] == pytest.approx(3 / 7 + 1 / 2 - k)
    assert credits["p2"] == pytest.approx(4 / 7 + 1 / 2 + k)
    assert credits["p3"] is None
    assert agg.by_subset["a"]["starc_distance"] == {"value": pytest.approx(0.0, abs=1e-12), "n": 1}
    assert agg.by_subset["b"]["starc_distance"]["value"] == pytest.approx(
        math.sqrt(2 + math.sqrt(3))
    )
    assert agg.by_subset["b"]["epic_distance"]["value"] == pytest.approx(
        math.sqrt((1 + math.sqrt(3) / 2) / 2)
    )
    assert agg.tables["convention"] == bandit.CONVENTION
    assert task.main_score == "starc_distance" and task.higher_is_better is False
    assert results[1].to_dict()["ground_truth"] == [1.0, 0.0, 0.0]


def test_task_perfect_model_up_to_offsets_and_scale_is_at_distance_zero(task_and_scores):
    task, _ = task_and_scores
    exs = [ex for ex in task.examples() if ex.id != "p3"]
    results = [
        task.evaluate(ex, [Score(7.0 * t - i) for t in [1.0] + [0.0] * (len(ex.candidates) - 1)])
        for i, ex in enumerate(exs)
    ]
    agg = task.aggregate(results)
    assert agg.metrics["starc_distance"].value < 1e-12
    assert agg.metrics["epic_distance"].value < 1e-6


def test_task_defaults_to_core_best_of_4_rows(monkeypatch):
    calls = []

    def generate_rows(split, seed):
        calls.append((split, seed))
        return [dict(r, rejected=[r["rejected"][0], "x", "y"]) for r in ROWS]

    monkeypatch.setitem(
        sys.modules, "rmeval.tasks.core", types.SimpleNamespace(generate_rows=generate_rows)
    )
    task = starc(seed=3, limit=2)
    exs = task.examples()
    assert calls == [("test", 3)] and [e.id for e in exs] == ["p1", "p2"]
    assert all(len(e.candidates) == 4 for e in exs)
    assert task.params == {"seed": 3, "limit": 2}
    assert task.describe()["dataset"]["path"] == "builtin:core"
    assert ScoreRequest(exs[0].prompt, exs[0].candidates[0]).key == task.requests(exs[0])[0].key


def test_task_on_the_real_core_suite():
    from rmeval.tasks.core import generate_rows

    rows = generate_rows("test", 0)
    task = starc(limit=50)
    exs = task.examples()
    assert len(exs) == min(50, len(rows)) and all(len(e.candidates) == 4 for e in exs)
    rng = np.random.default_rng(0)
    results = [task.evaluate(e, [Score(float(v)) for v in rng.normal(size=4)]) for e in exs]
    agg = task.aggregate(results)
    assert 0 < agg.metrics["starc_distance"].value < 2


def test_compare_takes_its_distance_from_the_task_plugin_it_names(tmp_path):
    from rmeval.harness.compare import distances, load_runs
    from rmeval.tasks.preference import PairwiseTask
    from rmeval.tasks.starc import StarcTask
    from rmeval.tasks.starc.bandit import distance_matrix

    from tests.test_compare import A_CREDITS, B_CREDITS, SUBSETS, pair_samples, write_run

    write_run(tmp_path / "a", "pairwise", pair_samples(A_CREDITS, SUBSETS))
    write_run(tmp_path / "b", "pairwise", pair_samples(B_CREDITS, SUBSETS))
    runs = load_runs([tmp_path / "a", tmp_path / "b"])
    asked: list[str] = []

    def loader(name, **params):
        asked.append(name)
        return [StarcTask() if name == "starc" else PairwiseTask()]

    got = distances(runs, "starc", loader=loader)
    scores = {r.label: {i: s.scores for i, s in r.tasks["pairwise"].samples.items()} for r in runs}
    assert asked == ["starc"] and got == distance_matrix(scores) | {"task": "pairwise"}
    assert StarcTask.distance(scores) == distance_matrix(scores)
    with pytest.raises(RmevalError, match="task 'pairwise' has no distance"):
        distances(runs, "pairwise", loader=loader)
