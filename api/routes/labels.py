"""``POST /v1/labels``: analyst labels, stored as ``finpulse labels import`` stores a CSV's
rows (same checks, same rules), labelled by the API key's name (scope ``label``)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter

from api.auth import Labeler
from api.context import Context
from api.errors import AUTH, BAD_INPUT
from api.schemas import LabelIn, LabelsIn, LabelsResult
from finpulse.labels import LabelRecord, import_rows, parse_row
from store.queries.label_admin import articles_by_text, import_labels

router = APIRouter(tags=["labels"])


def _record(i: int, label: LabelIn, by: str, now: datetime) -> LabelRecord:
    row = {"article_id": (label.article_id or "").strip(), "text": label.text.strip(),
           "task": label.task.strip(), "label": str(label.label).strip(), "labeled_by": by,
           "labeled_at": label.labeled_at.strip()}
    try:
        return parse_row(row, now)
    except ValueError as exc:
        raise ValueError(f"labels[{i}]: {exc}") from exc


@router.post("/labels", response_model=LabelsResult, responses=AUTH | BAD_INPUT)
def add_labels(ctx: Context, key: Labeler, body: LabelsIn) -> LabelsResult:
    """Store labels; a label replaces this key's earlier label of the article and task when it
    is at least as recent. A label given by text alone attaches to the stored article with the
    same text, else a stub article is created for it."""
    now = ctx.clock()
    records = [_record(i, label, key.name, now) for i, label in enumerate(body.labels)]
    text_only = [r.text for r in records if r.article_id is None]
    with ctx.sessions.begin() as session:
        matched = articles_by_text(session, text_only)
        result = import_labels(session, import_rows(records, matched), now=now)
    return LabelsResult(inserted=result.inserted, replaced=result.replaced, kept=result.kept,
                        new_articles=result.new_articles,
                        matched_by_text=sum(t in matched for t in text_only))
