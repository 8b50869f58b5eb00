"""Bench variants timed side by side on one model object and one workload."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmeval.harness.bench.workload import (
    Workload,
    build_classifier,
    make_workload,
    sync,
    word_tokenizer,
)
from rmeval.harness.records import ScoreRequest
from rmeval.harness.scoring import planned, score_requests


# -- variants ---------------------------------------------------------------------------------
@dataclass
class Bench:
    """The shared objects every variant uses."""

    workload: Workload
    model: Any
    tok: Any
    hf: Any
    device: str
    budget: int
    requests: list[ScoreRequest] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    pipe: Any = None
    collated: list[tuple[list[int], Any]] = field(default_factory=list)


def run_pipeline(b: Bench) -> list[float]:
    """A: the text-classification pipeline, batch 8, input order."""
    out = b.pipe(b.texts, batch_size=8, function_to_apply="none")
    return [float((o[0] if isinstance(o, list) else o)["score"]) for o in out]


def run_rewardbench(b: Bench, batch: int) -> list[float]:
    """B: dataset order, ``batch`` examples per call, one call per response position."""
    import torch

    n, k = len(b.workload.prompts), 4
    out = [0.0] * (n * k)
    for start in range(0, n, batch):
        rows = range(start, min(start + batch, n))
        for j in range(k):
            enc = b.tok([b.texts[i * k + j] for i in rows], padding=True, return_tensors="pt")
            with torch.inference_mode():
                logits = b.model(**enc.to(b.device)).logits[:, 0].float().cpu().tolist()
            for i, v in zip(rows, logits):
                out[i * k + j] = v
    return out


def run_rmeval(b: Bench) -> list[float]:
    """H: ``score_requests`` end to end with a fresh temporary cache."""
    from rmeval.harness.cache import ScoreCache

    with tempfile.TemporaryDirectory() as d:
        cache = ScoreCache(Path(d) / "scores.sqlite")
        try:
            found, _ = score_requests(
                b.hf, b.requests, cache, batch_tokens=b.budget, progress=False
            )
        finally:
            cache.close()
    return [found[r.key].value for r in b.requests]


def run_rmeval_with(b: Bench, **settings: Any) -> list[float]:
    """H with other adapter settings: Hp (``pack=true``; H packs by default only on CPU, so
    this is for GPUs) and Hs (``share_prompts=true``: each prompt computed once)."""
    import copy

    hf = copy.copy(b.hf)
    hf.__dict__.update(settings)
    hf.__dict__.pop("_packing", None)  # decided again for the new settings
    return run_rmeval(Bench(**{**b.__dict__, "hf": hf}))


def run_model_only(b: Bench) -> list[float]:
    """Hm: the adapter's forward on pre-collated batches (no tokenisation, no cache): H's
    batches, packed when H packs."""
    import torch

    out = [0.0] * len(b.requests)
    with torch.inference_mode():
        for idx, inputs in b.collated:
            for i, v in zip(idx, b.hf.logits(inputs)[:, 0].float().cpu().tolist()):
                out[i] = v
    return out


def padding_tokens(
    name: str, lengths: Sequence[int], plan: list[list[int]], packed: bool
) -> int | None:
    """Pad tokens a variant computes on (from the lengths and its batching rule); None for
    Hs, which computes shared prompts once and so has no comparable count."""
    if name == "Hs":
        return None
    if name == "Hp" or (name in ("H", "Hm") and packed):
        return 0
    if name == "A":
        groups = [list(range(s, min(s + 8, len(lengths)))) for s in range(0, len(lengths), 8)]
    elif name.startswith("B"):
        n, bs = len(lengths) // 4, int(name[1:])
        groups = [
            [i * 4 + j for i in range(s, min(s + bs, n))] for s in range(0, n, bs) for j in range(4)
        ]
    else:
        groups = plan
    return sum(len(g) * max(lengths[i] for i in g) - sum(lengths[i] for i in g) for g in groups)


def _release_free_heap() -> None:
    """Give freed heap pages back to the OS (glibc), so the next variant's RSS growth is its
    own and not hidden by memory an earlier variant left mapped."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def _status_bytes(field: str) -> int:
    """A memory field of /proc/self/status (``VmRSS``, ``VmHWM``) in bytes."""
    with open("/proc/self/status") as f:
        line = next(x for x in f if x.startswith(field + ":"))
    return int(line.split()[1]) * 1024


def _reset_high_water_mark() -> bool:
    """Reset the kernel's resident-set high-water mark (VmHWM); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class MemoryPeak:
    """Peak memory above the start: the CUDA allocator's peak; on CPU the kernel's resident-set
    high-water mark, reset on entry, or where that reset is refused RSS sampled every 2 ms (a
    sampling thread takes the GIL 500 times a second from the variant being timed: measured,
    it slowed Hs by ~10%, so it is only the fallback)."""

    def __init__(self, device: str) -> None:
        self.device, self.peak, self._stop = device, 0, threading.Event()
        self._sampler: threading.Thread | None = None

    def __enter__(self) -> MemoryPeak:
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
        else:
            _release_free_heap()
            self.base = _status_bytes("VmRSS")
            if not _reset_high_water_mark():
                self._sampler = threading.Thread(target=self._sample, daemon=True)
                self._sampler.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, _status_bytes("VmRSS") - self.base)

    def __exit__(self, *exc: Any) -> None:
        if self.device.startswith("cuda"):
            import torch

            self.peak = torch.cuda.max_memory_allocated(self.device) - self.base
        elif self._sampler is None:
            self.peak = _status_bytes("VmHWM") - self.base
        else:
            self._stop.set()
            self._sampler.join()


VARIANTS: dict[str, Callable[[Bench], list[float]]] = {
    "A": run_pipeline,
    "B8": lambda b: run_rewardbench(b, 8),
    "B64": lambda b: run_rewardbench(b, 64),
    "H": run_rmeval,
    "Hp": lambda b: run_rmeval_with(b, pack=True),
    "Hs": lambda b: run_rmeval_with(b, share_prompts=True),
    "Hm": run_model_only,
}


# -- setup and timing -----------------------------------------------------------------------------------
def setup(preset: dict[str, Any], device: str, batch_tokens: int | None, seed: int) -> Bench:
    """Workload, tokenizer, model, the rmeval adapter around the same model, the pipeline."""
    from rmeval.harness.adapters.hf import HFRewardModel
    from transformers import pipeline

    wl = make_workload(preset["n_prompts"], seed, preset["prompt_median"],
                       preset["response_median"], preset["max_tokens"])  # fmt: skip
    tok = word_tokenizer(preset["max_tokens"])
    model = build_classifier(preset, len(tok), device, seed)
    folder = Path(tempfile.mkdtemp(prefix="rmeval_bench_"))
    model.config.save_pretrained(folder)
    tok.save_pretrained(folder)
    hf = HFRewardModel(str(folder), device=device, dtype=preset["dtype"])
    hf.__dict__.update(tokenizer=tok, config=model.config)
    hf._model = model
    b = Bench(wl, model, tok, hf, device, batch_tokens or hf.auto_batch_tokens())
    b.requests = wl.requests()
    b.texts = [hf.text_of(r) for r in b.requests]
    b.pipe = pipeline("text-classification", model=model, tokenizer=tok, device=device)
    keys = [r.key for r in b.requests]
    b.collated = [
        (idx, hf.collate(batch)) for idx, batch in planned(hf, b.requests, keys, b.budget)
    ]
    return b


def measure(
    b: Bench, names: Sequence[str], repeats: int, probe: Callable[[], tuple[float, str]]
) -> tuple[dict[str, dict[str, Any]], tuple[float, str]]:
    """Warm-up each variant once, then ``repeats`` interleaved rounds; times, memory, scores.

    ``probe`` (the hardware peak) runs at the start of every round, interleaved like the
    variants, and its best value is returned: on a shared machine one probe can be unlucky."""
    runs: dict[str, dict[str, Any]] = {n: {"times": [], "peak": 0} for n in names}
    best = (0.0, "")
    for rnd in range(repeats + 1):
        best = max(best, probe())
        for name in names:
            with MemoryPeak(b.device) as mem:
                t0 = time.perf_counter()
                scores = VARIANTS[name](b)
                sync(b.device)
                elapsed = time.perf_counter() - t0
            if rnd == 0:
                runs[name]["scores"] = scores
                continue
            runs[name]["times"].append(elapsed)
            runs[name]["peak"] = max(runs[name]["peak"], mem.peak)
    return runs, best
