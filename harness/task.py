"""The task contract: a benchmark declares its data, yields examples and scores them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rmeval.harness.data import DatasetInfo, RowSource, open_rows
from rmeval.harness.errors import RmevalError
from rmeval.harness.metrics import aggregate_credits
from rmeval.harness.records import Aggregate, Example, ExampleResult, Score, ScoreRequest
from rmeval.harness.result_columns import ResultColumns
from rmeval.harness.steps import check_step_capability

if TYPE_CHECKING:
    from rmeval.harness.adapters.base import RewardModel
    from rmeval.harness.row_check import RowCheck
    from rmeval.harness.streamed import StreamedData


@dataclass
class RunContext:
    """What a task may use while it evaluates: cached scores and, lazily, the model."""

    scores: Mapping[str, Score]
    """Scores of every request the task declared, by request key."""
    model: RewardModel
    """The adapter (for capabilities beyond scalar scores, e.g. hidden states)."""
    cache: Any = None
    """The score cache (for tasks that cache other model outputs, e.g. features)."""
    seed: int = 0
    cache_only: bool = False
    """True for ``rmeval score``: a task asking the model itself must use cached outputs only."""
    progress: bool | str = False
    """How long steps show progress: a bar (True), log lines (``log``) or not at all."""


class Task(ABC):
    """A benchmark. Subclasses set the class attributes and implement ``build_examples``.

    The constructor arguments are the configuration: they are stored in ``params`` and written
    verbatim into the result file.
    """

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    main_score: ClassVar[str] = "accuracy"
    higher_is_better: ClassVar[bool] = True
    default_data: ClassVar[str | None] = None
    """Hub dataset id (or None for data generated in code)."""
    default_revision: ClassVar[str | None] = None
    default_split: ClassVar[str | None] = "test"
    needs_scores: ClassVar[bool] = True
    """False for tasks that use another model capability only (e.g. hidden states)."""
    allow_empty_responses: ClassVar[bool] = False
    uses_step_scores: bool = False
    """True for tasks whose requests carry steps and that read ``Score.steps`` (a process
    reward model's scores); the runner refuses a model of the other kind before scoring."""
    judge_protocol: ClassVar[str | None] = None
    """How a model without scalar scores (a generating judge) runs this task: ``pointwise``,
    ``pairwise`` or ``choice`` (``rmeval.tasks.judged``); None: scalar scores only."""
    score_kinds: ClassVar[tuple[str, ...]] = ("reward", "probability")
    """The ``RewardModel.score_kind`` values whose scores this task can read (a task whose
    formula needs unbounded scalar rewards declares ``("reward",)``)."""
    streams: bool = False
    """True for tasks that may be read, scored and evaluated chunk by chunk in bounded memory
    (:mod:`rmeval.harness.streamed`): their examples are built row by row
    (:meth:`build_example_chunk`), evaluated one by one from their own scores (the default
    :meth:`run`), and :meth:`aggregate` reads only what :class:`ResultColumns` keeps."""
    kept_extras: ClassVar[tuple[str, ...]] = ()
    """The ``ExampleResult.extra`` keys a streamed run keeps for :meth:`aggregate`."""
    samples_view: ClassVar[dict[str, Any] | None] = None
    """How readers rank this task's sample lines as mistakes (the leaderboard's hardest
    examples), written into the result's ``task`` block: ``{"wrong": "credit<1" | "credit>0" |
    "margin>=0", "margin": "best_rejected_minus_worst_chosen" | "best_key_minus_wrong" |
    "best_key_minus_threshold" | "predicted_minus_label", "candidates": "chosen/rejected" |
    "correct/wrong/keys" | "class probabilities", "n_chosen": int or a line's field name,
    "threshold": number}``; None when no line can be called wrong (no panel is shown)."""

    def __init__(
        self,
        data: str | None = None,
        revision: str | None = None,
        split: str | None = None,
        limit: int | None = None,
        **options: Any,
    ) -> None:
        self.data = data or self.default_data
        self.revision = (
            revision if revision is not None else (self.default_revision if data is None else None)
        )
        self.split = split or self.default_split
        self.limit = limit
        self.options = options
        self.params: dict[str, Any] = {
            k: v
            for k, v in {"data": data, "revision": revision, "split": split, "limit": limit}.items()
            if v is not None
        } | options
        self._examples: list[Example] | None = None
        self._requests: list[list[ScoreRequest]] | None = None
        self.dataset: DatasetInfo | None = None
        self.stream: StreamedData | None = None
        """Set by :meth:`prepare` when the data were checked chunk by chunk, not loaded."""

    # -- data -------------------------------------------------------------------------
    def load_rows(self) -> tuple[list[dict[str, Any]], DatasetInfo]:
        """Raw rows and their provenance; generated tasks override this."""
        return self.row_source().load()

    def row_source(self) -> RowSource:
        """The rows of ``data`` as a source that can be read again lazily (see ``open_rows``)."""
        if self.data is None:
            raise RmevalError(
                f"task '{self.name}' has no built-in data: pass --data {self.name}=PATH_OR_HUB_ID."
            )
        return open_rows(self.data, revision=self.revision, split=self.split, limit=self.limit)

    @abstractmethod
    def build_examples(self, rows: list[dict[str, Any]]) -> list[Example]:
        """Turn rows into examples; raise ``DataError`` listing every bad row by id."""

    def build_example_chunk(
        self, rows: list[dict[str, Any]], check: RowCheck | None
    ) -> list[Example]:
        """The examples of consecutive rows of the data (tasks with ``streams``): rows are
        numbered and duplicate ids found across chunks by ``check``, which collects the
        problems instead of raising (``check.rows == 0``: the first chunk)."""
        raise NotImplementedError

    def examples(self) -> list[Example]:
        """Load, validate and convert the rows once; later calls reuse them."""
        if self._examples is None:
            rows, self.dataset = self.load_rows()
            self._examples = self.build_examples(rows)
        return self._examples

    def _streams_as_declared(self) -> bool:
        """Whether this class reads, runs and aggregates as the class that declared
        ``streams`` does: a subclass overriding any of those (its own rows, examples, ``run``
        or ``aggregate``) is evaluated in memory, through its own methods."""
        owner = next((c for c in type(self).__mro__ if "streams" in vars(c)), Task)
        own = ("load_rows", "build_examples", "run", "aggregate")
        return owner is not Task and all(getattr(type(self), n) is getattr(owner, n) for n in own)

    def keep_examples(self, examples: list[Example]) -> None:
        """Keep examples built from the data already checked (``dataset`` is set)."""
        self._examples = examples

    @property
    def n_examples(self) -> int:
        """How many examples the data gave (after :meth:`prepare`, without loading them)."""
        return self.stream.examples if self.stream is not None else len(self.examples())

    def prepare(self) -> None:
        """Validate the data once, before any model loads. A task with ``streams`` reads a
        lazy source (JSON Lines, a hub dataset) chunk by chunk and keeps only its provenance
        and size (``stream``); any other task loads its examples."""
        if self.stream is not None or self._examples is not None:
            return
        if self.streams and self._streams_as_declared():
            from rmeval.harness.streamed import check_rows

            self.stream = check_rows(self)
            if self.stream is not None:
                return
        self.examples()

    def incompatible(self, model: RewardModel) -> str | None:
        """Why this task cannot run on ``model`` (None when it can): a task that needs
        hidden states on a model without them, or scores of a kind the task cannot read.
        A sweep skips such a pair and reports it."""
        from rmeval.harness.adapters.base import RewardModel

        if not self.needs_scores and type(model).hidden_states is RewardModel.hidden_states:
            return f"model type '{model.type_name}' has no hidden states (probe tasks need one)"
        if not model.scalar_scores and self.judge_protocol is None:
            return f"it needs scalar rewards and model {model.spec} only writes verdicts"
        kind = getattr(model, "score_kind", "reward")
        if self.needs_scores and kind not in self.score_kinds:
            return (
                f"it needs {' or '.join(self.score_kinds)} scores and model type "
                f"'{model.type_name}' gives {kind} scores"
            )
        return None

    # -- scoring ----------------------------------------------------------------------
    def check_model(self, model: RewardModel) -> None:
        """Refuse, in one sentence, a model that cannot run this task."""
        if not model.scalar_scores and self.judge_protocol is None:
            raise RmevalError(
                f"task '{self.name}' needs scalar rewards, but model {model.spec} only writes "
                f"verdicts; run it with a reward model, or give this judge a task it can run "
                f"(master-keys, pairwise, core-pairwise, core-bon, best-of-n, rewardbench, "
                f"rewardbench2)."
            )
        check_step_capability(model, self)

    def requests(self, example: Example) -> list[ScoreRequest]:
        """Texts to score for one example, one per candidate in data order."""
        return [
            ScoreRequest(example.prompt, c, example.reference, example.context)
            for c in example.candidates
        ]

    def example_requests(self) -> list[list[ScoreRequest]]:
        """``requests(example)`` of every example, built once and kept: each request hashes its
        key once, and the scoring loop, ``run`` and the result files share that key."""
        if getattr(self, "_requests", None) is None:
            self._requests = [self.requests(ex) for ex in self.examples()]
        return self._requests

    def all_requests(self) -> list[ScoreRequest]:
        """Every request of every example (duplicates included)."""
        if not self.needs_scores:
            return []
        return [r for reqs in self.example_requests() for r in reqs]

    def run(self, ctx: RunContext) -> list[ExampleResult]:
        """Evaluate every example from its scores (tasks with other needs override this)."""
        pairs = zip(self.examples(), self.example_requests(), strict=True)
        return [self.result_of(ex, reqs, ctx.scores) for ex, reqs in pairs]

    def result_of(
        self, example: Example, requests: Sequence[ScoreRequest], scores: Mapping[str, Score]
    ) -> ExampleResult:
        """One example's result from the scores of its requests (by key), with their keys and
        whether any was truncated."""
        own = [scores[r.key] for r in requests]
        res = self.evaluate(example, own)
        res.text_hashes = [r.key for r in requests]
        res.truncated = res.truncated or any(s.truncated for s in own)
        return res

    def evaluate(self, example: Example, scores: Sequence[Score]) -> ExampleResult:
        """One example's result from its candidates' scores (pure)."""
        raise NotImplementedError

    def aggregate(
        self, results: Sequence[ExampleResult] | ResultColumns, seed: int = 0
    ) -> Aggregate:
        """Metrics over all examples; default: mean credit as ``main_score``."""
        return aggregate_credits(results, metric=self.main_score, seed=seed)

    def scorer(self, results: Sequence[ExampleResult]) -> Any | None:
        """The task's own formula on resampled items, for ``rmeval compare``'s paired CIs: an
        object with ``units``, ``n_units``, ``point()`` and ``resampled(idx)`` (e.g.
        :class:`rmeval.harness.paired_stats.ItemScorer`). None (the default): the main score is
        the mean credit, and compare resamples the credits."""
        return None

    @classmethod
    def distance(cls, scores: Mapping[str, Mapping[str, Sequence[float]]]) -> dict[str, Any]:
        """Distances between models' rewards on shared items, for ``rmeval compare --distance
        NAME`` (NAME is the task that provides them); ``scores[model][item id]`` lists the
        item's candidate scores. A task without a distance refuses."""
        raise RmevalError(f"task '{cls.name}' has no distance for `rmeval compare --distance`.")

    def describe(self) -> dict[str, Any]:
        """The ``task`` block of a result file."""
        return {
            "name": self.name,
            "version": self.version,
            "params": self.params,
            "dataset": self.dataset.to_dict() if self.dataset else None,
            "main_score": self.main_score,
            "higher_is_better": self.higher_is_better,
            "samples_view": self.describe_samples(),
        }

    def describe_samples(self) -> dict[str, Any] | None:
        """The ``samples_view`` of this run (tasks whose lines depend on a mode override it)."""
        return self.samples_view
