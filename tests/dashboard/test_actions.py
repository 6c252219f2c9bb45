"""Pages do what analysts ask: filters change what is shown; actions write to the database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from finpulse.schemas import SENTIMENTS, TOPICS
from store import tables as m
from store.db import session_factory
from tests.dashboard.conftest import assert_no_exception, texts
from tests.dashboard.seed import SPIKE_TICKER

pytestmark = pytest.mark.integration


def rows_of(settings, model):
    with session_factory(settings.database)() as s:
        return list(s.scalars(select(model)))


def test_articles_filters_change_the_rows(seeded, app_for) -> None:
    settings, data = seeded
    at = app_for(settings, "articles")
    everything = at.dataframe[0].value
    assert len(everything) > 50
    at.multiselect(key="articles.sentiments").select("bearish").run()
    bearish = at.dataframe[0].value
    assert 0 < len(bearish) < len(everything)
    assert set(bearish["sentiment"]) == {"bearish"}
    at.multiselect(key="articles.tickers").select(SPIKE_TICKER).run()
    nvda = at.dataframe[0].value
    assert all(SPIKE_TICKER in t.split() for t in nvda["tickers"])
    at.text_input(key="articles.text").input("no such headline anywhere").run()
    assert_no_exception(at)
    assert "No articles match" in texts(at)


def test_articles_duplicates_and_confidence_filters(seeded, app_for) -> None:
    settings, data = seeded
    at = app_for(settings, "articles")
    at.radio(key="articles.duplicates").set_value("only").run()
    dups = at.dataframe[0].value
    assert len(dups) > 0 and dups["duplicate_of"].notna().all()
    at.radio(key="articles.duplicates").set_value("include").run()
    at.slider(key="articles.confidence").set_range(0.9, 1.0).run()
    confident = at.dataframe[0].value
    assert (confident["topic_confidence"] >= 0.9).all()
    assert at.download_button[0].label == "Download CSV"


def test_drilldown_marks_alerts_and_lists_the_headlines_behind_a_point(seeded, app_for) -> None:
    settings, data = seeded
    at = app_for(settings)
    at.query_params["dim"] = "ticker"
    at.query_params["key"] = SPIKE_TICKER
    at.switch_page("views/drilldown.py").run()
    assert_no_exception(at)
    assert at.radio(key="drill.dim").value == "ticker"
    alerts = at.dataframe[0].value
    assert list(alerts["rule"]) == ["ticker-bearish"]
    headlines = at.dataframe[1].value
    assert len(headlines) > 0
    assert all(SPIKE_TICKER in t.split() for t in headlines["tickers"])
    at.radio(key="drill.dim").set_value("topic").run()
    at.selectbox(key="drill.key.topic").select("Currencies").run()
    assert_no_exception(at)
    currencies = at.dataframe[-1].value
    assert len(currencies) > 0 and set(currencies["topic"]) == {"Currencies"}
    at.selectbox(key="drill.key.topic").select("Macro").run()  # none in the seed
    assert "No articles for topic Macro in this window" in texts(at)


def test_acknowledge_and_silence_write_rows(seeded, app_for) -> None:
    settings, data = seeded
    at = app_for(settings, "alerts")
    at.selectbox(key="alerts.chosen").select("a-earnings").run()
    shown = texts(at)
    assert "ops" in shown and "delivered" in shown  # the webhook delivery and its attempts
    attempts = [d.value for d in at.dataframe if "status_code" in d.value.columns][0]
    assert list(attempts["status_code"]) == [503, 200]
    at.button(key="alerts.ack").click().run()
    assert_no_exception(at)
    acked = {a.id: a.acked_by for a in rows_of(settings, m.Alert)}
    assert acked["a-earnings"] == "analyst"
    at.selectbox(key="alerts.silence.duration").select("4 hours")
    at.text_input(key="alerts.silence.reason").input("known earnings day")
    at.button[-1].click().run()  # the form's submit button
    assert_no_exception(at)
    silences = rows_of(settings, m.Silence)
    assert len(silences) == 1
    s = silences[0]
    assert (s.rule, s.key, s.created_by, s.reason) == ("topic-spike", "Earnings", "analyst",
                                                       "known earnings day")
    assert 3.9 * 3600 < (s.until - s.created_at).total_seconds() <= 4 * 3600
    assert "Active silences" in texts(at)
    assert len(at.dataframe[-1].value) == 1
    at.button(key="alerts.silence.end").click().run()
    assert_no_exception(at)
    ended = rows_of(settings, m.Silence)[0]
    assert ended.until <= datetime.now(UTC)
    assert "None." in texts(at)


def test_labeling_saves_skips_and_undoes(seeded, app_for) -> None:
    settings, data = seeded
    at = app_for(settings, "labeling")
    assert_no_exception(at)
    first = at.session_state["labeling.skipped_ids"], at.subheader[0].value
    title = first[1]
    assert "Behind an alert" in texts(at)  # alert evidence comes first
    article = next(x for x in data.articles if x.article.title == title)
    assert article.article.id in data.spike_ids[:5]
    # The model's guess is pre-selected; the analyst corrects the topic.
    assert at.selectbox(key=f"label.topic.{article.article.id}").value == article.prediction.topic
    at.selectbox(key=f"label.topic.{article.article.id}").select("Macro")
    at.button(key="labeling.save_button").click().run()
    assert_no_exception(at)
    labels = rows_of(settings, m.Label)
    assert {(x.article_id, x.task, TOPICS[x.label] if x.task == "topic" else SENTIMENTS[x.label],
             x.labeled_by) for x in labels} == {
        (article.article.id, "topic", "Macro", "analyst"),
        (article.article.id, "sentiment", article.prediction.sentiment, "analyst")}
    assert all(x.labeled_at is not None for x in labels)
    assert at.subheader[0].value != title
    assert "2 / 500 labels" in at.get("progress")[0].proto.text
    second = at.subheader[0].value
    at.button(key="labeling.skip_button").click().run()
    assert at.subheader[0].value not in (title, second)
    at.button(key="labeling.undo_button").click().run()
    assert_no_exception(at)
    assert rows_of(settings, m.Label) == []


def test_promote_and_roll_back(seeded, app_for) -> None:
    settings, _ = seeded
    at = app_for(settings, "model_registry")
    assert "Champion: **v2**" in texts(at)
    at.selectbox(key="models.promote.version").select("v3")
    at.button(key="models.promote").click().run()
    assert_no_exception(at)
    champs = [v.version for v in rows_of(settings, m.ModelVersion) if v.is_champion]
    assert champs == ["v3"]
    assert "Champion: **v3**" in texts(at)
    at.button(key="models.rollback").click().run()
    champs = [v.version for v in rows_of(settings, m.ModelVersion) if v.is_champion]
    assert champs == ["v2"]
    actions = sorted((p.action, p.version, p.previous) for p in rows_of(settings, m.ModelPromotion))
    assert ("promote", "v3", "v2") in actions and ("rollback", "v2", "v3") in actions


def test_pipeline_health_counts_dead_letters_and_flags_stale_sources(seeded, app_for) -> None:
    settings, _ = seeded
    at = app_for(settings, "pipeline")
    assert_no_exception(at)
    shown = texts(at)
    assert "Broker down" in shown
    assert "Dead letters 3" in shown
    sources = at.dataframe[-1].value
    stale = dict(zip(sources["name"], sources["stale"], strict=True))
    assert stale == {"ft-pages": True, "reuters-rss": False}
    refused = dict(zip(sources["name"], sources["not_article"], strict=True))
    assert refused == {"ft-pages": 0, "reuters-rss": 3}


def test_retrain_button_starts_a_real_retrain_and_shows_its_log(make_settings, sqlite_url,
                                                                app_for, tmp_path) -> None:
    """The Models page starts `finpulse retrain` as its own process. Pointed at seed data that
    does not exist, the run ends at once with that error, which the page then shows."""
    import time

    from finpulse.settings import ModelSettings
    from store.migrate import upgrade
    from tests.dashboard.conftest import NO_BROKER

    settings = make_settings(database_url=sqlite_url, kafka=NO_BROKER,
                             model=ModelSettings(registry_dir=tmp_path / "models",
                                                 seed_data=str(tmp_path / "no-such-seed")))
    upgrade(settings.database)
    with session_factory(settings.database).begin() as s:
        s.add(m.ModelVersion(version="v1", path=str(tmp_path / "models" / "v1"), base_model="b",
                             created_at=datetime.now(UTC), metrics={}, is_champion=True,
                             status="champion"))
    at = app_for(settings, "model_registry")
    at.button(key="models.retrain").click().run()
    assert_no_exception(at)
    assert "Retraining started" in texts(at)
    logs = list((settings.var_dir / "retrain").glob("retrain-*.log"))
    assert len(logs) == 1
    deadline = time.monotonic() + 60
    while "no-such-seed" not in logs[0].read_text() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "no-such-seed" in logs[0].read_text()
    at.run()
    assert "no-such-seed" in "\n".join(str(c.value) for c in at.code)
