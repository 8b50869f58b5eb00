"""Every failure is one sentence: cache disk full or corrupted, bad cache values, config and flag
values of the wrong type, duplicate config keys, and runs whose scores are all invalid."""

import json
import math
import sqlite3
from pathlib import Path

import pytest
from rmeval.harness.adapters.baselines import LengthBaseline
from rmeval.harness.cli import main
from rmeval.harness.records import Score


def write_prefs(path: Path, n: int = 12) -> Path:
    rows = [
        {
            "id": f"r{i}",
            "prompt": f"question {i}",
            "chosen": "a long chosen answer " * (1 + i % 3) + str(i),
            "rejected": f"short {i}",
        }
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def run_argv(tmp_path: Path, *extra: str, command: str = "run", n: int = 12) -> list[str]:
    data = write_prefs(tmp_path / "prefs.jsonl", n)
    return [
        command,
        "--model",
        "length",
        "--tasks",
        "pairwise",
        "--data",
        f"pairwise={data}",
        "--output-dir",
        str(tmp_path / "out"),
        "--cache-dir",
        str(tmp_path / "cache"),
        *extra,
    ]


def one_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("rmeval: error: ") and err.count("\n") == 1, err
    return err


def cached_count(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "cache" / "scores.sqlite") as db:
        return db.execute("SELECT COUNT(*) FROM scores").fetchone()[0]


def test_a_full_cache_disk_keeps_the_scores_so_far_and_resumes(tmp_path, monkeypatch, capsys):
    argv = run_argv(tmp_path, "--batch-tokens", "50", n=300)
    connect = sqlite3.connect

    def small_disk(*args, **kwargs):
        db = connect(*args, **kwargs)
        db.execute("PRAGMA max_page_count=12")  # a disk that fills after a few batches
        return db

    monkeypatch.setattr(sqlite3, "connect", small_disk)
    assert main(argv) == 2
    err = one_error(capsys)
    assert "scores.sqlite: the disk holding the score cache is full" in err
    assert "run the same command again to resume" in err
    assert not list(tmp_path.glob("out/**/*.json"))  # no result from a partial scoring
    monkeypatch.setattr(sqlite3, "connect", connect)
    kept = cached_count(tmp_path)
    assert 0 < kept < 600
    assert main(argv) == 0
    assert cached_count(tmp_path) == 600


def test_a_corrupted_cache_page_is_one_sentence(tmp_path, capsys):
    argv = run_argv(tmp_path, n=300)
    assert main(argv) == 0
    db = tmp_path / "cache" / "scores.sqlite"
    data = bytearray(db.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = b"garbage!" * 512
    db.write_bytes(bytes(data))
    capsys.readouterr()
    for command in ("run", "score"):
        again = ["--recompute"] if command == "run" else []  # else the result is reused
        assert main([command, *argv[1:], *again]) == 2
        err = one_error(capsys)
        assert f"{db}: the score cache is corrupted" in err and "delete this file" in err


def test_a_cache_value_that_is_not_json_is_one_sentence(tmp_path, capsys):
    argv = run_argv(tmp_path)
    assert main(argv) == 0
    with sqlite3.connect(tmp_path / "cache" / "scores.sqlite") as db:
        key = db.execute("SELECT key FROM scores LIMIT 1").fetchone()[0]
        db.execute("UPDATE scores SET value='{not json' WHERE key=?", (key,))
    capsys.readouterr()
    assert main(["score", *argv[1:]]) == 2
    err = one_error(capsys)
    assert f"the cached score of text {key[:12]} is not a valid score" in err


@pytest.mark.parametrize("text", ["[1, 2]", '{"n": 3}', "7", '{"v": 1, "a": [2]}'])
def test_score_from_json_refuses_what_is_not_a_score(text):
    with pytest.raises(ValueError):
        Score.from_json(text)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--limit", "-3"], "--limit -3: use a positive whole number"),
        (["--limit", "ten"], "--limit ten: use a positive whole number"),
        (["--seed", "abc"], "--seed abc: use a whole number >= 0"),
        (["--seed", "-1"], "--seed -1: use a whole number >= 0"),
        (["--max-length", "0"], "--max-length 0: use a positive whole number"),
        (["--batch-tokens", "1.5"], "--batch-tokens 1.5: use a positive whole number of tokens"),
    ],
)
def test_bad_flag_values_name_the_flag(flags, message, tmp_path, capsys):
    assert main(run_argv(tmp_path, *flags)) == 2
    assert message in one_error(capsys)
    assert not (tmp_path / "out").exists()


def test_validate_names_its_limit_flag(tmp_path, capsys):
    data = write_prefs(tmp_path / "prefs.jsonl")
    assert (
        main(["validate", "--tasks", "pairwise", "--data", f"pairwise={data}", "--limit", "-3"])
        == 2
    )
    assert "--limit -3: use a positive whole number" in one_error(capsys)


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ('limit: "ten"', "limit: 'ten': use a positive whole number"),
        ("limit: -3", "limit: -3: use a positive whole number"),
        ("limit: true", "limit: True: use a positive whole number"),
        ("seed: abc", "seed: 'abc': use a whole number >= 0"),
        ("max_length: 1.5", "max_length: 1.5: use a positive whole number"),
        ("batch_tokens: lots", "batch_tokens: 'lots': use a positive whole number of tokens"),
        ("ties: yes", "ties: True: use strict or half"),
        ("no_progress: maybe", "no_progress: 'maybe': use true or false"),
        ("tasks: {pairwise: 1}", "tasks: {'pairwise': 1}: use a name"),
        ("tasks: 3", "tasks: 3: use a name"),
        ("model: [[length]]", "model: [['length']]: use a name"),
        ("data: [{pairwise: x.jsonl}]", "data: [{'pairwise': 'x.jsonl'}]: use a mapping"),
        ("model_args: {dtype: [a, b]}", "model_args: {'dtype': ['a', 'b']}: use a mapping"),
        ("output_dir: [a]", "output_dir: ['a']: use a plain string"),
        ("model_args: [a, b]", "model_args: ['a', 'b']: use a mapping"),
        ("data: x.jsonl", "data: 'x.jsonl': use a mapping"),
        (
            "tasks: [pairwise",
            "invalid YAML (expected ',' or ']', but got '<stream end>' at line 3)",
        ),
        ("seed: 1\nseed: 2", "key 'seed' appears twice (lines 3 and 4); keep one"),
        (
            "data: {pairwise: a.jsonl, pairwise: b.jsonl}",
            "key 'pairwise' appears twice (lines 3 and 3); keep one",
        ),
        ("max-length: 8\nmax_length: 9", "max-length and max_length are the same key"),
    ],
)
def test_bad_config_values_name_the_file_and_key(yaml_text, message, tmp_path, capsys):
    cfg = tmp_path / "run.yaml"
    base = "model: length\ntasks: pairwise\n" if "tasks:" not in yaml_text else "model: length\n"
    if yaml_text.startswith("model:"):
        base = "tasks: pairwise\n"
    cfg.write_text(base + yaml_text + "\n")
    code = main(
        [
            "run",
            "--config",
            str(cfg),
            "--output-dir",
            str(tmp_path / "out"),
            "--cache-dir",
            str(tmp_path / "cache"),
        ]
    )
    assert code == 2
    assert f"--config {cfg}: {message}" in one_error(capsys)
    assert not (tmp_path / "out").exists()


def test_config_values_of_the_right_type_run_and_name_is_a_config_key(tmp_path):
    data = write_prefs(tmp_path / "prefs.jsonl")
    cfg = tmp_path / "run.yaml"
    cfg.write_text(
        f"model: [length]\ntasks: pairwise\ndata: {{pairwise: {data}}}\nlimit: 5\nseed: 7\n"
        f"batch-tokens: auto\nno_progress: true\nname: my-rm\noutput_dir: {tmp_path / 'out'}\n"
        f"cache_dir: {tmp_path / 'cache'}\n"
    )
    assert main(["run", "--config", str(cfg)]) == 0
    result = json.loads((tmp_path / "out" / "my-rm" / "pairwise.json").read_text())
    assert result["counts"]["examples"] == 5


def nan_for(predicate):
    def forward(self, batch):
        return [Score(math.nan if predicate(e.payload) else float(len(e.payload))) for e in batch]

    return forward


def test_a_run_whose_every_score_is_invalid_says_so_and_exits_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(LengthBaseline, "forward", nan_for(lambda text: True))
    assert main(run_argv(tmp_path, "--no-progress")) == 1
    captured = capsys.readouterr()
    assert "n/a" in captured.out  # the summary table is still printed
    assert "warning: length on pairwise: every example had an invalid (NaN or infinite)" in (
        captured.err
    )
    assert "every score of every task is invalid" in captured.err
    assert (tmp_path / "out" / "length" / "pairwise.json").exists()


def test_some_invalid_scores_warn_and_exit_0(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(LengthBaseline, "forward", nan_for(lambda text: text.endswith("1")))
    assert main(run_argv(tmp_path, "--no-progress")) == 0
    err = capsys.readouterr().err
    assert "warning: length on pairwise: 2 of 12 examples had an invalid" in err
    assert "rmeval: error" not in err


def test_a_task_args_item_without_a_value_names_task_args(tmp_path, capsys):
    data = write_prefs(tmp_path / "prefs.jsonl")
    assert main(run_argv(tmp_path, "--task-args", "ties")) == 2
    assert "--task-args: 'ties' is not key=value" in one_error(capsys)
    argv = ["validate", "--tasks", "pairwise", "--data", f"pairwise={data}", "--task-args", "x"]
    assert main(argv) == 2
    assert "--task-args: 'x' is not key=value" in one_error(capsys)
