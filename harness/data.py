"""Row loading: a local file or folder read as written (:mod:`rmeval.harness.local_data`), or a
hub dataset through `datasets`, with the commit it was loaded at recorded; and the rows' sha256.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from typing import Any

from rmeval.harness.errors import RmevalError
from rmeval.harness.local_data import (
    FILE_TYPES,
    first_line,
    iter_local_rows,
    local_rows_are_lazy,
    read_local_rows,
)
from rmeval.harness.records import canonical_json

_COMMIT = re.compile(r"^[0-9a-f]{40}$")

Row = dict[str, Any]


@dataclass(frozen=True)
class DatasetInfo:
    """Provenance of the rows a task used (written into the result file)."""

    path: str
    revision: str | None
    """The commit the rows were loaded at when known, else the revision asked for."""
    split: str | None
    sha256: str
    """Hash of the rows used (``rows_sha256``), computed from what was read this time."""
    revision_requested: str | None = None
    """The revision asked for (a branch such as ``main`` is not a pin)."""
    revision_resolved: str | None = None
    """The commit sha the hub rows were actually loaded at (None when unknown or local)."""
    name: str | None = None
    """The hub dataset's configuration (None: its default)."""
    format: str | None = None
    """The preference-data format recognised (``flat``, ``conversational``,
    ``implicit_prompt``; None for tasks that do not read preference rows)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "revision": self.revision,
            "revision_requested": self.revision_requested,
            "revision_resolved": self.revision_resolved,
            "split": self.split,
            "sha256": self.sha256,
        } | {k: v for k, v in (("name", self.name), ("format", self.format)) if v is not None}


def rows_sha256(rows: Iterable[Row]) -> str:
    """Hash of the rows used, independent of file format and key order: the sha256 of each
    row's ``canonical_json`` followed by a newline."""
    digest = RowsDigest()
    digest.update(rows)
    return digest.hexdigest()


@dataclass(frozen=True)
class RowSource:
    """Rows that can be read again from the start, lazily where the format allows (JSON Lines,
    a hub dataset), with their provenance (``info.sha256`` is filled in by the reader)."""

    read: Callable[[], Iterator[Row]]
    """A fresh iterator over the rows, in order (``limit`` applied)."""
    info: DatasetInfo
    """Provenance, with an empty ``sha256``."""
    lazy: bool = True
    """False when ``read`` holds every row in memory anyway (CSV, Parquet, a JSON array)."""
    whole: Callable[[], list[Row]] | None = None
    """Every row at once, where that differs from ``list(read())`` (local files: a row's
    missing columns are filled with None from every row's columns)."""

    def load(self) -> tuple[list[Row], DatasetInfo]:
        """Every row, and the provenance with their sha256."""
        rows = self.whole() if self.whole is not None else list(self.read())
        return rows, replace(self.info, sha256=rows_sha256(rows))


class RowsDigest:
    """``rows_sha256`` fed in parts: any split of the same rows gives the same hex digest."""

    _BLOCK = 1024
    """Rows encoded and hashed as one text (one ``encode`` and one ``update`` per block)."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()

    def update(self, rows: Iterable[Row]) -> None:
        """Add ``rows`` (in order) to the hash."""
        it = iter(rows)
        while block := list(islice(it, self._BLOCK)):
            text = "\n".join(map(canonical_json, block)) + "\n"
            try:
                data = text.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate: raise the error of its own row
                for row in block:
                    canonical_json(row).encode("utf-8")
                raise
            self._sha.update(data)

    def hexdigest(self) -> str:
        """The sha256 of every row added so far."""
        return self._sha.hexdigest()


def load_rows(source: str, **options: Any) -> tuple[list[Row], DatasetInfo]:
    """Every row of a local file/folder or a hub dataset id, and their provenance (``options``
    as :func:`open_rows` takes them)."""
    return open_rows(source, **options).load()


def open_rows(
    source: str,
    *,
    revision: str | None = None,
    split: str | None = "train",
    name: str | None = None,
    limit: int | None = None,
    streaming: bool = False,
) -> RowSource:
    """The rows of a local file/folder or a hub dataset id as a :class:`RowSource`; a local path
    that does not exist is refused here.

    ``streaming`` reads a hub dataset through ``datasets`` streaming: rows are fetched as they
    are read and never written to the ``datasets`` cache (for datasets larger than the disk);
    the rows, and so their sha256, are those of a prepared load. Local files are never copied
    to disk either way."""
    if _looks_local(source):
        path = Path(source).expanduser()
        if not path.exists():
            raise RmevalError(
                f"{source}: no such file or folder (looked in {Path.cwd()}); check the --data path."
            )
        lazy = local_rows_are_lazy(path, split)

        def read() -> Iterator[Row]:
            return islice(iter_local_rows(path, split), limit)

        def whole() -> list[Row]:
            return read_local_rows(path, split)[:limit]

        return RowSource(read, DatasetInfo(str(path), None, None, ""), lazy, whole)
    return _hub_source(
        source, revision=revision, split=split, name=name, limit=limit, streaming=streaming
    )


def is_local_data(source: str) -> bool:
    """True for a local file or folder, False for a hub dataset id."""
    return _looks_local(source)


def _looks_local(source: str) -> bool:
    """True for anything that cannot be a hub id (``name`` or ``owner/name``)."""
    lowered = source.lower()
    return (
        source.startswith((".", "/", "~"))
        or "\\" in source
        or source.count("/") > 1
        or lowered.endswith((*FILE_TYPES, ".gz"))
        or Path(source).expanduser().exists()
    )


# -- hub datasets ---------------------------------------------------------------------------


def _hub_source(
    source: str,
    *,
    revision: str | None,
    split: str | None,
    name: str | None,
    limit: int | None,
    streaming: bool = False,
) -> RowSource:
    """A hub dataset via `datasets` (prepared and memory-mapped, or streamed), with the commit
    sha it was loaded at."""
    import datasets

    datasets.disable_progress_bars()
    try:
        builder = datasets.load_dataset_builder(source, name, revision=revision)
        if streaming:
            ds = builder.as_streaming_dataset(split=split)
        else:
            builder.download_and_prepare()
            ds = builder.as_dataset(split=split)
    except Exception as exc:  # datasets raises many types for unreachable or missing data
        raise _hub_failed(source, revision, split, exc) from exc
    resolved = (
        builder.hash if isinstance(builder.hash, str) and _COMMIT.match(builder.hash) else None
    )
    if revision and _COMMIT.match(revision) and resolved and resolved != revision:
        raise RmevalError(
            f"{source}: the copy available is at commit {resolved}, not the requested "
            f"revision {revision}; load it once with network access, or pass a local copy "
            f"with --data TASK=PATH."
        )
    if not streaming and limit is not None:
        ds = ds.select(range(min(limit, len(ds))))
    info = DatasetInfo(source, resolved or revision, split, "", revision, resolved, name)
    return RowSource(lambda: _hub_rows(ds, source, revision, split, limit), info)


def _hub_rows(
    ds: Any, source: str, revision: str | None, split: str | None, limit: int | None
) -> Iterator[Row]:
    """The rows of a (prepared or streaming) dataset, read up to ``limit``."""
    try:
        for row in islice(ds, limit):
            yield dict(row)
    except Exception as exc:  # a stream can fail part way (network, a damaged file)
        raise _hub_failed(source, revision, split, exc) from exc


def _hub_failed(
    source: str, revision: str | None, split: str | None, exc: BaseException
) -> RmevalError:
    return RmevalError(
        f"{source}: could not load this hub dataset (revision {revision or 'latest'}, "
        f"split {split}): {first_line(exc)}. Without network access, pass a local copy "
        f"with --data TASK=PATH."
    )
