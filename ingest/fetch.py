"""Polite, bounded HTTP fetching (httpx, asynchronous). The only module here that does I/O
against websites; everything it returns is bytes plus what the headers said.

Per request: the address guard (``netguard``) on every hop, robots.txt (``robots``), the
host's gate (``hosts``), a conditional GET when validators are known, a total timeout, a
content-type check before the body is read, a body-size cap while it is read, bounded manual
redirects, and retries on 429/503 that honour Retry-After.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from finpulse.http import retry_after_s
from finpulse.settings import IngestSettings
from ingest.fetch_errors import (
    BadContentType,
    FetchFailed,
    HTTPStatusFailed,
    RateLimited,
    RobotsDisallowed,
    TooLarge,
    TooManyRedirects,
)
from ingest.hosts import HostGates
from ingest.netguard import AddressPolicy, checked_address
from ingest.robots import RobotsCache

Kind = Literal["feed", "sitemap", "page", "robots"]
REDIRECTS = {301, 302, 303, 307, 308}
ACCEPT = {
    "feed": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
    "sitemap": "application/xml, text/xml;q=0.9, */*;q=0.5",
    "page": "text/html, application/xhtml+xml;q=0.9, */*;q=0.3",
    "robots": "text/plain, */*;q=0.5",
}
ALLOWED_TYPES = {
    "feed": ("xml", "rss", "atom", "text/"),
    "sitemap": ("xml", "text/"),
    "page": ("text/html", "application/xhtml", "application/xml", "text/xml"),
    "robots": ("text/",),
}
BACKOFF_BASE_S = 1.0


@dataclass(frozen=True)
class Validators:
    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        out = {}
        if self.etag:
            out["If-None-Match"] = self.etag
        if self.last_modified:
            out["If-Modified-Since"] = self.last_modified
        return out


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int
    content_type: str | None
    body: bytes
    validators: Validators
    location: str | None = None  # of a redirect
    retry_after: str | None = None  # of a 429/503

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class FetchPolicy:
    user_agent: str
    timeout_s: float
    max_body_bytes: int
    per_host_concurrency: int
    per_host_rate_per_s: float
    addresses: AddressPolicy
    max_redirects: int = 5
    max_retries: int = 2
    max_retry_wait_s: float = 30.0
    robots_ttl_s: float = 3600.0

    @classmethod
    def from_settings(cls, ingest: IngestSettings) -> FetchPolicy:
        return cls(
            user_agent=ingest.user_agent, timeout_s=ingest.timeout_s,
            max_body_bytes=ingest.max_body_bytes, per_host_concurrency=ingest.per_host_concurrency,
            per_host_rate_per_s=ingest.per_host_rate_per_s,
            addresses=AddressPolicy.build(ingest.allow_private, ingest.allow_networks),
            max_redirects=ingest.max_redirects, max_retries=ingest.max_retries,
            max_retry_wait_s=ingest.max_retry_wait_s, robots_ttl_s=ingest.robots_ttl_s,
        )


def _type_ok(kind: Kind, content_type: str | None) -> bool:
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return any(t in media for t in ALLOWED_TYPES[kind])


class Fetcher:
    """Fetches URLs politely through an injected ``httpx.AsyncClient``."""

    def __init__(self, client: httpx.AsyncClient, policy: FetchPolicy) -> None:
        self.client = client
        self.policy = policy
        self.gates = HostGates(policy.per_host_concurrency, policy.per_host_rate_per_s)
        self.robots = RobotsCache(self._robots_text, ttl_s=policy.robots_ttl_s)

    async def get(self, url: str, kind: Kind, *, validators: Validators | None = None,
                  statuses: Counter | None = None) -> Fetched:
        """Fetch ``url``; raises a ``FetchFailed`` (retryable) or ``FetchRefused`` (permanent)."""
        statuses = statuses if statuses is not None else Counter()
        current = url
        for _hop in range(self.policy.max_redirects + 1):
            if kind != "robots":
                await self._check_robots(current)
            fetched = await self._with_retries(current, kind, validators, statuses)
            location = fetched.location if fetched.status in REDIRECTS else None
            if location is None:
                return fetched
            current = urljoin(current, location)
            if urlsplit(current).scheme not in ("http", "https"):
                raise TooManyRedirects(f"{url}: redirect to a non-http URL {current!r}")
            validators = None  # validators belong to the first URL only
        raise TooManyRedirects(f"{url}: more than {self.policy.max_redirects} redirects")

    async def _check_robots(self, url: str) -> None:
        await self._address(url)  # refuse a private address before even asking its robots.txt
        rules = await self.robots.rules(url)
        gate = self.gates.get(urlsplit(url).netloc)
        gate.crawl_delay = rules.crawl_delay(self.policy.user_agent) or 0.0
        if not rules.allowed(url, self.policy.user_agent):
            raise RobotsDisallowed(f"{url}: {rules.reason or 'disallowed by robots.txt'}")

    async def _robots_text(self, robots_url: str) -> tuple[int | None, str]:
        try:
            fetched = await self.get(robots_url, "robots")
        except HTTPStatusFailed as exc:
            return exc.status, ""
        except (FetchFailed, BadContentType, TooLarge, TooManyRedirects):
            return None, ""
        return fetched.status, fetched.body.decode("utf-8", "replace")

    async def _with_retries(self, url: str, kind: Kind, validators: Validators | None,
                            statuses: Counter) -> Fetched:
        gate = self.gates.get(urlsplit(url).netloc)
        for attempt in range(self.policy.max_retries + 1):
            async with gate.slot():
                fetched = await self._once(url, kind, validators)
            statuses[str(fetched.status)] += 1
            if fetched.status not in (429, 503):
                return self._accept(url, kind, fetched)
            wait = retry_after_s(fetched.retry_after)
            wait = BACKOFF_BASE_S * 2 ** attempt if wait is None else wait
            if wait > self.policy.max_retry_wait_s or attempt == self.policy.max_retries:
                gate.pause_until(time.monotonic() + wait)
                raise RateLimited(url, fetched.status, f"(retry after {wait:.0f}s)")
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    def _accept(self, url: str, kind: Kind, fetched: Fetched) -> Fetched:
        if fetched.status in REDIRECTS or fetched.status == 304 or 200 <= fetched.status < 300:
            return fetched
        raise HTTPStatusFailed(url, fetched.status)

    async def _once(self, url: str, kind: Kind, validators: Validators | None) -> Fetched:
        """One request; the body is read only for a 2xx of an acceptable type."""
        ip = await self._address(url)
        target, extensions = _pinned(url, ip)
        headers = {"User-Agent": self.policy.user_agent, "Accept": ACCEPT[kind],
                   "Host": _host_header(url), **(validators.headers() if validators else {})}
        try:
            async with asyncio.timeout(self.policy.timeout_s):
                async with self.client.stream("GET", target, headers=headers,
                                              extensions=extensions) as resp:
                    return await self._read(url, kind, resp)
        except TimeoutError as exc:
            raise FetchFailed(f"{url}: timed out after {self.policy.timeout_s:g}s") from exc
        except httpx.TimeoutException as exc:
            raise FetchFailed(f"{url}: timed out ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise FetchFailed(f"{url}: {type(exc).__name__}: {exc}") from exc

    async def _address(self, url: str):
        try:
            return await checked_address(url, self.policy.addresses)
        except OSError as exc:
            raise FetchFailed(f"{url}: cannot resolve host: {exc}") from exc

    async def _read(self, url: str, kind: Kind, resp: httpx.Response) -> Fetched:
        content_type = resp.headers.get("content-type")
        if not 200 <= resp.status_code < 300:
            return Fetched(url, resp.status_code, content_type, b"", Validators(),
                           location=resp.headers.get("location"),
                           retry_after=resp.headers.get("retry-after"))
        if not _type_ok(kind, content_type):
            raise BadContentType(f"{url}: content type {content_type!r} is not acceptable for a {kind}")
        return Fetched(url, resp.status_code, content_type, await self._body(url, resp),
                       Validators(resp.headers.get("etag"), resp.headers.get("last-modified")))

    async def _body(self, url: str, resp: httpx.Response) -> bytes:
        limit = self.policy.max_body_bytes
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise TooLarge(f"{url}: body of {int(declared)} bytes is over the {limit}-byte limit")
        chunks, size = [], 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"{url}: body is over the {limit}-byte limit")
            chunks.append(chunk)
        return b"".join(chunks)


def _host_header(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{parts.port}" if parts.port else host


def _pinned(url: str, ip) -> tuple[str, dict]:
    """``url`` rewritten to connect to the checked address ``ip`` (the name stays in the Host
    header and is used for TLS), so DNS is not consulted a second time."""
    if ip is None:
        return url, {}
    parts = urlsplit(url)
    host = f"[{ip}]" if ip.version == 6 else str(ip)
    netloc = f"{host}:{parts.port}" if parts.port else host
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), extensions


def make_client(policy: FetchPolicy) -> httpx.AsyncClient:
    """The client the crawler uses: no automatic redirects (they are checked hop by hop), no
    environment proxies, generous pool."""
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(policy.timeout_s),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        headers={"User-Agent": policy.user_agent},
    )
