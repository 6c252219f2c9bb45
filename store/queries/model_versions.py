"""The model registry's rows: register, list, get, champion, promote, rollback, shadow.

Every function takes the caller's ``Session`` and never commits; the caller owns
``with sessions.begin():``. Exactly one version is champion at any time once one is promoted.
Rollback follows the history in ``model_promotions`` as a stack: each ``promote`` pushes a
version, each ``rollback`` pops the current champion and reinstates the one below it.

At most one version is in shadow (status 'shadow', one open row in ``shadow_runs``): it scores
the live stream beside the champion it was compared with. Any change of champion ends the run,
in the same transaction: promoting the shadow version itself ends it as 'promoted'; any other
promotion or a rollback ends it as 'champion_changed', and the challenger goes back to
'candidate' without being promoted (its evidence was about another champion).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from finpulse.errors import FinpulseError
from store.tables import ModelPromotion, ModelVersion, ShadowRun


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
    _crown(session, version, previous, action="promote", previous_status="retired", by=by)
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
    _crown(session, target, current, action="rollback", previous_status="rolled_back", by=by)
    return current, target


def _crown(session: Session, version: str, previous: str | None, *, action: str,
           previous_status: str, by: str) -> None:
    """Make ``version`` the champion in place of ``previous`` (which gets ``previous_status``)
    and record it in the promotion history."""
    if previous is not None:
        session.execute(
            update(ModelVersion).where(ModelVersion.version == previous).values(status=previous_status)
        )
    _set_champion(session, version)
    session.add(ModelPromotion(version=version, previous=previous, action=action, at=_now(), by=by))
    _champion_changed(session, version, by=by)
    session.flush()


def promotions(session: Session) -> list[ModelPromotion]:
    """The promotion history, oldest first."""
    return list(session.scalars(select(ModelPromotion).order_by(ModelPromotion.id)))


SHADOW = "shadow"


def shadow_run(session: Session) -> ShadowRun | None:
    """The open shadow run, or None when no challenger is in shadow."""
    return session.scalars(
        select(ShadowRun).where(ShadowRun.ended_at.is_(None)).order_by(ShadowRun.id.desc()).limit(1)
    ).first()


def shadow_version(session: Session) -> str | None:
    """Just the shadow version (cheap enough to poll)."""
    run = shadow_run(session)
    return run.version if run else None


def shadow_runs(session: Session, *, version: str | None = None, limit: int = 20) -> list[ShadowRun]:
    """Shadow runs, newest first (optionally of one version)."""
    stmt = select(ShadowRun).order_by(ShadowRun.id.desc()).limit(limit)
    if version is not None:
        stmt = stmt.where(ShadowRun.version == version)
    return list(session.scalars(stmt))


def lock(session: Session) -> None:
    """Wait for any other transaction that changes the champion, and keep them waiting until
    this one ends (a row lock on the champion, PostgreSQL). Shadow changes take it first, so a
    promotion and a shadow change never interleave. SQLite serialises writers by itself."""
    session.execute(select(ModelVersion.version).where(ModelVersion.is_champion.is_(True))
                    .with_for_update())


def _end_run(session: Session, run: ShadowRun, outcome: str, note: str, now: datetime) -> None:
    run.ended_at, run.outcome, run.notes = now, outcome, note
    session.execute(
        update(ModelVersion)
        .where(ModelVersion.version == run.version, ModelVersion.status == SHADOW)
        .values(status="candidate")
    )


def start_shadow(session: Session, version: str, *, by: str = "finpulse", promote_after: bool = False,
                 now: datetime | None = None) -> ShadowRun:
    """Put ``version`` in shadow beside the current champion (ending any other shadow run as
    'replaced'). Shadowing the version already in shadow keeps its run (and its start time),
    only updating ``promote_after``."""
    lock(session)
    row = get_version(session, version)
    champ = champion_version(session)
    if champ is None:
        raise RegistryError("no champion to compare with: promote a version first")
    if version == champ:
        raise RegistryError(f"{version} is the champion: put a challenger in shadow")
    now = now or _now()
    current = shadow_run(session)
    if current is not None and current.version == version:
        current.promote_after = promote_after
        session.flush()
        return current
    if current is not None:
        _end_run(session, current, "replaced", f"replaced by {version} ({by})", now)
    row.status = SHADOW
    run = ShadowRun(version=version, champion=champ, promote_after=promote_after, started_at=now,
                    started_by=by, notes="")
    session.add(run)
    session.flush()
    return run


def stop_shadow(session: Session, *, by: str = "finpulse", now: datetime | None = None) -> str | None:
    """End the open shadow run (outcome 'stopped'); returns its version, or None if none was open."""
    lock(session)
    run = shadow_run(session)
    if run is None:
        return None
    _end_run(session, run, "stopped", f"stopped by {by}", now or _now())
    session.flush()
    return run.version


def _champion_changed(session: Session, champion: str, *, by: str) -> None:
    run = shadow_run(session)
    if run is None or run.champion == champion:
        return
    if run.version == champion:
        _end_run(session, run, "promoted", f"promoted by {by}", _now())
    else:
        _end_run(session, run, "champion_changed",
                 f"not promoted: the champion changed from {run.champion} to {champion} ({by})", _now())
