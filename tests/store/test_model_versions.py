"""Registry rows on SQLite and PostgreSQL: exactly one champion; rollback walks the history."""

from __future__ import annotations

import pytest

from finpulse.settings import DatabaseSettings
from store.db import session_factory
from store.migrate import upgrade
from store.queries import model_versions as q

pytestmark = pytest.mark.integration


def test_promote_and_rollback_keep_exactly_one_champion(db_url: str) -> None:
    db = DatabaseSettings(url=db_url)
    upgrade(db)
    sessions = session_factory(db)
    with sessions.begin() as s:
        for v in ("a", "b", "c"):
            q.register_version(s, version=v, path=f"/m/{v}", base_model="x", metrics={"acc": 1})
        assert q.champion(s) is None
        assert q.promote(s, "a") is None
        assert q.promote(s, "b") == "a"
        assert q.promote(s, "c") == "b"
    with sessions.begin() as s:
        assert [r.version for r in q.list_versions(s) if r.is_champion] == ["c"]
        assert q.rollback(s) == ("c", "b")
        assert q.rollback(s) == ("b", "a")
        with pytest.raises(q.RegistryError, match="nothing to roll back"):
            q.rollback(s)
        assert q.champion_version(s) == "a"
        assert sum(r.is_champion for r in q.list_versions(s)) == 1
        assert [p.action for p in q.promotions(s)] == ["promote"] * 3 + ["rollback"] * 2
    with sessions.begin() as s:
        with pytest.raises(q.RegistryError, match="unknown model version 'zz'"):
            q.promote(s, "zz")
        with pytest.raises(q.RegistryError, match="already registered"):
            q.register_version(s, version="a", path="/m/a", base_model="x", metrics={})
