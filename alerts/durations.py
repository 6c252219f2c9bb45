"""Durations in rule files: ``30s``, ``15m``, ``2h``, ``1d``, ``1h30m`` or a number of seconds."""

from __future__ import annotations

import math
import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration(value: object) -> float:
    """Seconds in ``value``; ``ValueError`` says what is wrong with it."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like '15m', got {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"duration must not be negative, got {value!r}")
        try:
            seconds = float(value)
        except OverflowError:  # an int beyond float's range
            seconds = math.inf
        if not math.isfinite(seconds):
            raise ValueError(f"duration is too long or not a number, got {value!r}")
        return seconds
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a duration like '15m', got {value!r}")
    text = value.strip().replace(" ", "")
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or pos == 0:
        raise ValueError(
            f"not a duration: {value!r} (use a number and a unit: ms, s, m, h, d, w; e.g. '15m')"
        )
    if not math.isfinite(total):  # float("9" * 400) is inf
        raise ValueError(f"duration is too long, got {value!r}")
    return total


def format_duration(seconds: float) -> str:
    """A short human form: 900 -> '15m', 90 -> '1m30s'."""
    if not math.isfinite(seconds):
        return f"{seconds}s"
    if seconds and seconds < 1:
        return f"{round(seconds * 1000)}ms"
    rest, out = int(round(seconds)), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(out) or "0s"
