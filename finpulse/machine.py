"""The machine a process runs on: the CPU model, the instruction-set flags that decide which
inference path is fastest, and the cores this process may use. Benchmarks print it beside
their figures; the classifier files its path measurements under it (``Machine.key``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# Wide vectors, int8 dot products, bf16 dot products and the AMX tile units.
ISA_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


@dataclass(frozen=True)
class Machine:
    device: str  # "cpu" or "cuda"
    name: str  # CPU model or GPU name
    flags: frozenset[str]
    cores: int

    @property
    def key(self) -> str:
        """What a measurement on this machine is filed under."""
        if self.device == "cuda":
            return f"cuda|{self.name}"
        return f"cpu|{self.name}|{'+'.join(f for f in ISA_FLAGS if f in self.flags)}|{self.cores} cores"

    def describe(self) -> str:
        if self.device == "cuda":
            return f"GPU {self.name}"
        have = " ".join(f for f in ISA_FLAGS if f in self.flags) or "none of " + ", ".join(ISA_FLAGS)
        return f"{self.name}; {self.cores} usable cores; flags: {have}"


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, which containers narrow), else the count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def read_cpuinfo(text: str | None = None) -> tuple[str, frozenset[str]]:
    """The CPU model and its ISA flags from ``/proc/cpuinfo`` (or ``text``)."""
    if text is None:
        try:
            text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
        except OSError:
            text = ""
    model, flags = "unknown CPU", frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and model == "unknown CPU":
            model = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = frozenset(value.split()) & frozenset(ISA_FLAGS)
    return model, flags


def this_cpu() -> Machine:
    model, flags = read_cpuinfo()
    return Machine("cpu", model, flags, available_cpus())
