"""API keys on SQLite and PostgreSQL: the plaintext is shown once and never stored; only a
live key with the right secret authenticates; names are unique for good; revoking is idempotent;
``last_used_at`` moves at most once a minute."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session, sessionmaker

from finpulse.errors import PermanentError
from finpulse.settings import DatabaseSettings
from store.db import get_engine, session_factory
from store.migrate import alembic_config, upgrade
from store.queries import api_keys as q

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
KEY_FORMAT = re.compile(r"fp_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


@pytest.fixture
def sessions(db_url: str) -> sessionmaker[Session]:
    db = DatabaseSettings(url=db_url)
    upgrade(db)
    return session_factory(db)


def create(sessions: sessionmaker[Session], name: str, scopes=("read",), at: datetime = T0) -> str:
    with sessions.begin() as s:
        return q.create_key(s, name, scopes, now=at)[1]


def authenticate(sessions: sessionmaker[Session], key: str, at: datetime = T0) -> q.ApiKey | None:
    with sessions.begin() as s:
        return q.authenticate(s, key, now=at)


def test_a_created_key_authenticates_with_its_scopes(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        made, key = q.create_key(s, "ci-bot", ["read", "operate", "read"], now=T0)
    assert KEY_FORMAT.fullmatch(key), key
    assert made == q.ApiKey(name="ci-bot", scopes=("operate", "read"), prefix=key[3:11],
                            created_at=T0, revoked_at=None, last_used_at=None)
    found = authenticate(sessions, key, T0 + timedelta(seconds=5))
    assert found is not None
    assert (found.name, found.scopes, found.prefix) == ("ci-bot", ("operate", "read"), key[3:11])
    assert found.created_at == T0 and found.revoked_at is None
    assert found.last_used_at == T0 + timedelta(seconds=5)
    assert create(sessions, "other") != key  # each key has its own prefix and secret


def test_the_stored_row_holds_a_hash_not_the_key(sessions: sessionmaker[Session]) -> None:
    key = create(sessions, "analyst", ["label", "read"])
    secret = key[12:]
    with sessions() as s:
        row = s.execute(text("SELECT * FROM api_keys")).mappings().one()
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert row["prefix"] == key[3:11] and row["scopes"] == "label,read"
    assert not [c for c, v in row.items() if isinstance(v, str) and secret in v]


@pytest.mark.parametrize("mangle", [
    lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),  # wrong secret
    lambda k: k + "x",
    lambda k: k[:12],  # no secret
    lambda k: k[:11] + k[12:],  # no separator
    lambda k: k[3:],  # no "fp_"
    lambda k: "fp_g" + k[4:],  # prefix not hex
    lambda k: k[:10] + k[11:],  # prefix too short
    lambda k: k + "x" * 200,  # far too long
    lambda k: "",
    lambda k: "Bearer " + k,
], ids=["wrong-secret", "extra-char", "no-secret", "no-separator", "no-fp", "non-hex-prefix",
        "short-prefix", "too-long", "empty", "bearer"])
def test_anything_but_the_exact_key_is_refused(sessions: sessionmaker[Session], mangle) -> None:
    key = create(sessions, "k")
    assert authenticate(sessions, mangle(key)) is None
    assert authenticate(sessions, key) is not None


def test_unknown_prefix_and_revoked_key_are_refused(sessions: sessionmaker[Session]) -> None:
    key, kept = create(sessions, "old"), create(sessions, "kept")
    other_prefix = "0" * 8 if key[3:11] != "0" * 8 else "1" * 8
    assert authenticate(sessions, f"fp_{other_prefix}{key[11:]}") is None
    with sessions.begin() as s:
        q.revoke_key(s, "old", now=T0 + timedelta(minutes=1))
    assert authenticate(sessions, key, T0 + timedelta(minutes=2)) is None
    assert authenticate(sessions, kept, T0 + timedelta(minutes=2)) is not None
    with sessions() as s:  # a refused key is not marked as used
        assert {k.name: k.last_used_at for k in q.list_keys(s)} == {
            "old": None, "kept": T0 + timedelta(minutes=2)}


def test_a_name_is_never_reused(sessions: sessionmaker[Session]) -> None:
    create(sessions, "bot")
    with sessions.begin() as s, pytest.raises(q.ApiKeyError, match="named 'bot' already exists"):
        q.create_key(s, "bot", ["label"], now=T0)
    with sessions.begin() as s:
        q.revoke_key(s, "bot", now=T0)
    with sessions.begin() as s, pytest.raises(q.ApiKeyError, match="already exists"):
        q.create_key(s, "bot", ["read"], now=T0)
    with sessions() as s:
        assert [k.name for k in q.list_keys(s)] == ["bot"]


def test_bad_scopes_and_names_are_refused(sessions: sessionmaker[Session]) -> None:
    assert issubclass(q.ApiKeyError, PermanentError)
    bad = {
        ("a", ("read", "admin", "root")): "unknown scope 'admin', 'root': expected some of read, label, "
                                          "operate",
        ("a", ()): "at least one scope",
        ("a", "read"): "not the string 'read'",
        ("", ("read",)): "needs a name",
        ("  ", ("read",)): "needs a name",
        ("x" * 65, ("read",)): "65 characters; at most 64",
    }
    with sessions.begin() as s:
        for (name, scopes), message in bad.items():
            with pytest.raises(q.ApiKeyError, match=re.escape(message)):
                q.create_key(s, name, scopes, now=T0)
        assert q.create_key(s, "x" * 64, q.SCOPES, now=T0)[0].scopes == ("label", "operate", "read")
        assert [k.name for k in q.list_keys(s)] == ["x" * 64]


def test_list_is_newest_first_with_revoked_keys(sessions: sessionmaker[Session]) -> None:
    for i, name in enumerate(["first", "second", "third"]):
        create(sessions, name, at=T0 + timedelta(hours=i))
    with sessions.begin() as s:
        q.revoke_key(s, "second", now=T0 + timedelta(hours=5))
    with sessions() as s:
        keys = q.list_keys(s)
    assert [k.name for k in keys] == ["third", "second", "first"]
    assert [k.revoked_at for k in keys] == [None, T0 + timedelta(hours=5), None]


def test_revoke_is_idempotent(sessions: sessionmaker[Session]) -> None:
    create(sessions, "bot")
    with sessions.begin() as s:
        first = q.revoke_key(s, "bot", now=T0 + timedelta(minutes=1))
    with sessions.begin() as s:
        again = q.revoke_key(s, "bot", now=T0 + timedelta(minutes=9))
    assert first == again and again.revoked_at == T0 + timedelta(minutes=1)
    with sessions.begin() as s, pytest.raises(q.ApiKeyError, match="no API key named 'nobody'"):
        q.revoke_key(s, "nobody", now=T0)


def test_last_used_at_moves_at_most_once_a_minute(sessions: sessionmaker[Session]) -> None:
    key = create(sessions, "bot")

    def used_after(seconds: float) -> datetime | None:
        seen = authenticate(sessions, key, T0 + timedelta(seconds=seconds))
        with sessions() as s:
            stored = q.list_keys(s)[0].last_used_at
        assert seen is not None and seen.last_used_at == stored
        return stored

    assert used_after(10) == T0 + timedelta(seconds=10)
    assert used_after(40) == T0 + timedelta(seconds=10)
    assert used_after(69) == T0 + timedelta(seconds=10)
    assert used_after(70) == T0 + timedelta(seconds=70)
    assert used_after(65) == T0 + timedelta(seconds=70)  # a clock that steps back moves nothing
    assert used_after(3600) == T0 + timedelta(hours=1)


def test_naive_now_is_refused(sessions: sessionmaker[Session]) -> None:
    key = create(sessions, "bot")
    with sessions() as s, pytest.raises(ValueError, match="naive datetime"):
        q.authenticate(s, key, now=T0.replace(tzinfo=None))


def test_migration_0006_downgrades_and_upgrades_again(db_url: str) -> None:
    db = DatabaseSettings(url=db_url)
    upgrade(db)
    cfg = alembic_config(db)
    with get_engine(db).begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    with get_engine(db).connect() as conn:
        assert "api_keys" not in inspect(conn).get_table_names()
    upgrade(db)
    with get_engine(db).connect() as conn:
        assert "api_keys" in inspect(conn).get_table_names()
        assert {i["name"]: i["unique"] for i in inspect(conn).get_indexes("api_keys")}[
            "ix_api_keys_prefix"]
