"""Query-parameter types shared by the routes: times taken as UTC, text without NUL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, StringConstraints


def _utc(value: datetime) -> datetime:
    """A time without a zone is UTC; one with a zone is converted to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("time is out of range once converted to UTC") from exc


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    return value


Instant = Annotated[datetime, AfterValidator(_utc)]
Text = Annotated[str, StringConstraints(max_length=200), AfterValidator(_storable)]


def window(start: datetime | None, end: datetime | None, now: datetime,
           default: timedelta) -> tuple[datetime, datetime]:
    """``[start, end)`` with the defaults filled in: ``end`` now, ``start`` ``default`` before."""
    end = end or now
    try:
        start = start or end - default
    except OverflowError as exc:
        raise ValueError(f"to: {end} leaves no room for the default window") from exc
    if end <= start:
        raise ValueError(f"from ({start.isoformat()}) must be before to ({end.isoformat()})")
    return start, end
