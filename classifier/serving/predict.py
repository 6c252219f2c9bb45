"""``finpulse predict``: texts from the arguments, or JSON lines on stdin, to JSON lines."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from finpulse.errors import ConfigError


def parse_input_lines(lines: Iterable[str]) -> Iterator[str]:
    """Texts from JSON lines: a JSON string, or an object with "text" (or "title" + "text")."""
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise ConfigError(f"stdin line {n}: not JSON: {exc}") from exc
        if isinstance(obj, str):
            yield obj
        elif isinstance(obj, dict) and isinstance(obj.get("text") or obj.get("title"), str):
            parts = [obj.get("title") or "", obj.get("text") or ""]
            yield "\n".join(p for p in parts if p)
        else:
            raise ConfigError(f'stdin line {n}: expected a JSON string or an object with "text"')


def prediction_line(text: str, pred) -> str:  # finpulse.schemas.Prediction
    return json.dumps({
        "text": text, "topic": pred.topic, "topic_confidence": round(pred.topic_confidence, 4),
        "topic_probs": pred.topic_probs, "sentiment": pred.sentiment,
        "sentiment_confidence": round(pred.sentiment_confidence, 4),
        "sentiment_probs": pred.sentiment_probs, "sentiment_score": round(pred.sentiment_score, 4),
        "model_version": pred.model_version,
    })
