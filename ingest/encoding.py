"""Turning fetched bytes into text even when the declared encoding is missing or wrong.

Order: a byte-order mark wins; then bytes that are valid UTF-8 are UTF-8 (text in a legacy
single-byte encoding is almost never valid UTF-8, so this catches the common "UTF-8 labelled
as ISO-8859-1" mistake); then the declared charset (HTTP header, <meta> or the XML
declaration), with ISO-8859-1 and ASCII read as Windows-1252 as browsers do; then
charset-normalizer's guess; finally Windows-1252 with replacement characters. Pure; never raises.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# WHATWG: these labels mean windows-1252 on the web.
AS_CP1252 = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "ascii", "us-ascii", "cp819",
             "iso_8859-1", "windows-1252", "cp1252", "x-cp1252"}
_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""", re.I)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.I)


def header_charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header value."""
    match = _HEADER_CHARSET.search(content_type or "")
    return match.group(1) if match else None


def declared_charset(body: bytes) -> str | None:
    """The charset the document declares in its first bytes (<meta> or <?xml encoding?>)."""
    head = body[:4096]
    match = _XML_DECL.search(head) or _META.search(head)
    return match.group(1).decode("ascii", "replace") if match else None


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().lower()
    if label in AS_CP1252:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _strict(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_body(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """``(text, encoding used)`` for a document's bytes."""
    for bom, codec in BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(codec, "replace"), codec
    text = _strict(body, "utf-8")
    if text is not None:
        return text, "utf-8"
    for label in (header_charset(content_type), declared_charset(body)):
        codec = _codec(label)
        if codec and codec not in ("utf-8", "utf-16", "utf-32"):
            text = _strict(body, codec)
            if text is not None:
                return text, codec
    if _looks_western(body):
        return body.decode("cp1252"), "cp1252"
    guess = _normalizer_guess(body)
    if guess is not None:
        return guess
    return body.decode("cp1252", "replace"), "cp1252"


TYPOGRAPHY = set("“”‘’‚„–—…€•™«»°£¥§©®±×÷·¢¤¦¨¬¯´¸ºª")


def _looks_western(body: bytes) -> bool:
    """Whether undeclared bytes read as Windows-1252 look like Western European text: the
    non-ASCII characters are letters or typography, inside otherwise ASCII words (Cyrillic or
    Greek read this way gives long runs of accented letters; Central European, stray symbols)."""
    text = _strict(body, "cp1252")
    if text is None:
        return False
    high = suspicious = run = 0
    for ch in text:
        if ord(ch) < 0x80:
            run = 0
            continue
        high += 1
        run += 1
        if run >= 3 or not (ch.isalpha() or ch in TYPOGRAPHY):
            suspicious += 1
    return high > 0 and suspicious <= 0.05 * high


def _normalizer_guess(body: bytes) -> tuple[str, str] | None:
    matches = charset_normalizer.from_bytes(body[:200_000])
    best = matches.best()
    if best is None:
        return None
    # On a tie, the web's most common legacy encoding is the better prior.
    tied = [m.encoding for m in matches if m.chaos <= best.chaos + 1e-9 and m.coherence >= best.coherence]
    encoding = "cp1252" if "cp1252" in tied else best.encoding
    text = _strict(body, encoding)
    if text is not None:
        return text, encoding
    text = _strict(body, best.encoding)
    return (text, best.encoding) if text is not None else None


def as_utf8_xml(text: str) -> bytes:
    """XML text re-encoded as UTF-8 with its declaration saying so (for XML parsers that
    trust the declaration over the bytes)."""
    stripped = text.lstrip("\ufeff")
    stripped = re.sub(
        r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)["'][^"']*["']""", r'\1"utf-8"', stripped, count=1
    )
    return stripped.encode("utf-8")
