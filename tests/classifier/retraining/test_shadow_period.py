"""The shadow registry on SQLite and PostgreSQL: one challenger in shadow at a time; promotion
after the shadow period only once both minimums are met; a change of champion ends the shadow
without promotion; `finpulse retrain --watch` does the promoting."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from classifier.retraining.trigger import settle_shadow, start_autoretrain
from finpulse.schemas import TOPICS
from finpulse.settings import ModelSettings, Settings
from store.db import session_factory
from store.queries import model_versions as q
from store.queries.shadow import shadow_row, write_shadow
from tests.store.factories import classified
from tests.support import wait_until

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


@pytest.fixture
def registry(make_settings, migrated, db_url, tmp_path):
    """Settings whose registry holds champion 'c' and candidates 'x' and 'y' (no weights needed)."""

    def build(**model) -> Settings:
        settings = migrated(make_settings(database_url=db_url, model=ModelSettings(
            registry_dir=tmp_path / "models", **model)))
        with session(settings) as s:
            for v in ("c", "x", "y"):
                q.register_version(s, version=v, path=f"/m/{v}", base_model="b", metrics={})
            q.promote(s, "c", by="lead")
        return settings

    return build


def session(settings: Settings):
    return session_factory(settings.database).begin()


def score(
    settings: Settings, ids: range, *, at: datetime, challenger: str = "x", champion: str = "c"
) -> None:
    """Rows as the shadow scorer writes them for articles ``ids``."""
    rows = [shadow_row(classified(i, topic_id=TOPICS.index("Macro"), model_version=champion),
                       classified(i, topic_id=TOPICS.index("Markets"), model_version=challenger).prediction,
                       at) for i in ids]
    with session(settings) as s:
        write_shadow(s, rows)


def state(settings: Settings) -> tuple[str | None, str | None, dict[str, str]]:
    """(champion, shadow version, status of each version)."""
    with session(settings) as s:
        return (q.champion_version(s), q.shadow_version(s),
                {r.version: r.status for r in q.list_versions(s)})


def last_run(settings: Settings) -> tuple[str, str | None, str]:
    with session(settings) as s:
        run = q.shadow_runs(s, limit=1)[0]
        return run.version, run.outcome, run.notes


def test_promotion_waits_for_both_minimums(registry) -> None:
    settings = registry(shadow_min_minutes=30, shadow_min_articles=3)
    with session(settings) as s:
        q.start_shadow(s, "x", by="finpulse retrain", promote_after=True, now=T0)
    assert state(settings) == ("c", "x", {"c": "champion", "x": "shadow", "y": "candidate"})
    score(settings, range(2), at=T0 + timedelta(minutes=1))
    score(settings, range(10, 14), at=T0 + timedelta(minutes=1), champion="old")  # not against c
    score(settings, range(20, 24), at=T0 - timedelta(minutes=1))  # before the shadow started
    assert settle_shadow(settings, now=T0 + timedelta(hours=5)) is None  # long enough, 2 articles
    score(settings, range(2, 3), at=T0 + timedelta(minutes=2))
    assert settle_shadow(settings, now=T0 + timedelta(minutes=29)) is None  # 3 articles, too soon
    assert state(settings)[:2] == ("c", "x")
    assert settle_shadow(settings, now=T0 + timedelta(minutes=30)) == "x"
    assert state(settings) == ("x", None, {"c": "retired", "x": "champion", "y": "candidate"})
    assert last_run(settings) == ("x", "promoted", "promoted by finpulse shadow period")
    with session(settings) as s:
        assert q.promotions(s)[-1].by == "finpulse shadow period"
    assert settle_shadow(settings, now=T0 + timedelta(hours=9)) is None


def test_an_observe_only_shadow_is_never_promoted_automatically(registry) -> None:
    settings = registry(shadow_min_minutes=0, shadow_min_articles=1)
    with session(settings) as s:
        q.start_shadow(s, "x", by="ann", now=T0)
    score(settings, range(5), at=T0)
    assert settle_shadow(settings, now=T0 + timedelta(days=1)) is None
    assert state(settings)[:2] == ("c", "x")


def test_a_change_of_champion_ends_the_shadow_without_promotion(registry) -> None:
    settings = registry(shadow_min_minutes=0, shadow_min_articles=1)
    with session(settings) as s:
        q.start_shadow(s, "x", promote_after=True, now=T0)
        q.promote(s, "y", by="ann")  # someone promotes another version by hand
    assert state(settings) == ("y", None, {"c": "retired", "x": "candidate", "y": "champion"})
    assert last_run(settings) == ("x", "champion_changed",
                                  "not promoted: the champion changed from c to y (ann)")
    score(settings, range(5), at=T0)
    assert settle_shadow(settings, now=T0 + timedelta(days=1)) is None
    with session(settings) as s:  # a rollback is a change of champion too
        q.start_shadow(s, "x", promote_after=True, now=T0)
        assert q.rollback(s, by="bob") == ("y", "c")
    assert state(settings)[:2] == ("c", None)
    assert last_run(settings)[1:] == ("champion_changed",
                                      "not promoted: the champion changed from y to c (bob)")


def test_promoting_the_shadow_by_hand_ends_it_as_promoted(registry) -> None:
    settings = registry()
    with session(settings) as s:
        q.start_shadow(s, "x", now=T0)
        assert q.promote(s, "x", by="ann") == "c"
    assert state(settings)[:2] == ("x", None)
    assert last_run(settings) == ("x", "promoted", "promoted by ann")


def test_one_challenger_in_shadow_at_a_time(registry) -> None:
    settings = registry()
    with session(settings) as s:
        q.start_shadow(s, "x", by="ann", now=T0)
        run = q.start_shadow(s, "y", by="bob", now=T0 + timedelta(minutes=5))
        assert (run.version, run.champion, run.promote_after) == ("y", "c", False)
        again = q.start_shadow(s, "y", by="bob", promote_after=True, now=T0 + timedelta(hours=1))
        assert again.id == run.id and again.started_at == T0 + timedelta(minutes=5) and again.promote_after
    assert state(settings) == ("c", "y", {"c": "champion", "x": "candidate", "y": "shadow"})
    with session(settings) as s:
        assert [(r.version, r.outcome, r.notes) for r in q.shadow_runs(s)] == [
            ("y", None, ""), ("x", "replaced", "replaced by y (bob)")]
        with pytest.raises(q.RegistryError, match="c is the champion"):
            q.start_shadow(s, "c")
        with pytest.raises(q.RegistryError, match="unknown model version 'zz'"):
            q.start_shadow(s, "zz")
    with session(settings) as s:
        assert q.stop_shadow(s, by="ann") == "y"
        assert q.stop_shadow(s, by="ann") is None
    assert state(settings)[1:] == (None, {"c": "champion", "x": "candidate", "y": "candidate"})
    assert last_run(settings) == ("y", "stopped", "stopped by ann")


def test_shadow_needs_a_champion(make_settings, migrated, db_url) -> None:
    settings = migrated(make_settings(database_url=db_url))
    with session(settings) as s:
        q.register_version(s, version="x", path="/m/x", base_model="b", metrics={})
        with pytest.raises(q.RegistryError, match="no champion to compare with"):
            q.start_shadow(s, "x")


def test_the_watch_job_promotes_once_the_period_is_over(registry) -> None:
    settings = registry(shadow_min_minutes=0, shadow_min_articles=2)
    with session(settings) as s:
        q.start_shadow(s, "x", promote_after=True)
    stop = threading.Event()
    thread = start_autoretrain(settings, stop, retrain_fn=lambda *a, **k: None, poll_s=0.05)
    try:
        score(settings, range(1), at=datetime.now(UTC))
        threading.Event().wait(0.5)
        assert state(settings)[0] == "c"  # one article of two
        score(settings, range(1, 2), at=datetime.now(UTC))
        wait_until(lambda: state(settings)[0] == "x", timeout_s=10, what="the shadow promoted")
    finally:
        stop.set()
        thread.join(10)
    assert last_run(settings)[1] == "promoted"


@pytest.mark.postgres
def test_a_shadow_started_during_a_promotion_compares_with_the_new_champion(make_settings, migrated,
                                                                            postgres_url, tmp_path) -> None:
    settings = migrated(make_settings(database_url=postgres_url))
    with session(settings) as s:
        for v in ("c", "x", "y"):
            q.register_version(s, version=v, path=f"/m/{v}", base_model="b", metrics={})
        q.promote(s, "c")
    started: dict[str, str] = {}

    def start() -> None:
        with session(settings) as s:
            started["champion"] = q.start_shadow(s, "x").champion

    with session(settings) as s:
        q.promote(s, "y", by="ann")  # not committed yet: the shadow must wait for it
        thread = threading.Thread(target=start)
        thread.start()
        thread.join(1.0)
        assert thread.is_alive() and not started
    thread.join(10)
    assert started == {"champion": "y"}
    assert state(settings)[:2] == ("y", "x")
