"""Fixtures for the alerts tests: a local webhook receiver (scripted status codes, every
request recorded), rule files, and settings with short windows and fast retries."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from alerts.signing import new_secret
from finpulse.settings import AlertSettings, KafkaSettings, Settings, WatchdogSettings, WebhookReceiver


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver on localhost: answers with ``script`` (then ``default``)."""

    secret: str
    script: list[int] = field(default_factory=list)
    default: int = 200
    extra_headers: dict[str, str] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def verified(self) -> list[dict[str, Any]]:
        """Every request's payload, each checked with the standardwebhooks library."""
        hook = Webhook(self.secret)
        return [hook.verify(r.body, r.headers) for r in self.requests]

    def wait_for(self, n: int, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.requests) >= n:
                return list(self.requests)
            time.sleep(0.05)
        raise AssertionError(f"receiver got {len(self.requests)} request(s), expected {n}")


def _handler(rx: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's naming
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with rx.lock:
                rx.requests.append(Received(self.path, dict(self.headers.items()), body))
                status = rx.script.pop(0) if rx.script else rx.default
            self.send_response(status)
            for k, v in rx.extra_headers.items():
                self.send_header(k, v)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


class Server:
    """Serves a ``Receiver`` on a fixed localhost port; can go down and come back."""

    def __init__(self, rx: Receiver, port: int) -> None:
        self.rx, self.port = rx, port
        self.httpd: ThreadingHTTPServer | None = None

    def start(self) -> None:
        ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self.rx))
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def receiver_server() -> Iterator[Server]:
    """A receiver that is *not* started yet (``.start()``, ``.stop()``)."""
    rx = Receiver(secret=new_secret())
    server = Server(rx, free_port())
    rx.url = f"http://127.0.0.1:{server.port}/hook"
    yield server
    server.stop()


@pytest.fixture
def receiver(receiver_server: Server) -> Receiver:
    receiver_server.start()
    return receiver_server.rx


BURST_RULES = """
rules:
  - name: burst
    scope: ticker
    keys: [JPM, BAC]
    metric: bearish_share
    novel_only: true
    window: 4s
    bucket: 1s
    min_count: 3
    detector: {type: threshold, above: 0.6, clear: 0.3}
    for: 1s
    severity: critical
    labels: {team: banks}
"""


@pytest.fixture
def alert_settings(
    tmp_path: Path, make_settings: Callable[..., Settings], migrated: Callable[[Settings], Settings]
):
    """``alert_settings(kafka, receiver, rules=..., **alerts_overrides)``: migrated Settings
    whose rules file holds ``rules``, with fast evaluation and retries."""

    def build(kafka: KafkaSettings | None, rx: Receiver | None, rules: str = BURST_RULES,
              database_url: str | None = None, **overrides: Any) -> Settings:
        rules_file = tmp_path / "rules.yaml"
        rules_file.write_text(rules, encoding="utf-8")
        receivers = [WebhookReceiver(name="rx", url=rx.url, secret=rx.secret, timeout_s=2)] if rx else []
        # The watchdog is off unless a test turns it on: its heartbeat is an alert and a POST
        # of its own, and these tests count the market's.
        conf = dict(rules_file=rules_file, receivers=receivers, evaluate_every_s=0.3,
                    dispatch_poll_s=0.1, max_attempts=3, retry_base_s=0.2, retry_max_s=1.0,
                    session_timeout_s=6, lateness_s=30, watchdog=WatchdogSettings(enabled=False))
        conf.update(overrides)
        return migrated(make_settings(kafka=kafka, database_url=database_url, alerts=AlertSettings(**conf)))

    return build
