"""Devices and numeric precision: pick the device, and prepare a model for fp32, bf16
autocast, fp16/bf16 on CUDA, or int8 dynamic quantisation on CPU."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import partial

import torch

from classifier.serving.onnx_runtime import ORT_PRECISIONS, onnx_available
from finpulse.errors import ConfigError
from finpulse.machine import available_cpus

CPU_PRECISIONS = ("fp32", "bf16", "int8")
CUDA_PRECISIONS = ("fp32", "fp16", "bf16")


def pick_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("model.device is 'cuda' but no CUDA device is available")
    return device


def cpu_has_bf16() -> bool:
    try:
        flags = open("/proc/cpuinfo", encoding="ascii", errors="replace").read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def pick_precision(precision: str, device: str) -> str:
    """Resolve ``auto`` to the path measured fastest while staying within 0.5 accuracy points of
    fp32 (see docs/experiments.md): fp32 on CUDA as on CPU."""
    if device == "cuda":
        if precision == "auto":
            return AUTO_CUDA_PRECISION
        if precision not in CUDA_PRECISIONS:
            raise ConfigError(f"model.precision {precision!r} is not available on CUDA ({CUDA_PRECISIONS})")
        return precision
    if precision == "auto":
        return AUTO_CPU_PRECISION
    if precision not in CPU_PRECISIONS:
        raise ConfigError(f"model.precision {precision!r} is not available on CPU ({CPU_PRECISIONS})")
    return precision


# Measured on the dev split (docs/experiments.md, "Inference precision", "E4" and
# "E5"): ONNX int8, with the lowest two layers kept in fp32, is ~1.25x faster and within 0.5
# accuracy points of fp32 on the default model, but its labels depend on the batch (dynamic
# quantisation scales activations per batch); bf16 autocast is many times slower than fp32 on
# these AVX2 CPUs. So auto = fp32; int8 is an explicit choice.
AUTO_CPU_PRECISION = "fp32"
# Measured on an H200 (docs/experiments.md, "GPU"): the network ran 4-5x faster in fp32 than with the
# model cast to bf16 or fp16 (14,074 against 2,560 / 2,388 texts/s in batches of 64). MiniLM is
# small enough that the half-precision casts and kernels cost more than they save.
AUTO_CUDA_PRECISION = "fp32"


RUNTIMES = ("torch", "onnxruntime")


def pick_runtime(runtime: str, device: str, precision: str) -> str:
    """Resolve ``auto``: ONNX Runtime on CPU for fp32 and int8 when it is installed (it ran the
    same network faster than torch here: docs/experiments.md), torch otherwise."""

    if runtime == "auto":
        fits = device == "cpu" and precision in ORT_PRECISIONS and onnx_available()
        return "onnxruntime" if fits else "torch"
    if runtime == "onnxruntime":
        if device != "cpu":
            raise ConfigError("model.runtime 'onnxruntime' runs on the CPU only: set model.device: cpu")
        if precision not in ORT_PRECISIONS:
            raise ConfigError(f"model.runtime 'onnxruntime' supports precision {ORT_PRECISIONS}, "
                              f"not {precision!r}")
        if not onnx_available():
            raise ConfigError("model.runtime is 'onnxruntime' but the onnxruntime package is not installed")
    elif runtime not in RUNTIMES:
        raise ConfigError(f"model.runtime must be auto or one of {RUNTIMES}, got {runtime!r}")
    return runtime


def pick_parallel_batches(setting: int, runtime: str, device: str) -> int:
    """Resolve ``model.parallel_batches`` 0 (auto): two sub-batches at once, each on half the
    cores, on a CPU of two or more cores, else one. On 2 cores two 1-thread runs beat one
    2-thread run with both runtimes: a small network's MatMuls parallelise poorly within an
    operator, and in the worker a 2-thread torch run loses most when Kafka and the tokenizer
    take a core (docs/experiments.md "E9" and "E12")."""
    if setting:
        return setting
    return 2 if device == "cpu" and available_cpus() >= 2 else 1


def intra_op_threads(threads: int, parallel: int) -> int:
    """Threads for each of ``parallel`` concurrent runs, from ``model.threads`` (0: the
    runtime's own choice when one run at a time, else the CPU count shared out)."""
    if parallel <= 1:
        return threads
    return max(1, (threads or available_cpus()) // parallel)


def _quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """Dynamic int8 quantisation of the Linear layers (weights int8, activations quantised on
    the fly). torch.ao marks it deprecated in favour of torchao, but it is still shipped and is
    the dependency-free path."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        # Imported here, inside the filter: importing torch.ao.quantization itself warns.
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8)


def prepare_model(
    model: torch.nn.Module, precision: str, device: torch.device
) -> tuple[torch.nn.Module, Callable[[], AbstractContextManager] | None]:
    """The model to run (moved, cast or quantised) and an autocast factory (or None)."""
    model = model.eval()
    if device.type == "cuda":
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision)
        model = model.to(device)
        return (model.to(dtype) if dtype else model), None
    if precision == "int8":
        return _quantize_int8(model), None
    if precision == "bf16":
        return model, partial(torch.autocast, "cpu", dtype=torch.bfloat16)
    return model, None
