"""Preference data as users have it: TRL conversational, HH-RLHF transcripts, column mapping."""

from __future__ import annotations

import json

import pytest
from rmeval.harness.errors import DataError, RmevalError
from rmeval.tasks.preference import pairwise

FLAT = [
    {"id": "a", "prompt": "What is two plus two?", "chosen": "four", "rejected": "five"},
    {
        "id": "b",
        "prompt": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "name a color"},
        ],
        "chosen": "blue",
        "rejected": "seven",
    },
]


def _msgs(*pairs):
    return [{"role": r, "content": c} for r, c in pairs]


CONVERSATIONAL = [  # UltraFeedback-binarized: prompt text, full conversations
    {
        "id": "a",
        "prompt": "What is two plus two?",
        "chosen": _msgs(("user", "What is two plus two?"), ("assistant", "four")),
        "rejected": _msgs(("user", "What is two plus two?"), ("assistant", "five")),
    },
    {  # no prompt column: the shared turns are the prompt
        "id": "b",
        "chosen": _msgs(
            ("user", "hi"), ("assistant", "hello"), ("user", "name a color"), ("assistant", "blue")
        ),
        "rejected": _msgs(
            ("user", "hi"), ("assistant", "hello"), ("user", "name a color"), ("assistant", "seven")
        ),
    },
]

HH = [
    {
        "id": "a",
        "chosen": "\n\nHuman: What is two plus two?\n\nAssistant: four",
        "rejected": "\n\nHuman: What is two plus two?\n\nAssistant: five",
    },
    {
        "id": "b",
        "chosen": "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: name a color\n\nAssistant: blue",
        "rejected": "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: name a color\n\nAssistant: seven",
    },
]


def _write(tmp_path, name, rows):
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return str(path)


def _task(tmp_path, name, rows, **kwargs):
    task = pairwise(data=_write(tmp_path, name, rows), **kwargs)
    return task, task.examples()


def test_conversational_and_hh_give_the_flat_pairs(tmp_path):
    flat_task, flat = _task(tmp_path, "flat.jsonl", FLAT)
    conv_task, conv = _task(tmp_path, "conv.jsonl", CONVERSATIONAL)
    hh_task, hh = _task(tmp_path, "hh.jsonl", HH)
    assert conv == flat and hh == flat
    assert flat[1].prompt == "name a color"
    assert flat[1].context == (("user", "hi"), ("assistant", "hello"))
    assert flat[0].candidates == ("four", "five")
    formats = [t.describe()["dataset"]["format"] for t in (flat_task, conv_task, hh_task)]
    assert formats == ["flat", "conversational", "implicit_prompt"]


def test_trl_explicit_prompt_format(tmp_path):
    rows = [
        {
            "id": "a",
            "prompt": _msgs(("user", "What is two plus two?")),
            "chosen": _msgs(("assistant", "four")),
            "rejected": _msgs(("assistant", "five")),
        }
    ]
    _, examples = _task(tmp_path, "trl.jsonl", rows)
    _, flat = _task(tmp_path, "flat.jsonl", FLAT[:1])
    assert examples == flat


def test_column_mapping(tmp_path):
    rows = [
        {"uid": r["id"], "question": r["prompt"], "good": r["chosen"], "bad": r["rejected"]}
        for r in FLAT
    ]
    task, examples = _task(
        tmp_path, "mapped.jsonl", rows, chosen="good", rejected="bad", prompt="question", id="uid"
    )
    _, flat = _task(tmp_path, "flat.jsonl", FLAT)
    assert examples == flat
    assert task.params["chosen"] == "good"
    with pytest.raises(DataError) as err:
        pairwise(data=_write(tmp_path, "m2.jsonl", rows), chosen="better").examples()
    assert "row 0: has no column 'better' (--task-args chosen=better)" in err.value.problems[0]


def test_bad_rows_get_one_sentence_with_their_id(tmp_path):
    rows = [
        CONVERSATIONAL[0],
        {"id": "x", "chosen": _msgs(("user", "q"), ("assistant", "y")), "rejected": "text"},
        {
            "id": "y",
            "chosen": _msgs(("user", "q"), ("assistant", "y"), ("assistant", "z")),
            "rejected": _msgs(("user", "q"), ("assistant", "n")),
        },
    ]
    with pytest.raises(DataError) as err:
        _task(tmp_path, "bad.jsonl", rows)
    assert err.value.problems == [
        "row x: field 'rejected' is not a list of chat messages (conversational format)",
        "row y: 'chosen' must end with exactly one assistant message after the prompt turns, "
        "not 2 message(s) (conversational format)",
    ]
    hh_bad = [
        HH[0],
        {"id": "z", "chosen": HH[0]["chosen"], "rejected": "\n\nHuman: other\n\nAssistant: no"},
    ]
    with pytest.raises(DataError) as err:
        _task(tmp_path, "hhbad.jsonl", hh_bad)
    assert err.value.problems == [
        "row z: 'chosen' and 'rejected' transcripts do not share the same prompt turns "
        "(implicit_prompt format)"
    ]


def test_hub_config_name_is_refused_for_a_local_file(tmp_path):
    task = pairwise(data=_write(tmp_path, "flat.jsonl", FLAT), name="default")
    with pytest.raises(RmevalError, match="name=default: a dataset configuration applies"):
        task.examples()


def test_hub_config_name_is_refused_where_rows_are_generated():
    from rmeval.tasks.core import core_pairwise

    with pytest.raises(RmevalError, match="name=x: core-pairwise loads its own rows"):
        core_pairwise(name="x")


def test_a_row_missing_a_mapped_column_is_named_by_its_mapped_id(tmp_path):
    rows = [{"uid": "q7", "question": "q", "good": "y"}]  # no 'bad' column
    with pytest.raises(DataError) as err:
        pairwise(
            data=_write(tmp_path, "noid.jsonl", rows),
            chosen="good",
            rejected="bad",
            prompt="question",
            id="uid",
        ).examples()
    assert err.value.problems[0].startswith("row q7: has no column 'bad'")
