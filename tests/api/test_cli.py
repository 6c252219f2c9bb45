"""``finpulse api keys create|list|revoke`` and the registration of ``finpulse api``."""

from __future__ import annotations

import json

import pytest

from system.cli import build_parser, main

pytestmark = pytest.mark.integration


def test_api_serves_by_default() -> None:
    args = build_parser().parse_args(["api", "--port", "8700"])
    assert args.port == 8700 and args.handler.__name__ == "_serve"
    args = build_parser().parse_args(["api", "keys", "create", "bot", "--scope", "read"])
    assert args.handler.__name__ == "_create" and args.scopes == ["read"]


def test_keys_create_list_revoke(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setenv("FINPULSE_DATABASE__URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("FINPULSE_VAR_DIR", str(tmp_path))
    assert main(["api", "keys", "create", "bot", "--scope", "read", "--scope", "label"]) == 0
    secret = capsys.readouterr().out.splitlines()[-1]
    assert secret.startswith("fp_")
    assert main(["api", "keys", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(k["name"], k["scopes"], k["state"]) for k in listed] == [("bot", ["label", "read"], "active")]
    assert secret not in json.dumps(listed)
    assert main(["api", "keys", "revoke", "bot"]) == 0
    assert main(["api", "keys", "list"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["api", "keys", "create", "bad", "--scope", "admin"]) == 2
    assert "unknown scope 'admin'" in capsys.readouterr().err
