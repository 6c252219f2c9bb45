"""Which inference path (runtime and precision) serves a model version on this machine.

A path's speed depends on the machine far more than on the model: on 2 cores of an AMX CPU
torch bf16 ran the default model 2.3x faster than ONNX Runtime fp32, on 2 AVX2 cores 6x slower.
So ``model.runtime: auto`` with ``model.precision: auto`` serves what ``finpulse models tune``
measured fastest among the faithful paths on a machine like this one (``tuning.json`` in the
version folder, one entry per machine). A machine with no entry gets a rule by its instruction
set until it is tuned; the worker logs which path it serves and why.

A machine is its CPU model, the instruction-set flags that decide inference paths, and the
cores this process may use (or the GPU's name): a figure measured on 16 cores says little
about 2.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from classifier.serving.onnx_runtime import onnx_available
from finpulse.machine import Machine, this_cpu

TUNING_FILE = "tuning.json"
FORMAT = "finpulse-tuning/1"
@dataclass(frozen=True)
class Choice:
    runtime: str
    precision: str
    reason: str

    @property
    def path(self) -> str:
        return f"{self.runtime}:{self.precision}"


def this_machine(device: str) -> Machine:
    if device == "cuda":
        return Machine("cuda", torch.cuda.get_device_name(0), frozenset(), 1)
    return this_cpu()


def rule(machine: Machine, *, onnx: bool | None = None) -> Choice:
    """The path for a machine nobody has tuned on, by its instruction set (figures:
    docs/performance.md and docs/experiments.md)."""
    if machine.device == "cuda":
        return Choice("torch", "fp32", "rule for GPUs: fp32 ran MiniLM 4-5x faster than bf16 or "
                                       "fp16 on an H200")
    if machine.flags & {"amx_bf16", "avx512_bf16"}:
        return Choice("torch", "bf16", "rule for CPUs with bf16 instructions: torch bf16 ran the "
                                       "default model 2.3x (AMX) and 1.3x (AVX-512 BF16) faster "
                                       "than ONNX Runtime fp32, within 0.5 accuracy points")
    if onnx if onnx is not None else onnx_available():
        return Choice("onnxruntime", "fp32", "rule for CPUs without bf16 instructions: ONNX Runtime fp32")
    return Choice("torch", "fp32", "rule for CPUs without bf16 instructions, onnxruntime not "
                                   "installed: torch fp32")


def read_tuning(folder: Path) -> dict[str, Any]:
    path = folder / TUNING_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"format": FORMAT, "machines": {}}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: unreadable tuning record: {exc}") from exc
    if data.get("format") != FORMAT or not isinstance(data.get("machines"), dict):
        raise ValueError(f"{path}: not a {FORMAT} file")
    return data


def recorded(folder: Path, machine: Machine) -> dict[str, Any] | None:
    """This machine's tuning entry in a version folder, or None."""
    try:
        return read_tuning(folder)["machines"].get(machine.key)
    except ValueError:
        return None  # a damaged record is as good as none: the rule serves, tune again


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    with open(folder / f".{TUNING_FILE}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def write_entry(folder: Path, machine: Machine, entry: dict[str, Any]) -> Path:
    """File ``entry`` under this machine, keeping other machines' entries (read, update and
    rename under a lock: workers on several machines may share one registry folder)."""
    path = folder / TUNING_FILE
    with _locked(folder):
        try:
            data = read_tuning(folder)
        except ValueError:
            data = {"format": FORMAT, "machines": {}}
        data["machines"][machine.key] = entry
        tmp = folder / f".{TUNING_FILE}.tmp"
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(path)
    return path


def choose(folder: Path, machine: Machine) -> Choice:
    """The recorded choice for this machine, else the rule."""
    entry = recorded(folder, machine)
    if entry and entry.get("choice"):
        runtime, precision = entry["choice"].split(":")
        return Choice(runtime, precision, f"measured fastest faithful path on this machine "
                                          f"({entry.get('measured_at', '?')}, {TUNING_FILE})")
    rule_choice = rule(machine)
    return Choice(rule_choice.runtime, rule_choice.precision,
                  f"{rule_choice.reason} (this machine is not tuned: `finpulse models tune`)")
