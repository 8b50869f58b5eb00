"""A reward model served elsewhere, scored over HTTP with JSON batches.

``--model http:URL`` (e.g. ``http:http://127.0.0.1:8000/score``; ``http://HOST/...`` alone
works too). Two wire formats (``format=``):

- ``plain`` (default): POST ``{"inputs": [{"prompt", "response", "reference"}, ...]}``, answer
  ``{"scores": [number, ...]}`` in the same order.
- ``openai``: an OpenAI-style envelope, POST ``{"model": MODEL, "input": [[{"role": "user",
  "content": prompt}, {"role": "assistant", "content": response}], ...]}``, answer
  ``{"data": [{"index": i, "score": number}, ...]}`` (``"data": number`` or a one-element list
  instead of ``"score"`` also work, as in vLLM's pooling responses). The reference is not sent.

At most ``batch_size`` (32) requests go in one POST, and up to ``concurrency`` (1) POSTs are in
flight at once; scores come back in input order. ``timeout`` (60 s) is an overall deadline for
each try, from connecting to the last byte of the reply (a server that drips its reply is cut
off at the deadline). Connection errors, timeouts, 429 and 5xx answers are retried ``retries``
(3) times, waiting ``backoff`` × 2^attempt seconds (0.5 s, then 1 s, 2 s) plus up to 50%
random jitter, or at least what the server's ``Retry-After`` asks; another 4xx answer or a
malformed reply (not JSON, wrong length, a non-number) stops the run with one sentence.
``api_key_env=NAME`` sends ``Authorization: Bearer $NAME``. Whatever runs behind the URL can
change without notice: pass ``revision=...`` to keep cached scores of different server
versions apart.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import socket
import threading
import time
import urllib.parse
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from rmeval.harness.adapters.base import Arg, Encoded, RewardModel, parse_choice, parse_text
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import Score, ScoreRequest
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

_TRANSIENT = (TimeoutError, OSError, http.client.HTTPException)
_RETRY_STATUS = frozenset({429, *range(500, 600)})


@dataclass(slots=True)
class _Reply:
    """One HTTP answer, read in full before its deadline."""

    status: int
    reason: str
    retry_after: str | None
    body: bytes


class HTTPRewardModel(RewardModel):
    """Scores from a remote scoring endpoint (plain JSON or OpenAI-style)."""

    type_name = "http"
    default_batch_tokens = 1 << 16
    arguments = {
        "format": Arg(
            "wire format: plain ({'inputs': [...]} -> {'scores': [...]}) or openai",
            "plain",
            parse=parse_choice("plain", "openai"),
        ),
        "model": Arg("model name sent in the openai-format body", None, parse=parse_text),
        "revision": Arg(
            "label of the server's version: keeps cached scores of versions apart", parse=parse_text
        ),
        "batch_size": Arg("requests per POST", 32, output=False),
        "timeout": Arg(
            "overall deadline of one try in seconds, connect to last byte", 60.0, output=False
        ),
        "retries": Arg("retries after a connection error, timeout, 429 or 5xx", 3, output=False),
        "backoff": Arg(
            "first wait between tries in seconds, doubled each try, + jitter",
            0.5,
            output=False,
        ),
        "concurrency": Arg("POSTs in flight at once (scores keep input order)", 1, output=False),
        "api_key_env": Arg(
            "environment variable holding the API key, sent as Bearer", None, output=False
        ),
    }

    def __init__(self, model_id: str = "", **args: Any) -> None:
        url = "http:" + model_id if model_id.startswith("//") else model_id
        if not url.startswith(("http://", "https://")):
            raise RmevalError(
                f"--model http:{model_id}: give an http:// or https:// URL, e.g. "
                f"http:http://127.0.0.1:8000/score."
            )
        super().__init__(url, **args)
        self.url = url
        args = self.args  # as parsed by the declarations above
        self.format = str(args.get("format") or "plain")  # checked by its declaration
        self.remote_model = args.get("model")
        self.batch_size = _positive(args, "batch_size", 32, int)
        self.timeout = _positive(args, "timeout", 60.0, float)
        self.retries = int(_positive(args, "retries", 3, int, allow_zero=True))
        self.backoff = _positive(args, "backoff", 0.5, float, allow_zero=True)
        self.concurrency = _positive(args, "concurrency", 1, int)
        self.api_key_env = args.get("api_key_env")
        self._policy = Retry(
            total=self.retries, allowed_methods=None, status_forcelist=_RETRY_STATUS
        )

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
        size = int(self.batch_size)
        chunks = [[e.payload for e in batch[i : i + size]] for i in range(0, len(batch), size)]
        values = [v for chunk_values in self._map(self._score_chunk, chunks) for v in chunk_values]
        return [Score(v, n_tokens=e.n_tokens) for v, e in zip(values, batch, strict=True)]

    def _map(self, fn: Any, chunks: list[list[ScoreRequest]]) -> list[list[float]]:
        """``fn`` over ``chunks`` with up to ``concurrency`` in flight, results in input order."""
        workers = min(int(self.concurrency), len(chunks))
        if workers <= 1:
            return [fn(c) for c in chunks]
        with ThreadPoolExecutor(workers, thread_name_prefix="rmeval-http") as pool:
            futures = [pool.submit(fn, c) for c in chunks]
            try:
                return [f.result() for f in futures]
            except BaseException:
                for f in futures:
                    f.cancel()  # the first failure stops the run: send nothing more
                raise

    def _score_chunk(self, chunk: list[ScoreRequest]) -> list[float]:
        return self._parse(self.post(self._body(chunk)), len(chunk))

    def post(self, body: dict[str, Any]) -> Any:
        """POST ``body`` as JSON and return the decoded reply, retrying transient failures."""
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = self._headers()
        last = ""
        for attempt in range(self.retries + 1):
            try:
                reply = self._exchange(data, headers)
            except _TRANSIENT as exc:
                last, retry_after = str(exc) or type(exc).__name__, None
            else:
                if 200 <= reply.status < 300:
                    return _decode(reply.body, self.url)
                if not self._policy.is_retry("POST", reply.status):
                    raise RmevalError(
                        f"http {self.url}: the server answered {reply.status} {reply.reason}; "
                        f"check the URL, format= and api_key_env=."
                    )
                last, retry_after = f"{reply.status} {reply.reason}", reply.retry_after
            if attempt < self.retries:
                time.sleep(self._wait(attempt, retry_after))
        advice = (
            "lower concurrency= or raise retries="
            if last.startswith("429")
            else "check that the server is up, or raise timeout= / retries="
        )
        raise RmevalError(
            f"http {self.url}: no good answer after {self.retries + 1} tries (last: {last}); "
            f"{advice}."
        )

    def _wait(self, attempt: int, retry_after: str | None) -> float:
        """Exponential backoff with jitter, never shorter than the server's Retry-After."""
        base = self.backoff * 2**attempt
        if retry_after is not None:
            with contextlib.suppress(InvalidHeader):  # unreadable: plain backoff
                base = max(base, self._policy.parse_retry_after(retry_after))
        return base * (1.0 + 0.5 * random.random())

    def _exchange(self, data: bytes, headers: dict[str, str]) -> _Reply:
        """One POST with an overall deadline of ``timeout`` seconds, connect to last byte."""
        deadline = time.monotonic() + self.timeout
        conn = self._connection()
        hung_up = threading.Event()
        try:
            conn.connect()  # bounded by the socket timeout, itself ``timeout``
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no reply within timeout={self.timeout:g} s")
            # the socket itself: http.client drops conn.sock once an HTTP/1.0 reply's headers are
            # read, while the reply goes on reading the body from the same socket
            watchdog = threading.Timer(remaining, _hang_up, (conn.sock, hung_up))
            watchdog.start()
            try:
                conn.request("POST", self._target(), body=data, headers=headers)
                reply = conn.getresponse()
                body = reply.read()
            finally:
                watchdog.cancel()
        except _TRANSIENT as exc:
            if hung_up.is_set():
                raise TimeoutError(f"no complete reply within timeout={self.timeout:g} s") from exc
            raise
        finally:
            conn.close()
        if hung_up.is_set():  # a reply cut short without a framing error is still cut short
            raise TimeoutError(f"no complete reply within timeout={self.timeout:g} s")
        return _Reply(reply.status, reply.reason, reply.getheader("Retry-After"), body)

    def _connection(self) -> http.client.HTTPConnection:
        parts = urllib.parse.urlsplit(self.url)
        kind = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        return kind(parts.hostname or "", parts.port, timeout=self.timeout)

    def _target(self) -> str:
        parts = urllib.parse.urlsplit(self.url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

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


def _hang_up(sock: socket.socket | None, flag: threading.Event) -> None:
    """Deadline reached: shut the socket so a blocked send or read returns at once."""
    flag.set()
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed: nothing left to interrupt
            sock.shutdown(socket.SHUT_RDWR)
