"""Error messages of bounded length, whatever the input they quote.

A message goes to a terminal, the logs and dead letters; an input can be megabytes long, or a
YAML alias bomb. Every part that quotes its input back uses these."""

from __future__ import annotations

import reprlib

MAX_LINE_CHARS = 600
MAX_MESSAGE_CHARS = 1800
_short = reprlib.Repr()
_short.maxstring = _short.maxother = 80


def clip(text: str, limit: int = MAX_LINE_CHARS) -> str:
    """``text`` in at most ``limit`` characters, saying how long it was when cut."""
    if len(text) <= limit:
        return text
    suffix = f"… [{len(text)} characters in all]"
    return text[: max(0, limit - len(suffix))] + suffix


def short(value: object) -> str:
    """``repr(value)`` in about 80 characters, for quoting a value back."""
    return _short.repr(value)


def listing(heading: str, problems: list[str]) -> str:
    """``heading``, then as many of ``problems`` as fit in ``MAX_MESSAGE_CHARS``, one a line."""
    shown: list[str] = []
    size = 0
    for problem in problems:
        line = clip(problem)
        if shown and size + len(line) > MAX_MESSAGE_CHARS:
            break
        shown.append(line)
        size += len(line) + 3
    more = f"\n  ... and {len(problems) - len(shown)} more" if len(shown) < len(problems) else ""
    return f"{heading}:\n  " + "\n  ".join(shown) + more
