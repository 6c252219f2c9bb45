"""Near-duplicate detection: MinHash of word bigrams of title + lead, indexed with LSH.

The same wire story on several sites, or a copy with small edits, lands within the Jaccard
threshold of the first copy; that first copy's id becomes the later one's ``duplicate_of``.
"""

from __future__ import annotations

import re
from collections import deque

import numpy as np
from datasketch import MinHash, MinHashLSH

NUM_PERM = 128
SCHEME = "affine64"
NGRAM = 2
LEAD_WORDS = 80
_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(title: str, text: str) -> set[bytes]:
    """Word bigrams of the title and the first words of the text, case and punctuation folded
    (bigrams: one edited word changes two shingles, not three)."""
    words = _WORD.findall(f"{title} {text}".lower())[: LEAD_WORDS + len(title.split())]
    if len(words) < NGRAM:
        return {" ".join(words).encode("utf-8")} if words else set()
    return {" ".join(words[i:i + NGRAM]).encode("utf-8") for i in range(len(words) - NGRAM + 1)}


def signature(title: str, text: str) -> MinHash:
    mh = MinHash(num_perm=NUM_PERM, scheme=SCHEME)
    mh.update_batch(list(shingles(title, text)))
    return mh


def to_bytes(mh: MinHash) -> bytes:
    return mh.hashvalues.astype(np.uint64).tobytes()


def from_bytes(data: bytes) -> MinHash:
    return MinHash(num_perm=NUM_PERM, hashvalues=np.frombuffer(data, dtype=np.uint64), scheme=SCHEME)


class NearDuplicates:
    """An LSH index of recent articles' signatures."""

    def __init__(self, threshold: float, max_size: int = 200_000) -> None:
        self.threshold = threshold
        self.max_size = max_size
        self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self._sigs: dict[str, MinHash] = {}
        self._order: deque[str] = deque()  # oldest first, so memory stays bounded

    def __len__(self) -> int:
        return len(self._sigs)

    def find(self, mh: MinHash) -> str | None:
        """The id of the most similar indexed article at or above the threshold."""
        best, best_sim = None, self.threshold
        for key in self._lsh.query(mh):
            sim = mh.jaccard(self._sigs[key])
            if sim >= best_sim:
                best, best_sim = key, sim
        return best

    def add(self, article_id: str, mh: MinHash) -> None:
        if article_id in self._sigs:
            return
        self._sigs[article_id] = mh
        self._lsh.insert(article_id, mh)
        self._order.append(article_id)
        while len(self._order) > self.max_size:
            oldest = self._order.popleft()
            self._lsh.remove(oldest)
            del self._sigs[oldest]
