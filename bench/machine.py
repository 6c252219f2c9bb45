"""The machine a figure came from (``finpulse.machine``): every bench prints it beside its
figures. ``python bench/machine.py`` prints it alone."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from finpulse.machine import this_cpu


def describe() -> str:
    return this_cpu().describe()


if __name__ == "__main__":
    print(describe())
