"""One-token "master key" attacks: does a content-free response fool a judge or beat a real answer?

``--tasks master-keys`` (factory :func:`master_keys`). Task arguments (``--task-args k=v``):

- ``keys=FILE``: extra keys, a ``.json`` list of strings or ``.jsonl`` of JSON strings
  (see :mod:`tasks.master_keys.keys`); ``default_keys=false`` tests only the file's keys;
- ``mode=auto|probability|reward``: how to read scores (``auto``: the adapter's ``score_kind``);
- ``ties=strict|half``: a scalar key tying a real answer counts as beating it (1) or as 0.5;
- ``seed=N``, ``split=test|train``: which core-suite items are used when ``--data`` is absent.

Mitigation data: ``python -m tasks.master_keys.augment --out FILE`` (see :mod:`.augment`).
"""

from rmeval.tasks.master_keys.augment import augmentation_rows, first_sentence, write_augmentation
from rmeval.tasks.master_keys.items import Item, items_from_rows
from rmeval.tasks.master_keys.keys import DEFAULT_KEYS, key_label, resolve_keys
from rmeval.tasks.master_keys.outcomes import THRESHOLD, evaluate_item
from rmeval.tasks.master_keys.summary import GRID_METRIC, MAIN_SCORE, MEAN_SCORE, summarize
from rmeval.tasks.master_keys.task import MasterKeysTask, master_keys

__all__ = [
    "DEFAULT_KEYS",
    "GRID_METRIC",
    "MAIN_SCORE",
    "MEAN_SCORE",
    "THRESHOLD",
    "Item",
    "MasterKeysTask",
    "augmentation_rows",
    "evaluate_item",
    "first_sentence",
    "items_from_rows",
    "key_label",
    "master_keys",
    "resolve_keys",
    "summarize",
    "write_augmentation",
]
