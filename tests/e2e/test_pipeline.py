"""The whole pipeline on a real broker and a real database, each part its own process:
replay → news.raw → finpulse classify → news.classified → finpulse sink → database
                                                        └→ finpulse alerts → webhook."""

from __future__ import annotations

import base64
import csv
import json
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select
from standardwebhooks import Webhook

from finpulse.kafka import make_producer
from finpulse.schemas import DeadLetter, decode
from finpulse.settings import AlertSettings, ModelSettings, Settings, WatchdogSettings, WebhookReceiver
from store import tables as m
from store.db import session_factory
from tests.fixtures.synthetic import BEARISH, replay_rows
from tests.support import read_topic, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RULES = """
rules:
  - name: e2e-ticker-bearish-burst
    scope: ticker
    metric: bearish_share
    window: 15m
    min_count: 10
    detector: {type: threshold, above: 0.6, clear: 0.4}
    for: 0s
    severity: critical
"""


def write_stream(path: Path, n_background: int, n_burst: int) -> tuple[Path, int]:
    """Background bullish/neutral stories plus a burst of bearish ones on $DOOM."""
    rows = replay_rows(n_background, 0, now=datetime.now(UTC))
    rows += [{"id": f"doom-{k}", "published": datetime.now(UTC),
              "text": "$DOOM: " + BEARISH[k % len(BEARISH)].format(c="Doom Industries", t="DOOM")}
             for k in range(n_burst)]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["id", "source", "text"])
        w.writeheader()
        for r in rows:
            w.writerow({"id": r["id"], "source": "e2e-wire", "text": r["text"]})
    return path, len(rows)


def counts(settings: Settings) -> dict[str, int]:
    with session_factory(settings.database)() as s:
        return {
            "articles": s.scalar(select(func.count()).select_from(m.Article)),
            "predictions": s.scalar(select(func.count()).select_from(m.Prediction)),
            "alerts": s.scalar(select(func.count()).select_from(m.Alert)),
            "rollup_n": s.scalar(select(func.coalesce(func.sum(m.Rollup.n), 0)).where(
                m.Rollup.dim == "all", m.Rollup.grain == "hour")),
        }


def pipeline_settings(make_settings, migrated, kafka_settings, db_url, tmp_path: Path,
                      **sections) -> Settings:
    return migrated(make_settings(
        kafka=kafka_settings, database_url=db_url,
        model=ModelSettings(registry_dir=tmp_path / "models", max_length=32, max_batch_size=32,
                            max_wait_ms=50),
        **sections,
    ))


def test_articles_flow_to_the_database_and_a_burst_reaches_the_webhook(
    kafka_settings, db_url, make_settings, migrated, install_learnt_model, parts,
    httpserver: HTTPServer, tmp_path: Path,
) -> None:
    from ingest.replay import publish_replay

    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    settings = pipeline_settings(
        make_settings, migrated, kafka_settings, db_url, tmp_path,
        alerts=AlertSettings(
            rules_file=rules, evaluate_every_s=1.0, retry_base_s=0.2,
            receivers=[WebhookReceiver(name="e2e", url=httpserver.url_for("/hook"), secret=secret)],
            # Its heartbeat would be a second alert and POST; tests/faults/test_watchdog.py has it.
            watchdog=WatchdogSettings(enabled=False),
        ),
    )
    version = install_learnt_model(settings)
    run = parts(settings)
    for name in ("classify", "sink", "alerts"):
        run.start(name, name)

    stream, n = write_stream(tmp_path / "stream.csv", n_background=200, n_burst=30)
    assert publish_replay(settings, stream, rate_per_s=None) == n
    poison = make_producer(kafka_settings, client_id="e2e")
    poison.send(kafka_settings.topics.raw, key=b"poison", value=b"\x00\x01 not an article")
    poison.flush()

    def all_stored() -> bool:
        run.check_alive()
        return counts(settings)["predictions"] >= n

    wait_until(all_stored, timeout_s=240, what=f"{n} predictions in the database")
    wait_until(lambda: counts(settings)["alerts"] >= 1, timeout_s=120, what="the burst alert")
    wait_until(lambda: len(httpserver.log) >= 1, timeout_s=60, what="the webhook POST")
    wait_until(lambda: _dead_letters(settings), timeout_s=60, what="the poison dead letter")

    got = counts(settings)
    assert got["articles"] == n and got["predictions"] == n and got["rollup_n"] == n
    with session_factory(settings.database)() as s:
        alert = s.scalars(select(m.Alert)).one()
        versions = set(s.scalars(select(m.Prediction.model_version)))
    assert (alert.rule, alert.scope, alert.key, alert.state) == (
        "e2e-ticker-bearish-burst", "ticker", "DOOM", "firing")
    assert versions == {version}

    request, _response = httpserver.log[0]
    body = request.get_data()
    Webhook(secret).verify(body, dict(request.headers))  # raises if the signature is wrong
    assert "DOOM" in body.decode()
    assert len(httpserver.log) == 1, "one alert, one POST"

    letters = [decode(DeadLetter, r.value)
               for r in read_topic(kafka_settings, kafka_settings.topics.dlq, expect=1)]
    assert [(d.stage, d.original) for d in letters] == [("classifier", b"\x00\x01 not an article")]
    run.check_alive()


def _dead_letters(settings: Settings) -> list[tuple[str, str]]:
    with session_factory(settings.database)() as s:
        return [(r.stage, r.error) for r in s.scalars(select(m.DeadLetterRow))]


def test_killing_classifier_and_sink_mid_stream_loses_and_duplicates_nothing(
    kafka_settings, db_url, make_settings, migrated, install_learnt_model, parts, tmp_path: Path,
) -> None:
    from ingest.replay import publish_replay

    settings = pipeline_settings(make_settings, migrated, kafka_settings, db_url, tmp_path)
    install_learnt_model(settings)
    stream, n = write_stream(tmp_path / "stream.csv", n_background=360, n_burst=40)
    run = parts(settings)
    run.start("classify", "classify")
    run.start("sink", "sink")
    publisher = threading.Thread(
        target=publish_replay, args=(settings, stream), kwargs={"rate_per_s": 60.0}, daemon=True)
    publisher.start()

    wait_until(lambda: counts(settings)["predictions"] >= 40, timeout_s=180,
               what="the first stored predictions")
    run.kill("classify")
    run.kill("sink")
    mid = counts(settings)["predictions"]
    assert mid < n, "the kill must land mid-stream"
    run.start("classify", "classify")
    run.start("sink", "sink")
    restarted = time.monotonic()
    wait_until(lambda: counts(settings)["predictions"] > mid, timeout_s=180, what="the stream flowing again")
    print(f"classify and sink: flowing again {time.monotonic() - restarted:.1f} s after their restart")
    publisher.join(60)

    def done() -> bool:
        run.check_alive()
        return counts(settings)["predictions"] >= n

    wait_until(done, timeout_s=240, what=f"all {n} predictions after the restart")
    got = counts(settings)
    assert got == {"articles": n, "predictions": n, "alerts": 0, "rollup_n": n}, json.dumps(got)
