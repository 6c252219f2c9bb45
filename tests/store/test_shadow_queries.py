"""Shadow predictions on SQLite and PostgreSQL: agreement, the confusion table and the latest
disagreements match a small set checked by hand; a replay writes nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from finpulse.schemas import TOPICS
from finpulse.settings import DatabaseSettings
from store import tables as m
from store.db import session_factory
from store.migrate import upgrade
from store.queries import shadow
from tests.store.factories import classified

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
PAIR = shadow.Pair("v3", "v2", T0)
# (champion topic, sentiment), (challenger topic, sentiment): agree on topic / sentiment
HAND = [
    (("Earnings", "bullish"), ("Earnings", "bullish")),  # yes / yes
    (("Earnings", "bearish"), ("Earnings", "neutral")),  # yes / no
    (("Macro", "neutral"), ("Markets", "neutral")),  # no / yes
    (("Macro", "bearish"), ("Markets", "bullish")),  # no / no
    (("Macro", "neutral"), ("Macro", "neutral")),  # yes / yes
    (("Earnings", "bullish"), ("Macro", "bullish")),  # no / yes
]


def row(i: int, champ: tuple[str, str], chall: tuple[str, str], *, at: datetime,
        champion: str = "v2", challenger: str = "v3") -> dict:
    msg = classified(i, topic_id=TOPICS.index(champ[0]), sentiment=champ[1], model_version=champion)
    pred = classified(i, topic_id=TOPICS.index(chall[0]), sentiment=chall[1],
                      model_version=challenger).prediction
    return shadow.shadow_row(msg, pred, at)


def hand_rows() -> list[dict]:
    rows = [row(i, c, d, at=T0 + timedelta(minutes=i)) for i, (c, d) in enumerate(HAND)]
    # not part of the pair: another champion, another challenger, before the run started
    rows += [row(100, *HAND[3], at=T0, champion="v1"), row(101, *HAND[3], at=T0, challenger="v9"),
             row(102, *HAND[3], at=T0 - timedelta(minutes=1))]
    return rows


@pytest.fixture
def sessions(db_url: str):
    db = DatabaseSettings(url=db_url)
    upgrade(db)
    return session_factory(db)


def test_agreement_confusion_and_disagreements_match_the_hand_checked_set(sessions) -> None:
    with sessions.begin() as s:
        assert shadow.write_shadow(s, hand_rows()) == 9
    with sessions.begin() as s:
        assert shadow.scored(s, PAIR) == 6
        a = shadow.agreement(s, PAIR)
        assert a["n"] == 6
        assert a["topic"] == pytest.approx(3 / 6)
        assert a["sentiment"] == pytest.approx(4 / 6)
        assert a["both"] == pytest.approx(2 / 6)
        assert shadow.confusion(s, PAIR, "topic") == [
            {"champion": "Earnings", "challenger": "Earnings", "n": 2},
            {"champion": "Macro", "challenger": "Markets", "n": 2},
            {"champion": "Earnings", "challenger": "Macro", "n": 1},
            {"champion": "Macro", "challenger": "Macro", "n": 1}]
        assert {(r["champion"], r["challenger"], r["n"]) for r in shadow.confusion(s, PAIR, "sentiment")} == {
            ("bullish", "bullish", 2), ("bearish", "neutral", 1), ("neutral", "neutral", 2),
            ("bearish", "bullish", 1)}
        differ = shadow.disagreements(s, PAIR)
        assert [r["title"] for r in differ] == [f"Headline {i} about {HAND[i][0][0]}" for i in (5, 3, 2, 1)]
        first = differ[0]
        assert (first["champion_topic"], first["challenger_topic"]) == ("Earnings", "Macro")
        assert first["champion_topic_confidence"] == first["challenger_topic_confidence"] == 0.8
        assert shadow.agreement(s, shadow.Pair("nobody", "v2")) == {
            "n": 0, "topic": None, "sentiment": None, "both": None}


def test_a_replay_writes_nothing_twice_and_the_last_row_wins(sessions) -> None:
    with sessions.begin() as s:
        shadow.write_shadow(s, hand_rows())
    with sessions.begin() as s:
        shadow.write_shadow(s, hand_rows())  # the same messages again
        again = row(0, ("Macro", "bearish"), ("Earnings", "bullish"), at=T0)  # reclassified
        assert shadow.write_shadow(s, [again, again]) == 1
    with sessions.begin() as s:
        assert s.execute(select(func.count()).select_from(m.ShadowPrediction)).scalar_one() == 9
        assert shadow.scored(s, PAIR) == 6
        assert shadow.agreement(s, PAIR)["topic"] == pytest.approx(2 / 6)
