"""Reading a rules file: YAML to a validated ``RuleSet``, with one precise message per
mistake (file, rule index and name, field, what is wrong) and never a traceback."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from alerts.rules import RuleSet
from finpulse.errors import ConfigError
from finpulse.messages import clip, listing, short


def parse_rules(text: str, *, source: str = "<rules>", receivers: Iterable[str] | None = None) -> RuleSet:
    """Parse and validate a rules document; ``ConfigError`` lists every mistake precisely."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {_yaml_problem(exc)}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{source}: not valid YAML: nested too deeply") from exc
    except ValueError as exc:  # PyYAML's int() of a number with more than 4300 digits
        raise ConfigError(f"{source}: not valid YAML: {clip(str(exc))}") from exc
    if doc is None:
        raise ConfigError(f"{source}: the file is empty (expected a mapping with a 'rules' list)")
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: expected a mapping with a 'rules' list, got {type(doc).__name__}")
    try:
        ruleset = RuleSet.model_validate(doc)
    except ValidationError as exc:
        raise ConfigError(_describe(source, doc, exc)) from exc
    if receivers is not None:
        _check_receivers(source, ruleset, set(receivers))
    return ruleset


def load_rules(path: Path, *, receivers: Iterable[str] | None = None) -> RuleSet:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: rules file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read rules file: {exc}") from exc
    return parse_rules(text, source=str(path), receivers=receivers)


def _check_receivers(source: str, ruleset: RuleSet, known: set[str]) -> None:
    problems = []
    for i, rule in enumerate(ruleset.rules):
        for name in rule.receivers or []:
            if name not in known:
                problems.append(
                    f"rules[{i}] ({rule.name}).receivers: unknown receiver {short(name)} "
                    f"(configured: {sorted(known) or 'none'})"
                )
    if problems:
        raise ConfigError(listing(f"{source}: {len(problems)} problem(s)", problems))


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"{clip(problem)} at line {mark.line + 1}, column {mark.column + 1}"
    return clip(problem)


def _describe(source: str, doc: dict[str, Any], exc: ValidationError) -> str:
    problems = [_one_error(doc, err) for err in exc.errors()]
    return listing(f"{source}: {len(problems)} problem(s)", problems)


def _one_error(doc: dict[str, Any], err: Any) -> str:
    loc = list(err["loc"])
    where = _where(doc, loc)
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown field (check the spelling)"
    elif err["type"] == "missing":
        msg = "required field is missing"
    elif "input" in err and err["type"] not in ("value_error", "model_type"):
        msg = f"{msg} (got {short(err['input'])})"
    return f"{where}: {msg}"


def _where(doc: dict[str, Any], loc: list[Any]) -> str:
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rule = (doc.get("rules") or [None])[loc[1]] if isinstance(doc.get("rules"), list) else None
        name = rule.get("name") if isinstance(rule, dict) else None
        label = name if isinstance(name, str) else short(name)
        head = f"rules[{loc[1]}]" + (f" ({clip(label, 80)})" if name else "")
        rest = [str(p) for p in loc[2:] if not str(p).startswith(("function-", "literal["))]
        return head + ("." + ".".join(rest) if rest else "")
    return ".".join(str(p) for p in loc) or "<root>"
