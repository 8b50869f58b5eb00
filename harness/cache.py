"""SQLite score cache: (model fingerprint, request key) -> JSON score; committed as it goes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rmeval.harness.errors import RmevalError
from rmeval.harness.records import Score

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    fingerprint TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (fingerprint, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blobs (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
"""
_LOOKUP_KEYS = 50_000  # keys per query: a 3.4 MB JSON parameter
_IN_KEYS = 30_000  # without JSON: longer IN lists measured no faster
_CHUNK = 500  # SQLite's bound-parameter limit is 999 on old builds
# A put of random keys dirties about one page per key: with SQLite's default of 1000 pages
# nearly every put copied the WAL back into the file and synced it; 16 MB measured 1.3x faster.
_CHECKPOINT_PAGES = 4000
_CACHE_KIB = 65536  # page cache: a million-score B-tree's inner pages stay in memory


class ScoreCache:
    """Scores keyed by model fingerprint and content hash; other JSON values in ``blobs``.

    Every ``put`` commits, so a killed run loses at most the batch in flight.
    Entries of different fingerprints never mix.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
            self._db.execute(f"PRAGMA wal_autocheckpoint={_CHECKPOINT_PAGES}")
            self._db.executescript(_SCHEMA)
            self._json_each = _has_json_each(self._db)
        except sqlite3.Error as exc:
            raise RmevalError(_explain(self.path, "opening it", exc)) from exc
        except OSError as exc:
            raise RmevalError(
                f"{self.path}: cannot open the score cache ({exc}); pass another --cache-dir."
            ) from exc

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """SQLite failures (full disk, corrupted pages, locks) as one sentence naming the file."""
        try:
            yield
        except sqlite3.Error as exc:
            raise RmevalError(_explain(self.path, doing, exc)) from exc

    def get_many(self, fingerprint: str, keys: Sequence[str]) -> dict[str, Score]:
        """Cached scores for those keys that are present (keyed by the given key strings).

        The keys are looked up in sorted order: each query then reads neighbouring pages of
        the B-tree, instead of random pages of a file far larger than SQLite's page cache."""
        found: dict[str, Score] = {}
        ordered = sorted(keys)
        with self._guard("reading scores"):
            for i in range(0, len(ordered), _LOOKUP_KEYS):
                chunk = ordered[i : i + _LOOKUP_KEYS]
                shared: dict[str, Score] = {}  # equal entries (baselines') decode once per chunk
                for key, text in self._lookup(fingerprint, chunk):
                    score = shared.get(text)
                    if score is None:
                        score = self._decode(key, text)
                        if score.attributes is None:  # immutable: safe to share
                            shared[text] = score
                    found[key] = score
        return found

    def _lookup(self, fingerprint: str, chunk: list[str]) -> Iterable[tuple[str, str]]:
        """(key, stored text) of the chunk's keys that are present; the key is the caller's
        string (not a fresh copy from SQLite: a million of those would be 110 MB).

        The keys go in as one JSON array; CROSS JOIN keeps ``json_each`` as the outer loop, so
        each key is one primary-key seek in the order given, and its position comes back.
        SQLite builds without JSON get ``IN (...)`` lists as long as their limit allows."""
        if self._json_each:
            rows = self._db.execute(
                "SELECT j.key, s.value FROM json_each(?) j CROSS JOIN scores s"
                " ON s.fingerprint=? AND s.key=j.value",
                (json.dumps(chunk), fingerprint),
            )
            return ((chunk[j], text) for j, text in rows)
        return self._lookup_in(fingerprint, chunk)

    def _lookup_in(self, fingerprint: str, chunk: list[str]) -> Iterator[tuple[str, str]]:
        """:meth:`_lookup` through ``IN (...)`` lists of at most the build's parameter limit."""
        given = {k: k for k in chunk}
        step = min(_IN_KEYS, _parameter_limit(self._db) - 1)
        for i in range(0, len(chunk), step):
            part = chunk[i : i + step]
            rows = self._db.execute(
                f"SELECT key, value FROM scores WHERE fingerprint=? AND key IN "
                f"({','.join('?' * len(part))})",
                [fingerprint, *part],
            )
            yield from ((given[k], text) for k, text in rows)

    def _decode(self, key: str, value: object) -> Score:
        try:
            return Score.from_json(value)  # type: ignore[arg-type]
        except ValueError as exc:
            raise RmevalError(
                f"{self.path}: the cached score of text {key[:12]} is not a valid score ({exc}); "
                f"the cache file was changed outside rmeval: delete it (its scores are "
                f"recomputed) or pass another --cache-dir."
            ) from None

    def put_many(self, fingerprint: str, items: Iterable[tuple[str, Score]]) -> None:
        """Insert scores (first write wins) and commit."""
        rows = [(fingerprint, k, s.to_json()) for k, s in items]
        rows.sort(key=lambda row: row[1])  # B-tree locality; stable: first write still wins
        with self._guard("writing scores"), self._db:
            self._db.executemany("INSERT OR IGNORE INTO scores VALUES (?, ?, ?)", rows)

    def get_blob(self, namespace: str, key: str) -> str | None:
        """A JSON text stored under (namespace, key), e.g. cached features or file hashes."""
        with self._guard("reading"):
            row = self._db.execute(
                "SELECT value FROM blobs WHERE namespace=? AND key=?", (namespace, key)
            ).fetchone()
        return None if row is None else row[0]

    def put_blob(self, namespace: str, key: str, value: str) -> None:
        """Store a JSON text (replacing any previous one) and commit."""
        with self._guard("writing"), self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO blobs VALUES (?, ?, ?)", (namespace, key, value)
            )

    def get_blobs(self, namespace: str, keys: Sequence[str]) -> dict[str, str]:
        """The JSON texts stored under ``namespace`` for those ``keys`` that are present."""
        found: dict[str, str] = {}
        with self._guard("reading"):
            for i in range(0, len(keys), _CHUNK):
                chunk = list(keys[i : i + _CHUNK])
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, value FROM blobs WHERE namespace=? AND key IN ({marks})",
                    [namespace, *chunk],
                )
                found.update(rows)
        return found

    def put_blobs(self, namespace: str, items: Iterable[tuple[str, str]]) -> None:
        """Store many JSON texts under ``namespace`` (first write wins) and commit."""
        rows = [(namespace, k, v) for k, v in items]
        with self._guard("writing"), self._db:
            self._db.executemany("INSERT OR IGNORE INTO blobs VALUES (?, ?, ?)", rows)

    def count(self, fingerprint: str | None = None) -> int:
        """Number of cached scores (for one fingerprint, or all)."""
        with self._guard("counting scores"):
            if fingerprint is None:
                return self._db.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
            return self._db.execute(
                "SELECT COUNT(*) FROM scores WHERE fingerprint=?", (fingerprint,)
            ).fetchone()[0]

    def close(self) -> None:
        self._db.close()


def _has_json_each(db: sqlite3.Connection) -> bool:
    """Whether this SQLite build has the JSON functions (built in since 3.38, optional before)."""
    try:
        db.execute("SELECT COUNT(*) FROM json_each('[]')").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return False
        raise  # a lock or a damaged file: explained by the caller
    return True


def _parameter_limit(db: sqlite3.Connection) -> int:
    """Bound parameters one statement may take (``getlimit`` is Python 3.11+; before, the
    smallest limit of any SQLite build)."""
    if hasattr(db, "getlimit"):
        return db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return 999


def _explain(path: Path, doing: str, exc: sqlite3.Error) -> str:
    """One sentence for a failed SQLite operation on the cache ``path``: the cause and the fix."""
    text = str(exc).lower()
    if "full" in text:
        return (
            f"{path}: the disk holding the score cache is full ({doing}); the scores cached so "
            f"far are kept: free some space (or pass --cache-dir on a larger disk) and run the "
            f"same command again to resume."
        )
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return (
            f"{path}: the score cache is corrupted ({exc}); delete this file (its scores are "
            f"recomputed) or pass another --cache-dir."
        )
    if "locked" in text or "busy" in text:
        return (
            f"{path}: the score cache is locked by another process ({doing}); wait for it to "
            f"finish or pass another --cache-dir."
        )
    if "readonly" in text or "read-only" in text:
        return f"{path}: the score cache is read-only ({doing}); pass a writable --cache-dir."
    return f"{path}: the score cache failed while {doing} ({exc}); pass another --cache-dir."
