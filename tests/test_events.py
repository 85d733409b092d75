"""Event and score files: columns, precision, atomic writes."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from sed.atomic import atomic_open
from sed.events import event_table, summarize, write_events_csv, write_scores_csv
from sed.segmenter import WindowScores


def test_events_csv(tmp_path):
    events = event_table([
        {"filename": "b.wav", "onset": 2.00049, "offset": 3.5, "event_label": "Dog", "score": 0.91234},
        {"filename": "b.wav", "onset": 0.5, "offset": 1.4599999, "event_label": "Chicken, rooster",
         "score": 0.5},
    ])
    write_events_csv(events, tmp_path / "events.csv")
    text = (tmp_path / "events.csv").read_text()
    assert text.splitlines() == [
        "filename,onset,offset,event_label,score",
        'b.wav,0.500,1.460,"Chicken, rooster",0.500',
        "b.wav,2.000,3.500,Dog,0.912",
    ]
    assert pd.read_csv(tmp_path / "events.csv")["event_label"].tolist() == ["Chicken, rooster", "Dog"]


def test_scores_csv_keeps_six_significant_digits(tmp_path):
    scores = np.array([[0.123456789, 1.23456789e-5], [0.5, 0.999999]], np.float32)
    ws = WindowScores("a.wav", np.array([0.0, 0.5]), np.array([0.96, 1.46]), scores,
                      ("Speech", "Child speech, kid speaking"), 1.46)
    write_scores_csv(ws, tmp_path / "scores.csv")
    table = pd.read_csv(tmp_path / "scores.csv")
    assert list(table.columns) == ["filename", "start", "end", "Speech", "Child speech, kid speaking"]
    np.testing.assert_allclose(table.iloc[:, 3:].to_numpy(), scores, rtol=1e-6)
    assert table["end"].tolist() == [0.96, 1.46]


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as handle:
            handle.write("partial")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.csv"]  # no temporary file left behind


def test_summary():
    events = event_table([
        {"filename": "a", "onset": 0.0, "offset": 1.0, "event_label": "Dog", "score": 0.9},
        {"filename": "a", "onset": 2.0, "offset": 2.5, "event_label": "Dog", "score": 0.9},
        {"filename": "a", "onset": 3.0, "offset": 6.0, "event_label": "Cat", "score": 0.9},
    ])
    lines = summarize(events, 10.0).splitlines()
    assert lines[0] == "3 events in 10.0 s of audio:"
    assert lines[1].split() == ["Dog", "2", "x", "1.50", "s"]
    assert summarize(event_table(), 3.0) == "0 events in 3.0 s of audio"
