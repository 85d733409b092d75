"""Event boundaries: where, inside its first and last active windows, an event starts and ends.

The conventions of :data:`sed.postprocessing.parameters.BOUNDARIES`: window extents, window
centres (:func:`sed.scores.centre_stretches`, also the row layout of score tables), and
boundaries refined on the signal level (:func:`level_activity`, :func:`grow_boundaries`).
"""

from __future__ import annotations

import numpy as np

from sed.params import YamnetParams
from sed.scores import centre_stretches

#: How far (in 10 ms frames) the level is smoothed before it is compared with the background.
LEVEL_SMOOTHING_FRAMES = 5
#: The local background level is this percentile of the level around each frame.
BACKGROUND_PERCENTILE = 10
#: Frames per block of the background level (0.1 s): the percentile filter runs on block means.
BACKGROUND_STEP_FRAMES = 10
#: The frame levels that ``refined`` boundaries read lie on YAMNet's STFT grid, which the window
#: hop does not change.
STFT_FRAMING = YamnetParams()


def onset_time(
    start: float, end: float, hop: float, convention: str, *, first_window: bool = False
) -> float:
    """Onset, in seconds, of an event whose first active window spans ``start`` to ``end``.

    ``extents``: the window's start; ``centres`` and ``refined``: the start of the window's
    stretch (:func:`sed.scores.centre_stretches`: half a ``hop`` before its centre, or 0 for the
    recording's first window).
    """
    if convention == "extents":
        return float(start)
    return float(centre_stretches(start, end, hop, first_window=first_window)[0][0])


def offset_time(start: float, end: float, hop: float, convention: str) -> float:
    """Offset, in seconds, of an event whose last active window spans ``start`` to ``end``.

    ``extents``: the window's end; ``centres`` and ``refined``: the end of the window's stretch
    (:func:`sed.scores.centre_stretches`: half a ``hop`` after its centre).
    """
    if convention == "extents":
        return float(end)
    return float(centre_stretches(start, end, hop)[1][0])


def level_activity(
    level_db: np.ndarray, background_seconds: float, *, first_frame: int = 0
) -> np.ndarray:
    """How far the smoothed level of each frame rises above its local background, in dB.

    Every value is computed from a fixed neighbourhood of frames only (a 5-frame mean, 0.1 s
    block means, a percentile over ``background_seconds`` of blocks, an interpolation between
    two block centres), with the same arithmetic wherever the neighbourhood lies; so a stretch
    of a longer recording, given with its context, has the same values as the recording
    computed whole (what the incremental :class:`EventStream` relies on; see
    :func:`activity_context_frames`).

    Parameters
    ----------
    level_db : np.ndarray [shape=(n_frames,)]
        Level of each 10 ms frame, in dB (:func:`sed.segmenter.frame_levels`).
    background_seconds : float > 0
        The background of a frame is the :data:`BACKGROUND_PERCENTILE` th percentile of the
        level over this many seconds centred on it (computed on 0.1 s steps, then
        interpolated), so a slowly changing background (wind, traffic, a forest at dawn) is
        followed.
    first_frame : int >= 0, a multiple of 10
        Index, in the whole recording, of the frame ``level_db[0]``: blocks and block centres
        are placed as in the whole recording. Values within :func:`activity_context_frames` of
        either end of a stretch that is not the recording's own end differ from the whole's.

    Returns
    -------
    activity : np.ndarray [shape=(n_frames,), dtype=float64]
        Smoothed level minus background, in dB.
    """
    from scipy.ndimage import percentile_filter

    level = _moving_average(np.asarray(level_db, dtype=np.float64), LEVEL_SMOOTHING_FRAMES)
    step = BACKGROUND_STEP_FRAMES  # the percentile filter runs on 0.1 s blocks
    if len(level) >= step:
        whole = level[: len(level) // step * step].reshape(-1, step)
        blocks = whole[:, 0].copy()
        for k in range(1, step):  # summed in a fixed order, block by block
            blocks += whole[:, k]
        blocks /= step
    else:
        blocks = level[:1]
    background = percentile_filter(
        blocks, BACKGROUND_PERCENTILE, size=background_blocks(background_seconds), mode="nearest"
    )
    centres = (first_frame // step + np.arange(len(background)) + 0.5) * step
    return level - np.interp(first_frame + np.arange(len(level)), centres, background)


def background_blocks(background_seconds: float) -> int:
    """Length of the background percentile filter, in blocks of :data:`BACKGROUND_STEP_FRAMES`."""
    return max(
        1,
        int(round(background_seconds / (BACKGROUND_STEP_FRAMES * STFT_FRAMING.stft_hop_seconds))),
    )


def activity_context_frames(background_seconds: float) -> int:
    """How many frames on each side the :func:`level_activity` of a frame depends on (at most).

    The frame's value reads the two block backgrounds around it; each background reads
    ``size // 2`` (or fewer) blocks on either side, each block its 10 frames and, through the
    5-frame mean, 2 more on each side. Counting generously: ``10 (size // 2 + 1) + 20``.
    """
    return BACKGROUND_STEP_FRAMES * (background_blocks(background_seconds) // 2 + 1) + 20


def _moving_average(values: np.ndarray, width: int) -> np.ndarray:
    """Centred mean of ``width`` (odd) values, edges repeated; each mean summed left to right."""
    half = width // 2
    padded = np.pad(values, half, mode="edge")
    total = padded[: len(values)].copy()
    for k in range(1, width):
        total += padded[k : k + len(values)]
    return total / width


def grow_boundaries(
    activity: np.ndarray, onset: float, offset: float, *, margin_db: float, reach_seconds: float
) -> tuple[float, float]:
    """Move an event's boundaries to where the signal rises above / falls to its background.

    Starting from the window-centre boundaries, the onset moves back (at most
    ``reach_seconds``) while the frames before it are more than ``margin_db`` above the local
    background, then forward past frames that are not; the offset likewise in the other
    direction. This places the boundaries where the sound emerges from and sinks back into the
    background, as annotators (and the "frames within x dB of the loudest" rule of generated
    soundscapes) do. If no frame of the event rises above the margin, the event is not visible
    in the level (a quiet sound the model still hears) and its boundaries are kept.

    The moves are those of :func:`walk_back` and :func:`walk_forward`, then, where the onset
    did not move back, the first active frame from the onset frame on (and likewise the last
    active frame up to the offset frame): :class:`EventStream` computes the same four numbers
    as the frames arrive.

    Parameters
    ----------
    activity : np.ndarray [shape=(n_frames,)]
        :func:`level_activity` of the recording, in dB.
    onset, offset : float
        ``centres`` boundaries, in seconds.
    margin_db : float >= 0
    reach_seconds : float >= 0

    Returns
    -------
    onset, offset : float
        In seconds; ``onset < offset``.
    """
    n = len(activity)
    if n == 0:
        return onset, offset
    first, last = frame_index(onset, n), frame_index(offset, n)
    active = activity > margin_db
    if last < first or not active[first : last + 1].any():
        return onset, offset
    reach = reach_frames(reach_seconds)
    start = walk_back(active, first, max(0, first - reach))
    if start == first:  # not moved back: the first active frame inside
        start = first + int(np.argmax(active[first:]))
    end = walk_forward(active, last, min(n - 1, last + reach))
    if end == last:  # not moved on: the last active frame inside
        end = last - int(np.argmax(active[last::-1]))
    return frame_span(start, end)


def frame_index(seconds: float, n_frames: int | None = None) -> int:
    """The 10 ms STFT frame whose centre is nearest to a time, at least 0 and, when
    ``n_frames`` is given, at most ``n_frames - 1``."""
    k = round((seconds - STFT_FRAMING.stft_frame_centre_seconds) / STFT_FRAMING.stft_hop_seconds)
    return int(np.clip(k, 0, n_frames - 1)) if n_frames is not None else max(0, int(k))


def reach_frames(reach_seconds: float) -> int:
    """``refine_reach_seconds`` in STFT frames."""
    return int(round(reach_seconds / STFT_FRAMING.stft_hop_seconds))


def walk_back(active, frame: int, limit: int, base: int = 0) -> int:
    """The earliest ``s >= limit`` such that frames ``s .. frame - 1`` are all active.

    ``active[i - base]`` tells whether frame ``i`` is active (``base``: the index of the first
    frame held, for a stream that keeps only recent frames).
    """
    start = frame
    while start > limit and active[start - 1 - base]:
        start -= 1
    return start


def walk_forward(active, frame: int, limit: int, base: int = 0) -> int:
    """The latest ``e <= limit`` such that frames ``frame + 1 .. e`` are all active."""
    end = frame
    while end < limit and active[end + 1 - base]:
        end += 1
    return end


def frame_span(start: int, end: int) -> tuple[float, float]:
    """Onset and offset, in seconds, of an event from frame ``start`` to frame ``end``: half a
    frame hop around their centres (the onset at least 0)."""
    half = STFT_FRAMING.stft_hop_seconds / 2
    return (
        max(
            0.0,
            STFT_FRAMING.stft_frame_centre_seconds + start * STFT_FRAMING.stft_hop_seconds - half,
        ),
        STFT_FRAMING.stft_frame_centre_seconds + end * STFT_FRAMING.stft_hop_seconds + half,
    )
