"""The API's response bodies (and the labels request), so the OpenAPI document describes every
response. Times are ISO 8601 in UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Error(BaseModel):
    detail: str = Field(description="what went wrong, naming the field or scope")


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["reachable"]


class Point(BaseModel):
    bucket: datetime = Field(description="start of the time bucket")
    key: str = Field(description="the topic, ticker or source ('*' for scope overall)")
    value: float


class Series(BaseModel):
    metric: str
    scope: str
    granularity: str
    start: datetime
    end: datetime
    points: list[Point]


class ArticleOut(BaseModel):
    id: str
    published: datetime
    published_precision: Literal["second", "day"] = Field(
        description="day: the source gave a date, no time; `published` is 00:00 UTC of that day")
    source: str
    title: str
    url: str | None
    language: str | None
    duplicate_of: str | None
    topic: str
    topic_confidence: float
    sentiment: str
    sentiment_confidence: float
    sentiment_score: float
    model_version: str
    tickers: list[str]


class ArticlePage(BaseModel):
    items: list[ArticleOut]
    next: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class AlertOut(BaseModel):
    id: str
    rule: str
    scope: str
    key: str
    state: str
    severity: str
    value: float
    threshold: float
    started_at: datetime
    fired_at: datetime | None
    resolved_at: datetime | None
    updated_at: datetime
    acked_by: str | None
    acked_at: datetime | None


class Ack(BaseModel):
    id: str
    acked_by: str
    acked_at: datetime


class SilenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: str | None = Field(default=None, min_length=1, max_length=200,
                             description="the rule's name; null silences every rule")
    key: str | None = Field(default=None, min_length=1, max_length=200,
                            description="one topic, ticker or source; null: every key")
    minutes: int = Field(ge=1, le=60 * 24 * 90, description="how long, in minutes (at most 90 days)")
    reason: str = Field(default="", max_length=2000, description="why, for whoever reads it later")


class SilenceOut(BaseModel):
    id: int
    rule: str | None
    key: str | None
    until: datetime
    created_by: str
    reason: str
    created_at: datetime


class ModelOut(BaseModel):
    version: str
    base_model: str
    created_at: datetime
    metrics: dict[str, Any]
    is_champion: bool
    status: str
    notes: str | None


class LabelIn(BaseModel):
    """One label, as a row of ``finpulse labels import`` without ``labeled_by`` (the key's name)."""

    model_config = ConfigDict(extra="forbid")

    article_id: str | None = Field(default=None, description="the article; or give its text")
    text: str = Field(default="", description="the text the analyst labelled")
    task: str = Field(description="topic or sentiment")
    label: str | int = Field(description="a class name (e.g. Earnings, bullish) or id")
    labeled_at: str = Field(default="", description="ISO 8601; empty means now")


class LabelsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labels: list[LabelIn] = Field(min_length=1, max_length=1000)


class LabelsResult(BaseModel):
    inserted: int
    replaced: int
    kept: int = Field(description="a newer label by the same key was already stored")
    new_articles: int = Field(description="stub articles created for text-only labels")
    matched_by_text: int = Field(description="text-only labels that matched a stored article")
