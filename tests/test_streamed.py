"""Streamed tasks (``rmeval.harness.streamed``): read, scored and evaluated chunk by chunk, with
results byte for byte those of the in-memory path; bad rows across chunks reported at once; data
changed between the two reads refused; the bounded path taken (chunks, no examples kept)."""

import dataclasses
import json
from pathlib import Path

import pytest
from rmeval.harness import streamed
from rmeval.harness.errors import DataError, RmevalError
from rmeval.harness.runner import RunOptions, run
from rmeval.tasks.preference import PreferenceTask

CHUNK = 7


def _rows(n: int, rejected: int = 1) -> list[dict]:
    """Pairs with subsets and some equal-length ties (``length`` scores them equal)."""
    rows = []
    for i in range(n):
        chosen = "a" * (3 + i % 5)
        rest = ["b" * (3 + (i * (j + 2)) % 6) for j in range(rejected)]
        rows.append({"id": f"r{i}", "subset": f"s{i % 3}", "prompt": f"question {i}",
                     "chosen": chosen, "rejected": rest if rejected > 1 else rest[0]})  # fmt: skip
    return rows


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _run(tmp_path: Path, task: str, data: Path, out: str, **kw) -> tuple[dict, bytes]:
    opts = RunOptions(models=["length"], tasks=[task], data={task: str(data)}, progress=False,
                      output_dir=str(tmp_path / out), cache_dir=str(tmp_path / "cache"), **kw)  # fmt: skip
    (result,) = run(opts)
    samples = result.path.with_name(f"{task}.samples.jsonl").read_bytes()
    return json.loads(result.path.read_text()), samples


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(streamed, "CHUNK_EXAMPLES", CHUNK)
    sizes = []
    real = PreferenceTask.build_example_chunk

    def spy(self, rows, check):
        sizes.append(len(rows))
        return real(self, rows, check)

    monkeypatch.setattr(PreferenceTask, "build_example_chunk", spy)
    return sizes


def in_memory(monkeypatch) -> None:
    """From now on, every task loads its examples (the path before streaming)."""
    monkeypatch.setattr(streamed, "check_rows", lambda task: None)


SAME = ("metrics", "by_subset", "counts", "tables", "identity", "task")


@pytest.mark.parametrize(("task", "rejected"), [("pairwise", 1), ("best-of-n", 3)])
def test_a_streamed_run_equals_the_in_memory_run(
    tmp_path, monkeypatch, small_chunks, task, rejected
):
    data = _write(tmp_path / "prefs.jsonl", _rows(40, rejected))
    got, got_samples = _run(tmp_path, task, data, "streamed", log_texts=True)
    assert small_chunks and max(small_chunks) <= CHUNK  # read in chunks, twice
    assert sum(small_chunks) == 2 * 40
    in_memory(monkeypatch)
    want, want_samples = _run(tmp_path, task, data, "in-memory", log_texts=True)
    assert got_samples == want_samples
    assert {k: got[k] for k in SAME} == {k: want[k] for k in SAME}
    assert got["counts"]["ties"] > 0 and got["samples"] == want["samples"]


def test_the_streamed_task_keeps_no_examples(tmp_path, small_chunks):
    from rmeval.harness.task_options import build_tasks

    data = _write(tmp_path / "prefs.jsonl", _rows(20))
    opts = RunOptions(models=["length"], tasks=["pairwise"], data={"pairwise": str(data)})
    (task,) = build_tasks(["pairwise"], opts)
    task.prepare()
    assert task.stream is not None and task._examples is None
    assert (task.n_examples, task.stream.texts) == (20, 40)
    assert task.dataset.sha256 == task.load_rows()[1].sha256


def test_bad_rows_in_several_chunks_are_reported_at_once(tmp_path, small_chunks, monkeypatch):
    rows = _rows(20)
    rows[2]["chosen"] = 5
    rows[15]["id"] = "r1"  # a duplicate of a row in the first chunk
    rows[18]["rejected"] = ""
    data = _write(tmp_path / "bad.jsonl", rows)
    with pytest.raises(DataError) as streamed_error:
        _run(tmp_path, "pairwise", data, "out")
    in_memory(monkeypatch)
    with pytest.raises(DataError) as listed_error:
        _run(tmp_path, "pairwise", data, "out")
    assert streamed_error.value.problems == listed_error.value.problems
    assert [p.split(":")[0] for p in streamed_error.value.problems] == [
        "row r2",
        "row r1",
        "row r18",
    ]


def test_data_changed_between_the_two_reads_is_refused(tmp_path, small_chunks, monkeypatch):
    data = _write(tmp_path / "prefs.jsonl", _rows(20))
    real = streamed.check_rows

    def then_changed(task):
        checked = real(task)
        _write(data, _rows(21)[1:])  # same size, other rows
        return checked

    monkeypatch.setattr(streamed, "check_rows", then_changed)
    with pytest.raises(RmevalError, match="the data changed while rmeval was reading it"):
        _run(tmp_path, "pairwise", data, "out")
    folder = tmp_path / "out" / "length"
    assert not folder.exists() or not list(folder.iterdir())  # no file, no temporary file


def test_rows_with_different_columns_are_read_whole(tmp_path, small_chunks):
    from rmeval.harness.data import rows_sha256
    from rmeval.harness.local_data import read_local_rows
    from rmeval.harness.task_options import build_tasks

    rows = _rows(20)
    rows[12]["note"] = "only here"
    data = _write(tmp_path / "prefs.jsonl", rows)
    opts = RunOptions(models=["length"], tasks=["pairwise"], data={"pairwise": str(data)})
    (task,) = build_tasks(["pairwise"], opts)
    task.prepare()
    assert task.stream is None and len(task.examples()) == 20
    assert task.dataset.sha256 == rows_sha256(read_local_rows(data))  # filled as a table


def test_a_failure_part_way_leaves_the_previous_result(tmp_path, small_chunks, monkeypatch):
    from rmeval.harness.scoring import Scorer

    data = _write(tmp_path / "prefs.jsonl", _rows(20))
    before, before_samples = _run(tmp_path, "pairwise", data, "out")
    calls = []
    real = Scorer.scores

    def fails_on_the_second_chunk(self, requests):
        calls.append(len(requests))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, requests)

    monkeypatch.setattr(Scorer, "scores", fails_on_the_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, "pairwise", data, "out", seed=3)
    folder = tmp_path / "out" / "length"
    assert sorted(p.name for p in folder.iterdir()) == ["pairwise.json", "pairwise.samples.jsonl"]
    assert (folder / "pairwise.samples.jsonl").read_bytes() == before_samples
    assert json.loads((folder / "pairwise.json").read_text()) == before


def test_rmeval_score_streams_from_the_cache_and_refuses_missing_texts(tmp_path, small_chunks):
    data = _write(tmp_path / "prefs.jsonl", _rows(20))
    with pytest.raises(RmevalError, match="are not in the cache"):
        _run(tmp_path, "pairwise", data, "out", cache_only=True)
    fresh, samples = _run(tmp_path, "pairwise", data, "out")
    cached, cached_samples = _run(tmp_path, "pairwise", data, "again", cache_only=True)
    assert cached_samples == samples and cached["metrics"] == fresh["metrics"]
    assert cached["throughput"]["texts_cached"] == 40 == fresh["throughput"]["texts_scored"]


def test_a_subclass_with_its_own_examples_is_evaluated_in_memory(tmp_path, small_chunks):
    from rmeval.harness.task_options import build_tasks
    from rmeval.tasks.preference import PairwiseTask

    class Swapped(PairwiseTask):  # its own build_examples: the streamed path must not skip it
        def build_examples(self, rows):
            return [dataclasses.replace(e, candidates=e.candidates[::-1])
                    for e in super().build_examples(rows)]  # fmt: skip

    data = _write(tmp_path / "prefs.jsonl", _rows(20))
    opts = RunOptions(models=["length"], tasks=["pairwise"], data={"pairwise": str(data)})
    (plain,) = build_tasks(["pairwise"], opts)
    task = Swapped(data=str(data))
    task.prepare()
    plain.prepare()
    assert plain.stream is not None and task.stream is None
    assert [e.candidates for e in task.examples()] == [
        tuple(reversed(e.candidates)) for e in plain.examples()
    ]


def test_data_files_are_hashed_before_they_are_read(tmp_path, monkeypatch):
    from rmeval.harness import reuse
    from rmeval.harness.task import Task

    data = _write(tmp_path / "prefs.jsonl", _rows(20))
    order = []
    real_hash, real_prepare = reuse._data_or_reason, Task.prepare
    monkeypatch.setattr(reuse, "_data_or_reason", lambda t: order.append("hash") or real_hash(t))
    monkeypatch.setattr(Task, "prepare", lambda t: order.append("read") or real_prepare(t))
    for recompute in (False, True):  # a digest must never name bytes other than those read
        order.clear()
        _run(tmp_path, "pairwise", data, "out", recompute=recompute)
        assert order.index("hash") < order.index("read")
