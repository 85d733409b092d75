"""Inputs that used to give a wrong result without a word, a traceback, or an unclear message:
names that do not survive a table, numbers out of any sane range, special files.

Each test here is named by a case of ``tests/reliability_cases.py`` (docs/reliability.md).
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sed.audio import display_path, recording_stem
from sed.events import (
    event_table,
    events_raven,
    read_durations,
    read_events,
    read_score_table,
    write_durations_tsv,
    write_events,
    write_events_tsv,
    write_score_table,
)
from sed.events.writers import write_text
from sed.scores import ScoreGrid

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: Characters a file system allows in a name that tables trip on: tabs, line breaks, quotes,
#: commas, semicolons, separators, and bytes that are not UTF-8 (held as surrogates).
AWKWARD = "\t\n\r\x0b\x0c\x1c\x85\u2028\"',; \\#%é\udce9\udcff"
NAMES = st.text(alphabet=st.sampled_from(AWKWARD) | st.sampled_from("ab1-_"), min_size=1).map(
    lambda stem: stem + ".wav"
)


def _events(names):
    rows = []
    for number, name in enumerate(names):
        rows.append(
            {
                "filename": display_path(name),
                "onset": 1.0 + number,
                "offset": 2.5 + number,
                "event_label": "Bicycle bell",
                "score": 0.5,
            }
        )
    return event_table(rows)


@PROPERTY
@given(names=st.lists(NAMES, min_size=2, max_size=3, unique_by=lambda n: display_path(n)))
def test_every_table_round_trips_for_any_file_name(tmp_path_factory, names):
    """Names with tabs, line breaks, quotes, commas and non-UTF-8 bytes are written in
    :func:`display_path`'s form, one row each, and read back as written by sed's readers and
    by pandas, dcase_util and sed_scores_eval."""
    stems = {recording_stem(name) for name in names}
    if len(stems) < len(names):  # two recordings of one stem are refused before this
        return
    folder = tmp_path_factory.mktemp("names")
    events = _events(names)
    written = events["filename"].tolist()  # in the table's order
    for format in ("csv", "tsv", "json"):
        path = folder / f"all_events.{format}"
        if format == "tsv":
            write_events_tsv(events, path, with_filename=True)
        else:
            write_events(events, path, format)
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) == len(names) + (format != "json") or format == "json"
        got = read_events(path).events
        # sed's readers trim the spaces around a cell (hand-edited tables): a name's own spaces
        # at its ends are not kept (JSON keeps them).
        kept = written if format == "json" else [name.strip() for name in written]
        assert got["filename"].tolist() == kept, format
    durations = {name: 10.0 + n for n, name in enumerate(written)}
    write_durations_tsv(durations, folder / "durations.tsv")
    read = read_durations(folder / "durations.tsv")
    assert {name for name, _ in read.values()} == {name.strip() for name in written}
    # The client libraries: pandas (psds_eval), sed_scores_eval, dcase_util (sed_eval).
    table = pd.read_csv(folder / "all_events.tsv", sep="\t", keep_default_na=False)
    assert table["filename"].tolist() == written
    table = pd.read_csv(folder / "all_events.csv", keep_default_na=False)
    assert table["filename"].tolist() == written
    assert pd.read_csv(folder / "durations.tsv", sep="\t", keep_default_na=False)[
        "filename"
    ].tolist() == list(durations)
    # Raven's combined table (--combine) keeps each name in its Begin File column.
    raven = folder / "combined.selections.txt"
    write_text(events_raven(events, begin_file=True), raven)
    assert read_events(raven).events["filename"].tolist() == [name.strip() for name in written]
    table = pd.read_csv(raven, sep="\t", keep_default_na=False)
    assert table["Begin File"].tolist() == written
    crowsetta = pytest.importorskip("crowsetta")
    annotation = crowsetta.formats.bbox.Raven.from_file(raven)
    assert annotation.df["Begin File"].tolist() == written
    sed_scores_eval = pytest.importorskip("sed_scores_eval")
    truth = sed_scores_eval.io.read_ground_truth_events(folder / "all_events.tsv")
    assert sorted(truth) == sorted(stems)
    # A score table and an Audacity label track are one recording's: its name is the file's.
    grid = ScoreGrid(
        written[0],
        np.array([0.0, 0.5]),
        np.array([0.96, 1.46]),
        np.array([[0.25], [0.75]], np.float32),
        ("dog",),
        1.0,
    )
    scores = folder / "scores"
    scores.mkdir()
    for stem in stems:
        write_score_table(grid, scores / f"{stem}.scores.tsv")
        write_events(events.iloc[:1], folder / f"{stem}.txt", "audacity")
        onsets = read_events(folder / f"{stem}.txt").events["onset"].tolist()
        assert onsets == events["onset"].iloc[:1].tolist()
    assert read_score_table(scores / f"{next(iter(stems))}.scores.tsv")["dog"].tolist() == [
        0.25,
        0.75,
    ]
    read = sed_scores_eval.io.read_sed_scores(scores)
    assert sorted(read) == sorted(f"{stem}.scores" for stem in stems)
    from sed.evaluation import import_sed_eval

    if not all(name.isascii() and not set(name) & set(',;"') for name in written):
        # dcase_util reads no table with a non-ASCII character, and guesses the delimiter from
        # the commas and semicolons it sees (its format sniffing): not ours to fix.
        return
    sed_eval, _ = import_sed_eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = sed_eval.io.load_event_list(os.fspath(folder / "all_events.tsv"))
    # dcase_util writes a Windows path's backslashes as slashes.
    assert sorted(item.filename for item in loaded) == sorted(
        name.replace("\\", "/") for name in written
    )


# ---- wrong results without a word ----------------------------------------------------------


def test_plot_draws_only_the_events_of_the_recording_plotted(tmp_path, capsys):
    from sed.cli.plot import _events_of

    table = tmp_path / "all_events.csv"
    table.write_text(
        "filename,onset,offset,event_label,score\n"
        "site/rec.wav,1.0,2.0,bell,0.9\nother.wav,3.0,4.0,dog,0.8\nother.wav,5.0,6.0,dog,0.7\n"
    )
    drawn = _events_of("audio/rec.wav", "--events", str(table))
    assert drawn["event_label"].tolist() == ["bell"]
    drawn = _events_of("audio/third.wav", "--events", str(table))
    assert drawn.empty
    note = capsys.readouterr().err
    assert "has no event of audio/third.wav (3 events of 2 other recordings" in note
    assert "none drawn" in note


def _batch_and_references(tmp_path):
    import numpy as np
    import soundfile as sf

    batch = tmp_path / "out"
    (batch / ".sed" / "results").mkdir(parents=True)
    (batch / "a.sed.csv").write_text(
        "filename,onset,offset,event_label,score\na.wav,1.0,2.0,dog,0.9\n"
    )
    (batch / "durations.tsv").write_text("filename\tduration\na.wav\t10.000\n")
    references, audio = tmp_path / "ref", tmp_path / "audio"
    references.mkdir()
    audio.mkdir()
    for stem in ("a", "b", "c"):
        (references / f"{stem}.tsv").write_text("1.0\t2.0\tdog\n")
        sf.write(audio / f"{stem}.wav", np.zeros(16000 * 10, np.float32), 16000)
    return batch, references, audio


def test_evaluate_warns_of_reference_recordings_the_batch_did_not_process(tmp_path):
    from sed.annotations import evaluate_files

    batch, references, audio = _batch_and_references(tmp_path)
    warnings_given: list[str] = []
    evaluate_files(references, batch, audio=audio, warn=warnings_given.append)
    [warning] = [w for w in warnings_given if "not processed" in w]
    assert "2 reference recordings not processed by the batch" in warning
    assert "(not in its durations.tsv), scored as no detections: b, c" in warning


def test_nan_in_a_score_table_is_refused_with_its_line(tmp_path):
    from sed.errors import AnnotationError
    from sed.events import read_score_table

    path = tmp_path / "rec.scores.tsv"
    path.write_text("onset\toffset\tdog\n0.0\t0.5\t0.1\n0.5\t1.0\tnan\n")
    with pytest.raises(AnnotationError) as error:
        read_score_table(path)
    assert (
        str(error.value)
        == f"{path}: line 3: column 'dog' holds nan (or an empty cell), not a score"
    )
    path.write_text("onset\toffset\tdog\n0.0\t1e12\t0.1\n")
    with pytest.raises(AnnotationError, match="line 2: column 'offset' holds 1e"):
        read_score_table(path)


def test_a_class_folder_named_with_a_line_break_is_refused(tmp_path):
    import numpy as np
    import soundfile as sf

    from sed.errors import ParameterError
    from sed.heads.datasets import folder_dataset

    for name in ("tone", "two\nlines"):
        (tmp_path / name).mkdir()
        sf.write(tmp_path / name / "a.wav", np.zeros(16000, np.float32), 16000)
    with pytest.raises(ParameterError) as error:
        folder_dataset(tmp_path)
    assert "class 'two\\nlines' has a tab, a line break" in str(error.value)
    assert "\n" not in str(error.value)


# ---- tracebacks ----------------------------------------------------------------------------


@pytest.mark.parametrize("offset", ["1e12", "1e308"])
def test_a_reference_offset_beyond_days_is_refused(tmp_path, offset):
    from sed.errors import AnnotationError

    path = tmp_path / "ref.tsv"
    path.write_text(f"1.0\t2.0\tdog\n3.0\t{offset}\tdog\n")
    with pytest.raises(AnnotationError) as error:
        read_events(path)
    assert f"line 2: offset '{offset}' is more than 7 days" in str(error.value)
    durations = tmp_path / "durations.tsv"
    durations.write_text(f"a.wav\t{offset}\n")
    with pytest.raises(AnnotationError, match="line 1: duration .* is more than 7 days"):
        read_durations(durations)


def test_integers_of_more_than_4300_digits_are_one_line(tmp_path):
    import json

    from sed.errors import SedError
    from sed.heads.head import head_description
    from sed.postprocessing import load_config

    digits = "1" * 5000
    files = {
        "config.toml": f"mode = 'multi'\nmin_gap_seconds = {digits}\n",
        "config.json": f'{{\n "min_gap_seconds": {digits}\n}}\n',
        "events.json": f'{{"recordings": [\n{{"filename": "a.wav", "duration_seconds": {digits}, '
        '"events": []}]}\n',
    }
    readers = {"config.toml": load_config, "config.json": load_config, "events.json": read_events}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(SedError) as error:
            readers[name](tmp_path / name)
        assert "line 2: an integer of more than 4,300 digits" in str(error.value), name
    head = tmp_path / "head"
    head.mkdir()
    (head / "model.keras").write_text("x")
    (head / "labels.txt").write_text("tone\n")
    (head / "head.json").write_text(json.dumps({"format": 1})[:-1] + f', "x": {digits}}}')
    with pytest.raises(SedError, match="head.json: line 1: an integer of more than 4,300 digits"):
        head_description(head)


def test_sed_train_on_an_audio_file_says_it_is_one(tmp_path):
    from sed.errors import ParameterError
    from sed.heads.datasets import load_dataset

    (tmp_path / "rec.wav").write_bytes(b"RIFF....WAVE")
    with pytest.raises(ParameterError, match="is an audio file, not training data"):
        load_dataset(tmp_path / "rec.wav")


# ---- unclear messages ----------------------------------------------------------------------


def test_pipes_and_devices_are_named_for_what_they_are(tmp_path):
    from click.testing import CliRunner

    from sed.cli import cli

    os.mkfifo(tmp_path / "p.wav")
    os.symlink("/dev/zero", tmp_path / "zero.wav")
    runner = CliRunner()
    for name, kind in (("p.wav", "is a pipe (a FIFO"), ("zero.wav", "is a character device")):
        result = runner.invoke(cli, ["detect", str(tmp_path / name), "-o", str(tmp_path / "e.csv")])
        assert result.exit_code == 1, result.output
        assert f"{name}: {kind}" in result.output
        assert (
            "not a regular file: sed reads a recording from a file it can seek in" in result.output
        )


def test_a_wav_of_unknown_length_is_read_whole(tmp_path):
    import numpy as np
    import soundfile as sf

    from sed.audio import audio_info

    path = tmp_path / "stream.wav"
    sf.write(path, np.zeros(16000, np.float32), 16000, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    at = data.index(b"data") + 4
    data[at : at + 4] = (0xFFFFFFFF).to_bytes(4, "little")  # a streaming recorder's header
    path.write_bytes(bytes(data))
    assert audio_info(path).frames == 16000
