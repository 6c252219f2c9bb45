"""Access control: a configured password keeps the pages closed until it is typed."""

from __future__ import annotations

import pytest

from tests.dashboard.conftest import assert_no_exception, texts

pytestmark = pytest.mark.integration


def test_password_gate(seeded, app_for) -> None:
    settings, _ = seeded
    at = app_for(settings, password="open-sesame")
    assert "Overview" not in [t.value for t in at.title]
    at.text_input[0].input("wrong")
    at.button[0].click().run()
    assert "Wrong password." in texts(at)
    at.text_input[0].input("open-sesame")
    at.button[0].click().run()
    assert_no_exception(at)
    assert "Overview" in [t.value for t in at.title]


def test_open_access_says_so(seeded, app_for) -> None:
    settings, _ = seeded
    at = app_for(settings)
    assert "Open access: no sign-in is configured" in texts(at)


def test_oidc_asks_to_sign_in(seeded, app_for) -> None:
    settings, _ = seeded
    at = app_for(settings, oidc=True)
    assert_no_exception(at)
    assert "Sign in to see the dashboard." in texts(at)
    assert "Overview" not in [t.value for t in at.title]


def test_oidc_signed_in_user_is_recorded(seeded, app_for) -> None:
    settings, _ = seeded
    at = app_for(settings, user={"is_logged_in": True, "email": "ana@example.com"}, oidc=True)
    assert_no_exception(at)
    assert "Overview" in [t.value for t in at.title]
    assert "Signed in as ana@example.com" in texts(at)
