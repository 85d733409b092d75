"""Event and score files: columns, precision, atomic writes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sed.errors import AnnotationError, ParameterError
from sed.events import (
    FORMAT_SUFFIXES,
    FORMATS,
    event_table,
    format_paths,
    read_events,
    recording_stem,
    summarize,
    write_events,
    write_events_csv,
    write_scores_csv,
)
from sed.segmenter import WindowScores


def test_events_csv(tmp_path):
    events = event_table(
        [
            {
                "filename": "b.wav",
                "onset": 2.00049,
                "offset": 3.5,
                "event_label": "Dog",
                "score": 0.91234,
            },
            {
                "filename": "b.wav",
                "onset": 0.5,
                "offset": 1.4599999,
                "event_label": "Chicken, rooster",
                "score": 0.5,
            },
        ]
    )
    write_events_csv(events, tmp_path / "events.csv")
    text = (tmp_path / "events.csv").read_text()
    assert text.splitlines() == [
        "filename,onset,offset,event_label,score",
        'b.wav,0.500,1.460,"Chicken, rooster",0.500',
        "b.wav,2.000,3.500,Dog,0.912",
    ]
    assert pd.read_csv(tmp_path / "events.csv")["event_label"].tolist() == [
        "Chicken, rooster",
        "Dog",
    ]


def test_scores_csv_keeps_six_significant_digits(tmp_path):
    scores = np.array([[0.123456789, 1.23456789e-5], [0.5, 0.999999]], np.float32)
    ws = WindowScores(
        "a.wav",
        np.array([0.0, 0.5]),
        np.array([0.96, 1.46]),
        scores,
        ("Speech", "Child speech, kid speaking"),
        1.46,
    )
    write_scores_csv(ws, tmp_path / "scores.csv")
    table = pd.read_csv(tmp_path / "scores.csv")
    assert list(table.columns) == [
        "filename",
        "start",
        "end",
        "Speech",
        "Child speech, kid speaking",
    ]
    np.testing.assert_allclose(table.iloc[:, 3:].to_numpy(), scores, rtol=1e-6)
    assert table["end"].tolist() == [0.96, 1.46]


def test_summary():
    events = event_table(
        [
            {"filename": "a", "onset": 0.0, "offset": 1.0, "event_label": "Dog", "score": 0.9},
            {"filename": "a", "onset": 2.0, "offset": 2.5, "event_label": "Dog", "score": 0.9},
            {"filename": "a", "onset": 3.0, "offset": 6.0, "event_label": "Cat", "score": 0.9},
        ]
    )
    lines = summarize(events, 10.0).splitlines()
    assert lines[0] == "3 events in 10.0 s of audio:"
    assert lines[1].split() == ["Dog", "2", "x", "1.50", "s"]
    assert summarize(event_table(), 3.0) == "0 events in 3.0 s of audio"


# ---- formats ---------------------------------------------------------------------------------


def sample_events(filename="rec"):
    return event_table(
        [
            {
                "filename": filename,
                "onset": 0.25,
                "offset": 1.5,
                "event_label": "dog",
                "score": 0.912,
                "mean_score": 0.7,
            },
            {
                "filename": filename,
                "onset": 1.0,
                "offset": 4.125,
                "event_label": "Chicken, rooster",
                "score": 0.5,
                "mean_score": 0.4,
            },
            {
                "filename": filename,
                "onset": 7.0,
                "offset": 7.0,
                "event_label": "knock",
                "score": 0.6,
                "mean_score": 0.6,
            },
        ]
    )


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_round_trips(tmp_path, name):
    events = sample_events()
    path = tmp_path / f"rec{FORMAT_SUFFIXES[name]}"
    write_events(events, path, name, durations={"rec": 9.5})
    back = read_events(path)  # the format is recognised from the file
    columns = ["filename", "onset", "offset", "event_label"]
    pd.testing.assert_frame_equal(back.events[columns], events[columns])
    if name in ("csv", "raven", "json"):  # the formats that carry scores
        np.testing.assert_allclose(back.events["score"], events["score"])
        np.testing.assert_allclose(back.events["mean_score"], events["mean_score"])
    assert back.durations == ({"rec": 9.5} if name == "json" else {})


def test_tsv_of_several_recordings_names_them(tmp_path):
    events = pd.concat([sample_events("a"), sample_events("b")], ignore_index=True)
    write_events(events, tmp_path / "all.tsv", "tsv")
    assert (tmp_path / "all.tsv").read_text().splitlines()[0] == "a\t0.250\t1.500\tdog"
    assert read_events(tmp_path / "all.tsv").events["filename"].tolist() == ["a"] * 3 + ["b"] * 3
    with pytest.raises(ParameterError, match="one recording"):
        write_events(events, tmp_path / "all.txt", "raven")


def test_raven_header_is_exact(tmp_path):
    write_events(sample_events(), tmp_path / "r.txt", "raven")
    lines = (tmp_path / "r.txt").read_text().splitlines()
    assert lines[0].split("\t") == [
        "Selection",
        "View",
        "Channel",
        "Begin Time (s)",
        "End Time (s)",
        "Low Freq (Hz)",
        "High Freq (Hz)",
        "Annotation",
        "Score",
        "Mean Score",
    ]
    assert lines[1].split("\t")[:8] == [
        "1",
        "Spectrogram 1",
        "1",
        "0.250000",
        "1.500000",
        "125.0",
        "7500.0",
        "dog",
    ]


def test_raven_table_from_raven_reads_each_selection_once(tmp_path):
    (tmp_path / "x.Table.1.selections.txt").write_text(
        "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)"
        "\tSpecies\n"
        "1\tWaveform 1\t1\t0.5\t1.25\t0\t8000\tSP\n"
        "1\tSpectrogram 1\t1\t0.5\t1.25\t0\t8000\tSP\n"
        "2\tSpectrogram 1\t1\t2\t3\t0\t8000\tCRER\n"
    )
    back = read_events(tmp_path / "x.Table.1.selections.txt")
    assert back.events[["filename", "onset", "event_label"]].values.tolist() == [
        ["x", 0.5, "SP"],
        ["x", 2.0, "CRER"],
    ]


def test_audacity_spectral_lines_are_skipped(tmp_path):
    (tmp_path / "l.txt").write_text("0.1\t0.3\tSP\n\\\t6441.06\t12296.57\n0.5\t3.0\tCRER\n")
    assert read_events(tmp_path / "l.txt").events["event_label"].tolist() == ["SP", "CRER"]


def test_dcase_header_line_is_accepted(tmp_path):
    (tmp_path / "h.tsv").write_text("filename\tonset\toffset\tevent_label\na.wav\t1\t2\tdog\n")
    assert read_events(tmp_path / "h.tsv").events["filename"].tolist() == ["a.wav"]


@pytest.mark.parametrize(
    "name,text,message",
    [
        ("a.tsv", "0.5\t1.0\tdog\n1.0\tsoon\tcat\n", "line 2: offset 'soon' is not a number"),
        ("a.tsv", "0.5\t1.0\tdog\n\n2.0\t1.0\tcat\n", "line 3: offset 1 s is before onset 2 s"),
        ("a.tsv", "0.5\t1.0\n", "line 1: expected 3 tab-separated fields"),
        ("a.tsv", "0.5\t1.0\t \n", "line 1: empty event_label"),
        ("a.tsv", "-1\t1.0\tdog\n", "line 1: onset '-1' is not a time >= 0 s"),
        ("a.csv", "onset,offset\n1,2\n", "line 1: missing column 'event_label'"),
        ("a.csv", "onset,offset,event_label\n1,2,dog\n3,4\n", "line 3: expected 3 fields, got 2"),
        ("a.txt", "Selection\tBegin Time (s)\tEnd Time (s)\n", "line 1: no label column"),
        (
            "a.json",
            '{"recordings": [{"filename": "a", "events": [{"onset": 1}]}]}',
            "recording 1, event 1: offset None is not a number",
        ),
        ("a.json", '{"recordings": [\n}', "line 2: not valid JSON"),
    ],
)
def test_malformed_files_name_file_and_line(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(AnnotationError) as error:
        read_events(tmp_path / name)
    assert str(error.value).startswith(str(tmp_path / name) + ": ")
    assert message in str(error.value)


def test_missing_file_is_an_annotation_error(tmp_path):
    with pytest.raises(AnnotationError, match="no such file"):
        read_events(tmp_path / "none.tsv")


def test_format_paths():
    assert format_paths("out/ev.csv", ["json"]) == {"json": "out/ev.csv"}
    assert format_paths("out/ev.csv", ["csv", "raven", "audacity"]) == {
        "csv": "out/ev.csv",
        "raven": "out/ev.selections.txt",
        "audacity": "out/ev.audacity.txt",
    }
    assert recording_stem("d/a.Table.1.selections.txt") == "a"
    with pytest.raises(ParameterError, match="unknown event format 'xml'"):
        format_paths("ev.csv", ["xml"])


def test_shared_annotations_are_read(shared_data):
    spinetail = read_events(shared_data / "soundscapes/spinetail/spinetail.audacity.txt").events
    reference = read_events(shared_data / "soundscapes/spinetail/spinetail.ann").events
    assert len(spinetail) == 18
    pd.testing.assert_frame_equal(
        spinetail[["onset", "offset", "event_label"]], reference[["onset", "offset", "event_label"]]
    )
    empty = read_events(
        shared_data / "soundscapes/scaper_park/bgonly_soundscape_20200501_44100.txt"
    )
    assert empty.events.empty
