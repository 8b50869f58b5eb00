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
    if task == "master-keys":  # the per-key rate over all datasets, as the task names it
        for j, label in enumerate(key_labels()):
            rate = {"value": key_rate(value, j), "ci95": [0.0, 1.0], "n": 200}
            data["metrics"][f"key_beats_wrong[{label}]"] = rate
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
        values = [[v - 0.01 * j, v / 2] for j, _ in enumerate(MASTER_KEYS)]
        return {"grid": {"metric": "key_beats_wrong", "keys": MASTER_KEYS,
                         "datasets": ["gsm8k", "<b>math</b>"], "values": values},
                "key_labels": key_labels()}  # fmt: skip
    if task == "probe-core":

        def dim(acc: float) -> dict[str, Any]:
            ci = [acc - 0.05, acc + 0.05]
            return {"accuracy": acc, "ci95": ci, "macro_f1": acc, "majority_baseline": 0.5}

        return {"dimensions": {"helpfulness": dim(v), HOSTILE_NAME: dim(v - 0.1)}}
    return {}


def key_labels() -> list[str]:
    """The master-keys task's names of the keys inside metric names."""
    return [f"{j}:{k!r}" for j, k in enumerate(MASTER_KEYS)]


def key_rate(value: float, j: int) -> float:
    """Key ``j``'s overall rate in the synthetic master-keys result (key 1 is the worst)."""
    return round(value * (1.0 if j == 1 else 0.5 + 0.05 * j), 6)


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


# Shapes of the tasks other engineers are adding (reward-hacking, processbench, prm-hacking) and
# of a generative judge's result, for the board's views of them.
PERTURBATIONS = ["add_emoji", "lengthen", "<i>praise</i>"]
JUDGE = ("judge:/home/me/ckpts/qwen-judge", "judge", 500_000_000)


def _extra(task: str, main: str, hib: bool, value: float, tables: dict, **metrics: Any) -> dict:
    data = result("minilm", "core-pairwise", value, value - 0.05, value + 0.05)
    data["task"].update(name=task, main_score=main, higher_is_better=hib, samples_view=None)
    data["task"]["dataset"]["path"] = f"data/{task}.jsonl"
    data["metrics"] = {main: {"value": value, "ci95": [value - 0.05, value + 0.05], "n": 40}}
    data["metrics"].update({k: {"value": v, "ci95": [v - 0.1, v + 0.1], "n": 40}
                            for k, v in metrics.items()})  # fmt: skip
    data["tables"] = tables
    data["by_subset"] = {}
    return data


def new_task_results(slug: str, scale: float) -> dict[str, dict[str, Any]]:
    """task -> result content for reward-hacking, processbench and prm-hacking."""
    perts = [{"name": n, "kind": "style", "flip_rate": round(scale * (i + 1) / 4, 6),
              "flip_rate_ci95": [0.0, 0.5], "inflation_worse": 0.1,
              "inflation_worse_ci95": [0.0, 0.2], "inflation_better": 0.2,
              "inflation_better_ci95": [0.1, 0.3], "n": 40}
             for i, n in enumerate(PERTURBATIONS)]  # fmt: skip
    worst = max(p["flip_rate"] for p in perts)
    confusion = {
        "labels": ["none", "step 0", "step 1"],
        "matrix": [[12, 3, 1], [2, 9, 4], [0, 5, 8]],
    }
    aggs = [{"aggregation": a, "perturbation": "repeat_step", "rate": round(scale * r, 6),
             "rate_ci95": [0.0, 0.6], "mean_increase": 0.05, "mean_increase_ci95": [0.0, 0.1],
             "n": 30} for a, r in (("min", 0.2), ("product", 0.4), ("last", 0.6))]  # fmt: skip
    return {
        "reward-hacking": _extra("reward-hacking", "worst_flip_rate", False, worst,
                                 {"perturbations": perts}),
        "processbench": _extra("processbench", "f1", True, 0.5 * scale + 0.2,
                               {"first_error_confusion": confusion},
                               acc_erroneous=0.4, acc_correct=0.7),
        "prm-hacking": _extra("prm-hacking", "hacking_rate", False, round(scale * 0.6, 6),
                              {"by_aggregation": aggs}),
    }  # fmt: skip


def write_new_tasks(results: Path) -> Path:
    """Add the new tasks' results for minilm and hostile, and a judge with master keys (its
    metric ``fpr``) and order consistency, under an absolute local path spec."""
    for slug, scale in (("minilm", 0.5), ("hostile", 1.0)):
        for task, data in new_task_results(slug, scale).items():
            spec, mtype, n = MODELS[slug]
            data["model"].update(spec=spec, type=mtype, n_parameters=n, fingerprint=f"fp-{slug}")
            write_run(results / slug / f"{task}.json", data, [])
    judge = result("minilm", "master-keys", 0.2, 0.15, 0.25)
    judge["model"].update(spec=JUDGE[0], type=JUDGE[1], n_parameters=JUDGE[2], fingerprint="fp-j")
    grid = judge["tables"]["grid"]
    grid["metric"] = "fpr"
    judge["metrics"] = {k.replace("key_beats_wrong", "fpr"): v for k, v in judge["metrics"].items()}
    write_run(results / "judge" / "master-keys.json", judge, [])
    pair = result("minilm", "core-pairwise", 0.66, 0.6, 0.72)
    pair["model"].update(spec=JUDGE[0], type=JUDGE[1], n_parameters=JUDGE[2], fingerprint="fp-j")
    pair["metrics"]["order_consistency"] = {"value": 0.8, "ci95": [0.7, 0.9], "n": 200}
    pair["metrics"]["position_bias"] = {"value": 0.12, "ci95": [0.05, 0.2], "n": 200}
    write_run(results / "judge" / "core-pairwise.json", pair, samples("judge"))
    return results
