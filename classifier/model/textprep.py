"""What the encoder reads: a model version's text preparation, and the key that finds
near-duplicate texts.

Links are a third of a tweet's tokens in the seed data (37.4 tokens a text on average, 24.0
with every URL gone) and say nothing about the story: ``https://t.co/W2mMm5MIVH`` is ten
word pieces of a random hash. ``TextPrep(url_marker="http")`` replaces each link with one
word piece, so the encoder still sees that the text had a link but spends no compute on the
hash (docs/experiments.md, "E4").

A version records its preparation in ``textprep.json``; a version without the file (trained
before it existed) reads text as it comes, so older versions keep classifying as they did.
Only the encoder's input is prepared: the lexical part reads the text as it comes.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from finpulse.errors import ConfigError

TEXTPREP_FILE = "textprep.json"
URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# One word piece in the BERT uncased vocabulary ("url" is two), and what a link starts with.
DEFAULT_URL_MARKER = "http"


@dataclass(frozen=True)
class TextPrep:
    """Replace every link with ``url_marker`` (None: leave links as they are)."""

    url_marker: str | None = None

    def __call__(self, text: str) -> str:
        return text if self.url_marker is None else URL.sub(self.url_marker, text)

    def save(self, folder: Path) -> None:
        (folder / TEXTPREP_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> TextPrep:
        path = folder / TEXTPREP_FILE
        if not path.is_file():
            return cls()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            marker = raw["url_marker"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}: not a text preparation file ({exc})") from exc
        if marker is not None and not isinstance(marker, str):
            raise ConfigError(f"{path}: url_marker must be a string or null, got {marker!r}")
        return cls(url_marker=marker)


def dedup_key(text: str) -> str:
    """Texts with the same key are the same story for splitting purposes: the seed data often
    holds one headline twice with different links, or in another case. 246 of the 1,699 topic
    dev texts of the old split had such a twin in train."""
    return " ".join(URL.sub(" ", text).lower().split())
