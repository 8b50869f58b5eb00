"""STARC and EPIC reward distances: tabular MDPs (``tabular``), reward models (``bandit``) and
the per-model task ``starc`` (``task``)."""

from rmeval.tasks.starc.tabular import canonicalize, epic_distance, standardize, starc_distance
from rmeval.tasks.starc.task import StarcTask, starc

__all__ = ["StarcTask", "canonicalize", "epic_distance", "standardize", "starc", "starc_distance"]
