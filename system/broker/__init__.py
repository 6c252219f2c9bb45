"""The local single-node Kafka broker behind ``finpulse broker start|stop|status``.

Kafka itself comes from Maven Central: ``ensure_jars`` asks ``mvn`` for
``org.apache.kafka:kafka_<scala>:<version>`` with its runtime dependencies plus the log4j2 binding
for SLF4J, into ``<cache_dir>/<version>/libs`` (``jars``). ``start`` runs it as one combined KRaft
broker+controller (no ZooKeeper; Kafka 4.x has none), detached from the caller, with its output
in ``<data_dir>/broker.log`` and its pid in ``<data_dir>/broker.pid`` (``storage``, ``process``,
``local``). Every function takes the ``KafkaSettings`` handed down from the entry point;
nothing here reads ``os.environ``.

Whether any broker answers (``is_reachable``) and topic administration (``ensure_topics``,
``list_topics``) are the kernel's (``finpulse.probe``, ``finpulse.topics``), so that parts can
use them; they are re-exported here because starting a broker means both.
"""

from finpulse.probe import is_reachable
from finpulse.topics import TopicAdminError, ensure_topics, list_topics
from system.broker.errors import BrokerError
from system.broker.jars import Progress, ensure_jars, kafka_home, require_mvn, write_log4j2_config
from system.broker.java import MIN_JAVA, require_java
from system.broker.local import BrokerStatus, local_bootstrap, start, status, stop
from system.broker.process import log_file, managed_pid, pid_file, tail_log
from system.broker.storage import server_properties

__all__ = [
    "MIN_JAVA", "BrokerError", "BrokerStatus", "Progress", "TopicAdminError", "ensure_jars",
    "ensure_topics", "is_reachable", "kafka_home", "list_topics", "local_bootstrap", "log_file",
    "managed_pid", "pid_file", "require_java", "require_mvn", "server_properties", "start",
    "status", "stop", "tail_log", "write_log4j2_config",
]
