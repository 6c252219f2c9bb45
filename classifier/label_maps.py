"""Label maps of the two heads (ids as in the seed data README)."""

from __future__ import annotations

from finpulse.schemas import SENTIMENTS, TOPICS

TASKS: tuple[str, ...] = ("topic", "sentiment")
LABELS: dict[str, tuple[str, ...]] = {"topic": TOPICS, "sentiment": SENTIMENTS}
IGNORE = -100  # a missing label: contributes no loss


def label_maps() -> dict[str, dict[str, str]]:
    """``{"topic": {"0": "Analyst Update", ...}, "sentiment": {...}}`` for the version folder."""
    return {task: {str(i): name for i, name in enumerate(names)} for task, names in LABELS.items()}
