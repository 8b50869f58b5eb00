"""Row validation shared by the tasks: every bad row is collected by id, then reported at once."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sized
from contextlib import contextmanager
from typing import Any, TypeVar

from rmeval.harness.errors import DataError
from rmeval.harness.records import Turn
from rmeval.harness.row_check import RowCheck, row_id  # noqa: F401 (row_id: public here too)

T = TypeVar("T")


def text_problem(value: Any, where: str, *, allow_empty: bool) -> str | None:
    """Why ``value`` is not a usable text (``where`` names the field), or None."""
    if not isinstance(value, str):
        return f"field {where} is {type(value).__name__}, not a string"
    if not allow_empty and not value.strip():
        return f"field {where} is empty"
    return None


ROLES = ("system", "user", "assistant")


def prompt_problem(value: Any, where: str = "'prompt'") -> str | None:
    """Why ``value`` is neither a non-empty text nor a chat conversation (``role``/``content``
    messages) that ends with a non-empty user message, or None."""
    if isinstance(value, str):
        return text_problem(value, where, allow_empty=False)
    if not isinstance(value, list) or not value:
        kind = "an empty list" if isinstance(value, list) else type(value).__name__
        return f"field {where} is {kind}, not a string or a list of chat messages"
    for j, turn in enumerate(value):
        if (
            not isinstance(turn, dict)
            or turn.get("role") not in ROLES
            or not isinstance(turn.get("content"), str)
        ):
            return (
                f"field {where}[{j}] is not a chat message "
                f"{{'role': {'|'.join(ROLES)}, 'content': text}}"
            )
    last = value[-1]
    if last["role"] != "user":
        return f"field {where} must end with a user message, not {last['role']}"
    return text_problem(last["content"], f"{where}[{len(value) - 1}].content", allow_empty=False)


def split_prompt(value: str | list[dict[str, str]]) -> tuple[str, tuple[Turn, ...]]:
    """A valid prompt as (the last user message, the earlier turns as ``(role, content)``)."""
    if isinstance(value, str):
        return value, ()
    return value[-1]["content"], tuple((t["role"], t["content"]) for t in value[:-1])


def text_list_problems(
    row: dict[str, Any], name: str, *, allow_empty: bool, size: int | None = None
) -> list[str]:
    """Problems of a field that must be a non-empty list of texts (of ``size`` items if given)."""
    value = row.get(name)
    if not isinstance(value, list):
        return [f"field '{name}' is {type(value).__name__}, not a list of responses"]
    if not value:
        return [f"field '{name}' is an empty list"]
    problems = []
    if size is not None and len(value) != size:
        problems.append(f"field '{name}' holds {len(value)} responses, not {size}")
    for j, item in enumerate(value):
        if (p := text_problem(item, f"'{name}[{j}]'", allow_empty=allow_empty)) is not None:
            problems.append(p)
    return problems


def convert_rows(
    rows: list[dict[str, Any]], convert: Callable[[dict[str, Any], str], T | list[str]]
) -> tuple[list[T], list[str]]:
    """Apply ``convert(row, id)`` to every row; it returns the converted value or a list of
    problems. Duplicate ids and problems come back prefixed with ``row <id>:``."""
    check = RowCheck()
    values = check.convert(rows, convert)
    return values, check.problems


def raise_problems(source: str, problems: list[str], values: Sized) -> None:
    """One ``DataError`` listing every problem (or saying there were no rows)."""
    if problems:
        raise DataError(source, problems)
    if not len(values):
        raise DataError(source, ["no rows"])


def collect_rows(
    rows: list[dict[str, Any]],
    *,
    source: str,
    convert: Callable[[dict[str, Any], str], T | list[str]],
) -> list[T]:
    """``convert_rows`` then ``raise_problems``: the converted rows, or one error for all."""
    values, problems = convert_rows(rows, convert)
    raise_problems(source, problems, values)
    return values


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the block (back on after, if it was on).

    Building many examples creates no reference cycles, yet each new example counts towards
    the collector's next pass, and its passes over the older generations walk every example
    made so far (at 100k rows about half of ``preference_examples``' time); reference
    counting still frees everything as usual."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
