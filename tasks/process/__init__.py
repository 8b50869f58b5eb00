"""Process reward tasks: ``processbench``, ``process-core`` and ``prm-hacking``.

Each scores solutions step by step (a step-scoring model: ``prm-token``, ``prm-tag``,
``prm-implicit``, ``prm-prefix`` or the ``length``/``random`` baselines); see
``docs/process-rewards.md``.
"""

from rmeval.tasks.process.bench import ProcessBenchTask, ProcessCore, process_core, processbench
from rmeval.tasks.process.hacking import PRMHacking, prm_hacking

__all__ = [
    "PRMHacking",
    "ProcessBenchTask",
    "ProcessCore",
    "prm_hacking",
    "process_core",
    "processbench",
]
