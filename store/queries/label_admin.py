"""Labels in bulk: import (``finpulse labels import``), export, and the rows retraining reads.

Every function takes the caller's ``Session`` and never commits. One row per (article, task,
analyst): importing a label replaces that analyst's earlier label for the article and task
when it is at least as recent (an older export imported again does not undo a correction).

A label given by its text alone attaches to a stored article with the same text up to
whitespace (``articles_by_text``); only when there is none is a stub article created for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, func, or_, select, tuple_
from sqlalchemy.orm import Session

from finpulse.errors import ConfigError
from finpulse.labels import IMPORT_SOURCE
from store import tables as m
from store.upsert import upsert

CHUNK = 500


@dataclass(frozen=True)
class ImportResult:
    inserted: int
    replaced: int
    kept: int  # the stored label was newer: left alone
    new_articles: int


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def existing_articles(session: Session, ids: Iterable[str]) -> set[str]:
    ids = sorted(set(ids))
    found: set[str] = set()
    for part in _chunks(ids):
        found.update(session.scalars(select(m.Article.id).where(m.Article.id.in_(part))))
    return found


SPACES = " \n\r\t\f\v\u00a0"
_SPACE_RUN = re.compile(f"[{SPACES}]+")


def same_text(text: str) -> str:
    """``text`` with its whitespace normalised: runs of spaces, tabs, line breaks and no-break
    spaces as one space, none at the ends (the case and everything else kept)."""
    return _SPACE_RUN.sub(" ", text).strip()


def _squeezed(column):  # a SQL expression without any whitespace
    for ch in SPACES:
        column = func.replace(column, ch, "", type_=Text)
    return column


def _preference(row) -> tuple:
    """Several articles with the text: an ingested one before an earlier import's stub, an
    original before a duplicate, then the earliest published."""
    return row.source == IMPORT_SOURCE, row.duplicate_of is not None, row.published, row.id


def articles_by_text(session: Session, texts: Iterable[str]) -> dict[str, str]:
    """``{text: article id}`` for each text that is a stored article's title, or its title and
    text together (what the classifier reads), up to whitespace. Texts without one are left out.
    The database narrows by the text without any whitespace (a scan of the articles per 500
    texts); Python confirms the match."""
    texts = [t for t in texts if same_text(t)]
    keys = sorted({same_text(t).replace(" ", "") for t in texts})
    a = m.Article
    title, content = _squeezed(a.title), _squeezed(a.title) + _squeezed(a.text)
    best: dict[str, Any] = {}
    for part in _chunks(keys):
        stmt = select(a.id, a.title, a.text, a.source, a.duplicate_of, a.published).where(
            or_(title.in_(part), content.in_(part)))
        for row in session.execute(stmt):
            for seen in {same_text(row.title), same_text(f"{row.title} {row.text}")}:
                if seen in best and _preference(best[seen]) <= _preference(row):
                    continue
                best[seen] = row
    return {t: best[same_text(t)].id for t in texts if same_text(t) in best}


def _stub_articles(session: Session, rows: Sequence[Mapping[str, Any]], now: datetime) -> int:
    """Create an article for every unknown id that comes with a text; error on the others."""
    known = existing_articles(session, (r["article_id"] for r in rows))
    stubs: dict[str, Mapping[str, Any]] = {}
    for r in rows:
        if r["article_id"] in known or r["article_id"] in stubs:
            continue
        if not r["text"].strip():
            raise ConfigError(f"label for unknown article {r['article_id']!r} has no text "
                              "(give the text so the article can be created)")
        stubs[r["article_id"]] = r
    upsert(session, m.Article.__table__, [
        {"id": aid, "source": IMPORT_SOURCE, "url": None, "title": r["text"], "text": "",
         "published": r["labeled_at"], "fetched": now, "language": None, "author": None,
         "duplicate_of": None, "stored_at": now}
        for aid, r in stubs.items()], keys=["id"], update=[])
    return len(stubs)


def _stored_times(session: Session, keys: list[tuple[str, str, str]]) -> dict[tuple, datetime]:
    lab = m.Label
    out: dict[tuple, datetime] = {}
    for part in _chunks(keys):
        stmt = select(lab.article_id, lab.task, lab.labeled_by, lab.labeled_at).where(
            tuple_(lab.article_id, lab.task, lab.labeled_by).in_(list(part)))
        out.update({(a, t, b): at for a, t, b, at in session.execute(stmt)})
    return out


def import_labels(session: Session, rows: Sequence[Mapping[str, Any]], *, now: datetime) -> ImportResult:
    """Store label rows (keys: article_id, text, task, label, labeled_by, labeled_at)."""
    latest: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    for r in rows:
        key = (r["article_id"], r["task"], r["labeled_by"])
        if key not in latest or r["labeled_at"] >= latest[key]["labeled_at"]:
            latest[key] = r
    new_articles = _stub_articles(session, list(latest.values()), now)
    stored = _stored_times(session, list(latest))
    write = [r for k, r in latest.items() if k not in stored or r["labeled_at"] >= stored[k]]
    for part in _chunks(write):
        upsert(session, m.Label.__table__, [
            {"article_id": r["article_id"], "task": r["task"], "label": r["label"],
             "labeled_by": r["labeled_by"], "labeled_at": r["labeled_at"], "text": r["text"]}
            for r in part], keys=["article_id", "task", "labeled_by"],
            update=["label", "labeled_at", "text"])
    replaced = sum(1 for r in write if (r["article_id"], r["task"], r["labeled_by"]) in stored)
    return ImportResult(inserted=len(write) - replaced, replaced=replaced,
                        kept=len(latest) - len(write), new_articles=new_articles)


def label_rows(session: Session, task: str | None = None) -> list[dict[str, Any]]:
    """Every stored label with its article's title and text, oldest first."""
    lab, a = m.Label, m.Article
    stmt = (select(lab.article_id, lab.task, lab.label, lab.labeled_by, lab.labeled_at,
                   lab.text.label("label_text"), a.title, a.text)
            .join(a, a.id == lab.article_id)
            .order_by(lab.labeled_at, lab.id))
    if task is not None:
        stmt = stmt.where(lab.task == task)
    return [dict(r._mapping) for r in session.execute(stmt)]


def export_rows(session: Session) -> list[dict[str, Any]]:
    """Rows for ``finpulse labels export``: the text is what the analyst saw (or the title)."""
    return [{"article_id": r["article_id"], "text": r["label_text"] or r["title"],
             "task": r["task"], "label": r["label"], "labeled_by": r["labeled_by"],
             "labeled_at": r["labeled_at"]} for r in label_rows(session)]
