"""The local single-node Kafka broker behind ``finpulse broker start|stop|status``.

Kafka itself comes from Maven Central: ``ensure_jars`` asks ``mvn`` for
``org.apache.kafka:kafka_<scala>:<version>`` with its runtime dependencies plus the log4j2 binding
for SLF4J, into ``<cache_dir>/<version>/libs``. ``start`` runs it as one combined KRaft
broker+controller (no ZooKeeper; Kafka 4.x has none), detached from the caller, with its output
in ``<data_dir>/broker.log`` and its pid in ``<data_dir>/broker.pid``. Every function takes the
``KafkaSettings`` handed down from the entry point; nothing here reads ``os.environ``.
"""

from __future__ import annotations

import base64
import fcntl
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from finpulse.errors import ConfigError, FinpulseError
from finpulse.lifecycle import parent_death_hook
from finpulse.settings import KafkaSettings, LocalBrokerSettings

if TYPE_CHECKING:
    from kafka import KafkaAdminClient

Progress = Callable[[str], None]

MIN_JAVA = 17
# Used only if the resolved jars do not name a log4j-core version (never seen so far).
_FALLBACK_LOG4J_VERSION = "2.24.3"
_MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
_MARKER = ".finpulse-complete"
_JAVA_HINT = "install a JDK (apt-get install openjdk-17-jre-headless)"
_MVN_HINT = "install Maven (apt-get install maven)"
_JVM_FLAGS = (
    # A small dev broker on few cores: the serial collector needs no GC threads, and stopping at
    # the C1 compiler halves start-up (about 5s instead of 9s on 2 cores) at a throughput cost
    # that a local news stream never notices.
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Xss512k",
    "-Djava.awt.headless=true",
)
_LOG4J2_CONFIG = """\
# Written by finpulse.broker: the broker's log goes to stdout, which start() sends to broker.log.
status = warn
# Kafka stops itself on SIGTERM; a log4j hook only races it and warns.
shutdownHook = disable
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = STDOUT
# Start-up and shut-down milestones, so broker.log says what happened.
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = info
logger.kafka.name = kafka.Kafka$
logger.kafka.level = info
"""


class BrokerError(FinpulseError):
    """The local broker could not be resolved, started or stopped; the message says why."""


@dataclass(frozen=True)
class BrokerStatus:
    """What ``status`` found: whether Kafka answers, and whether it is the broker we manage."""

    running: bool
    bootstrap: str
    pid: int | None
    managed: bool
    topics: list[str] = field(default_factory=list)
    detail: str = ""


# ---------------------------------------------------------------------------------------------
# Tools and jars


def require_java() -> str:
    """The path of a Java 17+ ``java``; raises ConfigError saying what to install."""
    java = shutil.which("java")
    if java is None:
        raise ConfigError(f"Java {MIN_JAVA}+ not found on PATH: {_JAVA_HINT}")
    major = _java_major(java)
    if major is not None and major < MIN_JAVA:
        raise ConfigError(
            f"Kafka 4 needs Java {MIN_JAVA}+, but {java} is Java {major}: {_JAVA_HINT}"
        )
    return java


def _java_major(java: str) -> int | None:
    """The major version ``java -version`` reports (8 for "1.8.0_x"), or None if unreadable."""
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if match is None:
        return None
    first = int(match.group(1))
    return int(match.group(2) or 0) if first == 1 else first


def require_mvn() -> str:
    """The path of ``mvn``; raises ConfigError saying what to install."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ConfigError(f"Maven (mvn) not found on PATH, needed once to fetch Kafka: {_MVN_HINT}")
    return mvn


def kafka_home(local: LocalBrokerSettings) -> Path:
    """``<cache_dir>/<kafka_version>``: the libs folder and the log4j2 config live here."""
    return local.cache_dir.expanduser().resolve() / local.kafka_version


def _coordinate(local: LocalBrokerSettings) -> str:
    return f"org.apache.kafka:kafka_{local.scala_version}:{local.kafka_version}"


def ensure_jars(kafka: KafkaSettings, *, progress: Progress = print) -> Path:
    """Resolve Kafka and a log4j2 SLF4J binding into ``<cache_dir>/<version>/libs`` once.

    Fast when a previous run completed (a marker file names what was resolved). Also writes
    the log4j2 config next to the libs. Returns the libs folder.
    """
    local = kafka.local
    home = kafka_home(local)
    libs = home / "libs"
    marker = libs / _MARKER
    if not (marker.is_file() and marker.read_text().strip() == _coordinate(local)):
        _resolve(local, libs, progress)
    write_log4j2_config(local)
    return libs


def write_log4j2_config(local: LocalBrokerSettings) -> Path:
    """Write (if changed) the broker's log4j2 config into the cache; returns its path."""
    path = kafka_home(local) / "log4j2.properties"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_text() != _LOG4J2_CONFIG:
        path.write_text(_LOG4J2_CONFIG)
    return path


def _resolve(local: LocalBrokerSettings, libs: Path, progress: Progress) -> None:
    """Fetch the jars with mvn into a scratch folder, then move it into place atomically."""
    mvn = require_mvn()
    require_java()
    home = libs.parent
    home.mkdir(parents=True, exist_ok=True)
    progress(f"Fetching Kafka {local.kafka_version} ({_coordinate(local)}) from Maven Central ...")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=".resolve-", dir=home) as scratch:
        out = Path(scratch) / "libs"
        kafka_dep = _pom_dependency(*_coordinate(local).split(":"))
        _copy_dependencies(mvn, Path(scratch) / "kafka", kafka_dep, out, transitive=True)
        binding = _slf4j_binding(out)
        _copy_dependencies(mvn, Path(scratch) / "binding", binding, out, transitive=False)
        (out / _MARKER).write_text(_coordinate(local) + "\n")
        if libs.exists():
            shutil.rmtree(libs)
        out.rename(libs)
    count = sum(1 for _ in libs.glob("*.jar"))
    progress(
        f"Kafka {local.kafka_version}: {count} jars in {libs} ({time.monotonic() - started:.0f}s)"
    )


def _slf4j_binding(libs: Path) -> str:
    """The log4j2 binding matching the resolved slf4j-api (1.x or 2.x) and log4j-core."""
    log4j = _jar_version(libs, "log4j-core") or _FALLBACK_LOG4J_VERSION
    slf4j = _jar_version(libs, "slf4j-api") or "1"
    artifact = "log4j-slf4j-impl" if slf4j.startswith("1.") else "log4j-slf4j2-impl"
    return _pom_dependency("org.apache.logging.log4j", artifact, log4j)


def _jar_version(libs: Path, artifact: str) -> str | None:
    """The version in ``<artifact>-<version>.jar`` among ``libs``, or None."""
    for jar in libs.glob(f"{artifact}-*.jar"):
        version = jar.name[len(artifact) + 1 : -len(".jar")]
        if version[:1].isdigit():
            return version
    return None


def _pom_dependency(group: str, artifact: str, version: str) -> str:
    return (
        f"<dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
        f"<version>{version}</version></dependency>"
    )


def _copy_dependencies(
    mvn: str, project: Path, dependency: str, out: Path, *, transitive: bool
) -> None:
    """Run ``mvn dependency:copy-dependencies`` on a one-dependency pom written in ``project``."""
    project.mkdir(parents=True)
    (project / "pom.xml").write_text(
        '<project xmlns="http://maven.apache.org/POM/4.0.0">'
        "<modelVersion>4.0.0</modelVersion><groupId>finpulse</groupId>"
        "<artifactId>kafka-resolve</artifactId><version>0</version><packaging>pom</packaging>"
        f"<dependencies>{dependency}</dependencies></project>\n"
    )
    cmd = [
        mvn, "-B", "-q", f"{_MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies",
        f"-DoutputDirectory={out}", "-DincludeScope=runtime",
        f"-DexcludeTransitive={str(not transitive).lower()}",
    ]  # fmt: skip
    try:
        done = subprocess.run(
            cmd, cwd=project, capture_output=True, text=True, timeout=900, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BrokerError(
            "mvn took over 15 minutes to fetch Kafka; is Maven Central reachable?"
        ) from exc
    if done.returncode != 0:
        tail = _tail_text(done.stdout + done.stderr, 25)
        raise BrokerError(f"mvn could not fetch Kafka (exit {done.returncode}):\n{tail}")


# ---------------------------------------------------------------------------------------------
# Reachability


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


def local_bootstrap(local: LocalBrokerSettings) -> str:
    """The address the managed broker's client listener answers on."""
    return f"{local.host}:{local.port}"


# ---------------------------------------------------------------------------------------------
# Topics


def ensure_topics(kafka: KafkaSettings, *, timeout_s: float = 30.0) -> None:
    """Create every topic in ``kafka.topics.all()`` that does not exist yet, and wait until each
    has a leader. Retries for up to ``timeout_s`` while a fresh broker is still registering.
    Raises BrokerError if the cluster cannot be reached or refuses."""
    from kafka.errors import KafkaError

    try:
        _create_missing_topics(kafka, timeout_s)
    except KafkaError as exc:
        raise BrokerError(
            f"could not ensure topics {kafka.topics.all()} on {kafka.bootstrap_servers}: {exc!r}"
        ) from exc


def _create_missing_topics(kafka: KafkaSettings, timeout_s: float) -> None:
    from kafka.errors import InvalidReplicationFactorError, TopicAlreadyExistsError

    deadline = time.monotonic() + timeout_s
    with _admin(kafka) as admin:
        while True:
            existing = set(admin.list_topics())
            missing = [t for t in kafka.topics.all() if t not in existing]
            if not missing:
                return
            spec = {
                name: {
                    "num_partitions": kafka.partitions,
                    "replication_factor": kafka.replication_factor,
                }
                for name in missing
            }
            try:
                admin.create_topics(spec, timeout_ms=30_000, wait_for_metadata=True)
                return
            except TopicAlreadyExistsError:
                continue  # created meanwhile by someone else; look again for the rest
            except InvalidReplicationFactorError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.5)


def _admin(kafka: KafkaSettings) -> KafkaAdminClient:
    """An admin client on ``bootstrap_servers`` (kafka-python is imported only when needed)."""
    from kafka import KafkaAdminClient

    return KafkaAdminClient(
        bootstrap_servers=kafka.bootstrap_servers,
        client_id=f"{kafka.client_id}-broker-admin",
        request_timeout_ms=30_000,
    )


def list_topics(kafka: KafkaSettings) -> list[str]:
    """The non-internal topics on the cluster, sorted."""
    with _admin(kafka) as admin:
        return sorted(t for t in admin.list_topics() if not t.startswith("__"))


# ---------------------------------------------------------------------------------------------
# Files under data_dir


def _data_dir(local: LocalBrokerSettings) -> Path:
    return local.data_dir.expanduser().resolve()


def pid_file(local: LocalBrokerSettings) -> Path:
    return _data_dir(local) / "broker.pid"


def log_file(local: LocalBrokerSettings) -> Path:
    return _data_dir(local) / "broker.log"


def _log_dir(local: LocalBrokerSettings) -> Path:
    return _data_dir(local) / "kraft-logs"


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
        "log.dirs": str(_log_dir(local)),
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
    lines = ["# Written by finpulse.broker on every start; edit the settings, not this file."]
    return "\n".join(lines + [f"{key}={value}" for key, value in props.items()]) + "\n"


def _write_config(kafka: KafkaSettings) -> Path:
    path = _data_dir(kafka.local) / "server.properties"
    path.write_text(server_properties(kafka))
    return path


def _cluster_id(local: LocalBrokerSettings) -> str:
    """The cluster id kept in ``data_dir/cluster.id``, made on first use (Kafka's Uuid format)."""
    path = _data_dir(local) / "cluster.id"
    if path.is_file():
        return path.read_text().strip()
    while True:  # like Kafka's Uuid.randomUuid: base64url, no padding, never starting with "-"
        value = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not value.startswith("-"):
            break
    path.write_text(value + "\n")
    return value


def _format_storage(
    java: str, libs: Path, kafka: KafkaSettings, config: Path, progress: Progress
) -> None:
    """Format the KRaft log dir once (a standalone controller quorum of this one node)."""
    local = kafka.local
    if (_log_dir(local) / "meta.properties").is_file():
        return
    progress(f"Formatting Kafka storage in {_log_dir(local)} ...")
    cmd = [
        java, *_JVM_FLAGS, "-Xmx256m", "-cp", f"{libs}/*",
        f"-Dlog4j2.configurationFile={write_log4j2_config(local)}",
        "kafka.tools.StorageTool", "format", "--standalone",
        "--cluster-id", _cluster_id(local), "--config", str(config),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise BrokerError(
            f"formatting Kafka storage failed:\n{_tail_text(done.stdout + done.stderr, 20)}"
        )


# ---------------------------------------------------------------------------------------------
# Process control


def _read_pid(local: LocalBrokerSettings) -> int | None:
    try:
        return int(pid_file(local).read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) process; reaps it if it is our child."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return True


def _is_our_broker(pid: int) -> bool:
    """Whether ``pid`` is alive and is a ``kafka.Kafka`` JVM (guards against a reused pid)."""
    if not _alive(pid):
        return False
    try:
        return b"kafka.Kafka" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc: trust the pid file


def managed_pid(local: LocalBrokerSettings) -> int | None:
    """The pid of the broker ``start`` launched, if it is still running."""
    pid = _read_pid(local)
    return pid if pid is not None and _is_our_broker(pid) else None


def _launch(java: str, libs: Path, kafka: KafkaSettings, config: Path,
            tie_to_parent: bool = False) -> subprocess.Popen[bytes]:
    """Start ``kafka.Kafka`` detached (own session), output to broker.log, pid to broker.pid.
    With ``tie_to_parent`` it gets SIGTERM (a clean shutdown) when this process ends."""
    local = kafka.local
    log = log_file(local)
    if log.exists():
        log.replace(log.with_suffix(".log.1"))
    cmd = [
        java, f"-Xmx{local.heap}", "-Xms64m", *_JVM_FLAGS, "-cp", f"{libs}/*",
        f"-Dlog4j2.configurationFile={write_log4j2_config(local)}",
        "kafka.Kafka", str(config),
    ]  # fmt: skip
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            cwd=_data_dir(local), start_new_session=True, close_fds=True,
            preexec_fn=parent_death_hook() if tie_to_parent else None,
        )  # fmt: skip
    pid_file(local).write_text(f"{proc.pid}\n")
    return proc


def _wait_until_up(kafka: KafkaSettings, pid: int) -> None:
    """Poll the client listener until it answers; on death or timeout raise with the log tail."""
    local = kafka.local
    deadline = time.monotonic() + local.start_timeout_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            pid_file(local).unlink(missing_ok=True)
            raise BrokerError(
                f"Kafka (pid {pid}) exited while starting; last lines of {log_file(local)}:\n"
                f"{tail_log(local)}"
            )
        if is_reachable(local_bootstrap(local), timeout_s=1.0):
            return
        time.sleep(0.25)
    stop(kafka, timeout_s=10)
    raise BrokerError(
        f"Kafka did not answer on {local_bootstrap(local)} within {local.start_timeout_s:.0f}s "
        f"(stopped it); last lines of {log_file(local)}:\n{tail_log(local)}"
    )


def tail_log(local: LocalBrokerSettings, lines: int = 20) -> str:
    """The last ``lines`` lines of broker.log without Java stack frames ("" if no log)."""
    try:
        text = log_file(local).read_text(errors="replace")
    except OSError:
        return ""
    kept = [line for line in text.splitlines() if not re.match(r"\s+(at |\.\.\. \d+ more)", line)]
    return _tail_text("\n".join(kept), lines)


def _tail_text(text: str, lines: int) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _check_ports_free(local: LocalBrokerSettings) -> None:
    """Raise ConfigError if something other than our broker already listens on either port."""
    for port in (local.port, local.controller_port):
        try:
            with socket.create_connection((local.host, port), timeout=1.0):
                pass
        except OSError:
            continue
        raise ConfigError(
            f"port {port} on {local.host} is taken by something that is not this Kafka; "
            "stop it or change kafka.local.port / kafka.local.controller_port"
        )


def start(kafka: KafkaSettings, *, progress: Progress = print, tie_to_parent: bool = False) -> None:
    """Make sure a broker answers on ``bootstrap_servers`` and the finpulse topics exist.

    If Kafka already answers (ours or anyone's), only the topics are ensured. Otherwise the
    jars are fetched if needed, the storage formatted once, and the broker started detached.
    Concurrent calls are serialised by a lock file in data_dir; running it twice is harmless.
    """
    local = kafka.local
    if is_reachable(kafka.bootstrap_servers):
        progress(f"Kafka already answers on {kafka.bootstrap_servers}")
        ensure_topics(kafka)
        return
    if local_bootstrap(local) not in kafka.bootstrap_servers.split(","):
        progress(
            f"note: bootstrap_servers is {kafka.bootstrap_servers!r} but the local broker "
            f"listens on {local_bootstrap(local)}"
        )
    started = time.monotonic()
    with _start_lock(local):
        pid = managed_pid(local)
        if pid is None:
            pid = _start_new(kafka, progress, tie_to_parent)
        else:  # started by another run moments ago, or hung: wait for it, or fail with its log
            progress(f"Kafka (pid {pid}) is already starting; waiting for it ...")
        _wait_until_up(kafka, pid)
    ensure_topics(kafka, timeout_s=max(10.0, local.start_timeout_s - (time.monotonic() - started)))
    progress(f"Kafka is up (pid {pid}, {time.monotonic() - started:.1f}s); topics ensured")


@contextmanager
def _start_lock(local: LocalBrokerSettings) -> Iterator[None]:
    """An exclusive lock on ``data_dir/broker.lock`` for the duration of a start."""
    _data_dir(local).mkdir(parents=True, exist_ok=True)
    with (_data_dir(local) / "broker.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _start_new(kafka: KafkaSettings, progress: Progress, tie_to_parent: bool = False) -> int:
    """Fetch, configure, format (first time) and launch the broker; returns its pid."""
    local = kafka.local
    java = require_java()
    _check_ports_free(local)
    libs = ensure_jars(kafka, progress=progress)
    config = _write_config(kafka)
    _format_storage(java, libs, kafka, config, progress)
    where = local_bootstrap(local)
    progress(f"Starting Kafka {local.kafka_version} on {where} (log: {log_file(local)}) ...")
    return _launch(java, libs, kafka, config, tie_to_parent).pid


def stop(kafka: KafkaSettings, *, timeout_s: float = 30) -> bool:
    """Stop the broker ``start`` launched: SIGTERM, wait, then SIGKILL. True if one was running."""
    local = kafka.local
    pid = managed_pid(local)
    if pid is None:
        pid_file(local).unlink(missing_ok=True)
        return False
    _signal(pid, signal.SIGTERM)
    if not _wait_dead(pid, timeout_s):
        _signal(pid, signal.SIGKILL)
        _wait_dead(pid, 10)
    pid_file(local).unlink(missing_ok=True)
    return True


def _signal(pid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, sig)


def _wait_dead(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while _alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True


def status(kafka: KafkaSettings) -> BrokerStatus:
    """Whether Kafka answers on ``bootstrap_servers``, which topics it has, and whether the
    broker there is the one ``start`` launched."""
    local = kafka.local
    pid = managed_pid(local)
    running = is_reachable(kafka.bootstrap_servers)
    topics: list[str] = []
    if running:
        try:
            topics = list_topics(kafka)
            detail = f"Kafka answers on {kafka.bootstrap_servers}"
        except Exception as exc:  # noqa: BLE001 - status reports problems, it does not raise them
            detail = f"Kafka answers on {kafka.bootstrap_servers} but listing topics failed: {exc}"
    else:
        detail = f"nothing answers as Kafka on {kafka.bootstrap_servers}"
    if pid is not None:
        detail += f"; managed broker pid {pid}, log {log_file(local)}"
    elif running:
        detail += " (not started by finpulse)"
    return BrokerStatus(running, kafka.bootstrap_servers, pid, pid is not None, topics, detail)
