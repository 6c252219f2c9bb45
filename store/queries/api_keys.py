"""API keys for the HTTP API: create (the plaintext is shown once), authenticate, list, revoke.

A key reads ``fp_<prefix>_<secret>``: ``prefix`` is 8 random hex characters, stored in clear to
find the row (and shown in listings); ``secret`` is ``secrets.token_urlsafe(32)``. Only the
SHA-256 of the whole key is stored. A revoked key keeps its row, and its name is never reused.

Every function takes the caller's ``Session`` and never commits: ``authenticate`` records
``last_used_at`` (at most once a minute per key) only if the caller commits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from finpulse.errors import PermanentError
from store import tables as m

SCOPES = ("read", "label", "operate")
MAX_NAME = 64
PREFIX_LEN = 8
MAX_KEY_LEN = 128  # a real key is 55 characters; anything much longer is not one of ours
LAST_USED_EVERY = timedelta(minutes=1)
_HEX = frozenset(string.hexdigits.lower())


class ApiKeyError(PermanentError):
    """An API key cannot be created or revoked: unknown scope, bad or duplicate name, no such key."""


@dataclass(frozen=True)
class ApiKey:
    """What may be shown about a key: never the secret, nor its hash."""

    name: str
    scopes: tuple[str, ...]
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def create_key(session: Session, name: str, scopes: Sequence[str], *, now: datetime) -> tuple[ApiKey, str]:
    """A new key named ``name`` with ``scopes``, and its plaintext: the only time it is seen."""
    _check_aware(now)
    _check_name(name)
    chosen = _check_scopes(scopes)
    if session.scalar(select(m.ApiKey.id).where(m.ApiKey.name == name)) is not None:
        raise ApiKeyError(f"an API key named {name!r} already exists (names are not reused, "
                          "even after revoking)")
    prefix = _new_prefix(session)
    plaintext = f"fp_{prefix}_{secrets.token_urlsafe(32)}"
    row = m.ApiKey(name=name, prefix=prefix, key_hash=_hash(plaintext), scopes=",".join(chosen),
                   created_at=now)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # another transaction took the name (or the prefix) meanwhile
        raise ApiKeyError(f"an API key named {name!r} was created at the same time") from exc
    return _public(row), plaintext


def authenticate(session: Session, key: str, *, now: datetime) -> ApiKey | None:
    """The key ``key`` is, or None when it is malformed, unknown, revoked or its secret is wrong."""
    _check_aware(now)
    prefix = _prefix_of(key)
    if prefix is None:
        return None
    row = session.scalar(select(m.ApiKey).where(m.ApiKey.prefix == prefix))
    if row is None or not hmac.compare_digest(row.key_hash, _hash(key)) or row.revoked_at is not None:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        row.last_used_at = now
        session.flush()
    return _public(row)


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, newest first, revoked ones included."""
    k = m.ApiKey
    return [_public(r) for r in session.scalars(select(k).order_by(k.created_at.desc(), k.id.desc()))]


def revoke_key(session: Session, name: str, *, now: datetime) -> ApiKey:
    """Revoke the key named ``name``; an already revoked key keeps its first ``revoked_at``."""
    _check_aware(now)
    row = session.scalar(select(m.ApiKey).where(m.ApiKey.name == name))
    if row is None:
        raise ApiKeyError(f"no API key named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()
    return _public(row)


def _public(row: m.ApiKey) -> ApiKey:
    return ApiKey(name=row.name, scopes=tuple(s for s in row.scopes.split(",") if s),
                  prefix=row.prefix, created_at=row.created_at, revoked_at=row.revoked_at,
                  last_used_at=row.last_used_at)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _prefix_of(key: str) -> str | None:
    """The prefix of a well-formed ``fp_<prefix>_<secret>``, else None."""
    if not isinstance(key, str) or len(key) > MAX_KEY_LEN or not key.startswith("fp_"):
        return None
    prefix, sep, secret = key[3:].partition("_")
    if len(prefix) != PREFIX_LEN or not set(prefix) <= _HEX or not sep or not secret:
        return None
    return prefix


def _new_prefix(session: Session) -> str:
    for _ in range(5):  # 32 random bits: a clash is rare, five in a row is not going to happen
        prefix = secrets.token_hex(PREFIX_LEN // 2)
        if session.scalar(select(m.ApiKey.id).where(m.ApiKey.prefix == prefix)) is None:
            return prefix
    raise ApiKeyError("could not draw an unused key prefix; try again")


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ApiKeyError(f"an API key needs a name, got {name!r}")
    if len(name) > MAX_NAME:
        raise ApiKeyError(f"API key name {name[:20]!r}... is {len(name)} characters; at most {MAX_NAME}")


def _check_scopes(scopes: Sequence[str]) -> tuple[str, ...]:
    """The scopes, deduplicated and sorted; ApiKeyError names any unknown one."""
    if isinstance(scopes, str):
        raise ApiKeyError(f"scopes must be a list of scope names, not the string {scopes!r}")
    unknown = [s for s in dict.fromkeys(scopes) if s not in SCOPES]
    if unknown:
        raise ApiKeyError(f"unknown scope {', '.join(map(repr, unknown))}: "
                          f"expected some of {', '.join(SCOPES)}")
    if not scopes:
        raise ApiKeyError(f"an API key needs at least one scope ({', '.join(SCOPES)})")
    return tuple(sorted(set(scopes)))


def _check_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now!r}: finpulse stores UTC-aware timestamps")
