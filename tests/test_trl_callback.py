"""The TRL callback: a few steps of ``trl.RewardTrainer`` on a tiny Llama classifier log the
main scores of rmeval tasks through the trainer's logging."""

import pytest
import trl  # the `test` extra installs it
from rmeval.harness.errors import RmevalError

from tests.test_cli import write_prefs


def test_callback_logs_main_scores_during_reward_training(tmp_path, tiny_llama_rm):
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from rmeval import RewardEvalCallback

    model = AutoModelForSequenceClassification.from_pretrained(tiny_llama_rm)
    tok = AutoTokenizer.from_pretrained(tiny_llama_rm)
    pairs = Dataset.from_dict(
        {
            "chosen": [f"User: q{i}\n\nAssistant: a helpful honest answer {i}" for i in range(8)],
            "rejected": [f"User: q{i}\n\nAssistant: rude {i}" for i in range(8)],
        }
    )
    config = trl.RewardConfig(
        output_dir=str(tmp_path / "train"),
        max_steps=4,
        per_device_train_batch_size=2,
        logging_steps=1,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
    )
    trainer = trl.RewardTrainer(model=model, args=config, train_dataset=pairs, processing_class=tok)
    data = write_prefs(tmp_path / "prefs.jsonl", n=6)
    callback = RewardEvalCallback("pairwise", trainer, every_n_steps=2, data={"pairwise": data})
    trainer.add_callback(callback)
    trainer.train()
    logged = [h for h in trainer.state.log_history if "rmeval/pairwise/accuracy" in h]
    assert [h["step"] for h in logged] == [2, 4]
    assert [s for s, _ in callback.history] == [2, 4]
    for entry, (_, (result,)) in zip(logged, callback.history):
        assert entry["rmeval/pairwise/accuracy"] == result.main_value
        assert result.model_spec.endswith(f"step-{entry['step']}")
    fingerprints = {r.model["fingerprint"] for _, (r,) in callback.history}
    assert len(fingerprints) == 2  # the weights moved between the steps: scored afresh


def test_callback_needs_a_schedule():
    from rmeval import RewardEvalCallback

    with pytest.raises(RmevalError, match="every_n_steps"):
        RewardEvalCallback("pairwise")


def test_callback_at_evaluation_without_a_trainer_appends_to_the_log_history(
    tmp_path, tiny_llama_rm
):
    from types import SimpleNamespace

    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from rmeval import RewardEvalCallback

    model = AutoModelForSequenceClassification.from_pretrained(tiny_llama_rm)
    tok = AutoTokenizer.from_pretrained(tiny_llama_rm)
    data = write_prefs(tmp_path / "prefs.jsonl", n=4)
    callback = RewardEvalCallback("pairwise", on_evaluate=True, data={"pairwise": data})
    state = SimpleNamespace(global_step=3, log_history=[])
    callback.on_step_end(None, state, None, model=model, processing_class=tok)
    assert state.log_history == []  # no step schedule given
    callback.on_evaluate(None, state, None, model=model, processing_class=tok)
    ((_, (result,)),) = callback.history
    assert state.log_history == [{"rmeval/pairwise/accuracy": result.main_value, "step": 3}]
