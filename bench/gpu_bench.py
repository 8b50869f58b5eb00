"""Run ``rmeval bench`` for the GPU presets in one process and print each table.

Imports only torch, transformers, tokenizers and the harness (no datasets, no lm_eval), so it
runs on a bare GPU image from a copy of the repository: ``bench/gpu.sh``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import rmeval  # noqa: E402

# The GPU image runs this from an uninstalled copy of the repository: there the subpackages
# (rmeval.harness, ...) are the checkout's top-level folders, as pyproject.toml maps them.
rmeval.__path__.append(str(ROOT))


def main() -> int:
    """Each preset in turn; a failure of one is reported and the next still runs."""
    import torch
    from rmeval.harness.bench import main as bench_main

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--presets", default="qwen3-0.6b,qwen3-1.7b")
    p.add_argument("--repeats", default="2")
    p.add_argument("--n-prompts", default=None)
    p.add_argument("--output-dir", default="results/bench")
    args = p.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device: run `rmeval bench --preset cpu-tiny` instead", file=sys.stderr)
        return 2
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}", flush=True)
    status = 0
    for preset in args.presets.split(","):
        t0 = time.perf_counter()
        argv = ["--preset", preset, "--device", "cuda", "--repeats", args.repeats,
                "--output-dir", args.output_dir]  # fmt: skip
        if args.n_prompts:
            argv += ["--n-prompts", args.n_prompts]
        print(f"\n== {preset} ==", flush=True)
        try:
            status |= bench_main(argv)
        except Exception as exc:  # keep going: the other preset's table is still useful
            print(f"{preset} failed: {type(exc).__name__}: {exc}", flush=True)
            status = 1
        print(f"({preset}: {time.perf_counter() - t0:.0f} s)", flush=True)
        torch.cuda.empty_cache()
    return status


if __name__ == "__main__":
    sys.exit(main())
