"""Rows -> examples -> request keys: the streaming row reader, the incremental rows digest, and
the fast paths of reading, hashing and validating, each checked against hand-worked values."""

import gc
import gzip
import hashlib
import json
import math

import pytest
from rmeval.harness.data import RowsDigest, rows_sha256
from rmeval.harness.errors import DataError, RmevalError
from rmeval.harness.local_data import iter_json_rows, json_file_rows, read_local_rows
from rmeval.harness.records import Example, ScoreRequest, canonical_json
from rmeval.tasks.preference import _checked_example, preference_examples
from rmeval.tasks.preference_formats import normalise

ROWS = [
    {"id": "r0", "prompt": "p", "chosen": "é\u2028x", "rejected": "b"},
    {"rejected": ["n", "m"], "chosen": "c", "prompt": [{"role": "user", "content": "q"}]},
    {"id": 7, "prompt": "p2", "chosen": "c", "rejected": "d", "score": 1.5, "tags": None},
]


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_iter_json_rows_is_lazy_and_equals_json_file_rows(tmp_path):
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS)
    path = write(tmp_path, "rows.jsonl", (text + "\n  \n" + '{"a": 1} x\n').encode())
    rows = iter_json_rows(path)
    assert [next(rows) for _ in ROWS] == ROWS  # read before the bad last line is reached
    with pytest.raises(RmevalError, match=r"rows.jsonl:6: invalid JSON \(Extra data\)"):
        next(rows)
    good = write(tmp_path, "good.jsonl", text.encode())
    array = write(tmp_path, "rows.json", json.dumps(ROWS).encode())
    gz = write(tmp_path, "rows.jsonl.gz", gzip.compress(text.encode()))
    for file in (good, array, gz):
        assert json_file_rows(file) == list(iter_json_rows(file)) == ROWS


@pytest.mark.parametrize(
    ("lines", "rows"),
    [
        (b' {"a": 1}\r\n\t{"b": [1, {"c": 2}]} \n', [{"a": 1}, {"b": [1, {"c": 2}]}]),
        (b'\xef\xbb\xbf{"a": NaN}\n\n', [{"a": math.nan}]),  # BOM on line 1 only
        (b'{"k": "v"}', [{"k": "v"}]),  # no newline at the end
    ],
)
def test_lines_the_fast_scan_takes_or_leaves_read_as_json_loads(tmp_path, lines, rows):
    got = json_file_rows(write(tmp_path, "x.jsonl", lines))
    assert repr(got) == repr(rows)


@pytest.mark.parametrize(
    ("line2", "message"),
    [
        (b'{"a": 1, "b": 2, "a": 3, "b": 4}', "x.jsonl:2: key 'a' appears twice; keep one."),
        (b'{"a": {"b": 1, "b": 2}}', "x.jsonl:2: key 'b' appears twice; keep one."),
        (b"null", "x.jsonl:2: a JSON null, not an object; each line must be one row object."),
        (b'"text"', "x.jsonl:2: a JSON string, not an object; each line must be one row object."),
        (
            b'\xef\xbb\xbf{"a": 1}',
            "x.jsonl:2: invalid JSON (Unexpected UTF-8 BOM (decode using utf-8-sig)); fix this "
            "line.",
        ),
        (b'{"a": 1}{}', "x.jsonl:2: invalid JSON (Extra data); fix this line."),
        (
            b'{"a": 1,}',
            "x.jsonl:2: invalid JSON (Expecting property name enclosed in double "
            "quotes); fix this line.",
        ),
        (
            b'{"a": "\x01"}',
            "x.jsonl:2: invalid JSON (Invalid control character at); fix this line.",
        ),
    ],
)
def test_bad_lines_give_the_sentence_they_always_gave(tmp_path, line2, message):
    path = write(tmp_path, "x.jsonl", b'{"ok": 1}\n' + line2 + b"\n")
    with pytest.raises(RmevalError) as err:
        json_file_rows(path)
    assert str(err.value) == f"{path.parent}/{message}"


def test_one_value_over_several_lines_gets_the_hint(tmp_path):
    path = write(tmp_path, "one.jsonl", b'{\n  "prompt": "p"\n}\n')
    with pytest.raises(RmevalError) as err:
        json_file_rows(path)
    assert str(err.value) == (
        f"{path}:1: invalid JSON (Expecting property name enclosed in double quotes); the file "
        "is one JSON value over several lines: write a JSON array of row objects, or one row "
        "object per line."
    )


def test_keys_are_interned_across_lines(tmp_path):
    text = "".join(json.dumps({"prompt_" + "x" * 30: str(i)}) + "\n" for i in range(2))
    a, b = json_file_rows(write(tmp_path, "k.jsonl", text.encode()))
    assert next(iter(a)) is next(iter(b))


def test_rows_digest_in_any_chunking_is_rows_sha256():
    # worked by hand: each row's keys sorted, no spaces, non-ASCII as is, one "\n" after each
    lines = [
        '{"chosen":"é\u2028x","id":"r0","prompt":"p","rejected":"b"}',
        '{"chosen":"c","prompt":[{"content":"q","role":"user"}],"rejected":["n","m"]}',
        '{"chosen":"c","id":7,"prompt":"p2","rejected":"d","score":1.5,"tags":null}',
    ]
    want = hashlib.sha256("".join(f"{line}\n" for line in lines).encode()).hexdigest()
    assert rows_sha256(ROWS) == want
    many = ROWS * 700  # more than one of RowsDigest's blocks
    for cut in ([], [1], [2, 1500], [1024, 1025], [2099]):
        digest = RowsDigest()
        for start, stop in zip([0, *cut], [*cut, len(many)]):
            digest.update(iter(many[start:stop]))
        assert digest.hexdigest() == rows_sha256(many)
    assert rows_sha256([]) == hashlib.sha256(b"").hexdigest()


def test_a_lone_surrogate_fails_as_it_did_for_its_own_row():
    with pytest.raises(UnicodeEncodeError) as err:
        rows_sha256([{"a": "ok"}, {"b": "\ud800"}])
    assert "position 6" in str(err.value)  # in '{"b":"\ud800"}', not in the joined block


@pytest.mark.parametrize(
    "value",
    [
        {"b": [1, 2.5, None, True], "a": {"z": "é", "y": math.inf}},
        ["x", -0.0, math.nan, 10**30, '\u2028"\\\n'],
        {2: "int key", 1.5: "float key"},
        "top-level string",
        3.0,
    ],
)
def test_canonical_json_is_json_dumps(value):
    want = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert canonical_json(value) == want


def test_canonical_json_refuses_what_json_dumps_refuses():
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference detected"):
        canonical_json(loop)
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        canonical_json({"a": {1}})
    with pytest.raises(TypeError, match="'<' not supported between instances of 'int' and 'str'"):
        canonical_json({"a": 1, 2: 3})
    assert canonical_json({"a": 1}) == '{"a":1}'  # nothing left over from the failures


def _old_key(req: ScoreRequest) -> str:
    """main's formula: the sha256 of the canonical JSON of the request's parts."""
    parts = [req.prompt, req.response, req.reference]
    if req.context or req.steps:
        parts.append([list(turn) for turn in req.context])
    if req.steps:
        parts.append({"steps": list(req.steps)})
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(
    "req",
    [
        ScoreRequest("p", "r"),
        ScoreRequest('q "é"\u2028\n', "r\\", reference="ref"),
        ScoreRequest("p", "r", reference=3),  # type: ignore[arg-type]  # a row's number
        ScoreRequest("p", "r", context=(("user", "a"), ("assistant", "b"))),
        ScoreRequest("p", "s1 s2", steps=("s1", "s2")),
    ],
)
def test_request_keys_are_mains_formula(req):
    assert req.key == _old_key(req)


def test_single_turn_key_worked_by_hand():
    text = '["p","r\\"",null]'
    assert ScoreRequest("p", 'r"').key == hashlib.sha256(text.encode()).hexdigest()


def test_preference_examples_from_flat_rows():
    rows = [
        {"id": "a", "prompt": "p", "chosen": "c", "rejected": "r", "subset": "s"},
        {
            "prompt": [{"role": "system", "content": "be"}, {"role": "user", "content": "q"}],
            "chosen": ["c"],
            "rejected": ["r1", "r2"],
            "reference": "ref",
            "subset": "",
        },
    ]
    assert preference_examples(rows, source="f") == [
        Example(id="a", subset="s", prompt="p", candidates=("c", "r")),
        Example(
            id="1",
            subset="default",
            prompt="q",
            candidates=("c", "r1", "r2"),
            reference="ref",
            context=(("system", "be"),),
        ),
    ]


def test_every_bad_row_is_named_with_its_problem():
    rows = [
        {"id": "a", "prompt": "p", "chosen": "same", "rejected": "same"},
        {"id": "b", "prompt": " ", "chosen": 3, "rejected": []},
        {"id": "c", "chosen": "c"},
        {"id": "a", "prompt": "p", "chosen": "c", "rejected": "r"},
        {"id": "d", "prompt": "p", "chosen": ["x", "y"], "rejected": ["r", ""]},
    ]
    with pytest.raises(DataError) as err:
        preference_examples(rows, source="bad.jsonl")
    assert err.value.problems == [
        "row a: chosen and rejected are identical",
        "row b: field 'prompt' is empty",
        "row b: field 'chosen' is int, not a string",
        "row b: field 'rejected' is an empty list",
        "row b: needs at least 1 rejected responses",
        "row c: missing field 'prompt'",
        "row c: missing field 'rejected'",
        "row a: duplicate id",
        "row d: field 'rejected[1]' is empty",
        "row d: field 'chosen' must hold exactly one response, not 2",
    ]


SINGLE_ROWS = [
    {"prompt": "p", "chosen": "c", "rejected": "r"},
    {"prompt": " \n", "chosen": "c", "rejected": "r"},
    {"prompt": "p", "chosen": "", "rejected": "r"},
    {"prompt": "p", "chosen": "c", "rejected": "\t"},
    {"prompt": "p", "chosen": "c", "rejected": "c"},
    {"prompt": "p", "chosen": "c", "rejected": "r", "subset": 0, "reference": 5},
    {"prompt": "p", "chosen": "c", "rejected": "r", "subset": "", "reference": "ref"},
    {"prompt": "p", "chosen": "c", "rejected": "r", "__rmeval_format_problem__": "bad"},
    {"prompt": "p", "chosen": "c", "rejected": None},
]


@pytest.mark.parametrize("row", SINGLE_ROWS)
@pytest.mark.parametrize(("allow_empty", "min_rejected"), [(False, 1), (True, 1), (False, 2)])
def test_the_plain_text_fast_path_is_the_checked_path(row, allow_empty, min_rejected):
    want = _checked_example(row, "0", allow_empty=allow_empty, min_rejected=min_rejected)
    kwargs = {"source": "f", "allow_empty": allow_empty, "min_rejected": min_rejected}
    if isinstance(want, list):
        with pytest.raises(DataError) as err:
            preference_examples([row], **kwargs)
        assert err.value.problems == [f"row 0: {p}" for p in want]
    else:
        (got,) = preference_examples([row], **kwargs)
        assert (got, got.meta, got.context) == (want, want.meta, want.context)


def test_rows_without_a_column_get_it_as_none_in_first_seen_order(tmp_path):
    path = write(tmp_path, "m.jsonl", b'{"a": 1, "b": 2}\n{"c": 4, "b": 3}\n')
    rows = read_local_rows(path)
    assert [list(r.items()) for r in rows] == [
        [("a", 1), ("b", 2), ("c", None)],
        [("a", None), ("b", 3), ("c", 4)],
    ]


def test_unmapped_flat_rows_pass_through_normalise_unchanged():
    rows = [dict(r) for r in ROWS]
    fmt, flat = normalise(rows, {})
    assert fmt == "flat" and flat == ROWS and flat is not rows
    assert [list(r) for r in flat] == [list(r) for r in ROWS]  # same key order
    fmt, mapped = normalise([{"q": "p", "chosen": "c", "rejected": "r"}], {"prompt": "q"})
    assert mapped == [{"chosen": "c", "rejected": "r", "prompt": "p"}]


def test_the_collector_is_paused_only_while_examples_are_built():
    seen = []

    class Probe(dict):  # a row that records the collector's state while it is converted
        def get(self, key, default=None):
            seen.append(gc.isenabled())
            return super().get(key, default)

    assert gc.isenabled()
    preference_examples([Probe(prompt="p", chosen="c", rejected="r")], source="f")
    with pytest.raises(DataError):
        preference_examples([Probe(prompt="p", chosen="c", rejected="c")], source="f")
    assert gc.isenabled() and seen and not any(seen)
    gc.disable()
    try:
        preference_examples([{"prompt": "p", "chosen": "c", "rejected": "r"}], source="f")
        assert not gc.isenabled()  # left off when it was off
    finally:
        gc.enable()
