"""Mutating a seed document one value at a time, for the fuzzers of files and messages."""

from __future__ import annotations

from typing import Any

import yaml

# Put where a value goes, then replaced by raw text after dumping (text no dumper would write).
YAML_HOLE = "fuzz-hole-9f3c"


def key_paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path into a document's mappings and lists (so nested fields get mutated too)."""
    out: list[tuple] = []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else []
    for key, value in items:
        out.append((*prefix, key))
        out.extend(key_paths(value, (*prefix, key)))
    return out


def mutate_yaml(seed_text: str, path: tuple, action: str, value: Any) -> str:
    """``seed_text`` with the value at ``path`` deleted, replaced, replaced by raw YAML text
    ("nasty"), or a key added beside it ("extra": ``value`` is (key, value))."""
    doc = yaml.safe_load(seed_text)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if action == "delete":
        del parent[path[-1]]
    elif action == "replace":
        parent[path[-1]] = value
    elif action == "nasty":
        parent[path[-1]] = YAML_HOLE
    elif isinstance(parent, dict):
        parent[value[0]] = value[1]
    else:
        parent.append(value[1])
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    return text.replace(YAML_HOLE, value) if action == "nasty" else text
