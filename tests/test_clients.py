"""The files ``sed`` writes, read by the tools their users read them with, and theirs by us.

Real clients, not our reading of their documentation: dcase_util (what ``sed_eval.io`` uses),
sed_scores_eval, pandas as psds_eval's examples use it, and crowsetta (Raven and Audacity). Each
loads every format it reads, with events and without, and must give back our events; and
``sed evaluate`` reads the sample files crowsetta ships, giving crowsetta's own events.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sed.annotations import evaluate_files
from sed.evaluation import import_sed_eval
from sed.events import (
    FORMAT_SUFFIXES,
    event_table,
    read_events,
    round_seconds,
    write_durations_tsv,
    write_events,
    write_events_tsv,
)

crowsetta = pytest.importorskip("crowsetta")
# crowsetta 5.1 renames columns in place, which pandas 3 deprecates: not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword")
sed_scores_eval = pytest.importorskip("sed_scores_eval")

CROWSETTA_EXAMPLES = Path(crowsetta.__file__).parent / "examples"
RAVEN_EXAMPLE = CROWSETTA_EXAMPLES / "Recording_1_Segment_02.Table.1.selections.txt"
AUDACITY_EXAMPLE = CROWSETTA_EXAMPLES / "405_marron1_June_14_2016_69640887.audacity.txt"
AUDACITY_BOXES_EXAMPLE = CROWSETTA_EXAMPLES / "spinetail.txt"


def our_events(filename="rec.wav"):
    rows = [
        (0.25, 1.5, "dog", 0.912),
        (1.0, 4.1255, "Chicken, rooster", 0.5),
        (15.2275, 16.0, "Air horn, truck horn", 0.61),
        (20.0, 20.5, "knock", 0.7),
    ]
    return event_table(
        [
            {"filename": filename, "onset": a, "offset": b, "event_label": c, "score": s}
            for a, b, c, s in rows
        ]
    )


def expected(events):
    """What every reader must give back: times rounded as written (to the millisecond)."""
    return list(
        zip(
            round_seconds(events["onset"]).tolist(),
            round_seconds(events["offset"]).tolist(),
            events["event_label"].tolist(),
        )
    )


def triples(onsets, offsets, labels):
    return list(zip(np.round(onsets, 6).tolist(), np.round(offsets, 6).tolist(), list(labels)))


def dcase_util_load(path):
    sed_eval, _ = import_sed_eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sed_eval.io.load_event_list(str(path))


@pytest.mark.parametrize("events", [our_events(), event_table()], ids=["events", "empty"])
def test_dcase_util_reads_our_tsv_csv_and_audacity_files(tmp_path, events):
    """sed_eval users call ``sed_eval.io.load_event_list``: with the header line, no event is
    taken for column names (the first event used to be lost)."""
    for name in ("tsv", "csv", "audacity"):
        path = tmp_path / f"rec{FORMAT_SUFFIXES[name]}"
        write_events(events, path, name)
        loaded = dcase_util_load(path)
        got = [(item.onset, item.offset, item.event_label) for item in loaded]
        assert got == expected(events), name


def test_dcase_util_reads_the_combined_table(tmp_path):
    events = pd.concat([our_events("site_a/a.wav"), our_events("b.wav")], ignore_index=True)
    write_events_tsv(events, tmp_path / "all_events.tsv", with_filename=True)
    loaded = dcase_util_load(tmp_path / "all_events.tsv")
    assert loaded.unique_files == ["b.wav", "site_a/a.wav"]
    for filename in ("site_a/a.wav", "b.wav"):
        got = [(i.onset, i.offset, i.event_label) for i in loaded.filter(filename=filename)]
        assert got == expected(our_events(filename))


@pytest.mark.parametrize("events", [our_events("a.wav"), event_table()], ids=["events", "empty"])
def test_sed_scores_eval_and_pandas_read_the_combined_table_and_durations(tmp_path, events):
    write_events_tsv(events, tmp_path / "all_events.tsv", with_filename=True)
    write_durations_tsv({"a.wav": 30.0}, tmp_path / "durations.tsv")
    io = sed_scores_eval.io
    ground_truth = io.read_ground_truth_events(tmp_path / "all_events.tsv")
    assert ground_truth == ({"a": [list(e) for e in expected(events)]} if len(events) else {})
    assert io.read_audio_durations(tmp_path / "durations.tsv") == {"a": 30.0}
    # psds_eval takes pandas tables: read as its examples read them.
    table = pd.read_csv(tmp_path / "all_events.tsv", sep="\t")
    assert list(table.columns) == ["filename", "onset", "offset", "event_label"]
    got = triples(table["onset"], table["offset"], table["event_label"])
    assert got == expected(events) and set(table["filename"]) <= {"a.wav"}


def test_crowsetta_reads_our_raven_and_audacity_files(tmp_path):
    events = our_events()
    write_events(events, tmp_path / "rec.selections.txt", "raven")
    raven = crowsetta.formats.by_name("raven").from_file(tmp_path / "rec.selections.txt")
    boxes = raven.to_annot().bboxes
    got = triples([b.onset for b in boxes], [b.offset for b in boxes], [b.label for b in boxes])
    assert got == expected(events)
    write_events(events, tmp_path / "rec.audacity.txt", "audacity")
    track = crowsetta.formats.by_name("aud-seq").from_file(tmp_path / "rec.audacity.txt")
    segments = track.to_annot().seq.segments
    assert [s.label for s in segments] == events["event_label"].tolist()
    # crowsetta keeps milliseconds, as we write them
    assert [float(s.onset_s) for s in segments] == [e[0] for e in expected(events)]


def test_crowsetta_refuses_tables_without_rows(tmp_path):
    """An empty Raven table is its header alone (what Raven saves) and an empty label track an
    empty file (what Audacity exports); crowsetta 5.1 cannot load either. If this test fails,
    crowsetta has learnt to: update docs/formats.md."""
    write_events(event_table(), tmp_path / "e.selections.txt", "raven")
    write_events(event_table(), tmp_path / "e.audacity.txt", "audacity")
    with pytest.raises(ValueError, match="no rows"):
        crowsetta.formats.by_name("raven").from_file(tmp_path / "e.selections.txt")
    with pytest.raises(pd.errors.EmptyDataError):
        crowsetta.formats.by_name("aud-seq").from_file(tmp_path / "e.audacity.txt")
    for name in ("e.selections.txt", "e.audacity.txt"):
        assert read_events(tmp_path / name).events.empty


def test_crowsettas_raven_example_reads_as_crowsetta_reads_it():
    ours = read_events(RAVEN_EXAMPLE, label_column="Species").events
    boxes = crowsetta.formats.by_name("raven").from_file(RAVEN_EXAMPLE, annot_col="Species")
    theirs = boxes.to_annot().bboxes
    assert triples(ours["onset"], ours["offset"], ours["event_label"]) == triples(
        [b.onset for b in theirs], [b.offset for b in theirs], [b.label for b in theirs]
    )
    assert len(ours) == 6


@pytest.mark.parametrize(
    "path,format",
    [(AUDACITY_EXAMPLE, "aud-seq"), (AUDACITY_BOXES_EXAMPLE, "aud-bbox")],
    ids=["labels", "labels-with-frequencies"],
)
def test_crowsettas_audacity_examples_read_as_crowsetta_reads_them(path, format):
    ours = read_events(path).events
    annotation = crowsetta.formats.by_name(format).from_file(path).to_annot()
    if format == "aud-seq":
        theirs = [(s.onset_s, s.offset_s, s.label) for s in annotation.seq.segments]
    else:
        theirs = [(b.onset, b.offset, b.label) for b in annotation.bboxes]
    # crowsetta's sequences keep milliseconds; its boxes keep every digit, as we do
    assert len(ours) == len(theirs) > 10
    np.testing.assert_allclose(ours["onset"], [t[0] for t in theirs], atol=5e-4)
    np.testing.assert_allclose(ours["offset"], [t[1] for t in theirs], atol=5e-4)
    assert ours["event_label"].tolist() == [t[2] for t in theirs]


def test_sed_evaluate_scores_crowsettas_samples(tmp_path):
    """crowsetta's Raven example (label column ``Species``) against our Audacity label track of
    the same events with one moved by 2 s: every event but that one matches."""
    events = read_events(RAVEN_EXAMPLE, label_column="Species").events
    moved = events.copy()
    moved.loc[0, ["onset", "offset"]] += 2.0
    write_events(moved.assign(filename="x"), tmp_path / "est.audacity.txt", "audacity")
    evaluation = evaluate_files(
        RAVEN_EXAMPLE, tmp_path / "est.audacity.txt", label_column="Species"
    )
    overall = evaluation.results()["event_based"]["overall"]
    assert overall["f_measure"]["f_measure"] == pytest.approx(5 / 6)
    assert evaluation.files[0]["reference_events"] == 6
