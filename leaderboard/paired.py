"""Ties with the leader from the paired comparison on shared items (``rmeval compare``'s test).

For each task column, every other model is compared with the leader on the items both have, by
:func:`rmeval.harness.compare.main_row` (``rmeval compare``'s main row): the task's own formula resampled by a paired
bootstrap (or the mean credit where the task has no scorer). A model is *tied with the leader*
when that 95% CI of the difference contains 0. Overlapping unpaired CIs are not used: two
models scored on the same items are correlated, so the paired test is the sharper one.
"""

from __future__ import annotations

from dataclasses import dataclass

from rmeval.harness.compare import TaskRun, _credit_measure, main_row, read_samples
from rmeval.harness.errors import RmevalError
from rmeval.leaderboard.loading import Run

SEED = 0
"""Bootstrap seed (the ``rmeval compare`` default), so a rebuild gives the same marks."""


@dataclass(frozen=True)
class PairedTie:
    """One model against its task's leader."""

    tied: bool
    """The 95% CI of the paired difference contains 0."""
    diff: float | None
    """This model's main score minus the leader's, on the shared items."""
    ci95: list[float] | None
    n: int
    """Shared items the comparison used."""


def _task_run(run: Run) -> TaskRun:
    return TaskRun(run.slug, run.path, run.data, read_samples(run.samples))


def paired_ties(runs: list[Run], leaders: dict[str, str]) -> dict[tuple[str, str], PairedTie]:
    """``(slug, task key) -> PairedTie`` for every non-leader with items shared with the leader.

    ``leaders`` maps a task key to its leader's slug. Pairs without shared items get no entry
    (the page then marks nothing rather than guessing).
    """
    by_key: dict[str, dict[str, Run]] = {}
    for run in runs:
        by_key.setdefault(run.task_key, {})[run.slug] = run
    out: dict[tuple[str, str], PairedTie] = {}
    for key, leader in sorted(leaders.items()):
        mine = by_key.get(key, {})
        if leader not in mine:
            continue
        top = _task_run(mine[leader])
        for slug in sorted(s for s in mine if s != leader):
            found = _against(top, _task_run(mine[slug]))
            if found is not None:
                out[(slug, key)] = found
    return out


def _against(top: TaskRun, other: TaskRun) -> PairedTie | None:
    try:
        row = main_row(top.result["task"]["name"], top, other, seed=SEED)
    except RmevalError:  # e.g. same rows but another recorded revision: no paired verdict
        return None
    ci = None if row is None else row.get("ci95")
    if ci is None:
        return None
    main = top.result["task"]["main_score"]
    if row.get("method") == "credit_mean" and _credit_measure(main, top, other, row) != main:
        return None  # the mean credit is not this task's main score: no verdict on it
    diff = row.get("diff")
    return PairedTie(tied=not row["significant"], diff=diff, ci95=ci, n=int(row["n"]))
