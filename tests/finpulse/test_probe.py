"""``is_reachable``: true for a Kafka broker, false for anything else on the port or nothing."""

from __future__ import annotations

import socket

import pytest

from finpulse.probe import is_reachable


@pytest.mark.unit
def test_is_reachable_is_false_for_a_non_kafka_port() -> None:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        assert not is_reachable(f"127.0.0.1:{srv.getsockname()[1]}", timeout_s=0.5)


@pytest.mark.unit
def test_is_reachable_is_false_for_nothing_and_for_a_malformed_address() -> None:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        port = srv.getsockname()[1]  # bound, not listening: connection refused
        assert not is_reachable(f"127.0.0.1:{port}", timeout_s=0.5)
    assert not is_reachable("no-port-here", timeout_s=0.5)


@pytest.mark.integration
def test_is_reachable_is_true_for_a_broker_among_dead_addresses(kafka_bootstrap: str) -> None:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{srv.getsockname()[1]}"
        assert is_reachable(f"{dead},{kafka_bootstrap}", timeout_s=2)
