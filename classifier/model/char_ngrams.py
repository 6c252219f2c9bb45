"""Hashed character n-gram counts, word by word, with a cache of each word's n-grams.

scikit-learn's ``HashingVectorizer(analyzer="char_wb")`` builds every n-gram of a text in a
Python loop and hashes it, which made it most of the lexical part's cost at inference (about
0.2 ms of 0.35 ms per text; docs/experiments.md, "E8"). But ``char_wb`` n-grams
never cross a word boundary: a text's n-grams are the concatenation of its words' n-grams, and
most words of a story have been seen before (figures and names often have not). So each
distinct word is analysed and hashed once, by the vectorizer itself, and its feature indices
are kept; a text's row is the sum of its words' rows.
The result is the vectorizer's matrix exactly (same indices, same counts), which
tests/classifier/model/test_char_ngrams.py checks on awkward texts.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from itertools import islice

import numpy as np
from scipy.sparse import csr_matrix

_EMPTY = np.zeros(0, dtype=np.int32)


class CachedCharNgrams:
    """``vectorizer.transform(texts)`` for a ``HashingVectorizer(analyzer="char_wb",
    alternate_sign=False, norm=None)``, with each word's hashed n-grams cached. The cache holds
    at most ``max_words`` words (about 0.4 KB each) and is emptied when it would hold more; it
    is safe to share between threads."""

    def __init__(self, vectorizer, max_words: int = 50_000) -> None:  # a HashingVectorizer
        params = vectorizer.get_params()
        if params["analyzer"] != "char_wb" or params["alternate_sign"] or params["norm"] is not None:
            raise ValueError("CachedCharNgrams needs analyzer='char_wb', alternate_sign=False, norm=None")
        self.vectorizer = vectorizer  # the plain way, for comparisons (bench/classifier_lexical.py)
        self.n_features = int(params["n_features"])
        self.max_words = max_words
        self._preprocess = vectorizer.build_preprocessor()  # lower-casing, as the vectorizer does
        # The words are already preprocessed: analyse each one exactly as char_wb would inside a text.
        self._per_word = type(vectorizer)(**{**params, "lowercase": False, "strip_accents": None,
                                             "preprocessor": None, "dtype": np.float64})
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._cache)

    def __getstate__(self) -> dict:
        # A copy (``copy.deepcopy`` of a model, pickling) starts with an empty cache and its own lock.
        return {k: v for k, v in self.__dict__.items() if k not in ("_cache", "_lock")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._cache, self._lock = {}, threading.Lock()

    def _hashed(self, words: list[str]) -> list[np.ndarray]:
        with self._lock:
            cache = self._cache
            missing = [w for w in dict.fromkeys(words) if w not in cache]
            fresh: dict[str, np.ndarray] = {}
            if missing:
                # One vectorizer call for every new word, then each word's row, its n-grams
                # repeated by their counts, as a view of one array (no numpy call per word).
                rows = self._per_word.transform(missing)
                counts = rows.data.astype(np.int64)
                repeated = np.repeat(rows.indices.astype(np.int32), counts)
                ends = np.cumsum(counts)[rows.indptr[1:] - 1]  # a word has at least one n-gram
                fresh = dict(zip(missing, np.split(repeated, ends[:-1]), strict=False))
            hashed = [fresh[w] if w in fresh else cache[w] for w in words]
            if len(cache) + len(fresh) > self.max_words:
                cache.clear()
            cache.update(islice(fresh.items(), self.max_words))
            return hashed

    def transform(self, texts: Sequence[str]) -> csr_matrix:
        # char_wb splits the preprocessed text on white space (str.split), each word apart.
        words = [self._preprocess(t).split() for t in texts]
        flat = [w for text_words in words for w in text_words]
        hashed = self._hashed(flat)
        lengths = np.fromiter((len(h) for h in hashed), dtype=np.int64, count=len(hashed))
        per_text = np.fromiter((len(w) for w in words), dtype=np.int64, count=len(words))
        word_end = np.cumsum(per_text)
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        indptr = bounds[np.concatenate([[0], word_end])]
        indices = np.concatenate(hashed) if hashed else _EMPTY
        matrix = csr_matrix((np.ones(len(indices), dtype=np.float64), indices, indptr),
                            shape=(len(texts), self.n_features))
        matrix.sum_duplicates()  # repeated n-grams become counts, indices sorted, as the vectorizer does
        return matrix
