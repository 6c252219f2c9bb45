"""The machine a figure came from: CPU model, the vector flags that decide inference paths,
and the cores this process may use. Every bench prints it beside its figures."""

from __future__ import annotations

import os
from pathlib import Path

FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def describe() -> str:
    model, flags = "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == "unknown CPU":
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    have = [f for f in FLAGS if f in flags] or ["none of " + ", ".join(FLAGS)]
    return f"{model}; {len(os.sched_getaffinity(0))} usable cores; flags: {' '.join(have)}"


if __name__ == "__main__":
    print(describe())
