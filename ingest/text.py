"""Small pure helpers on text: HTML fragments to plain text, whitespace clean-up."""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"<[^>]+>")
_HIDDEN = re.compile(r"(?is)<(script|style|noscript|template)\b.*?</\1\s*>")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
# Scripts written without spaces between words: Han, kana, Thai, Lao, Myanmar, Khmer.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0eff"
                       r"\u1000-\u109f\u1780-\u17ff]")
UNSPACED_CHARS_PER_WORD = 2.0


def clean_space(text: str) -> str:
    """Runs of spaces collapsed, lines trimmed, blank-line runs cut to one."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def html_to_text(fragment: str | None) -> str:
    """The readable text of an HTML fragment (a feed summary): tags dropped, entities decoded,
    block elements kept apart."""
    if not fragment:
        return ""
    visible = _HIDDEN.sub(" ", fragment)
    spaced = re.sub(r"(?i)<\s*(br|/p|/div|/li|/h[1-6])\b[^>]*>", "\n", visible)
    return clean_space(html.unescape(_TAG.sub(" ", spaced)))


def word_count(text: str) -> int:
    """About how many words ``text`` has, also in scripts that put no spaces between words
    (a Japanese sentence is one whitespace "word"): there, every two characters count as one."""
    unspaced = len(_UNSPACED.findall(text))
    if not unspaced:
        return len(text.split())
    spaced = len(_UNSPACED.sub(" ", text).split())
    return spaced + round(unspaced / UNSPACED_CHARS_PER_WORD)
