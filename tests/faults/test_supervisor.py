"""However ``finpulse up`` ends, nothing it started keeps running: not its parts, not the
dashboard (which becomes Streamlit), not the broker it started.

Found on ``make up 2>&1 | tee up.log`` and Ctrl-C: the pipe closed, ``finpulse up`` died on
its first write while stopping, and every part and the broker kept running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from finpulse.settings import IngestSettings, KafkaSettings, LocalBrokerSettings, Settings, TopicNames
from tests.alerts.conftest import free_port
from tests.conftest import unique, write_settings_file
from tests.support import REPO, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.slow]

PARTS = 7  # sink, dashboard, api, classify, alerts, retrain --watch, shadow, ingest: 8 less the demo


def descendants(root: int) -> set[int]:
    """Every live process below ``root`` (from /proc: pid -> parent)."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z":
            parent[int(entry.name)] = int(fields[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, pp in parent.items() if pp in frontier} - found
        found |= frontier
    return found


def commands(pids: set[int]) -> list[str]:
    out = []
    for pid in sorted(pids):
        try:
            out.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120])
        except OSError:
            continue
    return out


def alive(pids: set[int]) -> set[int]:
    out = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if state[state.rindex(")") + 2] != "Z":
            out.add(pid)
    return out


def up_settings(make_settings, migrated, kafka: KafkaSettings, tmp_path: Path) -> Settings:
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources: []\n")
    settings = migrated(make_settings(
        kafka=kafka, ingest=IngestSettings(sources_file=sources, state_dir=tmp_path / "ingest"),
        dashboard={"port": free_port()}, api={"port": free_port()},
    ))
    return settings


def start_up(settings: Settings, tmp_path: Path, stdout: int) -> subprocess.Popen[bytes]:
    config = write_settings_file(settings, tmp_path / "finpulse.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINPULSE_")}
    env["FINPULSE_CONFIG"] = str(config)
    return subprocess.Popen([sys.executable, "-m", "system", "up", "--no-demo"], cwd=REPO, env=env,
                            stdout=stdout, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def run_and_end(up: subprocess.Popen[bytes], end, expect: int) -> None:
    children: set[int] = set()
    try:
        children = wait_until(lambda: (len(d := descendants(up.pid)) >= expect and d),
                              timeout_s=240, what=f"{expect} processes under finpulse up")
        end(up)
        try:
            wait_until(lambda: not alive(children), timeout_s=90,
                       what="every process finpulse up started to end")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; still running: {commands(alive(children))}") from None
        up.wait(60)
    finally:  # a failed test must not leave its processes to the next one
        for pid in alive(children | descendants(up.pid)):
            os.kill(pid, signal.SIGKILL)
        if up.poll() is None:
            up.kill()
        up.wait(30)


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT after its output pipe closed"])
def test_ending_finpulse_up_ends_every_part(how: str, kafka_settings, make_settings, migrated,
                                            install_model, tmp_path: Path) -> None:
    settings = up_settings(make_settings, migrated, kafka_settings, tmp_path)
    install_model(settings)
    if how == "SIGTERM":
        up = start_up(settings, tmp_path, (tmp_path / "up.log").open("wb").fileno())
        run_and_end(up, lambda p: p.send_signal(signal.SIGTERM), PARTS)
        assert up.returncode == 0
        return
    # `finpulse up | tee up.log`, then Ctrl-C: tee dies first, closing the pipe.
    read_end, write_end = os.pipe()
    up = start_up(settings, tmp_path, write_end)
    os.close(write_end)
    reader = os.fdopen(read_end, "rb")

    def close_pipe_then_interrupt(p: subprocess.Popen[bytes]) -> None:
        reader.close()
        p.send_signal(signal.SIGINT)

    run_and_end(up, close_pipe_then_interrupt, PARTS)


def test_sigkill_of_finpulse_up_ends_every_part_and_the_broker_it_started(
        make_settings, migrated, install_model, tmp_path: Path) -> None:
    """Nothing can catch SIGKILL: the parts and the broker end because the kernel tells them
    their parent died."""
    uid = unique()
    port = free_port()
    kafka = KafkaSettings(
        bootstrap_servers=f"localhost:{port}", manage_local_broker=True, partitions=1,
        group_prefix=f"finpulse-{uid}",
        topics=TopicNames(raw=f"raw.{uid}", classified=f"classified.{uid}", alerts=f"alerts.{uid}",
                          dlq=f"dlq.{uid}"),
        local=LocalBrokerSettings(port=port, controller_port=free_port(), data_dir=tmp_path / "kafka"),
    )
    settings = up_settings(make_settings, migrated, kafka, tmp_path)
    install_model(settings)
    up = start_up(settings, tmp_path, (tmp_path / "up.log").open("wb").fileno())
    run_and_end(up, lambda p: p.send_signal(signal.SIGKILL), PARTS + 1)  # + the broker's JVM
    from system import broker

    assert not broker.is_reachable(kafka.bootstrap_servers, timeout_s=2)
