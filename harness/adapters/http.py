"""A reward model served elsewhere, scored over HTTP with JSON batches (stdlib only).

``--model http:URL`` (e.g. ``http:http://127.0.0.1:8000/score``; ``http://HOST/...`` alone
works too). Two wire formats (``format=``):

- ``plain`` (default): POST ``{"inputs": [{"prompt", "response", "reference"}, ...]}``, answer
  ``{"scores": [number, ...]}`` in the same order.
- ``openai``: an OpenAI-style envelope, POST ``{"model": MODEL, "input": [[{"role": "user",
  "content": prompt}, {"role": "assistant", "content": response}], ...]}``, answer
  ``{"data": [{"index": i, "score": number}, ...]}`` (``"data": number`` or a one-element list
  instead of ``"score"`` also work, as in vLLM's pooling responses). The reference is not sent.

At most ``batch_size`` (32) requests go in one POST. Connection errors, timeouts
(``timeout`` seconds, 60) and 5xx answers are retried ``retries`` (3) times, waiting
``backoff`` × 2^attempt seconds (0.5 s, then 1 s, 2 s); a 4xx answer or a malformed reply
(not JSON, wrong length, a non-number) stops the run with one sentence. ``api_key_env=NAME``
sends ``Authorization: Bearer $NAME``. Whatever runs behind the URL can change without notice:
pass ``revision=...`` to keep cached scores of different server versions apart.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from harness.adapters.base import Encoded, RewardModel
from harness.errors import RmevalError
from harness.records import Score, ScoreRequest

_TRANSIENT = (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException)


class HTTPRewardModel(RewardModel):
    """Scores from a remote scoring endpoint (plain JSON or OpenAI-style)."""

    type_name = "http"
    default_batch_tokens = 1 << 16

    def __init__(self, model_id: str = "", **args: Any) -> None:
        url = "http:" + model_id if model_id.startswith("//") else model_id
        if not url.startswith(("http://", "https://")):
            raise RmevalError(
                f"--model http:{model_id}: give an http:// or https:// URL, e.g. "
                f"http:http://127.0.0.1:8000/score."
            )
        super().__init__(url, **args)
        self.url = url
        self.format = str(args.get("format", "plain"))
        if self.format not in {"plain", "openai"}:
            raise RmevalError(f"--model-args format={self.format}: use plain or openai.")
        self.remote_model = args.get("model")
        self.batch_size = _positive(args, "batch_size", 32, int)
        self.timeout = _positive(args, "timeout", 60.0, float)
        self.retries = int(_positive(args, "retries", 3, int, allow_zero=True))
        self.backoff = _positive(args, "backoff", 0.5, float, allow_zero=True)
        self.api_key_env = args.get("api_key_env")

    def fingerprint_fields(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "format": self.format,
            "model": self.remote_model,
            "revision": self.args.get("revision"),
        }

    def encode(self, requests: Sequence[ScoreRequest]) -> list[Encoded]:
        """Approximate lengths (4 characters a token): the server tokenises, not us."""
        out = []
        for r in requests:
            chars = len(r.prompt_text) + len(r.response) + len(r.reference or "")
            out.append(Encoded(chars // 4 + 1, r))
        return out

    def forward(self, batch: Sequence[Encoded]) -> list[Score]:
        values: list[float] = []
        for start in range(0, len(batch), int(self.batch_size)):
            chunk = [e.payload for e in batch[start : start + int(self.batch_size)]]
            values.extend(self._parse(self.post(self._body(chunk)), len(chunk)))
        return [Score(v, n_tokens=e.n_tokens) for v, e in zip(values, batch, strict=True)]

    def post(self, body: dict[str, Any]) -> Any:
        """POST ``body`` as JSON and return the decoded reply, retrying transient failures."""
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        error: BaseException | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            request = urllib.request.Request(
                self.url, data=data, headers=self._headers(), method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                    raw = reply.read()
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    raise RmevalError(
                        f"http {self.url}: the server answered {exc.code} {exc.reason}; check the "
                        f"URL, format= and api_key_env=."
                    ) from exc
                error = exc
            except _TRANSIENT as exc:
                error = exc
            else:
                return _decode(raw, self.url)
        raise RmevalError(
            f"http {self.url}: no good answer after {self.retries + 1} tries (last: {error}); "
            f"check that the server is up, or raise timeout= / retries=."
        )

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key_env:
            key = os.environ.get(str(self.api_key_env))
            if not key:
                raise RmevalError(
                    f"--model-args api_key_env={self.api_key_env}: that environment variable is "
                    f"empty; export the API key in it."
                )
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _body(self, chunk: Sequence[ScoreRequest]) -> dict[str, Any]:
        if self.format == "plain":
            return {
                "inputs": [
                    {"prompt": r.prompt_text, "response": r.response, "reference": r.reference}
                    for r in chunk
                ]
            }
        return {"model": self.remote_model, "input": [r.messages() for r in chunk]}

    def _parse(self, reply: Any, n: int) -> list[float]:
        if self.format == "plain":
            scores = reply.get("scores") if isinstance(reply, dict) else None
            if not isinstance(scores, list):
                raise self._bad(f"no 'scores' list in the reply ({_preview(reply)})")
        else:
            scores = self._openai_scores(reply, n)
        if len(scores) != n:
            raise self._bad(f"{len(scores)} scores for {n} inputs")
        return [self._number(v, i) for i, v in enumerate(scores)]

    def _openai_scores(self, reply: Any, n: int) -> list[Any]:
        items = reply.get("data") if isinstance(reply, dict) else None
        if not isinstance(items, list) or not all(isinstance(d, dict) for d in items):
            raise self._bad(f"no 'data' list of objects in the reply ({_preview(reply)})")
        if sorted(d.get("index", -1) for d in items) != list(range(len(items))):
            raise self._bad("the 'index' fields of 'data' are not 0..n-1")
        ordered = sorted(items, key=lambda d: d["index"])
        values = [d["score"] if "score" in d else d.get("data") for d in ordered]
        return [v[0] if isinstance(v, list) and len(v) == 1 else v for v in values]

    def _number(self, value: Any, i: int) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._bad(f"score {i} is {_preview(value)}, not a number")
        return float(value)

    def _bad(self, what: str) -> RmevalError:
        return RmevalError(f"http {self.url}: bad reply: {what}; check the server and format=.")


def _decode(raw: bytes, url: str) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise RmevalError(
            f"http {url}: the reply is not JSON ({_preview(raw)}); check the URL and format=."
        ) from exc


def _preview(value: Any) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else json.dumps(value)[:80]
    return text[:80]


def _positive(
    args: dict[str, Any], key: str, default: Any, cast: type, allow_zero: bool = False
) -> Any:
    value = args.get(key, default)
    try:
        number = cast(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number < 0 or (number == 0 and not allow_zero):
        raise RmevalError(
            f"--model-args {key}={value}: give a {'non-negative' if allow_zero else 'positive'} number."
        )
    return number
