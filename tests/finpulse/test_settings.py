"""Settings: defaults, environment, YAML file, redaction and precise errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from finpulse.errors import ConfigError
from finpulse.settings import Settings
from system.cli import main

pytestmark = pytest.mark.unit


def test_defaults_are_usable() -> None:
    s = Settings()
    assert s.kafka.topics.all() == ["news.raw", "news.classified", "news.alerts", "news.dlq"]
    assert s.database.url.startswith("sqlite:///")
    assert s.group("sink") == "finpulse-sink"


def test_environment_overrides_nested_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINPULSE_KAFKA__BOOTSTRAP_SERVERS", "kafka:29092")
    monkeypatch.setenv("FINPULSE_DATABASE__URL", "postgresql+psycopg://u@db/finpulse")
    s = Settings.load()
    assert s.kafka.bootstrap_servers == "kafka:29092"
    assert s.database.url == "postgresql+psycopg://u@db/finpulse"


def test_yaml_file_and_secret_redaction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "finpulse.yaml"
    cfg.write_text(
        "alerts:\n  receivers:\n    - {name: ops, url: 'http://localhost:9/x', "
        "secret: whsec_c2VjcmV0c2VjcmV0c2VjcmV0}\n"
        "dashboard:\n  port: 8600\n"
    )
    monkeypatch.setenv("FINPULSE_CONFIG", str(cfg))
    s = Settings.load()
    assert s.dashboard.port == 8600
    assert s.alerts.receivers[0].secret.get_secret_value() == "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"
    assert main(["config", "show"]) == 0
    shown = capsys.readouterr().out
    assert "port: 8600" in shown
    assert "c2VjcmV0" not in shown and "**********" in shown


def test_bad_config_names_the_file_and_the_field(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "finpulse.yaml"
    cfg.write_text("dashboard:\n  port: not-a-port\nkafka:\n  partitons: 3\n")
    monkeypatch.setenv("FINPULSE_CONFIG", str(cfg))
    with pytest.raises(ConfigError) as err:
        Settings.load()
    message = str(err.value)
    assert str(cfg) in message
    assert "dashboard.port" in message and "kafka.partitons" in message


def test_cli_reports_bad_config_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "finpulse.yaml"
    cfg.write_text("model:\n  max_length: 4\n")
    monkeypatch.setenv("FINPULSE_CONFIG", str(cfg))
    assert main(["config", "show"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("finpulse config: invalid settings from") and "model.max_length" in err
