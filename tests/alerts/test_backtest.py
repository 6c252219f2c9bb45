"""``finpulse alerts backtest`` replays stored history (written by the store's own sink code)
through the live engine's rules and finds the burst."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.backtest import backtest
from alerts.rulefile import parse_rules
from store.db import session_factory
from store.queries.alerts import classified_history
from store.writes import write_classified
from system.cli import main
from tests.alerts.factory import classified
from tests.conftest import write_settings_file

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
RULES = """
rules:
  - name: bearish-burst
    scope: ticker
    metric: bearish_share
    novel_only: true
    window: 15m
    bucket: 1m
    min_count: 5
    detector: {above: 0.6, clear: 0.3}
    for: 2m
  - name: volume
    scope: overall
    metric: count
    window: 10m
    detector: {type: zscore, above: 4, baseline: 1h}
"""


def history() -> list:
    msgs = []
    for i in range(60):  # two quiet hours, mixed tickers and moods
        when = T0 + timedelta(minutes=2 * i)
        msgs.append(classified(sentiment=["neutral", "bullish", "bearish"][i % 3],
                               tickers=(["JPM", "BAC", "XOM"][i % 3],), published=when))
    for i in range(8):  # the burst: 8 bearish JPM stories in 4 minutes, an hour in
        msgs.append(classified(sentiment="bearish", tickers=("JPM",), title=f"JPM fined {i}",
                               published=T0 + timedelta(minutes=61, seconds=30 * i)))
    return msgs


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_backtest_finds_the_burst(db: str, request, make_settings, migrated, tmp_path: Path,
                                  monkeypatch, capsys) -> None:
    url = request.getfixturevalue(f"{db}_url")
    settings = migrated(make_settings(database_url=url))
    sessions = session_factory(settings.database)
    with sessions.begin() as s:
        write_classified(s, history(), datetime.now(UTC))
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(RULES, encoding="utf-8")

    with sessions() as s:
        found = backtest(parse_rules(RULES), classified_history(s))
    fired = [f for f in found if f.kind == "firing"]
    # the bearish burst on JPM, and the volume spike it makes overall; nothing while the
    # volume baseline was still unknown at the start of the history
    assert sorted((f.rule, f.key) for f in fired) == [("bearish-burst", "JPM"), ("volume", "*")], found
    for f in fired:
        assert T0 + timedelta(minutes=61) <= f.at <= T0 + timedelta(minutes=68)
        assert f.top_headline.startswith("JPM fined")
    assert any(f.kind == "resolved" and f.key == "JPM" for f in found)

    monkeypatch.setenv("FINPULSE_CONFIG", str(write_settings_file(settings, tmp_path / "s.yaml")))
    assert main(["alerts", "backtest", "--rules", str(rules_file), "--since", T0.isoformat()]) == 0
    out = capsys.readouterr().out
    assert re.search(r"2026-03-02 13:0\d:\d\dZ  firing    bearish-burst  key=JPM", out), out
    assert "2 alert(s) would have fired" in out
    assert main(["alerts", "backtest", "--rules", str(rules_file), "--since",
                 (T0 + timedelta(hours=3)).isoformat()]) == 0
    assert "0 alert(s) would have fired" in capsys.readouterr().out
    assert main(["alerts", "backtest", "--rules", str(rules_file), "--since", "yesterday"]) == 2
