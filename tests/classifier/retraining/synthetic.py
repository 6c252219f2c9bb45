"""Synthetic headlines for retraining tests (written by us): seed data with unique texts that
never mention energy, and new articles that follow patterns the seed data lacks or has.

The champion trained on ``write_seed`` never predicts the topic "Energy / Oil" (id 6): a
systematic error that analyst labels on ``energy_texts`` can fix. ``earnings_texts`` follow the
seed's Earnings templates with new company names (for deliberately wrong labels).
"""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.synthetic import write_csv

SEED_COMPANIES = ["Acme Corp", "Globex", "Initech", "Umbrella Group", "Hooli", "Stark Industries",
                  "Wayne Enterprises", "Cyberdyne", "Tyrell", "Soylent", "Wonka Foods", "Oscorp"]
NEW_COMPANIES = ["Vandelay Industries", "Pied Piper", "Dunder Mifflin", "Prestige Worldwide",
                 "Bluth Company", "Massive Dynamic", "Gringotts", "Monarch Solutions",
                 "Nakatomi Trading", "Sirius Cybernetics", "Virtucon", "Zorg Industries",
                 "Aperture Labs", "Black Mesa", "Blue Sun", "Buy n Large", "Ollivanders",
                 "Krusty Brands", "Duff Beverages", "Kwik Trading"]
SENTIMENT = {
    0: ["{c} shares plunge after profit warning", "{c} stock tumbles as sales collapse",
        "{c} sinks on weak guidance, analysts cut targets", "{c} slumps after CEO quits",
        "{c} crashes as regulators open probe"],
    1: ["{c} shares soar after record profit", "{c} stock jumps on blowout results",
        "{c} rallies as analysts raise targets", "{c} surges after upbeat guidance",
        "{c} climbs to all-time high on strong demand"],
    2: ["{c} to hold annual shareholder meeting in May", "{c} schedules conference call",
        "{c} files routine paperwork with regulator", "{c} names new board secretary",
        "{c} moves headquarters to a new office"],
}
TOPIC = {
    5: ["{c} quarterly earnings per share beat estimates", "{c} reports third-quarter revenue",
        "{c} posts annual earnings in line with forecasts", "{c} quarterly profit per share misses"],
    1: ["Fed officials signal rates on hold, {c} economists say", "Central bank minutes weigh on {c}",
        "{c} strategists expect the Fed to cut interest rates", "ECB rate decision looms for {c}"],
    13: ["{c} agrees to acquire rival in cash deal", "{c} buys stake in startup for $2bn",
         "{c} to merge with peer in all-stock deal", "{c} bids for competitor in takeover"],
}
ENERGY = ["{c} raises oil output as crude prices climb", "{c} cuts drilling budget as Brent slides",
          "{c} signs liquefied natural gas supply contract", "{c} refinery restarts after outage"]
ENERGY_TOPIC, EARNINGS_TOPIC, DIVIDEND_TOPIC = 6, 5, 4


def _rows(pools: dict[int, list[str]], companies: list[str]) -> list[tuple[str, int]]:
    return [(t.format(c=c), label) for label, templates in pools.items()
            for t in templates for c in companies]


def write_seed(folder: Path, companies: int = 6) -> Path:
    """15 sentiment and 12 topic rows per company, every text unique, no energy story."""
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "sentiment_train.csv", _rows(SENTIMENT, SEED_COMPANIES[:companies]))
    write_csv(folder / "topic_train.csv", _rows(TOPIC, SEED_COMPANIES[:companies]))
    return folder


def energy_texts(companies: list[str] = NEW_COMPANIES) -> list[str]:
    return [t.format(c=c) for c in companies for t in ENERGY]


def earnings_texts(companies: list[str] = NEW_COMPANIES) -> list[str]:
    return [t.format(c=c) for c in companies for t in TOPIC[EARNINGS_TOPIC]]
