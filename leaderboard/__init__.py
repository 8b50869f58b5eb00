"""Static leaderboard: ``results/**.json`` -> validated table model -> self-contained HTML site.

``import rmeval.leaderboard`` stays light (the CLI imports it for ``add_board_parser``); pandas,
Jinja2 and the vendored bundles load only when a site is built.
"""

from typing import Any

from rmeval.leaderboard.command import add_board_parser, board_main

__all__ = ["add_board_parser", "board_main", "build_site"]


def __getattr__(name: str) -> Any:
    if name == "build_site":
        from rmeval.leaderboard.site import build_site

        return build_site
    raise AttributeError(f"module 'rmeval.leaderboard' has no attribute {name!r}")
