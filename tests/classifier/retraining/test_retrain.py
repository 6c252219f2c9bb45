"""`finpulse retrain` end to end on tiny synthetic data: wrong labels are not promoted; labels
that fix the champion's systematic mistake are, and a running worker switches to the new
version mid-stream (exact count) and back on rollback."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from classifier import registry
from classifier.retraining.retrain import RetrainConfig, retrain
from classifier.serving.worker import run_worker
from finpulse.kafka import make_producer
from finpulse.schemas import TOPICS, Article, ClassifiedArticle, article_id_for_source, decode
from store.db import session_factory
from store.queries.labels import save_labels
from store.writes import write_classified
from tests.classifier.retraining.conftest import add_articles, run_cli
from tests.classifier.retraining.synthetic import ENERGY_TOPIC, SEED_COMPANIES, earnings_texts, energy_texts
from tests.support import InThread, read_topic, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ENERGY = TOPICS[ENERGY_TOPIC]
FAST = {"epochs": 2, "tolerance": 0.05, "min_gain": 0.05}


def label_all(settings, ids: dict[str, str], topic: str, by: str) -> None:
    with session_factory(settings.database).begin() as s:
        for aid in ids:
            save_labels(s, aid, topic=topic, sentiment=None, by=by, at=datetime.now(UTC))


def test_deliberately_wrong_labels_are_not_promoted(rt_settings, install_champion, capsys) -> None:
    settings = rt_settings()
    champion = install_champion(settings)
    # The seed's own Earnings stories (those in its dev split stay gold) relabelled as dividends:
    # the challenger learns that earnings reports are dividends, and the gold dev slice shows it.
    # (Wrong labels on stories the model can tell apart, e.g. by new company names, can be
    # learnt without harm to any slice, and a gate on held-out data cannot see them.)
    wrong = {f"wrong-{i}": text for i, text in enumerate(earnings_texts(SEED_COMPANIES[:6]))}
    add_articles(settings, wrong)
    label_all(settings, wrong, "Dividend", by="mallory")

    result = retrain(settings, RetrainConfig(**FAST), progress=False)

    assert not result.promoted and registry.champion_version(settings) == champion
    reasons = " ".join(result.decision.reasons)
    assert "topic macro-F1 on seed_dev" in reasons and "worse than the tolerance" in reasons
    after = result.report["tasks"]["topic"]["after"]
    assert after["analyst_holdout"]["n"] > 0  # the wrong labels were held out too ...
    assert after["seed_dev"]["macro_f1"] < result.report["tasks"]["topic"]["before"]["seed_dev"]["macro_f1"]
    row = registry.show(settings, result.version)  # ... and the challenger is on record
    assert row["status"] == "candidate" and not row["is_champion"] and "kept the champion" in row["notes"]
    report = json.loads((result.folder / "retrain_report.json").read_text())
    assert report["decision"]["promoted"] is False and report["champion"] == champion
    assert (result.folder / "retrain_report.md").read_text() == result.markdown
    assert "**Decision: NOT PROMOTED**" in capsys.readouterr().out


class Stream:
    """Publishes articles to news.raw and reads news.classified back, counting exactly."""

    def __init__(self, settings) -> None:
        self.settings, self.sent, self.n = settings, [], 0

    def publish(self, texts: list[str]) -> list[Article]:
        now = datetime.now(UTC)
        articles = []
        for text in texts:
            self.n += 1
            articles.append(Article(id=article_id_for_source("rt", str(self.n)), source="rt",
                                    title=text, published=now, fetched=now))
        producer = make_producer(self.settings.kafka, client_id="test")
        for a in articles:
            producer.send(self.settings.kafka.topics.raw, key=a.id.encode(), value=a.encode())
        producer.flush()
        producer.close()
        self.sent += articles
        return articles

    def out(self, timeout_s: float = 120) -> list[ClassifiedArticle]:
        records = read_topic(self.settings.kafka, self.settings.kafka.topics.classified,
                             expect=len(self.sent), timeout_s=timeout_s)
        return [decode(ClassifiedArticle, r.value) for r in records]

    def by_id(self) -> dict[str, ClassifiedArticle]:
        return {c.article.id: c for c in self.out()}

    def await_version(self, version: str) -> None:
        """Probe with one article at a time until one comes back from ``version``."""
        def probe() -> bool:
            (a,) = self.publish([f"{SEED_COMPANIES[0]} schedules conference call"])
            return wait_until(lambda: self.by_id().get(a.id), timeout_s=60,
                              what="the probe").prediction.model_version == version
        wait_until(probe, timeout_s=90, every_s=0.5, what=f"the worker serving {version}")


def test_a_fix_is_promoted_hot_swapped_mid_stream_and_rolled_back(kafka_settings, rt_settings,
                                                                   install_champion, tmp_path) -> None:
    settings = rt_settings(kafka=kafka_settings)
    champion = install_champion(settings)
    stream = Stream(settings)
    energy = energy_texts()
    with InThread(run_worker, settings, swap_every_s=0.5) as worker:
        stream.await_version(champion)  # the worker has joined its group and is serving
        first = stream.publish(energy[:40])
        out = [c for c in stream.out() if c.article.id in {a.id for a in first}]
        assert len(out) == 40
        assert {c.prediction.model_version for c in out} == {champion}
        topics = Counter(c.prediction.topic for c in out)
        assert topics[ENERGY] == 0, topics  # the systematic mistake
        with session_factory(settings.database).begin() as s:  # the sink's write
            write_classified(s, out, datetime.now(UTC))
        # analysts fix it: half in the dashboard's labeling queue, half imported from CSV by text
        label_all(settings, {a.id: a.title for a in first[:20]}, ENERGY, by="ann")
        csv_file = tmp_path / "energy.csv"
        csv_file.write_text("text,task,label,labeled_by\n" + "".join(
            f"{a.title},topic,Energy / Oil,bob\n" for a in first[20:]) + "".join(
            f"{t},topic,6,bob\n" for t in energy_texts(SEED_COMPANIES)))
        assert run_cli(settings, "labels", "import", str(csv_file)) == 0

        result = retrain(settings, RetrainConfig(**FAST), progress=False)
        assert result.promoted, result.markdown
        assert registry.champion_version(settings) == result.version
        topic = result.report["tasks"]["topic"]
        assert topic["after"]["analyst_holdout"]["accuracy"] > topic["before"]["analyst_holdout"]["accuracy"]
        assert topic["per_class"][ENERGY]["after_f1"] > topic["per_class"][ENERGY]["before_f1"] == 0.0

        stream.await_version(result.version)
        second = stream.publish(energy[40:])  # new companies' energy stories, never labelled
        by_id = wait_until(lambda: (d := stream.by_id()) and len(d) >= len(stream.sent) and d,
                           timeout_s=120, what="batch 2")
        assert {by_id[a.id].prediction.model_version for a in second} == {result.version}
        topics = Counter(by_id[a.id].prediction.topic for a in second)
        assert topics[ENERGY] >= 0.8 * len(second), topics

        old, reinstated = registry.rollback(settings)
        assert (old, reinstated) == (result.version, champion)
        stream.await_version(champion)
        third = stream.publish(energy[40:60])
        by_id = wait_until(lambda: (d := stream.by_id()) and len(d) >= len(stream.sent) and d,
                           timeout_s=120, what="batch 3")
        assert {by_id[a.id].prediction.model_version for a in third} == {champion}
        topics = Counter(by_id[a.id].prediction.topic for a in third)
        assert topics[ENERGY] == 0, topics
        time.sleep(1)
    assert worker.result["value"].swaps >= 2
    records = read_topic(settings.kafka, settings.kafka.topics.classified, expect=len(stream.sent) + 1,
                         timeout_s=5)
    ids = [decode(ClassifiedArticle, r.value).article.id for r in records]
    counts = Counter(ids)
    assert set(counts) == {a.id for a in stream.sent}, "an input is missing on news.classified"
    assert len(ids) == len(stream.sent), f"duplicates: {[i for i, n in counts.items() if n > 1]}"


def test_with_shadow_a_fix_goes_into_shadow_and_is_promoted_after_the_period(rt_settings, install_champion,
                                                                           capsys) -> None:
    from classifier.retraining.trigger import settle_shadow
    from store.queries import model_versions as q

    settings = rt_settings()
    champion = install_champion(settings)
    fixes = {f"fix-{i}": t for i, t in enumerate(energy_texts() + energy_texts(SEED_COMPANIES))}
    add_articles(settings, fixes)
    label_all(settings, fixes, ENERGY, by="ann")

    assert run_cli(settings, "retrain", "--shadow", "--epochs", "2", "--tolerance", "0.05",
                   "--min-gain", "0.05") == 0

    out = capsys.readouterr().out
    assert "**Decision: IN SHADOW**" in out and "`finpulse retrain --watch` promotes it after" in out
    (challenger,) = [r["version"] for r in registry.list_rows(settings) if r["version"] != champion]
    assert registry.champion_version(settings) == champion  # not promoted yet ...
    assert registry.shadow_version(settings) == challenger  # ... but in shadow
    shown = registry.show(settings, challenger)
    assert shown["status"] == "shadow" and "in shadow" in shown["notes"]
    assert [(r["champion"], r["promote_after"], r["started_by"]) for r in shown["shadow_runs"]] == [
        (champion, True, "finpulse retrain")]
    report = json.loads((registry.resolve(settings, challenger).folder / "retrain_report.json").read_text())
    assert report["decision"]["promoted"] is False and report["decision"]["shadow"] == {
        "min_minutes": 60.0, "min_articles": 500}

    assert settle_shadow(settings) is None  # the shadow period has not begun to pass
    quick = settings.model_copy(update={"model": settings.model.model_copy(
        update={"shadow_min_minutes": 0, "shadow_min_articles": 0})})
    assert settle_shadow(quick) == challenger
    assert registry.champion_version(settings) == challenger and registry.shadow_version(settings) is None
    with session_factory(settings.database).begin() as s:
        assert q.shadow_runs(s)[0].outcome == "promoted"
