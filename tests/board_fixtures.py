"""Synthetic result files, in exactly the result-file format, for the leaderboard tests.

Task names, main scores and sample views are those of the real tasks (``rmeval ls``); every
result has its samples file beside it with the sha256 recorded, as ``rmeval run`` writes them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from rmeval.harness.results import SCHEMA_VERSION
from rmeval.probes.task import ProbeCore
from rmeval.tasks.core.suite import CoreBestOfN, CorePairwise
from rmeval.tasks.master_keys.task import MasterKeysTask
from rmeval.tasks.rewardbench import RewardBenchTask
from rmeval.tasks.rmbench import RMBenchTask

HOSTILE_NAME = "<img src=x onerror=alert(1)>"
HOSTILE_TEXT = "</script><script>alert(1)</script>"
JS_LINK = "javascript:alert(1)"
LINE_SEP = "a\u2028b\u2029c"
MASTER_KEYS = [" ", ".", ":", "Thought process:", "解", "かいせつ"]
DATA_HASH = "ab" * 32

# slug -> (spec, type, n_parameters)
MODELS = {
    "hostile": (f"hf:{HOSTILE_NAME}", "hf", 1_200_000),
    "minilm": ("embed:minilm", "embed", 22_700_000),
    "length": ("length:", "length", None),
    "random": ("random:seed=0", "random", None),
}
# task -> slug -> (value, ci low, ci high); a missing slug means no result (n/a).
MAIN = {
    "core-pairwise": {
        "hostile": (0.80, 0.75, 0.85),
        "minilm": (0.70, 0.64, 0.76),
        "length": (0.55, 0.49, 0.61),
        "random": (0.50, 0.44, 0.56),
    },
    "core-bon": {
        "hostile": (0.40, 0.35, 0.45),
        "minilm": (0.60, 0.52, 0.68),
        "random": (0.25, 0.2, 0.3),
    },
    "rewardbench": {
        "hostile": (0.75, 0.7, 0.8),
        "minilm": (0.65, 0.6, 0.7),
        "random": (0.5, 0.45, 0.55),
    },
    "rmbench": {"hostile": (0.62, 0.58, 0.66), "minilm": (0.58, 0.54, 0.62)},
    "master-keys": {"hostile": (0.30, 0.25, 0.35), "minilm": (0.10, 0.05, 0.15)},
    "probe-core": {"hostile": (0.72, 0.68, 0.76), "minilm": (0.81, 0.78, 0.84)},
}
MAIN_SCORE = {"master-keys": "worst_key_rate", "rewardbench": "score", "rmbench": "score"}
VIEWS = {
    "core-pairwise": CorePairwise.samples_view,
    "core-bon": CoreBestOfN.samples_view,
    "rewardbench": RewardBenchTask.samples_view,
    "rmbench": RMBenchTask.samples_view,
    "master-keys": MasterKeysTask().describe_samples(),
    "probe-core": ProbeCore.samples_view,
}


def result(slug: str, task: str, value: float, lo: float, hi: float, **over: Any) -> dict[str, Any]:
    """One result file's content (the preamble's format)."""
    spec, mtype, n_params = MODELS[slug]
    main = MAIN_SCORE.get(task, "accuracy")
    data = {
        "schema_version": SCHEMA_VERSION,
        "harness": {"version": "0.1.0", "git_commit": "0123abc"},
        "model": {"spec": spec, "type": mtype, "fingerprint": f"fp-{slug}", "revision": None,
                  "dtype": "float32", "max_length": 2048, "chat_template_sha256": None,
                  "n_parameters": n_params, "args": {}},
        "task": {"name": task, "version": "1", "params": {"limit": None},
                 "dataset": {"path": JS_LINK if task == "core-pairwise" else f"data/{task}.jsonl",
                             "revision": None, "split": "test", "sha256": DATA_HASH},
                 "main_score": main, "higher_is_better": task != "master-keys",
                 "samples_view": VIEWS[task]},
        "metrics": {main: {"value": value, "ci95": [lo, hi], "n": 200}},
        "by_subset": {"math": {main: {"value": value, "n": 100}},
                      "chat": {main: {"value": value - 0.1, "n": 100}}},
        "counts": {"examples": 200, "ties": 3, "invalid": 1, "truncated": 2},
        "tables": tables(task, value),
        "status": "complete", "started_at": "2026-11-26T16:00:00Z", "duration_s": 12.3,
        "throughput": {"examples_per_s": 80.1, "tokens_per_s": 9000.0},
    }  # fmt: skip
    if task == "rewardbench":  # RewardBench also reports each section as a metric with a CI
        data["metrics"]["chat_hard"] = {
            "value": value - 0.2,
            "ci95": [value - 0.3, value - 0.1],
            "n": 50,
        }
    data.update(over)
    return data


def tables(task: str, v: float) -> dict[str, Any]:
    """The task-specific ``tables`` block the leaderboard draws."""
    if task == "rewardbench":
        return {
            "sections": {"Chat": v + 0.1, "Chat Hard": v - 0.2, "Safety": v, "Reasoning": v + 0.05}
        }
    if task == "rmbench":
        m = [[v, v - 0.1, v - 0.2], [v + 0.1, v, v - 0.1], [v + 0.2, v + 0.1, v]]
        return {"style_matrix": {"chat": m, "math": m},
                "difficulty": {"hard": v - 0.1, "normal": v, "easy": v + 0.1}}  # fmt: skip
    if task == "master-keys":
        values = [[v, v / 2] for _ in MASTER_KEYS]
        return {"grid": {"metric": "key_beats_wrong", "keys": MASTER_KEYS,
                         "datasets": ["gsm8k", "<b>math</b>"], "values": values}}  # fmt: skip
    if task == "probe-core":

        def dim(acc: float) -> dict[str, Any]:
            ci = [acc - 0.05, acc + 0.05]
            return {"accuracy": acc, "ci95": ci, "macro_f1": acc, "majority_baseline": 0.5}

        return {"dimensions": {"helpfulness": dim(v), HOSTILE_NAME: dim(v - 0.1)}}
    return {}


def samples(slug: str) -> list[dict[str, Any]]:
    """Samples lines: some wrong with known margins, one carrying hostile texts."""
    lines = []
    for i, (chosen, rejected) in enumerate([(1.0, 0.0), (0.2, 0.9), (0.1, 0.4), (0.5, 0.5)]):
        credit = 1.0 if chosen > rejected else 0.0
        lines.append({"id": f"ex-{i}", "subset": "math", "scores": [chosen, rejected],
                      "credit": credit, "tie": chosen == rejected, "invalid": False,
                      "truncated": False, "text_hashes": [f"h{i}c", f"h{i}r"]})  # fmt: skip
    lines[1]["texts"] = [HOSTILE_TEXT, f"{JS_LINK} {LINE_SEP} {HOSTILE_NAME}"]
    lines[1]["prompt"] = "Which is right? " + HOSTILE_TEXT
    bad = {"id": "bad", "subset": "math", "scores": [None, 0.3], "credit": None, "tie": False}
    lines.append({**bad, "invalid": True, "truncated": False, "text_hashes": []})
    return lines


def write_results(root: Path, with_compare: bool = True) -> Path:
    """Write the synthetic ``results/`` folder under ``root`` and return it."""
    results = root / "results"
    for task, per_model in MAIN.items():
        for slug, (value, lo, hi) in per_model.items():
            lines = samples(slug) if task == "core-pairwise" else []
            write_run(results / slug / f"{task}.json", result(slug, task, value, lo, hi), lines)
    if with_compare:
        slugs = sorted(MODELS)
        starc = [
            [0.0, 0.6, 0.2, 0.5],
            [0.6, 0.0, 0.55, 0.3],
            [0.2, 0.55, 0.0, 0.45],
            [0.5, 0.3, 0.45, 0.0],
        ]
        write_json(results / "compare" / "starc.json",
                   {"models": slugs, "starc": starc, "epic": starc, "n_prompts": 50,
                    "convention": "test"})  # fmt: skip
    return results


def write_run(path: Path, data: dict[str, Any], lines: list[dict[str, Any]]) -> Path:
    """A result file and its samples file, the samples' sha256 recorded as ``rmeval run`` does."""
    samples_path = path.with_name(path.name[: -len(".json")] + ".samples.jsonl")
    write_samples(samples_path, lines)
    write_json(path, record_samples(data, samples_path))
    return path


def write_samples(path: Path, lines: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def record_samples(data: dict[str, Any], samples_path: Path) -> dict[str, Any]:
    """``data`` with the ``samples`` block of the samples file as it is now."""
    raw = samples_path.read_bytes()
    block = {"path": samples_path.name, "sha256": hashlib.sha256(raw).hexdigest(),
             "lines": raw.count(b"\n")}  # fmt: skip
    return {**data, "samples": block}


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, allow_nan=False), encoding="utf-8")
