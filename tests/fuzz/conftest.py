"""Hypothesis profiles for the fuzz tests, and the contract every error message must meet.

The default profile keeps all of tests/fuzz under about a minute on a small machine.
``FINPULSE_FUZZ_EXAMPLES=N`` runs N examples per test (scaled down for the slow targets), for a
long fuzzing session, e.g. ``FINPULSE_FUZZ_EXAMPLES=20000 pytest tests/fuzz``.

The settings are applied per test (``@fuzz(...)``) rather than loaded as the session's default
profile, so running the whole suite leaves every other hypothesis test as it was.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

ENV = "FINPULSE_FUZZ_EXAMPLES"
CI_EXAMPLES = 100
# An error message goes into logs and dead letters: it must stay short whatever the input.
MAX_MESSAGE_CHARS = 2000


def _examples() -> int:
    raw = os.environ.get(ENV)
    if not raw:
        return CI_EXAMPLES
    try:
        return max(1, int(raw))
    except ValueError:
        raise ValueError(f"{ENV} must be an integer number of examples, got {raw!r}") from None


EXAMPLES = _examples()
PROFILE = "finpulse-fuzz-long" if EXAMPLES != CI_EXAMPLES else "finpulse-fuzz-ci"
_COMMON = dict(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
settings.register_profile("finpulse-fuzz-ci", max_examples=CI_EXAMPLES, **_COMMON)
settings.register_profile("finpulse-fuzz-long", max_examples=EXAMPLES, **_COMMON)


def fuzz(scale: float = 1.0) -> settings:
    """The active profile with ``scale`` times its examples (slow targets get fewer)."""
    base = settings.get_profile(PROFILE)
    return settings(base, max_examples=max(1, round(base.max_examples * scale)))


def check_message(exc: BaseException, *names: str) -> str:
    """The message of ``exc``, asserting it is useful: non-empty, naming each of ``names`` (the
    input or model) and bounded in length."""
    message = str(exc)
    assert message.strip(), f"{type(exc).__name__} with an empty message"
    assert len(message) <= MAX_MESSAGE_CHARS, (
        f"{type(exc).__name__} message of {len(message)} characters: {message[:300]!r}…"
    )
    for name in names:
        assert name in message, f"{name!r} not named in {message[:500]!r}"
    return message
