"""Headline text search: the index each database offers, behind one exact predicate.

The search box means "the headline contains this text, ignoring case": ``lower(title) LIKE
'%text%'`` with the text bound as a parameter and its wildcards escaped. That predicate is
always applied, so the results are exactly those of a plain scan; an index only narrows the
rows it is tested on.

- PostgreSQL: a pg_trgm GIN index on ``lower(title)`` (migration 0003) serves that LIKE as it
  is, and the planner weighs it against reading the time window newest first. It can only weigh
  them for the actual text, so the search asks for a plan per value (a generic plan of a
  prepared statement would read the index even for a word every headline contains). Where the
  extension could not be installed, the same query reads the time window.
- SQLite: the FTS5 trigram table ``articles_fts`` (migration 0003, kept in sync by triggers)
  narrows the candidates to the articles that contain a few of the text's trigrams, chosen to
  be rare in the newest headlines and not to overlap (a superset of the LIKE's matches: the
  index folds case at least as widely as ``lower``). The narrowing is used when it leaves at
  most ``FTS_CAP`` articles in all of history; a more common text is found sooner by reading
  the time window newest first and stopping at the page limit, and so is one shorter than a
  trigram.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, column, func, literal_column, select, table, text
from sqlalchemy.orm import Session

FTS_CAP = 20_000
SAMPLE = 5_000  # newest rows in which each trigram's frequency is measured
DENSE = 0.2  # a trigram in more than this share of them narrows nothing worth its cost
PICK = 4  # trigrams in the narrowing query
PROBES = 48  # trigrams measured, at most

_fts = table("articles_fts", column("rowid"), column("articles_fts"))
ARTICLE_ROWID = literal_column("articles.rowid")


def like_pattern(needle: str) -> str:
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def contains(col: Any, needle: str) -> Any:
    """``col`` contains ``needle``, ignoring case: the predicate every search applies."""
    return func.lower(col).like(like_pattern(needle), escape="\\")


def never_matches(needle: str, dialect: str) -> bool:
    """PostgreSQL text cannot hold NUL, so no headline contains one (and binding it raises)."""
    return dialect == "postgresql" and "\x00" in needle


def plan_per_value(session: Session) -> None:
    """On PostgreSQL, plan this transaction's statements for their actual parameter values."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def fts_term(trigram: str) -> str:
    """One trigram as an FTS5 string: inside double quotes (doubled when embedded) every
    character is literal, so ``"``, ``*``, ``-``, ``:``, ``^``, ``(`` or ``AND`` neither raise
    nor change the query."""
    return '"' + trigram.replace('"', '""') + '"'


def trigrams(needle: str) -> list[tuple[int, str]]:
    """The distinct trigrams of ``needle`` with their first position."""
    seen: dict[str, int] = {}
    for i in range(len(needle) - 2):
        seen.setdefault(needle[i : i + 3], i)
    return [(i, g) for g, i in seen.items()]


def pick(measured: list[tuple[int, str, int]], sample: int) -> list[str]:
    """Up to ``PICK`` trigrams from (position, trigram, count in sample): the rarest first,
    skipping dense ones and any that overlaps one already picked (overlapping trigrams of one
    word narrow no more than one of them does)."""
    chosen: list[tuple[int, str]] = []
    for pos, gram, n in sorted(measured, key=lambda x: (x[2], x[0])):
        if n > DENSE * sample or len(chosen) == PICK:
            break
        if all(abs(pos - p) >= 3 for p, _ in chosen):
            chosen.append((pos, gram))
    return [g for _, g in chosen]


def fts_candidates(session: Session, needle: str, *, cap: int = FTS_CAP) -> Select | None:
    """A subquery of the rowids of the articles whose headline may contain ``needle`` (SQLite),
    or None when the FTS index would not pay off: text shorter than a trigram, trigrams common
    in recent headlines, or over ``cap`` candidates."""
    needle = needle.lower()
    grams = trigrams(needle)[:PROBES]
    if not grams or "\x00" in needle:
        return None
    top = session.scalar(select(func.max(ARTICLE_ROWID)).select_from(table("articles")))
    if top is None:
        return None
    measured = [(pos, g, _count(session, _matching([g]).where(_fts.c.rowid > top - SAMPLE)))
                for pos, g in grams]
    chosen = pick(measured, min(SAMPLE, top))
    if not chosen:
        return None
    hits = _matching(chosen)
    return hits if _count(session, hits.limit(cap + 1)) <= cap else None


def _matching(grams: list[str]) -> Select:
    return select(_fts.c.rowid).where(
        _fts.c.articles_fts.op("MATCH")(" AND ".join(fts_term(g) for g in grams)))


def _count(session: Session, stmt: Select) -> int:
    return session.scalar(select(func.count()).select_from(stmt.subquery()))
