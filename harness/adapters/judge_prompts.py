"""Prompt templates shared by the judges: reading a user's template file and filling it.

A template is a ``str.format`` text; a user's file may use only its protocol's fields, and
filling refuses a field the item lacks (rather than writing ``None`` into the prompt).
"""

from __future__ import annotations

import string
from collections.abc import Collection
from pathlib import Path
from typing import Any

from rmeval.harness.errors import RmevalError


def read_template(flag: str, path: Any, allowed: Collection[str]) -> str | None:
    """The template file given as ``--model-args flag=path`` (None when not given).

    Refuses a missing file, bad braces, and fields outside ``allowed``.
    """
    if path is None:
        return None
    file = Path(str(path)).expanduser()
    if not file.is_file():
        raise RmevalError(f"--model-args {flag}={path}: no such file; give a prompt template file.")
    text = file.read_text(encoding="utf-8")
    try:
        names = {n for _, n, _, _ in string.Formatter().parse(text) if n is not None}
    except ValueError as exc:
        raise RmevalError(
            f"--model-args {flag}={path}: bad template ({exc}); write literal braces as {{{{ }}}}."
        ) from exc
    unknown = names - set(allowed)
    if unknown:
        raise RmevalError(
            f"--model-args {flag}={path}: unknown field(s) {sorted(unknown)}; use "
            f"{sorted(allowed)}."
        )
    return text


def fill_template(template: str, fields: dict[str, str | None], flag: str) -> str:
    """``template`` with its fields filled from ``fields``; refuses a field that is None."""
    names = {n for _, n, _, _ in string.Formatter().parse(template) if n}
    missing = sorted(n for n in names if fields.get(n) is None)
    if missing:
        raise RmevalError(
            f"judge {flag} needs {missing} but the item has none; use a task whose rows carry "
            f"it or a template without that field."
        )
    return template.format(**{n: fields[n] for n in names})
