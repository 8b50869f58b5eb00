"""``rmeval`` command line: run, score, ls, validate (plus compare, board, bench)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.config import as_assignments, as_list, load_config
from harness.errors import DataError, RmevalError

log = logging.getLogger("rmeval")


def _add_run_flags(p: argparse.ArgumentParser, *, scoring: bool) -> None:
    p.add_argument("--config", help="YAML file with the same settings as the flags")
    p.add_argument(
        "--model", action="append", help="TYPE:ID (repeat for several models); default TYPE is hf"
    )
    p.add_argument("--model-args", action="append", help="k=v,... passed to the model adapter")
    p.add_argument("--name", help="result folder name for the model (default: from the spec)")
    p.add_argument("--tasks", help="comma-separated task or suite names (see `rmeval ls`)")
    p.add_argument("--task-args", action="append", help="k=v,... passed to every task factory")
    p.add_argument("--data", action="append", help="TASK=PATH_OR_HUB_ID (repeatable)")
    p.add_argument("--output-dir", help="where result files go (default: results)")
    p.add_argument("--cache-dir", help="score cache folder (default: .rmeval_cache)")
    p.add_argument("--limit", type=int, help="use only the first N rows of each task")
    p.add_argument("--seed", type=int, help="seed for bootstrap CIs and random baselines")
    p.add_argument(
        "--ties", choices=["strict", "half"], help="pairwise tie credit (default strict: 0)"
    )
    p.add_argument("--dtype", help="float32, bfloat16, float16 or auto")
    p.add_argument(
        "--max-length", type=int, help="max tokens per text; longer ones are truncated and counted"
    )
    p.add_argument("--device", help="cpu, cuda, cuda:1, mps or auto")
    p.add_argument(
        "--trust-remote-code", action="store_true", default=None, help="allow custom model code"
    )
    p.add_argument(
        "--allow-unsafe-weights",
        action="store_true",
        default=None,
        help="allow pickled .bin weights",
    )
    if scoring:
        p.add_argument("--batch-tokens", help="token budget per batch, or auto")
        p.add_argument(
            "--no-progress", action="store_true", default=None, help="hide the progress bar"
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rmeval", description="Reward-model evaluation harness.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_run_flags(sub.add_parser("run", help="evaluate models on tasks"), scoring=True)
    _add_run_flags(
        sub.add_parser("score", help="recompute metrics from cached scores (no model load)"),
        scoring=False,
    )
    sub.add_parser("ls", help="list tasks and model types")
    val = sub.add_parser("validate", help="check task data before running; lists bad rows by id")
    val.add_argument("--tasks", required=True)
    val.add_argument("--data", action="append")
    val.add_argument("--task-args", action="append")
    val.add_argument("--limit", type=int)
    from harness.compare import add_compare_parser
    from leaderboard.command import add_board_parser

    add_compare_parser(sub)
    add_board_parser(sub)
    _add_bench_parser(sub)
    return parser


def _add_bench_parser(sub: Any) -> None:
    from harness.bench import add_parser

    add_parser(sub)


def _merged(args: argparse.Namespace) -> dict[str, Any]:
    """Config file values overridden by flags given on the command line."""
    merged = load_config(args.config) if getattr(args, "config", None) else {}
    for key, value in vars(args).items():
        if value is not None and key not in {"config", "command", "verbose", "func"}:
            merged[key] = value
    return merged


def run_options(args: argparse.Namespace, *, cache_only: bool) -> Any:
    """RunOptions from flags and ``--config``."""
    from harness.adapters.base import parse_model_args
    from harness.runner import RunOptions, parse_assignments

    cfg = _merged(args)
    models = [m for item in as_list(cfg.get("model")) for m in as_list(item)]
    tasks = as_list(cfg.get("tasks"))
    if not models:
        raise RmevalError("--model is required, e.g. --model hf:./my-rm (or --model embed).")
    if not tasks:
        raise RmevalError("--tasks is required, e.g. --tasks core (see `rmeval ls`).")
    model_args: dict[str, Any] = {}
    for item in as_assignments(cfg.get("model_args")):
        model_args |= parse_model_args(item)
    for flag in ("dtype", "max_length", "device", "trust_remote_code", "allow_unsafe_weights"):
        if cfg.get(flag) is not None:
            model_args.setdefault(flag, cfg[flag])
    task_args = {
        k: v
        for item in as_assignments(cfg.get("task_args"))
        for k, v in parse_model_args(item).items()
    }
    if cfg.get("ties"):
        task_args["ties"] = cfg["ties"]
    return RunOptions(
        models=models,
        tasks=tasks,
        model_args=model_args,
        task_args=task_args,
        data=parse_assignments(as_assignments(cfg.get("data")), "--data"),
        output_dir=str(cfg.get("output_dir") or "results"),
        cache_dir=str(cfg.get("cache_dir") or os.environ.get("RMEVAL_CACHE_DIR", ".rmeval_cache")),
        limit=cfg.get("limit"),
        batch_tokens=_batch_tokens(cfg.get("batch_tokens")),
        seed=int(cfg.get("seed") or 0),
        progress=not cfg.get("no_progress") and sys.stderr.isatty(),
        cache_only=cache_only,
        name=cfg.get("name"),
    )


def _batch_tokens(value: Any) -> int | None:
    if value in (None, "auto"):
        return None
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if n <= 0:
        raise RmevalError(f"--batch-tokens {value}: use a positive integer or 'auto'.")
    return n


def cmd_run(args: argparse.Namespace, *, cache_only: bool = False) -> int:
    from harness.runner import run

    written = run(run_options(args, cache_only=cache_only))
    _print_summary(written)
    return 0


def _print_summary(written: Sequence[Path]) -> None:
    import json

    rows = []
    for path in written:
        if path.suffix == ".json":
            r = json.loads(path.read_text())
            main = r["task"]["main_score"]
            m = r["metrics"].get(main, {})
            value = "n/a" if m.get("value") is None else f"{m['value']:.4f}"
            ci = m.get("ci95")
            ci_text = f"[{ci[0]:.4f}, {ci[1]:.4f}]" if ci else ""
            rows.append(
                (
                    r["model"]["spec"],
                    r["task"]["name"],
                    main,
                    value,
                    ci_text,
                    str(r["counts"]["examples"]),
                    str(path),
                )
            )
    if not rows:
        return
    header = ("model", "task", "metric", "value", "95% CI", "n", "file")
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for row in (header, *rows):
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip())


def cmd_ls(args: argparse.Namespace) -> int:
    from harness.plugins import model_names, task_names

    print("tasks:  " + ", ".join(task_names()))
    print("models: " + ", ".join(model_names()))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from harness.adapters.base import parse_model_args
    from harness.runner import RunOptions, build_tasks, parse_assignments

    task_args = {k: v for item in args.task_args or [] for k, v in parse_model_args(item).items()}
    opts = RunOptions(
        models=[],
        tasks=as_list(args.tasks),
        task_args=task_args,
        data=parse_assignments(args.data, "--data"),
        limit=args.limit,
    )
    bad = 0
    for task in build_tasks(opts.tasks, opts):
        try:
            n = len(task.examples())
        except DataError as exc:
            bad += len(exc.problems)
            print(f"{task.name}: {len(exc.problems)} bad row(s) in {exc.source}:")
            for problem in exc.problems:
                print(f"  {problem}")
            continue
        print(f"{task.name}: {n} examples OK ({task.dataset.path if task.dataset else ''})")
    return 1 if bad else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rmeval`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "urllib3", "datasets", "filelock", "lm_eval", "lm-eval"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    handlers = {
        "run": cmd_run,
        "score": lambda a: cmd_run(a, cache_only=True),
        "ls": cmd_ls,
        "validate": cmd_validate,
    }
    try:
        if args.command in handlers:
            return handlers[args.command](args)
        return args.func(args)
    except RmevalError as exc:
        print(f"rmeval: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "rmeval: interrupted; cached scores are kept, run the same command to resume.",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
