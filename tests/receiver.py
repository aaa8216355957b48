"""A real HTTP receiver on 127.0.0.1, in its own process, for the delivery tests and the
delivery benchmark.

The receiver answers each POST with the next scripted :class:`Reply` (a status, a
``Retry-After`` header, a hang), else with ``outage`` while one is set, else 200 (or a 500
for a share ``error_rate`` of requests); it records every request and checks each signature
with the engine's shipped verifier (:func:`pam_proactive.suggestions.signing.verify`), the
way a receiver in production would.

The ``receiver`` fixture starts ``python tests/receiver.py`` and returns a :class:`Receiver`
client: setting ``script``, ``outage`` or ``delay`` reconfigures the process, reading
``requests`` or ``max_in_flight`` asks it (over ``/_control`` and ``/_requests``). The
benchmark runs the same process with ``--delay 0.2 --error-rate 0.05`` and reads
``GET /stats``. The process prints ``port <n>`` and serves until its stdin closes.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pam_proactive.suggestions.signing import WebhookVerificationError, verify

# The tests' webhook secret (Standard Webhooks form: whsec_ + base64 of 32 bytes).
SECRET = "whsec_" + "c2VjcmV0LWZvci10aGUtZGVsaXZlcnktdGVzdHMtMzI="


@dataclass(frozen=True)
class Reply:
    """One scripted answer: ``status``, an optional ``Retry-After`` value, and ``hang``
    seconds to wait before answering (a receiver that does not answer in time)."""

    status: int = 200
    retry_after: str | None = None
    hang: float = 0.0


@dataclass
class Received:
    headers: dict[str, str]  # names in lower case (HTTP header names are case-insensitive)
    body: bytes
    verified: str | None  # the webhook-id when the shipped verifier accepted it, else None
    status: int = 0  # the status answered


@dataclass
class ReceiverState:
    """The receiver process's state: its script and every request it got."""

    secret: str = SECRET
    script: list[Reply] = field(default_factory=list)
    outage: int | None = None  # answer this status to everything while set
    delay: float = 0.0  # seconds before every answer
    error_rate: float = 0.0  # share of answers that are 500s (the benchmark's receiver)
    requests: list[Received] = field(default_factory=list)
    in_flight: int = 0  # requests being answered right now
    max_in_flight: int = 0  # the most ever answered at once
    lock: threading.Lock = field(default_factory=threading.Lock)
    rng: random.Random = field(default_factory=lambda: random.Random(14))

    def answer(self, headers: dict[str, str], body: bytes) -> Reply:
        try:
            verified: str | None = verify(self.secret, headers, body)
        except WebhookVerificationError:
            verified = None
        with self.lock:
            if self.script:
                reply = self.script.pop(0)
            elif self.outage is not None:
                reply = Reply(self.outage)
            elif self.error_rate and self.rng.random() < self.error_rate:
                reply = Reply(500)
            else:
                reply = Reply(200)
            self.requests.append(Received(headers, body, verified, reply.status))
            return reply

    def stats(self) -> dict[str, Any]:
        """Counts for the benchmark: requests, unverified ones, ids accepted, and the most
        times one id was accepted."""
        with self.lock:
            accepted = _accepted(self.requests)
            return {"requests": len(self.requests),
                    "unverified": sum(1 for r in self.requests if r.verified is None),
                    "accepted_ids": len(accepted),
                    "max_accepted_per_id": max(accepted.values(), default=0)}

    def control(self, change: dict[str, Any]) -> None:
        with self.lock:
            if "script" in change:
                self.script = [Reply(**step) for step in change["script"]]
            for name in ("outage", "delay"):
                if name in change:
                    setattr(self, name, change[name])

    def dump(self) -> dict[str, Any]:
        with self.lock:
            return {"max_in_flight": self.max_in_flight, "requests": [
                {"headers": r.headers, "body": base64.b64encode(r.body).decode(),
                 "verified": r.verified, "status": r.status} for r in self.requests]}


def _accepted(requests: list[Received]) -> Counter[str]:
    return Counter(r.verified or "unverified" for r in requests if 200 <= r.status < 300)


def _handler(state: ReceiverState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _json(self, data: dict[str, Any]) -> None:
            body = json.dumps(data).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path == "/_control":
                state.control(json.loads(body))
                self._json({})
                return
            with state.lock:
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
            reply = state.answer({k.lower(): v for k, v in self.headers.items()}, body)
            wait = reply.hang + state.delay
            if wait:
                threading.Event().wait(wait)
            with state.lock:
                state.in_flight -= 1
            try:
                self.send_response(reply.status)
                if reply.retry_after is not None:
                    self.send_header("Retry-After", reply.retry_after)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:  # the sender gave up (timeout) and closed the connection
                pass

        def do_GET(self) -> None:
            self._json(state.dump() if self.path == "/_requests" else state.stats())

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hanging answer never holds up the server's shutdown
    request_queue_size = 256


class Receiver:
    """The test's handle on a receiver process: the same names as its state."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._base = url.removesuffix("/hook")

    def _call(self, path: str, change: dict[str, Any] | None = None) -> Any:
        data = None if change is None else json.dumps(change).encode()
        request = urllib.request.Request(self._base + path, data=data)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def _set(self, **change: Any) -> None:
        self._call("/_control", change)

    # Write-only settings of the process: reading them back is never needed.
    @property
    def script(self) -> list[int | Reply]:
        raise AttributeError("script is write-only")

    @script.setter
    def script(self, steps: list[int | Reply]) -> None:
        """Answers to give next, in order: statuses or :class:`Reply`."""
        self._set(script=[asdict(s if isinstance(s, Reply) else Reply(s)) for s in steps])

    @property
    def outage(self) -> int | None:
        raise AttributeError("outage is write-only")

    @outage.setter
    def outage(self, status: int | None) -> None:
        """A status answered to everything while set; None: healthy again."""
        self._set(outage=status)

    @property
    def delay(self) -> float:
        raise AttributeError("delay is write-only")

    @delay.setter
    def delay(self, seconds: float) -> None:
        """Seconds before every answer."""
        self._set(delay=seconds)

    @property
    def requests(self) -> list[Received]:
        """Every request received so far, in order."""
        return [Received(r["headers"], base64.b64decode(r["body"]), r["verified"], r["status"])
                for r in self._call("/_requests")["requests"]]

    @property
    def max_in_flight(self) -> int:
        """The most requests the receiver was answering at once."""
        return int(self._call("/_requests")["max_in_flight"])

    def accepted(self) -> Counter[str]:
        """Requests answered 2xx, per webhook-id ("unverified" for a bad signature): what
        the receiver's app processed. A notification delivered once counts 1."""
        return _accepted(self.requests)


def start(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Start a receiver process (``args``: its command-line flags); return it and its URL."""
    tests = Path(__file__).resolve().parent
    proc = subprocess.Popen([sys.executable, str(tests / "receiver.py"), *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env={"PYTHONPATH": str(tests), "PATH": "/usr/bin:/bin"})
    assert proc.stdout is not None
    words = proc.stdout.readline().split()
    if len(words) != 2 or words[0] != "port":
        proc.kill()
        raise RuntimeError("the receiver process did not start")
    return proc, f"http://127.0.0.1:{words[1]}/hook"


def stop(proc: subprocess.Popen[str]) -> None:
    """Stop a receiver process: close its stdin, then wait (kill if it lingers)."""
    if proc.stdin is not None:
        proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver process on loopback, stopped after the test."""
    proc, url = start()
    try:
        yield Receiver(url)
    finally:
        stop(proc)


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args.add_argument("--error-rate", type=float, default=0.0, help="share answered 500")
    args.add_argument("--secret", default=SECRET)
    args.add_argument("--port", type=int, default=0, help="default: any free port")
    ns = args.parse_args()
    state = ReceiverState(secret=ns.secret, delay=ns.delay, error_rate=ns.error_rate)
    server = _Server(("127.0.0.1", ns.port), _handler(state))
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    print(f"port {server.server_address[1]}", flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin (or exits)
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
