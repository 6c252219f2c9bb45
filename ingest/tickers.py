"""Tickers found in text: ``$CASHTAGS`` and the names and aliases of a watchlist.

Ingest fills ``Article.tickers`` when it shapes an article (``ingest/enrich.py``); downstream
parts read that field and never search text themselves. Pure functions on strings; the
watchlist file is read once at the entry point (``load_watchlist``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from finpulse.errors import ConfigError

# $AAPL, $BRK.B, $RDS-A; not "$5", "$3.2bn" (a cashtag starts with a letter).
CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z][A-Za-z]{0,5}(?:[.-][A-Za-z]{1,2})?)\b")


@dataclass(frozen=True)
class WatchItem:
    ticker: str
    names: tuple[str, ...]
    aliases: tuple[str, ...]


class Watchlist:
    """Case-aware matcher for watchlist names (case-insensitive) and aliases (exact case)."""

    def __init__(self, items: list[WatchItem]) -> None:
        self.items = items
        self._by_phrase: dict[str, str] = {}
        names, aliases = [], []
        for it in items:
            for n in it.names:
                self._by_phrase[n.lower()] = it.ticker
                names.append(re.escape(n))
            for a in it.aliases:
                self._by_phrase[a] = it.ticker
                aliases.append(re.escape(a))

        def by_len(xs: list[str]) -> list[str]:  # longest first
            return sorted(xs, key=len, reverse=True)

        self._names = re.compile(r"\b(" + "|".join(by_len(names)) + r")\b", re.I) if names else None
        self._aliases = re.compile(r"\b(" + "|".join(by_len(aliases)) + r")\b") if aliases else None

    def find(self, text: str) -> set[str]:
        found: set[str] = set()
        if self._names:
            found.update(self._by_phrase[m.group(1).lower()] for m in self._names.finditer(text))
        if self._aliases:
            found.update(self._by_phrase[m.group(1)] for m in self._aliases.finditer(text))
        return found


EMPTY_WATCHLIST = Watchlist([])


def cashtags(text: str) -> set[str]:
    return {m.group(1).upper() for m in CASHTAG.finditer(text)}


def find_tickers(text: str, watchlist: Watchlist = EMPTY_WATCHLIST) -> list[str]:
    """Sorted, de-duplicated tickers mentioned in ``text``."""
    return sorted(cashtags(text) | watchlist.find(text))


def parse_watchlist(data: object, *, origin: str) -> Watchlist:
    """Validate a parsed watchlist document; ``ConfigError`` names the bad entry."""
    if data is None:
        return EMPTY_WATCHLIST
    entries = data.get("watchlist") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ConfigError(f"{origin}: expected a list of entries under 'watchlist:'")
    items = []
    for i, entry in enumerate(entries):
        where = f"{origin}: watchlist[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("ticker"), str):
            raise ConfigError(f"{where}: each entry needs a 'ticker' string")
        unknown = set(entry) - {"ticker", "names", "aliases"}
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)} (allowed: ticker, names, aliases)")
        lists = {}
        for key in ("names", "aliases"):
            value = entry.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise ConfigError(f"{where} ({entry['ticker']}): '{key}' must be a list of strings")
            lists[key] = tuple(value)
        items.append(WatchItem(entry["ticker"].upper(), lists["names"], lists["aliases"]))
    return Watchlist(items)


def load_watchlist(path: Path) -> Watchlist:
    if not path.exists():
        return EMPTY_WATCHLIST
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return parse_watchlist(data, origin=str(path))
