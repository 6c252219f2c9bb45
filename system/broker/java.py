"""The Java runtime Kafka needs (17+), and the flags the local broker's JVMs run with."""

from __future__ import annotations

import re
import shutil
import subprocess

from finpulse.errors import ConfigError

MIN_JAVA = 17
_JAVA_HINT = "install a JDK (apt-get install openjdk-17-jre-headless)"
JVM_FLAGS = (
    # A small dev broker on few cores: the serial collector needs no GC threads, and stopping at
    # the C1 compiler halves start-up (about 5s instead of 9s on 2 cores) at a throughput cost
    # that a local news stream never notices.
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Xss512k",
    "-Djava.awt.headless=true",
)


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
