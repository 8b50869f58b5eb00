"""Representation probing: which preference dimensions does a reward model's backbone encode?

``probe-core`` probes the built-in set generated from the core suite and ``mrmbench`` probes
MRMBench data; both fit one linear probe per dimension on cached frozen features and relate
the probes to the reward margin on the core pairwise suite (inference-time probing).
"""

from rmeval.probes.task import MRMBench, ProbeCore, ProbeTask, mrmbench, probe_core

__all__ = ["MRMBench", "ProbeCore", "ProbeTask", "mrmbench", "probe_core"]
