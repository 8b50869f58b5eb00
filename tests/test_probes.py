"""Probing: probe fitting, feature extraction and caching, the built-in set, MRMBench data,
inference-time confidence, and the probe tasks end to end."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rmeval.harness.adapters.base import Encoded, RewardModel
from rmeval.harness.cache import ScoreCache
from rmeval.harness.errors import DataError, RmevalError
from rmeval.harness.records import Score, ScoreRequest
from rmeval.harness.task import RunContext
from rmeval.probes import builtin, features
from rmeval.probes import mrmbench_data as mrm
from rmeval.probes.confidence import agreement, confidence_analysis
from rmeval.probes.fit import Probe, evaluate_probe, fit_probe, mean_of_means
from rmeval.probes.task import DIMENSIONS, MRMBench, ProbeTask, probe_core
from rmeval.tasks.core import arithmetic, safety


# -- fakes -----------------------------------------------------------------------------
class FakeModel(RewardModel):
    """Features: seeded noise per text; a planted signal for one dimension at the final layer.

    Responses of synthetic items read ``<dimension>:<label>:<split>:<i>``; the planted
    dimension's label shifts feature 0 by +/-2 at layer 2 only. Reward = response length.
    """

    type_name = "fake"
    n_layers = 2

    def __init__(self, planted: str = "coherence", fail: bool = False) -> None:
        super().__init__("fake")
        self.planted, self.fail, self.calls = planted, fail, 0

    def fingerprint_fields(self) -> dict[str, Any]:
        return {"planted": self.planted}

    def encode(self, requests):
        return [Encoded(len(r.response), r) for r in requests]

    def forward(self, batch):
        return [Score(float(len(e.payload.response))) for e in batch]

    def hidden_states(self, requests, layers=None):
        if self.fail:
            raise AssertionError("features should have come from the cache")
        self.calls += 1
        out = {}
        for layer in layers:
            rows = []
            for r in requests:
                seed = int(hashlib.sha256(f"{layer}|{r.response}".encode()).hexdigest()[:8], 16)
                v = np.random.default_rng(seed).normal(size=8).astype(np.float32)
                parts = r.response.split(":")
                if layer == 2 and parts[0] == self.planted:
                    v[0] += 2.0 if parts[1] == "1" else -2.0
                rows.append(v)
            out[layer] = np.stack(rows)
        return out


class SyntheticTask(ProbeTask):
    """Balanced two-class items for all six dimensions, labels readable by ``FakeModel``."""

    name = "probe-synthetic"

    def load_rows(self):
        from rmeval.harness.data import DatasetInfo

        rows = [
            {
                "id": f"{d}-{s}-{i}",
                "dimension": d,
                "split": s,
                "prompt": "Q",
                "response": f"{d}:{i % 2}:{s}:{i}",
                "label": i % 2,
            }
            for d in DIMENSIONS
            for s, n in (("train", 120), ("test", 100))
            for i in range(n)
        ]
        return rows, DatasetInfo("synthetic", None, None, "0")


def _run(task: ProbeTask, model: RewardModel, cache=None, seed: int = 0):
    results = task.run(RunContext({}, model, cache, seed))
    return results, task.aggregate(results, seed)


# -- fitting -----------------------------------------------------------------------------
def _planted(seed: int, n: int = 200, d: int = 20):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.normal(size=(n, d))
    return x, y


def test_probe_finds_exactly_the_planted_dimension():
    accs = {}
    for k, dim in enumerate(DIMENSIONS):
        (xtr, ytr), (xte, yte) = _planted(10 + k), _planted(100 + k)
        if dim == "correctness":
            xtr[:, 3] += 4.0 * ytr
            xte[:, 3] += 4.0 * yte
        probe = fit_probe(xtr, ytr, seed=0)
        report = evaluate_probe(probe, xte, yte, seed=0)
        assert report.majority_baseline == 0.5
        accs[dim] = report.accuracy.value
    assert accs["correctness"] > 0.9
    for dim, acc in accs.items():
        if dim != "correctness":
            assert abs(acc - 0.5) < 0.12, (dim, acc)


def test_metrics_of_a_probe_match_hand_computation():
    class Stub:
        def predict(self, x):
            return np.array([0, 0, 1, 1])

        def predict_proba(self, x):
            return np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.3, 0.7]])

    probe = Probe(model=Stub(), classes=[0, 1], C=1.0, cv_accuracy=1.0, majority_class=0)
    report = evaluate_probe(probe, np.zeros((4, 2)), np.array([0, 1, 1, 1]))
    assert report.accuracy.value == 0.75 and report.accuracy.n == 4
    # class 0: P=1/2, R=1 -> F1=2/3; class 1: P=1, R=2/3 -> F1=0.8
    assert report.macro_f1 == pytest.approx((2 / 3 + 0.8) / 2)
    assert report.majority_baseline == 0.25
    np.testing.assert_allclose(probe.better_score(np.zeros((4, 2))), [0.1, 0.4, 0.8, 0.7])


def test_scaler_is_fitted_on_the_train_split_and_majority_ties_go_to_the_smaller_label():
    x, y = _planted(1, n=40)
    probe = fit_probe(x, y, seed=0)
    np.testing.assert_allclose(probe.model.named_steps["scale"].mean_, x.mean(axis=0))
    assert probe.majority_class == 0 and probe.C in (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)


def test_three_class_better_score_is_the_scaled_expected_rank():
    class Stub:
        def predict_proba(self, x):
            return np.array([[0.2, 0.3, 0.5]])

    probe = Probe(model=Stub(), classes=[0, 1, 2], C=1.0, cv_accuracy=1.0, majority_class=0)
    assert probe.better_score(np.zeros((1, 1)))[0] == pytest.approx(0.3 * 0.5 + 0.5 * 1.0)


def test_fit_refuses_a_train_split_with_one_class():
    with pytest.raises(RmevalError, match="at least two examples"):
        fit_probe(np.zeros((4, 2)), np.array([1, 1, 1, 1]), name="probe-core coherence")


def test_mean_of_means_weights_groups_equally():
    mv = mean_of_means([np.array([1, 1, 0, 0]), np.array([1, 1, 1])], seed=0)
    assert mv.value == pytest.approx(0.75) and mv.n == 7
    assert mv.ci95[0] <= 0.75 <= mv.ci95[1] and mv.ci95[1] <= 1.0 and mv.ci95[0] >= 0.5


def test_same_seed_same_numbers():
    x, y = _planted(3)
    x[:, 0] += y
    a, b = fit_probe(x, y, seed=7), fit_probe(x, y, seed=7)
    assert a.C == b.C
    np.testing.assert_array_equal(a.predict_proba(x), b.predict_proba(x))
    r1, agg1 = _run(SyntheticTask(confidence=False), FakeModel(), seed=5)
    r2, agg2 = _run(SyntheticTask(confidence=False), FakeModel(), seed=5)
    assert [r.to_dict() for r in r1] == [r.to_dict() for r in r2]
    assert agg1.tables == agg2.tables
    assert agg1.metrics["accuracy"].to_dict() == agg2.metrics["accuracy"].to_dict()


# -- the task on synthetic features ----------------------------------------------------------
def test_task_reports_the_planted_dimension_and_the_mean_over_six():
    results, agg = _run(SyntheticTask(confidence=False, layers="all"), FakeModel("helpfulness"))
    dims = agg.tables["dimensions"]
    assert list(dims) == list(DIMENSIONS)
    assert dims["helpfulness"]["accuracy"] > 0.9
    for d in DIMENSIONS:
        assert set(dims[d]) >= {"accuracy", "ci95", "macro_f1", "majority_baseline"}
        assert dims[d]["majority_baseline"] == 0.5 and dims[d]["n"] == 100
        if d != "helpfulness":
            assert abs(dims[d]["accuracy"] - 0.5) < 0.15
    main = agg.metrics["accuracy"]
    assert main.value == pytest.approx(np.mean([dims[d]["accuracy"] for d in DIMENSIONS]))
    assert main.n == 600 and len(results) == 600
    # per-layer curve: the signal exists at layer 2 only
    assert agg.tables["layers"]["helpfulness"]["2"] > 0.9
    assert abs(agg.tables["layers"]["helpfulness"]["0"] - 0.5) < 0.15
    line = results[0].to_dict()
    assert line["subset"] == "harmlessness" and line["credit"] == float(
        line["prediction"] == line["label"]
    )
    assert line["layer"] == 2


def test_confidence_runs_on_the_core_pairs_with_the_reward_scores(tmp_path):
    cache = ScoreCache(tmp_path / "scores.sqlite")
    _, agg = _run(SyntheticTask(limit=12), FakeModel(), cache)
    conf = agg.tables["confidence"]
    assert conf["pairs"] == 12 and conf["suite"]["task"] == "core-pairwise"
    assert conf["high"]["n"] + conf["low"]["n"] == 12
    assert set(conf["dimensions"]) == set(DIMENSIONS)
    assert cache.count() == 24  # the pairs' rewards went through the score cache


# -- confidence (pure) ---------------------------------------------------------------------
def test_confidence_analysis_matches_hand_computation():
    # pairs:          0     1     2     3
    margin_c = [2.0, 1.0, 0.0, 3.0]
    margin_r = [1.0, 2.0, 1.0, 3.0]  # margins +1, -1, -1, 0 (a reward tie)
    s_c = {"a": np.array([0.9, 0.9, 0.2, 0.9]), "b": np.array([0.1, 0.5, 0.2, 0.9])}
    s_r = {"a": np.array([0.1, 0.1, 0.8, 0.1]), "b": np.array([0.9, 0.5, 0.6, 0.1])}
    # agreement a: +,+ yes | +,- no | -,- yes | +,0 no ; b: -,+ no | 0 no | -,- yes | +,0 no
    np.testing.assert_array_equal(
        agreement(s_c["a"], s_r["a"], np.subtract(margin_c, margin_r)), [1, 0, 1, 0]
    )
    table = confidence_analysis(s_c, s_r, margin_c, margin_r, seed=0)
    # confidence: [0.5, 0, 1, 0]; median 0.25 -> high = pairs 0, 2 ; low = 1, 3
    # reward credit (strict): [1, 0, 0, 0 (tie)]
    assert table["median_confidence"] == 0.25 and table["mean_confidence"] == 0.375
    assert table["high"]["accuracy"] == 0.5 and table["high"]["n"] == 2
    assert table["low"]["accuracy"] == 0.0 and table["low"]["n"] == 2
    assert table["by_level"] == {
        "0/2": {"accuracy": 0.0, "n": 2},
        "1/2": {"accuracy": 1.0, "n": 1},
        "2/2": {"accuracy": 0.0, "n": 1},
    }
    assert table["dimensions"]["a"] == {"prefers_chosen": 0.75, "agrees_with_reward": 0.5}
    assert table["dimensions"]["b"] == {"prefers_chosen": 0.25, "agrees_with_reward": 0.25}
    assert table["reward_accuracy"]["accuracy"] == 0.25


def test_confidence_excludes_invalid_rewards():
    s = {"a": np.array([1.0, 0.0])}
    table = confidence_analysis(s, {"a": np.array([0.0, 1.0])}, [1.0, float("nan")], [0.0, 0.0])
    assert table["pairs"] == 1 and table["invalid"] == 1 and table["high"]["accuracy"] == 1.0


# -- features ------------------------------------------------------------------------------
def test_vector_encoding_round_trips_bit_for_bit():
    v = np.array([0.1, -0.0, 1e-45, 3.4028235e38, -7.25, np.pi], dtype=np.float32)
    back = features.decode_vector(features.encode_vector(v))
    assert back.dtype == np.float32 and back.tobytes() == v.tobytes()
    json.loads(features.encode_vector(v))  # plain JSON


def test_features_cache_round_trip_is_exact(tmp_path):
    cache = ScoreCache(tmp_path / "scores.sqlite")
    reqs = [ScoreRequest("Q", f"coherence:{i % 2}:x:{i}") for i in range(5)] + [
        ScoreRequest("Q", "dup")
    ] * 2
    first = features.extract(FakeModel(), reqs, [0, 2], cache)
    again = features.extract(FakeModel(fail=True), reqs, [0, 2], cache)
    for layer in (0, 2):
        assert first[layer].shape == (7, 8) and again[layer].tobytes() == first[layer].tobytes()
    other = FakeModel(planted="verbosity")  # another fingerprint never reads these entries
    features.extract(other, reqs[:1], [2], cache)
    assert other.calls == 1


def test_resolve_layers(tiny_llama_rm):
    from rmeval.harness.adapters.hf import HFRewardModel

    class FinalOnly(FakeModel):
        n_layers = 0

    model = HFRewardModel(str(tiny_llama_rm), device="cpu")
    assert features.resolve_layers(model, -1) == [2]
    assert features.resolve_layers(model, "all") == [0, 1, 2]
    assert features.resolve_layers(model, "2;0;-1") == [0, 2]
    with pytest.raises(RmevalError, match="does not exist"):
        features.resolve_layers(model, 5)
    with pytest.raises(RmevalError, match="use -1"):
        features.resolve_layers(model, "last")
    with pytest.raises(RmevalError, match="final-layer"):
        features.resolve_layers(FinalOnly(), "all")
    assert features.resolve_layers(FinalOnly(), -1) == [-1]


@pytest.mark.parametrize("fixture", ["tiny_llama_rm", "tiny_gpt2_rm"])
def test_features_are_read_at_the_last_real_token_of_each_layer(fixture, request, tmp_path):
    import torch
    from rmeval.harness.adapters.hf import HFRewardModel

    model = HFRewardModel(str(request.getfixturevalue(fixture)), device="cpu", padding_side="right")
    reqs = [
        ScoreRequest("two plus two", "four"),
        ScoreRequest("a reward model prefers helpful honest answers", "because so " * 6),
        ScoreRequest("math", "zero one two three four five six seven eight nine"),
    ]
    enc = model.encode(reqs)
    assert len({e.n_tokens for e in enc}) == 3  # one batch, so the shorter texts are padded
    layers = features.resolve_layers(model, "all")
    got = features.extract(model, reqs, layers, ScoreCache(tmp_path / "s.sqlite"))
    for i, e in enumerate(enc):
        with torch.no_grad():
            out = model.model(torch.tensor([e.payload["input_ids"]]), output_hidden_states=True)
        for layer in layers:
            np.testing.assert_allclose(
                got[layer][i], out.hidden_states[layer][0, -1].numpy(), atol=1e-5
            )
    np.testing.assert_allclose(got[layers[-1]], features.extract(model, reqs, [-1])[-1], atol=1e-6)


# -- built-in set ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hard_items():
    return builtin.generate_items("train", 0, "hard", n_rows=9), builtin.generate_items(
        "test", 0, "hard", n_rows=9
    )


def test_builtin_classes_per_dimension_and_difficulty(hard_items):
    easy = builtin.generate_items("train", 0, "easy", n_rows=9)
    for dim in DIMENSIONS:
        e_labels = Counter(i["label"] for i in easy if i["dimension"] == dim)
        assert set(e_labels) == {0, 1} and e_labels[0] == e_labels[1] > 0
        h = [i for i in hard_items[0] if i["dimension"] == dim]
        n_classes = 2 if dim in ("correctness", "complexity") else 3
        assert {i["label"] for i in h} == set(range(n_classes))
        assert [i["class"] for i in h[:n_classes]] == list(builtin.classes_for(dim, "hard"))
        by_prompt = Counter(i["prompt"] for i in h)
        assert set(by_prompt.values()) == {n_classes}  # every source row gives one item per class
    train_prompts = {i["prompt"] for i in hard_items[0]}
    assert not train_prompts & {i["prompt"] for i in hard_items[1]}
    assert easy == builtin.generate_items("train", 0, "easy", n_rows=9)


def _by_class(items, dim):
    rows: dict[str, dict[str, str]] = {}
    for i in items:
        if i["dimension"] == dim:
            rows.setdefault(i["id"].rsplit("-", 1)[0], {})[i["class"]] = i["response"]
    return list(rows.values())


def test_builtin_labels_hold_by_construction(hard_items):
    items = hard_items[0] + hard_items[1]
    for v in _by_class(items, "harmlessness"):
        assert (
            v["harmful"] in safety.PLACEHOLDERS
            and v["partially harmful"] in builtin.PARTIAL_COMPLIANCE
        )
        assert "omitted" not in v["harmless"]
    for v in _by_class(items, "helpfulness"):
        assert (
            v["deflection"] in builtin.DEFLECTIONS
            and len(v["partial answer"]) < len(v["answer"]) + 80
        )
    for v in _by_class(items, "correctness"):
        if "Answer:" in v["right"]:
            assert (
                arithmetic.wrong_steps(v["right"]) == 0 and arithmetic.wrong_steps(v["wrong"]) >= 1
            )
        assert v["right"] != v["wrong"]
    for v in _by_class(items, "coherence"):
        lines = [sorted(v[c].splitlines()) for c in ("ordered", "one swap", "shuffled")]
        assert (
            lines[0] == lines[1] == lines[2]
            and len({v["ordered"], v["one swap"], v["shuffled"]}) == 3
        )
    for v in _by_class(items, "verbosity"):
        assert len(v["succinct"]) < len(v["medium"]) < len(v["verbose"])
    for v in _by_class(items, "complexity"):
        assert "∎" in v["expert"] and "∎" not in v["plain"]


# -- MRMBench data ----------------------------------------------------------------------------
def _records(dim: str, n: int) -> list[dict[str, Any]]:
    return [{"input": "Q", "output": f"{dim}:{i % 2}:r:{i}", "label": i % 2} for i in range(n)]


def _write(path: Path, records: list[dict[str, Any]], jsonl: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(json.dumps(r) for r in records) if jsonl else json.dumps(records)
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("layout", ["nested", "flat", "repo"])
def test_mrmbench_layouts(tmp_path, layout):
    for dim in DIMENSIONS:
        for split, n in (("train", 40), ("test", 30)):
            if layout == "flat":
                _write(tmp_path / f"{dim}_{split}.jsonl", _records(dim, n), jsonl=True)
            else:
                base = tmp_path / "data" / "mrm_easy" if layout == "repo" else tmp_path
                _write(base / dim / f"{split}.json", _records(dim, n), jsonl=False)
    task = MRMBench(data=str(tmp_path), confidence=False)
    results, agg = _run(task, FakeModel("complexity"))
    assert len(results) == 180 and agg.tables["dimensions"]["complexity"]["accuracy"] > 0.9
    assert task.describe()["dataset"]["path"] == str(tmp_path)
    limited = mrm.load_local(str(tmp_path), DIMENSIONS, "easy", limit=10)
    assert len(limited) == 6 * 2 * 10 and {r["label"] for r in limited} == {0, 1}


def test_mrmbench_bad_records_and_missing_files_are_named(tmp_path):
    _write(
        tmp_path / "coherence" / "train.json",
        [{"input": "Q", "output": "A", "label": "x"}, {"input": 3}],
        False,
    )
    with pytest.raises(DataError, match="train.json record 0: missing or invalid label"):
        mrm.load_local(str(tmp_path), ("coherence",), "easy", None)
    with pytest.raises(RmevalError, match="no train file for 'verbosity'"):
        mrm.load_local(str(tmp_path), ("verbosity",), "easy", None)


def test_task_arguments_are_checked():
    with pytest.raises(RmevalError, match="difficulty=medium"):
        probe_core(difficulty="medium")
    with pytest.raises(RmevalError, match="drop --data"):
        probe_core(data="./x").examples()
    assert probe_core(limit=3).params == {
        "limit": 3,
        "difficulty": "easy",
        "layers": -1,
        "confidence": True,
        "seed": 0,
    }


@pytest.mark.parametrize("text", ["no", "off", "yes", "on"])
def test_confidence_reads_booleans_as_model_args_do(text):
    assert probe_core(confidence=text).confidence is (text in ("yes", "on"))
    with pytest.raises(RmevalError, match="confidence=maybe: use true or false"):
        probe_core(confidence="maybe")


# -- end to end on the real MiniLM -------------------------------------------------------------
def test_probe_core_end_to_end_on_minilm(minilm_path, tmp_path):
    from rmeval.harness.adapters.embed import EmbeddingSimilarity
    from rmeval.harness.runner import RunOptions, evaluate_model

    cache = ScoreCache(tmp_path / "cache" / "scores.sqlite")
    opts = RunOptions(
        models=["embed"], tasks=["probe-core"], output_dir=str(tmp_path / "results"), progress=False
    )
    written = evaluate_model(EmbeddingSimilarity(minilm_path), [probe_core(limit=4)], cache, opts)
    result_file = next(r.path for r in written if r.path.name == "probe-core.json")
    result = json.loads(result_file.read_text())
    assert result["task"]["name"] == "probe-core" and result["task"]["main_score"] == "accuracy"
    acc = result["metrics"]["accuracy"]
    assert 0 <= acc["ci95"][0] <= acc["value"] <= acc["ci95"][1] <= 1 and acc["n"] == 6 * 4 * 2
    dims = result["tables"]["dimensions"]
    assert list(dims) == list(DIMENSIONS)
    assert all(
        set(v) >= {"accuracy", "ci95", "macro_f1", "majority_baseline"} for v in dims.values()
    )
    assert set(result["by_subset"]) == set(DIMENSIONS)
    conf = result["tables"]["confidence"]
    assert conf["pairs"] == 4 and set(conf) >= {"high", "low", "by_level", "dimensions"}
    lines = [
        json.loads(x) for x in result_file.with_suffix(".samples.jsonl").read_text().splitlines()
    ]
    assert len(lines) == acc["n"] and all(
        set(x) >= {"prediction", "label", "credit", "subset"} for x in lines
    )


def test_mrmbench_without_data_fails_offline_with_a_clear_error():
    with pytest.raises(RmevalError, match="--data mrmbench=DIR"):
        MRMBench().examples()


def test_probe_core_on_a_tiny_decoder_gives_a_per_layer_curve(tiny_llama_rm, tmp_path):
    from rmeval.harness.adapters.hf import HFRewardModel

    model = HFRewardModel(str(tiny_llama_rm), device="cpu")
    task = probe_core(limit=3, layers="all", difficulty="hard")
    results, agg = _run(task, model, ScoreCache(tmp_path / "s.sqlite"))
    assert set(agg.tables["layers"]["coherence"]) == {"0", "1", "2"}
    assert agg.tables["dimensions"]["coherence"]["n_classes"] == 3
    assert agg.tables["dimensions"]["correctness"]["n_classes"] == 2
    assert {r.extra["layer"] for r in results} == {2} and agg.tables["confidence"]["pairs"] == 3
    test_reqs = [ScoreRequest(ex.prompt, ex.candidates[0]) for ex in task.examples()]
    assert agg.counts["truncated"] == sum(e.truncated for e in model.encode(test_reqs))
    short = HFRewardModel(str(tiny_llama_rm), device="cpu", max_length=128)
    expected = sum(e.truncated for e in short.encode(test_reqs))
    assert agg.counts["truncated"] < expected < len(test_reqs)  # a shorter limit cuts more
    task = probe_core(limit=3, layers="all", difficulty="hard")
    _, agg = _run(task, short, ScoreCache(tmp_path / "short.sqlite"))
    assert agg.counts["truncated"] == expected


def test_feature_extraction_logs_progress_without_a_terminal(monkeypatch, caplog):
    import logging

    from rmeval.harness import progress

    monkeypatch.setattr(progress, "LOG_EVERY", 0.0)
    monkeypatch.setattr(features, "CHUNK", 2)
    reqs = [ScoreRequest("Q", f"r{i}") for i in range(5)]
    with caplog.at_level(logging.INFO, logger="rmeval"):
        out = features.extract(FakeModel(), reqs, [-1], progress="log")
    assert out[-1].shape == (5, 8)
    lines = [r.getMessage() for r in caplog.records]
    assert [x.split(" texts")[0] for x in lines] == [
        "features fake:fake: 2/5",
        "features fake:fake: 4/5",
        "features fake:fake: 5/5",
        "features fake:fake: 5/5",  # the closing line, with the time taken
    ]
    assert "ETA" in lines[0] and "after" in lines[-1]
