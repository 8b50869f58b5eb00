"""Scale paths (never timings): chunked bootstrap equal to one draw, JSON Lines read as a stream,
keys hashed once, sorted cache lookups, streamed samples, results equal across file sizes."""

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from rmeval.harness import data, local_data, metrics, results, staged_file
from rmeval.harness.bench.scale import cmd_scale, head_file, write_pairs
from rmeval.harness.cache import ScoreCache
from rmeval.harness.cli import main
from rmeval.harness.records import ExampleResult, Score, ScoreRequest, canonical_json, sha256_text


def old_mean_ci(values, seed=0, n_boot=1000):
    """The implementation before the scale work: one n_boot x n index matrix."""
    arr = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    boots = arr[rng.integers(0, arr.size, (n_boot, arr.size))].mean(axis=1)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return float(arr.mean()), (float(lo), float(hi))


@pytest.mark.parametrize("n", [1, 2, 37, 1000])
def test_chunked_bootstrap_equals_the_one_matrix_draw(n, monkeypatch):
    values = (np.random.default_rng(n).random(n) < 0.6).astype(float).tolist()
    value, ci = old_mean_ci(values, seed=7)
    for chunk in (1, 5 * n + 3, 1 << 22):
        monkeypatch.setattr(metrics, "CHUNK_ELEMENTS", chunk)
        got = metrics.mean_ci(values, seed=7)
        assert (got.value, got.ci95, got.n) == (value, ci, n)  # bit for bit, not approx


def test_mean_ci_draws_bounded_blocks(monkeypatch):
    shapes = []
    real = np.random.default_rng

    class Spy:
        def __init__(self, seed):
            self.rng = real(seed)

        def integers(self, lo, hi, size):
            shapes.append(size)
            return self.rng.integers(lo, hi, size)

    monkeypatch.setattr(metrics.np.random, "default_rng", Spy)
    monkeypatch.setattr(metrics, "CHUNK_ELEMENTS", 100)
    got = metrics.mean_ci([1.0, 0.0, 1.0, 1.0] * 10, seed=3)  # n = 40: 2 resamples per block
    assert got.value == 0.75
    assert shapes == [(2, 40)] * 500
    monkeypatch.setattr(metrics.np.random, "default_rng", real)
    assert got.ci95 == old_mean_ci([1.0, 0.0, 1.0, 1.0] * 10, seed=3)[1]


def test_json_lines_are_parsed_without_reading_the_whole_file(tmp_path, monkeypatch):
    rows = [{"id": "a", "prompt": "p\u2028q", "chosen": "x"}, {"id": "b", "prompt": "r"}]
    text = "\ufeff" + json.dumps(rows[0], ensure_ascii=False) + "\r\n\n" + json.dumps(rows[1])
    plain, packed = tmp_path / "d.jsonl", tmp_path / "d.jsonl.gz"
    plain.write_text(text, encoding="utf-8")
    packed.write_bytes(gzip.compress(text.encode("utf-8")))

    def whole_file(path):
        raise AssertionError(f"{path} read whole")

    monkeypatch.setattr(local_data, "_read_bytes", whole_file)
    for path in (plain, packed):
        loaded, info = data.load_rows(str(path))
        assert loaded == [rows[0], {**rows[1], "chosen": None}]
        assert info.sha256 == data.rows_sha256(loaded)


def test_a_bad_line_is_still_named_when_streaming(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"prompt": "a"}\n{"prompt": "b"}\n{"prompt": "\xff"}\n')
    with pytest.raises(data.RmevalError, match=r"bad.jsonl:3: byte 0xff is not UTF-8"):
        data.load_rows(str(path))


def test_a_request_hashes_its_key_once_with_the_same_value():
    req = ScoreRequest("prompt", "response", None, (("user", "hi"), ("assistant", "yo")))
    expected = sha256_text(
        canonical_json(["prompt", "response", None, [["user", "hi"], ["assistant", "yo"]]])
    )
    assert req._key is None
    assert req.key == expected and req._key == expected
    assert req == ScoreRequest("prompt", "response", None, req.context)  # key not compared


def test_sorted_lookups_and_first_write_wins(tmp_path):
    cache = ScoreCache(tmp_path / "c.sqlite")
    cache.put_many("fp", [("k2", Score(2.0)), ("k1", Score(1.0)), ("k2", Score(9.0))])
    cache.put_many("fp", [("k1", Score(5.0))])
    found = cache.get_many("fp", ["k3", "k2", "k1"])
    assert {k: s.value for k, s in found.items()} == {"k1": 1.0, "k2": 2.0}
    cache.close()


def test_samples_are_streamed_and_strict(tmp_path, monkeypatch):
    written = []
    real = staged_file.StagedFile.write

    def spy(self, text):
        written.append(text)  # one call per line: nothing holds the file's lines
        return real(self, text)

    monkeypatch.setattr(staged_file.StagedFile, "write", spy)
    nan = ExampleResult(
        "a", "s", [1.0, float("nan")], None, invalid=True, extra={"m": {"x": 1e999}}
    )
    ok = ExampleResult("b", "s", [2.0, 1.0], 1.0, text_hashes=["h1", "h2"])
    assert results.sample_line(nan) == json.dumps(results._strict(nan.to_dict())) + "\n"
    path = tmp_path / "t.samples.jsonl"
    record = results._write_samples(path, [nan, ok])
    assert len(written) == 2 and all(t.count("\n") == 1 for t in written)
    assert record == {"path": path.name, "sha256": results.file_sha256(path), "lines": 2}
    lines = (tmp_path / "t.samples.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["m"] == {"x": None} and json.loads(lines[0])["scores"] == [
        1.0,
        None,
    ]
    assert json.loads(lines[1])["text_hashes"] == ["h1", "h2"]


def _samples(tmp_path: Path, data_file: Path, tag: str) -> list[str]:
    argv = ["run", "--model", "length", "--tasks", "pairwise", "--data", f"pairwise={data_file}"]
    argv += ["--output-dir", str(tmp_path / tag), "--cache-dir", str(tmp_path / f"c{tag}")]
    assert main([*argv, "--no-progress"]) == 0
    (path,) = (tmp_path / tag).glob("*/pairwise.samples.jsonl")
    return path.read_text().splitlines()


def test_results_are_identical_on_the_rows_two_sizes_share(tmp_path):
    big, small = tmp_path / "big.jsonl", tmp_path / "small.jsonl"
    write_pairs(big, 300, seed=1)
    head_file(big, small, 120)
    assert big.read_text().splitlines()[:120] == small.read_text().splitlines()
    small_lines, big_lines = _samples(tmp_path, small, "s"), _samples(tmp_path, big, "b")
    assert len(small_lines) == 120 and len(big_lines) == 300
    assert big_lines[:120] == small_lines
    first = json.loads(small_lines[0])
    row = json.loads(small.read_text().splitlines()[0])
    assert first["scores"] == [len(row["chosen"]), len(row["rejected"])]  # length in chars


def test_the_scale_bench_writes_its_table(tmp_path, capsys):
    class Args:
        sizes, model_pairs, seed, output_dir = "40,90", 0, 0, str(tmp_path / "bench")

    assert cmd_scale(Args) == 0
    rec = json.loads((tmp_path / "bench" / "scale.json").read_text())
    small, large = rec["sizes"]
    assert (small["pairs"], large["pairs"]) == (40, 90)
    assert large["overlap_identical"] is True and small["overlap_identical"] is None
    assert all(
        r["fresh"]["peak_rss_mib"] > 0 and r["recompute"]["wall_s"] > 0 for r in rec["sizes"]
    )
    assert small["rss_per_extra_pair_b"] is None and isinstance(
        large["rss_per_extra_pair_b"], float
    )
    assert "overlap identical: True" in capsys.readouterr().out


def test_a_streamed_hub_dataset_has_the_rows_and_sha256_of_a_prepared_one(tmp_path, monkeypatch):
    import datasets
    from rmeval.tasks.preference import pairwise

    folder = tmp_path / "hub"
    folder.mkdir()
    write_pairs(folder / "train.jsonl", 30, seed=2)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "dscache")
    task = pairwise(data=str(folder), streaming="true", limit=20)
    monkeypatch.setattr(data, "_looks_local", lambda source: False)  # as a hub id would
    streamed, sinfo = task.load_rows()
    assert not list((tmp_path / "dscache").rglob("*.arrow"))  # nothing prepared on disk
    source = data._hub_source(str(folder), revision=None, split="train", name=None, limit=20)
    prepared, info = source.load()
    assert list((tmp_path / "dscache").rglob("*.arrow"))
    assert streamed == prepared and len(streamed) == 20
    assert sinfo.sha256 == info.sha256 == data.rows_sha256(prepared)
    assert task.params["streaming"] is True
    with pytest.raises(data.RmevalError, match="streaming=maybe: use true or false"):
        pairwise(data=str(folder), streaming="maybe")
