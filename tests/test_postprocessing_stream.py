"""The incremental post-processing (EventStream) gives the events of detect_events, early.

``detect_events`` on the whole recording is the reference: the stream, fed the same window
scores and frame levels in pieces of any size, must give the same onsets, offsets and labels,
scores within 1e-6, whatever the configuration; and it must give most events before the end.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from sed.errors import ParameterError
from sed.params import YamnetParams
from sed.postprocessing import (
    EventStream,
    PostProcessing,
    activity_context_frames,
    detect_events,
    level_activity,
)
from sed.scores import ScoreGrid
from sed.segmenter import window_times

STFT_HOP_SAMPLES = 160
WINDOW_FRAMES = 96


def grid(n_windows: int, hop_frames: int):
    """Window times as sed.segmenter.window_times computes them, for any hop."""
    starts = np.arange(n_windows) * (hop_frames * STFT_HOP_SAMPLES) / 16000
    return starts, starts + WINDOW_FRAMES * STFT_HOP_SAMPLES / 16000


def random_recording(rng) -> tuple[ScoreGrid, bool]:
    """Scores with bursts (some on a coarse grid, to hit thresholds exactly), a level with
    loud stretches, and a length that may end inside the last windows."""
    n = int(rng.integers(1, 140))
    n_labels = int(rng.integers(1, 4))
    hop_frames = int(rng.choice([50, 48, 25, 96, 10]))
    starts, ends = grid(n, hop_frames)
    scores = rng.random((n, n_labels)) * rng.uniform(0, 0.6)
    for _ in range(int(rng.integers(0, 10))):
        k, a = rng.integers(0, n_labels), rng.integers(0, n)
        scores[a : a + rng.integers(1, 40), k] += rng.uniform(0.2, 0.8)
    scores = np.clip(scores, 0, 1).astype(np.float32)
    if rng.random() < 0.3:
        scores = np.round(scores * 4) / 4
    n_frames = WINDOW_FRAMES + (n - 1) * hop_frames
    levels = rng.normal(-40, 3, n_frames)
    for _ in range(int(rng.integers(0, 12))):
        a = rng.integers(0, n_frames)
        levels[a : a + rng.integers(1, 500)] += rng.uniform(3, 30)
    duration = max(0.01, float(ends[-1] - rng.uniform(0, min(hop_frames / 100, 0.96))))
    with_levels = bool(rng.random() < 0.85)
    labels = tuple(f"label{k}" for k in range(n_labels))
    window_scores = ScoreGrid(
        "x", starts, ends, scores, labels, duration,
        frame_level_db=levels.astype(np.float32) if with_levels else None,
    )  # fmt: skip
    return window_scores, with_levels


def random_config(rng, hop: float) -> PostProcessing:
    on = float(rng.choice([0.3, 0.5, 0.7]))
    return PostProcessing(
        mode=str(rng.choice(["multi", "top"])),
        threshold_on=on,
        threshold_off=float(on * rng.choice([1.0, 0.5, 0.8])) if rng.random() < 0.6 else None,
        median_filter_seconds=float(rng.choice([0, 0, 3 * hop, 5 * hop, 2.0])),
        min_duration_seconds=float(rng.choice([0, 0, 0.5, 1.5])),
        min_gap_seconds=float(rng.choice([0, 0, 0.5, 1.0, 3.0])),
        boundaries=str(rng.choice(["extents", "centres", "refined", "refined"])),
        refine_margin_db=float(rng.choice([3.0, 6.0])),
        refine_background_seconds=float(rng.choice([10.0, 2.0, 0.5])),
        refine_reach_seconds=float(rng.choice([2.5, 0.5, 0.0])),
        class_thresholds={"label0": float(rng.choice([0.2, 0.9]))} if rng.random() < 0.3 else {},
    )


def stream_in_pieces(window_scores: ScoreGrid, config, with_levels: bool, rng):
    """Push the windows, and the frame levels independently of them, in random pieces."""
    stream = EventStream(window_scores.labels, config, frame_levels=with_levels)
    n = len(window_scores)
    cuts = np.unique(np.r_[0, rng.integers(0, n + 1, int(rng.integers(0, n + 1))), n])
    levels = window_scores.frame_level_db
    if with_levels:  # as many pieces, cut elsewhere; the rest goes with the last windows
        inner = np.sort(rng.integers(0, len(levels) + 1, len(cuts) - 2))
        frame_cuts = np.r_[0, inner, len(levels)]
    events = []
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
        piece = levels[frame_cuts[i] : frame_cuts[i + 1]] if with_levels else None
        audio = min(window_scores.duration_seconds, float(window_scores.ends[b - 1]))
        events += stream.push(
            window_scores.scores[a:b],
            window_scores.starts[a:b],
            window_scores.ends[a:b],
            piece,
            audio_seconds=audio,
        )
    early = len(events)
    return events + stream.finish(window_scores.duration_seconds), early


def assert_same_events(table, events):
    expected = table.sort_values(["onset", "offset", "event_label"])
    got = sorted(events, key=lambda e: (e.onset, e.offset, e.event_label))
    assert [(e.onset, e.offset, e.event_label) for e in got] == [
        (row.onset, row.offset, row.event_label) for row in expected.itertuples()
    ]
    np.testing.assert_allclose([e.score for e in got], expected["score"], atol=1e-6)
    np.testing.assert_allclose([e.mean_score for e in got], expected["mean_score"], atol=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_the_stream_gives_the_events_of_the_whole_recording(seed):
    rng = np.random.default_rng(seed)
    early = total = 0
    for _ in range(100):
        window_scores, with_levels = random_recording(rng)
        config = random_config(rng, window_scores.hop_seconds)
        events, decided_early = stream_in_pieces(window_scores, config, with_levels, rng)
        assert_same_events(detect_events(window_scores, config), events)
        early, total = early + decided_early, total + len(events)
    assert total > 200  # the cases do have events


def test_events_are_given_out_as_soon_as_they_are_decided(rng):
    """One window at a time: most events come before the end, each soon after its last
    window for centres boundaries (no filter: the next window, plus the gap rule's bound)."""
    early = total = 0
    for _ in range(120):
        window_scores, with_levels = random_recording(rng)
        config = random_config(rng, window_scores.hop_seconds)
        stream = EventStream(window_scores.labels, config, frame_levels=with_levels)
        hop_frames = max(1, round(window_scores.hop_seconds * 100))
        levels = window_scores.frame_level_db
        for i in range(len(window_scores)):
            window = slice(i, i + 1)
            if with_levels:  # the frames that are complete with this window
                frames = slice(0 if i == 0 else WINDOW_FRAMES + (i - 1) * hop_frames,
                               WINDOW_FRAMES + i * hop_frames)  # fmt: skip
            got = stream.push(
                window_scores.scores[window],
                window_scores.starts[window],
                window_scores.ends[window],
                levels[frames] if with_levels else None,
                audio_seconds=min(window_scores.duration_seconds, window_scores.ends[i]),
            )
            early += len(got)
        total += len(stream.finish(window_scores.duration_seconds))
    assert early > total


def test_a_centres_event_is_decided_one_window_after_it_ends():
    scores = np.zeros((12, 1), np.float32)
    scores[3:6] = 0.9
    starts, ends = grid(12, 50)
    stream = EventStream(["dog"], PostProcessing(boundaries="centres"), frame_levels=False)
    decided_at = {}
    for i in range(12):
        for event in stream.push(scores[i : i + 1], starts[i : i + 1], ends[i : i + 1],
                                 audio_seconds=ends[i]):  # fmt: skip
            decided_at[(event.onset, event.offset)] = i
    # Windows 3-5 (centres 1.98-2.98 s): window 6 ends the run; the next run could start at
    # window 7 (onset 3.73 s) at the earliest, after the offset 3.23 s: decided with window 6.
    assert list(decided_at.values()) == [6]
    np.testing.assert_allclose(list(decided_at), [(1.73, 3.23)])


def test_activity_of_a_stretch_with_its_context_equals_the_whole():
    rng = np.random.default_rng(5)
    level = rng.normal(-40, 5, 6000)
    whole = level_activity(level, 10.0)
    context = activity_context_frames(10.0)
    first = 2000  # a multiple of the 10-frame block
    part = level_activity(level[first:4500], 10.0, first_frame=first)
    inner = slice(context, 2500 - context)
    np.testing.assert_array_equal(part[inner], whole[first:4500][inner])


def test_memory_stays_bounded_over_a_long_stream_and_long_events():
    """A label on for the whole stream and another flickering: the state does not grow."""

    def peak(n_windows: int) -> int:
        stream = EventStream(["on", "flicker"], PostProcessing(min_gap_seconds=1.0))
        rng = np.random.default_rng(0)
        tracemalloc.start()
        for first in range(0, n_windows, 200):
            starts, ends = window_times(200, YamnetParams(), first=first)
            scores = np.column_stack([np.full(200, 0.9), rng.random(200)]).astype(np.float32)
            levels = rng.normal(-40, 8, 200 * 50)
            stream.push(scores, starts, ends, levels, audio_seconds=ends[-1])
        size = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        stream.finish(float(ends[-1]))
        return size

    assert peak(24_000) < 1.3 * peak(2_400) + 100_000


def test_pushing_after_the_end_or_bad_shapes_are_errors():
    stream = EventStream(["dog", "cat"])
    with pytest.raises(ParameterError, match=r"shape \(n, 2\)"):
        stream.push(np.zeros((3, 1)), np.zeros(3), np.ones(3), audio_seconds=1.0)
    with pytest.raises(ParameterError, match="same number of windows"):
        stream.push(np.zeros((3, 2)), np.zeros(2), np.ones(3), audio_seconds=1.0)
    assert stream.finish(1.0) == []
    with pytest.raises(ParameterError, match="finished"):
        stream.push(np.zeros((1, 2)), np.zeros(1), np.ones(1), audio_seconds=1.0)
    with pytest.raises(ParameterError, match="'cow'"):
        EventStream(["dog"], PostProcessing(class_thresholds={"cow": 0.2}))
