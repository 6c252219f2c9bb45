"""The model registry's rows: register, list, get, champion, promote, rollback.

Every function takes the caller's ``Session`` and never commits; the caller owns
``with sessions.begin():``. Exactly one version is champion at any time once one is promoted.
Rollback follows the history in ``model_promotions`` as a stack: each ``promote`` pushes a
version, each ``rollback`` pops the current champion and reinstates the one below it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from finpulse.errors import FinpulseError
from store.models import ModelPromotion, ModelVersion


class RegistryError(FinpulseError):
    """A registry operation names an unknown version or cannot be done (nothing to roll back)."""


def _now() -> datetime:
    return datetime.now(UTC)


def register_version(
    session: Session,
    *,
    version: str,
    path: str,
    base_model: str,
    metrics: dict[str, Any],
    notes: str = "",
    created_at: datetime | None = None,
) -> ModelVersion:
    """Add a candidate version (not champion)."""
    if session.get(ModelVersion, version) is not None:
        raise RegistryError(f"model version {version!r} is already registered")
    row = ModelVersion(
        version=version,
        path=path,
        base_model=base_model,
        created_at=created_at or _now(),
        metrics=metrics,
        is_champion=False,
        status="candidate",
        notes=notes,
    )
    session.add(row)
    session.flush()
    return row


def list_versions(session: Session) -> list[ModelVersion]:
    """All versions, newest first."""
    return list(
        session.scalars(
            select(ModelVersion).order_by(ModelVersion.created_at.desc(), ModelVersion.version.desc())
        )
    )


def get_version(session: Session, version: str) -> ModelVersion:
    row = session.get(ModelVersion, version)
    if row is None:
        raise RegistryError(f"unknown model version {version!r} (see `finpulse models list`)")
    return row


def champion(session: Session) -> ModelVersion | None:
    """The champion row, or None when no version was ever promoted."""
    return session.scalars(
        select(ModelVersion).where(ModelVersion.is_champion.is_(True)).limit(1)
    ).first()


def champion_version(session: Session) -> str | None:
    """Just the champion's version string (cheap enough to poll)."""
    return session.scalars(
        select(ModelVersion.version).where(ModelVersion.is_champion.is_(True)).limit(1)
    ).first()


def _set_champion(session: Session, version: str) -> None:
    session.execute(
        update(ModelVersion).where(ModelVersion.is_champion.is_(True)).values(is_champion=False)
    )
    session.execute(
        update(ModelVersion)
        .where(ModelVersion.version == version)
        .values(is_champion=True, status="champion")
    )


def promote(session: Session, version: str, *, by: str = "finpulse") -> str | None:
    """Make ``version`` the champion; returns the previous champion (or None)."""
    get_version(session, version)
    previous = champion_version(session)
    if previous == version:
        return previous
    if previous is not None:
        session.execute(
            update(ModelVersion).where(ModelVersion.version == previous).values(status="retired")
        )
    _set_champion(session, version)
    session.add(ModelPromotion(version=version, previous=previous, action="promote", at=_now(), by=by))
    session.flush()
    return previous


def champion_stack(session: Session) -> list[str]:
    """The promotion history replayed as a stack (top = current champion)."""
    stack: list[str] = []
    for rec in session.scalars(select(ModelPromotion).order_by(ModelPromotion.id)):
        if rec.action == "promote":
            stack.append(rec.version)
        elif rec.action == "rollback" and stack:
            stack.pop()
    return stack


def rollback(session: Session, *, by: str = "finpulse") -> tuple[str, str]:
    """Reinstate the champion before the current one; returns (rolled_back, reinstated)."""
    stack = champion_stack(session)
    current = champion_version(session)
    if current is None or len(stack) < 2 or stack[-1] != current:
        raise RegistryError("nothing to roll back to: no earlier champion in the promotion history")
    target = stack[-2]
    session.execute(
        update(ModelVersion).where(ModelVersion.version == current).values(status="rolled_back")
    )
    _set_champion(session, target)
    session.add(ModelPromotion(version=target, previous=current, action="rollback", at=_now(), by=by))
    session.flush()
    return current, target


def promotions(session: Session) -> list[ModelPromotion]:
    """The promotion history, oldest first."""
    return list(session.scalars(select(ModelPromotion).order_by(ModelPromotion.id)))
