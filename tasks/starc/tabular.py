"""STARC and EPIC distances between reward functions of a tabular MDP (numpy only).

Rewards are arrays ``R[s, a, s']``; ``T[s, a, s']`` holds transition probabilities (each
``T[s, a, :]`` sums to 1) and ``gamma`` is the discount in [0, 1). Definitions follow Skalse et
al., "STARC: A General Framework For Quantifying Differences Between Reward Functions" (ICLR
2024) and Gleave et al., "Quantifying Differences in Reward Functions" (ICLR 2021), with the
uniform distribution over states and actions wherever the papers leave a distribution free.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from rmeval.harness.errors import RmevalError

Method = Literal["epic", "val"]
_NORMS = {1: 1.0, 2: 2.0, math.inf: math.inf}
_ROW_SUM_ATOL = 1e-8
_ZERO_RTOL = 1e-10


class StarcInputError(RmevalError, ValueError):
    """Rewards, transitions, discount or options that the STARC functions cannot use."""


def _check_gamma(gamma: float) -> float:
    if not (isinstance(gamma, (int, float, np.floating)) and 0.0 <= float(gamma) < 1.0):
        raise StarcInputError(f"gamma={gamma!r}: the discount must be a number in [0, 1).")
    return float(gamma)


def _check_reward(R: np.ndarray, name: str = "R") -> np.ndarray:
    arr = np.asarray(R, dtype=float)
    if arr.ndim != 3 or arr.shape[0] != arr.shape[2] or 0 in arr.shape:
        raise StarcInputError(
            f"{name} has shape {arr.shape}: rewards must be a non-empty array R[s, a, s'] "
            f"of shape (S, A, S)."
        )
    if not np.all(np.isfinite(arr)):
        raise StarcInputError(f"{name} contains NaN or infinite values; rewards must be finite.")
    return arr


def _check_transitions(T: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(T, dtype=float)
    if arr.shape != shape:
        raise StarcInputError(
            f"T has shape {arr.shape} but the rewards have shape {shape}; they must match."
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise StarcInputError("T has negative or non-finite entries; use probabilities.")
    sums = arr.sum(axis=2)
    bad = np.argwhere(np.abs(sums - 1.0) > _ROW_SUM_ATOL)
    if bad.size:
        s, a = (int(i) for i in bad[0])
        raise StarcInputError(
            f"T[{s}, {a}, :] sums to {sums[s, a]:.6g}, not 1; every T[s, a, :] must be a "
            f"probability distribution ({len(bad)} such rows)."
        )
    return arr


def _check_p(p: float | int | str, flag: str) -> float:
    key = math.inf if p in ("inf", np.inf) else p
    if key not in _NORMS:
        raise StarcInputError(f"{flag}={p!r}: use 1, 2 or inf.")
    return _NORMS[key]


def uniform_policy_values(R: np.ndarray, T: np.ndarray, gamma: float) -> np.ndarray:
    """V^pi(s) of the uniformly random policy under reward R (exact linear solve).

    Solving ``(I - gamma P_pi) V = r_pi`` is the fixed point that iterative policy evaluation
    converges to; the solve is exact to machine precision, tighter than a 1e-10 tolerance.
    """
    R = _check_reward(R)
    T = _check_transitions(T, R.shape)
    gamma = _check_gamma(gamma)
    r_pi = (T * R).sum(axis=2).mean(axis=1)
    P_pi = T.mean(axis=1)
    return np.linalg.solve(np.eye(R.shape[0]) - gamma * P_pi, r_pi)


def _epic_canonical(R: np.ndarray, gamma: float) -> np.ndarray:
    # E over uniform A and S'' of R(x, A, S'') for every state x; the three expectations of
    # the definition are this vector at s', at s, and its mean over S.
    m = R.mean(axis=(1, 2))
    return R + gamma * m[None, None, :] - m[:, None, None] - gamma * m.mean()


def _val_canonical(R: np.ndarray, T: np.ndarray, gamma: float) -> np.ndarray:
    V = uniform_policy_values(R, T, gamma)
    q = (T * (R + gamma * V[None, None, :])).sum(axis=2)
    C = q - V[:, None]
    return np.broadcast_to(C[:, :, None], R.shape).copy()


def canonicalize(R: np.ndarray, T: np.ndarray, gamma: float, method: Method = "val") -> np.ndarray:
    """Canonicalised reward C(R)[s, a, s'] (same shape as R).

    ``"epic"``: R(s,a,s') + E[gamma R(s',A,S') - R(s,A,S') - gamma R(S,A,S')] with S, S'
    uniform over states and A uniform over actions (T is validated but not used).
    ``"val"``: E_{S'~T(s,a)}[R(s,a,S') + gamma V(S')] - V(s) with V the value of the uniform
    policy under R; the result does not depend on s'.
    A result that is zero up to round-off (max |C| <= 1e-10 max |R| / (1 - gamma)) is
    returned as exact zeros.
    """
    R = _check_reward(R)
    T = _check_transitions(T, R.shape)
    gamma = _check_gamma(gamma)
    if method == "epic":
        C = _epic_canonical(R, gamma)
    elif method == "val":
        C = _val_canonical(R, T, gamma)
    else:
        raise StarcInputError(f"method={method!r}: use 'epic' or 'val'.")
    # A reward equivalent to zero (pure potential shaping, a constant) canonicalises to
    # round-off, which standardisation would blow up to a unit-norm noise vector.
    if np.abs(C).max() <= _ZERO_RTOL * np.abs(R).max() / (1.0 - gamma):
        C = np.zeros_like(C)
    return C


def standardize(
    R: np.ndarray, T: np.ndarray, gamma: float, method: Method = "val", norm: float = 2
) -> np.ndarray:
    """C(R) / ||C(R)||_norm over all (s, a, s') entries; C(R) unchanged when its norm is 0."""
    p = _check_p(norm, "norm")
    C = canonicalize(R, T, gamma, method)
    size = float(np.linalg.norm(C.ravel(), ord=p))
    return C if size == 0.0 else C / size


def starc_distance(
    R1: np.ndarray,
    R2: np.ndarray,
    T: np.ndarray,
    gamma: float,
    method: Method = "val",
    norm: float = 2,
    metric: float = 2,
    scale: float = 1.0,
) -> float:
    """scale * ||standardize(R1) - standardize(R2)||_metric.

    With ``norm=2, metric=2`` the range is [0, 2]; ``scale=0.5`` maps it to [0, 1].
    """
    p = _check_p(metric, "metric")
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise StarcInputError(f"scale={scale!r}: use a positive number (1.0 or 0.5).")
    R1 = _check_reward(R1, "R1")
    R2 = _check_reward(R2, "R2")
    if R1.shape != R2.shape:
        raise StarcInputError(f"R1 has shape {R1.shape} and R2 {R2.shape}; they must match.")
    diff = standardize(R1, T, gamma, method, norm) - standardize(R2, T, gamma, method, norm)
    return float(scale * np.linalg.norm(diff.ravel(), ord=p))


def pearson_distance(x: np.ndarray, y: np.ndarray) -> float:
    """sqrt((1 - rho) / 2) with rho the Pearson correlation of the entries of x and y.

    rho is clipped to [-1, 1]. When an input is constant rho is undefined; by convention
    rho = 1 (distance 0) when both are constant and rho = 0 (distance sqrt(1/2)) when one is.
    """
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    const_x, const_y = bool(np.ptp(x) == 0), bool(np.ptp(y) == 0)
    if const_x or const_y:
        rho = 1.0 if const_x and const_y else 0.0
    else:
        dx, dy = x - x.mean(), y - y.mean()
        rho = float(dx @ dy) / math.sqrt(float(dx @ dx) * float(dy @ dy))
    rho = min(1.0, max(-1.0, rho))
    return math.sqrt((1.0 - rho) / 2.0)


def epic_distance(R1: np.ndarray, R2: np.ndarray, T: np.ndarray, gamma: float) -> float:
    """EPIC: sqrt((1 - rho) / 2) with rho the Pearson correlation of the EPIC-canonicalised
    rewards over all (s, a, s') entries (uniform coverage); in [0, 1]."""
    R1 = _check_reward(R1, "R1")
    R2 = _check_reward(R2, "R2")
    if R1.shape != R2.shape:
        raise StarcInputError(f"R1 has shape {R1.shape} and R2 {R2.shape}; they must match.")
    return pearson_distance(canonicalize(R1, T, gamma, "epic"), canonicalize(R2, T, gamma, "epic"))
