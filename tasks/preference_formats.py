"""Preference data as users have it, turned into flat ``prompt``/``chosen``/``rejected`` rows.

Three formats are recognised from the first row (after ``--task-args`` column mapping):

- ``flat``: ``prompt`` (text or chat messages) and ``chosen``/``rejected`` response texts;
- ``conversational`` (TRL / Hugging Face, UltraFeedback-binarized): ``chosen`` and ``rejected``
  are chat-message lists. Their shared leading turns (or the ``prompt`` column's) are the
  prompt; what follows must be one assistant message, the response;
- ``implicit_prompt`` (HH-RLHF): ``chosen`` and ``rejected`` are full transcripts
  (``\\n\\nHuman: ...\\n\\nAssistant: ...``) with no prompt column; the turns they share are
  the prompt, each one's last assistant turn its response.

A row that does not fit the recognised format gets one sentence naming the problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rmeval.harness.errors import RmevalError
from rmeval.tasks.validation import ROLES

FORMATS = ("flat", "conversational", "implicit_prompt")
COLUMNS = ("chosen", "rejected", "prompt", "id")
"""Standard columns a ``--task-args NAME=COL`` mapping may rename."""

_TURN = re.compile(r"(?:^|\n\n)(Human|User|Assistant|System):[ \t]?")
_ROLE_OF = {"Human": "user", "User": "user", "Assistant": "assistant", "System": "system"}

Row = dict[str, Any]
Converted = Row | list[str]
"""A flat row, or the one problem of a row that could not be converted."""


def check_columns(columns: Mapping[str, Any]) -> dict[str, str]:
    """The given column mapping (``standard -> column``), each column a non-empty text."""
    out = {}
    for key, col in columns.items():
        if col is None:
            continue
        if not isinstance(col, str) or not col:
            raise RmevalError(f"--task-args {key}={col}: give the name of a column.")
        out[key] = col
    return out


def map_columns(row: Row, columns: Mapping[str, str]) -> Converted:
    """``row`` with each mapped column renamed to its standard name (others kept)."""
    missing = [
        f"'{col}' (--task-args {key}={col})" for key, col in columns.items() if col not in row
    ]
    if missing:
        return [f"has no column {missing[0]}; check the column name"]
    renamed = set(columns.values())
    out = {k: v for k, v in row.items() if k not in renamed}
    return out | {key: row[col] for key, col in columns.items()}


def detect(row: Row) -> str:
    """The format of a (column-mapped) row: see the module docstring."""
    chosen = row.get("chosen")
    if isinstance(chosen, list) and chosen and all(isinstance(m, dict) for m in chosen):
        return "conversational"
    if isinstance(chosen, str) and row.get("prompt") is None and _TURN.search(chosen):
        return "implicit_prompt"
    return "flat"


def to_flat(row: Row, fmt: str) -> Converted:
    """``row`` (of format ``fmt``) as a flat row, or its one problem."""
    if fmt == "conversational":
        return _from_conversation(row)
    if fmt == "implicit_prompt":
        return _from_transcripts(row)
    return row


def _from_conversation(row: Row) -> Converted:
    for name in ("chosen", "rejected"):
        if (problem := _messages_problem(row.get(name), f"'{name}'")) is not None:
            return [problem]
    chosen, rejected = list(row["chosen"]), list(row["rejected"])
    prompt = row.get("prompt")
    if prompt is not None:
        lead = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
        if (problem := _messages_problem(lead, "'prompt'")) is not None:
            return [problem]
        # UltraFeedback repeats the prompt turns in chosen/rejected; TRL's explicit-prompt
        # format gives the completion only
        chosen, rejected = _after(chosen, lead), _after(rejected, lead)
    else:
        lead = _shared_prefix(chosen, rejected)
        chosen, rejected = chosen[len(lead) :], rejected[len(lead) :]
    if not lead:
        return ["'chosen' and 'rejected' share no prompt turns; map a prompt column"]
    responses = []
    for name, rest in (("chosen", chosen), ("rejected", rejected)):
        if len(rest) != 1 or _role(rest[0]) != "assistant":
            return [
                f"'{name}' must end with exactly one assistant message after the prompt turns, "
                f"not {len(rest)} message(s)"
            ]
        responses.append(rest[0]["content"])
    return _flat(row, lead, *responses)


def _from_transcripts(row: Row) -> Converted:
    turns = {}
    for name in ("chosen", "rejected"):
        value = row.get(name)
        parsed = _turns(value) if isinstance(value, str) else []
        if not parsed or parsed[-1]["role"] != "assistant":
            return [
                f"'{name}' is not a transcript ending with an '\\n\\nAssistant:' turn; "
                f"map a prompt column with --task-args prompt=COL"
            ]
        turns[name] = parsed
    lead, lead_rejected = turns["chosen"][:-1], turns["rejected"][:-1]
    if lead != lead_rejected or not lead:
        return ["'chosen' and 'rejected' transcripts do not share the same prompt turns"]
    return _flat(row, lead, turns["chosen"][-1]["content"], turns["rejected"][-1]["content"])


def _flat(row: Row, lead: list[dict[str, Any]], chosen: Any, rejected: Any) -> Row:
    """The flat row: one user turn as a text prompt, a longer conversation as messages."""
    prompt: Any = lead[0]["content"] if len(lead) == 1 and _role(lead[0]) == "user" else lead
    keep = {k: v for k, v in row.items() if k not in ("prompt", "chosen", "rejected")}
    messages = [{"role": m["role"], "content": m["content"]} for m in lead]
    return keep | {
        "prompt": prompt if isinstance(prompt, str) else messages,
        "chosen": chosen,
        "rejected": rejected,
    }


def _turns(text: str) -> list[dict[str, str]]:
    """The ``Human:``/``Assistant:`` turns of a transcript (empty when it has none first)."""
    marks = list(_TURN.finditer(text))
    if not marks or text[: marks[0].start()].strip():
        return []
    ends = [m.start() for m in marks[1:]] + [len(text)]
    return [
        {"role": _ROLE_OF[m.group(1)], "content": text[m.end() : end].strip()}
        for m, end in zip(marks, ends)
    ]


def _messages_problem(value: Any, where: str) -> str | None:
    """Why ``value`` is not a non-empty list of chat messages, or None."""
    if not isinstance(value, list) or not value:
        return f"field {where} is not a list of chat messages"
    for j, m in enumerate(value):
        if (
            not isinstance(m, dict)
            or _role(m) not in ROLES
            or not isinstance(m.get("content"), str)
        ):
            return (
                f"field {where}[{j}] is not a chat message "
                f"{{'role': {'|'.join(ROLES)}, 'content': text}}"
            )
    return None


def _role(message: Any) -> Any:
    return message.get("role") if isinstance(message, dict) else None


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return _role(a) == _role(b) and a.get("content") == b.get("content")


def _after(messages: list[Any], lead: list[Any]) -> list[Any]:
    """``messages`` without ``lead`` where they start with it."""
    starts = len(messages) >= len(lead) and all(_same(m, p) for m, p in zip(messages, lead))
    return messages[len(lead) :] if starts else messages


def _shared_prefix(a: list[Any], b: list[Any]) -> list[Any]:
    n = 0
    while n < min(len(a), len(b)) - 1 and _same(a[n], b[n]):
        n += 1
    return a[:n]


PROBLEM = "__rmeval_format_problem__"
"""Key of a row that could not be converted: the one sentence saying why."""


def normalise(
    rows: list[Row], columns: Mapping[str, str], fmt: str | None = None
) -> tuple[str, list[Row]]:
    """The format of ``rows`` (``fmt``, else recognised from the first row) and every row as
    a flat row; a row that does not fit becomes ``{"id": ..., PROBLEM: sentence}``."""
    # no mapping: the rows themselves (map_columns would copy each; nothing here changes a row)
    mapped = [map_columns(row, columns) for row in rows] if columns else rows
    if fmt is None:
        fmt = detect(next((r for r in mapped if isinstance(r, dict)), {}))
    if fmt == "flat" and not columns:  # to_flat keeps a flat row as it is
        return fmt, list(rows)
    out = []
    for row, raw in zip(mapped, rows):
        flat = to_flat(row, fmt) if isinstance(row, dict) else row
        if isinstance(flat, list):
            # a row whose mapping failed still has its id under the mapped column (id=COL)
            rid = row.get("id") if isinstance(row, dict) else raw.get(columns.get("id", "id"))
            flat = {"id": rid, PROBLEM: f"{flat[0]} ({fmt} format)"}
        out.append(flat)
    return fmt, out
