"""Window scores to events: the top-class mode."""

from __future__ import annotations

import numpy as np
import pytest

from sed.errors import ParameterError
from sed.events import EVENT_COLUMNS
from sed.postprocessing import PostProcessing, runs, top_class_events
from sed.segmenter import WindowScores


def window_scores(scores, duration=None, hop=0.5):
    scores = np.asarray(scores, np.float32)
    starts = np.arange(len(scores)) * hop
    duration = duration if duration is not None else starts[-1] + 0.96
    return WindowScores("rec.wav", starts, starts + 0.96, scores, ("dog", "cat"), duration)


def test_runs():
    assert runs(np.array([1, 1, 0, 1, 0, 0, 1], bool)) == [(0, 1), (3, 3), (6, 6)]
    assert runs(np.zeros(3, bool)) == []


def test_consecutive_windows_of_one_winner_merge():
    events = top_class_events(window_scores([
        [0.9, 0.1], [0.6, 0.2], [0.1, 0.2], [0.2, 0.8], [0.3, 0.7], [0.8, 0.1]]), threshold=0.5)
    assert list(events.columns) == [*EVENT_COLUMNS, "mean_score"]
    assert events["event_label"].tolist() == ["dog", "cat", "dog"]
    np.testing.assert_allclose(events["onset"], [0.0, 1.5, 2.5])
    np.testing.assert_allclose(events["offset"], [1.46, 2.96, 3.46])
    np.testing.assert_allclose(events["score"], [0.9, 0.8, 0.8], rtol=1e-6)


def test_threshold_is_inclusive_and_only_the_winner_counts():
    events = top_class_events(window_scores([[0.5, 0.45], [0.4, 0.45]]), threshold=0.5)
    assert events[["onset", "event_label"]].values.tolist() == [[0.0, "dog"]]


def test_offset_is_clipped_to_the_file_length():
    events = top_class_events(window_scores([[0.1, 0.9], [0.1, 0.9]], duration=1.2),
                              threshold=0.5)
    assert events["offset"].tolist() == [1.2]


def test_no_events():
    events = top_class_events(window_scores([[0.1, 0.2]]), threshold=0.5)
    assert events.empty and list(events.columns) == [*EVENT_COLUMNS, "mean_score"]


@pytest.mark.parametrize("threshold", [-0.1, 1.5, float("nan"), "high"])
def test_threshold_out_of_range_is_an_error(threshold):
    with pytest.raises(ParameterError):
        PostProcessing(threshold_on=threshold)
