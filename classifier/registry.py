"""The model registry: a folder per version under ``settings.model.registry_dir`` plus a row in
the database (``store.queries.models``). Exactly one version is champion.

A version folder holds ``model.safetensors`` and ``config.json`` (the weights), the tokenizer
files, ``labels.json``, ``training_args.json``, ``metrics.json`` and ``manifest.json`` (training
data files with row counts and sha256, the base model's name and licence).
"""

from __future__ import annotations

import json
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from classifier.labels import label_maps
from finpulse.errors import ConfigError, FinpulseError
from finpulse.settings import Settings

META_FILES = ("labels.json", "training_args.json", "metrics.json", "manifest.json",
              "retrain_report.json")


class ModelNotFound(FinpulseError):
    """No such version or folder, or no champion yet."""


@dataclass(frozen=True)
class VersionInfo:
    version: str
    folder: Path


def new_version_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"m{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def _dump(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")


def write_version(
    registry_dir: Path,
    version: str,
    *,
    model,  # MultiTaskClassifier
    tokenizer,
    training_args: dict[str, Any],
    metrics: dict[str, Any],
    manifest: dict[str, Any],
) -> Path:
    """Write the version folder atomically (into a temporary sibling, then rename)."""
    folder = registry_dir / version
    tmp = registry_dir / f".{version}.tmp"
    if folder.exists():
        raise ConfigError(f"model folder {folder} already exists")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save(tmp)
    tokenizer.save_pretrained(str(tmp))
    _dump(tmp / "labels.json", label_maps())
    _dump(tmp / "training_args.json", training_args)
    _dump(tmp / "metrics.json", metrics)
    _dump(tmp / "manifest.json", {"version": version, **manifest})
    tmp.rename(folder)
    return folder


def read_meta(folder: Path) -> dict[str, Any]:
    """The JSON files of a version folder, keyed by name without '.json'."""
    return {
        name[:-5]: json.loads((folder / name).read_text(encoding="utf-8"))
        for name in META_FILES
        if (folder / name).is_file()
    }


def _sessions(settings: Settings):
    from store.db import session_factory

    return session_factory(settings.database)


def _db_error(exc: SQLAlchemyError) -> FinpulseError:
    return ConfigError(f"model registry database unavailable (run `finpulse db upgrade`?): {exc}")


def register(settings: Settings, version: str, folder: Path, *, base_model: str,
             metrics: dict[str, Any], promote: bool | None = None) -> bool:
    """Add the version's row; promote it when asked, or (promote=None) when there is no
    champion yet. Returns whether it became champion."""
    from store.queries import models as q

    try:
        with _sessions(settings).begin() as session:
            q.register_version(session, version=version, path=str(folder.resolve()),
                               base_model=base_model, metrics=metrics)
            if promote is None:
                promote = q.champion_version(session) is None
            if promote:
                q.promote(session, version, by="finpulse train")
            return promote
    except SQLAlchemyError as exc:
        raise _db_error(exc) from exc


def champion(settings: Settings) -> VersionInfo | None:
    from store.queries import models as q

    try:
        with _sessions(settings).begin() as session:
            row = q.champion(session)
            return VersionInfo(row.version, Path(row.path)) if row else None
    except SQLAlchemyError as exc:
        raise _db_error(exc) from exc


def champion_version(settings: Settings) -> str | None:
    from store.queries import models as q

    try:
        with _sessions(settings).begin() as session:
            return q.champion_version(session)
    except SQLAlchemyError as exc:
        raise _db_error(exc) from exc


def resolve(settings: Settings, version_or_dir: str | None = None) -> VersionInfo:
    """The champion (None), a registered version, or a version folder on disk."""
    from store.queries import models as q

    if version_or_dir is None:
        info = champion(settings)
        if info is None:
            raise ModelNotFound("no champion model yet: run `finpulse train` first")
        return info
    path = Path(version_or_dir).expanduser()
    if path.is_dir():
        if not (path / "model.safetensors").is_file():
            raise ModelNotFound(f"{path} is not a model version folder (no model.safetensors)")
        manifest = read_meta(path).get("manifest", {})
        return VersionInfo(manifest.get("version", path.name), path)
    try:
        with _sessions(settings).begin() as session:
            row = q.get_version(session, version_or_dir)
            return VersionInfo(row.version, Path(row.path))
    except q.RegistryError as exc:
        raise ModelNotFound(str(exc)) from exc
    except SQLAlchemyError as exc:
        raise _db_error(exc) from exc


def load_engine(settings: Settings, info: VersionInfo, **overrides: Any):
    """An ``Engine`` for a version, with the settings' device, precision, runtime and batch
    limits (each may be overridden by keyword)."""
    from transformers import AutoTokenizer

    from classifier.engine import Engine
    from classifier.model import MultiTaskClassifier
    from classifier.precision import intra_op_threads, pick_device, pick_parallel_batches, pick_precision, pick_runtime

    if not (info.folder / "model.safetensors").is_file():
        raise ModelNotFound(f"model {info.version}: folder {info.folder} has no weights")
    m = settings.model
    if m.threads:  # for torch here; ONNX Runtime's session takes it below
        import torch

        torch.set_num_threads(m.threads)
    device = pick_device(overrides.pop("device", m.device))
    precision = pick_precision(overrides.pop("precision", m.precision), device)
    runtime = pick_runtime(overrides.pop("runtime", m.runtime), device, precision)
    parallel = pick_parallel_batches(overrides.pop("parallel_batches", m.parallel_batches), runtime, device)
    opts = {
        "max_length": m.max_length, "max_batch_tokens": m.max_batch_tokens,
        "max_batch_size": m.max_batch_size, "precision": precision, "device": device,
        "runtime": runtime, "parallel_batches": parallel, **overrides,
    }
    model = MultiTaskClassifier.from_folder(info.folder)
    tokenizer = AutoTokenizer.from_pretrained(str(info.folder))
    if runtime == "onnxruntime":
        from classifier.onnx_runtime import OrtRunner, ensure_onnx

        opts["runner"] = OrtRunner(ensure_onnx(info.folder, precision, model),
                                   threads=intra_op_threads(m.threads, parallel))
    return Engine(model, tokenizer, version=info.version, **opts)


def _with_session(settings: Settings, fn):
    from store.queries import models as q

    try:
        with _sessions(settings).begin() as session:
            return fn(session)
    except q.RegistryError as exc:
        raise ModelNotFound(str(exc)) from exc
    except SQLAlchemyError as exc:
        raise _db_error(exc) from exc


def _row_dict(row) -> dict[str, Any]:  # store.models.ModelVersion
    return {"version": row.version, "path": row.path, "base_model": row.base_model,
            "created_at": row.created_at, "metrics": row.metrics, "is_champion": row.is_champion,
            "status": row.status, "notes": row.notes}


def list_rows(settings: Settings) -> list[dict[str, Any]]:
    from store.queries import models as q

    return _with_session(settings, lambda s: [_row_dict(r) for r in q.list_versions(s)])


def show(settings: Settings, version: str) -> dict[str, Any]:
    """The registry row plus its shadow runs and the folder's metrics, manifest, labels and
    training arguments."""
    from store.queries import models as q
    from store.queries.shadow import run_history

    row = _with_session(settings, lambda s: {**_row_dict(q.get_version(s, version)),
                                             "shadow_runs": run_history(s, version=version)})
    return {**row, "folder": read_meta(Path(row["path"]))}


def promote(settings: Settings, version: str, by: str = "finpulse models promote") -> str | None:
    from store.queries import models as q

    return _with_session(settings, lambda s: q.promote(s, version, by=by))


def rollback(settings: Settings, by: str = "finpulse models rollback") -> tuple[str, str]:
    from store.queries import models as q

    return _with_session(settings, lambda s: q.rollback(s, by=by))


def shadow_version(settings: Settings) -> str | None:
    from store.queries import models as q

    return _with_session(settings, q.shadow_version)


def start_shadow(settings: Settings, version: str, *, promote_after: bool = False,
                 by: str = "finpulse models shadow") -> dict[str, Any]:
    """Put ``version`` in shadow beside the champion; returns the run as a plain row."""
    from store.queries import models as q
    from store.queries.shadow import RUN_COLUMNS

    def start(session) -> dict[str, Any]:
        run = q.start_shadow(session, version, by=by, promote_after=promote_after)
        return {c: getattr(run, c) for c in RUN_COLUMNS}

    return _with_session(settings, start)


def stop_shadow(settings: Settings, by: str = "finpulse models shadow --stop") -> str | None:
    from store.queries import models as q

    return _with_session(settings, lambda s: q.stop_shadow(s, by=by))


def shadow_report(settings: Settings, now: datetime | None = None) -> dict[str, Any] | None:
    """The open shadow run, its progress through the shadow period and the two models'
    agreement; None when no challenger is in shadow."""
    from store.queries import shadow as sq
    from store.queries.models import shadow_run

    def read(session) -> dict[str, Any] | None:
        m = settings.model
        status = sq.shadow_status(session, min_minutes=m.shadow_min_minutes,
                                  min_articles=m.shadow_min_articles, now=now or datetime.now(UTC))
        if status is None:
            return None
        return {**status, "agreement": sq.agreement(session, sq.Pair.of(shadow_run(session)))}

    return _with_session(settings, read)
