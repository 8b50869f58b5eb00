"""Reading preference files: every value as written, re-read every time, errors that say where."""

import gzip
import json
import os
from pathlib import Path

import pytest
from rmeval.harness.cli import main
from rmeval.harness.data import load_rows
from rmeval.harness.errors import RmevalError
from rmeval.tasks.preference import preference_examples

# A column that mixes strings and lists, with strings that look like JSON.
MIXED = [
    {"id": "a", "prompt": "p1", "chosen": "abcdef", "rejected": '["aaaaaaaaaaaa", "b"]'},
    {"id": "b", "prompt": "p2", "chosen": "long answer wins", "rejected": ["x", "y"]},
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def run_cli(*argv) -> int:
    return main([str(a) for a in argv])


def test_json_looking_strings_stay_strings(tmp_path):
    rows, _ = load_rows(str(write_jsonl(tmp_path / "mixed.jsonl", MIXED)))
    assert rows == MIXED
    examples = preference_examples(rows, source="mixed.jsonl")
    assert examples[0].candidates == ("abcdef", '["aaaaaaaaaaaa", "b"]')


@pytest.mark.parametrize("answer", ["0", "4", "false", "null", "1.5"])
def test_answers_that_look_like_numbers_are_valid_strings(tmp_path, answer):
    rows = [
        {"prompt": "q1", "chosen": answer, "rejected": ["wrong", "also wrong"]},
        {"prompt": "q2", "chosen": "right", "rejected": answer},
    ]
    path = tmp_path / "prefs.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    loaded, _ = load_rows(str(path))
    assert loaded == rows
    assert len(preference_examples(loaded, source=str(path))) == 2


def test_validate_and_run_agree_on_a_mixed_column(tmp_path, capsys):
    data = write_jsonl(tmp_path / "mixed.jsonl", MIXED)
    assert run_cli("validate", "--tasks", "pairwise", "--data", f"pairwise={data}") == 0
    assert "2 examples OK" in capsys.readouterr().out
    out = tmp_path / "out"
    argv = ["run", "--model", "length", "--tasks", "pairwise", "--data", f"pairwise={data}"]
    argv += ["--output-dir", out, "--cache-dir", tmp_path / "cache", "--no-progress"]
    assert run_cli(*argv) == 0
    (result_path,) = out.rglob("pairwise.json")
    result = json.loads(result_path.read_text())
    # length reward: row a's chosen (6 chars) loses to its one 21-char rejected string; row b wins.
    assert result["metrics"]["accuracy"]["value"] == 0.5
    assert result["counts"]["examples"] == 2


def test_csv_cells_are_the_strings_in_the_file(tmp_path):
    path = tmp_path / "prefs.csv"
    path.write_text('id,prompt,chosen,rejected\n1,p,4,NA\n2,q,"a, b",\n3,r,false,"[1, 2]"\n')
    rows, _ = load_rows(str(path))
    assert rows == [
        {"id": "1", "prompt": "p", "chosen": "4", "rejected": "NA"},
        {"id": "2", "prompt": "q", "chosen": "a, b", "rejected": None},
        {"id": "3", "prompt": "r", "chosen": "false", "rejected": "[1, 2]"},
    ]


def _parquet_bytes(chosen: str) -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(pa.table({"prompt": ["p"], "chosen": [chosen], "rejected": [["x", "y"]]}), sink)
    return sink.getvalue()


def _same_size_rewrite(path: Path, old: bytes, new: bytes) -> None:
    stat = path.stat()
    assert len(old) == len(new)
    path.write_bytes(new)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


LINE = '{"prompt": "p", "chosen": "%s", "rejected": "r"}\n'
ENCODERS = {
    ".jsonl": lambda chosen: (LINE % chosen).encode(),
    ".jsonl.gz": lambda chosen: gzip.compress((LINE % chosen).encode(), mtime=0),
    ".csv": lambda chosen: f"prompt,chosen,rejected\np,{chosen},r\n".encode(),
    ".parquet": _parquet_bytes,
}


@pytest.mark.parametrize("suffix", list(ENCODERS))
def test_a_replaced_file_with_the_same_mtime_is_read_again(tmp_path, suffix):
    old, new = ENCODERS[suffix]("first"), ENCODERS[suffix]("other")
    path = tmp_path / f"prefs{suffix}"
    path.write_bytes(old)
    first, info1 = load_rows(str(path))
    _same_size_rewrite(path, old, new)
    second, info2 = load_rows(str(path))
    assert first[0]["chosen"] == "first" and second[0]["chosen"] == "other"
    assert info1.sha256 != info2.sha256


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "bad.jsonl",
            b'{"prompt": "p"}\n{"prompt": "\xff"}\n',
            "bad.jsonl:2: byte 0xff is not UTF-8",
        ),
        ("bad.csv", b"prompt,chosen\np,c\nq,\xe9\n", "bad.csv:3: byte 0xe9 is not UTF-8"),
        ("arr.json", b'[{"prompt": "p"}, 3]', "arr.json: item 2 of the JSON array is a number"),
        ("q.csv", b'prompt,chosen,rejected\np,c,r\nq,"x"y,z\n', "q.csv:3: CSV quoting error"),
        ("open.csv", b'prompt,chosen,rejected\np,"c,r\n', "open.csv:2: CSV quoting error"),
        # an unclosed quote fails only at the end of the file: name the line it opened on
        ("late.csv", b'prompt,chosen,rejected\np,"c,r\nq,c,r\nz,c,r\n', "late.csv:2: CSV quoting"),
        ("tall.csv", b'prompt,chosen,rejected\np,"two\nlines",r,x\n', "tall.csv:2: 4 cells"),
        (
            "wide.csv",
            b"prompt,chosen,rejected\np,c,r,extra\n",
            "wide.csv:2: 4 cells but the header",
        ),
        ("row.jsonl", b'{"prompt": "p"}\n["p"]\n', "row.jsonl:2: a JSON array, not an object"),
        ("dup.jsonl", b'{"prompt": "p", "prompt": "q"}\n', "dup.jsonl:1: key 'prompt' appears"),
        ("z.jsonl.gz", b"not gzip", "z.jsonl.gz: not a valid gzip file"),
    ],
)
def test_read_errors_name_the_file_and_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(RmevalError) as err:
        load_rows(str(path))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_missing_relative_path_is_not_a_hub_id(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for source in ("prefs.jsonl", "data/prefs.jsonl", "a/b/c"):
        with pytest.raises(RmevalError) as err:
            load_rows(source)
        assert f"{source}: no such file or folder" in str(err.value)
        assert "hub" not in str(err.value)


def test_the_cli_shows_a_read_error_as_one_sentence(tmp_path, capsys):
    path = tmp_path / "prefs.csv"
    path.write_bytes(b'prompt,chosen,rejected\np,"c,r\n')
    assert run_cli("validate", "--tasks", "pairwise", "--data", f"pairwise={path}") == 2
    err = capsys.readouterr().err
    assert f"{path}:2: CSV quoting error" in err and "Traceback" not in err


# -- hub datasets, offline, from a `datasets` cache laid out on disk ------------------------

SHA = "ab" * 20


def _cache_hub_dataset(cache: Path, repo: str, sha: str, splits: dict[str, list[dict]]) -> None:
    """The layout `datasets` leaves after loading ``repo`` at commit ``sha``."""
    import datasets
    import pyarrow as pa

    name = repo.split("/")[-1]
    folder = cache / repo.replace("/", "___") / "default" / "0.0.0" / sha
    folder.mkdir(parents=True)
    infos = {}
    for split, rows in splits.items():
        ds = datasets.Dataset.from_list(rows)
        with pa.OSFile(str(folder / f"{name}-{split}.arrow"), "wb") as sink:
            writer = pa.ipc.new_stream(sink, ds.data.table.schema)
            writer.write_table(ds.data.table)
            writer.close()
        infos[split] = datasets.SplitInfo(split, num_examples=len(rows))
    info = datasets.DatasetInfo(
        features=ds.features,
        config_name="default",
        dataset_name=name,
        builder_name=name,
        splits=datasets.SplitDict(infos),
    )
    info.write_to_directory(str(folder))


def test_a_hub_dataset_records_the_commit_it_was_loaded_at(tmp_path, monkeypatch):
    import datasets

    rows = [{"prompt": "p", "chosen": "c", "rejected": "r"}]
    _cache_hub_dataset(tmp_path / "hf", "owner/tiny-prefs", SHA, {"train": rows})
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf")
    loaded, info = load_rows("owner/tiny-prefs", revision="main", split="train")
    assert loaded == rows
    assert info.to_dict()["revision_requested"] == "main"
    assert info.to_dict()["revision_resolved"] == SHA == info.revision
    with pytest.raises(RmevalError) as err:
        load_rows("owner/tiny-prefs", revision="cd" * 20, split="train")
    assert f"at commit {SHA}, not the requested revision {'cd' * 20}" in str(err.value)


def test_rewardbench_records_both_commits_of_its_hub_datasets(tmp_path, monkeypatch):
    import datasets
    from rmeval.tasks.rewardbench import PRIOR_SUBSETS, RewardBenchTask

    row = {"id": 1, "prompt": "q", "chosen": "good", "rejected": "bad"}
    main = [dict(row, subset="alpacaeval-easy")]
    _cache_hub_dataset(tmp_path / "hf", "allenai/reward-bench", SHA, {"filtered": main})
    prior = {s: [dict(row, id=i)] for i, s in enumerate(PRIOR_SUBSETS)}
    _cache_hub_dataset(tmp_path / "hf", "allenai/pref-test-sets", "cd" * 20, prior)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf")
    task = RewardBenchTask(prior_sets=True)
    assert len(task.examples()) == 1 + len(PRIOR_SUBSETS)
    dataset = task.describe()["dataset"]
    assert dataset["revision_requested"] == "main+main"
    assert dataset["revision_resolved"] == dataset["revision"] == f"{SHA}+{'cd' * 20}"


def test_an_mrmbench_hub_snapshot_records_its_commit(tmp_path, monkeypatch):
    import shutil

    from rmeval.probes import mrmbench_data
    from rmeval.probes.task import mrmbench

    snapshot = tmp_path / "snapshots" / SHA
    shutil.copytree(Path(__file__).parent / "data" / "mrmbench", snapshot)
    monkeypatch.setattr(mrmbench_data, "download", lambda repo, revision, difficulty: str(snapshot))
    _, info = mrmbench(data="owner/mrm").load_rows()
    assert info.revision_resolved == SHA == info.revision and info.revision_requested is None
