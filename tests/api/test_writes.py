"""The two writes: acknowledging an alert (scope operate) and labelling (scope label), each
recorded under the key's name; labels are checked as ``finpulse labels import`` checks them."""

from __future__ import annotations

import pytest

from store.db import session_factory
from store.queries.label_admin import export_rows
from tests.api.conftest import Api

pytestmark = pytest.mark.integration


def test_ack_records_the_key_name(api: Api) -> None:
    r = api.post("/v1/alerts/a-nvda/ack", "operator")
    assert r.status_code == 200 and r.json()["acked_by"] == "operator"
    acked = {a["id"]: a for a in api.get("/v1/alerts", "admin").json()}
    assert acked["a-nvda"]["acked_by"] == "operator" and acked["a-nvda"]["acked_at"]
    assert acked["a-earnings"]["acked_by"] is None


def test_ack_of_an_unknown_alert_is_404(api: Api) -> None:
    r = api.post("/v1/alerts/no-such-alert/ack", "operator")
    assert r.status_code == 404 and "no-such-alert" in r.json()["detail"]


def test_a_silence_is_made_listed_and_ended_under_the_key_name(api: Api) -> None:
    r = api.post("/v1/silences", "operator", json={
        "rule": "bearish-surge", "key": "NVDA", "minutes": 90, "reason": "earnings day"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["created_by"] == "operator" and made["rule"] == "bearish-surge"
    assert made["until"] > made["created_at"]
    everywhere = api.post("/v1/silences", "operator", json={"minutes": 5}).json()
    assert everywhere["rule"] is None and everywhere["key"] is None
    listed = api.get("/v1/silences", "reader").json()
    assert [s["id"] for s in listed] == [everywhere["id"], made["id"]]  # soonest to end first
    assert listed[1]["reason"] == "earnings day"
    assert api.client.delete(f"/v1/silences/{made['id']}", headers=api.headers("operator")).status_code == 204
    assert [s["id"] for s in api.get("/v1/silences", "reader").json()] == [everywhere["id"]]
    r = api.client.delete(f"/v1/silences/{made['id']}", headers=api.headers("operator"))
    assert r.status_code == 404 and str(made["id"]) in r.json()["detail"]


@pytest.mark.parametrize(("body", "field"), [
    ({"rule": "r"}, "minutes"),
    ({"rule": "r", "minutes": 0}, "minutes"),
    ({"rule": "r", "minutes": 60 * 24 * 91}, "minutes"),
    ({"rule": "", "minutes": 5}, "rule"),
    ({"rule": "r", "minutes": 5, "until": "tomorrow"}, "until"),
])
def test_a_bad_silence_is_422_naming_the_field(api: Api, body: dict, field: str) -> None:
    r = api.post("/v1/silences", "operator", json=body)
    assert r.status_code == 422 and field in r.text
    assert api.get("/v1/silences", "reader").json() == []


def test_labels_are_stored_under_the_key_name(api: Api) -> None:
    known = api.seeded.articles[0].article.id
    r = api.post("/v1/labels", "labeler", json={"labels": [
        {"article_id": known, "task": "topic", "label": "Earnings"},
        {"article_id": known, "task": "sentiment", "label": 2},
        {"text": "A brand new headline nobody stored", "task": "sentiment", "label": "bearish",
         "labeled_at": "2026-01-02T03:04:05Z"},
    ]})
    assert r.status_code == 200, r.text
    assert r.json() == {"inserted": 3, "replaced": 0, "kept": 0, "new_articles": 1,
                        "matched_by_text": 0}
    with session_factory(api.settings.database)() as session:
        rows = export_rows(session)
    assert {(x["task"], x["label"], x["labeled_by"]) for x in rows} == {
        ("topic", 5, "labeler"), ("sentiment", 2, "labeler"), ("sentiment", 0, "labeler")}


def test_a_text_only_label_matches_a_stored_article(api: Api) -> None:
    title = api.seeded.articles[3].article.title
    r = api.post("/v1/labels", "labeler", json={"labels": [
        {"text": f"  {title}  ", "task": "topic", "label": "Macro"}]})
    assert r.json()["matched_by_text"] == 1 and r.json()["new_articles"] == 0


@pytest.mark.parametrize(("label", "message"), [
    ({"article_id": "x", "task": "topic", "label": "Nope"}, "labels[0]: unknown topic label"),
    ({"article_id": "x", "task": "mood", "label": "1"}, "labels[0]: task 'mood' is not one of"),
    ({"task": "topic", "label": "1"}, "labels[0]: needs an article_id or a text"),
    ({"article_id": "x", "task": "topic", "label": 99}, "labels[0]: topic label 99 is out of range"),
    ({"article_id": "x", "task": "topic", "label": "1", "labeled_at": "yesterday"},
     "labels[0]: labeled_at 'yesterday' is not an ISO 8601 time"),
    ({"article_id": "x" * 65, "task": "topic", "label": "1"}, "longer than 64"),
    ({"text": "nul\x00here", "task": "topic", "label": "1"}, "NUL"),
    ({"article_id": "not-stored", "task": "topic", "label": "1"}, "has no text"),
])
def test_bad_labels_are_400_naming_what_is_wrong(api: Api, label: dict, message: str) -> None:
    r = api.post("/v1/labels", "labeler", json={"labels": [label]})
    assert r.status_code == 400, r.text
    assert message in r.json()["detail"]


@pytest.mark.parametrize("body", [{}, {"labels": []}, {"labels": [{"task": "topic"}]},
                                  {"labels": [{"text": "t", "task": "topic", "label": "1",
                                               "labeled_by": "someone else"}]}])
def test_malformed_label_bodies_are_422(api: Api, body: dict) -> None:
    assert api.post("/v1/labels", "labeler", json=body).status_code == 422
