"""Where a cached `rmeval run --model length --tasks pairwise` spends its time and memory, stage by
stage (the stages of harness.runner.evaluate_model, called one by one).

    python bench/scale_stages.py PAIRS.jsonl CACHE_DIR   # CACHE_DIR: the --cache-dir of a run

Prints seconds and peak RSS after each stage. A diagnosis aid, not a benchmark: on a shared
machine compare stages within one run only.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from rmeval.harness.cache import ScoreCache
from rmeval.harness.results import _write_samples
from rmeval.harness.runner import RunOptions, build_model, build_tasks
from rmeval.harness.scoring import unique_requests
from rmeval.harness.task import RunContext


def main(data: str, cache_dir: str) -> None:
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{name:24s} {now - clock[0]:7.2f} s   peak RSS {rss:6.0f} MiB", flush=True)
        clock[0] = now

    opts = RunOptions(models=["length"], tasks=["pairwise"], data={"pairwise": data})
    (task,) = build_tasks(["pairwise"], opts)
    rows, info = task.load_rows()
    lap("read + hash rows")
    task._examples, task.dataset = task.build_examples(rows), info
    del rows
    lap("validate -> examples")
    requests = task.all_requests()
    lap("requests")
    unique = unique_requests(requests)
    lap("keys (sha256), unique")
    model, cache = build_model("length", {}), ScoreCache(Path(cache_dir) / "scores.sqlite")
    found = cache.get_many(model.fingerprint(), [r.key for r in unique])
    lap(f"cache lookup ({len(found)})")
    results = task.run(RunContext(scores=found, model=model))
    lap("evaluate")
    task.aggregate(results)
    lap("aggregate (bootstrap)")
    with tempfile.TemporaryDirectory() as tmp:
        _write_samples(Path(tmp) / "pairwise.samples.jsonl", results)
    lap("samples file")


if __name__ == "__main__":
    main(*sys.argv[1:3])
