"""Fault matrix, outages: real processes, a real broker and real databases, no mocks.

1. PostgreSQL stops for ``DB_OUTAGE_S`` and comes back while ``finpulse sink`` and
   ``finpulse alerts`` write to it (a private cluster: the shared server is never touched).
2. The webhook receiver is down (connections refused) while alerts fire, then comes back.
3. A second ``finpulse classify`` joins the consumer group mid-stream and leaves again.

These rows found three bugs, each kept as a test: notifications out of order, and given up,
after a receiver outage; and a consumer that never rejoins its group (a zombie classifier).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import create_engine, func, select, text

from alerts.signing import new_secret
from finpulse.kafka import make_producer, send_message
from finpulse.schemas import Article, ClassifiedArticle, article_id_for_source, decode
from finpulse.settings import (
    AlertSettings,
    DatabaseSettings,
    KafkaSettings,
    LocalBrokerSettings,
    Settings,
    TopicNames,
    WatchdogSettings,
    WebhookReceiver,
)
from store import tables as m
from store.db import session_factory
from store.queries import alerts as q
from system import broker
from tests.alerts.conftest import BURST_RULES, Receiver, Server, free_port
from tests.conftest import unique
from tests.e2e.conftest import Parts
from tests.fixtures.synthetic import sentiment_rows
from tests.store.factories import classified
from tests.support import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.slow]

# The issue asks for a 30 s database outage; the module fits its time budget with it.
DB_OUTAGE_S = 30.0
# The receiver outage is 2 minutes. Every duration of that scenario is divided by
# TIME_SCALE: the outage becomes 20 s, and the default retry schedule (base 2 s, cap 300 s)
# becomes base 1/3 s, cap 50 s, so each delivery goes through the same number of failed
# attempts as it would in the real 2-minute outage.
TIME_SCALE = 6
RECEIVER_OUTAGE_S = 120 / TIME_SCALE
SCALED_BASE_S, SCALED_MAX_S = 2.0 / TIME_SCALE, 300.0 / TIME_SCALE
# The scenario tests delivery, not the give-up: 9 attempts span 255-510 s unscaled, well past
# the outage (the defaults' own schedule is tested against it in
# test_default_retry_schedule_outlasts_a_two_minute_receiver_outage).
OUTAGE_MAX_ATTEMPTS = 9


# ----------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------

def receiver_not_started() -> tuple[Receiver, Server]:
    """A webhook receiver on a free port, not started yet: until then connections are refused."""
    rx = Receiver(secret=new_secret())
    server = Server(rx, free_port())
    rx.url = f"http://127.0.0.1:{server.port}/hook"
    return rx, server


def own_kafka(bootstrap: str) -> KafkaSettings:
    """Topics and consumer groups of one's own (as tests/conftest.py's kafka_settings)."""
    uid = unique()
    kafka = KafkaSettings(
        bootstrap_servers=bootstrap, manage_local_broker=False,
        topics=TopicNames(raw=f"news.raw.{uid}", classified=f"news.classified.{uid}",
                          alerts=f"news.alerts.{uid}", dlq=f"news.dlq.{uid}"),
        partitions=2, group_prefix=f"finpulse-{uid}", local=LocalBrokerSettings(),
    )
    broker.ensure_topics(kafka)
    return kafka


def publish(kafka: KafkaSettings, topic: str, messages: list[Article] | list[ClassifiedArticle]) -> None:
    producer = make_producer(kafka, client_id="faults")
    try:
        for msg in messages:
            key = msg.id if isinstance(msg, Article) else msg.article.id
            send_message(producer, topic, key, msg)
        producer.flush()
    finally:
        producer.close()


def read_all(kafka: KafkaSettings, topic: str, timeout_s: float = 60) -> list:
    """Every record of ``topic`` up to its end offsets as they are now."""
    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, enable_auto_commit=False,
                             group_id=None, auto_offset_reset="earliest")
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        records: list = []
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            assert time.monotonic() < deadline, f"could not read {topic} to its end"
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def wait_for_log(parts: Parts, name: str, needle: str, timeout_s: float = 120) -> None:
    def seen() -> bool:
        parts.check_alive()
        return needle in parts.log(name)

    wait_until(seen, timeout_s=timeout_s, what=f"{needle!r} in {name}'s log")


def rule_requests(rx: Receiver, rule: str) -> list[dict]:
    return [p for p in rx.verified() if p["data"]["rule"] == rule]


def assert_each_webhook_once(rx: Receiver) -> None:
    counts = Counter(r.headers["webhook-id"] for r in rx.requests)
    twice = {k: n for k, n in counts.items() if n > 1}
    assert not twice, f"webhook-ids received more than once: {twice}"


# ----------------------------------------------------------------------------------------
# 1. PostgreSQL down for DB_OUTAGE_S while the sink and the alerts worker write
# ----------------------------------------------------------------------------------------

def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                   key=lambda p: [int(x) for x in p.parent.name.split(".") if x.isdigit()])
    return found[-1] if found and (found[-1] / "pg_ctl").is_file() else None


class PrivatePostgres:
    """A throw-away cluster on its own port (as scripts/postgres.sh makes one), run as the
    ``postgres`` user when we are root; it can be stopped and started at will."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        # Not under tmp_path: pytest makes that 0700 for root, out of the postgres user's reach.
        self.root = Path(tempfile.mkdtemp(prefix="finpulse-faults-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        as_pg = {"user": "postgres", "group": "postgres", "extra_groups": []} if os.geteuid() == 0 else {}
        with (self.root / "pg_ctl.out").open("ab") as out:
            subprocess.run([str(self.bindir / args[0]), *args[1:]], check=True, cwd=self.root,
                           stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                           timeout=120, **as_pg)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        opts = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c max_connections=100")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w",
                  "-t", "60", "-o", opts, "start")

    def stop(self) -> None:
        """``-m immediate``: the server dies as in a crash, connections cut mid-flight."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return self.url(name)

    def destroy(self) -> None:
        try:
            if self.running():
                self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    bindir = _pg_bin()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries are missing: CI must run the outage test")
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    pg = PrivatePostgres(bindir)
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        from store.db import _engine_for

        _engine_for.cache_clear()  # the engines of this process pointed at the dead cluster
        pg.destroy()


OUTAGE_RULES = """
rules:
  - name: outage-burst
    scope: ticker
    keys: [DOOM]
    metric: bearish_count
    window: 10m
    min_count: 6
    detector: {type: threshold, above: 5.5}
    for: 0s
    severity: critical
"""


def _db_counts(settings: Settings) -> dict[str, int]:
    with session_factory(settings.database)() as s:
        return {
            "articles": s.scalar(select(func.count()).select_from(m.Article)),
            "article_ids": s.scalar(select(func.count(func.distinct(m.Article.id)))),
            "predictions": s.scalar(select(func.count()).select_from(m.Prediction)),
            "prediction_ids": s.scalar(select(func.count(func.distinct(m.Prediction.article_id)))),
            # A batch written twice would count twice here: rollups are deltas, not upserts.
            "rollup_n": s.scalar(select(func.coalesce(func.sum(m.Rollup.n), 0)).where(
                m.Rollup.dim == "all", m.Rollup.grain == "hour")),
        }


def _stored(settings: Settings) -> int:
    try:
        return _db_counts(settings)["articles"]
    except Exception:  # noqa: BLE001 - the database may still be recovering
        return -1


@pytest.mark.postgres
def test_postgres_outage_while_sink_and_alerts_write(private_postgres: PrivatePostgres,
                                                      kafka_bootstrap: str, tmp_path: Path) -> None:
    pg = private_postgres
    kafka = own_kafka(kafka_bootstrap)
    rx, server = receiver_not_started()
    rules = tmp_path / "rules.yaml"
    rules.write_text(OUTAGE_RULES)
    settings = Settings(
        var_dir=tmp_path / "var", kafka=kafka,
        database=DatabaseSettings(url=pg.create_database("finpulse_outage")),
        alerts=AlertSettings(
            rules_file=rules, evaluate_every_s=0.5, dispatch_poll_s=0.2, session_timeout_s=6,
            retry_base_s=0.2, retry_max_s=2.0, max_attempts=5,
            receivers=[WebhookReceiver(name="rx", url=rx.url, secret=rx.secret, timeout_s=2)],
        ),
    )
    from store.migrate import upgrade

    upgrade(settings.database)
    n_half = 100
    now = datetime.now(UTC)
    rng = random.Random(11)
    # Three bearish $DOOM stories in each half: the rule (six) fires on the second half's,
    # which the alerts worker reads while the database is down.
    doom = {5, 40, 77, 105, 150, 190}
    messages = [classified(i, published=now, sentiment="bearish", tickers=["DOOM"]) if i in doom
                else classified(i, published=now, tickers=[rng.choice(["ACME", "HOOL"])], rng=rng)
                for i in range(2 * n_half)]
    n = len(messages)
    server.start()
    run = Parts(settings, tmp_path)
    try:
        run.start("sink", "sink")
        run.start("alerts", "alerts")
        wait_for_log(run, "alerts", "alerts worker ready")
        publish(kafka, kafka.topics.classified, messages[:n_half])
        wait_until(lambda: run.check_alive() or _stored(settings) >= n_half, timeout_s=60,
                   what="the first half stored")

        pg.stop()
        down_at, down_wall = time.monotonic(), datetime.now(UTC)
        publish(kafka, kafka.topics.classified, messages[n_half:])
        time.sleep(max(0.0, DB_OUTAGE_S - (time.monotonic() - down_at)))
        run.check_alive()
        pg.start()
        back_at, back_wall = time.monotonic(), datetime.now(UTC)
        print(f"\nPostgreSQL was down for {back_at - down_at:.1f}s")

        wait_until(lambda: run.check_alive() or _stored(settings) >= n, timeout_s=120,
                   what=f"all {n} articles stored after the outage")
        recovery_s = time.monotonic() - back_at
        print(f"database back -> last article stored: {recovery_s:.1f}s")
        wait_until(lambda: run.check_alive() or rule_requests(rx, "outage-burst"), timeout_s=120,
                   what="the burst alert's webhook")
        print(f"database back -> burst alert delivered: {time.monotonic() - back_at:.1f}s")
        time.sleep(3.0)  # time for a second, duplicate delivery to show up
        run.check_alive()
    finally:
        run.stop_all()
        server.stop()

    got = _db_counts(settings)
    assert got == {"articles": n, "article_ids": n, "predictions": n, "prediction_ids": n,
                   "rollup_n": n}, got
    with session_factory(settings.database)() as s:
        # The fault was met: the second half waited for the database, and the alert fired
        # while it was down (recorded once it was back).
        second = s.scalar(select(func.min(m.Article.stored_at)).where(
            m.Article.id.in_([x.article.id for x in messages[n_half:]])))
        assert second > down_wall + timedelta(seconds=DB_OUTAGE_S / 2), (second, down_wall)
        alerts = [a for a in q.alerts(s) if a.rule == "outage-burst"]
        assert [(a.key, a.state) for a in alerts] == [("DOOM", "firing")]
        assert down_wall < alerts[0].fired_at < back_wall, (alerts[0].fired_at, down_wall, back_wall)
        assert [h.state for h in q.history(s, alerts[0].id)] == ["pending", "firing"]
        deliveries = q.deliveries_for_alert(s, alerts[0].id)
    assert [(d.event, d.status) for d in deliveries] == [("firing", "delivered")]
    fired = rule_requests(rx, "outage-burst")
    assert [(p["type"], p["data"]["key"]) for p in fired] == [("alert.firing", "DOOM")]
    assert fired[0]["data"]["counts"]["bearish"] == len(doom)
    assert_each_webhook_once(rx)


# ----------------------------------------------------------------------------------------
# 2. The webhook receiver down (connections refused) while alerts fire, then back
# ----------------------------------------------------------------------------------------


@dataclass
class ReceiverOutage:
    settings: Settings
    rx: Receiver
    outage_s: float = 0.0
    recovery_s: float = 0.0


def _worker_thread(settings: Settings) -> tuple[threading.Thread, threading.Event, threading.Event]:
    from alerts.runner import run_alerts

    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(target=run_alerts, args=(settings, stop), kwargs={"ready": ready},
                              daemon=True)
    return thread, stop, ready


def _bursts(ticker: str, n: int = 6) -> list[ClassifiedArticle]:
    from tests.alerts.factory import classified as alert_story

    return [alert_story(sentiment="bearish", tickers=(ticker,), title=f"{ticker} plunges {i}")
            for i in range(n)]


def _alerts(settings: Settings) -> list[tuple[m.Alert, list[str], list[m.WebhookDelivery]]]:
    with session_factory(settings.database)() as s:
        return [(a, [h.state for h in q.history(s, a.id)], q.deliveries_for_alert(s, a.id))
                for a in q.alerts(s)]


def _resolved_keys(settings: Settings) -> set[str]:
    return {a.key for a, states, _ in _alerts(settings) if "resolved" in states}


def _resolved_due_first(settings: Settings, margin_s: float = 2.0) -> bool:
    """Some alert's pending 'resolved' is due at least ``margin_s`` before its pending
    'firing' (which has backed off longer): sent by due time alone, it would arrive first."""
    now = datetime.now(UTC)
    for _a, _states, deliveries in _alerts(settings):
        due = {d.event: d.next_attempt_at for d in deliveries if d.status == "pending"}
        fired, resolved = due.get("firing"), due.get("resolved")
        if fired is None or resolved is None or fired > now + timedelta(seconds=SCALED_MAX_S + 1):
            continue  # not both pending, or the firing is in flight (leased for 60 s and more)
        if resolved < fired - timedelta(seconds=margin_s):
            return True
    return False


@pytest.fixture(scope="module")
def receiver_outage(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> ReceiverOutage:
    """One run of the scenario, shared by the tests that check what came of it."""
    from store.migrate import upgrade

    root = tmp_path_factory.mktemp("receiver-outage")
    rules = root / "rules.yaml"
    rules.write_text(BURST_RULES)
    rx, server = receiver_not_started()
    settings = Settings(
        var_dir=root / "var", kafka=own_kafka(kafka_bootstrap),
        database=DatabaseSettings(url=f"sqlite:///{root / 'fp.db'}"),
        alerts=AlertSettings(
            rules_file=rules, evaluate_every_s=0.3, dispatch_poll_s=0.1, session_timeout_s=6,
            lateness_s=30, retry_base_s=SCALED_BASE_S, retry_max_s=SCALED_MAX_S,
            max_attempts=OUTAGE_MAX_ATTEMPTS,
            receivers=[WebhookReceiver(name="rx", url=rx.url, secret=rx.secret, timeout_s=2)],
            # The heartbeat fires at start-up, before this scenario's outage clock starts; the
            # row is about market alerts, and the heartbeat's delivery is the same code path.
            watchdog=WatchdogSettings(enabled=False),
        ),
    )
    upgrade(settings.database)
    result = ReceiverOutage(settings, rx)
    thread, stop, ready = _worker_thread(settings)
    thread.start()
    try:
        assert ready.wait(90), "the alerts worker did not become ready"
        publish(settings.kafka, settings.kafka.topics.classified, _bursts("JPM"))
        wait_until(lambda: any("firing" in st for _a, st, _d in _alerts(settings)), timeout_s=30,
                   what="JPM to fire")
        down_since = time.monotonic()  # the first alert's first attempt is refused about now
        publish(settings.kafka, settings.kafka.topics.classified, _bursts("BAC"))
        wait_until(lambda: _resolved_keys(settings) == {"JPM", "BAC"}, timeout_s=60,
                   what="both alerts to fire and resolve while the receiver is down")
        time.sleep(max(0.0, RECEIVER_OUTAGE_S - (time.monotonic() - down_since)))
        # The receiver comes back at a moment when an alert's 'resolved' is due before its
        # 'firing' (which has backed off longer): the usual case after an outage, made certain
        # so that the order test is deterministic.
        wait_until(lambda: _resolved_due_first(settings), timeout_s=15, every_s=0.05,
                   what="a 'resolved' delivery due before its 'firing'")
        server.start()
        up_at = time.monotonic()
        result.outage_s = up_at - down_since

        def settled() -> bool:
            rows = [d for _, _, ds in _alerts(settings) for d in ds]
            assert not [d for d in rows if d.status == "dead"], "a delivery gave up"
            return bool(rows) and all(d.status == "delivered" for d in rows)

        wait_until(settled, timeout_s=90, what="every delivery delivered")
        result.recovery_s = time.monotonic() - up_at
        time.sleep(2.0)  # time for a duplicate to show up
        print(f"\nreceiver down {result.outage_s:.1f}s; back -> all delivered {result.recovery_s:.1f}s")
    finally:
        stop.set()
        thread.join(60)
        server.stop()
    assert not thread.is_alive(), "the alerts worker did not stop"
    return result


def test_receiver_outage_delivers_every_alert_exactly_once(receiver_outage: ReceiverOutage) -> None:
    settings, rx = receiver_outage.settings, receiver_outage.rx
    rows = _alerts(settings)
    assert sorted((a.key, states) for a, states, _ in rows) == [
        ("BAC", ["pending", "firing", "resolved"]), ("JPM", ["pending", "firing", "resolved"])]
    queued = {d.webhook_id: (a.key, d.event) for a, _, ds in rows for d in ds}
    assert sorted(queued.values()) == [("BAC", "firing"), ("BAC", "resolved"),
                                       ("JPM", "firing"), ("JPM", "resolved")]
    with session_factory(settings.database)() as s:
        for d in [d for _, _, ds in rows for d in ds]:
            *refused, last = q.attempts_for(s, d.id)
            assert all("connection error" in (a.error or "") for a in refused)
            assert (d.status, last.status_code) == ("delivered", 200)
            # Each 'firing' was refused before it got through; each 'resolved' waited behind it.
            assert bool(refused) == (d.event == "firing"), (d.event, len(refused))
    assert_each_webhook_once(rx)
    received = [(r.headers["webhook-id"], p) for r, p in zip(rx.requests, rx.verified(), strict=False)]
    assert {wid for wid, _ in received} == set(queued)
    for wid, payload in received:
        assert (payload["data"]["key"], payload["data"]["state"]) == queued[wid]
    print(f"receiver outage {receiver_outage.outage_s:.1f}s, "
          f"recovery {receiver_outage.recovery_s:.1f}s")


def test_receiver_outage_keeps_firing_before_resolved(receiver_outage: ReceiverOutage) -> None:
    order: dict[str, list[str]] = defaultdict(list)
    for p in receiver_outage.rx.verified():
        order[f"{p['data']['rule']}/{p['data']['key']}"].append(p["type"])
    assert dict(order) == {"burst/JPM": ["alert.firing", "alert.resolved"],
                           "burst/BAC": ["alert.firing", "alert.resolved"]}


def _one_firing_alert(settings: Settings) -> str:
    """Record one firing alert through the alerts Recorder (as the worker does); its id."""
    from alerts.detectors import Observation
    from alerts.lifecycle import Transition
    from alerts.pipeline import Change, Recorder
    from alerts.rulefile import parse_rules
    from alerts.rules import fingerprint

    rule = parse_rules(BURST_RULES).rules[0]
    now = time.time()
    obs = Observation(value=0.9, score=0.9, baseline=None, window_start=now - 4, window_end=now,
                      counts={"articles": 6, "bearish": 6, "bullish": 0, "neutral": 0}, count=6)
    alert_id = unique("a").ljust(32, "0")
    tr = Transition(kind="firing", alert_id=alert_id, at=now, seq=0, started_at=now - 1,
                    fired_at=now)
    change = Change(rule, "JPM", fingerprint(rule.name, rule.scope, "JPM"), obs, tr)
    Recorder(session_factory(settings.database), settings.alerts).record([change])
    return alert_id


def test_default_retry_schedule_outlasts_a_two_minute_receiver_outage(tmp_path: Path) -> None:
    from alerts.dispatcher import Dispatcher, start_dispatcher
    from store.migrate import upgrade

    defaults = AlertSettings()
    rx, server = receiver_not_started()
    rules = tmp_path / "rules.yaml"
    rules.write_text(BURST_RULES)
    # The defaults' schedule, every duration divided by TIME_SCALE like the outage.
    settings = Settings(
        var_dir=tmp_path / "var", database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'fp.db'}"),
        alerts=AlertSettings(
            rules_file=rules, dispatch_poll_s=0.1, max_attempts=defaults.max_attempts,
            retry_base_s=defaults.retry_base_s / TIME_SCALE,
            retry_max_s=defaults.retry_max_s / TIME_SCALE,
            receivers=[WebhookReceiver(name="rx", url=rx.url, secret=rx.secret, timeout_s=2)]),
    )
    upgrade(settings.database)
    sessions = session_factory(settings.database)
    alert_id = _one_firing_alert(settings)
    down_since, stop = time.monotonic(), threading.Event()
    thread = start_dispatcher(Dispatcher(sessions, settings.alerts, poll_s=0.1), stop)
    try:
        def status() -> str:
            with sessions() as s:
                return q.deliveries_for_alert(s, alert_id)[0].status

        # A dead delivery is never tried again on its own: once it is dead, the outcome is
        # known and the receiver comes back at once instead of waiting out the outage.
        while status() == "pending" and time.monotonic() - down_since < RECEIVER_OUTAGE_S:
            time.sleep(0.1)
        server.start()
        wait_until(lambda: status() != "pending", timeout_s=60, what="the delivery to settle")
        time.sleep(1.0)
    finally:
        stop.set()
        thread.join(10)
        server.stop()
    assert status() == "delivered"
    assert len(rx.requests) == 1


# ----------------------------------------------------------------------------------------
# 3. A second classifier joins the group mid-stream and leaves again
# ----------------------------------------------------------------------------------------

def _assignments(kafka: KafkaSettings, group: str) -> dict[str, set[int]]:
    """The partitions of each member of a stable group ({} while it rebalances)."""
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers, client_id="faults-admin")
    try:
        info = admin.describe_groups([group])[group]
    finally:
        admin.close()
    if info.get("group_state") != "Stable":
        return {}
    return {member["member_id"]: {p for a in member["member_assignment"]["assigned_partitions"]
                                  for p in a["partitions"]}
            for member in info["members"]}


def _committed(kafka: KafkaSettings, group: str, partitions: set[int]) -> int:
    """The sum of the group's committed offsets on ``partitions`` of news.raw."""
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers, client_id="faults-admin")
    try:
        offsets = admin.list_group_offsets({group: None}).get(group, {})
    finally:
        admin.close()
    return sum(o.offset for tp, o in offsets.items()
               if tp.topic == kafka.topics.raw and tp.partition in partitions and o.offset > 0)


def test_second_classifier_joins_and_leaves_mid_stream(
    kafka_settings: KafkaSettings, model_settings: Callable[..., Settings],
    install_model: Callable[..., str], tmp_path: Path,
) -> None:
    # Batches wait up to 1 s (not 20 ms): the classifier's polls then rarely time out in the
    # middle of a join, the kafka-python defect shown by
    # test_consumer_that_times_out_mid_rejoin_commits_again, which would turn a classifier into
    # a zombie member and this row's outcome into a matter of the machine's load.
    settings = model_settings(kafka=kafka_settings, model={"max_wait_ms": 1000})
    install_model(settings)
    texts = [t for t, _ in sentiment_rows(60, seed=3)]
    published: list[str] = []
    stop_publishing = threading.Event()
    errors: list[BaseException] = []

    def publisher(rate_per_s: float = 20.0, limit: int = 3000) -> None:
        producer = make_producer(kafka_settings, client_id="faults-publisher")
        try:
            start = time.monotonic()
            for i in range(limit):
                if stop_publishing.is_set():
                    break
                time.sleep(max(0.0, start + i / rate_per_s - time.monotonic()))
                when = datetime.now(UTC)
                art = Article(id=article_id_for_source("faults", str(i)), source="faults",
                              title=f"{texts[i % len(texts)]} ({i})", published=when, fetched=when)
                send_message(producer, kafka_settings.topics.raw, art.id, art)
                published.append(art.id)
            producer.flush()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test
            errors.append(exc)
        finally:
            producer.close()

    group = settings.group("classifier")
    run = Parts(settings, tmp_path)
    pub = threading.Thread(target=publisher, daemon=True)
    try:
        run.start("classify-a", "classify")
        wait_for_log(run, "classify-a", "classifier serving")
        first = wait_until(lambda: _assignments(kafka_settings, group), timeout_s=60,
                           what="the first classifier in its group")
        pub.start()
        time.sleep(3.0)
        run.start("classify-b", "classify")

        def two_members() -> dict[str, set[int]] | None:
            run.check_alive()
            members = _assignments(kafka_settings, group)
            return members if len(members) == 2 else None

        both = wait_until(two_members, timeout_s=120, what="the second classifier to join the group")
        joined = len(published)
        [b_parts] = [parts for member, parts in both.items() if member not in first]
        assert b_parts, f"the second classifier was given no partition: {both}"
        time.sleep(1.0)
        before = _committed(kafka_settings, group, b_parts)
        time.sleep(6.0)  # both classify
        assert _committed(kafka_settings, group, b_parts) > before, \
            "the second classifier committed nothing on its partitions"
        b = run.procs["classify-b"]
        os.killpg(b.pid, signal.SIGTERM)
        assert b.wait(60) == 0, run.log("classify-b")[-3000:]
        del run.procs["classify-b"]  # gone: check_alive() is about the first one from here on
        left = len(published)
        wait_until(lambda: run.check_alive() or len(_assignments(kafka_settings, group)) == 1,
                   timeout_s=60, what="the group to settle on one member")
        time.sleep(4.0)  # the stream goes on with one member
        stop_publishing.set()
        pub.join(30)
        assert not errors, errors
        n = len(published)
        print(f"\n{n} articles published; the second classifier joined after {joined} "
              f"and left after {left}")

        def all_classified() -> bool:
            run.check_alive()
            ids = {r.key.decode() for r in read_all(kafka_settings, kafka_settings.topics.classified)}
            return set(published) <= ids

        wait_until(all_classified, timeout_s=120, every_s=2.0, what="every article classified")
    finally:
        stop_publishing.set()
        run.stop_all()
    results: dict[str, set[tuple[str, str]]] = defaultdict(set)
    seen: Counter[str] = Counter()
    for rec in read_all(kafka_settings, kafka_settings.topics.classified):
        msg = decode(ClassifiedArticle, rec.value)
        results[msg.article.id].add((msg.prediction.topic, msg.prediction.sentiment))
        seen[msg.article.id] += 1
    assert set(results) == set(published), "lost or unknown articles"
    duplicates = {aid: k for aid, k in seen.items() if k > 1}
    print(f"{len(duplicates)} article(s) classified more than once "
          f"({sum(duplicates.values()) - len(duplicates)} extra records)")
    differing = {aid: r for aid, r in results.items() if len(r) > 1}
    assert not differing, f"articles classified twice with different results: {differing}"


def test_a_member_whose_commits_stay_refused_is_ended_for_a_fresh_one(kafka_settings: KafkaSettings) -> None:
    """The zombie classifier seen in the rebalance row, made deterministic. In kafka-python
    3.0.12, a poll that times out between a member's JoinGroup and its SyncGroup leaves the
    join unfinished for good (``need_rejoin()`` is already False): the member goes on consuming
    its old assignment while every commit is refused, and another member processes the same
    records. finpulse cannot mend the client; ``CommitWatch`` ends such a member (a
    ``RetryableError``: the part exits and its supervisor starts it with a fresh consumer)."""
    from finpulse.errors import RetryableError
    from finpulse.kafka import CommitWatch, commit_processed, make_consumer

    topics = kafka_settings.topics
    consumer = make_consumer(kafka_settings, group_id=f"{kafka_settings.group_prefix}-zombie",
                             topics=[topics.raw])
    watch = CommitWatch(limit_s=2.0)
    try:
        def stable() -> bool:
            consumer.poll(timeout_ms=200)
            return bool(consumer.assignment()) and commit_processed(
                consumer, {TopicPartition(topics.raw, 0): 0})

        wait_until(stable, timeout_s=30, what="a stable member that can commit")
        # A rejoin the consumer asks for itself, as the metadata update makes it do at start-up;
        # polls of 1 ms, as at the end of a batch window, time out before its SyncGroup.
        consumer.subscribe([topics.raw, topics.dlq])
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            consumer.poll(timeout_ms=1)
        with pytest.raises(RetryableError, match="lost its consumer group"):
            for _ in range(20):  # polls as long as anyone's; the member does not come back
                consumer.poll(timeout_ms=500)
                watch.record(commit_processed(consumer, {TopicPartition(topics.raw, 0): 0}))
    finally:
        consumer.close()


def test_commit_watch_tolerates_a_rebalance_and_ends_a_lost_member() -> None:
    from finpulse.errors import RetryableError
    from finpulse.kafka import CommitWatch

    watch = CommitWatch(limit_s=60)
    watch.record(False, now=0)
    watch.record(False, now=59)  # a rebalance takes a while: not yet
    watch.record(True, now=60)  # and then commits go through again
    watch.record(False, now=100)
    with pytest.raises(RetryableError):
        watch.record(False, now=161)
