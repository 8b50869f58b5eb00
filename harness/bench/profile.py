"""Where model-only time goes: one profiled run of variant Hm, grouped by operator."""

from __future__ import annotations

from typing import Any

from harness.bench.variants import Bench, run_model_only
from harness.bench.workload import sync

MATMUL_OPS = frozenset({"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"})


def profile_model_only(b: Bench, top: int = 8) -> dict[str, Any]:
    """Self time per operator (device time on CUDA) of one Hm run: the matrix-multiply share
    and the ``top`` operators, as seconds and shares of the profiled total."""
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
    return {
        "total_s": total,
        "matmul_share": sum(v for k, v in times.items() if k in MATMUL_OPS) / total,
        "top_ops": [{"op": k, "seconds": v, "share": v / total} for k, v in ranked],
    }


def format_profile(prof: dict[str, Any]) -> str:
    """The printed operator breakdown."""
    lines = [f"model-only profile: matmul {100 * prof['matmul_share']:.0f}% of operator time"]
    lines += [
        f"  {o['op']:<52} {o['seconds']:7.3f} s  {100 * o['share']:5.1f}%" for o in prof["top_ops"]
    ]
    return "\n".join(lines)
