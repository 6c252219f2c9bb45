"""``finpulse doctor``: what this machine has, and which inference path serves the champion
here, and why. It reads files and flags only: no model is loaded."""

from __future__ import annotations

import importlib.metadata

import torch

from classifier import registry
from classifier.serving.paths import read_tuning, this_machine
from classifier.serving.precision import pick_device
from finpulse.errors import ConfigError
from finpulse.settings import Settings


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def report(settings: Settings, info: registry.VersionInfo | None) -> list[str]:
    cpu = this_machine("cpu")
    if torch.cuda.is_available():
        gpus = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    else:
        gpus = f"none (torch built for CUDA {torch.version.cuda or '-'})"
    m = settings.model
    lines = [f"CPU: {cpu.describe()}",
             f"GPU: {gpus}",
             f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
             f"onnxruntime {_version('onnxruntime')}, transformers {_version('transformers')}",
             f"settings: model.device {m.device}, model.runtime {m.runtime}, model.precision {m.precision}"]
    if info is None:
        return [*lines, "champion: none yet (`finpulse train`)"]
    try:
        device = pick_device(m.device)
        precision, runtime, reason = registry.serving_path(info.folder, device, m.precision, m.runtime)
    except ConfigError as exc:
        return [*lines, f"champion {info.version}: cannot serve here: {exc}"]
    try:
        tuned = sorted(read_tuning(info.folder)["machines"])
    except ValueError as exc:
        tuned = [f"unreadable ({exc})"]
    return [*lines,
            f"champion {info.version}: serves {runtime}:{precision} on {device}: {reason}",
            f"tuned on: {'; '.join(tuned) if tuned else 'no machine yet'}",
            f"this machine: {this_machine(device).key}"]
