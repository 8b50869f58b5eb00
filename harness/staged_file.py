"""Files that are never half-written: written under a temporary name in their folder and
renamed into place (:class:`StagedFile`, :func:`atomic_write`), and the check that a folder
can take them before any work starts (:func:`check_writable`)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rmeval.harness.errors import RmevalError


def write_failed(path: Path, exc: OSError) -> RmevalError:
    """One sentence for an OSError while writing ``path`` (full disk, no permission, ...)."""
    reason = exc.strerror or type(exc).__name__
    return RmevalError(
        f"cannot write {path}: {reason}; free space or fix the folder's permissions (or pass "
        "another --output-dir), then run the same command again: computed scores are cached."
    )


class StagedFile:
    """A text file written under a temporary name in its folder and renamed over ``path`` by
    :meth:`commit` (after an fsync), so ``path`` is never half-written; leaving the ``with``
    block without committing removes the temporary file and leaves ``path`` as it was.

    The file gets the user's umask (mode 0666 minus umask). An OSError becomes one RmevalError
    sentence naming ``path``. ``sha256`` and ``lines`` describe what was written.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines = 0
        self._committed = False
        self._digest = hashlib.sha256()
        self._tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            self._fh: Any = os.fdopen(fd, "wb")
        except OSError as exc:
            raise write_failed(path, exc) from exc

    def __enter__(self) -> StagedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._committed:
            self.discard()

    def write(self, text: str) -> None:
        """Append ``text`` (whole lines, each ending with a newline)."""
        data = text.encode("utf-8")
        self._digest.update(data)
        self.lines += data.count(b"\n")
        try:
            self._fh.write(data)
        except OSError as exc:
            self.discard()
            raise write_failed(self.path, exc) from exc

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def commit(self) -> None:
        """Flush, fsync and rename the file into place."""
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            os.replace(self._tmp, self.path)
        except OSError as exc:
            self.discard()
            raise write_failed(self.path, exc) from exc
        except BaseException:
            self.discard()
            raise
        self._committed = True

    def discard(self) -> None:
        """Close and remove the temporary file."""
        with contextlib.suppress(OSError):
            self._fh.close()
        self._tmp.unlink(missing_ok=True)


def atomic_write(path: Path, lines: Iterable[str]) -> None:
    """Write ``lines`` to ``path`` through a :class:`StagedFile`: all of them, or nothing."""
    with StagedFile(path) as staged:
        for line in lines:
            staged.write(line)
        staged.commit()


def check_writable(folder: str | Path) -> None:
    """Prove a file can be written in ``folder`` (before any model loads), leaving no trace:
    missing folders are created for the probe and removed again."""
    path = Path(folder)
    created = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".rmeval-write-test.{secrets.token_hex(4)}"
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise RmevalError(
            f"output folder {path} is not writable ({reason}); fix its permissions or pass "
            "another --output-dir."
        ) from exc
    finally:
        for p in created:
            with contextlib.suppress(OSError):
                p.rmdir()
