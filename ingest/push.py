"""The push endpoint (``type: push``): other systems POST articles as JSON.

Body: one object or a list of objects with ``text`` (required) and optionally ``title``,
``url``, ``published``, ``author``, ``id``. Valid items are queued for the crawler's loop
(which deduplicates and publishes them) and answered 202 with their ids; an invalid body is
answered 400 naming the problem, and dead-lettered. Runs in a thread (stdlib HTTP server).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from finpulse.schemas import Article, utcnow
from ingest.dates import parse_date
from ingest.replay import RowError, row_to_article
from ingest.replay_rows import BadRow, Row, check_row
from ingest.sources import PushSource
from ingest.tickers import Watchlist

log = logging.getLogger(__name__)
MAX_ITEMS = 1000


@dataclass(frozen=True)
class Rejected:
    source: str
    reason: str
    body: bytes


def parse_push(body: bytes, *, source: str, watchlist: Watchlist) -> list[Article]:
    """The articles in a push body; ``ValueError`` names the first bad item."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"body is not valid JSON: {exc}") from exc
    items = data if isinstance(data, list) else [data]
    if len(items) > MAX_ITEMS:
        raise ValueError(f"at most {MAX_ITEMS} items per request, got {len(items)}")
    articles = []
    now = utcnow()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"item {i}: expected a JSON object, got {type(item).__name__}")
        checked = check_row(i, item, b"")
        if isinstance(checked, BadRow):
            raise ValueError(f"item {i}: {checked.reason}")
        published = checked.data.get("published")
        try:
            article = row_to_article(Row(i, checked.data), source=source, now=now, jitter_s=0,
                                     file_key="push", watchlist=watchlist,
                                     published=_date(published, i))
        except RowError as exc:
            raise ValueError(f"item {i}: {exc}") from exc
        if not checked.data.get("url") and not checked.data.get("id"):
            raise ValueError(f"item {i}: needs a 'url' or an 'id' (the article's identity)")
        articles.append(article)
    return articles


def _date(value: str | None, i: int):
    if value is None:
        return None
    parsed = parse_date(value)
    if parsed is None:
        raise ValueError(f"item {i}: 'published' is not an ISO 8601 or RFC 2822 date: {value!r}")
    return parsed


class PushServer:
    """Listens on the source's URL; accepted articles and rejections go to ``inbox``."""

    def __init__(self, source: PushSource, watchlist: Watchlist, inbox: queue.Queue) -> None:
        parts = urlsplit(source.url)
        self.source, self.path = source, parts.path or "/"
        handler = _handler(self, watchlist, inbox)
        self.httpd = ThreadingHTTPServer((parts.hostname, parts.port), handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, name=f"push-{source.name}", daemon=True
        )

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def start(self) -> PushServer:
        self.thread.start()
        log.info("push source %s listening on %s", self.source.name, self.source.url)
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(server: PushServer, watchlist: Watchlist, inbox: queue.Queue) -> type:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: object) -> None:
            log.debug("push %s: " + fmt, server.source.name, *args)

        def _reply(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # http.server's naming
            if urlsplit(self.path).path != server.path:
                return self._reply(404, {"error": f"POST articles to {server.path}"})
            length = int(self.headers.get("Content-Length") or 0)
            if length > server.source.max_body_bytes:
                return self._reply(413, {"error": f"body over {server.source.max_body_bytes} bytes"})
            body = self.rfile.read(length)
            try:
                articles = parse_push(body, source=server.source.name, watchlist=watchlist)
            except ValueError as exc:
                inbox.put(Rejected(server.source.name, str(exc), body))
                return self._reply(400, {"error": str(exc)})
            for article in articles:
                inbox.put(article)
            return self._reply(202, {"accepted": [a.id for a in articles]})

    return Handler
