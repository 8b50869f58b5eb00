"""SQLite score cache: (model fingerprint, request key) -> JSON score; committed as it goes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from harness.errors import RmevalError
from harness.records import Score

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
_CHUNK = 500  # SQLite's bound-parameter limit is 999 on old builds


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
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise RmevalError(
                f"{self.path}: cannot open the score cache ({exc}); pass another --cache-dir."
            ) from exc

    def get_many(self, fingerprint: str, keys: Sequence[str]) -> dict[str, Score]:
        """Cached scores for those keys that are present."""
        found: dict[str, Score] = {}
        for i in range(0, len(keys), _CHUNK):
            chunk = list(keys[i : i + _CHUNK])
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, value FROM scores WHERE fingerprint=? AND key IN ({marks})",
                [fingerprint, *chunk],
            )
            found.update((k, Score.from_json(v)) for k, v in rows)
        return found

    def put_many(self, fingerprint: str, items: Iterable[tuple[str, Score]]) -> None:
        """Insert scores (first write wins) and commit."""
        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO scores VALUES (?, ?, ?)",
                [(fingerprint, k, s.to_json()) for k, s in items],
            )

    def get_blob(self, namespace: str, key: str) -> str | None:
        """A JSON text stored under (namespace, key), e.g. cached features or file hashes."""
        row = self._db.execute(
            "SELECT value FROM blobs WHERE namespace=? AND key=?", (namespace, key)
        ).fetchone()
        return None if row is None else row[0]

    def put_blob(self, namespace: str, key: str, value: str) -> None:
        """Store a JSON text (replacing any previous one) and commit."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO blobs VALUES (?, ?, ?)", (namespace, key, value)
            )

    def count(self, fingerprint: str | None = None) -> int:
        """Number of cached scores (for one fingerprint, or all)."""
        if fingerprint is None:
            return self._db.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
        return self._db.execute(
            "SELECT COUNT(*) FROM scores WHERE fingerprint=?", (fingerprint,)
        ).fetchone()[0]

    def close(self) -> None:
        self._db.close()
