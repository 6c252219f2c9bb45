"""``finpulse dashboard``: runs the Streamlit app on ``dashboard.host:port``, headless."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

import yaml

from finpulse.lifecycle import die_with_parent, parent_death_signal
from finpulse.settings import Settings

APP = Path(__file__).resolve().parent / "app.py"


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dashboard", help="the live Streamlit dashboard")
    p.add_argument("--port", type=int, default=None, help="override dashboard.port")
    p.set_defaults(handler=_dashboard)


def streamlit_command(settings: Settings, port: int | None = None) -> list[str]:
    """The ``streamlit run`` command line for these settings."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.headless=true",
        f"--server.address={settings.dashboard.host}",
        f"--server.port={port or settings.dashboard.port}",
        "--browser.gatherUsageStats=false",
        "--server.fileWatcherType=none",
        "--client.toolbarMode=minimal",
    ]


def write_private_settings(settings: Settings) -> Path:
    """These exact settings as a YAML file readable by this user only (it holds secrets)."""
    folder = settings.var_dir / "dashboard"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "settings.yaml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        yaml.safe_dump(settings.revealed(), out, sort_keys=False)
    os.chmod(path, 0o600)
    return path


def _dashboard(args: argparse.Namespace, settings: Settings) -> int:
    # The app builds Settings.load() itself; FINPULSE_CONFIG hands it these settings. Exec,
    # so signals (Ctrl-C, SIGTERM from a supervisor) reach Streamlit directly.
    env = os.environ | {"FINPULSE_CONFIG": str(write_private_settings(settings))}
    print(f"finpulse dashboard on http://{settings.dashboard.host}:"
          f"{args.port or settings.dashboard.port}", flush=True)
    cmd = streamlit_command(settings, args.port)
    if parent_death_signal():
        # Tied to a supervisor: Streamlit can miss a SIGTERM that arrives while it starts, and
        # it holds nothing to flush, so it is killed outright when the supervisor dies.
        die_with_parent(signal.SIGKILL)
    os.execve(cmd[0], cmd, env)
    return 0  # not reached
