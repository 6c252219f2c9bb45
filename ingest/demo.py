"""The demo stream: the seed data's texts replayed onto ``news.raw`` at a steady rate, file
after file, forever (each later pass gets fresh ids so the dashboard keeps moving)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from finpulse.errors import ConfigError
from finpulse.settings import Settings
from ingest.publish import ArticleSink, KafkaSink
from ingest.replay import Replay
from ingest.tickers import load_watchlist

log = logging.getLogger(__name__)


def demo_files(seed_data: str) -> list[Path]:
    """The seed data's CSV files; ConfigError when ``seed_data`` is not a local folder."""
    folder = Path(seed_data)
    if not folder.is_dir():
        raise ConfigError(
            f"model.seed_data={seed_data!r} is not a folder: the demo replays the seed CSV "
            "files from a local folder"
        )
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise ConfigError(f"model.seed_data={seed_data}: no .csv files to replay")
    return files


def publish_demo(
    settings: Settings,
    *,
    stop: threading.Event,
    rate_per_s: float | None = None,
    limit: int | None = None,
    loop: bool = True,
    sink: ArticleSink | None = None,
) -> int:
    """Replay every seed file in turn (looping unless ``loop=False``); returns the count sent."""
    files = demo_files(settings.model.seed_data)
    rate = rate_per_s if rate_per_s is not None else settings.ingest.demo_rate_per_s
    watchlist = load_watchlist(settings.ingest.watchlist_file)
    own_sink = sink is None
    sink = sink or KafkaSink(settings.kafka, client_id="ingest-demo")
    sent, loop_pass = 0, 0
    try:
        while not stop.is_set():
            for path in files:
                left = None if limit is None else limit - sent
                if stop.is_set() or left == 0:
                    return sent
                replay = Replay(
                    path=path, sink=sink, source="demo", rate_per_s=rate, limit=left,
                    watchlist=watchlist, first_pass=loop_pass, stop=stop,
                )
                sent += replay.run()
                log.info("demo: replayed %s (%d so far)", path.name, sent)
            loop_pass += 1
            if not loop:
                break
    finally:
        if own_sink:
            sink.close()
    return sent
