"""Inference-time probing (pure): do the dimension probes agree with the reward margin?

For a preference pair (chosen c, rejected r) with reward margin m = reward(c) - reward(r) and,
per dimension d, the fitted probe's "better" score s_d (expected class rank in [0, 1], labels
ordered worst to best; see ``Probe.better_score``):

- the probe *prefers the chosen* response when s_d(c) > s_d(r);
- it *agrees with the reward* when sign(s_d(c) - s_d(r)) == sign(m), both non-zero (a tie on
  either side is no agreement);
- the pair's confidence is the share of dimensions that agree (0, 1/6, ..., 1 for six probes).

The reward model's pairwise accuracy (strict ties: a tie earns 0) is then reported for
high-confidence pairs (confidence >= the median confidence) and low-confidence pairs
(confidence < the median), with bootstrap 95% CIs, and per confidence level. Pairs with a
NaN/inf reward are excluded and counted as ``invalid``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from rmeval.harness.metrics import mean_ci, pairwise_credit


def agreement(s_chosen: np.ndarray, s_rejected: np.ndarray, margin: np.ndarray) -> np.ndarray:
    """Per pair: 1.0 when the probe's direction matches the sign of the reward margin."""
    probe_sign = np.sign(np.asarray(s_chosen, float) - np.asarray(s_rejected, float))
    reward_sign = np.sign(np.asarray(margin, float))
    return ((probe_sign == reward_sign) & (probe_sign != 0)).astype(float)


def _group(credits: np.ndarray, mask: np.ndarray, seed: int) -> dict[str, Any]:
    mv = mean_ci(credits[mask].tolist(), seed=seed)
    return {"accuracy": mv.value, "ci95": list(mv.ci95) if mv.ci95 else None, "n": mv.n}


def _by_level(credits: np.ndarray, conf: np.ndarray, n_dims: int) -> dict[str, dict[str, Any]]:
    """Reward accuracy per confidence level ``k/n_dims`` (levels with no pair are left out)."""
    levels = np.round(conf * n_dims).astype(int)
    return {
        f"{k}/{n_dims}": {
            "accuracy": float(credits[levels == k].mean()),
            "n": int((levels == k).sum()),
        }
        for k in range(n_dims + 1)
        if (levels == k).any()
    }


def confidence_analysis(
    s_chosen: Mapping[str, np.ndarray],
    s_rejected: Mapping[str, np.ndarray],
    chosen_rewards: Sequence[float],
    rejected_rewards: Sequence[float],
    seed: int = 0,
) -> dict[str, Any]:
    """The ``tables.confidence`` block (see the module docstring for every definition)."""
    rc, rr = np.asarray(chosen_rewards, float), np.asarray(rejected_rewards, float)
    valid = np.isfinite(rc) & np.isfinite(rr)
    rc, rr = rc[valid], rr[valid]
    sc = {d: np.asarray(v, float)[valid] for d, v in s_chosen.items()}
    sr = {d: np.asarray(s_rejected[d], float)[valid] for d in s_chosen}
    agree = {d: agreement(sc[d], sr[d], rc - rr) for d in sc}
    conf = np.mean(list(agree.values()), axis=0) if agree and rc.size else np.zeros(rc.size)
    credits = np.array([pairwise_credit(c, r, "strict")[0] for c, r in zip(rc, rr)], dtype=float)
    median = float(np.median(conf)) if conf.size else None
    high = conf >= median if median is not None else np.zeros(0, bool)
    return {
        "pairs": int(rc.size),
        "invalid": int((~valid).sum()),
        "reward_accuracy": _group(credits, np.ones(rc.size, bool), seed),
        "mean_confidence": float(conf.mean()) if conf.size else None,
        "split": "median: high = confidence >= median, low = confidence < median",
        "median_confidence": median,
        "high": _group(credits, high, seed),
        "low": _group(credits, ~high, seed),
        "by_level": _by_level(credits, conf, len(agree)),
        "dimensions": {
            d: {
                "prefers_chosen": float((sc[d] > sr[d]).mean()) if rc.size else None,
                "agrees_with_reward": float(agree[d].mean()) if rc.size else None,
            }
            for d in sc
        },
    }
