"""The loop: a source run into a listener until the source ends or a stop is requested."""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sed.errors import AudioError
from sed.listen.records import record

if TYPE_CHECKING:
    from sed.listen.listener import Listener
    from sed.listen.signals import StopRequest


#: Seconds (wall clock) between two notes about lost samples.
WARN_EVERY_SECONDS = 10.0


@dataclass
class ListenSummary:
    """How a listening session went.

    Attributes
    ----------
    seconds : float
        Audio received, in seconds.
    decided : int
        Events (or stretches) given out.
    signum : int or None
        The signal that stopped it; None when the source ended.
    overflows, underflows : int
        Reported by the source (a sound card); 0 for streams.
    start_time : datetime.datetime or None
        Wall-clock time of the first sample.
    """

    seconds: float
    decided: int
    signum: int | None
    overflows: int = 0
    underflows: int = 0
    start_time: dt.datetime | None = None


def listen(
    source,
    listener: Listener,
    emit: Callable[[dict], None],
    *,
    stop: StopRequest | None = None,
    warn: Callable[[str], None] | None = None,
) -> ListenSummary:
    """Feed a source's blocks to a listener until the source ends or a stop is requested, and
    hand every decided event (or stretch) to ``emit`` as soon as it is decided.

    Whatever ends the listening (the end of the source, a stop request, a bad sample), the open
    events are closed and given out before this returns or raises.

    Parameters
    ----------
    source : PcmSource or DeviceSource
        Anything with ``blocks(stop)`` giving ``(n, channels)`` float32 blocks at the listener's
        rate, and ``overflows``/``underflows`` counters.
    listener : Listener
        Its ``start_time`` is set to the clock time of the first sample if it has none.
    emit : callable
        Receives each decided item as :func:`record` gives it.
    stop : StopRequest, optional
    warn : callable, optional
        Receives a line when the source reports new overflows or underflows: at the first, then
        at most every :data:`WARN_EVERY_SECONDS`.

    Returns
    -------
    summary : ListenSummary

    Raises
    ------
    AudioError
        If the source had no audio at all, or for a NaN sample (after the events before it).
    """
    warn = warn or (lambda line: None)
    decided, reported, reported_at = 0, (0, 0), -math.inf

    def give(items) -> None:
        nonlocal decided
        for item in items:
            emit(record(item, listener.start_time))  # type: ignore[arg-type]
            decided += 1

    try:
        for block in source.blocks(stop):
            if listener.start_time is None:  # the block's first sample was taken this long ago
                now = dt.datetime.now().astimezone()
                listener.start_time = now - dt.timedelta(seconds=len(block) / listener.sample_rate)
            try:
                decided_here = listener.push(block)
            except AudioError as error:  # a bad sample: say where the audio came from
                if error.path is not None:
                    raise
                raise AudioError(error.message, getattr(source, "name", None)) from None
            give(decided_here)
            counts = (source.overflows, source.underflows)
            if counts != reported and time.monotonic() - reported_at >= WARN_EVERY_SECONDS:
                warn(
                    f"input overflows: {counts[0]}, underflows: {counts[1]} so far (at "
                    f"{listener.seconds:.1f} s of audio): samples were lost"
                )
                reported, reported_at = counts, time.monotonic()
    finally:
        if listener.start_time is None:
            listener.start_time = dt.datetime.now().astimezone()
        if listener.samples_in:
            give(listener.finish())
    if not listener.samples_in and not (stop is not None and stop.requested):
        raise AudioError("no audio samples", getattr(source, "name", None))
    return ListenSummary(
        listener.seconds,
        decided,
        stop.signum if stop is not None else None,
        source.overflows,
        source.underflows,
        listener.start_time,
    )
