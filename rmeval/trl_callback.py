"""A ``transformers.TrainerCallback`` that evaluates the reward model being trained with rmeval.

Every ``every_n_steps`` optimizer steps (and/or at each of the trainer's evaluations) it runs the
chosen tasks on the model in memory (:func:`rmeval.harness.api.evaluate`: no save to disk, scores
never reused across steps) and logs each task's main score as ``rmeval/<task>/<metric>``
through ``trainer.log``, so the values reach TensorBoard, W&B or whatever ``report_to`` names.
It lives outside the engine (``rmeval.harness`` imports no transformers at module level) and is
imported only when ``rmeval.RewardEvalCallback`` is first used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from transformers import TrainerCallback

from rmeval.harness.api import evaluate
from rmeval.harness.errors import RmevalError
from rmeval.harness.result import Result


class RewardEvalCallback(TrainerCallback):
    """Run rmeval ``tasks`` on the trained reward model and log their main scores.

    ``trainer`` is the Trainer to log through (as TRL's own callbacks take it); without it the
    scores are appended to ``state.log_history`` only. ``options`` are :func:`evaluate`'s
    (``data``, ``limit``, ``task_args``, ``batch_tokens``, ...)."""

    def __init__(
        self,
        tasks: str | Sequence[Any],
        trainer: Any = None,
        *,
        every_n_steps: int | None = None,
        on_evaluate: bool = False,
        prefix: str = "rmeval",
        **options: Any,
    ) -> None:
        if not every_n_steps and not on_evaluate:
            raise RmevalError(
                "RewardEvalCallback: give every_n_steps=N or on_evaluate=True (when to evaluate)."
            )
        if every_n_steps is not None and every_n_steps < 1:
            raise RmevalError(f"every_n_steps={every_n_steps}: use a positive integer.")
        self.tasks, self.trainer, self.options = tasks, trainer, options
        self.every_n_steps, self.evaluate_too, self.prefix = every_n_steps, on_evaluate, prefix
        self.history: list[tuple[int, list[Result]]] = []
        """``(global_step, results)`` of every evaluation this callback ran."""

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.every_n_steps and state.global_step % self.every_n_steps == 0:
            self._evaluate(state, kwargs)

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.evaluate_too:
            self._evaluate(state, kwargs)

    def _evaluate(self, state: Any, kwargs: dict[str, Any]) -> None:
        model = kwargs.get("model")
        tokenizer = kwargs.get("processing_class") or kwargs.get("tokenizer")
        if model is None or tokenizer is None:
            raise RmevalError(
                "RewardEvalCallback: the trainer passed no model or processing_class (tokenizer); "
                "give the Trainer processing_class=tokenizer."
            )
        results = evaluate(
            model, self.tasks, tokenizer=tokenizer, name=f"step-{state.global_step}", **self.options
        )
        self.history.append((state.global_step, results))
        self._log(state, self.metrics(results))

    def metrics(self, results: Sequence[Result]) -> dict[str, float]:
        """``{prefix/task/main_score: value}`` of the results that have a value."""
        return {
            f"{self.prefix}/{r.task_name}/{r.main_score}": r.main_value
            for r in results
            if r.main_value is not None
        }

    def _log(self, state: Any, metrics: dict[str, float]) -> None:
        if self.trainer is not None:
            self.trainer.log(metrics)  # -> state.log_history and every reporting callback
        else:
            state.log_history.append({**metrics, "step": state.global_step})
