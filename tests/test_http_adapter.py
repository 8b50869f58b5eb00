"""The http adapter against a small scoring server on 127.0.0.1 (started per test)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rmeval.harness.adapters.http import HTTPRewardModel
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import ScoreRequest

REQUESTS = [
    ScoreRequest("what is two plus two", "four", "4"),
    ScoreRequest("capital of france", "paris is the capital"),
    ScoreRequest("say hi", "hi"),
    ScoreRequest("count", "one two three four five"),
    ScoreRequest("spell cat", "c a t", "cat"),
]


def plain_score(item: dict) -> float:
    """What the fake server computes: response length, +0.5 when a reference is sent."""
    return len(item["response"]) + (0.5 if item.get("reference") else 0.0)


class ScoringServer(ThreadingHTTPServer):
    """Records every request body; ``behave(body, n)`` returns (status, reply object or bytes)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: list[dict] = []
        self.headers_seen: list[dict] = []
        self.behave = lambda body, n: (200, {"scores": [plain_score(x) for x in body["inputs"]]})

    def handle_error(self, request, client_address) -> None:
        pass  # the timeout test's client hangs up before the slow reply: expected

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/score"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.bodies.append(body)
        self.server.headers_seen.append(dict(self.headers))
        status, reply = self.server.behave(body, len(self.server.bodies))
        if callable(reply):  # the test writes the raw answer itself (headers included)
            reply(self)
            return
        headers = {}
        if isinstance(reply, tuple):
            reply, headers = reply
        data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    srv = ScoringServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


def score(model: HTTPRewardModel, requests=REQUESTS) -> list[float]:
    return [s.value for s in model.forward(model.encode(requests))]


def test_plain_batches_keep_order(server):
    model = HTTPRewardModel(server.url, batch_size=2)
    assert score(model) == [
        plain_score({"response": r.response, "reference": r.reference}) for r in REQUESTS
    ]
    assert [len(b["inputs"]) for b in server.bodies] == [2, 2, 1]
    assert server.bodies[0]["inputs"][0] == {
        "prompt": "what is two plus two",
        "response": "four",
        "reference": "4",
    }


def test_batching_and_order_do_not_change_scores(server):
    model = HTTPRewardModel(server.url, batch_size=3)
    encoded = model.encode(REQUESTS)
    whole = [s.value for s in model.forward(encoded)]
    backwards = [s.value for s in model.forward(encoded[::-1])][::-1]
    singles = [model.forward([e])[0].value for e in encoded]
    assert whole == backwards == singles


def test_bare_url_spec_and_scheme_check(server):
    assert HTTPRewardModel(server.url[len("http:") :]).url == server.url
    with pytest.raises(RmevalError, match="http:// or https://"):
        HTTPRewardModel("file:///etc/passwd")


def test_retries_5xx_with_backoff_then_succeeds(server):
    server.behave = lambda body, n: (
        (503, {"error": "busy"}) if n <= 2 else (200, {"scores": [1.0] * len(body["inputs"])})
    )
    model = HTTPRewardModel(server.url, retries=3, backoff=0.05)
    start = time.perf_counter()
    assert score(model, REQUESTS[:2]) == [1.0, 1.0]
    assert len(server.bodies) == 3
    assert time.perf_counter() - start >= 0.05 + 0.1  # waited backoff, then 2 × backoff


def test_gives_up_after_bounded_retries(server):
    server.behave = lambda body, n: (500, {"error": "down"})
    model = HTTPRewardModel(server.url, retries=2, backoff=0)
    with pytest.raises(RmevalError, match="after 3 tries"):
        score(model)
    assert len(server.bodies) == 3


def test_client_error_is_not_retried(server):
    server.behave = lambda body, n: (404, {"error": "no route"})
    with pytest.raises(RmevalError, match="404"):
        score(HTTPRewardModel(server.url, retries=3, backoff=0))
    assert len(server.bodies) == 1


def test_timeout_is_retried_then_reported(server):
    def slow(body, n):
        time.sleep(0.3)
        return 200, {"scores": [0.0] * len(body["inputs"])}

    server.behave = slow
    with pytest.raises(RmevalError, match="after 2 tries"):
        score(HTTPRewardModel(server.url, timeout=0.1, retries=1, backoff=0), REQUESTS[:1])


def test_connection_refused_is_reported():
    srv = ScoringServer()
    url = srv.url
    srv.server_close()  # nothing listens on that port any more
    with pytest.raises(RmevalError, match="after 2 tries"):
        score(HTTPRewardModel(url, retries=1, backoff=0), REQUESTS[:1])


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ({"scores": [1.0]}, "1 scores for 2 inputs"),
        ({"scores": [1.0, "high"]}, 'score 1 is "high", not a number'),
        ({"scores": [1.0, True]}, "not a number"),
        ({"scores": [1.0, None]}, "not a number"),
        ({"result": [1.0, 2.0]}, "no 'scores' list"),
        ([1.0, 2.0], "no 'scores' list"),
        (b"<html>oops</html>", "not JSON"),
    ],
)
def test_bad_replies_are_one_clear_error(server, reply, message):
    server.behave = lambda body, n: (200, reply)
    with pytest.raises(RmevalError, match=message):
        score(HTTPRewardModel(server.url, retries=3, backoff=0), REQUESTS[:2])
    assert len(server.bodies) == 1  # a malformed 200 reply is not retried


def test_openai_format(server):
    def reply(body, n):
        items = [
            {"index": i, "score": float(len(m[1]["content"]))} for i, m in enumerate(body["input"])
        ]
        items[0] = {"index": 0, "data": [float(len(body["input"][0][1]["content"]))]}
        return 200, {"object": "list", "data": items[::-1]}  # out of order on purpose

    server.behave = reply
    model = HTTPRewardModel(server.url, format="openai", model="my-rm", batch_size=4)
    assert score(model) == [float(len(r.response)) for r in REQUESTS]
    assert server.bodies[0]["model"] == "my-rm"
    assert server.bodies[0]["input"][1] == [
        {"role": "user", "content": "capital of france"},
        {"role": "assistant", "content": "paris is the capital"},
    ]
    server.behave = lambda body, n: (
        200,
        {"data": [{"index": 0, "score": 1.0}, {"index": 0, "score": 2.0}]},
    )
    with pytest.raises(RmevalError, match="index"):
        score(HTTPRewardModel(server.url, format="openai", retries=0), REQUESTS[:2])


def test_api_key_header_from_environment(server, monkeypatch):
    monkeypatch.setenv("RM_TEST_KEY", "s3cret")
    score(HTTPRewardModel(server.url, api_key_env="RM_TEST_KEY"), REQUESTS[:1])
    assert server.headers_seen[0]["Authorization"] == "Bearer s3cret"
    monkeypatch.delenv("RM_TEST_KEY")
    with pytest.raises(RmevalError, match="RM_TEST_KEY"):
        score(HTTPRewardModel(server.url, api_key_env="RM_TEST_KEY"), REQUESTS[:1])


def test_fingerprint_ignores_transport_settings(server):
    base = HTTPRewardModel(server.url)
    assert (
        base.fingerprint()
        == HTTPRewardModel(server.url, batch_size=1, timeout=5, retries=0).fingerprint()
    )
    assert base.fingerprint() != HTTPRewardModel(server.url, revision="v2").fingerprint()
    assert base.fingerprint() != HTTPRewardModel(server.url, format="openai").fingerprint()
    with pytest.raises(RmevalError, match="batch_size=0"):
        HTTPRewardModel(server.url, batch_size=0)
    with pytest.raises(RmevalError, match="format=grpc"):
        HTTPRewardModel(server.url, format="grpc")


def _drip(where: str):
    """A reply that sends one byte every 0.1 s (10 s in all), in the headers or in the body."""
    body = json.dumps({"scores": [1.0]}).encode() + b" " * 100

    def write(handler) -> None:
        version = b"HTTP/1.0" if where.endswith("1.0") else b"HTTP/1.1"  # 1.0: conn.sock dropped
        head = version + b" 200 OK\r\nContent-Type: application/json\r\n"
        head += b"Content-Length: %d\r\n" % len(body)
        slow, fast = (head + b"X-Pad: " + b"a" * 100, b"\r\n\r\n" + body)
        if where.startswith("body"):
            slow, fast = body, head + b"\r\n"
            handler.wfile.write(fast)
        try:
            for byte in slow:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(0.1)
        except OSError:
            return  # the client hung up at its deadline

    return write


@pytest.mark.parametrize("where", ["headers", "body", "body-http1.0"])
def test_timeout_is_an_overall_deadline_for_a_dripping_reply(server, where):
    server.behave = lambda body, n: (200, _drip(where))
    model = HTTPRewardModel(server.url, timeout=0.5, retries=0)
    start = time.monotonic()
    with pytest.raises(RmevalError, match="timeout=0.5"):
        score(model, REQUESTS[:1])
    # each byte comes well within 0.5 s, so a per-read timeout would wait the whole 10 s
    assert time.monotonic() - start < 3.0


def test_429_with_retry_after_is_retried_and_scores_equal(server):
    expected = score(HTTPRewardModel(server.url))
    server.bodies.clear()
    ok = server.behave
    server.behave = lambda body, n: (
        (429, ({"error": "slow down"}, {"Retry-After": "1"})) if n == 1 else ok(body, n)
    )
    model = HTTPRewardModel(server.url, retries=2, backoff=0)
    start = time.monotonic()
    assert score(model) == expected
    assert time.monotonic() - start >= 1.0  # backoff=0: only Retry-After made it wait
    assert len(server.bodies) == 2


def test_429_that_persists_advises_lower_concurrency(server):
    server.behave = lambda body, n: (429, ({"error": "slow down"}, {"Retry-After": "0"}))
    with pytest.raises(RmevalError, match=r"after 2 tries \(last: 429.*lower concurrency="):
        score(HTTPRewardModel(server.url, retries=1, backoff=0), REQUESTS[:1])


class _InFlight:
    """Counts requests being handled at once; the first ``gate`` wait for each other."""

    def __init__(self, gate: int) -> None:
        self.lock = threading.Lock()
        self.now = self.most = 0
        self.barrier = threading.Barrier(gate, timeout=5) if gate > 1 else None

    def __call__(self, body, n):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        if self.barrier is not None and n <= self.barrier.parties:
            self.barrier.wait()  # breaks (and the test fails) unless `gate` arrive together
        time.sleep(0.01 * (10 - n % 10))  # later requests answer sooner: order must not matter
        with self.lock:
            self.now -= 1
        return 200, {"scores": [plain_score(x) for x in body["inputs"]]}


@pytest.mark.parametrize("concurrency", [1, 4])
def test_concurrency_bounds_requests_in_flight_and_keeps_order(server, concurrency):
    requests = REQUESTS * 3  # 15 requests, 8 POSTs of 2
    expected = [plain_score({"response": r.response, "reference": r.reference}) for r in requests]
    server.behave = counter = _InFlight(concurrency)
    model = HTTPRewardModel(server.url, batch_size=2, concurrency=concurrency)
    assert score(model, requests) == expected
    assert len(server.bodies) == 8
    assert counter.most == concurrency
    assert model.fingerprint() == HTTPRewardModel(server.url).fingerprint()


def test_arguments_are_declared_and_typos_refused(server):
    decl = HTTPRewardModel.declared()
    assert {"timeout", "retries", "concurrency", "batch_size", "api_key_env"} <= set(decl)
    assert not any(decl[k].output for k in ("timeout", "retries", "concurrency", "batch_size"))
    assert decl["format"].output
    with pytest.raises(RmevalError, match="did you mean 'concurrency'"):
        HTTPRewardModel(server.url, concurency=4)
    with pytest.raises(RmevalError, match="concurrency=0"):
        HTTPRewardModel(server.url, concurrency=0)
