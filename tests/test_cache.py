"""The score cache's fast paths give what the json path gives: the same bytes for new entries,
the same Scores for entries written by earlier versions, the same keys found, and the same
refusals."""

import json
import math
import random
import sqlite3

import pytest
from rmeval.harness import cache as cache_module
from rmeval.harness.cache import ScoreCache
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import Score

EDGE_FLOATS = [0.0, -0.0, 1.0, -2.5, 5e-324, 1e-7, 1e16, 1e22, 1.7976931348623157e308, 0.1 + 0.2]


def reference_to_json(s: Score) -> str:
    """The encoding as it was before the fast path (json.dumps of the dict)."""
    enc = lambda x: x if math.isfinite(x) else repr(float(x))  # noqa: E731
    d = {"v": enc(s.value), "n": s.n_tokens, "t": s.truncated, "a": None}
    if s.attributes is not None:
        d["a"] = {k: enc(v) for k, v in s.attributes.items()}
    if s.steps is not None:
        d["s"] = [enc(v) for v in s.steps]
    return json.dumps(d, ensure_ascii=False)


def reference_from_json(text: str) -> tuple:
    """The fields json.loads gives, as the decoder did before the fast path."""
    d = json.loads(text)
    attrs, steps = d.get("a"), d.get("s")
    return (
        float(d["v"]),
        int(d.get("n", 0)),
        bool(d.get("t", False)),
        None if attrs is None else {str(k): float(v) for k, v in attrs.items()},
        None if steps is None else tuple(float(v) for v in steps),
    )


def fields(s: Score) -> tuple:
    return (s.value, s.n_tokens, s.truncated, s.attributes, s.steps)


def same_fields(a: tuple, b: tuple) -> bool:
    """Equal, with the sign of zero and NaN compared too."""
    return repr(a) == repr(b)


def sample_scores() -> list[Score]:
    rng = random.Random(0)
    scores = [Score(x, n, t) for x in EDGE_FLOATS for n in (0, 7, 10**15) for t in (False, True)]
    scores += [
        Score(rng.gauss(0, 10) * 10.0 ** rng.randint(-30, 30), rng.randrange(500))
        for _ in range(2000)
    ]
    scores += [Score(math.nan), Score(-math.inf, 3), Score(3), Score(2.0, attributes={"a": 1.0})]
    return scores + [Score(1.0, 2, True, steps=(0.5, math.inf)), Score(True, 1)]


def test_a_scalar_entry_is_written_as_json_dumps_wrote_it():
    assert Score(2.5, 7, True).to_json() == '{"v": 2.5, "n": 7, "t": true, "a": null}'
    assert Score(-0.0).to_json() == '{"v": -0.0, "n": 0, "t": false, "a": null}'
    assert Score(1e16).to_json() == '{"v": 1e+16, "n": 0, "t": false, "a": null}'
    for s in sample_scores():
        assert s.to_json() == reference_to_json(s), s


def test_every_entry_decodes_to_what_json_loads_gives():
    texts = [reference_to_json(s) for s in sample_scores()]
    texts += [  # written by hand: integers go through int (-0 is 0.0), whitespace is allowed
        '{"v": 3, "n": 2, "t": false, "a": null}',
        '{"v": -0, "n": 0, "t": false, "a": null}',
        '{"v": 1E400, "n": 0, "t": true, "a": null}',
        '{"v": 0.5, "n": 1, "t": false, "a": null} ',
        '{"n": 1, "v": 0.25, "t": false, "a": null}',
        '{"v": "nan", "n": 0, "t": false, "a": null}',
    ]
    for text in texts:
        assert same_fields(fields(Score.from_json(text)), reference_from_json(text)), text
    assert math.copysign(1.0, Score.from_json(texts[-5]).value) == 1.0  # -0 is +0.0, as before
    assert math.copysign(1.0, Score.from_json(reference_to_json(Score(-0.0))).value) == -1.0


@pytest.mark.parametrize(
    "text",
    [
        '{"v": nan, "n": 3, "t": false, "a": null}',
        '{"v": 1.5, "n": 3, "t": false, "a": null}}',
        '{"v": 01.5, "n": 3, "t": false, "a": null}',
        '{"v": 1.5, "n": 3, "t": False, "a": null}',
        '{"v": 1_0.5, "n": 3, "t": false, "a": null}',
        '{"v": 1.5, "n": 3, "t": false, "a": [2]}',
    ],
)
def test_a_near_miss_of_the_scalar_form_is_refused_as_before(text):
    with pytest.raises((ValueError, AttributeError)):
        json_ok = reference_from_json(text)
        pytest.fail(f"the reference accepts {text}: {json_ok}")  # the case must be invalid
    with pytest.raises(ValueError):
        Score.from_json(text)


def old_cache_file(path, entries: dict[tuple[str, str], str]) -> None:
    """A cache file as main wrote it: its schema, and its value texts given literally."""
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE scores (fingerprint TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
        " PRIMARY KEY (fingerprint, key)) WITHOUT ROWID"
    )
    with db:
        db.executemany("INSERT INTO scores VALUES (?, ?, ?)", [(*k, v) for k, v in entries.items()])
    db.close()


OLD_ENTRIES = {
    ("fp", "a"): '{"v": 0.1, "n": 12, "t": false, "a": null}',
    ("fp", "b"): '{"v": 0.1, "n": 12, "t": false, "a": null}',
    ("fp", "c"): '{"v": "-inf", "n": 3, "t": true, "a": null}',
    ("fp", "d"): '{"v": 1.0, "n": 4, "t": false, "a": {"help": 1.0, "safe": "nan"}}',
    ("fp", "e"): '{"v": 1.0, "n": 4, "t": false, "a": {"help": 1.0, "safe": "nan"}}',
    ("fp", "f"): '{"v": 2.0, "n": 5, "t": false, "a": null, "s": [1.0, 2.0]}',
    ("other", "g"): '{"v": 9.0, "n": 1, "t": false, "a": null}',
}


@pytest.mark.parametrize("json_each", [True, False])
def test_entries_of_an_existing_file_read_back_in_chunks(tmp_path, monkeypatch, json_each):
    old_cache_file(tmp_path / "old.sqlite", OLD_ENTRIES)
    monkeypatch.setattr(cache_module, "_LOOKUP_KEYS", 3)
    monkeypatch.setattr(cache_module, "_IN_KEYS", 2)
    cache = ScoreCache(tmp_path / "old.sqlite")
    cache._json_each = json_each
    keys = ["g", "f", "e", "x", "d", "c", "b", "a", "a"]  # missing, other fingerprint, twice
    found = cache.get_many("fp", keys)
    expected = {k: reference_from_json(v) for (fp, k), v in OLD_ENTRIES.items() if fp == "fp"}
    assert found.keys() == expected.keys()
    assert all(same_fields(fields(found[k]), want) for k, want in expected.items())
    assert all(any(k is given for given in keys) for k in found)  # the caller's strings
    assert found["a"] is found["b"]  # equal scalar entries are one immutable Score
    assert found["d"].attributes is not found["e"].attributes  # a dict is never shared
    assert {k: s.value for k, s in cache.get_many("other", keys).items()} == {"g": 9.0}
    cache.close()


def test_puts_are_committed_and_first_write_wins(tmp_path):
    cache = ScoreCache(tmp_path / "c.sqlite")
    cache.put_many("fp", [("k", Score(1.5, 3)), ("j", Score(2.0)), ("k", Score(9.0))])
    cache.put_many("fp", [("j", Score(7.0)), ("i", Score(math.nan, 1, True))])
    assert cache._db.execute("PRAGMA wal_autocheckpoint").fetchone() == (4000,)  # 16 MB of WAL
    with sqlite3.connect(tmp_path / "c.sqlite") as other:  # another process sees them now
        stored = dict(other.execute("SELECT key, value FROM scores WHERE fingerprint='fp'"))
    assert stored == {
        "i": '{"v": "nan", "n": 1, "t": true, "a": null}',
        "j": '{"v": 2.0, "n": 0, "t": false, "a": null}',
        "k": '{"v": 1.5, "n": 3, "t": false, "a": null}',
    }
    cache.close()


def test_a_bad_entry_is_one_sentence_naming_its_key(tmp_path):
    old_cache_file(tmp_path / "bad.sqlite", {("fp", "k" * 64): '{"v": 1.0, "n": 1}}'})
    cache = ScoreCache(tmp_path / "bad.sqlite")
    with pytest.raises(RmevalError, match="the cached score of text kkkkkkkkkkkk is not a valid"):
        cache.get_many("fp", ["k" * 64])
    cache.close()
