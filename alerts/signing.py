"""Standard Webhooks signatures (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``:
HMAC-SHA256 with a ``whsec_``-prefixed base64 secret), made with the ``standardwebhooks``
library so any receiver using it verifies them."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks import Webhook

from finpulse.errors import ConfigError


def new_secret() -> str:
    """A fresh ``whsec_…`` secret (24 random bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def signed_headers(
    secret: str | None, webhook_id: str, body: str, now: datetime | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body`` (no signature without a secret)."""
    when = now or datetime.now(UTC)
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "content-type": "application/json",
    }
    if secret:
        try:
            headers["webhook-signature"] = Webhook(secret).sign(webhook_id, when, body)
        except Exception as exc:  # the library raises bare errors for bad base64 or empty keys
            raise ConfigError(f"webhook secret is not a valid whsec_ base64 secret: {exc}") from exc
    return headers
