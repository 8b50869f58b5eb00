"""The overall view: a mean rank over the tasks each model has (Borda-style, as MTEB ranks).

Each task's main score column ranks the models that have it (competition ranks, "1224", in the
task's own direction). A model's mean rank is the mean of its ranks over the tasks it covers;
models are ordered by mean rank (lower first), then by the number of tasks covered (more first).
The overall position is the competition rank of the mean rank, so models with the same mean
rank and coverage share a position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Overall:
    """Per model slug: mean rank over covered tasks, tasks covered, and overall position."""

    mean_rank: pd.Series
    """Mean of the per-task competition ranks (NaN: the model has no main score at all)."""
    n_tasks: pd.Series
    """Number of task columns (main scores) the model has a value in."""
    position: pd.Series
    """Competition rank by (mean rank, -tasks covered); NaN without any task."""


def overall(main_ranks: pd.DataFrame) -> Overall:
    """The overall view from a models x tasks frame of per-task ranks (NaN: no result)."""
    mean_rank = main_ranks.mean(axis=1, skipna=True)
    n_tasks = main_ranks.notna().sum(axis=1).astype(int)
    keys = {
        s: (mean_rank[s], -n_tasks[s]) for s in main_ranks.index if not math.isnan(mean_rank[s])
    }
    position = pd.Series(math.nan, index=main_ranks.index, dtype=float)
    for slug, key in keys.items():
        position[slug] = 1 + sum(other < key for other in keys.values())
    return Overall(mean_rank=mean_rank, n_tasks=n_tasks, position=position)
