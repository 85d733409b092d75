"""Window scores to events: the top-class mode."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from sed.errors import ParameterError
from sed.events import EVENT_COLUMNS
from sed.postprocessing import (
    ClassThreshold,
    PostProcessing,
    centre_stretches,
    detect_events,
    grow_boundaries,
    level_activity,
    load_config,
    median_filter,
    median_filter_windows,
    read_class_thresholds,
    running_medians,
    runs,
    save_config,
    top_class_events,
)
from sed.scores import ScoreGrid


def window_scores(scores, duration=None, hop=0.5):
    scores = np.asarray(scores, np.float32)
    starts = np.arange(len(scores)) * hop
    duration = duration if duration is not None else starts[-1] + 0.96
    return ScoreGrid("rec.wav", starts, starts + 0.96, scores, ("dog", "cat"), duration)


def test_runs():
    assert runs(np.array([1, 1, 0, 1, 0, 0, 1], bool)) == [(0, 1), (3, 3), (6, 6)]
    assert runs(np.zeros(3, bool)) == []


def test_consecutive_windows_of_one_winner_merge():
    events = top_class_events(
        window_scores([[0.9, 0.1], [0.6, 0.2], [0.1, 0.2], [0.2, 0.8], [0.3, 0.7], [0.8, 0.1]]),
        threshold=0.5,
    )
    assert list(events.columns) == [*EVENT_COLUMNS, "mean_score"]
    assert events["event_label"].tolist() == ["dog", "cat", "dog"]
    np.testing.assert_allclose(events["onset"], [0.0, 1.5, 2.5])
    np.testing.assert_allclose(events["offset"], [1.46, 2.96, 3.46])
    np.testing.assert_allclose(events["score"], [0.9, 0.8, 0.8], rtol=1e-6)


def test_threshold_is_inclusive_and_only_the_winner_counts():
    events = top_class_events(window_scores([[0.5, 0.45], [0.4, 0.45]]), threshold=0.5)
    assert events[["onset", "event_label"]].values.tolist() == [[0.0, "dog"]]


def test_offset_is_clipped_to_the_file_length():
    events = top_class_events(window_scores([[0.1, 0.9], [0.1, 0.9]], duration=1.2), threshold=0.5)
    assert events["offset"].tolist() == [1.2]


def test_no_events():
    events = top_class_events(window_scores([[0.1, 0.2]]), threshold=0.5)
    assert events.empty and list(events.columns) == [*EVENT_COLUMNS, "mean_score"]


@pytest.mark.parametrize("threshold", [-0.1, 1.5, float("nan"), "high"])
def test_threshold_out_of_range_is_an_error(threshold):
    with pytest.raises(ParameterError):
        PostProcessing(threshold_on=threshold)


# ---- multi mode, hysteresis, filters, boundaries, scores --------------------------------------


def multi(scores, config, duration=None, levels=None):
    ws = window_scores(scores, duration)
    ws.frame_level_db = levels
    return detect_events(ws, config)


def test_multi_mode_finds_overlapping_events_of_different_labels():
    config = PostProcessing(threshold_on=0.5, boundaries="extents")
    events = multi([[0.9, 0.1], [0.8, 0.7], [0.2, 0.9], [0.1, 0.1]], config)
    assert events[["event_label", "onset", "offset"]].values.tolist() == [
        ["dog", 0.0, 1.46],
        ["cat", 0.5, 1.96],
    ]
    top = multi([[0.9, 0.1], [0.8, 0.7], [0.2, 0.9], [0.1, 0.1]], replace(config, mode="top"))
    assert top[["event_label", "onset", "offset"]].values.tolist() == [
        ["dog", 0.0, 1.46],
        ["cat", 1.0, 1.96],
    ]


def test_hysteresis_starts_above_on_and_continues_above_off():
    scores = [[0.1, 0], [0.4, 0], [0.8, 0], [0.4, 0], [0.35, 0], [0.1, 0], [0.45, 0]]
    plain = multi(scores, PostProcessing(threshold_on=0.7, boundaries="extents"))
    assert plain[["onset", "offset"]].values.tolist() == [[1.0, 1.96]]
    both = multi(scores, PostProcessing(threshold_on=0.7, threshold_off=0.3, boundaries="extents"))
    # Windows 1-4 stay above 0.3 around the 0.8 peak; window 6 never reaches 0.7.
    assert both[["onset", "offset"]].values.tolist() == [[0.5, 2.96]]
    np.testing.assert_allclose(both["score"], [0.8])
    np.testing.assert_allclose(both["mean_score"], [np.mean([0.4, 0.8, 0.4, 0.35])], rtol=1e-6)


def test_per_class_thresholds_override_the_global_ones():
    config = PostProcessing(
        threshold_on=0.5, class_thresholds={"cat": {"on": 0.2}}, boundaries="extents"
    )
    events = multi([[0.3, 0.3], [0.1, 0.1]], config)
    assert events["event_label"].tolist() == ["cat"]
    with pytest.raises(ParameterError, match="'cow'"):
        multi([[0.3, 0.3]], PostProcessing(class_thresholds={"cow": 0.2}))


def test_median_filter_length_in_seconds():
    assert median_filter_windows(0.0, 0.5) == 1
    assert median_filter_windows(1.5, 0.5) == 3
    assert median_filter_windows(1.0, 0.5) == 3  # an even count goes up by one
    assert median_filter_windows(2.5, 0.5) == 5
    scores = np.array([[0.0], [0.0], [0.9], [0.0], [0.9], [0.9], [0.9], [0.0]])
    filtered = median_filter(scores, 3)
    np.testing.assert_allclose(filtered[:, 0], [0, 0, 0, 0.9, 0.9, 0.9, 0.9, 0])
    # The lone spike is gone and the run of three survives (one window wider).
    events = multi(
        np.hstack([scores, scores * 0]),
        PostProcessing(median_filter_seconds=1.5, boundaries="extents"),
    )
    assert events[["onset", "offset"]].values.tolist() == [[1.5, 3.96]]


def numpy_median_filter(scores, length):
    """The hand-written filter scipy's replaced: edges repeated, then np.median of each run of
    ``length`` rows (the reference scipy must reproduce exactly)."""
    if length <= 1 or len(scores) == 0:
        return scores
    half = length // 2
    return numpy_running_medians(np.pad(scores, ((half, half), (0, 0)), mode="edge"), length)


def numpy_running_medians(padded, length):
    if len(padded) < length:
        return padded[:0]
    views = np.lib.stride_tricks.sliding_window_view(padded, length, axis=0)
    return np.median(views, axis=-1).astype(padded.dtype, copy=False)


def test_median_filter_is_the_numpy_median_with_edges_repeated(rng):
    lengths = [1, 2, 3, 4, 5, 7, 8, 31, 60]  # windows; 1 and 2 shorter than most filters
    for n in lengths:
        for length in [1, 3, 5, 7, 9, 11, 25, 61]:  # odd, and longer than the recording
            for dtype in (np.float32, np.float64):
                for _ in range(8):
                    scores = rng.random((n, int(rng.integers(1, 4)))).astype(dtype)
                    if rng.random() < 0.4:  # ties, as thresholded scores have
                        scores = np.round(scores * 4) / 4
                    expected = numpy_median_filter(scores, length)
                    filtered = median_filter(scores, length)
                    assert filtered.dtype == expected.dtype and filtered.shape == expected.shape
                    np.testing.assert_array_equal(filtered, expected)
                    padded = np.vstack([scores, scores[::-1]])
                    np.testing.assert_array_equal(
                        running_medians(padded, length), numpy_running_medians(padded, length)
                    )


@pytest.mark.parametrize("length", [2, 4, 10])
def test_an_even_median_filter_is_refused(length):
    # An even run has no middle window; the numpy filter gave one row too many for it.
    with pytest.raises(ParameterError, match="odd"):
        median_filter(np.zeros((5, 1)), length)
    with pytest.raises(ParameterError, match="odd"):
        running_medians(np.zeros((5, 1)), length)


def test_min_gap_merges_and_min_duration_drops():
    scores = [[0.9, 0], [0, 0], [0, 0], [0.9, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0.9, 0.9]]
    base = PostProcessing(boundaries="centres")
    assert len(multi(scores, base).query("event_label == 'dog'")) == 3
    merged = multi(scores, replace(base, min_gap_seconds=1.1)).query("event_label == 'dog'")
    # Centres: [0, 0.73], [1.73, 2.23], [4.23, 4.73]; the first gap (1.0 s) is under 1.1 s.
    np.testing.assert_allclose(merged[["onset", "offset"]].values, [[0.0, 2.23], [4.23, 4.73]])
    long_only = multi(scores, replace(base, min_gap_seconds=1.1, min_duration_seconds=1.0))
    assert long_only[["event_label", "onset"]].values.tolist() == [["dog", 0.0]]


def test_boundary_conventions():
    scores = [[0, 0], [0.9, 0], [0.9, 0], [0, 0]]
    extents = multi(scores, PostProcessing(boundaries="extents"))
    centres = multi(scores, PostProcessing(boundaries="centres"))
    assert extents[["onset", "offset"]].values.tolist() == [[0.5, 1.96]]
    # Window i stands for [centre - hop/2, centre + hop/2]: centres 0.98 and 1.48.
    np.testing.assert_allclose(centres[["onset", "offset"]].values, [[0.73, 1.73]])
    # A sound 40 dB above the background from 0.855 s to 1.605 s (frames 85..159, centres
    # 0.8625 .. 1.6025 s): refined boundaries move onto its edges, within 2 smoothing frames.
    levels = np.full(300, -50.0, np.float32)
    levels[85:160] = -10.0
    refined = multi(scores, PostProcessing(boundaries="refined"), levels=levels)
    np.testing.assert_allclose(refined[["onset", "offset"]].values, [[0.8575, 1.6075]], atol=0.021)
    # The sound lasts longer than the windows that found it: the offset follows it out
    # (within the reach), and stops where it ends.
    levels[160:220] = -10.0  # now to frame 219 (centre 2.2025 s), inside the 2.46 s recording
    grown = multi(scores, PostProcessing(boundaries="refined"), levels=levels)
    np.testing.assert_allclose(grown[["onset", "offset"]].values, [[0.8575, 2.2075]], atol=0.021)
    short_reach = multi(
        scores, PostProcessing(boundaries="refined", refine_reach_seconds=0.5), levels=levels
    )
    assert short_reach["offset"].iloc[0] == pytest.approx(1.73 + 0.5, abs=0.011)
    # Without a level the refined convention falls back to centres.
    fallback = multi(scores, PostProcessing(boundaries="refined"))
    np.testing.assert_allclose(fallback[["onset", "offset"]].values, centres[["onset", "offset"]])


def test_centre_stretches_tile_the_recording():
    starts = np.arange(6) * 0.5
    onsets, offsets = centre_stretches(starts, starts + 0.96, 0.5)
    assert onsets[0] == 0.0  # the first window also stands for the start
    np.testing.assert_array_equal(onsets[1:], offsets[:-1])
    np.testing.assert_allclose(offsets, starts + 0.48 + 0.25)
    later = centre_stretches(starts[2:], starts[2:] + 0.96, 0.5, first_window=False)
    np.testing.assert_array_equal(later[0], onsets[2:])
    # A lone window (no grid, hop 0) stands for its whole extent; frames for themselves.
    assert [a.tolist() for a in centre_stretches(0.0, 0.96, 0.0)] == [[0.0], [0.96]]
    frames = np.arange(5) * 0.08
    np.testing.assert_allclose(
        centre_stretches(frames, frames + 0.08, 0.08), [frames, frames + 0.08]
    )
    # Event boundaries under "centres" are the ends of these stretches.
    config = PostProcessing(threshold_on=0.5, boundaries="centres")
    events = multi([[0.1, 0], [0.9, 0], [0.9, 0], [0.1, 0], [0.1, 0], [0.1, 0]], config)
    assert events[["onset", "offset"]].values.tolist() == [[onsets[1], offsets[2]]]


def test_refinement_keeps_events_the_level_does_not_show():
    activity = level_activity(np.zeros(2000), background_seconds=10.0)
    np.testing.assert_allclose(activity, 0.0)
    assert grow_boundaries(activity, 0.7, 1.5, margin_db=6.0, reach_seconds=2.5) == (0.7, 1.5)


def test_background_follows_a_slow_change():
    """A level ramping up by 30 dB over a minute is background, not an event."""
    ramp = np.linspace(-60.0, -30.0, 6000)
    assert np.abs(level_activity(ramp, background_seconds=10.0)[600:-600]).max() < 3.0


# ---- configuration files --------------------------------------------------------------------


def full_config():
    return PostProcessing(
        mode="multi",
        threshold_on=0.4,
        threshold_off=0.2,
        class_thresholds={"dog": {"on": 0.3, "off": 0.1}, "cat": 0.6},
        median_filter_seconds=1.5,
        min_duration_seconds=0.25,
        min_gap_seconds=0.5,
        boundaries="centres",
    )


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_config_round_trips(tmp_path, suffix):
    save_config(full_config(), tmp_path / f"pp{suffix}")
    assert load_config(tmp_path / f"pp{suffix}") == full_config()


def test_config_file_layout(tmp_path):
    (tmp_path / "pp.toml").write_text(
        'threshold_on = 0.3\nboundaries = "extents"\n[class_thresholds.dog]\non = 0.2\noff = 0.1\n'
    )
    config = load_config(tmp_path / "pp.toml")
    assert (config.mode, config.threshold_on, config.boundaries) == ("multi", 0.3, "extents")
    assert config.thresholds(["dog", "cat"])[0].tolist() == [0.2, 0.3]


@pytest.mark.parametrize(
    "text,message",
    [
        ("treshold_on = 0.3\n", "line 1: unknown key 'treshold_on'"),
        ("mode = 'multi'\nthreshold_on = 1.3\n", "line 2: threshold_on must be in [0, 1], got 1.3"),
        (
            "threshold_on = 0.3\nthreshold_off = 0.5\n",
            "line 2: threshold_off (0.5) must not exceed",
        ),
        ("min_gap_seconds = -1\n", "min_gap_seconds must be in [0, inf)"),
        ("mode = 'all'\n", "unknown post-processing mode 'all'"),
        ("boundaries = 'middle'\n", "unknown boundary convention 'middle'"),
        ("[class_thresholds.dog]\non = 2\n", "threshold_on must be in [0, 1], got 2"),
        ("[class_thresholds.dog]\nof = 0.1\n", "unknown key 'of' in class_thresholds.dog"),
        ("threshold_on = \n", "line 1: not valid TOML (Invalid value)"),
        ("mode = 'multi'\nmode", "line 2: not valid TOML"),
        (b"mode = 'multi'\n# caf\xe9\n", "line 2: not UTF-8 text (byte 0xe9)"),
    ],
)
def test_config_errors_name_the_file_and_line(tmp_path, text, message):
    (tmp_path / "pp.toml").write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ParameterError) as error:
        load_config(tmp_path / "pp.toml")
    assert message in str(error.value) and str(tmp_path / "pp.toml") in str(error.value)


@pytest.mark.parametrize(
    "text,message",
    [
        ('{"mode": "multi",\n "threshold_on": 3}', "line 2: threshold_on must be in [0, 1]"),
        ('{"mode": "multi",\n "mode"', "line 2: not valid JSON (Expecting ':' delimiter)"),
        ("[1, 2]", "a post-processing configuration must be a table of keys"),
    ],
)
def test_json_config_errors_name_the_line(tmp_path, text, message):
    (tmp_path / "pp.json").write_text(text)
    with pytest.raises(ParameterError, match=re.escape(message)):
        load_config(tmp_path / "pp.json")


def test_class_thresholds_csv(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("event_label,threshold_on,threshold_off\ndog,0.3,0.1\ncat,0.6,\n")
    assert read_class_thresholds(path) == {
        "dog": ClassThreshold(0.3, 0.1),
        "cat": ClassThreshold(0.6),
    }
    path.write_text("event_label,threshold_on\ndog,0.3\ndog,0.4\n")
    with pytest.raises(ParameterError, match="line 3: event label 'dog' appears twice"):
        read_class_thresholds(path)
    path.write_text("event_label,threshold_on\ndog,high\n")
    with pytest.raises(ParameterError, match="line 2: threshold_on must be a number"):
        read_class_thresholds(path)
