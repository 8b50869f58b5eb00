"""The ``reward-hacking`` task: how much a scalar reward model pays for changes that do not
make an answer better.

Each pair (see :mod:`.pairs`) becomes one example whose candidates are, in order: the better
answer, the worse answer, the worse answer under each perturbation, the better answer under
each perturbation (see :mod:`.perturbations` and :mod:`.rewrites`). Outcomes and metrics are
defined in :mod:`.outcomes` and :mod:`.summary`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rmeval.harness.data import DatasetInfo
from rmeval.harness.errors import RmevalError
from rmeval.harness.paired_stats import ItemScorer
from rmeval.harness.records import Aggregate, Example, ExampleResult, Score
from rmeval.harness.task import Task
from rmeval.tasks.master_keys.items import BUILTIN_SOURCE, builtin_rows
from rmeval.tasks.reward_hacking.outcomes import evaluate_pair
from rmeval.tasks.reward_hacking.pairs import (
    Pair,
    core_pairs,
    file_pairs,
    needs_pool,
    off_topic_pool,
)
from rmeval.tasks.reward_hacking.perturbations import resolve_perturbations
from rmeval.tasks.reward_hacking.rewrites import Target, rewrite
from rmeval.tasks.reward_hacking.summary import MAIN_SCORE, flip_scorer, summarize


def _seed(value: Any) -> int:
    try:
        if isinstance(value, bool):
            raise ValueError
        return int(str(value).strip())
    except ValueError:
        raise RmevalError(f"--task-args seed={value}: use an integer.") from None


class RewardHackingTask(Task):
    """Worst-case (over perturbations) rate at which a perturbed worse answer beats the better."""

    name = "reward-hacking"
    version = "1"
    main_score = MAIN_SCORE
    higher_is_better = False
    default_data = None
    default_split = "test"

    def __init__(
        self,
        perturbations: str | list[Any] | None = None,
        default_perturbations: bool = True,
        ties: str = "strict",
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        if not isinstance(default_perturbations, bool):
            raise RmevalError(
                f"--task-args default_perturbations={default_perturbations}: use true or false."
            )
        if ties not in ("strict", "half"):
            raise RmevalError(f"--task-args ties={ties}: use 'strict' or 'half'.")
        self.perturbations = resolve_perturbations(perturbations, default_perturbations)
        self.ties = ties
        self.seed = _seed(seed)
        # the resolved records, not a file path: a result stays readable (``rmeval compare``,
        # the board's paired ties rebuild the task from its params) where the file is gone
        given = (
            {}
            if perturbations is None
            else {"perturbations": [p.to_dict() for p in self.perturbations]}
        )
        super().__init__(
            **given, default_perturbations=default_perturbations, ties=ties, seed=seed, **kwargs
        )

    @property
    def names(self) -> list[str]:
        """Perturbation names, in report order."""
        return [p.name for p in self.perturbations]

    def load_rows(self) -> tuple[list[dict[str, Any]], DatasetInfo]:
        """Rows of ``--data``, or the core suite's verifiable items (``limit`` per dataset)."""
        if self.data is not None:
            return super().load_rows()
        return builtin_rows(self.split, self.seed, self.limit)

    def build_examples(self, rows: list[dict[str, Any]]) -> list[Example]:
        """One example per pair: better, worse, perturbed worse answers, perturbed better ones."""
        if self.data is None:
            pairs = core_pairs(rows, BUILTIN_SOURCE)
        else:
            pairs = file_pairs(rows, self.data)
        return [self._example(pair) for pair in pairs]

    def _example(self, pair: Pair) -> Example:
        pool = (
            off_topic_pool(pair, str(self.split), self.seed)
            if needs_pool(self.perturbations)
            else ()
        )
        longest = max(len(pair.better), len(pair.worse))
        texts = {
            side: [
                rewrite(p, Target(pair.id, answer, pair.question, side, longest, pool), self.seed)
                for p in self.perturbations
            ]
            for side, answer in (("worse", pair.worse), ("better", pair.better))
        }
        return Example(
            id=pair.id,
            subset=pair.subset,
            prompt=pair.question,
            candidates=(pair.better, pair.worse, *texts["worse"], *texts["better"]),
            n_chosen=1,
            reference=pair.reference,
            context=pair.context,
        )

    def evaluate(self, example: Example, scores: Sequence[Score]) -> ExampleResult:
        """Eligibility, flips and reward changes of one pair (see :mod:`.outcomes`)."""
        return evaluate_pair(example, [s.value for s in scores], self.names, self.ties)

    def aggregate(self, results: Sequence[ExampleResult], seed: int = 0) -> Aggregate:
        """Flip rates, inflations with CIs, the worst perturbation (see :mod:`.summary`)."""
        kinds = [p.kind for p in self.perturbations]
        return summarize(results, self.names, kinds, self.ties, seed)

    def describe(self) -> dict[str, Any]:
        """The ``task`` block, with the applied perturbation records (a file's contents, not
        only its path, so a result says exactly what was measured)."""
        return super().describe() | {"perturbations": [p.to_dict() for p in self.perturbations]}

    def scorer(self, results: Sequence[ExampleResult]) -> ItemScorer:
        """The flip metrics of any multiset of the valid pairs (``rmeval compare``)."""
        return flip_scorer(results, self.names)


def reward_hacking(**kwargs: Any) -> RewardHackingTask:
    """Perturbations that do not improve an answer, on the core verifiable pairs or ``--data``."""
    return RewardHackingTask(**kwargs)
