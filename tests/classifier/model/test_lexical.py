"""The lexical (hashed n-gram) part of a model: the same features and probabilities as the
scikit-learn pipeline it stands for, saved and loaded as plain arrays, text by text."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.label_maps import IGNORE
from classifier.model.lexical import LexicalConfig, LexicalModel

pytestmark = pytest.mark.unit

TEXTS = [
    "Apple beats earnings estimates, shares jump", "Tesla misses earnings, stock slides",
    "Fed raises rates by 25 basis points", "Fed holds rates steady, signals cuts",
    "Oil prices slump as OPEC boosts output", "Crude oil rallies on supply fears",
    "Company files for IPO on Nasdaq", "Startup prices IPO above range",
    "Microsoft earnings top forecasts", "ECB keeps rates unchanged",
] * 3
TOPIC = [0, 0, 1, 1, 2, 2, 3, 3, 0, 1] * 3
SENTIMENT = [1, 0, IGNORE, 2, 0, 1, 2, 1, 1, IGNORE] * 3


@pytest.fixture(scope="module")
def fitted() -> LexicalModel:
    return LexicalModel.fit(TEXTS, {"topic": TOPIC, "sentiment": SENTIMENT}, LexicalConfig(n_features=2**12))


def test_features_and_probabilities_match_scikit_learn(fitted: LexicalModel) -> None:
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.linear_model import SGDClassifier

    counts = fitted.counts(TEXTS)
    rows = [i for i, s in enumerate(SENTIMENT) if s != IGNORE]
    tfidf = TfidfTransformer(sublinear_tf=True).fit(counts[rows])
    ours = fitted._tfidf(counts, ("sentiment",))["sentiment"]
    assert np.allclose(ours.toarray(), tfidf.transform(counts).toarray(), atol=1e-6)

    cfg = fitted.config
    clf = SGDClassifier(loss="log_loss", alpha=cfg.alpha, max_iter=cfg.epochs, tol=1e-4,
                        random_state=cfg.seed).fit(tfidf.transform(counts[rows]), np.asarray(SENTIMENT)[rows])
    expected = clf.predict_proba(tfidf.transform(counts))
    got = fitted.predict_proba(TEXTS)["sentiment"]
    assert np.abs(got - expected).max() < 2e-3  # weights are stored as float16
    assert (got.argmax(1) == expected.argmax(1)).all()


def test_it_learns_the_training_labels_and_gives_distributions(fitted: LexicalModel) -> None:
    probs = fitted.predict_proba(TEXTS)
    assert probs["topic"].shape == (len(TEXTS), 20) and probs["sentiment"].shape == (len(TEXTS), 3)
    for p in probs.values():
        assert np.allclose(p.sum(1), 1, atol=1e-5) and (p >= 0).all()
    assert (probs["topic"].argmax(1) == np.asarray(TOPIC)).mean() == 1.0
    assert probs["topic"][:, 4:].max() < 0.01  # topics never seen get (almost) nothing


def test_save_and_load_give_the_same_probabilities_text_by_text(fitted: LexicalModel, tmp_path) -> None:
    fitted.save(tmp_path)
    loaded = LexicalModel.load(tmp_path)
    assert loaded is not None and loaded.config == fitted.config
    together = loaded.predict_proba(TEXTS[:10])
    for i, text in enumerate(TEXTS[:10]):
        alone = fitted.predict_proba([text])
        assert np.allclose(alone["topic"][0], together["topic"][i], atol=1e-6)
        assert np.allclose(alone["sentiment"][0], together["sentiment"][i], atol=1e-6)
    assert LexicalModel.load(tmp_path / "nothing-here") is None


def test_a_task_with_one_class_in_a_tiny_sample_predicts_that_class() -> None:
    model = LexicalModel.fit(TEXTS[:4], {"topic": [5, 5, 5, 5], "sentiment": [0, 1, 0, 1]},
                             LexicalConfig(n_features=2**10))
    probs = model.predict_proba(["anything at all"])
    assert probs["topic"][0].argmax() == 5 and probs["topic"][0, 5] > 0.99
    assert probs["sentiment"].shape == (1, 3) and probs["sentiment"][0, 2] < 0.01


def test_a_text_without_features_gets_the_intercepts_distribution(fitted: LexicalModel) -> None:
    probs = fitted.predict_proba(["", "  \t ", "Apple beats earnings"])
    for task, p in probs.items():
        assert np.isfinite(p).all()
        sig = 1.0 / (1.0 + np.exp(-fitted.intercept[task].astype(np.float64)))
        assert np.allclose(p[0], sig / sig.sum(), atol=1e-6) and np.allclose(p[1], p[0])
        assert not np.allclose(p[2], p[0])
