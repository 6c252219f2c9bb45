"""Per-source observability: counts of items found / new / duplicate / failed, HTTP status
counts, last attempt and success; mirrored into Prometheus counters."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import Counter as PromCounter

from finpulse.schemas import utcnow

ITEMS = PromCounter("finpulse_ingest_items", "Items seen by ingest, by source and outcome",
                    ["source", "outcome"])
HTTP = PromCounter("finpulse_ingest_http_responses", "HTTP responses by source and status",
                   ["source", "status"])
POLLS = PromCounter("finpulse_ingest_polls", "Source polls by outcome", ["source", "outcome"])


@dataclass
class SourceStats:
    name: str
    type: str
    found: int = 0
    new: int = 0
    duplicate: int = 0
    failed: int = 0
    not_article: int = 0  # pages refused as home pages, section fronts, videos…
    last_not_article: str | None = None  # "URL: kind: reason" of the latest one
    http_status: Counter = field(default_factory=Counter)
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    ok: bool | None = None  # the latest poll's outcome

    def count(self, outcome: str, n: int = 1) -> None:
        setattr(self, outcome, getattr(self, outcome) + n)
        ITEMS.labels(self.name, outcome).inc(n)

    def skip_not_article(self, url: str, reason: str) -> None:
        self.count("not_article")
        self.last_not_article = f"{url}: {reason}"

    def start(self) -> Counter:
        """Begin a poll; returns a fresh counter for this poll's HTTP statuses."""
        self.last_attempt = utcnow()
        return Counter()

    def finish(self, statuses: Counter, error: str | None) -> None:
        for status, n in statuses.items():
            self.http_status[status] += n
            HTTP.labels(self.name, status).inc(n)
        self.ok = error is None
        if error is None:
            self.last_success = utcnow()
        else:
            self.last_error = error
        POLLS.labels(self.name, "ok" if error is None else "failed").inc()
