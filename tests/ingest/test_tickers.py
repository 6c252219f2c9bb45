from __future__ import annotations

from pathlib import Path

import pytest

from finpulse.errors import ConfigError
from ingest.tickers import find_tickers, load_watchlist, parse_watchlist

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]


def test_cashtags_are_found_and_prices_are_not() -> None:
    text = "$AAPL and $brk.b up; $5 coffee; costs $3.2bn; x$TSLA is not a tag; ($NVDA)"
    assert find_tickers(text) == ["AAPL", "BRK.B", "NVDA"]


def test_watchlist_names_and_aliases() -> None:
    wl = parse_watchlist(
        {"watchlist": [{"ticker": "gs", "names": ["Goldman Sachs"], "aliases": ["Goldman"]},
                       {"ticker": "C", "aliases": ["Citi"]}]},
        origin="test",
    )
    assert find_tickers("GOLDMAN SACHS cuts jobs", wl) == ["GS"]
    assert find_tickers("goldman is lowercase", wl) == []  # aliases are case-exact
    assert find_tickers("Citi and $JPM", wl) == ["C", "JPM"]
    assert find_tickers("Citizens Bank", wl) == []  # whole words only


def test_shipped_watchlist_loads() -> None:
    wl = load_watchlist(REPO / "config" / "watchlist.yaml")
    assert "JPM" in find_tickers("J.P. Morgan raises its target", wl)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"watchlist": "AAPL"}, "expected a list"),
        ({"watchlist": [{"names": ["Apple"]}]}, r"watchlist\[0\]: each entry needs a 'ticker'"),
        ({"watchlist": [{"ticker": "A", "nmes": []}]}, "unknown keys"),
        ({"watchlist": [{"ticker": "A", "names": "Apple"}]}, "'names' must be a list"),
    ],
)
def test_bad_watchlists_say_where(doc, message) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_watchlist(doc, origin="wl.yaml")
