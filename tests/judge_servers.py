"""OpenAI-compatible chat-completions servers on 127.0.0.1 for the generating-judge tests.

``ChatServer`` answers ``POST /v1/chat/completions``; its ``reply(prompt)`` gives the text and
``failures`` lists HTTP statuses to answer first (429, 503 ...), one per request. Every request's
body and headers are recorded. ``model_reply`` builds a ``reply`` that is a tiny local causal LM's
greedy generation (chat template applied, as a vLLM server would).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class ChatServer(ThreadingHTTPServer):
    """A chat-completions endpoint whose replies come from ``reply(user prompt)``."""

    daemon_threads = True

    def __init__(self, reply: Callable[[str], str]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.reply = reply
        self.failures: list[int] = []
        self.fail_after: int | None = None
        """Answer 500 to every request after this many successful ones."""
        self.bodies: list[dict] = []
        self.headers_seen: list[dict] = []
        self.served = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1/chat/completions"

    def __enter__(self) -> ChatServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        server: ChatServer = self.server  # type: ignore[assignment]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with server.lock:
            server.bodies.append(body)
            server.headers_seen.append(dict(self.headers))
            status = server.failures.pop(0) if server.failures else 200
            if (
                status == 200
                and server.fail_after is not None
                and server.served >= server.fail_after
            ):
                status = 500
            if status == 200:
                server.served += 1
        if status != 200:
            self._send(status, {"error": {"message": f"scripted {status}"}})
            return
        text = server.reply(body["messages"][-1]["content"])
        choice = {"index": 0, "message": {"role": "assistant", "content": text}}
        self._send(200, {"id": "x", "object": "chat.completion", "choices": [choice]})

    def _send(self, status: int, obj: dict) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def model_reply(folder: Path, max_tokens: int) -> Callable[[str], str]:
    """Greedy generations of the causal LM in ``folder`` for a user prompt (thread-safe)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    lock = threading.Lock()

    def reply(prompt: str) -> str:
        text = tok.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
        ids = tok(text, add_special_tokens=False, return_tensors="pt")
        with lock, torch.no_grad():
            out = model.generate(
                **ids, max_new_tokens=max_tokens, do_sample=False, pad_token_id=tok.pad_token_id
            )
        new = out[0, ids["input_ids"].shape[1] :].tolist()
        if tok.eos_token_id in new:
            new = new[: new.index(tok.eos_token_id)]
        return tok.decode(new, skip_special_tokens=True)

    return reply
