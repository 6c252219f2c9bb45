"""The Models page's Shadow section: the challenger in shadow, how many articles it scored, the
two models' agreement per task, the confusion table and the latest disagreements; put a
version in shadow and stop it from the page."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from finpulse.schemas import TOPICS
from store import tables as m
from store.db import session_factory
from store.queries import model_versions as q
from store.queries.shadow import shadow_row, write_shadow
from tests.dashboard.conftest import assert_no_exception, texts
from tests.store.factories import classified

pytestmark = pytest.mark.integration
# champion v2's (topic, sentiment), challenger v3's: topic agrees 3 of 4, sentiment 2 of 4
HAND = [(("Earnings", "bearish"), ("Earnings", "bearish")),
        (("Earnings", "bearish"), ("Markets", "bearish")),
        (("Macro", "neutral"), ("Macro", "bullish")),
        (("Macro", "neutral"), ("Macro", "bearish"))]


def put_v3_in_shadow(settings, now) -> list[str]:
    """v3 in shadow beside champion v2 for ten minutes, with the hand-checked rows; returns the
    headlines on which they disagree."""
    rows = []
    for i, (champ, chall) in enumerate(HAND):
        msg = classified(i, topic_id=TOPICS.index(champ[0]), sentiment=champ[1], model_version="v2")
        pred = classified(i, topic_id=TOPICS.index(chall[0]), sentiment=chall[1], model_version="v3")
        rows.append(shadow_row(msg, pred.prediction, now - timedelta(minutes=9 - i)))
    with session_factory(settings.database).begin() as s:
        q.start_shadow(s, "v3", by="lead", promote_after=True, now=now - timedelta(minutes=10))
        write_shadow(s, rows)
    return [r["title"] for r in rows[1:]]


def frame_with(at, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns)


def run_status(settings) -> list[tuple[str, str | None]]:
    with session_factory(settings.database)() as s:
        return [(r.version, r.outcome) for r in s.scalars(select(m.ShadowRun).order_by(m.ShadowRun.id))]


def test_the_shadow_section_shows_agreement_confusion_and_disagreements(seeded, app_for) -> None:
    settings, data = seeded
    differ = put_v3_in_shadow(settings, data.now)
    at = app_for(settings, "model_registry")
    assert_no_exception(at)
    shown = texts(at)
    assert "**v3** scores the live stream beside champion **v2**" in shown
    assert "started by lead; promoted automatically once the shadow period is over" in shown
    assert "Scored 4" in shown and "Topic agreement 75.0%" in shown and "Sentiment agreement 50.0%" in shown
    assert "Shadow period: 10 / 60 minutes, 4 / 500 articles" in at.get("progress")[0].proto.text
    confusion = frame_with(at, "Markets")
    assert (confusion.loc["Earnings", "Earnings"], confusion.loc["Earnings", "Markets"],
            confusion.loc["Macro", "Macro"]) == (1, 1, 2)
    assert frame_with(at, "challenger_topic")["title"].tolist() == differ[::-1]  # newest first

    at.radio(key="models.shadow.task").set_value("sentiment").run()
    assert_no_exception(at)
    confusion = frame_with(at, "bullish")
    assert (confusion.loc["bearish", "bearish"], confusion.loc["neutral", "bullish"],
            confusion.loc["neutral", "bearish"]) == (2, 1, 1)

    at.button(key="models.shadow.stop").click().run()
    assert_no_exception(at)
    assert run_status(settings) == [("v3", "stopped")]
    assert "No challenger in shadow" in texts(at)


def test_put_a_version_in_shadow_from_the_page(seeded, app_for) -> None:
    settings, _ = seeded
    at = app_for(settings, "model_registry")
    assert "No challenger in shadow" in texts(at)
    at.selectbox(key="models.promote.version").select("v3")
    at.button(key="models.shadow.start").click().run()
    assert_no_exception(at)
    assert run_status(settings) == [("v3", None)]
    shown = texts(at)
    assert "**v3** scores the live stream beside champion **v2**" in shown
    assert "observe only: promote it by hand" in shown and "Nothing scored yet" in shown
    versions = frame_with(at, "champion")
    assert dict(zip(versions["version"], versions["status"], strict=True))["v3"] == "shadow"
