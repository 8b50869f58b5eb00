"""``rmeval bench --preset scale``: the harness's own cost on large preference files.

One seeded file of short pairs is generated at the largest size; the smaller sizes are its first
rows, so their samples must match the larger runs' leading lines. Each size runs
``rmeval run --model length`` three times in a child process (fresh cache; the same command
again, whose result is reused; ``--recompute``, every score cached), timed from outside, with the child's own CPU seconds and peak RSS (``os.wait4``): on a shared
machine the CPU-time ratio is the steadier one. The tiny Llama classifier run
(random weights, word-level tokenizer) times the forward passes inside the child: the harness
share is everything else of its wall time, given also without the fixed start-up cost (the
non-forward time of the same run on 1,000 pairs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

SIZES = (10_000, 100_000, 1_000_000)
MODEL_PAIRS = 100_000
TINY_LLAMA = dict(arch="llama", hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=2, num_key_value_heads=2, head_dim=32, dtype="float32",
                  max_tokens=256)  # fmt: skip
_CHILD = (  # the command line is imported here, not by this module (which the CLI imports)
    "import sys; from rmeval.harness.bench.scale import child_setup; "
    "from rmeval.harness.cli import main; argv, done = child_setup(sys.argv[1:]); "
    "rc = main(argv); done(); sys.exit(rc)"
)


def write_pairs(path: Path, n: int, seed: int = 0, n_words: int = 500) -> int:
    """Write ``n`` seeded short preference rows (ids ``r0``...) as JSON Lines; return bytes.

    Rows are drawn in order from one generator, so the first ``k`` rows of any file written
    with the same seed are the same."""
    import numpy as np
    from rmeval.harness.bench.workload import vocabulary

    rng = np.random.default_rng(seed)
    words = np.array(vocabulary(n_words))
    with path.open("w", encoding="utf-8") as fh:
        for lo in range(0, n, 10_000):
            k = min(10_000, n - lo)
            lens = rng.integers((5, 5, 5), (31, 41, 41), (k, 3))
            picks = words[rng.integers(0, n_words, int(lens.sum()))]
            cuts = np.cumsum(lens.ravel())[:-1]
            texts = [" ".join(t) for t in np.split(picks, cuts)]
            for i in range(k):
                p, c, r = texts[3 * i : 3 * i + 3]
                row = {"id": f"r{lo + i}", "prompt": p, "chosen": c, "rejected": r}
                fh.write(json.dumps(row) + "\n")
    return path.stat().st_size


def head_file(src: Path, dst: Path, n: int) -> int:
    """The first ``n`` lines of ``src`` into ``dst``; return its bytes."""
    with src.open("rb") as fin, dst.open("wb") as fout:
        fout.writelines(islice(fin, n))
    return dst.stat().st_size


def timed_child(argv: Sequence[str], forward_log: Path | None = None) -> dict[str, Any]:
    """Run ``rmeval ARGV`` in a child process: wall seconds, its peak RSS, forward seconds."""
    cmd = [sys.executable, "-c", _CHILD, *(["--forward-log", str(forward_log)] if forward_log else []), *argv]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = proc.stderr.read() if proc.stderr else b""  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        from rmeval.harness.errors import RmevalError

        raise RmevalError(f"bench child `rmeval {' '.join(argv)}` failed: {stderr.decode()[-500:]}")
    out: dict[str, Any] = {"wall_s": round(wall, 3),
                           "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
                           "peak_rss_mib": round(usage.ru_maxrss / 1024, 1)}  # fmt: skip
    if forward_log is not None:
        out["forward_s"] = round(json.loads(forward_log.read_text())["forward_s"], 3)
    return out


def child_setup(argv: Sequence[str]) -> tuple[list[str], Callable[[], None]]:
    """The child's ``rmeval`` arguments and what to call when it ends: with a leading
    ``--forward-log PATH``, the adapters' forward passes are timed (outermost call only) and
    their total is written to PATH."""
    argv = list(argv)
    if argv[:1] != ["--forward-log"]:
        return argv, lambda: None
    log, spent = Path(argv[1]), _time_forwards()
    return argv[2:], lambda: log.write_text(json.dumps({"forward_s": spent[0]}))


def _time_forwards() -> list[float]:
    """Wrap ``forward`` and ``forward_collated`` of every registered model class; the returned
    one-item list accumulates their (non-nested) seconds."""
    from rmeval.harness.plugins import model_class, model_names

    spent, depth = [0.0], [0]

    def timed(fn: Any) -> Any:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            depth[0] += 1
            t0 = time.perf_counter()
            try:
                return fn(self, *args, **kwargs)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    spent[0] += time.perf_counter() - t0

        return wrapper

    for name in model_names():
        cls = model_class(name)
        for attr in ("forward", "forward_collated"):
            if attr in cls.__dict__:
                setattr(cls, attr, timed(cls.__dict__[attr]))
    return spent


def save_tiny_llama(folder: Path) -> Path:
    """The random-weight tiny Llama classifier and its word-level tokenizer, saved."""
    from rmeval.harness.bench.workload import build_classifier, word_tokenizer

    tok = word_tokenizer(TINY_LLAMA["max_tokens"])
    model = build_classifier(TINY_LLAMA, len(tok), "cpu")
    model.save_pretrained(folder, safe_serialization=True)
    tok.save_pretrained(folder)
    return folder


def run_args(model: str, data: Path, work: Path, tag: str) -> list[str]:
    """``rmeval run`` arguments for one bench run (its own cache and output folder)."""
    return ["run", "--model", model, "--tasks", "pairwise", "--data", f"pairwise={data}",
            "--cache-dir", str(work / f"cache-{tag}"), "--output-dir", str(work / f"out-{tag}"),
            "--no-progress"]  # fmt: skip


def samples_of(work: Path, tag: str) -> list[str]:
    """The samples lines of a bench run."""
    (path,) = (work / f"out-{tag}").glob("*/pairwise.samples.jsonl")
    return path.read_text(encoding="utf-8").splitlines()


def measure_sizes(work: Path, sizes: Sequence[int], seed: int) -> list[dict[str, Any]]:
    """At each size, ``length`` run fresh, then the same command again (its result reused),
    then with ``--recompute`` (every score cached, everything else done again); checks the
    overlapping samples and the memory each extra pair costs."""
    biggest = work / f"pairs-{max(sizes)}.jsonl"
    write_pairs(biggest, max(sizes), seed)
    rows: list[dict[str, Any]] = []
    previous = None
    for n in sorted(sizes):
        data = biggest if n == max(sizes) else work / f"pairs-{n}.jsonl"
        size = data.stat().st_size if data == biggest else head_file(biggest, data, n)
        args = run_args("length", data, work, str(n))
        fresh, rerun = timed_child(args), timed_child(args)
        recompute = timed_child([*args, "--recompute"])
        lines = samples_of(work, str(n))
        row = {"pairs": n, "input_mib": round(size / 2**20, 1), "fresh": fresh, "rerun": rerun,
               "recompute": recompute, **_ratios("rerun", rerun, fresh),
               **_ratios("recompute", recompute, fresh),
               "overlap_identical": None if previous is None else lines[: len(previous)] == previous,
               "rss_per_extra_pair_b": _slope(rows[-1], fresh, n) if rows else None}  # fmt: skip
        rows.append(row)
        previous = lines
        print(format_row(row), flush=True)
    return rows


def _ratios(name: str, run: dict[str, Any], fresh: dict[str, Any]) -> dict[str, float]:
    return {f"{name}_ratio": round(run["wall_s"] / fresh["wall_s"], 3),
            f"{name}_cpu_ratio": round(run["cpu_s"] / fresh["cpu_s"], 3)}  # fmt: skip


def _slope(smaller: dict[str, Any], fresh: dict[str, Any], n: int) -> float:
    """Peak RSS bytes each pair beyond the smaller size's adds (a fresh run each)."""
    extra = fresh["peak_rss_mib"] - smaller["fresh"]["peak_rss_mib"]
    return round(extra * 2**20 / (n - smaller["pairs"]), 1)


def measure_model(work: Path, pairs: int, seed: int) -> dict[str, Any]:
    """The tiny Llama classifier on ``pairs`` short pairs: wall, forward time and the harness
    share, overall and without the fixed start-up cost (imports, loading: the non-forward
    time of the same run on 1,000 pairs)."""
    data = work / f"pairs-{pairs}.jsonl"
    if not data.exists():
        write_pairs(data, pairs, seed)
    small = work / "pairs-model-small.jsonl"
    write_pairs(small, min(1_000, pairs), seed)
    folder = save_tiny_llama(work / "tiny-llama")
    spec = f"hf:{folder}"
    start = timed_child(run_args(spec, small, work, "llama-small"), work / "forward-small.json")
    run = timed_child(run_args(spec, data, work, "llama"), work / "forward.json")
    fixed = start["wall_s"] - start["forward_s"]
    harness = run["wall_s"] - run["forward_s"]
    # the forward passes are timed in wall seconds: on a loaded machine they stretch as the
    # rest does, so the share is a ratio of the same run
    return {"pairs": pairs, "model": TINY_LLAMA, **run, "fixed_s": round(fixed, 3),
            "harness_share": round(harness / run["wall_s"], 3),
            "harness_share_after_start": round((harness - fixed) / (run["wall_s"] - fixed), 3)}  # fmt: skip


def format_row(r: dict[str, Any]) -> str:
    """One printed line of the size table."""
    return (
        f"{r['pairs']:>9,} pairs  {r['input_mib']:7.1f} MiB in  fresh {r['fresh']['wall_s']:7.1f} s"
        f" (cpu {r['fresh']['cpu_s']:.1f} s, peak RSS {r['fresh']['peak_rss_mib']:.0f} MiB)"
        f"  rerun {100 * r['rerun_ratio']:.0f}% (cpu {100 * r['rerun_cpu_ratio']:.0f}%)"
        f"  --recompute {100 * r['recompute_ratio']:.0f}% (cpu {100 * r['recompute_cpu_ratio']:.0f}%)"
        f"  overlap identical: {r['overlap_identical']}"
    )


def cmd_scale(args: Any) -> int:
    """Run the scale benchmark, print it, write ``<output-dir>/scale.json``."""
    from rmeval.harness.results import dumps
    from rmeval.harness.staged_file import atomic_write

    sizes = [int(s) for s in str(args.sizes).split(",") if s]
    rec: dict[str, Any] = {"preset": "scale", "seed": args.seed, "cpus": os.cpu_count(),
                           "load_avg_start": os.getloadavg()}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="rmeval-scale-") as tmp:
        work = Path(tmp)
        rec["sizes"] = measure_sizes(work, sizes, args.seed)
        if args.model_pairs:
            rec["model"] = measure_model(work, args.model_pairs, args.seed)
            m = rec["model"]
            print(f"tiny Llama, {m['pairs']:,} pairs: wall {m['wall_s']:.1f} s, forward "
                  f"{m['forward_s']:.1f} s, harness share {100 * m['harness_share']:.1f}% "
                  f"({100 * m['harness_share_after_start']:.1f}% after a fixed start-up of "
                  f"{m['fixed_s']:.1f} s)")  # fmt: skip
    rec["load_avg_end"] = os.getloadavg()
    out = Path(args.output_dir) / "scale.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, [dumps(rec)])
    print(f"wrote {out}")
    return 0
