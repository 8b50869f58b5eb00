"""Text generation through lm-eval's model API (``generate_until``), cached by prompt.

One :class:`TextGenerator` wraps one lm-eval model, built through the registry
(``lm_eval.api.registry.get_model(backend)``):

- ``hf`` (and ``vllm`` where installed): a local model folder or hub id, loaded as the other
  lm-eval adapters load it (:class:`rmeval.harness.adapters.loglik.LMEvalModel`); the prompt is
  sent as a user turn through the tokenizer's chat template (``chat_template=auto|true|false``),
  else as plain text.
- ``local-chat-completions`` / ``openai-chat-completions``: any OpenAI-compatible server
  (``base_url=.../v1/chat/completions``); the prompt is one user message. The API key is read
  from the environment variable named by ``api_key_env`` and sent as a bearer header; it is
  never an argument, never fingerprinted, never written. ``concurrency`` requests run at once;
  lm-eval retries failed requests (429, 5xx) ``max_retries`` times with exponential back-off.

Greedy by default (``temperature=0``); ``temperature>0`` samples. Generations are cached in the
score cache's blob table under ``generation:<judge fingerprint>`` keyed by the prompt's sha256,
committed chunk by chunk: a killed run resumes, a rerun generates nothing.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from rmeval.harness.adapters.loglik import LMEvalModel, LMSettings, backend_class
from rmeval.harness.errors import RmevalError
from rmeval.harness.progress import Progress
from rmeval.harness.records import sha256_text

LOCAL_BACKENDS = ("hf", "vllm")
API_BACKENDS = ("local-chat-completions", "openai-chat-completions")
BACKENDS = (*LOCAL_BACKENDS, *API_BACKENDS)
NONE_ANSWER = "LMEVAL_MODEL_NONE_ANSWER_PLACEHOLDER"
"""What lm-eval returns for a reply with null content: read as an empty reply."""


@dataclass(frozen=True)
class Decoding:
    """Decoding settings (all of them change outputs)."""

    max_gen_toks: int = 256
    temperature: float = 0.0

    def gen_kwargs(self) -> dict[str, Any]:
        """lm-eval's ``generate_until`` keyword arguments."""
        greedy = self.temperature == 0
        out: dict[str, Any] = {"max_gen_toks": self.max_gen_toks, "do_sample": not greedy}
        out["temperature"] = 0.0 if greedy else self.temperature
        return out


@dataclass(frozen=True)
class Endpoint:
    """How an API backend is reached (execution details, except the URL: see fingerprint)."""

    base_url: str | None = None
    api_key_env: str | None = None
    concurrency: int = 1
    max_retries: int = 3
    timeout: int = 300

    def header(self) -> dict[str, str] | None:
        """The bearer header from ``api_key_env`` (None without one)."""
        if self.api_key_env is None:
            return None
        key = os.environ.get(self.api_key_env)
        if not key:
            raise RmevalError(
                f"--model-args api_key_env={self.api_key_env}: that environment variable is not "
                f"set; export it with the API key (the key itself is never a model argument)."
            )
        return {"Authorization": f"Bearer {key}"}


class TextGenerator:
    """One lm-eval model that turns prompts (user turns) into replies."""

    def __init__(
        self,
        model_id: str,
        backend: str,
        settings: LMSettings,
        decoding: Decoding,
        endpoint: Endpoint,
    ) -> None:
        if backend not in BACKENDS:
            raise RmevalError(f"--model-args backend={backend}: use one of {', '.join(BACKENDS)}.")
        if backend == "local-chat-completions" and not endpoint.base_url:
            raise RmevalError(
                "--model-args backend=local-chat-completions needs base_url=http://HOST:PORT/v1/"
                "chat/completions."
            )
        self.model_id = model_id
        self.backend = backend
        self.decoding = decoding
        self.endpoint = endpoint
        self.local = LMEvalModel(model_id, settings) if backend in LOCAL_BACKENDS else None

    def fingerprint_fields(self) -> dict[str, Any]:
        """Model, backend, decoding; the URL of an endpoint (another server may serve other
        weights under the same model name)."""
        fields: dict[str, Any] = {
            "backend": self.backend,
            "decoding": {
                "max_gen_toks": self.decoding.max_gen_toks,
                "temp": self.decoding.temperature,
            },
        }
        if self.local is not None:
            return (
                fields | self.local.settings.fingerprint_fields() | self.local.fingerprint_fields()
            )
        return fields | {"model": self.model_id, "base_url": self.endpoint.base_url}

    @cached_property
    def api(self) -> Any:
        """The lm-eval API model (chat completions)."""
        e = self.endpoint
        kwargs: dict[str, Any] = {
            "model": self.model_id,
            "num_concurrent": e.concurrency,
            "max_retries": e.max_retries,
            "timeout": e.timeout,
            "max_gen_toks": self.decoding.max_gen_toks,
            "tokenized_requests": False,
            "tokenizer_backend": None,
        }
        if e.base_url:
            kwargs["base_url"] = e.base_url
        header = e.header()
        if header is not None:
            kwargs["header"] = header
        elif self.backend == "openai-chat-completions":
            raise RmevalError(
                "--model-args backend=openai-chat-completions needs api_key_env=NAME, the "
                "environment variable that holds the API key."
            )
        return backend_class(self.backend)(**kwargs)

    def context(self, prompt: str) -> Any:
        """What ``generate_until`` reads for one prompt."""
        if self.local is None:
            from lm_eval.models.api_models import JsonChatStr

            return JsonChatStr(
                json.dumps([{"role": "user", "content": prompt}], ensure_ascii=False)
            )
        turn = self.local.user_turn(prompt)
        return turn if turn is not None else prompt + "\n"

    def truncated(self, prompts: Sequence[str]) -> list[bool]:
        """Whether lm-eval cuts each prompt from the left (a local model keeps the last
        ``max_length - max_gen_toks`` tokens); always False for an endpoint, which refuses or
        cuts on its own side."""
        if self.local is None:
            return [False] * len(prompts)
        lm = self.local.lm
        room = int(lm.max_length) - self.decoding.max_gen_toks
        return [len(lm.tok_encode(self.context(p))) > room for p in prompts]

    def generate(self, prompts: Sequence[str]) -> list[str]:
        """One reply per prompt, in order (one ``generate_until`` call)."""
        from lm_eval.api.instance import Instance

        if not prompts:
            return []
        gen = self.decoding.gen_kwargs()
        requests = [
            Instance(
                request_type="generate_until",
                doc={},
                arguments=(self.context(p), dict(gen)),
                idx=i,
            )
            for i, p in enumerate(prompts)
        ]
        lm = self.local.lm if self.local is not None else self.api
        try:
            replies = lm.generate_until(requests, disable_tqdm=True)
        except RmevalError:
            raise
        except Exception as exc:  # the backend's own error after its retries
            raise RmevalError(
                f"judge {self.model_id} ({self.backend}): generation failed after retries "
                f"({type(exc).__name__}: {str(exc)[:200]}); the replies so far are cached: fix "
                f"the endpoint and run the same command again to resume."
            ) from exc
        return ["" if r is None or r == NONE_ANSWER else str(r) for r in replies]


def cached_generate(
    generator: TextGenerator,
    prompts: Sequence[str],
    cache: Any,
    fingerprint: str,
    *,
    cache_only: bool = False,
    chunk: int = 32,
) -> list[dict[str, Any]]:
    """``{"text", "truncated"}`` per prompt: cached replies read, the rest generated chunk by
    chunk and committed after each chunk (``cache`` None: nothing is cached)."""
    keys = [sha256_text(p) for p in prompts]
    namespace = f"generation:{fingerprint}"
    found = cache.get_blobs(namespace, keys) if cache is not None else {}
    todo = list(dict.fromkeys(k for k in keys if k not in found))
    if todo and cache_only:
        raise RmevalError(
            f"{len(todo)} judge replies are not in the cache; run `rmeval run` with the same "
            f"model, tasks and flags first."
        )
    text_of = dict(zip(keys, prompts))
    bar = Progress(len(todo), f"judging {generator.model_id}", bool(todo) and sys.stderr.isatty())
    try:
        _generate_chunks(generator, todo, text_of, cache, namespace, found, chunk, bar)
    finally:
        bar.close()
    return [_decode(found[k], k, cache) for k in keys]


def _decode(value: str, key: str, cache: Any) -> dict[str, Any]:
    """A cached reply, or one sentence naming the cache file when it is not one."""
    try:
        reply = json.loads(value)
        if isinstance(reply, dict) and isinstance(reply.get("text"), str):
            return reply
    except ValueError:
        pass
    raise RmevalError(
        f"{getattr(cache, 'path', 'the cache')}: the cached judge reply to prompt {key[:12]} is "
        f"not a reply; the cache file was changed outside rmeval: delete it or pass another "
        f"--cache-dir."
    )


def _generate_chunks(
    generator: TextGenerator,
    todo: Sequence[str],
    text_of: dict[str, str],
    cache: Any,
    namespace: str,
    found: dict[str, str],
    chunk: int,
    bar: Progress,
) -> None:
    """Generate the ``todo`` keys' prompts chunk by chunk, committing each chunk."""
    for start in range(0, len(todo), chunk):
        part = todo[start : start + chunk]
        texts = [text_of[k] for k in part]
        replies, cut = generator.generate(texts), generator.truncated(texts)
        fresh = {
            k: json.dumps({"text": r, "truncated": c}, ensure_ascii=False)
            for k, r, c in zip(part, replies, cut)
        }
        if cache is not None:
            cache.put_blobs(namespace, fresh.items())
        found.update(fresh)
        bar.update(len(part), 0)
