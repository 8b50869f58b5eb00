"""The built-in ``core`` suite: preference items generated in code, with verifiable ground truth.

Six domains (subsets): ``math``, ``instruction``, ``factual``, ``code``, ``safety`` and
``focus``. ``generate_rows(split, seed)`` returns the rows (test: 180 per domain, train: 120 per
domain, never sharing a prompt); the tasks ``core-pairwise`` and ``core-bon`` evaluate them in
pairwise and best-of-4 form. Per-domain generators live in ``arithmetic``, ``instructions``,
``facts``, ``coding``, ``safety`` and ``focus``, each with ``generate(rng, n, split)``.
"""

from rmeval.tasks.core.generator import DOMAINS, GENERATOR_VERSION, SIZES, generate_rows
from rmeval.tasks.core.suite import (
    CoreBestOfN,
    CorePairwise,
    core_best_of_n,
    core_pairwise,
    core_rows,
    core_suite,
)

__all__ = [
    "DOMAINS",
    "GENERATOR_VERSION",
    "SIZES",
    "CoreBestOfN",
    "CorePairwise",
    "core_best_of_n",
    "core_pairwise",
    "core_rows",
    "core_suite",
    "generate_rows",
]
