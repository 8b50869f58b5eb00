"""Tasks run by a generating judge (a model with ``scalar_scores = False``).

A task lists :class:`JudgedTask` before its base class and names its ``judge_protocol``; with a
scalar reward model nothing changes, with a generating judge ``run`` asks the judge instead:

- ``pointwise`` (master-keys): a YES/NO verdict per candidate becomes its score, 1.0 or 0.0
  (NaN when unparseable: the example is invalid and counted); the task's own ``evaluate`` runs
  on those scores.
- ``pairwise`` (pairwise, core-pairwise, rewardbench): per (chosen, rejected) pair, one order
  drawn from ``--seed``: the chosen response is shown second (as B) when
  ``random.Random(f"rmeval-judge:{seed}:{id}:{j}").random() < 0.5`` (``j`` the rejected
  response's index). Credit 1 when the judge names the chosen response, 0 for the rejected one,
  0.5 for a tie or an unparseable reply (RewardBench's generative rule); an example's credit is
  the mean over its pairs. ``both_orders=true`` runs both orders (credit: the mean of the two)
  and reports ``order_consistency`` (share of pairs whose two verdicts name the same response;
  a tie or an unparseable reply is inconsistent). ``position_bias`` is the share of ``A`` among
  the A/B verdicts.
- ``choice`` (rewardbench2, core-bon, best-of-n): the single chosen response is placed at
  position ``random.Random(f"rmeval-judge:{seed}:{id}").randrange(n)`` among the n (the rejected
  ones keep their data order in the other slots); credit 1 when the judge names it, else 0 (an
  unparseable reply gets 0 and is counted). RewardBench 2's Ties subset is always rated instead
  (1-10 per response, then the task's Ties formula); ``ratings=true`` rates every subset (then
  the task's own best-of-n credit applies to the ratings; an unparseable rating is NaN).

Each sample line gets ``judge``: the protocol and every call (order shown, generation,
verdict); ``counts.unparseable`` counts the replies the grammar could not read.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Sequence
from typing import Any

from rmeval.harness.adapters.base import parse_bool
from rmeval.harness.errors import DataError, RmevalError
from rmeval.harness.metrics import mean_ci
from rmeval.harness.records import Aggregate, Example, ExampleResult, Score, ScoreRequest
from rmeval.harness.result_columns import ResultColumns
from rmeval.harness.task import RunContext

TIE = "tie"


def chosen_second(seed: int, example_id: str, j: int) -> bool:
    """Whether pair ``j`` of an example shows the chosen response second (as B)."""
    return random.Random(f"rmeval-judge:{seed}:{example_id}:{j}").random() < 0.5


def correct_position(seed: int, example_id: str, n: int) -> int:
    """Where the chosen response goes among ``n`` shown responses."""
    return random.Random(f"rmeval-judge:{seed}:{example_id}").randrange(n)


def pair_credit(verdict: str | None, chosen_label: str) -> float:
    """1 for the chosen response's label, 0.5 for a tie or no verdict, else 0."""
    if verdict is None or verdict == TIE:
        return 0.5
    return 1.0 if verdict == chosen_label else 0.0


class JudgedTask:
    """Mixin: run by a generating judge through the task's ``judge_protocol``."""

    judge_protocol: Any = None
    rated_subsets: tuple[str, ...] = ()
    """Subsets a ``choice`` task always has rated (RewardBench 2's Ties)."""

    def __init__(self, *args: Any, both_orders: Any = False, ratings: Any = False, **kwargs: Any):
        both = parse_bool(both_orders, "--task-args both_orders")
        rated = parse_bool(ratings, "--task-args ratings")
        self.both_orders = both and self.judge_protocol == "pairwise"
        self.ratings = rated and self.judge_protocol == "choice"
        given = {"both_orders": True} if self.both_orders else {}
        given |= {"ratings": True} if self.ratings else {}
        super().__init__(*args, **kwargs, **given)

    def check_model(self, model: Any) -> None:
        """Also refuse judge-only options given to a scalar reward model."""
        super().check_model(model)  # type: ignore[misc]
        if model.scalar_scores and (self.both_orders or self.ratings):
            flag = "both_orders" if self.both_orders else "ratings"
            raise RmevalError(
                f"--task-args {flag}=true applies to a generating judge (gen-judge:MODEL), not "
                f"to {model.spec}; drop it."
            )

    def run(self, ctx: RunContext) -> list[ExampleResult]:
        if getattr(ctx.model, "scalar_scores", True):  # model None: scores given directly
            return super().run(ctx)  # type: ignore[misc]
        if self.judge_protocol == "pointwise":
            return self._run_pointwise(ctx)
        if self.judge_protocol == "pairwise":
            return self._run_pairwise(ctx)
        return self._run_choice(ctx)

    # -- pointwise ------------------------------------------------------------------------
    def _run_pointwise(self, ctx: RunContext) -> list[ExampleResult]:
        from rmeval.harness.scoring import unique_requests

        reqs = unique_requests(self.all_requests())  # type: ignore[attr-defined]
        verdicts = ctx.model.judge_points(reqs, ctx.cache, ctx.cache_only)
        by_key = {r.key: v for r, v in zip(reqs, verdicts)}
        value = {"YES": 1.0, "NO": 0.0}
        scores = {k: Score(value.get(v.verdict or "", math.nan)) for k, v in by_key.items()}
        results = super().run(dataclasses.replace(ctx, scores=scores))  # type: ignore[misc]
        for res in results:
            calls = [by_key[k].to_dict() for k in res.text_hashes]
            res.extra["judge"] = {"protocol": "pointwise", "calls": calls}
            res.truncated = res.truncated or any(c["truncated"] for c in calls)
        return results

    # -- pairwise -------------------------------------------------------------------------
    def _run_pairwise(self, ctx: RunContext) -> list[ExampleResult]:
        examples = self.examples()  # type: ignore[attr-defined]
        plan: list[tuple[int, int, bool]] = []  # (example, rejected index, chosen second)
        items: list[tuple[ScoreRequest, str, str]] = []
        for i, ex in enumerate(examples):
            request = ScoreRequest(ex.prompt, "", ex.reference, ex.context)
            chosen = ex.candidates[0]
            for j, rejected in enumerate(ex.candidates[ex.n_chosen :]):
                drawn = chosen_second(ctx.seed, ex.id, j)
                for second in (drawn, not drawn) if self.both_orders else (drawn,):
                    plan.append((i, j, second))
                    items.append(
                        (request, rejected, chosen) if second else (request, chosen, rejected)
                    )
        verdicts = ctx.model.judge_pairs(items, ctx.cache, ctx.cache_only)
        calls: list[list[dict[str, Any]]] = [[] for _ in examples]
        for (i, j, second), v in zip(plan, verdicts):
            chosen_label = "B" if second else "A"
            credit = pair_credit(v.verdict, chosen_label)
            calls[i].append(
                {"pair": j, "chosen_shown_as": chosen_label, **v.to_dict(), "credit": credit}
            )
        return [_pair_result(ex, c, self.both_orders) for ex, c in zip(examples, calls)]

    # -- choice / ratings -----------------------------------------------------------------
    def _run_choice(self, ctx: RunContext) -> list[ExampleResult]:
        examples = self.examples()  # type: ignore[attr-defined]
        rated = [ex for ex in examples if self.ratings or ex.subset in self.rated_subsets]
        chosen = [ex for ex in examples if not (self.ratings or ex.subset in self.rated_subsets)]
        out = {r.id: r for r in self._rated(rated, ctx)}
        out |= {r.id: r for r in self._chosen(chosen, ctx)}
        return [out[ex.id] for ex in examples]

    def _chosen(self, examples: Sequence[Example], ctx: RunContext) -> list[ExampleResult]:
        bad = [
            f"row {ex.id}: a judge's choice needs exactly one chosen response, not {ex.n_chosen}"
            for ex in examples
            if ex.n_chosen != 1
        ] + [
            f"row {ex.id}: a judge chooses among at most 26 responses, not {len(ex.candidates)}"
            for ex in examples
            if len(ex.candidates) > 26
        ]
        if bad:
            raise DataError(getattr(self, "data", None) or getattr(self, "name", "task"), bad)
        items, positions = [], []
        for ex in examples:
            pos = correct_position(ctx.seed, ex.id, len(ex.candidates))
            shown = list(ex.candidates[1:])
            shown.insert(pos, ex.candidates[0])
            items.append((ScoreRequest(ex.prompt, "", ex.reference, ex.context), shown))
            positions.append(pos)
        verdicts = ctx.model.judge_choices(items, ctx.cache, ctx.cache_only)
        return [_choice_result(ex, pos, v) for ex, pos, v in zip(examples, positions, verdicts)]

    def _rated(self, examples: Sequence[Example], ctx: RunContext) -> list[ExampleResult]:
        reqs = [
            ScoreRequest(ex.prompt, c, ex.reference, ex.context)
            for ex in examples
            for c in ex.candidates
        ]
        verdicts = iter(ctx.model.rate(reqs, ctx.cache, ctx.cache_only))
        results = []
        for ex in examples:
            mine = [next(verdicts) for _ in ex.candidates]
            values = [math.nan if v.verdict is None else float(v.verdict) for v in mine]
            res = self.evaluate(ex, [Score(x) for x in values])  # type: ignore[attr-defined]
            res.extra["judge"] = {"protocol": "rating", "calls": [v.to_dict() for v in mine]}
            res.truncated = any(v.truncated for v in mine)
            results.append(res)
        return results

    # -- aggregate ------------------------------------------------------------------------
    def aggregate(
        self, results: Sequence[ExampleResult] | ResultColumns, seed: int = 0
    ) -> Aggregate:
        """The task's aggregate, plus ``counts.unparseable`` and, for pairwise verdicts,
        ``position_bias`` and (both orders) ``order_consistency``."""
        return add_judge_metrics(super().aggregate(results, seed), results, seed)  # type: ignore[misc]


def add_judge_metrics(
    agg: Aggregate, results: Sequence[ExampleResult] | ResultColumns, seed: int = 0
) -> Aggregate:
    """``agg`` plus the judge's numbers when ``results`` come from a generating judge (tasks
    with their own ``aggregate`` call this at its end); a streamed run's columns never do."""
    if isinstance(results, ResultColumns):
        return agg
    judged = [r.extra["judge"] for r in results if "judge" in r.extra]
    if judged:
        calls = [c for j in judged for c in j["calls"]]
        agg.counts["unparseable"] = sum(c["verdict"] is None for c in calls)
        pairs = [c for j in judged if j["protocol"] == "pairwise" for c in j["calls"]]
        if pairs:
            shown = [float(c["verdict"] == "A") for c in pairs if c["verdict"] in ("A", "B")]
            agg.metrics["position_bias"] = mean_ci(shown, seed=seed)
        consistent = [float(x) for j in judged for x in j.get("consistent", [])]
        if consistent:
            agg.metrics["order_consistency"] = mean_ci(consistent, seed=seed)
    return agg


def _pair_result(ex: Example, calls: list[dict[str, Any]], both: bool) -> ExampleResult:
    """One example's result from its pair verdicts (credit = mean over its pairs)."""
    by_pair: dict[int, list[dict[str, Any]]] = {}
    for c in calls:
        by_pair.setdefault(c["pair"], []).append(c)
    credits = [sum(c["credit"] for c in cs) / len(cs) for cs in by_pair.values()]
    credit = sum(credits) / len(credits)
    judge: dict[str, Any] = {"protocol": "pairwise", "calls": calls}
    if both:
        judge["consistent"] = [
            len(cs) == 2
            and {cs[0]["credit"], cs[1]["credit"]} <= {0.0, 1.0}
            and cs[0]["credit"] == cs[1]["credit"]
            for cs in by_pair.values()
        ]
    scores = [credit] + [1.0 - x for x in credits]
    tie = any(c["verdict"] == TIE for c in calls)
    cut = any(c["truncated"] for c in calls)
    return ExampleResult(
        ex.id,
        ex.subset,
        scores,
        credit,
        tie=tie,
        truncated=cut,
        extra=dict(ex.meta) | {"judge": judge},
    )


def _choice_result(ex: Example, pos: int, verdict: Any) -> ExampleResult:
    """One best-of-n example: credit 1 when the judge names the chosen response's slot."""
    labels = [chr(ord("A") + k) for k in range(len(ex.candidates))]
    picked = labels.index(verdict.verdict) if verdict.verdict is not None else None
    # scores in data order (chosen first): 1 for the response the judge picked
    order = list(range(1, len(ex.candidates)))
    order.insert(pos, 0)  # shown slot -> data index
    scores = [0.0] * len(ex.candidates)
    if picked is not None:
        scores[order[picked]] = 1.0
    call = {"chosen_shown_as": labels[pos], **verdict.to_dict()}
    extra = dict(ex.meta) | {
        "num_correct": ex.n_chosen,
        "judge": {"protocol": "choice", "calls": [call]},
    }
    credit = float(picked == pos)
    return ExampleResult(ex.id, ex.subset, scores, credit, truncated=verdict.truncated, extra=extra)
