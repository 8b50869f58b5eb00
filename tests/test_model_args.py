"""`--model-args`: declared per adapter, parsed one way, applied or refused, never just recorded."""

from __future__ import annotations

import importlib.util
import shutil

import pytest
from rmeval.harness.adapters.base import parse_bool, parse_model_args
from rmeval.harness.adapters.hf import HFRewardModel
from rmeval.harness.cli import main
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import ScoreRequest
from rmeval.harness.runner import build_model, run_label

from tests.lm_fixtures import lm_dirs  # noqa: F401  (fixture)

REQUESTS = [
    ScoreRequest("what is two plus two", "the answer is four"),
    ScoreRequest("name a colour", "blue, like the sky on a clear day"),
    ScoreRequest("what is two plus two", "five"),
]
TOL = 1e-4


def scores(model) -> list[float]:
    return [s.value for s in model.forward(model.encode(REQUESTS))]


def close(a: list[float], b: list[float]) -> bool:
    return all(abs(x - y) < TOL for x, y in zip(a, b, strict=True))


# -- one boolean parser -------------------------------------------------------------------
@pytest.mark.parametrize("text", ["true", "yes", "1", "on", "TRUE", "Yes"])
def test_parse_bool_true_forms(text):
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["false", "no", "0", "off", "No"])
def test_parse_bool_false_forms(text):
    assert parse_bool(text) is False


def test_parse_bool_refuses_anything_else():
    with pytest.raises(RmevalError, match="share_prompts=maybe: use true or false"):
        parse_bool("maybe", "--model-args share_prompts")


def test_share_prompts_no_is_off(tiny_llama_rm):
    model = build_model(f"hf:{tiny_llama_rm}", parse_model_args("share_prompts=no,device=cpu"))
    assert model.share_prompts is False
    assert model.describe()["args"]["share_prompts"] is False
    with pytest.raises(RmevalError, match="share_prompts=perhaps"):
        build_model(f"hf:{tiny_llama_rm}", parse_model_args("share_prompts=perhaps"))


def test_every_boolean_flag_parses_the_same_way(tiny_llama_rm, lm_dirs):  # noqa: F811
    hf = build_model(f"hf:{tiny_llama_rm}", {"trust_remote_code": "no", "pack": "off"})
    assert hf.safety["trust_remote_code"] is False and hf.pack is False
    dpo = build_model(f"dpo:{lm_dirs['gpt2']}", {"ref_free": "sum", "trust_remote_code": "no"})
    assert dpo.settings.trust_remote_code is False


# -- unknown keys ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "key", "meant"),
    [
        ("hf", "pakc", "pack"),
        ("hf", "revison", "revision"),
        ("hf", "torch_dtype", "dtype"),
        ("length", "untis", "unit"),
        ("random", "sed", "seed"),
        ("embed", "revison", "revision"),
        ("dpo", "ref_fre", "ref_free"),
        ("likelihood", "normalise", "normalize"),
        ("judge", "templte", "template"),
    ],
)
def test_unknown_keys_are_refused_with_a_did_you_mean(
    kind,
    key,
    meant,
    tiny_llama_rm,
    minilm_path,
    lm_dirs,  # noqa: F811
):
    ident = {"hf": tiny_llama_rm, "embed": minilm_path, "length": "", "random": ""}
    spec = f"{kind}:{ident.get(kind, lm_dirs['gpt2'])}" if ident.get(kind, 1) else kind
    args = {key: "x"} | ({"ref_free": "sum"} if kind == "dpo" and key != "ref_free" else {})
    with pytest.raises(RmevalError, match=f"{key}: not an argument .*did you mean '{meant}'"):
        build_model(spec, args)


def test_cli_refuses_a_typo_with_exit_2(capsys, tmp_path):
    code = main(
        ["run", "--model", "length", "--model-args", "untis=words", "--tasks", "core",
         "--limit", "2", "--output-dir", str(tmp_path / "out"), "--cache-dir", str(tmp_path)]
    )  # fmt: skip
    assert code == 2
    assert "did you mean 'unit'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_several_models_take_the_keys_they_declare(tiny_llama_rm):
    args = {"pack": False, "unit": "words"}
    specs = [f"hf:{tiny_llama_rm}", "length"]
    hf, length = (build_model(s, args, [o for o in specs if o != s]) for s in specs)
    assert "unit" not in hf.args and length.unit == "words" and hf.pack is False
    with pytest.raises(RmevalError, match="pakc"):
        build_model("length", {"pakc": True}, [f"hf:{tiny_llama_rm}"])


def test_a_key_no_model_takes_gets_a_did_you_mean_from_any_of_them():
    with pytest.raises(RmevalError, match="of this run .length, random.; did you mean 'seed'"):
        build_model("length", {"sed": 3}, ["random"])


def test_device_is_ignored_by_several_models_without_one(tmp_path):
    data = tmp_path / "prefs.jsonl"
    data.write_text('{"prompt": "p", "chosen": "a good answer", "rejected": "bad"}\n')
    argv = ["run", "--model", "length", "--model", "random", "--device", "cpu", "--tasks",
            "pairwise", "--data", f"pairwise={data}", "--output-dir", str(tmp_path / "out"),
            "--cache-dir", str(tmp_path / "cache"), "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["length", "random"]


def test_ls_explains_a_model_types_arguments(capsys):
    assert main(["ls", "hf"]) == 0
    out = capsys.readouterr().out
    for name in ("subfolder", "attn_implementation", "device_map", "tokenizer", "load_in_4bit"):
        assert name in out
    assert main(["ls", "length"]) == 0
    assert "chars or words" in capsys.readouterr().out


def test_ls_shows_a_default_with_a_newline_on_its_one_line(capsys):
    assert main(["ls", "likelihood"]) == 0
    lines = capsys.readouterr().out.splitlines()
    line = next(x for x in lines if "answer_prefix" in x)
    assert line.endswith("(default \\nAnswer:)")  # as typed in k=v, not a broken line
    assert "Answer:)" not in lines


# -- one decision: fingerprint and result folder ---------------------------------------------
def test_execution_choices_keep_the_folder_and_fingerprint(tiny_llama_rm):
    spec = f"hf:{tiny_llama_rm}"
    default = build_model(spec, {"device": "cpu"})
    for extra in ({"pack": False}, {"share_prompts": True}, {"padding_side": "left"}):
        other = build_model(spec, {"device": "cpu"} | extra)
        assert run_label(other) == run_label(default) == spec
        assert other.fingerprint() == default.fingerprint()
    bf16 = build_model(spec, {"device": "cpu", "dtype": "bfloat16"})
    assert run_label(bf16) != spec and bf16.fingerprint() != default.fingerprint()
    eager = build_model(spec, {"device": "cpu", "attn_implementation": "eager"})
    assert run_label(eager) != spec and eager.fingerprint() != default.fingerprint()


# -- hf: from_pretrained pass-through ----------------------------------------------------------
def test_attn_implementation_is_applied(tiny_llama_rm):
    runs = {}
    for impl in ("eager", "sdpa"):
        model = HFRewardModel(
            str(tiny_llama_rm), device="cpu", pack=False, attn_implementation=impl
        )
        runs[impl] = scores(model)
        assert model.model.config._attn_implementation == impl
    assert close(runs["eager"], runs["sdpa"])


def test_subfolder_loads_a_checkpoint_saved_inside(tiny_llama_rm, tmp_path):
    shutil.copytree(tiny_llama_rm, tmp_path / "repo" / "rm")
    inside = HFRewardModel(str(tmp_path / "repo"), subfolder="rm", device="cpu")
    direct = HFRewardModel(str(tiny_llama_rm), device="cpu")
    assert close(scores(inside), scores(direct))


def test_tokenizer_from_another_folder(tiny_llama_rm, tmp_path):
    weights_only = tmp_path / "weights"
    weights_only.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(tiny_llama_rm / name, weights_only / name)
    model = HFRewardModel(str(weights_only), tokenizer=str(tiny_llama_rm), device="cpu")
    assert close(scores(model), scores(HFRewardModel(str(tiny_llama_rm), device="cpu")))
    assert "tokenizer" in model.fingerprint_fields()


def test_chat_template_file_is_applied_and_fingerprinted_by_content(tiny_llama_rm, tmp_path):
    template = tmp_path / "chat.jinja"
    template.write_text(
        "{% for m in messages %}<<{{ m['role'] }}>> {{ m['content'] }}\n{% endfor %}"
    )
    default = HFRewardModel(str(tiny_llama_rm), device="cpu")
    model = HFRewardModel(str(tiny_llama_rm), device="cpu", chat_template=str(template))
    assert model.text_format.name == "chat"
    assert model.text_of(REQUESTS[0]).startswith("<<user>> what is two plus two")
    first = model.fingerprint()
    assert first != default.fingerprint()
    template.write_text("{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}{% endfor %}")
    again = HFRewardModel(str(tiny_llama_rm), device="cpu", chat_template=str(template))
    assert again.fingerprint() != first  # same path, new content


def test_chat_template_that_is_neither_file_nor_template_is_refused(tiny_llama_rm):
    with pytest.raises(RmevalError, match="chat_template=./missing.jinja: neither a file"):
        HFRewardModel(str(tiny_llama_rm), chat_template="./missing.jinja")


def test_quantization_without_bitsandbytes_is_refused(tiny_llama_rm, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "bitsandbytes" else real(n, *a)
    )
    with pytest.raises(RmevalError, match="load_in_4bit: needs bitsandbytes"):
        build_model(f"hf:{tiny_llama_rm}", parse_model_args("load_in_4bit=true"))


def test_quantization_config_file_is_fingerprinted_by_content(tiny_llama_rm, tmp_path, monkeypatch):
    from rmeval.harness.adapters import pretrained

    monkeypatch.setattr(pretrained, "quantization", lambda args: object())  # no bitsandbytes here
    config = tmp_path / "bnb.json"
    config.write_text('{"load_in_4bit": true, "bnb_4bit_quant_type": "nf4"}')
    first = HFRewardModel(str(tiny_llama_rm), quantization_config=str(config)).fingerprint()
    config.write_text('{"load_in_4bit": true, "bnb_4bit_quant_type": "fp4"}')
    again = HFRewardModel(str(tiny_llama_rm), quantization_config=str(config)).fingerprint()
    assert again != first  # same path, other quantization: other scores, other cache entries


@pytest.mark.parametrize("device_map", ["cpu", "auto"])
def test_device_map_scores_the_same(device_map, tiny_llama_rm, monkeypatch):
    from transformers import AutoModelForSequenceClassification as Auto

    seen: list[dict] = []
    load = Auto.from_pretrained
    monkeypatch.setattr(Auto, "from_pretrained", lambda *a, **kw: seen.append(kw) or load(*a, **kw))
    mapped = HFRewardModel(str(tiny_llama_rm), device_map=device_map, pack=False)
    assert mapped.device == "cpu"
    _ = mapped.model
    assert seen[-1]["device_map"] == device_map  # accelerate placed it; no .to() afterwards
    plain = HFRewardModel(str(tiny_llama_rm), device="cpu", pack=False)
    assert close(scores(mapped), scores(plain))
    assert mapped.fingerprint() == plain.fingerprint()


def test_text_arguments_keep_exactly_what_was_typed():
    """A commit prefix of digits is text: ``0123456`` must not lose its zero, ``1234e56`` must not
    become a float, and ``1234567`` must reach from_pretrained as the string."""
    from rmeval.harness.adapters.base import parse_model_args
    from rmeval.harness.adapters.hf import HFRewardModel

    for typed in ("0123456", "1234e56", "1234567"):
        args = HFRewardModel.check_arguments(
            parse_model_args(f"revision={typed},subfolder={typed}")
        )
        assert args == {"revision": typed, "subfolder": typed}
    assert parse_model_args("max_length=512,temperature=0.5") == {
        "max_length": 512,
        "temperature": 0.5,
    }
