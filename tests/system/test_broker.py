"""The local broker manager against real JVMs: start, idempotent start, status, stop."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from finpulse.errors import ConfigError
from finpulse.settings import KafkaSettings, LocalBrokerSettings, TopicNames
from system import broker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.integration
@pytest.mark.slow
def test_start_twice_status_stop(tmp_path: Path) -> None:
    port, controller = free_port(), free_port()
    kafka = KafkaSettings(
        bootstrap_servers=f"localhost:{port}",
        topics=TopicNames(raw="r", classified="c", alerts="a", dlq="d"),
        partitions=1,
        local=LocalBrokerSettings(data_dir=tmp_path / "kafka", port=port,
                                  controller_port=controller),
    )
    assert not broker.status(kafka).running
    try:
        broker.start(kafka, progress=lambda _msg: None)
        first_pid = broker.status(kafka).pid
        broker.start(kafka, progress=lambda _msg: None)  # harmless when running
        st = broker.status(kafka)
        assert st.running and st.managed and st.pid == first_pid
        assert set(st.topics) >= {"r", "c", "a", "d"}
    finally:
        assert broker.stop(kafka)
    assert not broker.status(kafka).running
    assert not broker.is_reachable(kafka.bootstrap_servers, timeout_s=1)
    assert broker.stop(kafka) is False


@pytest.mark.unit
def test_missing_java_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no java, no mvn
    with pytest.raises(ConfigError, match=r"Java 17\+ not found on PATH: install a JDK"):
        broker.require_java()
