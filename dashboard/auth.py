"""Optional access control, strongest configured wins:

1. OIDC through Streamlit's ``st.login`` when ``dashboard.oidc`` is set (the provider itself is
   configured in ``.streamlit/secrets.toml`` under ``[auth]``, as Streamlit requires);
2. else a shared password from ``dashboard.password``;
3. else open, with a visible notice (meant for localhost).

``gate`` returns True when the page may render; it records who the user is for labels, acks,
silences and promotions.
"""

from __future__ import annotations

import hmac

import streamlit as st

from dashboard.widgets import USER_KEY
from finpulse.settings import DashboardSettings

AUTH_KEY = "finpulse.authenticated"


def password_ok(given: str, expected: str) -> bool:
    """Constant-time comparison of the typed password with the configured one."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def gate(dash: DashboardSettings) -> bool:
    if dash.oidc:
        return _oidc()
    if dash.password is not None:
        return _password(dash.password.get_secret_value())
    st.sidebar.caption("Open access: no sign-in is configured (set `dashboard.password` or "
                       "`dashboard.oidc`). Keep this dashboard on localhost.")
    _name_picker()
    return True


def _oidc() -> bool:
    if not st.user.get("is_logged_in", False):
        st.title("finpulse")
        st.write("Sign in to see the dashboard.")
        st.button("Sign in", on_click=st.login, type="primary")
        return False
    st.session_state[USER_KEY] = str(st.user.get("email") or st.user.get("name") or "user")
    st.sidebar.caption(f"Signed in as {st.session_state[USER_KEY]}")
    st.sidebar.button("Sign out", on_click=st.logout)
    return True


def _password(expected: str) -> bool:
    if st.session_state.get(AUTH_KEY):
        _name_picker()
        return True
    st.title("finpulse")
    with st.form("login"):
        typed = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted and password_ok(typed, expected):
        st.session_state[AUTH_KEY] = True
        st.rerun()
    if submitted:
        st.error("Wrong password.")
    return False


def _name_picker() -> None:
    name = st.sidebar.text_input("Your name (recorded on labels and actions)",
                                 value=st.session_state.get(USER_KEY) or "analyst",
                                 key="finpulse.user_input")
    st.session_state[USER_KEY] = name.strip() or "analyst"
