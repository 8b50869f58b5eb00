"""Local data files read as written: JSON and JSON Lines (optionally gzipped) with the stdlib
``json`` module, CSV with the stdlib ``csv`` module (every cell a string as written; an empty cell
is a missing value), Parquet with ``pyarrow.parquet`` (its own typed schema). Files are read from
their bytes on every call (no cache, so a replaced file is always re-read)."""

from __future__ import annotations

import csv
import io
import itertools
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from rmeval.harness.errors import RmevalError

Row = dict[str, Any]

FILE_TYPES = {
    ".json": "json",
    ".jsonl": "json",
    ".json.gz": "json",
    ".jsonl.gz": "json",
    ".parquet": "parquet",
    ".csv": "csv",
}


def read_local_rows(path: Path, split: str | None = None) -> list[Row]:
    """Every row of a local file, or of the data files of a folder, exactly as written."""
    files = _local_files(path, split)
    formats = {_format_of(p) for p in files}
    if len(formats) > 1:
        raise RmevalError(f"{path}: mixed file types in one folder; keep one format.")
    fmt = formats.pop()
    rows: list[Row] = []
    for file in files:
        if fmt == "json":
            rows.extend(json_file_rows(file))
        else:
            reader = {"csv": _csv_rows, "parquet": _parquet_rows}[fmt]
            rows.extend(reader(file, _read_bytes(file)))
    return _fill_missing_keys(rows)


def local_rows_are_lazy(path: Path, split: str | None = None) -> bool:
    """Whether :func:`iter_local_rows` reads the rows one by one (JSON Lines files) rather
    than whole (CSV, Parquet, a JSON array)."""
    files = _local_files(path, split)
    return all(_format_of(p) == "json" for p in files) and all(_first_char(p) != "[" for p in files)


def iter_local_rows(path: Path, split: str | None = None) -> Iterator[Row]:
    """The rows of :func:`read_local_rows`, JSON Lines parsed as they are read. Only a table
    format fills a row's missing columns with None here: the lazy reader yields the rows as
    written, so a caller that needs :func:`read_local_rows`'s rows must check that every row
    has the same columns."""
    if not local_rows_are_lazy(path, split):
        yield from read_local_rows(path, split)
        return
    for file in _local_files(path, split):
        yield from iter_json_rows(file)


def _format_of(path: Path) -> str:
    name = path.name.lower()
    for suffix, fmt in sorted(FILE_TYPES.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return fmt
    raise RmevalError(f"{path}: unknown file type; use .json, .jsonl, .jsonl.gz, .parquet or .csv.")


def _local_files(path: Path, split: str | None) -> list[Path]:
    if path.is_file():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if split:
        named = [p for p in files if p.name.split(".")[0] == split]
        if named:
            return named
    data = [p for p in files if any(p.name.lower().endswith(s) for s in FILE_TYPES)]
    if not data:
        raise RmevalError(f"{path}: no .json, .jsonl, .parquet or .csv files in this folder.")
    return data


def _read_bytes(path: Path) -> bytes:
    import gzip
    import zlib

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RmevalError(f"{path}: could not be read ({exc.strerror}).") from exc
    if not path.name.lower().endswith(".gz"):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise RmevalError(f"{path}: not a valid gzip file ({exc}); recompress it.") from exc


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RmevalError(
            f"{path}:{line}: byte {data[exc.start]:#04x} is not UTF-8; save the file as UTF-8."
        ) from exc


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> Row:
    """An object's pairs as a dict, refusing a repeated key; keys are interned, as each JSON
    Lines row is parsed on its own and would otherwise hold its own copy of every column name."""
    out = {_intern(key): value for key, value in pairs}
    if len(out) != len(pairs):  # rare: find the first key seen twice, as a plain loop would
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


_intern = sys.intern
_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys)
_SCAN = _DECODER.scan_once
"""The decoder's own scanner: one value from a position, without ``json.loads``' per-call set-up
(a new decoder each call). A line it does not parse cleanly is parsed again by ``json.loads``."""


def _json_value(text: str) -> Any:
    return json.loads(text, object_pairs_hook=_unique_keys)


def json_file_rows(path: Path) -> list[Row]:
    """The rows of a JSON or JSON Lines file (optionally gzipped): ``iter_json_rows`` as a
    list."""
    return list(iter_json_rows(path))


def iter_json_rows(path: Path) -> Iterator[Row]:
    """The rows of a JSON or JSON Lines file (optionally gzipped), one at a time, with the errors
    of ``json_file_rows``. JSON Lines are parsed as they are read, so no copy of the whole file
    (bytes, text, list of lines) is held; a JSON array is read whole, then yielded."""
    if _first_char(path) == "[":
        yield from _json_array_rows(path, _decode(path, _read_bytes(path)))
    else:
        yield from _json_lines_rows(path, _text_lines(path))


def _open_binary(path: Path) -> Any:
    import gzip

    try:
        return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")
    except OSError as exc:
        raise RmevalError(f"{path}: could not be read ({exc.strerror}).") from exc


def _first_char(path: Path) -> str:
    """The first non-blank character of the file's text ('' for a blank file)."""
    import zlib

    with _open_binary(path) as fh:
        try:
            while block := fh.read(1 << 16):
                head = block.decode("utf-8-sig", errors="replace").lstrip()
                if head:
                    return head[0]
        except (OSError, EOFError, zlib.error) as exc:
            raise _unreadable(path, exc) from exc
    return ""


def _text_lines(path: Path) -> Iterator[str]:
    """The file's lines, read lazily. Only ``\n`` ends a line (JSON Lines): U+2028, U+2029 and
    NEL are valid inside JSON strings, where ``str.splitlines`` would cut a row in two."""
    import zlib

    lineno = 0
    with _open_binary(path) as fh:
        try:
            for raw in fh:
                if lineno == 0 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise RmevalError(
                        f"{path}:{lineno + 1}: byte {raw[exc.start]:#04x} is not UTF-8; save the "
                        f"file as UTF-8."
                    ) from exc
                lineno += 1
                yield text
        except (OSError, EOFError, zlib.error) as exc:
            raise _unreadable(path, exc) from exc


def _unreadable(path: Path, exc: BaseException) -> RmevalError:
    """A read that failed part way: a damaged gzip stream, or the file itself."""
    if path.name.lower().endswith(".gz") and not isinstance(exc, FileNotFoundError):
        return RmevalError(f"{path}: not a valid gzip file ({exc}); recompress it.")
    return RmevalError(f"{path}: could not be read ({getattr(exc, 'strerror', None) or exc}).")


def _json_lines_rows(path: Path, lines: Iterable[str]) -> Iterator[Row]:
    """One row object per non-blank line."""
    scan = _SCAN
    for lineno, line in enumerate(lines, 1):
        try:
            row, end = scan(line, 0)
        except (StopIteration, ValueError):  # blank, or not one clean value: parsed again below
            row, end = None, -1
        if end < 0 or line[end:].strip(_JSON_SPACE):
            row = _line_value(path, lineno, line)
            if row is _BLANK:
                continue
        if not isinstance(row, dict):
            raise RmevalError(
                f"{path}:{lineno}: a JSON {_kind(row)}, not an object; each line must be one row "
                f"object."
            )
        yield row


_JSON_SPACE = " \t\n\r"
"""The characters JSON counts as whitespace (what may follow a value on its line)."""
_BLANK = object()


def _line_value(path: Path, lineno: int, line: str) -> Any:
    """A line the fast scan did not take, parsed as ``json.loads`` does (its exact error)."""
    if not line.strip():
        return _BLANK
    try:
        return _json_value(line)
    except _DuplicateKey as exc:
        raise RmevalError(f"{path}:{lineno}: key '{exc}' appears twice; keep one.") from exc
    except json.JSONDecodeError as exc:
        hint = _one_object_hint(path) if lineno == 1 else "fix this line"
        raise RmevalError(f"{path}:{lineno}: invalid JSON ({exc.msg}); {hint}.") from exc


def _one_object_hint(path: Path) -> str:
    try:
        _json_value(_decode(path, _read_bytes(path)))
    except (json.JSONDecodeError, _DuplicateKey):
        return "fix this line"
    return (
        "the file is one JSON value over several lines: write a JSON array of row objects, "
        "or one row object per line"
    )


def _json_array_rows(path: Path, text: str) -> list[Row]:
    try:
        value = _json_value(text)
    except _DuplicateKey as exc:
        raise RmevalError(f"{path}: key '{exc}' appears twice in one row; keep one.") from exc
    except json.JSONDecodeError as exc:
        raise RmevalError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg}); fix this line.") from exc
    if not isinstance(value, list):
        raise RmevalError(f"{path}: a JSON {_kind(value)}, not an array of row objects.")
    for i, item in enumerate(value, 1):
        if not isinstance(item, dict):
            raise RmevalError(
                f"{path}: item {i} of the JSON array is a {_kind(item)}, not an object; "
                f"each row must be a JSON object."
            )
    return value


def _kind(value: Any) -> str:
    kinds = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return kinds.get(type(value), "number")


def _csv_rows(path: Path, data: bytes) -> list[Row]:
    """CSV with a header row; every cell is the string in the file, an empty cell is None."""
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))  # long responses are normal
    reader = csv.reader(io.StringIO(_decode(path, data), newline=""), strict=True)
    start = 1  # the line the row being read starts on: an unclosed quote fails only at the end
    try:
        header = next(reader, None)
        if header is None:
            return []
        if len(set(header)) != len(header):
            raise RmevalError(f"{path}:1: the header names a column twice; rename one.")
        rows = []
        start = reader.line_num + 1
        for cells in reader:
            row_start, start = start, reader.line_num + 1
            if not cells:
                continue
            if len(cells) != len(header):
                raise RmevalError(
                    f"{path}:{row_start}: {len(cells)} cells but the header has "
                    f"{len(header)}; quote cells that hold commas or line breaks."
                )
            rows.append({k: (v if v != "" else None) for k, v in zip(header, cells, strict=True)})
    except csv.Error as exc:
        raise RmevalError(
            f"{path}:{start}: CSV quoting error in the row starting on this line ({exc}); put a "
            f'quote inside a quoted cell as "" and close every quote.'
        ) from exc
    return rows


def _parquet_rows(path: Path, data: bytes) -> list[Row]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(pa.BufferReader(data)).to_pylist()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise RmevalError(f"{path}: not a readable Parquet file ({first_line(exc)}).") from exc


def _fill_missing_keys(rows: list[Row]) -> list[Row]:
    """Give every row every column (a key absent from a row reads as None, as in a table)."""
    columns = list(dict.fromkeys(itertools.chain.from_iterable(rows)))
    if min(map(len, rows), default=0) == len(columns):  # no row lacks a column of the union
        return rows
    return [{k: row.get(k) for k in columns} for row in rows]


def first_line(exc: BaseException) -> str:
    """The exception's type and the first line of its message (for one-sentence errors)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
