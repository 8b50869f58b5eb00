"""``rmeval bench``: rmeval's scoring path against a pipeline and a RewardBench-style loop.

One process, one model object (random weights from a config), one seeded workload shaped like
RewardBench 2 (prompts × 4 responses, lognormal lengths with a long tail). Variants, timed
interleaved after a warm-up (median, min, max):
A = ``transformers`` text-classification pipeline, batch 8, input order, raw logits;
B8/B64 = RewardBench-style loop: dataset order, fixed batch, per-batch tokenisation with padding,
separate calls for the chosen and each rejected position;
H = ``harness.scoring.score_requests`` as ``rmeval run`` uses it (temporary cache, tokenisation
included); Hp = H with ``pack=true`` (H packs by default on CPU only; GPU runs include Hp);
Hs = H with ``share_prompts=true``; Hm = H's forward passes on pre-encoded, pre-collated batches.
``--profile`` adds an operator breakdown of one Hm run.
The FLOP count and the workload are in :mod:`harness.bench.workload`.
"""

import argparse
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rmeval.harness.bench.profile import format_profile, profile_model_only
from rmeval.harness.bench.variants import VARIANTS, Bench, measure, padding_tokens, setup
from rmeval.harness.bench.workload import (
    PRESETS,
    SHAPE_KEYS,
    length_ratio,
    nonembedding_params,
    peak_flops,
    useful_flops,
)
from rmeval.harness.errors import RmevalError


def report(b: Bench, runs: dict[str, dict[str, Any]], peak: tuple[float, str]) -> dict[str, Any]:
    """The JSON record: per-variant numbers, ratios, score agreement and fraction of the limit."""
    encoded = b.hf.encode(b.requests)
    lengths = [e.n_tokens for e in encoded]
    real = sum(lengths)
    plan = [idx for idx, _ in b.collated]
    flops = useful_flops(b.model.config, lengths)
    ref = runs.get("A", next(iter(runs.values())))["scores"]
    rows = {}
    for name, r in runs.items():
        med = statistics.median(r["times"])
        pad = padding_tokens(name, lengths, plan, b.hf._packing)
        rows[name] = {
            "median_s": med, "min_s": min(r["times"]), "max_s": max(r["times"]),
            "tokens_per_s": real / med, "examples_per_s": len(b.workload.prompts) / med,
            "padding_share": None if pad is None else pad / (pad + real), "peak_memory_mib": r["peak"] / 2**20,
            "max_abs_diff_vs_A": max(abs(x - y) for x, y in zip(r["scores"], ref)),
            # Hs skips repeated prompt tokens, so the unshared FLOP count would overstate it
            "fraction_of_peak": None if name == "Hs" else flops / (med * peak[0]),
        }  # fmt: skip
    h = rows.get("H", {}).get("median_s")
    ratios = {f"H/{n}": rows[n]["median_s"] / h for n in rows if h and n != "H"}
    h_min = rows.get("H", {}).get("min_s")
    by_min = {f"H/{n}": rows[n]["min_s"] / h_min for n in rows if h_min and n != "H"}
    paired = {}  # per round, then the median: robust to a machine that slows down for a while
    if "H" in runs:
        for n in (n for n in runs if n != "H"):
            per_round = [x / y for x, y in zip(runs[n]["times"], runs["H"]["times"])]
            paired[f"H/{n}"] = statistics.median(per_round)
    return {
        "device": b.device, "dtype": b.hf.dtype, "batch_tokens": b.budget,
        "n_examples": len(b.workload.prompts), "n_texts": len(lengths), "real_tokens": real,
        "length_p50": sorted(lengths)[len(lengths) // 2], "length_p99_over_p50":
        length_ratio(lengths), "nonembedding_params": nonembedding_params(b.model.config),
        "useful_flops": flops, "peak_flops": peak[0], "peak_source": peak[1],
        "variants": rows, "speedup": ratios, "speedup_by_min": by_min, "speedup_paired": paired,
    }  # fmt: skip


def format_table(rec: dict[str, Any]) -> str:
    """The printed table (one row per variant) and the speed-up line."""
    head = ("variant", "median s", "min s", "max s", "real tok/s", "ex/s", "pad %", "peak MiB",
            "max|Δ| vs A", "% of peak")  # fmt: skip
    lines = [head]
    for name, r in rec["variants"].items():
        lines.append((name, f"{r['median_s']:.3f}", f"{r['min_s']:.3f}", f"{r['max_s']:.3f}",
                      f"{r['tokens_per_s']:,.0f}", f"{r['examples_per_s']:.2f}",
                      "n/a" if r["padding_share"] is None else f"{100 * r['padding_share']:.1f}", f"{r['peak_memory_mib']:.0f}",
                      f"{r['max_abs_diff_vs_A']:.1e}",
                      "n/a" if r["fraction_of_peak"] is None else f"{100 * r['fraction_of_peak']:.1f}"))  # fmt: skip
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    text = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in lines]
    speed = ", ".join(f"{k} {v:.2f}x" for k, v in rec["speedup"].items())
    text.append(f"speed-up (median time of X / median time of H): {speed}")
    speed = ", ".join(f"{k} {v:.2f}x" for k, v in rec["speedup_by_min"].items())
    text.append(f"speed-up (min time of X / min time of H): {speed}")
    speed = ", ".join(f"{k} {v:.2f}x" for k, v in rec["speedup_paired"].items())
    text.append(f"speed-up (median over rounds of X / H in the same round): {speed}")
    text.append(f"peak {rec['peak_flops'] / 1e9:,.1f} GFLOP/s ({rec['peak_source']})")
    return "\n".join(text)


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmark, print the table, write ``<output-dir>/<preset>.json``."""
    if args.preset == "scale":  # the harness's own cost at scale: harness.bench.scale
        from rmeval.harness.bench.scale import cmd_scale

        return cmd_scale(args)
    import torch
    from rmeval.harness.adapters.hub import resolve_device
    from rmeval.harness.results import dumps
    from rmeval.harness.staged_file import atomic_write

    if args.preset not in PRESETS:
        raise RmevalError(f"--preset {args.preset}: use one of {', '.join(PRESETS)}.")
    preset = dict(PRESETS[args.preset])
    for key in ("n_prompts", "max_tokens"):
        if getattr(args, key) is not None:
            preset[key] = getattr(args, key)
    device = resolve_device(args.device)
    names = [v for v in args.variants.split(",") if v]
    if args.variants == "auto":  # Hp is H on CPU, where packing is the default
        names = [v for v in VARIANTS if not (v == "Hp" and device == "cpu")]
    if not names or set(names) - set(VARIANTS):
        raise RmevalError(f"--variants {args.variants}: use names from {', '.join(VARIANTS)}.")
    if args.threads:
        torch.set_num_threads(args.threads)
    budget = None if args.batch_tokens in (None, "auto") else int(args.batch_tokens)
    b = setup(preset, device, budget, args.seed)
    peak_dtype = "float32" if device == "cpu" else preset["dtype"]
    rec = {"preset": args.preset, "shape": {k: preset[k] for k in SHAPE_KEYS}, "seed": args.seed,
           "repeats": args.repeats, "torch_threads": torch.get_num_threads(),
           "device_name": torch.cuda.get_device_name(device) if device.startswith("cuda")
           else "cpu"}  # fmt: skip
    runs, peak = measure(b, names, args.repeats, lambda: peak_flops(device, peak_dtype))
    rec |= report(b, runs, peak)
    print(format_table(rec))
    if args.profile:
        rec["profile"] = profile_model_only(b, rec["useful_flops"], rec["peak_flops"])
        print(format_profile(rec["profile"]))
    out = Path(args.output_dir) / f"{args.preset}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, [dumps(rec)])
    print(f"wrote {out}")
    return 0


def add_parser(sub: Any) -> None:
    """Register ``rmeval bench``."""
    p = sub.add_parser("bench", help="throughput benchmark against baseline scoring loops")
    p.add_argument(
        "--preset", default="cpu-tiny", help=f"model shape: {', '.join(PRESETS)}; or scale"
    )
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 or auto")
    p.add_argument("--n-prompts", type=int, help="prompts in the workload (4 texts each)")
    p.add_argument("--max-tokens", type=int, help="cap on text length in tokens")
    p.add_argument("--repeats", type=int, default=3, help="timed rounds after the warm-up")
    p.add_argument(
        "--variants",
        default="auto",
        help=f"comma-separated subset of {','.join(VARIANTS)} (auto: all; no Hp on CPU)",
    )
    p.add_argument(
        "--profile", action="store_true", help="also print where model-only time goes, by operator"
    )
    p.add_argument("--batch-tokens", default="auto", help="rmeval token budget, or auto")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--sizes", default="10000,100000,1000000", help="scale: pairs per run, comma-separated"
    )
    p.add_argument(
        "--model-pairs", type=int, default=100_000, help="scale: pairs for the tiny Llama (0: skip)"
    )
    p.add_argument("--output-dir", default="results/bench")
    p.set_defaults(func=cmd_bench)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m harness.bench`` (for machines without the console script)."""
    parser = argparse.ArgumentParser(prog="rmeval")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bench", *(argv or [])] if argv is not None else None)
    return args.func(args)
