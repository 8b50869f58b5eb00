"""``rmeval show``: print exactly what a model receives for the first examples of tasks (the
strings, the token ids and where the reward is read), without scoring anything."""

from __future__ import annotations

from collections.abc import Iterator

from rmeval.harness.adapters.base import RewardModel
from rmeval.harness.runner import RunOptions, build_model, build_tasks
from rmeval.harness.task import Task

DEFAULT_LIMIT = 3
"""Examples per task shown when ``--limit`` is not given."""


def shown_blocks(model: RewardModel, tasks: list[Task]) -> Iterator[str]:
    """One block of lines per (task, example, candidate): a header, then the model's view."""
    for task in tasks:
        if not task.needs_scores:
            yield f"== {model.spec} | {task.name}: this task scores no texts (nothing to show)"
            continue
        for example in task.examples():
            requests = task.requests(example)
            for i, lines in enumerate(model.show(requests)):
                role = "chosen" if i < example.n_chosen else "rejected"
                head = (
                    f"== {model.spec} | {task.name} | example {example.id} | candidate {i} ({role})"
                )
                yield "\n".join([head, *lines])


def show(opts: RunOptions) -> int:
    """Build the models and tasks of ``opts`` as ``rmeval run`` does, then print what each
    model reads (the first ``DEFAULT_LIMIT`` examples of each task unless ``limit`` is set)."""
    if opts.limit is None:
        opts.limit = DEFAULT_LIMIT
    tasks = build_tasks(opts.tasks, opts)
    for spec in opts.models:
        others = [o for o in opts.models if o != spec]
        model = build_model(spec, opts.model_args, others)
        for block in shown_blocks(model, tasks):
            print(block)
    return 0
