"""Each read returns the seeded data: the dashboard's stream, alerts and models."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.conftest import Api
from tests.dashboard.seed import SPIKE_TICKER, SPIKE_TOPIC

pytestmark = pytest.mark.integration


def iso(t) -> str:
    return t.isoformat()


def test_health_says_the_database_is_reachable(api: Api) -> None:
    assert api.client.get("/v1/health").json() == {"status": "ok", "database": "reachable"}


def test_overall_count_adds_up_to_the_articles_in_the_window(api: Api) -> None:
    now = api.seeded.now
    start = (now - timedelta(days=4)).replace(minute=0, second=0, microsecond=0)
    body = api.get("/v1/series", **{"from": iso(start), "to": iso(now + timedelta(hours=1)),
                                    "granularity": "hour"}).json()
    assert body["scope"] == "overall" and body["metric"] == "count"
    assert {p["key"] for p in body["points"]} == {"*"}
    assert sum(p["value"] for p in body["points"]) == len(api.seeded.articles)


def test_ticker_series_shows_the_bearish_spike(api: Api) -> None:
    now = api.seeded.now
    params = {"scope": "ticker", "keys": SPIKE_TICKER.lower(), "granularity": "minute",
              "from": iso(now - timedelta(minutes=60)), "to": iso(now + timedelta(minutes=1))}
    bearish = api.get("/v1/series", metric="bearish", **params).json()["points"]
    assert {p["key"] for p in bearish} == {SPIKE_TICKER}
    assert sum(p["value"] for p in bearish) >= 60  # every spike article is bearish
    mean = api.get("/v1/series", metric="mean_sentiment", **params).json()["points"]
    assert mean and all(-1 <= p["value"] <= 1 for p in mean)
    assert sum(p["value"] for p in mean) / len(mean) < 0


def test_daily_topic_series(api: Api) -> None:
    now = api.seeded.now
    body = api.get("/v1/series", scope="topic", keys=SPIKE_TOPIC, granularity="day",
                   **{"from": iso(now - timedelta(days=5)), "to": iso(now + timedelta(days=1))}
                   ).json()
    spike = [a for a in api.seeded.articles if a.prediction.topic == SPIKE_TOPIC]
    assert sum(p["value"] for p in body["points"]) == len(spike)


def test_articles_newest_first_with_their_predictions(api: Api) -> None:
    items = api.get("/v1/articles", limit=5).json()["items"]
    newest = sorted(api.seeded.articles, key=lambda a: a.article.published, reverse=True)[:5]
    assert [i["id"] for i in items] == [a.article.id for a in newest]
    first, seeded = items[0], newest[0]
    assert first["topic"] == seeded.prediction.topic
    assert first["tickers"] == sorted(seeded.tickers)


def test_article_filters(api: Api) -> None:
    items = api.get("/v1/articles", ticker="nvda", sentiment="bearish", limit=500).json()["items"]
    assert len(items) >= len(api.seeded.spike_ids)
    assert all(SPIKE_TICKER in i["tickers"] and i["sentiment"] == "bearish" for i in items)
    dupes = api.get("/v1/articles", duplicates="only", limit=500).json()["items"]
    assert dupes and all(i["duplicate_of"] for i in dupes)


@pytest.mark.parametrize("params", [{}, {"ticker": "NVDA"}, {"topic": SPIKE_TOPIC}])
def test_cursor_pages_cover_every_article_once(api: Api, params: dict) -> None:
    everything = api.get("/v1/articles", limit=500, **params).json()
    assert everything["next"] is None
    seen, cursor = [], None
    for _ in range(100):
        page = api.get("/v1/articles", limit=7, **params, **({"cursor": cursor} if cursor else {})
                       ).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [i["id"] for i in everything["items"]]


def test_alerts_filtered_by_state(api: Api) -> None:
    firing = api.get("/v1/alerts", state="firing").json()
    assert {a["id"] for a in firing} == {"a-earnings", "a-nvda"}
    resolved = api.get("/v1/alerts", state="resolved").json()
    assert [a["id"] for a in resolved] == ["a-old"]
    assert len(api.get("/v1/alerts").json()) == 3


def test_models_and_champion(api: Api) -> None:
    models = api.get("/v1/models").json()
    assert [m["version"] for m in models] == ["v3", "v2", "v1"]
    assert all("path" not in m for m in models)
    champion = api.get("/v1/models/champion").json()
    assert champion["version"] == "v2" and champion["is_champion"] is True


def test_articles_say_whether_their_time_is_a_day_or_a_second(api: Api) -> None:
    items = api.get("/v1/articles", limit=500).json()["items"]
    assert items and {i["published_precision"] for i in items} == {"second"}
