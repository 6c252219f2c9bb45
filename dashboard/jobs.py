"""Background jobs the dashboard starts as separate ``finpulse`` processes (it never imports
the classifier): today, a retraining run. The retrain lock makes a second start harmless."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from finpulse.settings import Settings


def retrain_logs(settings: Settings) -> Path:
    return settings.var_dir / "retrain"


def start_retrain(settings: Settings, *, extra_args: tuple[str, ...] = ()) -> Path:
    """Start ``finpulse retrain`` detached (same settings, inherited through FINPULSE_CONFIG);
    returns the log file it writes."""
    folder = retrain_logs(settings)
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"retrain-{datetime.now(UTC):%Y%m%dT%H%M%S}.log"
    with log.open("ab") as out:
        subprocess.Popen(
            [sys.executable, "-m", "system", "retrain", *extra_args],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return log


def latest_retrain_log(settings: Settings) -> Path | None:
    logs = sorted(retrain_logs(settings).glob("retrain-*.log"))
    return logs[-1] if logs else None


def tail(path: Path, lines: int = 15) -> str:
    """The last non-empty lines of a log (progress bars redraw with carriage returns)."""
    text = path.read_text(encoding="utf-8", errors="replace").replace("\r", "\n")
    return "\n".join([line for line in text.splitlines() if line.strip()][-lines:])
