"""Why a fetch failed, decided where it happens: retryable (try again next poll) or permanent."""

from __future__ import annotations

from finpulse.errors import PermanentError, RetryableError


class FetchFailed(RetryableError):
    """Network trouble, a timeout or a server error: the next poll may succeed."""

    status: int | None = None


class HTTPStatusFailed(FetchFailed):
    def __init__(self, url: str, status: int, detail: str = "") -> None:
        super().__init__(f"{url}: HTTP {status}{(' ' + detail) if detail else ''}")
        self.status = status


class RateLimited(HTTPStatusFailed):
    """429/503 with a Retry-After longer than we are willing to wait now."""


class FetchRefused(PermanentError):
    """We will not fetch this: robots.txt disallows it, or its content is unacceptable."""


class RobotsDisallowed(FetchRefused):
    pass


class TooLarge(FetchRefused):
    pass


class BadContentType(FetchRefused):
    pass


class TooManyRedirects(FetchRefused):
    pass
