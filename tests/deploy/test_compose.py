"""docker-compose.yml can't be started here (no Docker engine), so it is kept correct by
construction: valid per the Compose specification, images pinned, every service command a real
`finpulse` subcommand, and the same commands `finpulse up` runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from compose_spec import PyCompose

from system.cli import build_parser

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def load_compose() -> dict:
    text = (REPO / "docker-compose.yml").read_text()
    # Compose interpolates ${VAR:-default} before validating; do the same with the defaults.
    text = INTERPOLATION.sub(lambda m: m.group(2) or "", text)
    return yaml.safe_load(text)  # resolves the YAML merge keys (<<: *finpulse)


def test_valid_per_compose_specification() -> None:
    PyCompose.from_json(json.dumps(load_compose())).validate()


def test_rejects_what_compose_would_reject() -> None:
    broken = load_compose()
    broken["services"]["sink"]["restart"] = "sometimes"
    with pytest.raises(ValueError, match="unknown variant `sometimes`"):
        PyCompose.from_json(json.dumps(broken)).validate()


def test_images_are_pinned() -> None:
    for name, svc in load_compose()["services"].items():
        image = svc["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: unpinned image {image}"


def test_every_command_is_a_real_finpulse_subcommand() -> None:
    parser = build_parser()
    services = load_compose()["services"]
    commands = {n: s["command"] for n, s in services.items() if s.get("image", "").startswith("finpulse")}
    assert set(commands) >= {"init", "sink", "classify", "alerts", "ingest", "dashboard"}
    for name, argv in commands.items():
        try:
            parser.parse_args(argv)
        except SystemExit as exc:  # argparse exits on unknown commands/options
            pytest.fail(f"service {name}: `finpulse {' '.join(argv)}` is not a valid command ({exc})")


def test_up_and_compose_run_the_same_parts() -> None:
    from system import up

    source = Path(up.__file__).read_text()
    started = set(re.findall(r'sup\.add\("(\w+)", part\("(\w+)"', source))
    services = load_compose()["services"]
    for name, command in started:
        assert services[name]["command"][0] == command, f"{name} differs from finpulse up"
    for name, svc in services.items():
        if svc.get("image", "").startswith("finpulse"):
            assert "healthcheck" in svc or name != "dashboard"
