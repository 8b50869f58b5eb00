"""Freed CPU tensor memory stays in the heap, so the next batch does not fault its pages in."""

import json
import platform
import subprocess
import sys

import pytest

from harness.heap import keep_freed_memory

# A fresh interpreter: how glibc reuses smaller blocks depends on what else lives in the heap.
PASSES = """
import json, resource, sys
import torch
from harness.heap import keep_freed_memory
setting = keep_freed_memory() if sys.argv[1] == "keep" else None

def page_faults_of_a_pass(layers=3, mib=40):  # activations alive together, freed together
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    live = [torch.empty(mib << 18).fill_(1.0) for _ in range(layers)]
    del live
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

print(json.dumps({"setting": setting, "faults": [page_faults_of_a_pass() for _ in range(8)],
                  "pages": 3 * (40 << 20) // resource.getpagesize()}))
"""


def _passes(mode: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PASSES, mode], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.splitlines()[-1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the setting is glibc's")
def test_later_passes_reuse_the_first_pass_memory_without_page_faults():
    keep, default = _passes("keep"), _passes("default")
    pages = keep["pages"]
    assert keep["setting"] and "mmap threshold" in keep["setting"]
    assert keep["faults"][0] > pages // 2  # the first pass does fault its pages in
    # later passes reuse it (glibc's aligned allocations may take a few passes to settle)
    assert min(keep["faults"][1:]) < pages // 20
    # glibc's defaults map blocks over 32 MiB afresh: each pass faults every page in again
    assert min(default["faults"][1:]) > pages // 2


def test_the_setting_is_made_once_per_process():
    assert keep_freed_memory() == keep_freed_memory()
