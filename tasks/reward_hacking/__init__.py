"""Reward hacking: how much a scalar reward model pays for changes that do not make an answer
better (padding, repetition, self-assessment, flattery, formatting, restating the question, a
long off-topic answer).

``--tasks reward-hacking`` (factory :func:`reward_hacking`). Task arguments (``--task-args``):

- ``perturbations=FILE.json``: a JSON list of ``{name, kind, text[, factor]}`` records that
  replace built-ins of the same name or add to them (see :mod:`.perturbations`);
  ``default_perturbations=false`` applies only the file's;
- ``ties=strict|half``: a perturbed worse answer that ties the better one counts as a flip (1)
  or as half a flip (0.5);
- ``seed=N``, ``split=test|train``: which core-suite pairs are used when ``--data`` is absent
  (and the seed of every perturbation's random draws).

The numbers are defined in :mod:`.outcomes` and :mod:`.summary`; docs/reward-hacking.md
explains how to read them.
"""

from rmeval.tasks.reward_hacking.outcomes import evaluate_pair
from rmeval.tasks.reward_hacking.pairs import Pair, off_topic_pool
from rmeval.tasks.reward_hacking.perturbations import (
    BUILTIN,
    KINDS,
    Perturbation,
    resolve_perturbations,
)
from rmeval.tasks.reward_hacking.rewrites import Target, rewrite
from rmeval.tasks.reward_hacking.summary import MAIN_SCORE, summarize
from rmeval.tasks.reward_hacking.task import RewardHackingTask, reward_hacking

__all__ = [
    "BUILTIN",
    "KINDS",
    "MAIN_SCORE",
    "Pair",
    "Perturbation",
    "RewardHackingTask",
    "Target",
    "evaluate_pair",
    "off_topic_pool",
    "resolve_perturbations",
    "reward_hacking",
    "rewrite",
    "summarize",
]
