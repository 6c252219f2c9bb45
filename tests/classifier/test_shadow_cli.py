"""`finpulse models shadow VERSION | --stop` and the report without arguments, on SQLite and
PostgreSQL; `models list` and `models show` show the shadow."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from finpulse.errors import ConfigError
from finpulse.schemas import TOPICS
from finpulse.settings import ModelSettings, Settings
from store.db import session_factory
from store.queries import model_versions as q
from store.queries.shadow import shadow_row, write_shadow
from system.cli import build_parser
from tests.store.factories import classified

pytestmark = pytest.mark.integration


def cli(settings: Settings, *argv: str) -> int:
    args = build_parser().parse_args(list(argv))
    return args.handler(args, settings)


@pytest.fixture
def settings(make_settings, migrated, db_url, tmp_path) -> Settings:
    s = migrated(make_settings(database_url=db_url, model=ModelSettings(
        registry_dir=tmp_path / "models", shadow_min_minutes=45, shadow_min_articles=200)))
    with session_factory(s.database).begin() as session:
        for v in ("v1", "v2"):
            q.register_version(session, version=v, path=f"/m/{v}", base_model="b", metrics={})
        q.promote(session, "v1")
    return s


def test_start_show_and_stop_a_shadow(settings, capsys) -> None:
    assert cli(settings, "models", "shadow") == 0
    assert capsys.readouterr().out == "no challenger in shadow\n"

    assert cli(settings, "models", "shadow", "v2", "--auto-promote") == 0
    out = capsys.readouterr().out
    assert out.startswith("shadow: v2 beside champion v1 since ")
    assert "promoted by `finpulse retrain --watch` after 45 minutes and 200 articles in shadow" in out

    cli(settings, "models", "list")
    listed = capsys.readouterr().out.splitlines()
    assert any(line.startswith("  v2  shadow ") for line in listed)
    assert any(line.startswith("* v1  champion ") for line in listed)

    now = datetime.now(UTC)  # three articles scored: the two models agree on one topic
    with session_factory(settings.database).begin() as s:
        write_shadow(s, [shadow_row(classified(i, topic_id=TOPICS.index("Macro"), sentiment="bullish",
                                                model_version="v1"),
                                     classified(i, topic_id=TOPICS.index(t), sentiment="bullish",
                                                model_version="v2").prediction, now)
                         for i, t in enumerate(["Macro", "Markets", "Earnings"])])
    cli(settings, "models", "shadow")
    out = capsys.readouterr().out.splitlines()
    assert (out[0].startswith("shadow: v2 beside champion v1 since ")
            and "(started by finpulse models shadow)" in out[0])
    assert out[1] == "scored 3 article(s) in 0 min; agreement: topic 33.3%, sentiment 100.0%, both 33.3%"
    assert out[2] == "promoted automatically after 45 min and 200 articles (so far 0 min, 3 articles)"

    assert cli(settings, "models", "show", "v2") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "shadow"
    runs = [(r["champion"], r["promote_after"], r["outcome"]) for r in shown["shadow_runs"]]
    assert runs == [("v1", True, None)]

    assert cli(settings, "models", "shadow", "--stop") == 0
    assert capsys.readouterr().out == "shadow ended: v2 (not promoted)\n"
    assert cli(settings, "models", "shadow", "--stop") == 0
    assert capsys.readouterr().out == "no challenger was in shadow\n"
    cli(settings, "models", "show", "v2")
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "candidate" and shown["shadow_runs"][0]["outcome"] == "stopped"


def test_refusals_are_explained(settings) -> None:
    from classifier.registry import ModelNotFound

    with pytest.raises(ModelNotFound, match="v1 is the champion"):
        cli(settings, "models", "shadow", "v1")
    with pytest.raises(ModelNotFound, match="unknown model version 'v9'"):
        cli(settings, "models", "shadow", "v9")
    with pytest.raises(ConfigError, match="not both"):
        cli(settings, "models", "shadow", "v2", "--stop")
