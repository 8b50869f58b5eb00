"""The ``rmeval`` command: the engine's subcommands plus those of the packages around it.

The engine (``rmeval.harness``) never imports the leaderboard; this module, outside it,
assembles the whole command line. The console script and ``python -m rmeval`` run ``main``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from rmeval.harness import cli as engine
from rmeval.leaderboard.command import add_board_parser

SUBCOMMANDS: tuple[engine.Subcommand, ...] = (add_board_parser,)
"""Subcommands added to the engine's: ``board`` (results -> static leaderboard site)."""


def build_parser() -> argparse.ArgumentParser:
    """The whole ``rmeval`` parser."""
    return engine.build_parser(SUBCOMMANDS)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rmeval`` console script and of ``python -m rmeval``."""
    return engine.main(argv, SUBCOMMANDS)
