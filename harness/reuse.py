"""Reuse of finished results: a rerun whose inputs are all unchanged reports the result file
it wrote before instead of evaluating again (``--recompute`` evaluates anyway).

A result file records ``inputs``: the sha256 (over canonical JSON) of everything that decides
its numbers (see :func:`task_inputs`). ``rmeval run`` reuses a complete, verified result of the
same identity whose ``inputs`` equal this run's, without reading its data beyond the bytes'
hash. Anything that cannot be hashed (a hub dataset, a callable model, a plugin whose source
file is unknown, a setting that is not JSON) gives no digest: that pair is always evaluated.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import platform
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from rmeval.harness.adapters.base import RewardModel
from rmeval.harness.data import is_local_data
from rmeval.harness.distributed import launch_env
from rmeval.harness.errors import RmevalError
from rmeval.harness.local_data import _local_files
from rmeval.harness.records import canonical_json, sha256_text
from rmeval.harness.result import ENVIRONMENT_PACKAGES, HARNESS_VERSION, Result, package_version
from rmeval.harness.results import (
    file_sha256,
    read_result,
    task_file_stem,
)
from rmeval.harness.task import Task

log = logging.getLogger("rmeval")

REUSED_NOTE = " (up to date: reused; --recompute to evaluate again)"
"""Appended to a reused result's line in the run summary."""
PACKAGES = ("rmeval", "numpy", *ENVIRONMENT_PACKAGES)
"""Distributions whose versions are part of the inputs (their code computes the numbers)."""
SUBPACKAGES = ("rmeval", "rmeval.harness", "rmeval.tasks", "rmeval.probes", "rmeval.leaderboard")
"""The folders of the installed ``rmeval`` package (an editable install maps each apart)."""

STANDARD_LOADERS = ("rmeval.harness.task", "rmeval.tasks.preference")
"""Modules whose ``load_rows`` read ``--data`` through ``load_rows`` (a folder: the split's
files that ``local_data`` picks)."""

FileStat = tuple[str, int, int, int]
"""(path, size, mtime_ns, inode) of a data file when it was hashed."""


@dataclass(frozen=True)
class Inputs:
    """What decides one (model, task) result's numbers, as a digest (None: not hashable)."""

    sha256: str | None
    reason: str | None = None
    """Why there is no digest (None when there is one)."""
    files: tuple[FileStat, ...] = ()
    """The data files hashed, to tell whether one changed before the result was written."""

    def unchanged(self) -> bool:
        """Whether every hashed data file still has the size, mtime and inode it was hashed at."""
        return all(_stat(path) == (path, *rest) for path, *rest in self.files)


def _stat(path: str) -> FileStat | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (path, st.st_size, st.st_mtime_ns, st.st_ino)


# -- code -------------------------------------------------------------------------------------
@cache
def _package_roots() -> tuple[Path, ...]:
    roots: list[Path] = []
    for name in SUBPACKAGES:
        spec = importlib.util.find_spec(name)
        locations = (spec.submodule_search_locations or []) if spec else []
        roots.extend(Path(p).resolve() for p in locations)
    return tuple(roots)


def _package_files() -> dict[Path, str]:
    """Every file of the installed package (no caches, no hidden files), by its name there."""
    files: dict[Path, str] = {}
    for root in _package_roots():
        for dirpath, dirnames, names in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and d[0] != ".")
            for name in names:
                path = Path(dirpath, name)
                if name[0] != "." and not name.endswith((".pyc", ".pyo")):
                    files.setdefault(path, f"{root.name}/{path.relative_to(root)}")
    return files


@cache
def code_sha256() -> str:
    """sha256 of every source and data file of the installed ``rmeval`` (once per process)."""
    digest = hashlib.sha256()
    for path, name in sorted(_package_files().items(), key=lambda kv: kv[1]):
        digest.update(f"{name}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def _inside_package(path: Path) -> bool:
    return any(path.is_relative_to(root) for root in _package_roots())


def _class_file(cls: type) -> Path | None:
    """The source file of ``cls`` (also for a module not in ``sys.modules``, e.g. --include)."""
    module = sys.modules.get(cls.__module__)
    file = getattr(module, "__file__", None)
    if file is None:
        codes = [getattr(v, "__code__", None) for v in vars(cls).values()]
        file = next((c.co_filename for c in codes if c is not None), None)
    return None if file is None else Path(file).resolve()


def plugin_sources(objects: Sequence[Any]) -> list[dict[str, str]] | None:
    """``{path, sha256}`` of the source files of the objects' Task/RewardModel classes that live
    outside the package (plugins); None when one of them has no readable source file."""
    out: dict[str, str] = {}
    for obj in objects:
        for cls in type(obj).__mro__:
            if not issubclass(cls, Task | RewardModel):
                continue
            path = _class_file(cls)
            if path is None or not path.is_file():
                return None
            if not _inside_package(path):
                out[str(path)] = file_sha256(path)
    return [{"path": p, "sha256": s} for p, s in sorted(out.items())]


# -- data -------------------------------------------------------------------------------------
class NoDigest(Exception):
    """Raised while hashing inputs that cannot be hashed; the message says why."""


def _hashed(files: Sequence[Path]) -> list[tuple[FileStat, str]]:
    out = []
    for file in files:
        stat = _stat(str(file.resolve()))
        if stat is None:
            raise NoDigest(f"{file} cannot be read")
        out.append((stat, file_sha256(file)))
    return out


def _every_file(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file())


def _param_paths(value: Any) -> Iterator[Path]:
    """Existing local paths named anywhere in a task parameter (e.g. a keys or prior file)."""
    if isinstance(value, str) and is_local_data(value) and Path(value).expanduser().exists():
        yield Path(value).expanduser()
    elif isinstance(value, dict):
        for v in value.values():
            yield from _param_paths(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _param_paths(v)


def _hub_source(task: Task) -> str | None:
    """A hub dataset the task reads (its data, RewardBench's prior sets, a dev set), if any."""
    sources = [task.data]
    if getattr(task, "prior_sets", False):
        sources.append(getattr(task, "prior_data", None))
    if getattr(task, "dev", None) is not None:
        sources.append(task.dev)
    return next((s for s in sources if isinstance(s, str) and not is_local_data(s)), None)


def _main_files(task: Task, path: Path) -> list[Path]:
    """The files of ``--data``: those the standard loader picks for the split; every file under
    a folder when the task reads it its own way (it may read subfolders)."""
    if getattr(type(task).load_rows, "__module__", None) in STANDARD_LOADERS or path.is_file():
        return _local_files(path, task.split)
    return _every_file(path)


def data_inputs(task: Task) -> dict[str, Any]:
    """The data part of the inputs: every local file the task reads, by path and bytes' sha256
    (a folder: the files picked for the split), with limit/split/revision; generated data adds
    nothing (the code hash covers it). Raises :class:`NoDigest` for a hub dataset."""
    hub = _hub_source(task)
    if hub is not None:
        raise NoDigest(f"it reads the hub dataset {hub}")
    files: list[Path] = []
    try:
        if task.data is not None:
            files.extend(_main_files(task, Path(task.data).expanduser()))
        dev_split = getattr(task, "dev_split", None)
        if dev_split is not None and task.data is not None and getattr(task, "dev", None) is None:
            files.extend(_local_files(Path(task.data).expanduser(), dev_split))
        for key, value in task.params.items():
            if key != "data":
                files.extend(p for path in _param_paths(value) for p in _every_file(path))
    except (OSError, RmevalError) as exc:
        raise NoDigest(f"its data cannot be listed ({exc})") from exc
    hashed = _hashed(list(dict.fromkeys(files)))
    return {
        "builtin": task.data is None,
        "split": task.split,
        "limit": task.limit,
        "revision": task.revision,
        "files": [{"path": st[0], "sha256": sha} for st, sha in hashed],
        "_stats": [st for st, _ in hashed],
    }


# -- one (model, task) ------------------------------------------------------------------------
def task_inputs(
    model: RewardModel,
    task: Task,
    seed: int,
    log_texts: bool,
    data: dict[str, Any] | NoDigest | None = None,
) -> Inputs:
    """The inputs digest of ``task`` on ``model``: model fingerprint and arguments; task name,
    version and params; seed; ``--log-texts``; rmeval's version, code hash and the versions of
    the packages that compute; plugin source files; the data (:func:`data_inputs`, or ``data``
    when already hashed for this task)."""
    from rmeval.harness.adapters.memory import CallableRewardModel

    if isinstance(model, CallableRewardModel):
        return Inputs(None, "a callable model has no identity beyond its name")
    try:
        data = data_inputs(task) if data is None else data
        if isinstance(data, NoDigest):
            raise data
        plugins = plugin_sources([task, model])
        if plugins is None:
            raise NoDigest("a plugin class has no readable source file")
        stats = tuple(data["_stats"])
        record = {
            "harness": {"version": HARNESS_VERSION, "code_sha256": code_sha256()},
            "packages": {name: package_version(name) for name in PACKAGES},
            "python": platform.python_version(),
            "plugins": plugins,
            "model": {"fingerprint": model.fingerprint(), "args": model.args},
            "task": {"name": task.name, "version": task.version, "params": task.params},
            "seed": seed,
            "log_texts": log_texts,
            "data": {k: v for k, v in data.items() if k != "_stats"},
        }
        return Inputs(sha256_text(canonical_json(record)), files=stats)
    except NoDigest as exc:
        return Inputs(None, str(exc))
    except (TypeError, ValueError) as exc:  # a setting that is not JSON cannot be compared
        return Inputs(None, f"a setting cannot be hashed ({exc})")


def reusable(path: Path, model: RewardModel, task: Task, inputs: Inputs) -> Result | None:
    """The result at ``path`` when it is complete, verifies (samples sha256), has the same
    identity and the same inputs digest; else None (why, in a log line, when it had one)."""
    if inputs.sha256 is None or not path.is_file():
        return None
    try:
        result = read_result(path)  # also checks the samples file's sha256
    except RmevalError as exc:
        log.info(f"rmeval: not reusing {path}: {exc}")
        return None
    same = (
        result.inputs == inputs.sha256
        and result.identity.get("model_fingerprint") == model.fingerprint()
        and result.identity.get("task") == task.name
    )
    if not same:
        if result.inputs is not None:
            log.info(f"rmeval: {path}: its inputs differ from this run's; evaluating again.")
        return None
    return replace(result, reused=True, path=path)


@dataclass
class ReusePlan:
    """Per (model, task): this run's inputs digest and, where a result can be reused, it."""

    inputs: dict[tuple[int, str], Inputs] = field(default_factory=dict)
    reused: dict[tuple[int, str], Result] = field(default_factory=dict)

    def results(self, model: RewardModel, tasks: Sequence[Task]) -> list[Result]:
        """The reused results of ``model`` among ``tasks`` (in task order)."""
        return [self.reused[k] for t in tasks if (k := (id(model), t.name)) in self.reused]

    def runs(self, model: RewardModel, task: Task) -> bool:
        """Whether (model, task) is evaluated (not reused)."""
        return (id(model), task.name) not in self.reused

    def to_run(self, models: Sequence[RewardModel], tasks: Sequence[Task]) -> list[Task]:
        """The tasks that at least one model evaluates (their data must be validated)."""
        return [t for t in tasks if any(self.runs(m, t) for m in models)]

    def digest(self, model: RewardModel, task_name: str) -> str | None:
        """The inputs digest ``model``'s result of ``task_name`` records as it is written; None
        without one, or when a data file changed since it was hashed (the result is then
        evaluated again next time)."""
        inputs = self.inputs.get((id(model), task_name))
        if inputs is None or inputs.sha256 is None:
            return None
        if not inputs.unchanged():
            log.warning(
                f"rmeval: a data file of {task_name} changed during the run; its result is not "
                f"marked reusable."
            )
            return None
        return inputs.sha256


def _data_or_reason(task: Task) -> dict[str, Any] | NoDigest:
    try:
        return data_inputs(task)
    except NoDigest as exc:
        return exc


def may_reuse(opts: Any) -> bool:
    """Whether this run may reuse results: it writes files (``--output-dir``), it is
    ``rmeval run`` without ``--recompute``, and one process (under a launcher every rank
    validates its data before the ranks form a group, as before)."""
    return (
        opts.output_dir is not None
        and not opts.recompute
        and not opts.cache_only
        and launch_env()[1] == 1
    )


def plan_reuse(
    models: Sequence[RewardModel],
    tasks: Sequence[Task],
    opts: Any,
    folder_of: Callable[[RewardModel], Path],
) -> ReusePlan:
    """Each (model, task)'s inputs digest (when the run writes files) and the results in
    ``folder_of(model)`` that can be reused (when :func:`may_reuse`); data is not read beyond
    its bytes' hash."""
    plan = ReusePlan()
    if opts.output_dir is None:
        return plan
    reuse, told = may_reuse(opts), set()
    data: dict[str, dict[str, Any] | NoDigest] = {}
    for model in models:
        folder = folder_of(model)
        for task in tasks:
            if task.incompatible(model) is not None:
                continue
            if task.name not in data:  # each task's files hashed once for all models
                data[task.name] = _data_or_reason(task)
            inputs = task_inputs(model, task, opts.seed, opts.log_texts, data[task.name])
            plan.inputs[(id(model), task.name)] = inputs
            if inputs.sha256 is None and reuse and task.name not in told:
                told.add(task.name)
                log.info(
                    f"rmeval: {task.name}: evaluated on every run (never reused): {inputs.reason}."
                )
            path = folder / f"{task_file_stem(task.name)}.json"
            found = reusable(path, model, task, inputs) if reuse else None
            if found is not None:
                plan.reused[(id(model), task.name)] = found
    return plan
