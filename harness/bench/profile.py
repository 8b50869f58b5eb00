"""Where model-only time goes: one profiled run of variant Hm, grouped by operator."""

from __future__ import annotations

from typing import Any

from rmeval.harness.bench.variants import Bench, run_model_only
from rmeval.harness.bench.workload import sync

MATMUL_OPS = frozenset({"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"})


def _is_attention(op: str) -> bool:
    return "scaled_dot_product" in op or "flash_attention" in op or "efficient_attention" in op


def profile_model_only(b: Bench, useful_flops: float, peak: float, top: int = 8) -> dict[str, Any]:
    """Self time per operator (device time on CUDA) of one Hm run: the matrix-multiply and
    attention shares, the ``top`` operators (seconds, shares of the profiled total), and the
    ceiling: the fraction of ``peak`` that Hm would reach if every other operator (norms,
    rotary, activations, residuals, copies) took no time, at the profiled matmul and attention
    times."""
    from torch.profiler import ProfilerActivity, profile

    cuda = b.device.startswith("cuda")
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        run_model_only(b)
        sync(b.device)
    attr = "self_device_time_total" if cuda else "self_cpu_time_total"
    times = {e.key: getattr(e, attr) / 1e6 for e in prof.key_averages()}
    times = {k: v for k, v in times.items() if v > 0}
    total = sum(times.values())
    ranked = sorted(times.items(), key=lambda kv: -kv[1])[:top]
    matmul = sum(v for k, v in times.items() if k in MATMUL_OPS)
    attention = sum(v for k, v in times.items() if _is_attention(k))
    return {
        "total_s": total,
        "matmul_share": matmul / total,
        "attention_share": attention / total,
        "ceiling_fraction_of_peak": useful_flops / ((matmul + attention) * peak),
        "top_ops": [{"op": k, "seconds": v, "share": v / total} for k, v in ranked],
    }


def format_profile(prof: dict[str, Any]) -> str:
    """The printed operator breakdown."""
    lines = [
        f"model-only profile: matmul {100 * prof['matmul_share']:.0f}% and attention "
        f"{100 * prof['attention_share']:.0f}% of operator time"
    ]
    lines.append(
        f"  with every other operator free, model-only would reach "
        f"{100 * prof['ceiling_fraction_of_peak']:.0f}% of peak"
    )
    lines += [
        f"  {o['op']:<52} {o['seconds']:7.3f} s  {100 * o['share']:5.1f}%" for o in prof["top_ops"]
    ]
    return "\n".join(lines)
