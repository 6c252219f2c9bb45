"""Language of a text (ISO 639-1 code), with py3langid: small, offline, deterministic."""

from __future__ import annotations

from functools import lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

# Shorter texts are guessed too wildly to be worth a label.
MIN_CHARS = 12


@lru_cache(maxsize=1)
def _identifier():  # py3langid has no public type for it
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str, *, min_confidence: float = 0.5) -> str | None:
    """The language code of ``text``, or None when it is too short or too uncertain."""
    sample = " ".join(text.split())[:2000]
    if len(sample) < MIN_CHARS:
        return None
    lang, prob = _identifier().classify(sample)
    return str(lang) if prob >= min_confidence else None
