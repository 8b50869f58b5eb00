"""STARC and EPIC for reward models: the contextual-bandit case.

A prompt is a state and a candidate response an action; the episode ends after one step, so
potential shaping is a per-prompt offset and VAL canonicalisation (uniform policy over a
prompt's candidates) subtracts the per-prompt mean reward. Standardisation then divides the
centred rewards by their L2 norm over all (prompt, response) entries; STARC-L2 is the L2
distance of two standardised rewards, in [0, 2]. The centred rewards have mean 0 overall, so
their Pearson correlation rho is the cosine of the angle between them and
STARC-L2 = sqrt(2 - 2 rho) = 2 * EPIC whenever neither reward is constant on every prompt.

Conventions for degenerate input: a prompt whose candidates all tie centres to exact zeros; a
reward that is constant on every prompt standardises to zeros (STARC 1 to any other reward, 0
to another such reward; EPIC sqrt(1/2) and 0). Prompts with fewer than two candidates or with a
NaN/inf score are refused by the functions that take two score lists; ``distance_matrix``
drops items with a NaN/inf score in any model (for all models) and reports how many.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from rmeval.harness.metrics import N_BOOT, bootstrap_ci
from rmeval.harness.records import MetricValue
from rmeval.tasks.starc.tabular import StarcInputError, pearson_distance

CONVENTION = (
    "STARC-VAL, L2 norm, L2 metric, unscaled (range [0, 2]); EPIC = sqrt((1-rho)/2) in [0, 1]"
)

PromptScores = Sequence[Sequence[float]]
"""Candidate scores per prompt: ``scores[i][j]`` is the reward of response j to prompt i."""


def _rows(scores: PromptScores, name: str = "scores") -> list[np.ndarray]:
    rows = [np.asarray(r, dtype=float) for r in scores]
    for i, r in enumerate(rows):
        if r.ndim != 1 or r.size < 2:
            raise StarcInputError(
                f"{name}[{i}] has {r.size} candidate score(s); every prompt needs a flat list "
                f"of at least 2."
            )
        if not np.all(np.isfinite(r)):
            raise StarcInputError(
                f"{name}[{i}] holds a NaN or infinite score; drop that prompt or rescore it."
            )
    if not rows:
        raise StarcInputError(f"{name} is empty; STARC needs at least one prompt.")
    return rows


def center(scores_by_prompt: PromptScores) -> list[np.ndarray]:
    """Per-prompt centred rewards (VAL canonicalisation of the bandit); ties give exact 0."""
    out = []
    for r in _rows(scores_by_prompt):
        # x - mean(x) of a constant row can be off by an ulp; make exact ties exactly zero.
        out.append(np.zeros_like(r) if np.ptp(r) == 0 else r - r.mean())
    return out


def standardize(scores_by_prompt: PromptScores) -> list[np.ndarray]:
    """Centred rewards divided by their L2 norm over all entries (unchanged when it is 0)."""
    centred = center(scores_by_prompt)
    size = math.sqrt(sum(float(c @ c) for c in centred))
    return centred if size == 0.0 else [c / size for c in centred]


def _check_pair(a: PromptScores, b: PromptScores) -> None:
    if len(a) != len(b):
        raise StarcInputError(f"the two rewards cover {len(a)} and {len(b)} prompts; use the same.")
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if len(x) != len(y):
            raise StarcInputError(
                f"prompt {i} has {len(x)} candidates in one reward and {len(y)} in the other; "
                f"score the same candidate pools."
            )


def starc_l2(a: PromptScores, b: PromptScores, scale: float = 1.0) -> float:
    """scale * L2 distance of the standardised rewards (range [0, 2] unscaled)."""
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise StarcInputError(f"scale={scale!r}: use a positive number (1.0 or 0.5).")
    _check_pair(a, b)
    diff = np.concatenate(standardize(a)) - np.concatenate(standardize(b))
    return float(scale * np.linalg.norm(diff))


def epic(a: PromptScores, b: PromptScores) -> float:
    """sqrt((1 - rho) / 2) with rho the Pearson correlation of the centred rewards (clipped)."""
    _check_pair(a, b)
    return pearson_distance(np.concatenate(center(a)), np.concatenate(center(b)))


def prompt_moments(a: PromptScores, b: PromptScores) -> np.ndarray:
    """Per-prompt sums (x.x, y.y, x.y) of the centred rewards, shape (n_prompts, 3)."""
    _check_pair(a, b)
    return np.array([[x @ x, y @ y, x @ y] for x, y in zip(center(a), center(b), strict=True)])


def distances_from_moments(moments: np.ndarray) -> tuple[float, float]:
    """(STARC-L2, EPIC) of the prompts whose moments are given (any multiset of prompts).

    Every prompt's centred rewards sum to 0, so the totals of the per-prompt moments give the
    norms and the correlation of any resample of prompts without re-centring.
    """
    sxx, syy, sxy = (float(v) for v in np.asarray(moments).sum(axis=0))
    if sxx == 0.0 or syy == 0.0:
        return (0.0, 0.0) if sxx == syy else (1.0, math.sqrt(0.5))
    rho = min(1.0, max(-1.0, sxy / math.sqrt(sxx * syy)))
    return math.sqrt(2.0 - 2.0 * rho), math.sqrt((1.0 - rho) / 2.0)


def bootstrap_distances(
    a: PromptScores, b: PromptScores, *, seed: int = 0, n_boot: int = N_BOOT
) -> dict[str, MetricValue]:
    """STARC-L2 and EPIC with percentile 95% CIs from a bootstrap over prompts."""
    moments = prompt_moments(a, b)
    n = len(moments)
    out = {}
    for key, value, pos in (
        ("starc_distance", starc_l2(a, b), 0),
        ("epic_distance", epic(a, b), 1),
    ):
        ci = bootstrap_ci(
            n,
            lambda idx, pos=pos: distances_from_moments(moments[idx])[pos],
            n_boot=n_boot,
            seed=seed,
        )
        out[key] = MetricValue(value, ci, n)
    return out


def _check_models(scores_by_model: Mapping[str, Mapping[str, Sequence[float]]]) -> list[str]:
    names = list(scores_by_model)
    if len(names) < 2:
        raise StarcInputError(f"distance matrix of {names}: needs scores of at least two models.")
    first = names[0]
    ids = set(scores_by_model[first])
    for other in names[1:]:
        only_first = sorted(ids - set(scores_by_model[other]))
        only_other = sorted(set(scores_by_model[other]) - ids)
        if only_first or only_other:
            raise StarcInputError(
                f"models '{first}' and '{other}' were scored on different items "
                f"({len(only_first)} ids only in '{first}' {only_first[:3]}, {len(only_other)} "
                f"only in '{other}' {only_other[:3]}); compare runs of the same task, data and "
                f"--limit."
            )
    for item in sorted(ids):
        counts = {m: len(scores_by_model[m][item]) for m in names}
        if len(set(counts.values())) > 1:
            raise StarcInputError(
                f"item '{item}' has different candidate counts per model {counts}; compare runs "
                f"of the same task and data."
            )
        if counts[first] < 2:
            raise StarcInputError(
                f"item '{item}' has {counts[first]} candidate(s) in models {names}; STARC needs "
                f"at least 2 per prompt."
            )
    return sorted(ids)


def distance_matrix(
    scores_by_model: Mapping[str, Mapping[str, Sequence[float]]],
) -> dict[str, Any]:
    """Pairwise STARC-L2 and EPIC between models scored on the same items.

    ``scores_by_model[model][item_id]`` is the list of candidate scores of that item. Items
    with a NaN/inf score in any model are dropped for all models and counted in ``n_dropped``.
    """
    ids = _check_models(scores_by_model)
    names = list(scores_by_model)
    kept = [i for i in ids if all(np.all(np.isfinite(scores_by_model[m][i])) for m in names)]
    if not kept:
        raise StarcInputError(
            f"every shared item has a NaN or infinite score in one of the models {names}; "
            f"nothing is left to compare."
        )
    table = {m: [list(scores_by_model[m][i]) for i in kept] for m in names}
    k = len(names)
    starc = [[0.0] * k for _ in range(k)]
    epic_m = [[0.0] * k for _ in range(k)]
    for i in range(k):
        for j in range(i + 1, k):
            a, b = table[names[i]], table[names[j]]
            starc[i][j] = starc[j][i] = starc_l2(a, b)
            epic_m[i][j] = epic_m[j][i] = epic(a, b)
    return {
        "models": names,
        "starc": starc,
        "epic": epic_m,
        "n_prompts": len(kept),
        "n_dropped": len(ids) - len(kept),
        "convention": CONVENTION,
    }
