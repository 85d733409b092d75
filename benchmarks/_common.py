"""What every benchmark script shares: where the data is, and the closing resource line."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def print_resources(started: float) -> None:
    """Wall-clock time since ``started`` (``time.perf_counter()``), peak memory and the load
    average: timings on a shared machine mean little without the load."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{time.perf_counter() - started:.1f} s, peak memory {peak:.0f} MiB, "
          f"load average {os.getloadavg()[0]:.2f}")
