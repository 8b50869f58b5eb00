"""`rmeval bench` correctness only (never timings): workload shape, agreement, JSON, FLOPs."""

import json

import pytest
from rmeval.harness.bench import PRESETS, main
from rmeval.harness.bench.variants import MemoryPeak, padding_tokens
from rmeval.harness.bench.workload import (
    length_ratio,
    make_workload,
    nonembedding_params,
    useful_flops,
    word_tokenizer,
)
from rmeval.harness.errors import RmevalError

MICRO = dict(arch="llama", hidden_size=32, intermediate_size=64, num_hidden_layers=2,
             num_attention_heads=2, num_key_value_heads=1, head_dim=16, dtype="float32",
             n_prompts=16, prompt_median=12, response_median=16, max_tokens=512)  # fmt: skip


def test_workload_is_rb2_shaped_with_a_long_tail():
    wl = make_workload(48, 0, 40, 50, 1024)
    assert len(wl.prompts) == 48 and all(len(r) == 4 for r in wl.responses)
    tok = word_tokenizer(1024)
    texts = [f"User: {r.prompt}\n\nAssistant: {r.response}" for r in wl.requests()]
    lengths = [len(x) for x in tok(texts)["input_ids"]]
    assert length_ratio(lengths) >= 4 and max(lengths) <= 1024
    assert make_workload(48, 0, 40, 50, 1024).prompts == wl.prompts  # seeded


def test_a_flat_length_mix_is_refused():
    with pytest.raises(RmevalError, match="p99/p50"):
        make_workload(48, 0, 40, 50, 60)


def test_padding_counts_follow_each_variants_batching_rule():
    lengths = [5, 1, 2, 2, 3, 3, 3, 1]  # 2 examples x 4 texts
    assert padding_tokens("A", lengths, [], packed=True) == 8 * 5 - 20
    # B8: one call per response position: (5,3) (1,3) (2,3) (2,1) -> 2 + 2 + 1 + 1
    assert padding_tokens("B8", lengths, [], packed=True) == 6
    assert padding_tokens("H", lengths, [[0], [4, 5, 6], [2, 3], [1, 7]], packed=False) == 0
    assert padding_tokens("H", lengths, [[0, 4], [1, 2, 3, 5, 6, 7]], packed=False) == 2 + 6
    assert padding_tokens("H", lengths, [[0, 4], [1, 2, 3, 5, 6, 7]], packed=True) == 0


@pytest.mark.parametrize("arch", ["llama", "qwen3"])
def test_flop_formula_matches_a_hand_count(arch):
    import torch
    import transformers as tf

    cfg_cls, model_cls = {
        "llama": (tf.LlamaConfig, tf.LlamaForSequenceClassification),
        "qwen3": (tf.Qwen3Config, tf.Qwen3ForSequenceClassification),
    }[arch]
    cfg = cfg_cls(vocab_size=10, hidden_size=8, intermediate_size=16, num_hidden_layers=1,
                  num_attention_heads=2, num_key_value_heads=1, head_dim=4, num_labels=1,
                  pad_token_id=0, tie_word_embeddings=False)  # fmt: skip
    # q 8x8 + k 8x4 + v 8x4 + o 8x8 = 192; mlp 3x8x16 = 384; 2 norms 16; final norm 8; head 8
    hand = 192 + 384 + 16 + 8 + 8 + (2 * 4 if arch == "qwen3" else 0)  # qwen3: q/k norms
    assert nonembedding_params(cfg) == hand
    model = model_cls(cfg)
    embed = model.get_input_embeddings().weight.numel()
    assert sum(p.numel() for p in model.parameters()) - embed == hand
    # L = 3: 2·N·3 plus QKᵀ and AV over 1 + 2 + 3 keys: 2 · 2 · d_attn(8) · 6 = 192
    assert useful_flops(cfg, [3]) == 2 * hand * 3 + 192
    assert useful_flops(cfg, [3, 1]) == useful_flops(cfg, [3]) + 2 * hand + 2 * 2 * 8 * 1
    del torch


def test_bench_variants_agree_and_json_is_written(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(PRESETS, "micro", MICRO)
    code = main(["--preset", "micro", "--device", "cpu", "--repeats", "1", "--output-dir",
                 str(tmp_path), "--batch-tokens", "256", "--profile"])  # fmt: skip
    assert code == 0
    rec = json.loads((tmp_path / "micro.json").read_text())
    assert set(rec["variants"]) == {"A", "B8", "B64", "H", "Hs", "Hm"}  # Hp is H on CPU
    assert rec["variants"]["H"]["padding_share"] == 0  # packed on CPU
    prof = rec["profile"]
    assert 0 < prof["matmul_share"] < 1 and prof["top_ops"][0]["share"] <= 1
    assert any(o["op"] == "aten::mm" for o in prof["top_ops"])
    assert 0 < prof["attention_share"] < 1 - prof["matmul_share"]
    kept = (prof["matmul_share"] + prof["attention_share"]) * prof["total_s"]  # seconds
    ceiling = rec["useful_flops"] / (kept * rec["peak_flops"])
    assert prof["ceiling_fraction_of_peak"] == pytest.approx(ceiling)
    for name, row in rec["variants"].items():
        assert row["max_abs_diff_vs_A"] <= 1e-4, name
        assert row["fraction_of_peak"] is None if name == "Hs" else row["fraction_of_peak"] > 0
        assert row["padding_share"] is None if name == "Hs" else 0 <= row["padding_share"] < 1
    assert rec["variants"]["H"]["padding_share"] < rec["variants"]["B64"]["padding_share"]
    assert rec["n_texts"] == 64 and rec["length_p99_over_p50"] >= 4
    assert "H/A" in rec["speedup"] and "variant" in capsys.readouterr().out
    assert rec["speedup_paired"]["H/A"] > 0 and set(rec["speedup_paired"]) == set(rec["speedup"])


def test_bench_packed_variant_on_request(tmp_path, monkeypatch):
    monkeypatch.setitem(PRESETS, "micro", MICRO)
    argv = ["--preset", "micro", "--device", "cpu", "--repeats", "1", "--output-dir",
            str(tmp_path), "--variants", "A,Hp"]  # fmt: skip
    assert main(argv) == 0
    hp = json.loads((tmp_path / "micro.json").read_text())["variants"]["Hp"]
    assert hp["max_abs_diff_vs_A"] <= 1e-4 and hp["padding_share"] == 0
    with pytest.raises(RmevalError, match="--variants A,X: use names from"):
        main(argv[:-1] + ["A,X"])


def test_cpu_peak_memory_is_the_variant_own_high_water_mark(monkeypatch):
    import numpy as np
    from rmeval.harness.bench import variants

    for sampled in (False, True):  # kernel high-water mark, then the sampling fallback
        if sampled:
            monkeypatch.setattr(variants, "_reset_high_water_mark", lambda: False)
        with MemoryPeak("cpu") as mem:
            block = np.ones(200 << 20, dtype=np.uint8)  # 200 MiB, touched
            if sampled:
                variants.time.sleep(0.05)  # let the 2 ms sampler see it
            del block
        assert 190 << 20 <= mem.peak <= 260 << 20, (sampled, mem.peak >> 20)
        with MemoryPeak("cpu") as small:  # a new context starts from its own baseline
            pass
        assert small.peak < 20 << 20


# The GPU image has neither package: the bench must import and run without them.
WITHOUT_DATASETS_OR_LM_EVAL = """
import importlib.abc, json, sys

class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("datasets", "lm_eval"):
            raise ModuleNotFoundError(f"No module named {name!r}")

sys.meta_path.insert(0, Missing())
from rmeval.harness.bench import PRESETS, main
PRESETS["micro"] = json.loads(sys.argv[1])
code = main(["--preset", "micro", "--device", "cpu", "--repeats", "1", "--variants", "A,H,Hs",
             "--output-dir", sys.argv[2]])
assert not {"datasets", "lm_eval"} & {m.split(".")[0] for m in sys.modules}
sys.exit(code)
"""


def test_bench_runs_without_datasets_or_lm_eval(tmp_path):
    import subprocess
    import sys

    argv = [sys.executable, "-c", WITHOUT_DATASETS_OR_LM_EVAL, json.dumps(MICRO), str(tmp_path)]
    done = subprocess.run(argv, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    rec = json.loads((tmp_path / "micro.json").read_text())
    assert all(row["max_abs_diff_vs_A"] <= 1e-4 for row in rec["variants"].values())
