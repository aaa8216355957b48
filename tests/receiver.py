"""A real HTTP receiver on 127.0.0.1 for the delivery tests and the delivery benchmark.

It answers each POST with the next scripted :class:`Reply` (a status, a ``Retry-After``
header, a hang), else with ``outage`` while one is set, else 200; it records every request
and checks each signature with the engine's shipped verifier
(:func:`pam_proactive.suggestions.signing.verify`), the way a receiver in production would.

Run as a process for the benchmark: ``python tests/receiver.py --delay 0.2 --error-rate 0.05``
prints ``port <n>`` and serves until stdin closes; ``GET /stats`` returns its counts as JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
class Receiver:
    """Answers POSTs from a script, then ``outage`` (while set), then 200; records them."""

    url: str = ""
    secret: str = SECRET
    script: list[int | Reply] = field(default_factory=list)
    outage: int | None = None  # answer this status to everything while set
    requests: list[Received] = field(default_factory=list)
    delay: float = 0.0  # seconds before every answer
    error_rate: float = 0.0  # share of answers that are 500s (the benchmark's receiver)
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
                step = self.script.pop(0)
                reply = step if isinstance(step, Reply) else Reply(step)
            elif self.outage is not None:
                reply = Reply(self.outage)
            elif self.error_rate and self.rng.random() < self.error_rate:
                reply = Reply(500)
            else:
                reply = Reply(200)
            self.requests.append(Received(headers, body, verified, reply.status))
            return reply

    def accepted(self) -> Counter[str]:
        """Requests answered 2xx, per webhook-id: what the receiver's app processed (with
        no deduplication of its own). A notification delivered once counts 1."""
        with self.lock:
            return Counter(r.verified or "unverified" for r in self.requests
                           if 200 <= r.status < 300)

    def stats(self) -> dict[str, Any]:
        """Counts for the benchmark: requests, unverified ones, ids accepted, and the most
        times one id was accepted."""
        accepted = self.accepted()
        with self.lock:
            return {"requests": len(self.requests),
                    "unverified": sum(1 for r in self.requests if r.verified is None),
                    "accepted_ids": len(accepted),
                    "max_accepted_per_id": max(accepted.values(), default=0)}


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                receiver.in_flight += 1
                receiver.max_in_flight = max(receiver.max_in_flight, receiver.in_flight)
            reply = receiver.answer({k.lower(): v for k, v in self.headers.items()}, body)
            wait = reply.hang + receiver.delay
            if wait:
                threading.Event().wait(wait)
            with receiver.lock:
                receiver.in_flight -= 1
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
            body = json.dumps(receiver.stats()).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hanging answer never holds up the server's shutdown
    request_queue_size = 256


def serve(receiver: Receiver) -> tuple[_Server, threading.Thread]:
    """Start ``receiver`` on a free loopback port (its ``url`` is set); return the server."""
    server = _Server(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    server, thread = serve(rec)
    yield rec
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args.add_argument("--error-rate", type=float, default=0.0, help="share answered 500")
    args.add_argument("--secret", default=SECRET)
    ns = args.parse_args()
    rec = Receiver(secret=ns.secret, delay=ns.delay, error_rate=ns.error_rate)
    server, _ = serve(rec)
    print(f"port {server.server_address[1]}", flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin (or exits)
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
