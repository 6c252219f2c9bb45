"""The opaque ``next`` cursor of ``GET /v1/articles``: where the last page ended.

Articles come newest first, ties by id. A cursor holds the last article's publication time
and id, and how many articles of that exact time were returned so far, so the next page can
ask for the articles published up to and including that time and skip those already seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from api import tokens


@dataclass(frozen=True)
class Cursor:
    published: datetime
    id: str
    seen_at_time: int

    def is_after(self, published: datetime, article_id: str) -> bool:
        """Whether an article comes after this position (newest first, ties by id)."""
        return published < self.published or (published == self.published and article_id > self.id)


def encode(c: Cursor) -> str:
    return tokens.pack({"p": c.published.isoformat(), "i": c.id, "n": c.seen_at_time})


def decode(token: str) -> Cursor:
    """The cursor in ``token``; ``ValueError`` if it is not one this API handed out."""
    try:
        raw = tokens.unpack(token)
        published = datetime.fromisoformat(raw["p"])
        cursor = Cursor(published.astimezone(UTC), str(raw["i"]), int(raw["n"]))
    except (ValueError, TypeError, KeyError, OverflowError, AttributeError) as exc:
        raise ValueError("cursor: not a cursor returned by this API (pass `next` unchanged)") from exc
    if published.tzinfo is None or cursor.seen_at_time < 1:
        raise ValueError("cursor: not a cursor returned by this API (pass `next` unchanged)")
    return cursor
