"""The sources file (``config/sources.yaml``): what to crawl and how often.

``parse_sources`` validates a parsed document and raises one ``ConfigError`` that lists every
bad entry by index and name, so a user fixes the whole file in one go.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from finpulse.errors import ConfigError
from finpulse.messages import clip, listing, short

SourceType = Literal["feed", "sitemap", "page", "replay", "push"]


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    enabled: bool = True


class _Web(_Base):
    url: str
    # Seconds between polls in the continuous crawler.
    poll_s: float = Field(default=300.0, ge=1)
    max_items: int = Field(default=100, ge=1)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url must be an http(s) URL with a host, got {value!r}")
        return value.strip()


class FeedSource(_Web):
    type: Literal["feed"]
    # Fetch each item's page for the full text (else the feed's summary is the text).
    fetch_pages: bool = True
    # The zone of the feed's dates that carry no offset ("Monday, July 27, 2026 - 15:30"),
    # an IANA name such as Europe/London; without it they are read as UTC.
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {value!r} (an IANA name such as "
                                 "Europe/London)") from exc
        return value


class SitemapSource(_Web):
    type: Literal["sitemap"]
    poll_s: float = Field(default=900.0, ge=1)
    max_items: int = Field(default=50, ge=1)


class PageSource(_Web):
    type: Literal["page"]
    poll_s: float = Field(default=3600.0, ge=1)


class ReplaySource(_Base):
    type: Literal["replay"]
    path: Path
    rate_per_s: float | None = Field(default=None, gt=0)
    speed: float = Field(default=1.0, gt=0)
    timestamps: Literal["live", "shift"] = "live"
    loop: bool = False


class PushSource(_Base):
    type: Literal["push"]
    # Where to listen, e.g. http://127.0.0.1:8765/articles
    url: str
    max_body_bytes: int = Field(default=1_000_000, gt=0)

    @field_validator("url")
    @classmethod
    def _listen(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "http" or not parts.hostname or parts.port is None:
            raise ValueError(f"push url must be http://HOST:PORT/PATH to listen on, got {value!r}")
        return value


Source = Annotated[
    FeedSource | SitemapSource | PageSource | ReplaySource | PushSource,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[Source] = TypeAdapter(Source)
TYPES = ("feed", "sitemap", "page", "replay", "push")


def _entry_error(where: str, entry: object) -> str | None:
    if not isinstance(entry, dict):
        return f"{where}: expected a mapping with name, type and url/path, got {type(entry).__name__}"
    if entry.get("type") not in TYPES:
        return f"{where}: 'type' must be one of {', '.join(TYPES)} (got {short(entry.get('type'))})"
    return None


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc'][1:]) or '<entry>'}: {err['msg']}" for err in exc.errors()
    )


def parse_sources(data: object, *, origin: str, base_dir: Path | None = None) -> list[Source]:
    """Validate a parsed sources document; replay paths are resolved against ``base_dir``."""
    entries = data.get("sources") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f"{origin}: expected a top-level 'sources:' list")
    sources: list[Source] = []
    errors: list[str] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        label = entry.get("name") if isinstance(entry, dict) else None
        label = label if isinstance(label, str) else short(label) if label else None
        where = f"sources[{i}]" + (f" ({clip(label, 80)})" if label else "")
        problem = _entry_error(where, entry)
        if problem:
            errors.append(problem)
            continue
        try:
            source = _ADAPTER.validate_python(entry)
        except ValidationError as exc:
            errors.append(f"{where}: {_describe(exc)}")
            continue
        if source.name in seen:
            errors.append(f"{where}: duplicate name {source.name!r}")
            continue
        seen.add(source.name)
        if isinstance(source, ReplaySource) and base_dir and not source.path.is_absolute():
            source = source.model_copy(update={"path": base_dir / source.path})
        sources.append(source)
    if errors:
        raise ConfigError(listing(f"{origin}: {len(errors)} bad source(s)", errors))
    return sources


def load_sources(path: Path) -> list[Source]:
    """Read and validate a sources file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the sources file: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {clip(str(exc))}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: not valid YAML: nested too deeply") from exc
    except ValueError as exc:  # PyYAML's int() of a number with more than 4300 digits
        raise ConfigError(f"{path}: not valid YAML: {clip(str(exc))}") from exc
    return parse_sources(data, origin=str(path), base_dir=path.parent)
