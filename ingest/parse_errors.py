"""Why a document could not be parsed (permanent for those bytes: dead-letter them)."""

from __future__ import annotations

from finpulse.errors import PermanentError


class ParseError(PermanentError):
    """The bytes are not what the source promised (a feed that is an HTML page, empty page…)."""
