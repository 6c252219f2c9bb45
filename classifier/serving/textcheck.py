"""Is a text classifiable? Pure checks: empty, binary, absurdly long (very long is fine: the
engine truncates it)."""

from __future__ import annotations

# Beyond this many characters a "text" is not an article (a dump, an attachment, an attack).
MAX_TEXT_CHARS = 1_000_000
_ALLOWED_CONTROL = {"\n", "\r", "\t"}


def unclassifiable_reason(text: str, max_chars: int = MAX_TEXT_CHARS) -> str | None:
    """Why ``text`` cannot be classified, or None when it can."""
    if not text or not text.strip():
        return "empty text: nothing to classify"
    if len(text) > max_chars:
        return f"text of {len(text)} characters is absurdly long (limit {max_chars})"
    sample = text[:4096]
    if "\x00" in sample:
        return "binary content: the text contains NUL bytes"
    odd = sum(1 for ch in sample if (ch < " " and ch not in _ALLOWED_CONTROL) or ch == "\ufffd")
    if odd > max(3, len(sample) // 10):
        return f"binary content: {odd} control/undecodable characters in the first {len(sample)}"
    return None


def estimate_tokens(text: str, max_length: int) -> int:
    """A cheap upper-ish estimate of a text's token count, for filling batches by budget."""
    return min(max_length, len(text) // 4 + 2)
