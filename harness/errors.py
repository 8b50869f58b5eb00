"""User-facing errors: one sentence that names the bad thing and says what to do."""

from __future__ import annotations


class RmevalError(Exception):
    """An error caused by input (a flag, file, row or name); the CLI prints it and exits 2."""


class DataError(RmevalError):
    """Rows that fail validation; ``problems`` lists every bad row, not just the first."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(
            f"{source}: {len(problems)} bad row(s): {shown}{more}. "
            f"Fix or drop these rows (run `rmeval validate` to list them all)."
        )
