"""``rmeval board``: the argparse sub-command that builds the leaderboard site."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_board_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``board`` on the CLI's sub-parsers (sets ``func=board_main``)."""
    parser = subparsers.add_parser(
        "board",
        help="build the static leaderboard site from result files",
        description="Turn results/<model>/<task>.json into a self-contained static site "
        "(open index.html from disk or push the folder to any static host).",
    )
    parser.add_argument("--results", type=Path, default=Path("results"), help="results folder")
    parser.add_argument("--out", type=Path, default=Path("site"), help="output folder")
    parser.add_argument(
        "--metadata",
        type=Path,
        default=None,
        help="YAML file of display metadata: per model slug display_name, link, organisation, "
        "type, base_model, license, date; per task display_name, section_order, description",
    )
    parser.add_argument(
        "--skip-unfinished",
        action="store_true",
        help="leave out (and list on the page) results that are not complete or whose samples "
        "file does not match, instead of refusing to build",
    )
    parser.set_defaults(func=board_main)
    return parser


def board_main(args: argparse.Namespace) -> int:
    """Build the site; RmevalError propagates for the CLI to print (one sentence, exit 2)."""
    from rmeval.leaderboard.site import build_site

    def warn(sentence: str) -> None:
        print(f"rmeval board: left out: {sentence}", file=sys.stderr)

    written = build_site(
        args.results, args.out, skip_unfinished=args.skip_unfinished, warn=warn,
        user_metadata=args.metadata,
    )  # fmt: skip
    print(f"wrote {len(written)} files to {args.out} (open {args.out / 'index.html'})",
          file=sys.stderr)  # fmt: skip
    return 0
