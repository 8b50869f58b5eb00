"""``rmeval`` command line: run, score, ls, validate (plus compare, board, bench)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from rmeval.harness.config import CHECKS, as_assignments, as_list, check_setting, load_config
from rmeval.harness.errors import DataError, RmevalError
from rmeval.harness.result import Result

log = logging.getLogger("rmeval")


def _add_run_flags(p: argparse.ArgumentParser, *, scoring: bool) -> None:
    p.add_argument("--config", help="YAML file with the same settings as the flags")
    _add_include_flag(p)
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
    p.add_argument("--limit", help="use only the first N rows of each task")
    p.add_argument("--seed", help="seed for bootstrap CIs and random baselines")
    p.add_argument(
        "--ties", choices=["strict", "half"], help="pairwise tie credit (default strict: 0)"
    )
    p.add_argument("--dtype", help="float32, bfloat16, float16 or auto")
    p.add_argument(
        "--max-length", help="max tokens per text; longer ones are truncated and counted"
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
    p.add_argument(
        "--log-texts",
        action="store_true",
        default=None,
        help="also store each example's prompt and candidate texts in the samples file "
        "(off by default: files grow, and texts may be private)",
    )
    if scoring:
        p.add_argument(
            "--recompute",
            action="store_true",
            default=None,
            help="evaluate again even where the result file is up to date (default: reused)",
        )
        p.add_argument("--batch-tokens", help="token budget per batch, or auto")
        p.add_argument(
            "--no-progress", action="store_true", default=None, help="hide the progress bar"
        )


def _add_include_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--include",
        action="append",
        metavar="PATH.py",
        help="a Python file defining TASKS = {name: factory}, registered for this run (repeatable)",
    )


Subcommand = Callable[[Any], Any]
"""Registers one subcommand on the CLI's subparsers, its handler in ``func`` (e.g. ``board``,
which ``rmeval.cli`` adds from the leaderboard: the engine never imports it)."""


def build_parser(extra: Sequence[Subcommand] = ()) -> argparse.ArgumentParser:
    """The ``rmeval`` parser: the engine's subcommands, then those ``extra`` registers."""
    parser = argparse.ArgumentParser(prog="rmeval", description="Reward-model evaluation harness.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_run_flags(sub.add_parser("run", help="evaluate models on tasks"), scoring=True)
    _add_run_flags(
        sub.add_parser("score", help="recompute metrics from cached scores (no model load)"),
        scoring=False,
    )
    show = sub.add_parser("show", help="print the exact texts and token ids a model receives")
    _add_run_flags(show, scoring=False)  # --limit defaults to 3 here
    ls = sub.add_parser("ls", help="list tasks and model types (or one model's --model-args)")
    ls.add_argument("model_type", nargs="?", help="a model type: list its --model-args")
    _add_include_flag(ls)
    val = sub.add_parser("validate", help="check task data before running; lists bad rows by id")
    val.add_argument("--tasks", required=True)
    val.add_argument("--data", action="append")
    val.add_argument("--task-args", action="append")
    val.add_argument("--limit", help="use only the first N rows of each task")
    _add_include_flag(val)
    from rmeval.harness.compare_command import add_compare_parser

    add_compare_parser(sub)
    for add in extra:
        add(sub)
    _add_bench_parser(sub)
    return parser


def _add_bench_parser(sub: Any) -> None:
    from rmeval.harness.bench import add_parser

    add_parser(sub)


def _merged(args: argparse.Namespace) -> dict[str, Any]:
    """Config file values overridden by flags given on the command line."""
    merged = load_config(args.config) if getattr(args, "config", None) else {}
    for key, value in vars(args).items():
        if value is not None and key in CHECKS:
            merged[key] = check_setting(key, value)
    return merged


def run_options(args: argparse.Namespace, *, cache_only: bool) -> Any:
    """RunOptions from flags and ``--config``."""
    from rmeval.harness.runner import RunOptions
    from rmeval.harness.task_options import parse_assignments

    cfg = _merged(args)
    models, per_model, model_args = sweep_models(cfg)
    tasks = as_list(cfg.get("tasks"))
    if not models:
        raise RmevalError("--model is required, e.g. --model hf:./my-rm (or --model embed).")
    if not tasks:
        raise RmevalError("--tasks is required, e.g. --tasks core (see `rmeval ls`).")
    for flag in ("dtype", "max_length", "device", "trust_remote_code", "allow_unsafe_weights"):
        if cfg.get(flag) is not None:
            model_args.setdefault(flag, cfg[flag])
    task_args = _task_args(as_assignments(cfg.get("task_args")))
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
        batch_tokens=None if cfg.get("batch_tokens") in (None, "auto") else cfg["batch_tokens"],
        seed=cfg.get("seed", 0),
        progress=False if cfg.get("no_progress") else (True if sys.stderr.isatty() else "log"),
        cache_only=cache_only,
        name=cfg.get("name"),
        per_model_args=per_model,
        log_texts=bool(cfg.get("log_texts")),
        recompute=bool(getattr(args, "recompute", None)),
    )


def sweep_models(cfg: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]] | None, dict]:
    """Model specs, each model's own arguments (or None) and the arguments for all, from
    ``--model``/``--model-args`` (repeated flags pair in order) or the config's model list."""
    from rmeval.harness.sweep import pair_model_args, split_models

    raw = cfg.get("model")
    items = [raw] if isinstance(raw, str) else list(raw or [])
    models, own = split_models(
        [m for i in items for m in (as_list(i) if isinstance(i, str) else [i])]
    )
    given = cfg.get("model_args")
    shared, paired = pair_model_args(
        models if isinstance(given, list) else models[:1], as_assignments(given)
    )
    if own is not None and paired is not None:
        raise RmevalError(
            "models carry their own args in the config and --model-args is repeated per model; "
            "give each model's arguments in one place."
        )
    return models, own or paired, shared


def _task_args(items: Sequence[str]) -> dict[str, Any]:
    """``--task-args k=v,...`` items (or the config's ``task_args``) into one dict."""
    from rmeval.harness.adapters.base import parse_model_args

    out: dict[str, Any] = {}
    for item in items:
        bad = [p for p in item.split(",") if p.strip() and "=" not in p]
        if bad:
            raise RmevalError(f"--task-args: '{bad[0]}' is not key=value; write e.g. ties=half.")
        out |= parse_model_args(item)
    return out


def cmd_run(args: argparse.Namespace, *, cache_only: bool = False) -> int:
    """Run (or ``score``); exit 1 when every score of every task is invalid, else 0."""
    from rmeval.harness.run_report import count_lines, truncation_warnings
    from rmeval.harness.runner import run

    results = run(run_options(args, cache_only=cache_only))
    _print_summary(results)
    print("\n".join(count_lines(results)))
    for line in truncation_warnings(results):
        print(line, file=sys.stderr)
    return _warn_invalid(results)


def _print_summary(results: Sequence[Result]) -> None:
    """One line per (model, task): main score, its 95% CI, examples and the result file."""
    from rmeval.harness.reuse import REUSED_NOTE

    rows, notes = [], []
    for r in results:
        notes.append(REUSED_NOTE if r.reused else "")
        value = "n/a" if r.main_value is None else f"{r.main_value:.4f}"
        ci = (r.metrics.get(r.main_score) or {}).get("ci95")
        ci_text = f"[{ci[0]:.4f}, {ci[1]:.4f}]" if ci else ""
        n = str(r.counts["examples"])
        where = "" if r.path is None else str(r.path)
        rows.append((r.model_spec, r.task_name, r.main_score, value, ci_text, n, where))
    if not rows:
        return
    header = ("model", "task", "metric", "value", "95% CI", "n", "file")
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for row, note in zip((header, *rows), ("", *notes)):
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip() + note)


def _warn_invalid(results: Sequence[Result]) -> int:
    """One warning line per (model, task) with invalid (NaN/inf) scores; 1 if all are invalid."""
    all_invalid = bool(results)
    for r in results:
        counts = r.counts
        n, bad = counts.get("examples", 0), counts.get("invalid", 0)
        all_invalid = all_invalid and n > 0 and bad == n
        if bad:
            what = "every example" if bad == n else f"{bad} of {n} examples"
            print(
                f"rmeval: warning: {r.model_spec} on {r.task_name}: {what} had an "
                f"invalid (NaN or infinite) score, excluded from the metrics; check the model's "
                f"outputs ({r.path}).",
                file=sys.stderr,
            )
    if all_invalid:
        print(
            "rmeval: error: every score of every task is invalid, so no metric has a value; "
            "check the model or server (the result files say the same).",
            file=sys.stderr,
        )
    return 1 if all_invalid else 0


def _cmd_show(args: argparse.Namespace) -> int:
    from rmeval.harness.show_command import show

    return show(run_options(args, cache_only=False))


def cmd_ls(args: argparse.Namespace) -> int:
    """Task and model names; with a model type, that adapter's ``--model-args``."""
    from rmeval.harness.plugins import model_class, model_names, task_names

    if args.model_type:
        print(_arguments_text(model_class(args.model_type)))
        return 0
    print("tasks:  " + ", ".join(task_names()))
    print("models: " + ", ".join(model_names()))
    for name in model_names():
        declared = model_class(name).declared()
        if declared:
            print(f"  {name}: {', '.join(declared)}")
    print("`rmeval ls MODEL_TYPE` explains a model type's --model-args.")
    return 0


def _arguments_text(cls: Any) -> str:
    """One line per declared argument: name, default, help; ``*`` marks output-changing ones."""
    declared = cls.declared()
    if declared is None:
        return f"{cls.type_name}: declares no --model-args; see its documentation."
    lines = [f"--model-args of {cls.type_name} (* changes scores: fingerprint, result folder):"]
    width = max(map(len, declared))
    for name, arg in declared.items():
        shown = arg.default
        if isinstance(shown, str):  # as typed in k=v: a newline shows as \n, on one line
            shown = shown.encode("unicode_escape").decode("ascii")
        default = "" if shown is None else f" (default {shown})"
        mark = "*" if arg.output else " "
        lines.append(f" {mark} {name.ljust(width)}  {arg.help}{default}")
    return "\n".join(lines)


def cmd_validate(args: argparse.Namespace) -> int:
    from rmeval.harness.runner import RunOptions, build_tasks
    from rmeval.harness.task_options import parse_assignments

    opts = RunOptions(
        models=[],
        tasks=as_list(args.tasks),
        task_args=_task_args(args.task_args or []),
        data=parse_assignments(args.data, "--data"),
        limit=None if args.limit is None else check_setting("limit", args.limit),
    )
    bad = 0
    for task in build_tasks(opts.tasks, opts):
        try:
            task.prepare()
            n = task.n_examples
        except DataError as exc:
            bad += len(exc.problems)
            print(f"{task.name}: {len(exc.problems)} bad row(s) in {exc.source}:")
            for problem in exc.problems:
                print(f"  {problem}")
            continue
        print(f"{task.name}: {n} examples OK ({task.dataset.path if task.dataset else ''})")
    return 1 if bad else 0


def main(argv: Sequence[str] | None = None, extra: Sequence[Subcommand] = ()) -> int:
    """The engine's command line (``rmeval.cli.main``, the console script, adds ``board``)."""
    args = build_parser(extra).parse_args(argv)
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
        "show": _cmd_show,
    }
    try:
        from rmeval.harness.plugins import included

        with included(getattr(args, "include", None) or []):
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
    except BrokenPipeError:  # `rmeval compare ... | head`: the reader left, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
