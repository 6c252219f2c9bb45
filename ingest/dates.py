"""Publication dates, normalised to timezone-aware UTC. Pure; never raises on odd input."""

from __future__ import annotations

import calendar
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# Dates this far in the future are wrong (bad timezone, template placeholder).
MAX_FUTURE = timedelta(days=1)
MIN_YEAR = 1990


def to_utc(value: datetime) -> datetime:
    """Aware datetimes converted to UTC; naive ones taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def from_struct(value: time.struct_time | tuple | None) -> datetime | None:
    """feedparser's ``*_parsed`` (a UTC struct_time) as a datetime."""
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(tuple(value)[:9]), UTC)
    except (OverflowError, ValueError, TypeError, OSError):
        return None


def parse_date(value: str | None) -> datetime | None:
    """ISO 8601 or RFC 2822 text as UTC, or None when it cannot be read."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return to_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except OverflowError:  # valid, but outside years 1..9999 once in UTC
        return None
    except ValueError:
        pass
    try:
        return to_utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def plausible(value: datetime | None, now: datetime) -> datetime | None:
    """``value`` unless it is implausible (before 1990 or more than a day in the future)."""
    if value is None or value.year < MIN_YEAR or value > now + MAX_FUTURE:
        return None
    return value
