"""Labels in the database: the dashboard's and CSV imports both reach the training set,
corrections replace, conflicts resolve by the rule, and `finpulse labels` reports agreement."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from classifier.label_maps import IGNORE
from classifier.retraining.dataset import HOLDOUT, is_held_out, load_labelset
from finpulse.errors import ConfigError
from finpulse.labels import normalise, stub_article_id
from store.db import session_factory
from store.queries import label_admin
from store.queries.labels import save_labels
from tests.classifier.retraining.conftest import add_articles
from tests.classifier.retraining.conftest import run_cli as cli

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def dashboard_label(settings, aid: str, *, by: str, minutes: int, topic: str | None = None,
                    sentiment: str | None = None) -> None:
    with session_factory(settings.database).begin() as s:
        save_labels(s, aid, topic=topic, sentiment=sentiment, by=by, at=T0 + timedelta(minutes=minutes))


def training(settings) -> tuple[dict, dict]:
    """(train examples by normalised text, held-out examples by normalised text)."""
    labelset, _ = load_labelset(settings, holdout_fraction=0.0)
    return ({normalise(e.text): e for e in labelset.train},
            {normalise(e.text): e for e in labelset.eval_slices[HOLDOUT]})


def test_dashboard_and_csv_labels_both_reach_the_training_set(db_url, rt_settings, tmp_path, capsys) -> None:
    settings = rt_settings(database_url=db_url)
    add_articles(settings, {"art-dash": "Pied Piper raises oil output as crude prices climb",
                            "art-csv": "Virtucon refinery restarts after outage"})
    dashboard_label(settings, "art-dash", by="ann", minutes=0, topic="Energy / Oil", sentiment="bullish")
    csv_file = tmp_path / "labels.csv"
    csv_file.write_text("article_id,text,task,label,labeled_by,labeled_at\n"
                        "art-csv,,topic,6,bob,2026-11-02T10:00:00Z\n"
                        ",Blue Sun signs liquefied natural gas supply contract,topic,Energy / Oil,bob,\n"
                        ",Acme Corp shares plunge after profit warning,sentiment,bullish,bob,\n")
    assert cli(settings, "labels", "import", str(csv_file)) == 0
    assert ("3 label(s): 3 new, 0 replaced, 0 kept (a newer label was stored), 2 new article(s)"
            in capsys.readouterr().out)
    train, _ = training(settings)
    dash = train[normalise("Pied Piper raises oil output as crude prices climb")]
    assert (dash.topic, dash.sentiment) == (6, 1)
    assert train[normalise("Virtucon refinery restarts after outage")].topic == 6
    assert train[normalise("Blue Sun signs liquefied natural gas supply contract")].topic == 6
    # the text-only label overrides the seed's label for the same text
    assert train[normalise("Acme Corp shares plunge after profit warning")].sentiment == 1
    # a second import of the same text labels the same (stub) article
    with session_factory(settings.database).begin() as s:
        ids = {r["article_id"] for r in label_admin.label_rows(s)}
    assert stub_article_id("blue sun signs  liquefied natural gas supply contract") in ids


def test_a_corrected_label_replaces_the_old_one(db_url, rt_settings, tmp_path, capsys) -> None:
    settings = rt_settings(database_url=db_url)
    text = "Vandelay Industries cuts drilling budget as Brent slides"
    add_articles(settings, {"art-1": text})
    dashboard_label(settings, "art-1", by="ann", minutes=0, topic="Earnings")
    dashboard_label(settings, "art-1", by="ann", minutes=5, topic="Energy / Oil")  # correction
    with session_factory(settings.database).begin() as s:
        rows = label_admin.label_rows(s)
    assert [(r["task"], r["label"], r["labeled_by"]) for r in rows] == [("topic", 6, "ann")]
    # an older export imported again does not undo the correction; a newer one replaces it
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    old.write_text(f"article_id,task,label,labeled_by,labeled_at\nart-1,topic,Earnings,ann,{T0.isoformat()}\n")
    new.write_text("article_id,task,label,labeled_by,labeled_at\n"
                   f"art-1,topic,Markets,ann,{(T0 + timedelta(hours=1)).isoformat()}\n")
    cli(settings, "labels", "import", str(old))
    assert "0 new, 0 replaced, 1 kept" in capsys.readouterr().out
    assert training(settings)[0][normalise(text)].topic == 6
    cli(settings, "labels", "import", str(new))
    assert "0 new, 1 replaced, 0 kept" in capsys.readouterr().out
    assert training(settings)[0][normalise(text)].topic == 15
    with session_factory(settings.database).begin() as s:
        assert len(label_admin.label_rows(s)) == 1


def test_conflicts_resolve_by_the_rule_and_agreement_is_reported(db_url, rt_settings, capsys) -> None:
    settings = rt_settings(database_url=db_url)
    texts = {"m": "Massive Dynamic raises oil output as crude prices climb",
             "t": "Gringotts refinery restarts after outage",
             "s": "Virtucon signs liquefied natural gas supply contract"}
    add_articles(settings, texts)
    for by, minutes, topic in [("ann", 0, "Energy / Oil"), ("bob", 1, "Energy / Oil"), ("cat", 9, "Markets")]:
        dashboard_label(settings, "m", by=by, minutes=minutes, topic=topic)  # majority: Energy
    dashboard_label(settings, "t", by="ann", minutes=0, topic="Energy / Oil")
    dashboard_label(settings, "t", by="bob", minutes=3, topic="Earnings")  # tie: most recent
    dashboard_label(settings, "s", by="ann", minutes=0, topic="Energy / Oil")
    dashboard_label(settings, "s", by="bob", minutes=1, topic="Energy / Oil")
    train, _ = training(settings)
    assert train[normalise(texts["m"])].topic == 6
    assert train[normalise(texts["t"])].topic == 5
    assert train[normalise(texts["s"])].topic == 6 and train[normalise(texts["s"])].sentiment == IGNORE

    assert cli(settings, "labels", "stats", "--json") == 0
    stats = json.loads(capsys.readouterr().out)["topic"]
    assert (stats["labels"], stats["items"], stats["multi_rated"], stats["conflicting"]) == (7, 3, 3, 2)
    # per item pair agreement: m 1/3, t 0, s 1 -> 4/9
    assert stats["percent_agreement"] == pytest.approx(4 / 9)
    ann_bob = next(p for p in stats["pairs"] if (p["a"], p["b"]) == ("ann", "bob"))
    assert ann_bob["items"] == 3 and ann_bob["agreement"] == pytest.approx(2 / 3)
    cli(settings, "labels", "stats")
    out = capsys.readouterr().out
    assert "latest label per analyst, then the majority, ties to the most recent" in out
    assert "topic: 7 label(s) on 3 article(s) by 3 analyst(s)" in out and "Fleiss' kappa" in out


def test_export_then_import_into_a_fresh_database(db_url, rt_settings, tmp_path, make_settings, migrated,
                                                  capsys) -> None:
    settings = rt_settings(database_url=db_url)
    add_articles(settings, {"a1": "Pied Piper raises oil output as crude prices climb"})
    dashboard_label(settings, "a1", by="ann", minutes=0, topic="Energy / Oil", sentiment="bullish")
    out = tmp_path / "export.csv"
    assert cli(settings, "labels", "export", str(out)) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "article_id,text,task,label,labeled_by,labeled_at"
    assert set(lines[1:]) == {
        f"a1,Pied Piper raises oil output as crude prices climb,{task},{label},ann,2026-11-02T09:00:00+00:00"
        for task, label in (("topic", "Energy / Oil"), ("sentiment", "bullish"))}
    fresh = migrated(make_settings(database_url=f"sqlite:///{tmp_path / 'fresh.db'}"))
    cli(fresh, "labels", "import", str(out))
    assert "2 new" in capsys.readouterr().out
    with session_factory(fresh.database).begin() as s:
        rows = label_admin.label_rows(s)
    assert {(r["article_id"], r["task"], r["label"]) for r in rows} == {
        ("a1", "topic", 6), ("a1", "sentiment", 1)}


def test_a_label_for_an_unknown_article_without_text_is_refused(rt_settings, tmp_path) -> None:
    settings = rt_settings()
    f = tmp_path / "bad.csv"
    f.write_text("article_id,task,label,labeled_by\nno-such-article,topic,1,ann\n")
    with pytest.raises(ConfigError, match="unknown article 'no-such-article' has no text"):
        cli(settings, "labels", "import", str(f))
    with session_factory(settings.database).begin() as s:
        assert label_admin.label_rows(s) == []


def test_held_out_labels_go_to_the_evaluation_set(rt_settings) -> None:
    settings = rt_settings()
    texts = {f"e{i}": f"Company {i} refinery restarts after outage" for i in range(40)}
    add_articles(settings, texts)
    for aid in texts:
        dashboard_label(settings, aid, by="ann", minutes=0, topic="Energy / Oil")
    labelset, _ = load_labelset(settings, holdout_fraction=0.25)
    held = {normalise(e.text) for e in labelset.eval_slices[HOLDOUT]}
    trained = {normalise(e.text) for e in labelset.train}
    expect = {normalise(t) for aid, t in texts.items() if is_held_out(aid, 0.25)}
    assert held == expect and 0 < len(held) < 40 and not held & trained


def store_article(settings, aid: str, title: str, text: str = "", *, source: str = "wire",
                  duplicate_of: str | None = None, minutes: int = 0) -> None:
    from store import tables as m

    at = T0 + timedelta(minutes=minutes)
    with session_factory(settings.database).begin() as s:
        s.add(m.Article(id=aid, source=source, url=None, title=title, text=text, published=at,
                        fetched=at, stored_at=at, duplicate_of=duplicate_of))


def test_a_text_only_label_attaches_to_the_stored_article_with_that_text(db_url, rt_settings, tmp_path,
                                                                        capsys) -> None:
    settings = rt_settings(database_url=db_url)
    store_article(settings, "dup", "Pied Piper raises oil output as crude prices climb", duplicate_of="orig")
    store_article(settings, "orig", "Pied Piper raises oil output as crude prices climb", minutes=5)
    store_article(settings, "body", "Virtucon refinery restarts", "after  an\noutage")
    csv_file = tmp_path / "labels.csv"
    csv_file.write_text("text,task,label,labeled_by\n"
                        '"  Pied Piper raises   oil output\tas crude prices climb ",topic,Energy / Oil,ann\n'
                        '"Virtucon refinery restarts after an outage",topic,6,ann\n'
                        "pied piper raises oil output as crude prices climb,sentiment,bullish,ann\n"
                        "Blue Sun signs a supply contract,topic,6,ann\n")
    assert cli(settings, "labels", "import", str(csv_file)) == 0
    assert ("4 label(s): 4 new, 0 replaced, 0 kept (a newer label was stored), 2 new article(s); "
            "2 text-only label(s) matched a stored article") in capsys.readouterr().out
    with session_factory(settings.database).begin() as s:
        labelled = {(r["article_id"], r["task"]) for r in label_admin.label_rows(s)}
    assert labelled == {
        ("orig", "topic"),  # the same headline, whitespace aside: the original, not its duplicate
        ("body", "topic"),  # title and text together
        (stub_article_id("pied piper raises oil output as crude prices climb"), "sentiment"),  # case differs
        (stub_article_id("Blue Sun signs a supply contract"), "topic")}  # no such article


def test_a_stored_article_wins_over_the_stub_of_an_earlier_import(rt_settings, tmp_path, capsys) -> None:
    settings = rt_settings()
    text = "Gringotts refinery restarts after outage"
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(f"text,task,label,labeled_by\n{text},topic,6,ann\n")
    second.write_text(f"text,task,label,labeled_by\n{text},topic,6,bob\n")
    cli(settings, "labels", "import", str(first))  # no article yet: a stub
    assert "1 new article(s); 0 text-only label(s) matched" in capsys.readouterr().out
    store_article(settings, "real", text, minutes=60)  # then the sink stores the story
    cli(settings, "labels", "import", str(second))
    assert "0 new article(s); 1 text-only label(s) matched" in capsys.readouterr().out
    with session_factory(settings.database).begin() as s:
        rows = {r["labeled_by"]: r["article_id"] for r in label_admin.label_rows(s)}
    assert rows == {"ann": stub_article_id(text), "bob": "real"}
