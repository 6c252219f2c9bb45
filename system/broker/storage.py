"""The local broker's KRaft storage under ``data_dir``: its ``server.properties`` (one combined
broker+controller node), its cluster id, and the log dir, formatted once.
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

from finpulse.settings import KafkaSettings, LocalBrokerSettings
from system.broker.errors import BrokerError, tail_text
from system.broker.jars import Progress, write_log4j2_config
from system.broker.java import JVM_FLAGS


def data_dir(local: LocalBrokerSettings) -> Path:
    return local.data_dir.expanduser().resolve()


def log_dir(local: LocalBrokerSettings) -> Path:
    return data_dir(local) / "kraft-logs"


def server_properties(kafka: KafkaSettings) -> str:
    """The KRaft config of one combined broker+controller node (Kafka 4.x dynamic quorum)."""
    local = kafka.local
    controller = f"{local.host}:{local.controller_port}"
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": controller,
        "listeners": f"PLAINTEXT://{local.host}:{local.port},CONTROLLER://{controller}",
        "advertised.listeners": f"PLAINTEXT://{local.host}:{local.port},CONTROLLER://{controller}",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(log_dir(local)),
        "num.partitions": str(kafka.partitions),
        "default.replication.factor": "1",
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "log.retention.hours": "168",
    }
    lines = ["# Written by system.broker on every start; edit the settings, not this file."]
    return "\n".join(lines + [f"{key}={value}" for key, value in props.items()]) + "\n"


def write_config(kafka: KafkaSettings) -> Path:
    path = data_dir(kafka.local) / "server.properties"
    path.write_text(server_properties(kafka))
    return path


def _cluster_id(local: LocalBrokerSettings) -> str:
    """The cluster id kept in ``data_dir/cluster.id``, made on first use (Kafka's Uuid format)."""
    path = data_dir(local) / "cluster.id"
    if path.is_file():
        return path.read_text().strip()
    while True:  # like Kafka's Uuid.randomUuid: base64url, no padding, never starting with "-"
        value = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not value.startswith("-"):
            break
    path.write_text(value + "\n")
    return value


def format_storage(
    java: str, libs: Path, kafka: KafkaSettings, config: Path, progress: Progress
) -> None:
    """Format the KRaft log dir once (a standalone controller quorum of this one node)."""
    local = kafka.local
    if (log_dir(local) / "meta.properties").is_file():
        return
    progress(f"Formatting Kafka storage in {log_dir(local)} ...")
    cmd = [
        java, *JVM_FLAGS, "-Xmx256m", "-cp", f"{libs}/*",
        f"-Dlog4j2.configurationFile={write_log4j2_config(local)}",
        "kafka.tools.StorageTool", "format", "--standalone",
        "--cluster-id", _cluster_id(local), "--config", str(config),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise BrokerError(
            f"formatting Kafka storage failed:\n{tail_text(done.stdout + done.stderr, 20)}"
        )
