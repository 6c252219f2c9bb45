"""The cached character n-gram counts are scikit-learn's ``HashingVectorizer(analyzer="char_wb")``
matrix exactly: same indices, same counts, on texts chosen to break a word-by-word shortcut."""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest
from sklearn.feature_extraction.text import HashingVectorizer

from classifier.model.char_ngrams import CachedCharNgrams

pytestmark = pytest.mark.unit

AWKWARD = [
    "",
    "   \t\n ",
    "a",
    "I",
    "Apple beats earnings estimates, shares jump",
    "repeat repeat REPEAT Repeat",
    "tabs\tand\nnewlines\r\nand  double  spaces",
    "non-breaking\u00a0space, ideographic\u3000space, separators\x1c\x1dhere",
    "ΟΔΟΣ ΟΔΟΣ ends with a final sigma",  # lower-cased as a whole text: the last Σ becomes ς
    "İstanbul ẞ STRASSE Ǆ digraph",  # lower() changes the length or the letter count
    "$AAPL $TSLA https://example.com/a?b=c 3.5% Q3",
    "emoji 📉📈 and combining e\u0301 accents",
    "x" * 300,
]


def vectorizer(n_features: int = 2**18, ngrams: tuple[int, int] = (2, 5)) -> HashingVectorizer:
    return HashingVectorizer(analyzer="char_wb", ngram_range=ngrams, n_features=n_features,
                             alternate_sign=False, norm=None)


def assert_same(ours, theirs) -> None:  # scipy CSR matrices
    assert ours.shape == theirs.shape
    assert (ours.indptr == theirs.indptr).all()
    assert (ours.indices == theirs.indices).all()
    assert (ours.data == theirs.data).all()


def random_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = "abcAB xyz\t\n\u00a0\u2003.-$ΣσİéÉ1"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(n)]


@pytest.mark.parametrize("ngrams", [(2, 5), (1, 3), (3, 3)])
def test_awkward_texts_give_the_vectorizers_matrix(ngrams: tuple[int, int]) -> None:
    cached = CachedCharNgrams(vectorizer(ngrams=ngrams))
    for _ in range(2):  # the second pass reads every word from the cache
        assert_same(cached.transform(AWKWARD), vectorizer(ngrams=ngrams).transform(AWKWARD))
    assert cached.transform([]).shape == (0, 2**18)


def test_random_texts_with_a_small_cache_give_the_vectorizers_matrix() -> None:
    cached = CachedCharNgrams(vectorizer(n_features=2**10), max_words=7)
    for seed in range(5):
        texts = random_texts(200, seed)
        assert_same(cached.transform(texts), vectorizer(n_features=2**10).transform(texts))
        assert len(cached) <= 7


def test_the_cache_stays_within_its_bound() -> None:
    cached = CachedCharNgrams(vectorizer(), max_words=50)
    texts = [f"word{i} other{i}" for i in range(500)]
    for i in range(0, len(texts), 10):
        cached.transform(texts[i:i + 10])
        assert 0 < len(cached) <= 50
    many = " ".join(f"new{i}" for i in range(80))  # more new words in one call than the bound
    assert_same(cached.transform([many]), vectorizer().transform([many]))
    assert len(cached) <= 50


def test_threads_sharing_one_cache_get_exact_rows() -> None:
    cached = CachedCharNgrams(vectorizer(n_features=2**12), max_words=20)  # emptied again and again
    texts = random_texts(300, seed=42)
    expected = vectorizer(n_features=2**12).transform(texts).toarray()
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(offset, len(texts), 15):
                assert np.array_equal(cached.transform(texts[i:i + 15]).toarray(), expected[i:i + 15])
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def test_a_word_analyzer_is_refused() -> None:
    with pytest.raises(ValueError, match="char_wb"):
        CachedCharNgrams(HashingVectorizer(analyzer="word", alternate_sign=False, norm=None))


def test_a_copy_starts_empty_and_gives_the_same_matrix() -> None:
    import copy
    import pickle

    cached = CachedCharNgrams(vectorizer())
    cached.transform(AWKWARD)
    for twin in (copy.deepcopy(cached), pickle.loads(pickle.dumps(cached))):
        assert len(twin) == 0 and len(cached) > 0
        assert_same(twin.transform(AWKWARD), vectorizer().transform(AWKWARD))
