"""``finpulse dashboard``'s command line and the private settings file it hands over."""

from __future__ import annotations

import stat

import pytest
import yaml
from pydantic import SecretStr

from dashboard.cli import streamlit_command, write_private_settings
from finpulse.settings import DashboardSettings
from system.cli import build_parser

pytestmark = pytest.mark.unit


def test_command_runs_the_app_headless_on_the_configured_address(make_settings) -> None:
    settings = make_settings(dashboard=DashboardSettings(host="0.0.0.0", port=8777))
    cmd = streamlit_command(settings)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("dashboard/app.py")
    assert {"--server.headless=true", "--server.address=0.0.0.0",
            "--server.port=8777"} <= set(cmd)
    assert "--server.port=9000" in streamlit_command(settings, port=9000)


def test_settings_file_is_private_and_complete(make_settings) -> None:
    settings = make_settings(dashboard=DashboardSettings(password=SecretStr("pw")))
    path = write_private_settings(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert yaml.safe_load(path.read_text())["dashboard"]["password"] == "pw"


def test_subcommand_is_registered() -> None:
    args = build_parser().parse_args(["dashboard", "--port", "8600"])
    assert args.port == 8600 and args.handler.__name__ == "_dashboard"
