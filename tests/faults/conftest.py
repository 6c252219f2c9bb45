"""The fault matrix borrows the alerts tests' webhook receiver and settings builder."""

from tests.alerts.conftest import alert_settings, receiver, receiver_server  # noqa: F401
