"""``rmeval compare``: the command line over :mod:`rmeval.harness.compare` (parser, output
files, printed report)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rmeval.harness.compare import compare_runs, distances, load_runs
from rmeval.harness.comparison_report import (
    format_grid,
    format_matrices,
    format_summary,
    format_table,
)
from rmeval.harness.errors import RmevalError
from rmeval.harness.results import dumps
from rmeval.harness.staged_file import atomic_write, check_writable


# -- output -----------------------------------------------------------------------------------
def check_output(path: Path, flag: str) -> None:
    """Refuse, before any work, an output path that is a folder or cannot be written."""
    if path.is_dir():
        raise RmevalError(f"{flag} {path}: is a folder; give a file path such as {path}/x.json.")
    try:
        check_writable(path.parent)
    except RmevalError as exc:
        raise _unwritable(path, flag, exc) from exc


def _unwritable(path: Path, flag: str, exc: RmevalError) -> RmevalError:
    cause = exc.__cause__
    reason = getattr(cause, "strerror", None) or type(cause).__name__
    return RmevalError(f"{flag}: cannot write {path} ({reason}); pick a writable path.")


def write_json(path: Path, obj: Any, flag: str = "--json") -> None:
    """Strict JSON written atomically (temp file + fsync + rename); errors name ``flag``."""
    check_output(path, flag)
    try:
        atomic_write(path, [dumps(obj) + "\n"])
    except RmevalError as exc:
        raise _unwritable(path, flag, exc) from exc


# -- CLI --------------------------------------------------------------------------------------
def add_compare_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``rmeval compare`` on the CLI's subparsers (handler in ``func``)."""
    p = subparsers.add_parser("compare", help="compare runs on shared items (paired statistics)")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="folders like results/<model-slug>")
    p.add_argument(
        "--details",
        action="store_true",
        help="also print every pair's reported metrics and subsets",
    )
    p.add_argument("--distance", choices=["starc"], help="add STARC/EPIC distance matrices")
    p.add_argument("--task", help="task for --distance (default: first with >=2 candidates)")
    p.add_argument("--json", metavar="OUT", help="also write the whole comparison as JSON to OUT")
    p.add_argument(
        "--output-dir", default="results", help="--distance writes DIR/compare/starc.json"
    )
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.set_defaults(func=compare_main)
    return p


def compare_main(args: argparse.Namespace) -> int:
    """Run ``rmeval compare``: print the summary, write JSON and distances when asked."""
    if len(args.runs) < 2:
        raise RmevalError("rmeval compare needs two or more run folders, e.g. results/a results/b.")
    if args.task and not args.distance:
        raise RmevalError("--task picks the task for --distance; add --distance starc.")
    starc_path = Path(getattr(args, "output_dir", "results")) / "compare" / "starc.json"
    if args.json:
        check_output(Path(args.json), "--json")
    if args.distance:
        check_output(starc_path, "--output-dir")
    runs = load_runs([Path(p) for p in args.runs])
    report = compare_runs(runs, seed=args.seed)
    print(format_summary(report) if len(runs) == 2 else format_grid(report))
    if getattr(args, "details", False):
        print()
        print(format_table(report))
    if args.json:
        write_json(Path(args.json), report)
        print(f"wrote {args.json}")
    if args.distance == "starc":
        starc = distances(runs, args.distance, args.task)
        write_json(starc_path, starc, "--output-dir")
        print(format_matrices(starc))
        print(f"wrote {starc_path}")
    return 0
