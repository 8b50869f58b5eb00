"""A task read, scored and evaluated chunk by chunk, in memory bounded by the chunk.

For a task with ``streams`` whose data can be read lazily (JSON Lines, a hub dataset), the rows
are read twice and never held whole. The first pass (:func:`check_rows`, before any model
loads) validates every row, finds duplicate ids and hashes the rows; it keeps the provenance and
the number of examples. The second pass (:func:`evaluate_streamed`) reads them again,
``CHUNK_EXAMPLES`` at a time: each chunk's texts are looked up in the score cache, the missing
ones scored, each example evaluated and its samples line written at once; only the outcome
columns the metrics need are kept (:class:`ResultColumns`). The second pass hashes the rows
again and refuses the run when they changed in between.

Results are those of the in-memory path: same examples, samples lines and metrics for the same
scores. The batches are planned per chunk, so a model whose score depends on the batch a text
lands in (padding in low precision) may differ in the last bits, as between two batch budgets.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from rmeval.harness.data import RowsDigest, RowSource
from rmeval.harness.errors import DataError, RmevalError
from rmeval.harness.records import Aggregate, Example
from rmeval.harness.result_columns import ResultColumns
from rmeval.harness.results import sample_line
from rmeval.harness.row_check import RowCheck
from rmeval.harness.sample_texts import with_texts
from rmeval.harness.scoring import Scorer
from rmeval.harness.staged_file import StagedFile

if TYPE_CHECKING:
    from rmeval.harness.task import Task

CHUNK_EXAMPLES = 32_768
"""Rows read, scored and evaluated at once (tens of MB of Python objects for short pairs)."""

Row = dict[str, Any]


@dataclass(frozen=True)
class StreamedData:
    """What the checking pass kept of a task's data: where to read it again, and its size."""

    source: RowSource
    examples: int
    texts: int
    """Candidate texts of every example (duplicates included)."""


def row_chunks(rows: Iterable[Row], size: int | None = None) -> Iterator[list[Row]]:
    """Consecutive lists of ``size`` rows (default ``CHUNK_EXAMPLES``; the last one shorter)."""
    it, size = iter(rows), size or CHUNK_EXAMPLES
    while chunk := list(islice(it, size)):
        yield chunk


def check_rows(task: Task) -> StreamedData | None:
    """Validate and hash the task's rows chunk by chunk, keeping none of them; set
    ``task.dataset``. None (nothing kept, nothing raised) when the rows must be read whole:
    the format is not read lazily, or the rows' columns differ
    (a table's missing cells are filled from every row's columns); also when the data were a
    single chunk, whose examples the task then keeps (``Task.keep_examples``)."""
    source = task.row_source()
    if not source.lazy:
        return None
    task.dataset = source.info
    check, digest, examples, texts, columns = RowCheck(), RowsDigest(), 0, 0, None
    for chunk in row_chunks(source.read()):
        columns = columns or chunk[0].keys()
        if any(row.keys() != columns for row in chunk):
            task.dataset = None
            return None
        digest.update(chunk)
        built = task.build_example_chunk(chunk, check)
        examples += len(built)
        texts += sum(len(e.candidates) for e in built)
    where = task.data or task.name
    if check.problems:
        raise DataError(where, check.problems)
    if not examples:
        raise DataError(where, ["no rows"])
    task.dataset = dataclasses.replace(task.dataset, sha256=digest.hexdigest())
    if check.rows <= CHUNK_EXAMPLES:  # one chunk: kept, not read again
        task.keep_examples(built)
        return None
    return StreamedData(source, examples, texts)


def example_chunks(task: Task) -> Iterator[list[Example]]:
    """The task's examples, read again chunk by chunk; after the last chunk, a RmevalError
    when the rows are no longer those :func:`check_rows` hashed."""
    assert task.stream is not None and task.dataset is not None
    check, digest = RowCheck(duplicates=False), RowsDigest()
    for chunk in row_chunks(task.stream.source.read()):
        digest.update(chunk)
        yield task.build_example_chunk(chunk, check)
    if check.problems or digest.hexdigest() != task.dataset.sha256:
        raise RmevalError(
            f"{task.dataset.path}: the data changed while rmeval was reading it (sha256 "
            f"{task.dataset.sha256[:12]} when checked, {digest.hexdigest()[:12]} now); nothing "
            f"was written: run again once the file is no longer being changed."
        )


def evaluate_streamed(
    task: Task,
    scorer: Scorer,
    *,
    seed: int = 0,
    log_texts: bool = False,
    samples: StagedFile | None = None,
) -> Aggregate:
    """Score and evaluate the task chunk by chunk, writing each samples line to ``samples``
    (staged: the caller commits it); the task's aggregate over the kept outcome columns."""
    columns = ResultColumns(task.kept_extras)
    for examples in example_chunks(task):
        requests = [task.requests(ex) for ex in examples]
        scores = scorer.scores([r for reqs in requests for r in reqs])
        results = [task.result_of(ex, reqs, scores) for ex, reqs in zip(examples, requests)]
        del scores
        for r in results:
            columns.append(r)
        if samples is not None:
            for r in with_texts(examples, results) if log_texts else results:
                samples.write(sample_line(r))
    scorer.close()
    return task.aggregate(columns, seed=seed)
