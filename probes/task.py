"""Probe tasks: ``probe-core`` (built-in probing set) and ``mrmbench`` (MRMBench data).

For each preference dimension a linear probe is fitted on the frozen representation of the
train items and scored on the test items (``probes.fit``); the main score ``accuracy`` is the
mean test accuracy over the dimensions (MRMBench's overall), with a stratified bootstrap CI.
The fitted probes are then applied to the built-in pairwise suite (``core-pairwise``, test
split) and compared with the reward margin (``probes.confidence``).

Parameters (``--task-args``): ``difficulty=easy|hard``; ``layers=-1`` (final layer, default),
``layers=all`` (every layer, adds ``tables.layers``) or a list such as ``layers=0;3;-1`` (the
main score uses the highest layer); ``confidence=true|false``; ``seed`` (built-in data).
Samples: one line per test item: ``subset`` = dimension, ``scores`` = the probe's class
probabilities (ascending label order), ``prediction``, ``label``, ``class``, ``layer`` and
``credit`` = 1 when the prediction is right, else 0.

``limit=N`` caps the rows per dimension and split (probe-core: source rows, each giving one
item per class; mrmbench: records, taken in a content-hash order) and the confidence pairs.
"""

from __future__ import annotations

import re
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rmeval.harness.adapters.base import parse_bool
from rmeval.harness.data import DatasetInfo, rows_sha256
from rmeval.harness.errors import DataError, RmevalError
from rmeval.harness.metrics import by_subset_means, count_outcomes
from rmeval.harness.paired_stats import ItemScorer
from rmeval.harness.progress import Progress
from rmeval.harness.records import Aggregate, Example, ExampleResult, MetricValue, ScoreRequest
from rmeval.harness.task import RunContext, Task
from rmeval.probes import builtin
from rmeval.probes import mrmbench_data as mrm_data
from rmeval.probes.confidence import confidence_analysis
from rmeval.probes.features import extract, resolve_layers, truncated_keys
from rmeval.probes.fit import Probe, evaluate_probe, fit_probe, mean_of_means

DIMENSIONS = builtin.DIMENSIONS


def _flag(value: Any, name: str) -> bool:
    return parse_bool(value, f"--task-args {name}")  # the one parser of k=v booleans


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not str(value).lstrip("-").isdigit():
        raise RmevalError(f"--task-args {name}={value}: use an integer.")
    return int(value)


class ProbeTask(Task):
    """Shared probing logic; subclasses provide the rows (train and test, all dimensions)."""

    needs_scores = False
    main_score = "accuracy"
    default_split = None
    samples_view = {  # scores are class probabilities, not rewards
        "wrong": "credit<1",
        "margin": "predicted_minus_label",
        "candidates": "class probabilities",
    }

    def __init__(
        self,
        difficulty: str = "easy",
        layers: Any = -1,
        confidence: Any = True,
        seed: Any = 0,
        **kwargs: Any,
    ) -> None:
        if difficulty not in ("easy", "hard"):
            raise RmevalError(f"--task-args difficulty={difficulty}: use easy or hard.")
        if kwargs.get("split") is not None:
            raise RmevalError(f"{self.name} uses both the train and the test split; drop split=.")
        layers = layers if isinstance(layers, (int, str)) else ";".join(map(str, layers))
        confidence, seed = _flag(confidence, "confidence"), _int(seed, "seed")
        super().__init__(
            difficulty=difficulty, layers=layers, confidence=confidence, seed=seed, **kwargs
        )
        self.difficulty, self.layers, self.confidence, self.seed = (
            difficulty,
            layers,
            confidence,
            seed,
        )
        self._train: list[Example] = []
        self._fitted: dict[str, dict[str, Any]] = {}
        self._tables: dict[str, Any] = {}

    # -- data -------------------------------------------------------------------------
    def build_examples(self, rows: list[dict[str, Any]]) -> list[Example]:
        """Test examples (returned) and train examples (kept): one response each, label in meta."""
        by_split: dict[str, list[Example]] = {"train": [], "test": []}
        for row in rows:
            by_split[row["split"]].append(
                Example(
                    id=row["id"],
                    subset=row["dimension"],
                    prompt=row["prompt"],
                    candidates=(row["response"],),
                    meta={"label": int(row["label"]), "class": row.get("class")},
                )
            )
        self._train = by_split["train"]
        dims = self.dimensions()
        missing = [
            f"{d} ({s})"
            for d in dims
            for s in by_split
            if not any(e.subset == d for e in by_split[s])
        ]
        if missing:
            raise DataError(self.data or self.name, [f"no items for {m}" for m in missing])
        return by_split["test"]

    def dimensions(self) -> tuple[str, ...]:
        return DIMENSIONS

    def train_examples(self) -> list[Example]:
        self.examples()
        return self._train

    # -- evaluation -------------------------------------------------------------------
    def run(self, ctx: RunContext) -> list[ExampleResult]:
        """Extract features, fit one probe per dimension (and layer), score the test items."""
        test, train = self.examples(), self.train_examples()
        layers = resolve_layers(ctx.model, self.layers)
        reqs = [ScoreRequest(ex.prompt, ex.candidates[0]) for ex in train + test]
        feats = extract(ctx.model, reqs, layers, ctx.cache, ctx.progress)
        truncated = truncated_keys(ctx.model, reqs[len(train) :])
        idx = self._indices(train, test)
        curve: dict[str, dict[str, float | None]] = defaultdict(dict)
        probes: dict[str, Probe] = {}
        results: list[ExampleResult] = []
        n_fits = len(layers) * len(self.dimensions())
        bar = Progress(n_fits, f"fitting {self.name} probes", ctx.progress, unit="probe")
        for layer in layers:
            x = feats[layer]
            for dim in self.dimensions():
                tr, te = idx[dim]
                y_tr = [train[i].meta["label"] for i in tr]
                y_te = [test[i].meta["label"] for i in te]
                probe = fit_probe(
                    x[tr], y_tr, seed=ctx.seed, name=f"{self.name} {dim} layer {layer}"
                )
                report = evaluate_probe(probe, x[[len(train) + i for i in te]], y_te, seed=ctx.seed)
                curve[dim][str(layer)] = report.accuracy.value
                bar.update(1)
                if layer == layers[-1]:
                    probes[dim] = probe
                    self._fitted[dim] = self._fit_info(probe, len(tr), layer)
                    samples = self._samples(
                        [test[i] for i in te], reqs[len(train) :], te, report, layer, truncated
                    )
                    for r in samples:  # lets ``scorer`` recompute macro-F1 from the samples
                        r.extra["classes"] = probe.classes
                    results.extend(samples)
        bar.close()
        self._tables = {"layers": dict(curve)} if len(layers) > 1 else {}
        if self.confidence:
            self._tables["confidence"] = self._confidence(ctx, probes, layers[-1])
        order = {ex.id: i for i, ex in enumerate(test)}
        return sorted(results, key=lambda r: order[r.id])

    def _indices(
        self, train: list[Example], test: list[Example]
    ) -> dict[str, tuple[list[int], list[int]]]:
        return {
            d: (
                [i for i, e in enumerate(train) if e.subset == d],
                [i for i, e in enumerate(test) if e.subset == d],
            )
            for d in self.dimensions()
        }

    def _fit_info(self, probe: Probe, n_train: int, layer: int) -> dict[str, Any]:
        return {
            "majority_class": probe.majority_class,
            "classes": probe.classes,
            "C": probe.C,
            "cv_accuracy": probe.cv_accuracy,
            "n_train": n_train,
            "layer": layer,
        }

    @staticmethod
    def _samples(
        examples: list[Example],
        test_reqs: list[ScoreRequest],
        te: list[int],
        report: Any,
        layer: int,
        truncated: set[str],
    ) -> list[ExampleResult]:
        return [
            ExampleResult(
                id=ex.id,
                subset=ex.subset,
                scores=[float(p) for p in report.probabilities[k]],
                credit=float(report.correct[k]),
                text_hashes=[test_reqs[i].key],
                truncated=test_reqs[i].key in truncated,
                extra={
                    "prediction": int(report.predictions[k]),
                    "label": int(ex.meta["label"]),
                    "class": ex.meta.get("class"),
                    "layer": layer,
                },
            )
            for k, (ex, i) in enumerate(zip(examples, te))
        ]

    def _confidence(self, ctx: RunContext, probes: dict[str, Probe], layer: int) -> dict[str, Any]:
        """Apply the probes to core-pairwise (test split) and compare with the reward margin."""
        from rmeval.harness.scoring import score_requests
        from rmeval.tasks.core import core_rows

        rows, info = core_rows("test", self.seed, self.limit, 1)
        chosen = [ScoreRequest(r["prompt"], r["chosen"], r.get("reference")) for r in rows]
        rejected = [ScoreRequest(r["prompt"], r["rejected"][0], r.get("reference")) for r in rows]
        with tempfile.TemporaryDirectory() as tmp:
            cache = ctx.cache
            if cache is None:
                from rmeval.harness.cache import ScoreCache

                cache = ScoreCache(Path(tmp) / "scores.sqlite")
            scores, _ = score_requests(ctx.model, chosen + rejected, cache, progress=False)
            x = extract(ctx.model, chosen + rejected, [layer], ctx.cache)[layer]
            if cache is not ctx.cache:
                cache.close()
        n = len(rows)
        table = confidence_analysis(
            {d: p.better_score(x[:n]) for d, p in probes.items()},
            {d: p.better_score(x[n:]) for d, p in probes.items()},
            [scores[r.key].value for r in chosen],
            [scores[r.key].value for r in rejected],
            seed=ctx.seed,
        )
        return {
            "suite": {
                "task": "core-pairwise",
                "split": "test",
                "seed": self.seed,
                "revision": info.revision,
                "sha256": info.sha256,
                "layer": layer,
            }
        } | table

    # -- aggregation ------------------------------------------------------------------
    def scorer(self, results: Sequence[ExampleResult]) -> ItemScorer:
        """Accuracy and macro-F1 (means over dimensions) of any multiset of the test items.

        The probes' predictions are fixed; ``rmeval compare`` resamples test items.
        """
        valid = [r for r in results if r.credit is not None]
        dims = [d for d in self.dimensions() if any(r.subset == d for r in valid)]
        items = ProbeItems.build(valid, dims)

        def formula(idx: np.ndarray | None) -> dict[str, float | None]:
            return items.values(np.arange(len(valid)) if idx is None else idx, self.main_score)

        return ItemScorer(len(valid), formula)

    def aggregate(self, results: Sequence[ExampleResult], seed: int = 0) -> Aggregate:
        """Mean over dimensions of accuracy (stratified CI), macro-F1 and the majority baseline."""
        from sklearn.metrics import f1_score

        dims = [d for d in self.dimensions() if any(r.subset == d for r in results)]
        rows: dict[str, dict[str, Any]] = {}
        groups = []
        for d in dims:
            mine = [r for r in results if r.subset == d and r.credit is not None]
            correct = np.array([r.credit for r in mine], dtype=float)
            labels = np.array([r.extra["label"] for r in mine])
            preds = np.array([r.extra["prediction"] for r in mine])
            info = self._fitted.get(d, {})
            acc = mean_of_means([correct], seed=seed)
            classes = sorted(set(info.get("classes", [])) | set(labels.tolist()))
            rows[d] = {
                "accuracy": acc.value,
                "ci95": list(acc.ci95) if acc.ci95 else None,
                "macro_f1": float(
                    f1_score(labels, preds, labels=classes, average="macro", zero_division=0)
                ),
                "majority_baseline": float(np.mean(labels == info["majority_class"]))
                if info
                else None,
                "n": int(correct.size),
                "n_train": info.get("n_train"),
                "n_classes": len(classes),
                "C": info.get("C"),
                "layer": info.get("layer"),
            }
            groups.append(correct)
        metrics = {self.main_score: mean_of_means(groups, seed=seed)}
        for key in ("macro_f1", "majority_baseline"):
            vals = [rows[d][key] for d in dims if rows[d][key] is not None]
            metrics[key] = MetricValue(float(np.mean(vals)) if vals else None, None, len(vals))
        return Aggregate(
            metrics=metrics,
            by_subset=by_subset_means(results, self.main_score),
            counts=count_outcomes(results),
            tables={"dimensions": rows} | self._tables,
        )


@dataclass
class ProbeItems:
    """Test items as arrays: dimension, correctness, label and prediction (as class indices)."""

    dim: np.ndarray
    correct: np.ndarray
    label: np.ndarray
    pred: np.ndarray
    counted: np.ndarray
    """dimensions × classes: the classes macro-F1 averages over (the probe's and the labels)."""

    @classmethod
    def build(cls, valid: Sequence[ExampleResult], dims: Sequence[str]) -> ProbeItems:
        """Arrays of the valid results, dimensions indexed in the order of ``dims``."""
        labels = [int(r.extra["label"]) for r in valid]
        preds = [int(r.extra["prediction"]) for r in valid]
        known = {c for r in valid for c in r.extra.get("classes", [])}
        classes = sorted(known | set(labels) | set(preds))
        dim = np.array([dims.index(r.subset) for r in valid], dtype=int)
        counted = np.zeros((len(dims), len(classes)), dtype=bool)
        for r, d, y in zip(valid, dim, labels, strict=True):
            counted[d, [classes.index(int(c)) for c in [*r.extra.get("classes", []), y]]] = True
        return cls(
            dim,
            np.array([r.credit for r in valid], dtype=float),
            np.array([classes.index(y) for y in labels], dtype=int),
            np.array([classes.index(p) for p in preds], dtype=int),
            counted,
        )

    def values(self, idx: np.ndarray, main: str) -> dict[str, float | None]:
        """Mean over dimensions of accuracy and of macro-F1, on the items ``idx`` (repeats count)."""
        n_dims, n_cls = self.counted.shape
        d, y, p = self.dim[idx], self.label[idx], self.pred[idx]
        tot = np.bincount(d, minlength=n_dims)
        hit = np.bincount(d, weights=self.correct[idx], minlength=n_dims)
        present = np.flatnonzero(tot)
        if not present.size:
            return {main: None, "macro_f1": None}
        size, cell = n_dims * n_cls, d * n_cls
        tp = np.bincount(cell + y, weights=(y == p).astype(float), minlength=size)
        both = np.bincount(cell + y, minlength=size) + np.bincount(cell + p, minlength=size)
        f1 = np.divide(2 * tp, both, out=np.zeros(size), where=both > 0).reshape(n_dims, n_cls)
        per_dim = (f1 * self.counted).sum(axis=1) / self.counted.sum(axis=1)
        # per-dimension mean of 0/1 credits, then the mean over dimensions, as ``aggregate`` does
        accuracy = float(np.mean([hit[k] / tot[k] for k in present]))
        return {main: accuracy, "macro_f1": float(np.mean(per_dim[present]))}


class ProbeCore(ProbeTask):
    """Probing on the built-in set generated from the core suite (see ``probes.builtin``)."""

    name = "probe-core"
    default_data = None

    def load_rows(self) -> tuple[list[dict[str, Any]], DatasetInfo]:
        if self.data is not None:
            raise RmevalError(
                "probe-core generates its own items; drop --data probe-core=... "
                "(probe your own data with --tasks mrmbench --data mrmbench=DIR)."
            )
        rows = [
            item
            for split in ("train", "test")
            for item in builtin.generate_items(split, self.seed, self.difficulty, self.limit)
        ]
        info = DatasetInfo(
            "builtin:probe-core", builtin.dataset_revision(), "train+test", rows_sha256(rows)
        )
        return rows, info


class MRMBench(ProbeTask):
    """Probing on MRMBench data (see ``probes.mrmbench_data`` for the accepted layouts)."""

    name = "mrmbench"
    default_data = mrm_data.HUB_ID
    default_revision = mrm_data.HUB_REVISION

    def load_rows(self) -> tuple[list[dict[str, Any]], DatasetInfo]:
        source = self.data or mrm_data.HUB_ID
        folder, resolved = source, None
        if mrm_data.looks_like_hub_id(source):
            folder = mrm_data.download(source, self.revision, self.difficulty)
            # a hub snapshot folder is named by the commit it holds
            name = Path(folder).name
            resolved = name if re.fullmatch(r"[0-9a-f]{40}", name) else None
        rows = mrm_data.load_local(folder, DIMENSIONS, self.difficulty, self.limit)
        split = f"train+test ({self.difficulty})"
        revision = resolved or self.revision
        info = DatasetInfo(source, revision, split, rows_sha256(rows), self.revision, resolved)
        return rows, info


def probe_core(**kwargs: Any) -> ProbeCore:
    """``probe-core``: the built-in probing set (``--task-args difficulty=hard,layers=all``)."""
    return ProbeCore(**kwargs)


def mrmbench(**kwargs: Any) -> MRMBench:
    """``mrmbench``: MRMBench data from ``--data mrmbench=DIR`` or the hub."""
    return MRMBench(**kwargs)
