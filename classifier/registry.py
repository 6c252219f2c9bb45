"""The model registry: a folder per version under ``settings.model.registry_dir`` plus a row in
the database (``store.queries.model_versions``). Exactly one version is champion.

A version folder holds ``model.safetensors`` and ``config.json`` (the weights), the tokenizer
files, ``labels.json``, ``training_args.json``, ``metrics.json`` and ``manifest.json`` (training
data files with row counts and sha256, the base model's name and licence).
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from classifier.label_maps import label_maps
from finpulse.errors import ConfigError, FinpulseError
from finpulse.settings import Settings
from store.db import session_factory
from store.queries import model_versions as q
from store.queries import shadow as sq

META_FILES = ("labels.json", "training_args.json", "metrics.json", "manifest.json",
              "retrain_report.json")


log = logging.getLogger(__name__)
T = TypeVar("T")


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


def _db_error(exc: SQLAlchemyError) -> FinpulseError:
    return ConfigError(f"model registry database unavailable (run `finpulse db upgrade`?): {exc}")


def in_transaction(settings: Settings, fn: Callable[[Session], T]) -> T:
    """Every registry call (here, in retraining and in the shadow trigger) runs ``fn`` in one
    transaction through this helper; a missing version becomes
    ``ModelNotFound``, an unreachable database a ``ConfigError`` naming the fix."""
    try:
        with session_factory(settings.database).begin() as session:
            return fn(session)
    except q.RegistryError as exc:
        raise ModelNotFound(str(exc)) from exc
    except SQLAlchemyError as exc:
        raise _db_error(exc) from exc


def register(settings: Settings, version: str, folder: Path, *, base_model: str,
             metrics: dict[str, Any], promote: bool | None = None) -> bool:
    """Add the version's row; promote it when asked, or (promote=None) when there is no
    champion yet. Returns whether it became champion."""

    def add(session) -> bool:
        q.register_version(session, version=version, path=str(folder.resolve()),
                           base_model=base_model, metrics=metrics)
        champion_now = promote if promote is not None else q.champion_version(session) is None
        if champion_now:
            q.promote(session, version, by="finpulse train")
        return champion_now

    return in_transaction(settings, add)


def champion(settings: Settings) -> VersionInfo | None:
    row = in_transaction(settings, q.champion)  # sessions keep rows readable after commit
    return VersionInfo(row.version, Path(row.path)) if row else None


def champion_version(settings: Settings) -> str | None:
    return in_transaction(settings, q.champion_version)


def resolve(settings: Settings, version_or_dir: str | None = None) -> VersionInfo:
    """The champion (None), a registered version, or a version folder on disk."""
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
    row = in_transaction(settings, lambda s: q.get_version(s, version_or_dir))
    return VersionInfo(row.version, Path(row.path))


def load_engine(settings: Settings, info: VersionInfo, **overrides: Any):
    """An ``InferenceEngine`` for a version, with the settings' device, precision, runtime and batch
    limits (each may be overridden by keyword). torch and transformers are imported here, not
    at the top: the registry's other commands (``finpulse models list``) must not pay seconds
    for them."""
    from transformers import AutoTokenizer

    from classifier.model.network import MultiTaskClassifier
    from classifier.serving.inference import InferenceEngine
    from classifier.serving.precision import intra_op_threads, pick_device, pick_parallel_batches

    if not (info.folder / "model.safetensors").is_file():
        raise ModelNotFound(f"model {info.version}: folder {info.folder} has no weights")
    m = settings.model
    device = pick_device(overrides.pop("device", m.device))
    precision, runtime, reason = serving_path(info.folder, device, overrides.pop("precision", m.precision),
                                               overrides.pop("runtime", m.runtime))
    parallel = pick_parallel_batches(overrides.pop("parallel_batches", m.parallel_batches), runtime, device)
    threads = intra_op_threads(m.threads, parallel)  # for each of the runs at once
    if threads and runtime == "torch" and device == "cpu":
        import torch

        torch.set_num_threads(threads)  # process-wide: every torch engine here runs this way
    opts = {
        "max_length": m.max_length, "max_batch_tokens": m.max_batch_tokens,
        "max_batch_size": m.max_batch_size, "precision": precision, "device": device,
        "runtime": runtime, "parallel_batches": parallel, **overrides,
    }
    model = MultiTaskClassifier.from_folder(info.folder)
    tokenizer = AutoTokenizer.from_pretrained(str(info.folder))
    if runtime == "onnxruntime":
        from classifier.serving.onnx_runtime import OrtRunner, ensure_onnx

        opts["runner"] = OrtRunner(ensure_onnx(info.folder, precision, model), threads=threads)
    return InferenceEngine(model, tokenizer, version=info.version, path_reason=reason, **opts)


def serving_path(folder: Path, device: str, precision: str, runtime: str) -> tuple[str, str, str]:
    """(precision, runtime, why): both ``auto`` serve what was measured on this machine (or the
    rule for it); a path set in the settings is served as set."""
    from classifier.serving.paths import choose, rule, this_machine
    from classifier.serving.precision import pick_precision, pick_runtime

    if precision == "auto" and runtime == "auto":
        machine = this_machine(device)
        choice = choose(folder, machine)
        try:
            return (pick_precision(choice.precision, device),
                    pick_runtime(choice.runtime, device, choice.precision), choice.reason)
        except ConfigError as exc:  # e.g. recorded with onnxruntime, which is not installed now
            log.warning("the recorded path %s cannot serve here (%s); the rule serves", choice.path, exc)
            choice = rule(machine)
            return choice.precision, choice.runtime, choice.reason
    precision = pick_precision(precision, device)
    return precision, pick_runtime(runtime, device, precision), "set in model.precision / model.runtime"



def _row_dict(row) -> dict[str, Any]:  # store.tables.ModelVersion
    return {"version": row.version, "path": row.path, "base_model": row.base_model,
            "created_at": row.created_at, "metrics": row.metrics, "is_champion": row.is_champion,
            "status": row.status, "notes": row.notes}


def list_rows(settings: Settings) -> list[dict[str, Any]]:
    return in_transaction(settings, lambda s: [_row_dict(r) for r in q.list_versions(s)])


def show(settings: Settings, version: str) -> dict[str, Any]:
    """The registry row plus its shadow runs and the folder's metrics, manifest, labels and
    training arguments."""

    row = in_transaction(settings, lambda s: {**_row_dict(q.get_version(s, version)),
                                             "shadow_runs": sq.run_history(s, version=version)})
    return {**row, "folder": read_meta(Path(row["path"]))}


def promote(settings: Settings, version: str, by: str = "finpulse models promote") -> str | None:
    return in_transaction(settings, lambda s: q.promote(s, version, by=by))


def rollback(settings: Settings, by: str = "finpulse models rollback") -> tuple[str, str]:
    return in_transaction(settings, lambda s: q.rollback(s, by=by))


def shadow_version(settings: Settings) -> str | None:
    return in_transaction(settings, q.shadow_version)


def start_shadow(settings: Settings, version: str, *, promote_after: bool = False,
                 by: str = "finpulse models shadow") -> dict[str, Any]:
    """Put ``version`` in shadow beside the champion; returns the run as a plain row."""
    def start(session) -> dict[str, Any]:
        run = q.start_shadow(session, version, by=by, promote_after=promote_after)
        return {c: getattr(run, c) for c in sq.RUN_COLUMNS}

    return in_transaction(settings, start)


def stop_shadow(settings: Settings, by: str = "finpulse models shadow --stop") -> str | None:
    return in_transaction(settings, lambda s: q.stop_shadow(s, by=by))


def shadow_report(settings: Settings, now: datetime | None = None) -> dict[str, Any] | None:
    """The open shadow run, its progress through the shadow period and the two models'
    agreement; None when no challenger is in shadow."""

    def read(session) -> dict[str, Any] | None:
        m = settings.model
        status = sq.shadow_status(session, min_minutes=m.shadow_min_minutes,
                                  min_articles=m.shadow_min_articles, now=now or datetime.now(UTC))
        if status is None:
            return None
        return {**status, "agreement": sq.agreement(session, sq.Pair.of(q.shadow_run(session)))}

    return in_transaction(settings, read)
