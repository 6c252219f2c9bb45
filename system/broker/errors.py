"""The local broker's error, and the tail of a tool's output that goes into its message."""

from __future__ import annotations

from finpulse.errors import FinpulseError


class BrokerError(FinpulseError):
    """The local broker could not be resolved, started or stopped; the message says why."""


def tail_text(text: str, lines: int) -> str:
    """The last ``lines`` lines of ``text``."""
    return "\n".join(text.rstrip().splitlines()[-lines:])
