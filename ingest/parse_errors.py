"""Why a document could not be parsed (permanent for those bytes: dead-letter them)."""

from __future__ import annotations

from finpulse.errors import PermanentError


class ParseError(PermanentError):
    """The bytes are not what the source promised (a feed that is an HTML page, empty page…)."""


class NotAnArticle(ParseError):
    """The page is readable but is not an article (a home page, a section front, a video…):
    counted and skipped with its reason, not dead-lettered."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"not an article: {kind}: {reason}")
        self.kind = kind
        self.reason = reason
