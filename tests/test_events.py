"""Event and score files: columns, precision, atomic writes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sed.audio import recording_stem
from sed.errors import AnnotationError, ParameterError
from sed.events import (
    FORMAT_SUFFIXES,
    FORMATS,
    event_table,
    format_events,
    format_paths,
    read_durations,
    read_events,
    read_file_pairs,
    round_seconds,
    write_durations_tsv,
    write_events,
    write_events_csv,
    write_score_table,
)
from sed.scores import ScoreGrid


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


def test_score_table_keeps_six_significant_digits_over_contiguous_frames(tmp_path):
    scores = np.array([[0.123456789, 1.23456789e-5], [0.5, 0.999999]], np.float32)
    ws = ScoreGrid(
        "a.wav",
        np.array([0.0, 0.5]),
        np.array([0.96, 1.46]),
        scores,
        ("Speech", "Child speech, kid speaking"),
        1.46,
    )
    write_score_table(ws, tmp_path / "a.scores.tsv")
    table = pd.read_csv(tmp_path / "a.scores.tsv", sep="\t")
    assert list(table.columns) == ["onset", "offset", "Speech", "Child speech, kid speaking"]
    np.testing.assert_allclose(table.iloc[:, 2:].to_numpy(), scores, rtol=1e-6)
    # Window k stands for the hop-long stretch around its centre 0.48 + 0.5 k; the first
    # reaches back to 0 and the last on to the end of the recording.
    assert table["onset"].tolist() == [0.0, 0.73] and table["offset"].tolist() == [0.73, 1.46]


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
    assert (tmp_path / "all.tsv").read_text().splitlines()[:2] == [
        "filename\tonset\toffset\tevent_label",
        "a\t0.250\t1.500\tdog",
    ]
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
        ("a.tsv", "0.5\n", "line 1: expected onset, offset and event_label"),
        ("a.tsv", "1\t2\t3\t4\t5\t6\t7\t8\n", "line 1: expected onset, offset and event_label"),
        ("a.txt", "notes.txt\n", "line 1: expected onset, offset and event_label"),
        ("a.tsv", "0.5\t1.0\tdog\nb.wav\n", "line 2: names a recording, unlike the lines"),
        ("a.tsv", "-1\t1.0\tdog\n", "line 1: onset '-1' is not a time >= 0 s"),
        ("a.csv", "onset,offset\n1,2\n", "line 1: no label column"),
        (
            "a.csv",
            "onset,offset,event_label\n1,2,dog\n3,4,a,b\n",
            "line 3: expected 3 fields, got 4",
        ),
        ("a.csv", "filename,onset,offset,event_label\na.wav,1,,dog\n", "line 2: offset '' is not"),
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


# ---- layouts of the DCASE tools, Raven's variants, one rounding rule -------------------------


def read_text(tmp_path, name, text, **kwargs):
    (tmp_path / name).write_text(text)
    return read_events(tmp_path / name, **kwargs)


def rows(event_file):
    return event_file.events[["filename", "onset", "offset", "event_label"]].values.tolist()


@pytest.mark.parametrize("delimiter", ["\t", ",", ";"])
def test_dcase_util_layouts_with_every_delimiter(tmp_path, delimiter):
    def text(*lines):
        return "".join(delimiter.join(cells) + "\n" for cells in lines)

    three = read_text(tmp_path, "r.txt", text(["0.5", "0.7", "event"], ["1", "2", "dog"]))
    assert rows(three) == [["r", 0.5, 0.7, "event"], ["r", 1.0, 2.0, "dog"]]
    assert (three.recordings, three.names_recordings) == (["r"], False)
    four = read_text(tmp_path, "f.txt", text(["x/a.wav", "0.5", "0.7", "event"], ["b.wav"]))
    assert rows(four) == [["x/a.wav", 0.5, 0.7, "event"]]
    assert (four.recordings, four.names_recordings) == (["x/a.wav", "b.wav"], True)
    five = read_text(tmp_path, "s.txt", text(["file.wav", "scene", "0.5", "0.7", "event"]))
    assert rows(five) == [["file.wav", 0.5, 0.7, "event"]]
    unlabeled = read_text(tmp_path, "u.txt", text(["0.5", "0.7"], ["1", "2", "dog"]))
    assert rows(unlabeled) == [["u", 1.0, 2.0, "dog"]] and unlabeled.unlabeled == 1


def test_headers_of_dcase_util_desed_and_ours(tmp_path):
    dcase_util = read_text(
        tmp_path,
        "d.csv",
        "file,scene_label,event_onset,event_offset,event_label\na.wav,street,1.5,2,car\n",
    )
    assert rows(dcase_util) == [["a.wav", 1.5, 2.0, "car"]]
    desed = read_text(
        tmp_path,
        "gt.tsv",
        "filename\tonset\toffset\tevent_label\na.wav\t1\t2\tCat\nb.wav\t\t\t\nc.wav\t0\t1\tDog\n",
    )
    assert desed.recordings == ["a.wav", "b.wav", "c.wav"]  # b.wav: listed without events
    assert len(desed.events) == 2
    headed = read_text(tmp_path, "h.tsv", "onset\toffset\tevent_label\n1\t2\tdog\n")
    assert rows(headed) == [["h", 1.0, 2.0, "dog"]]
    assert read_text(tmp_path, "e.tsv", "onset\toffset\tevent_label\n").recordings == ["e"]
    assert read_text(tmp_path, "empty.txt", "").recordings == ["empty"]


def test_a_files_order_is_kept(tmp_path):
    """sed_eval's greedy matching depends on the reference order: it is read as written."""
    back = read_text(tmp_path, "o.txt", "1.5\t3.0\tA\n1.0\t3.0\tA\n")
    assert back.events["onset"].tolist() == [1.5, 1.0]


RAVEN_HEADER = (
    "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)"
)


def test_raven_tables_as_annotators_leave_them(tmp_path):
    """A header ending in a tab, blank trailing columns, an unlabeled selection."""
    back = read_text(
        tmp_path,
        "a.Table.1.selections.txt",
        f"{RAVEN_HEADER}\tSpecies\tNotes\t\n"
        "1\tSpectrogram 1\t1\t0.5\t1.25\t0\t8000\tSP\t\t\n"
        "2\tSpectrogram 1\t1\t2\t3\t0\t8000\t\tunsure\n"
        "3\tSpectrogram 1\t1\t4\t5\t0\t8000\tCRER\n",
    )
    assert rows(back) == [["a", 0.5, 1.25, "SP"], ["a", 4.0, 5.0, "CRER"]]
    assert back.unlabeled == 1


def test_label_column_is_chosen_where_a_table_has_it(tmp_path):
    text = f"{RAVEN_HEADER}\tAnnotation\tclass\n1\tSpectrogram 1\t1\t1\t2\t0\t1\tcall\tdog\n"
    assert rows(read_text(tmp_path, "r.txt", text))[0][3] == "call"
    assert rows(read_text(tmp_path, "r.txt", text, label_column="Class"))[0][3] == "dog"
    other = read_text(
        tmp_path, "o.csv", "onset,offset,event_label\n1,2,cat\n", label_column="class"
    )
    assert rows(other)[0][3] == "cat"  # a table without that column keeps its own


def test_combined_raven_tables_name_their_recordings(tmp_path):
    """BirdNET's combined table: Begin Time runs over the concatenated files; File Offset (s) is
    the time within the file named by Begin Path."""
    back = read_text(
        tmp_path,
        "BirdNET_SelectionTable.txt",
        f"{RAVEN_HEADER}\tCommon Name\tSpecies Code\tConfidence\tBegin Path\tFile Offset (s)\n"
        "1\tSpectrogram 1\t1\t3.0\t6.0\t0\t15000\tRobin\tamerob\t0.9\t/d/a.wav\t3.0\n"
        "2\tSpectrogram 1\t1\t63.0\t66.0\t0\t15000\tWren\tcarwre\t0.8\t/d/b.wav\t3.0\n",
    )
    assert rows(back) == [["/d/a.wav", 3.0, 6.0, "Robin"], ["/d/b.wav", 3.0, 6.0, "Wren"]]
    assert back.events["score"].tolist() == [0.9, 0.8] and back.names_recordings
    begin_file = read_text(
        tmp_path,
        "t.txt",
        f"{RAVEN_HEADER}\tBegin File\tAnnotation\n1\tSpectrogram 1\t1\t1\t2\t0\t1\tx.wav\tdog\n",
    )
    assert rows(begin_file) == [["x.wav", 1.0, 2.0, "dog"]]


def test_opensoundscape_raven_export_is_read(tmp_path):
    """What opensoundscape's BoxedAnnotations.to_raven_files writes: its own columns first,
    lower-case ``annotation``, an empty cell for an unlabeled box."""
    back = read_text(
        tmp_path,
        "rec.selections.txt",
        "audio_file\tannotation_file\tannotation\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)"
        "\tHigh Freq (Hz)\n"
        "/d/rec.wav\t/a/rec.Table.1.selections.txt\tEATO\t154.3877\t154.9115\t2878.2\t4049.0\n"
        "/d/rec.wav\t/a/rec.Table.1.selections.txt\t\t160.0\t161.0\t2878.2\t4049.0\n",
    )
    assert rows(back) == [["/d/rec.wav", 154.3877, 154.9115, "EATO"]]
    assert back.unlabeled == 1


def test_one_rounding_rule_in_every_format(tmp_path):
    """15.2275 s is 15.228 in every format (the binary value is just below 15.2275)."""
    events = event_table(
        [{"filename": "r", "onset": 15.2275, "offset": 16.0, "event_label": "x", "score": 0.5}]
    )
    assert format(15.2275, ".3f") == "15.227"  # what printf-style formatting alone gives
    texts = {name: format_events(events, name, durations={"r": 20.0}) for name in FORMATS}
    assert texts["csv"].splitlines()[1].startswith("r,15.228,16.000,")
    assert texts["tsv"].splitlines()[1] == "15.228\t16.000\tx"
    assert texts["audacity"] == "15.228000\t16.000000\tx\n"
    assert texts["raven"].splitlines()[1].split("\t")[3] == "15.228000"
    assert '"onset": 15.228' in texts["json"]
    np.testing.assert_array_equal(
        round_seconds([15.2275, 15.2265, 0.0005, np.nan])[:3], [15.228, 15.226, 0.0]
    )


def test_empty_outputs_are_what_the_tools_write(tmp_path):
    empty = event_table()
    assert format_events(empty, "audacity") == ""  # Audacity exports an empty file
    assert format_events(empty, "raven").count("\n") == 1  # Raven saves the header alone
    assert format_events(empty, "tsv") == "onset\toffset\tevent_label\n"
    for name in FORMATS:
        path = tmp_path / f"e{FORMAT_SUFFIXES[name]}"
        write_events(empty, path, name)
        back = read_events(path)
        assert back.events.empty and back.recordings == ["e"]


def test_durations_and_file_pairs(tmp_path):
    (tmp_path / "d.tsv").write_text("filename\tduration\nx/a.wav\t10.5\nb.wav\t3\n")
    assert read_durations(tmp_path / "d.tsv") == {"a": ("x/a.wav", 10.5), "b": ("b.wav", 3.0)}
    (tmp_path / "n.csv").write_text("a.wav,1\n")
    assert read_durations(tmp_path / "n.csv") == {"a": ("a.wav", 1.0)}
    (tmp_path / "bad.tsv").write_text("a.wav\t1\na.flac\t2\n")
    with pytest.raises(AnnotationError, match="line 2: recording 'a' listed twice"):
        read_durations(tmp_path / "bad.tsv")
    write_durations_tsv({"x/a.wav": 10.25}, tmp_path / "w.tsv")
    assert (tmp_path / "w.tsv").read_text() == "filename\tduration\nx/a.wav\t10.250\n"
    (tmp_path / "list.txt").write_text("r.txt\te.txt\nsub/r2.txt;e2.txt\n")
    assert read_file_pairs(tmp_path / "list.txt") == [
        (str(tmp_path / "r.txt"), str(tmp_path / "e.txt")),
        (str(tmp_path / "sub/r2.txt"), str(tmp_path / "e2.txt")),
    ]
    (tmp_path / "list.txt").write_text("r.txt\n")
    with pytest.raises(AnnotationError, match="line 1: expected a reference file and an"):
        read_file_pairs(tmp_path / "list.txt")
