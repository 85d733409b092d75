"""What every benchmark script shares: where the data is, and the closing resource line."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

#: ``../shared/data`` beside the project folder; ``SED_SHARED_DATA`` names another place (a git
#: worktree has no ``../shared`` beside it).
DATA = Path(
    os.environ.get(
        "SED_SHARED_DATA", Path(__file__).resolve().parent.parent.parent / "shared" / "data"
    )
)
#: The development protocol of ``sed_dev``: tune on one half of a set's recordings, test on the
#: other, both ways round.
DIRECTIONS = (("even", "odd"), ("odd", "even"))


def halves(items: list) -> dict[str, list]:
    """The even- and odd-numbered recordings of a set (in sorted order)."""
    return {"even": items[0::2], "odd": items[1::2]}


def cpu_model() -> str:
    """The processor's name (``/proc/cpuinfo``), for the line every measured figure carries."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown CPU"


def machine() -> str:
    """CPU model, cores and the 1-minute load average: figures from a shared machine need them."""
    return f"{cpu_model()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}"


def print_resources(started: float) -> None:
    """Wall-clock time since ``started`` (``time.perf_counter()``), peak memory and the load
    average: timings on a shared machine mean little without the load."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{time.perf_counter() - started:.1f} s, peak memory {peak:.0f} MiB, "
        f"load average {os.getloadavg()[0]:.2f}"
    )


def false_positive_sources(estimated, reference, duration_seconds: float, counts=None):
    """Count, per estimated label, the 1 s segments where it is active but not annotated, keyed
    by the reference labels that are annotated there ("-" for none): which true sounds a label
    is mistaken for. ``estimated`` and ``reference`` are event tables of one recording.

    Returns ``counts``: a ``collections.Counter`` of ``(estimated label, reference labels)``.
    """
    import collections
    import math

    def active(table, second):
        inside = table[(table["onset"] < second + 1) & (table["offset"] > second)]
        return set(inside["event_label"])

    counts = collections.Counter() if counts is None else counts
    for second in range(math.ceil(duration_seconds)):
        truth = active(reference, second)
        for label in active(estimated, second) - truth:
            counts[(label, ",".join(sorted(truth)) or "-")] += 1
    return counts


def missed_events(estimated, reference, collar_seconds: float = 0.2):
    """Reference events (rows of ``reference``) that no estimated event of their label overlaps,
    even with ``collar_seconds`` of slack on both sides."""
    missed = []
    for _, event in reference.iterrows():
        same = estimated[estimated["event_label"] == event["event_label"]]
        if not (
            (same["onset"] < event["offset"] + collar_seconds)
            & (same["offset"] > event["onset"] - collar_seconds)
        ).any():
            missed.append(event)
    return missed
