"""robots.txt: parsed with the standard library, cached per origin for ``ttl_s``.

Following RFC 9309: a 4xx robots.txt means everything is allowed; a 5xx or an unreachable one
means nothing is, until it is fetched again (after a shorter wait).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

UNREACHABLE_TTL_S = 60.0


@dataclass(frozen=True)
class Rules:
    parser: RobotFileParser | None  # None: allow all
    disallow_all: bool = False
    reason: str = ""

    def allowed(self, url: str, user_agent: str) -> bool:
        if self.disallow_all:
            return False
        return self.parser is None or self.parser.can_fetch(user_agent, url)

    def crawl_delay(self, user_agent: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(user_agent)
        return float(delay) if delay is not None else None


def parse_robots(text: str) -> Rules:
    parser = RobotFileParser()
    parser.parse(text.splitlines())
    return Rules(parser)


ALLOW_ALL = Rules(None)

# (status or None when unreachable, body text) for an origin's robots.txt URL.
RobotsGetter = Callable[[str], Awaitable[tuple[int | None, str]]]


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class RobotsCache:
    """Rules per origin, fetched through ``get`` on first use and again after ``ttl_s``."""

    def __init__(self, get: RobotsGetter, *, ttl_s: float) -> None:
        self._get = get
        self.ttl_s = ttl_s
        self._rules: dict[str, tuple[float, Rules]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def rules(self, url: str) -> Rules:
        key = origin(url)
        async with self._locks.setdefault(key, asyncio.Lock()):  # one fetch per origin at a time
            cached = self._rules.get(key)
            if cached and cached[0] > time.monotonic():
                return cached[1]
            return await self._refresh(key)

    async def _refresh(self, key: str) -> Rules:
        status, text = await self._get(key + "/robots.txt")
        if status is None or status >= 500:
            why = "unreachable" if status is None else f"answered HTTP {status}"
            reason = f"{key}/robots.txt {why}: nothing may be fetched (RFC 9309)"
            rules = Rules(None, disallow_all=True, reason=reason)
            ttl = min(self.ttl_s, UNREACHABLE_TTL_S)
        elif status >= 400:
            rules, ttl = ALLOW_ALL, self.ttl_s
        else:
            rules, ttl = parse_robots(text), self.ttl_s
        self._rules[key] = (time.monotonic() + ttl, rules)
        return rules
