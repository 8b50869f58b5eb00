"""The overall view: Borda points and a mean rank over the tasks each model has (as MTEB ranks).

Each task's main score column ranks the models that have it (competition ranks, "1224", in the
task's own direction). On each task a model earns one Borda point per model it beats there
(a strictly worse score); its overall points are the sum over tasks, so a model missing a task
earns nothing from it and a model shown on one task alone cannot top the board. Its mean rank
is the mean of its ranks over the tasks it covers, shown with the number of tasks covered.
The overall position is the competition rank by (points, higher first; then mean rank, lower
first), so models equal on both share a position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Overall:
    """Per model slug: Borda points, mean rank, tasks covered and overall position."""

    points: pd.Series
    """Sum over tasks of the number of models it beats on the task."""
    mean_rank: pd.Series
    """Mean of the per-task competition ranks (NaN: the model has no main score at all)."""
    n_tasks: pd.Series
    """Number of task columns (main scores) the model has a value in."""
    position: pd.Series
    """Competition rank by (-points, mean rank); NaN without any task."""

    def loc(self, order: list[str]) -> Overall:
        """The same view with its rows in ``order``."""
        return Overall(*(s.loc[order] for s in (self.points, self.mean_rank, self.n_tasks,
                                                  self.position)))  # fmt: skip


def overall(main_ranks: pd.DataFrame) -> Overall:
    """The overall view from a models x tasks frame of per-task ranks (NaN: no result)."""
    points = pd.Series(0, index=main_ranks.index, dtype=int)
    for task in main_ranks.columns:
        ranks = main_ranks[task].dropna()
        for slug, r in ranks.items():
            points[slug] += int((ranks > r).sum())
    mean_rank = main_ranks.mean(axis=1, skipna=True)
    n_tasks = main_ranks.notna().sum(axis=1).astype(int)
    keys = {
        s: (-int(points[s]), float(mean_rank[s]))
        for s in main_ranks.index
        if not math.isnan(mean_rank[s])
    }
    position = pd.Series(math.nan, index=main_ranks.index, dtype=float)
    for slug, key in keys.items():
        position[slug] = 1 + sum(other < key for other in keys.values())
    return Overall(points=points, mean_rank=mean_rank, n_tasks=n_tasks, position=position)
