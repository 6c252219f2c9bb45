"""Kafka's jars, from Maven Central: ``ensure_jars`` asks ``mvn`` for
``org.apache.kafka:kafka_<scala>:<version>`` with its runtime dependencies plus the log4j2
binding for SLF4J, into ``<cache_dir>/<version>/libs``, once. The broker's log4j2 config is
written next to the libs.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from finpulse.errors import ConfigError
from finpulse.settings import KafkaSettings, LocalBrokerSettings
from system.broker.errors import BrokerError, tail_text
from system.broker.java import require_java

Progress = Callable[[str], None]

# Used only if the resolved jars do not name a log4j-core version (never seen so far).
_FALLBACK_LOG4J_VERSION = "2.24.3"
_MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
_MARKER = ".finpulse-complete"
_MVN_HINT = "install Maven (apt-get install maven)"
_LOG4J2_CONFIG = """\
# Written by system.broker: the broker's log goes to stdout, which start() sends to broker.log.
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
        tail = tail_text(done.stdout + done.stderr, 25)
        raise BrokerError(f"mvn could not fetch Kafka (exit {done.returncode}):\n{tail}")
