"""Whether a Kafka broker answers at an address: one ApiVersions request over a plain socket,
without a Kafka client. Used before starting a local broker, and by parts that explain a down
broker instead of failing on it.
"""

from __future__ import annotations

import socket
import struct


def is_reachable(bootstrap_servers: str, timeout_s: float = 2.0) -> bool:
    """Whether any of ``bootstrap_servers`` answers a Kafka ApiVersions request."""
    return any(_answers_as_kafka(server, timeout_s) for server in _split_servers(bootstrap_servers))


def _split_servers(bootstrap_servers: str) -> list[tuple[str, int]]:
    servers = []
    for item in bootstrap_servers.split(","):
        host, _, port = item.strip().rpartition(":")
        if host and port.isdigit():
            servers.append((host.strip("[]"), int(port)))
    return servers


def _answers_as_kafka(server: tuple[str, int], timeout_s: float) -> bool:
    """Send ApiVersions v0 and check the reply's correlation id (any error code is Kafka too)."""
    correlation_id = 0x0F1A
    client_id = b"finpulse-probe"
    body = struct.pack(">hhih", 18, 0, correlation_id, len(client_id)) + client_id
    try:
        with socket.create_connection(server, timeout=timeout_s) as sock:
            sock.settimeout(timeout_s)
            sock.sendall(struct.pack(">i", len(body)) + body)
            head = _recv_exactly(sock, 8)
    except OSError:
        return False
    if head is None:
        return False
    size, got_id = struct.unpack(">ii", head)
    return got_id == correlation_id and 0 < size < 1_000_000


def _recv_exactly(sock: socket.socket, count: int) -> bytes | None:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data
