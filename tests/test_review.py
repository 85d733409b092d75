"""``sed review`` without a browser: what goes on the page, the sound and images it is made of, and
the safety of its outputs. (tests/test_review_browser.py uses the page in Chromium.)"""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from click.testing import CliRunner

from sed.audio import find_audio_files, load_audio
from sed.batch import BatchOutputs
from sed.batch_folder import PARAMETERS_FILE, completed_results, make_result
from sed.cli import cli
from sed.errors import AnnotationError, AudioError, OutputError, ParameterError
from sed.events import event_table, read_events, write_events
from sed.features import log_mel_spectrogram
from sed.params import YamnetParams
from sed.review import build_review, load_review_set, media_folder, sample_events
from sed.review.media import (
    CONTEXT_SECONDS,
    MAX_CLIP_EVENT_SECONDS,
    SPECTROGRAM_MAX_COLUMNS,
    SPECTROGRAM_ROWS,
    clip_span,
    clip_spectrogram,
    read_recording,
    write_clip_audio,
)
from sed.review.page import FOLDER_MARKER
from sed.review.recordings import parse_datetime, recording_start

RATE = 22050
#: (name relative to the archive, seconds, events as (onset, offset, label, score)).
RECORDINGS = [
    ("site1/20240601_053000.wav", 8.0, [(1.0, 2.0, "tone", 0.9), (5.0, 6.5, "noise", 0.4)]),
    ("site1/20240602_053000.wav", 6.0, [(0.2, 0.9, "tone", 0.7)]),
    ("site2/plain.flac", 7.0, []),
]


def write_archive(root: Path, rng) -> Path:
    """Recordings with a 1 kHz tone or noise where their events are."""
    for name, seconds, events in RECORDINGS:
        samples = 0.01 * rng.standard_normal(int(seconds * RATE))
        for onset, offset, label, _ in events:
            span = slice(int(onset * RATE), int(offset * RATE))
            t = np.arange(span.stop - span.start) / RATE
            samples[span] += (
                0.5 * np.sin(2 * np.pi * 1000 * t)
                if label == "tone"
                else 0.3 * rng.standard_normal(len(t))
            )
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / name, samples.astype(np.float32), RATE)
    return root


def write_batch(root: Path, rng) -> Path:
    """A batch output folder as ``sed detect`` leaves it (without running the model)."""
    archive = write_archive(root / "archive", rng)
    out = root / "out"
    outputs = BatchOutputs(str(out), ["csv"])
    out.mkdir()
    (out / PARAMETERS_FILE).write_text(
        json.dumps({"fingerprint": "f1", "settings": {"classes": "tone,noise", "hop_seconds": 0.5}})
    )
    events_of = {name: events for name, _, events in RECORDINGS}
    for recording in find_audio_files([str(archive)]).files:
        rows = [
            {"filename": recording.path, "onset": a, "offset": b, "event_label": c, "score": d}
            for a, b, c, d in events_of[recording.relative]
        ]
        duration = sf.info(recording.path).duration
        outputs.write(recording, make_result(recording, event_table(rows), duration, "f1"))
    return out


@pytest.fixture
def batch(tmp_path, rng):
    return write_batch(tmp_path, rng)


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    """A batch, references for its first recording, and its review page (built once)."""
    root = tmp_path_factory.mktemp("reviewed")
    batch = write_batch(root, np.random.default_rng(20261130))
    (batch / "failures.csv").write_text(
        "path,error\narchive/site2/bad.wav,file is empty (0 bytes)\n"
    )
    (root / "refs").mkdir()
    (root / "refs" / "20240601_053000.tsv").write_text("1.1\t2.0\ttone\n5.0\t6.0\tnoise\n")
    written = build_review(batch, root / "review.html", reference=root / "refs")
    return root, written


def page_data(page: Path) -> dict:
    text = page.read_text(encoding="utf-8")
    found = re.search(
        r'<script type="application/json" id="review-data">(.*?)</script>', text, re.S
    )
    return json.loads(found.group(1))


# --- the page and its folder -----------------------------------------------------------------


def test_the_page_holds_every_event_and_every_file_it_names_exists(reviewed):
    root, written = reviewed
    data = page_data(root / "review.html")
    assert written.events == written.shown_events == len(data["events"]) == 3
    assert [r["name"] for r in data["recordings"]] == [name for name, _, _ in RECORDINGS]
    assert [r["events"] for r in data["recordings"]] == [2, 1, 0]
    assert [r["references"] for r in data["recordings"]] == [2, 0, 0]
    assert data["recordings"][0]["start"] == "2024-06-01T05:30:00"
    assert data["recordings"][2]["start"] is None
    assert data["totals"]["events"] == 3 and data["totals"]["dated"] == 2
    assert {e["label"]: e["on"] for e in data["events"]} == {"tone": "0.200", "noise": "5.000"}
    assert data["verdict_file"] == "review_verdicts.csv"
    assert data["verdict_columns"][-2:] == ["verdict", "corrected_label"]
    assert data["settings"][0] == "classes: tone,noise"
    assert data["failures"] == [["archive/site2/bad.wav", "file is empty (0 bytes)"]]
    named = [r["image"] for r in data["recordings"]]
    named += [e[k] for e in data["events"] for k in ("image", "audio")]
    named += [a["src"] for tag, a, _ in page_elements(root / "review.html") if tag == "img"]
    assert len(named) == 3 + 2 * 3 + 2
    for relative in named:
        assert (root / relative).is_file(), relative
    folder = Path(written.folder)
    assert folder == root / "review_files" and (folder / FOLDER_MARKER).is_file()
    umask = os.umask(0)
    os.umask(umask)
    assert folder.stat().st_mode & 0o777 == 0o777 & ~umask  # as any new folder, not private
    assert written.folder_files == sum(len(files) for _, _, files in os.walk(folder))
    assert written.page_bytes == (root / "review.html").stat().st_size
    assert str(written).startswith("3 recordings, 3 events; ")


def test_clips_hold_the_event_with_a_second_either_side(reviewed):
    root, _ = reviewed
    for event in page_data(root / "review.html")["events"]:
        onset, offset = float(event["on"]), float(event["off"])
        assert event["clip"] == [max(0.0, onset - 1), offset + 1]
        info = sf.info(root / event["audio"])
        assert event["audio"].endswith(".mp3") and info.samplerate == RATE
        assert abs(info.duration - (event["clip"][1] - event["clip"][0])) < 0.01
        assert abs(event["clip_seconds"] - info.duration) < 0.01


def test_data_in_names_cannot_break_out_of_the_page(tmp_path, rng):
    archive = write_archive(tmp_path / "a", rng)
    events = event_table(
        [
            {
                "filename": "x",
                "onset": 1.0,
                "offset": 2.0,
                "event_label": "</script><script>alert(1)</script>",
                "score": 0.5,
            }
        ]
    )
    write_events(events, tmp_path / "x.csv")
    build_review(
        tmp_path / "x.csv", tmp_path / "p.html", audio=archive / "site1" / "20240601_053000.wav"
    )
    text = (tmp_path / "p.html").read_text()
    assert text.count("</script>") == 2  # the data's and the program's own
    assert page_data(tmp_path / "p.html")["events"][0]["label"].startswith("</script>")


def test_max_per_label_keeps_the_highest_the_lowest_and_a_random_sample(rng):
    scores = rng.permutation(np.linspace(0.05, 0.95, 30))
    events = event_table(
        [
            {
                "filename": "a",
                "onset": float(i),
                "offset": i + 0.5,
                "event_label": "dog",
                "score": s,
            }
            for i, s in enumerate(scores)
        ]
        + [{"filename": "a", "onset": 1.0, "offset": 2.0, "event_label": "cat", "score": 0.5}]
    )
    kept = sample_events(events, 7, seed=1)
    dogs = kept[kept["event_label"] == "dog"].sort_values("score")
    assert len(dogs) == 7 and kept[kept["event_label"] == "cat"]["sample"].tolist() == ["all"]
    ranked = np.sort(scores)
    assert dogs[dogs["sample"] == "highest"]["score"].tolist() == pytest.approx(ranked[-3:])
    assert dogs[dogs["sample"] == "lowest"]["score"].tolist() == pytest.approx(ranked[:2])
    middle = dogs[dogs["sample"] == "random"]["score"]
    assert len(middle) == 2 and middle.between(ranked[2], ranked[-4]).all()
    again = sample_events(events, 7, seed=1)
    assert again.index.tolist() == kept.index.tolist()  # the same seed gives the same sample
    assert sample_events(events, 7, seed=2).index.tolist() != kept.index.tolist()
    assert kept.index.is_monotonic_increasing  # in the table's order
    assert sample_events(events, None)["sample"].eq("all").all()
    with pytest.raises(ParameterError, match="at least 1"):
        sample_events(events, 0)


def test_references_are_matched_by_stem(reviewed):
    root, _ = reviewed
    review_set = load_review_set(root / "out", reference=root / "refs")
    assert [len(r.reference) for r in review_set.recordings] == [2, 0, 0]
    assert review_set.recordings[0].reference["event_label"].tolist() == ["tone", "noise"]


def test_raven_references_with_their_label_column(batch, tmp_path):
    # A Raven table of the second recording, its labels under "Call type" (one selection listed
    # for both views, as Raven writes it), is that recording's reference.
    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "20240602_053000.Table.1.selections.txt").write_text(
        "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tCall type\tNotes\n"
        "1\tWaveform 1\t1\t2.5\t3.0\ttone\tclear\n"
        "1\tSpectrogram 1\t1\t2.5\t3.0\ttone\tclear\n"
    )
    with pytest.raises(AnnotationError, match="no label column"):
        load_review_set(batch, reference=tmp_path / "refs")
    review_set = load_review_set(batch, reference=tmp_path / "refs", label_column="Call type")
    references = [
        r.reference[["onset", "event_label"]].values.tolist() for r in review_set.recordings
    ]
    assert [r.name for r in review_set.recordings][1].endswith("20240602_053000.wav")
    assert references == [[], [[2.5, "tone"]], []]


def test_a_batch_whose_recordings_moved_needs_audio(batch, tmp_path):
    archive = tmp_path / "archive"
    archive.rename(tmp_path / "moved")
    with pytest.raises(AudioError, match="give the recordings' folder"):
        build_review(batch, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "r_files").exists()
    review_set = load_review_set(batch, audio=tmp_path / "moved")
    assert [r.audio_path for r in review_set.recordings] == [
        str(tmp_path / "moved" / name) for name, _, _ in RECORDINGS
    ]


def test_an_events_file_with_its_recording(tmp_path, rng):
    archive = write_archive(tmp_path / "a", rng)
    (tmp_path / "20240601_053000.tsv").write_text("1.0\t2.0\ttone\n")
    review_set = load_review_set(tmp_path / "20240601_053000.tsv", audio=archive / "site1")
    (recording,) = review_set.recordings
    assert recording.name == "20240601_053000"
    assert recording.audio_path == str(archive / "site1" / "20240601_053000.wav")
    assert recording.duration_seconds == 8.0 and recording.sample_rate == RATE
    with pytest.raises(AudioError, match="no audio file for recording"):
        load_review_set(tmp_path / "20240601_053000.tsv", audio=archive / "site2")


def test_batch_results_of_other_settings_are_not_the_batch(batch):
    results = completed_results(batch)
    assert [relative for relative, _ in results] == [name for name, _, _ in RECORDINGS]
    parameters = json.loads((batch / PARAMETERS_FILE).read_text())
    (batch / PARAMETERS_FILE).write_text(json.dumps(dict(parameters, fingerprint="f2")))
    assert completed_results(batch) == []
    with pytest.raises(AnnotationError, match="no completed recording"):
        load_review_set(batch)
    with pytest.raises(AnnotationError, match="not a batch output folder"):
        completed_results(batch / "site1")


# --- outputs: nothing a user owns is replaced --------------------------------------------------


def test_a_page_not_written_by_sed_review_is_never_replaced(batch, tmp_path):
    mine = tmp_path / "notes.html"
    mine.write_text("<html>my notes</html>")
    with pytest.raises(ParameterError, match="not written by sed review"):
        build_review(batch, mine)
    assert mine.read_text() == "<html>my notes</html>"
    (tmp_path / "other_files").mkdir()
    (tmp_path / "other_files" / "photo.jpg").write_bytes(b"jpg")
    with pytest.raises(ParameterError, match="media folder"):
        build_review(batch, tmp_path / "other.html")
    assert os.listdir(tmp_path / "other_files") == ["photo.jpg"]
    with pytest.raises(ParameterError, match=r"must end in \.html"):
        build_review(batch, tmp_path / "review.png")
    # The checks every command makes (sed.outputs), before any audio is read.
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="notes.txt is a file, not a folder"):
        build_review(batch, tmp_path / "notes.txt" / "review.html")
    (tmp_path / "pages.html").mkdir()
    with pytest.raises(OutputError, match="needs a file name, and this is a folder"):
        build_review(batch, tmp_path / "pages.html")
    with pytest.raises(OutputError, match="has a name too long"):
        build_review(batch, tmp_path / ("r" * 250 + ".html"))


def test_a_new_review_replaces_its_own_page_and_folder_whole(batch, tmp_path):
    page = tmp_path / "review.html"
    build_review(batch, page)
    stale = Path(media_folder(page)) / "r00009"
    stale.mkdir()
    build_review(batch, page, max_per_label=1)
    assert not stale.exists() and len(page_data(page)["events"]) == 2
    assert [n for n in os.listdir(tmp_path) if n.startswith(".")] == []


def test_an_interrupted_review_leaves_the_previous_one_as_it_was(batch, tmp_path, monkeypatch):
    page = tmp_path / "review.html"
    build_review(batch, page)
    before = page.read_text()
    files_before = sorted(p.name for p in Path(media_folder(page)).rglob("*"))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("sed.review.page.write_clip_audio", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_review(batch, page, max_per_label=1)
    assert page.read_text() == before
    assert sorted(p.name for p in Path(media_folder(page)).rglob("*")) == files_before
    assert [n for n in os.listdir(tmp_path) if n.startswith(".")] == []


def test_the_command_line_with_max_per_label(batch, tmp_path):
    result = CliRunner().invoke(
        cli, ["review", str(batch), "-o", str(tmp_path / "r.html"), "--max-per-label", "1"]
    )
    assert result.exit_code == 0, result.output
    assert re.fullmatch(
        r"3 recordings, 2 of 3 events shown; .*r\.html \(\d+\.\d kB\), .*r_files/ "
        r"\(\d+\.\d (kB|MB) in 10 files\); \d+\.\d s\n",
        result.stdout,
    )
    data = page_data(tmp_path / "r.html")
    assert data["sampling"] == {"max_per_label": 1, "seed": 0}
    assert {(x["label"], x["events"], x["shown"]) for x in data["labels"]} == {
        ("tone", 2, 1),
        ("noise", 1, 1),
    }
    assert [e["why"] for e in data["events"] if e["label"] == "tone"] == ["highest"]
    bad = CliRunner().invoke(cli, ["review", str(batch), "-o", str(tmp_path / "r.txt")])
    assert bad.exit_code == 2 and "must end in .html" in bad.output
    missing = CliRunner().invoke(cli, ["review", str(tmp_path / "nothing"), "-o", "x.html"])
    assert missing.exit_code == 1 and "no such file or folder" in missing.output
    assert "Traceback" not in missing.output


# --- sound and images ----------------------------------------------------------------------------


def test_one_pass_gives_the_clips_and_the_overview_of_the_whole_signal(tmp_path, rng):
    # 20 s of 44.1 kHz stereo: 4 decoding blocks, clips across their edges.
    rate = 44100
    stereo = (0.2 * rng.standard_normal((20 * rate, 2))).astype(np.float32)
    sf.write(tmp_path / "x.flac", stereo, rate, subtype="PCM_24")
    spans = [(0.0, 1.5), (11.0, 13.5), (5.5, 6.5), (5.8, 12.0), (19.0, 20.5), (20.2, 21.0)]
    sound = read_recording(tmp_path / "x.flac", spans, overview_columns=300)
    native, _ = sf.read(tmp_path / "x.flac", dtype="float32")
    mono = native.mean(axis=1)
    for (start, end), clip in zip(spans, sound.clips):
        np.testing.assert_allclose(clip, mono[round(start * rate) : round(end * rate)], atol=1e-6)
    assert len(sound.clips[-2]) == rate and len(sound.clips[-1]) == 0  # past the end
    delivered = []
    streamed = read_recording(
        tmp_path / "x.flac", spans, on_clip=lambda k, clip: delivered.append((k, len(clip)))
    )
    assert streamed.clips == [] and [k for k, _ in delivered] == [0, 2, 3, 1, 4, 5]
    assert [n for _, n in sorted(delivered)] == [len(clip) for clip in sound.clips]
    params = YamnetParams()
    waveform, _ = load_audio(tmp_path / "x.flac")
    whole = log_mel_spectrogram(waveform, params)
    pool = int(round(sound.seconds_per_column / params.stft_hop_seconds))
    assert pool == 7 and len(sound.overview) == -(-len(whole) // pool) <= 300
    expected = np.array([whole[i : i + pool].max(axis=0) for i in range(0, len(whole), pool)])
    np.testing.assert_allclose(sound.overview, expected, atol=1e-4)


@pytest.mark.parametrize(
    "onset,offset,expected",
    [
        (5.0, 6.0, (4.0, 7.0)),
        (0.3, 1.0, (0.0, 2.0)),
        (8.5, 9.9, (7.5, 10.0)),
        (2.0, 30.0, (1.0, 2.0 + MAX_CLIP_EVENT_SECONDS + CONTEXT_SECONDS)),
        (10.0, 10.0, (9.0, 10.0)),
    ],
)
def test_clip_span(onset, offset, expected):
    assert clip_span(onset, offset, 10.0 if offset < 20 else 60.0) == pytest.approx(expected)


def test_a_tone_lights_its_row_of_the_clip_spectrogram():
    rate = 32000
    t = np.arange(3 * rate) / rate
    spectrogram = clip_spectrogram(np.sin(2 * np.pi * 4000 * t), rate)
    assert spectrogram.shape[0] <= SPECTROGRAM_ROWS
    assert spectrogram.shape[1] <= SPECTROGRAM_MAX_COLUMNS
    loudest = int(np.argmax(spectrogram.mean(axis=1)))
    assert abs(loudest / spectrogram.shape[0] * rate / 2 - 4000) < rate / 2 / spectrogram.shape[0]


@pytest.mark.parametrize("audio_format,rate", [("mp3", 44100), ("opus", 48000), ("mp3", 48000)])
def test_clips_are_compressed_and_keep_their_length(tmp_path, rng, audio_format, rate):
    samples = (0.1 * rng.standard_normal(int(2.5 * 22050))).astype(np.float32)
    suffix = ".mp3" if audio_format == "mp3" else ".ogg"
    source_rate = 22050 if rate == 44100 else 96000
    seconds = write_clip_audio(samples, source_rate, tmp_path / f"c{suffix}", audio_format)
    info = sf.info(tmp_path / f"c{suffix}")
    assert abs(info.duration - len(samples) / source_rate) < 0.01
    assert abs(seconds - len(samples) / source_rate) < 0.01
    assert info.samplerate == (22050 if rate == 44100 else 48000)
    assert os.path.getsize(tmp_path / f"c{suffix}") < 4 * len(samples) / 10  # compressed


# --- start times --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,expected",
    [
        ("20190621_053000.WAV", datetime(2019, 6, 21, 5, 30)),
        ("SITE3_20190621_053012.wav", datetime(2019, 6, 21, 5, 30, 12)),
        ("2019-06-21T05-30-00.flac", datetime(2019, 6, 21, 5, 30)),
        ("rec 2019-06-21 05:30:00.wav", datetime(2019, 6, 21, 5, 30)),
        ("night_2019-06-21.wav", datetime(2019, 6, 21)),
        ("20190621.wav", datetime(2019, 6, 21)),
        ("take_12345678.wav", None),
        ("20191341_053000.wav", None),
        ("street.wav", None),
    ],
)
def test_start_times_in_names(name, expected):
    assert parse_datetime(name) == expected


def test_start_times_in_metadata(tmp_path):
    with sf.SoundFile(tmp_path / "a.wav", "w", 16000, 1) as handle:
        handle.comment = "Recorded at 05:30:00 21/06/2019 (UTC) by AudioMoth 24F3190 at medium gain"
        handle.write(np.zeros(1600, np.float32))
    assert recording_start(tmp_path / "a.wav") == (datetime(2019, 6, 21, 5, 30), "metadata")
    with sf.SoundFile(tmp_path / "20200101_000000.flac", "w", 16000, 1) as handle:
        handle.date = "2021-03-04T05:06:07"
        handle.write(np.zeros(1600, np.float32))
    assert recording_start(tmp_path / "20200101_000000.flac") == (datetime(2020, 1, 1), "name")
    os.rename(tmp_path / "20200101_000000.flac", tmp_path / "b.flac")
    assert recording_start(tmp_path / "b.flac") == (datetime(2021, 3, 4, 5, 6, 7), "metadata")
    assert recording_start(tmp_path / "missing.wav") == (None, "")


# --- the verdicts file as events -----------------------------------------------------------------


def test_a_verdicts_file_reads_as_the_events_it_confirms(tmp_path):
    (tmp_path / "v.csv").write_text(
        "filename,onset,offset,event_label,score,verdict,corrected_label\n"
        "a.wav,1.000,2.000,dog,0.900,correct,\n"
        "a.wav,3.000,4.000,dog,0.400,wrong,\n"
        'a.wav,5.000,6.000,dog,0.300,relabelled,"Chicken, rooster"\n'
        "b.wav,1.000,2.000,cat,0.800,,\n"
    )
    read = read_events(tmp_path / "v.csv")
    assert read.events[["filename", "onset", "offset", "event_label"]].values.tolist() == [
        ["a.wav", 1.0, 2.0, "dog"],
        ["a.wav", 5.0, 6.0, "Chicken, rooster"],
    ]
    assert read.events["score"].tolist() == [0.9, 0.3]
    assert read.recordings == ["a.wav"]  # b.wav has no verdict: not reviewed, not listed
    (tmp_path / "all_wrong.csv").write_text(
        "filename,onset,offset,event_label,score,verdict,corrected_label\n"
        "c.wav,1.000,2.000,dog,0.900,wrong,\n"
    )
    all_wrong = read_events(tmp_path / "all_wrong.csv")
    assert all_wrong.events.empty and all_wrong.recordings == ["c.wav"]
    assert all_wrong.unlabeled == 0
    events = read.events
    (tmp_path / "bad.csv").write_text(
        "filename,onset,offset,event_label,score,verdict,corrected_label\n"
        "a.wav,1,2,dog,0.9,maybe,\n"
    )
    with pytest.raises(AnnotationError, match="line 2: unknown verdict 'maybe'"):
        read_events(tmp_path / "bad.csv")
    (tmp_path / "bad.csv").write_text(
        "filename,onset,offset,event_label,score,verdict,corrected_label\n"
        "a.wav,1,2,dog,0.9,relabelled,\n"
    )
    with pytest.raises(AnnotationError, match="relabelled without corrected_label"):
        read_events(tmp_path / "bad.csv")
    assert pd.api.types.is_float_dtype(events["onset"])


def test_a_verdicts_file_is_the_annotations_of_its_recordings(tmp_path, rng):
    # What sed tune (and any training on strong labels) reads: recordings paired with their
    # confirmed events; the recording whose events were all wrong is annotated with none.
    from sed.annotations import development_set

    for name in ("a", "c", "d"):
        sf.write(tmp_path / f"{name}.wav", rng.standard_normal(16000) * 0.1, 16000)
    (tmp_path / "v.csv").write_text(
        "filename,onset,offset,event_label,score,verdict,corrected_label\n"
        "a.wav,0.100,0.400,dog,0.900,correct,\n"
        "a.wav,0.500,0.700,dog,0.300,relabelled,cat\n"
        "c.wav,0.200,0.300,dog,0.700,wrong,\n"
    )
    paths, references = development_set(tmp_path, tmp_path / "v.csv")
    assert [Path(p).name for p in paths] == ["a.wav", "c.wav"]  # d.wav was not reviewed
    assert references[paths[0]][["onset", "offset", "event_label"]].values.tolist() == [
        [0.1, 0.4, "dog"],
        [0.5, 0.7, "cat"],
    ]
    assert references[paths[1]].empty


def test_page_times_are_written_as_the_batch_csv_writes_them(tmp_path, rng):
    # Verdict rows are matched to the batch's rows by these strings: ties (x.xxx5) must round
    # as write_events_csv rounds them (sed.events.round_seconds), not as Python's round() does.
    from sed.events import write_events_csv
    from sed.review.page import _number

    values = np.round(rng.uniform(0, 60, 2000) * 2000) / 2000
    events = event_table(
        [
            {"filename": "a", "onset": v, "offset": v + 1, "event_label": "x", "score": 0.5}
            for v in values
        ]
    )
    write_events_csv(events, tmp_path / "e.csv")
    written = pd.read_csv(tmp_path / "e.csv", dtype=str)
    assert [_number(v) for v in events["onset"]] == written["onset"].tolist()
    assert _number(float("nan")) == ""


@pytest.mark.slow
def test_sigterm_stops_a_review_and_leaves_the_previous_one(batch, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    page = tmp_path / "review.html"
    build_review(batch, page)
    before = page.read_text()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "sed"), "review", str(batch), "-o", str(page)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".review_files.*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    try:
        status = process.wait(timeout=120)
    finally:
        process.kill()  # a review that hangs must not outlive the test
        process.wait()
    assert status == 143
    assert page.read_text() == before
    assert [n for n in os.listdir(tmp_path) if n.startswith(".")] == []


# --- the page's layout and charts --------------------------------------------------------------


class _Elements(HTMLParser):
    """The page's elements in document order: (tag, attributes, depth of open <details>)."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict, list[dict]]] = []
        self._details: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.found.append((tag, attributes, list(self._details)))
        if tag == "details":
            self._details.append(attributes)

    def handle_endtag(self, tag):
        if tag == "details":
            self._details.pop()


def page_elements(page: Path) -> list[tuple[str, dict, list[dict]]]:
    parser = _Elements()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.found


def test_the_events_come_first_and_the_summary_is_folded(reviewed):
    root, _ = reviewed
    elements = page_elements(root / "review.html")
    ids = [attributes.get("id") for _, attributes, _ in elements]
    assert ids.index("events-heading") < ids.index("summary-heading") < ids.index("recordings")
    _, _, inside = elements[ids.index("summary-heading")]
    assert [d.get("id") for d in inside] == ["summary"] and "open" not in inside[0]
    # The summary's charts are on the page, folded with it, their text alternative as caption.
    figures = [(a, d) for tag, a, d in elements if tag == "figure"]
    assert [a["id"] for a, _ in figures] == ["histograms", "detections"]
    assert all(d and d[0].get("id") == "summary" for _, d in figures)
    images = [a for tag, a, _ in elements if tag == "img"]
    assert images[-1]["src"] == "review_files/detections.png"
    assert images[-1]["alt"].startswith("Events per day and by hour of the day")


def test_a_batch_without_events_has_no_empty_chart(tmp_path, rng, monkeypatch):
    quiet = [(name, seconds, []) for name, seconds, _ in RECORDINGS]
    monkeypatch.setattr(sys.modules[__name__], "RECORDINGS", quiet)
    build_review(write_batch(tmp_path, rng), tmp_path / "r.html", audio=tmp_path / "archive")
    assert [tag for tag, _, _ in page_elements(tmp_path / "r.html") if tag == "figure"] == []
    assert not list((tmp_path / "r_files").glob("*.png"))


def test_the_charts_name_their_axes():
    from sed.review.figures import detections_figure, overview_figure, score_histograms_figure

    events = event_table(
        [
            {"filename": "a", "onset": 1.0, "offset": 2.0, "event_label": "dog", "score": 0.9},
            {"filename": "b", "onset": 1.0, "offset": 2.0, "event_label": "cat", "score": 0.4},
            {"filename": "b", "onset": 3.0, "offset": 4.0, "event_label": "dog", "score": 0.6},
        ]
    ).assign(recording=[0, 2, 2])
    names = ["site/a.wav", "site/b.wav", "site/c.wav"]
    # Events only in recordings without a start time: per recording, not empty per-day charts.
    figure, description = detections_figure(events, [None, datetime(2024, 6, 1), None], names)
    (axis,) = figure.axes
    figure.canvas.draw()
    assert [t.get_text() for t in axis.get_xticklabels()] == names
    assert axis.get_xlim() == (-0.5, 2.5)
    assert axis.get_ylabel() == "events" and axis.get_xlabel().startswith("recording")
    assert description.startswith("Events per recording")
    dated, _ = detections_figure(events, [datetime(2024, 6, 1), None, datetime(2024, 6, 2)], names)
    assert [a.get_xlabel() for a in dated.axes] == [
        "day (clock of the recorder)",
        "hour of the day (clock of the recorder)",
    ]
    histograms = score_histograms_figure(events, ["dog", "cat"])
    assert [(a.get_xlabel(), a.get_ylabel()) for a in histograms.axes] == [
        ("score", "events"),
        ("score", ""),
    ]
    # A recording without events: its spectrogram alone, frequency in Hz, no empty event roll.
    log_mel = np.zeros((100, 64), np.float32)
    alone = overview_figure(log_mel, 0.1, 10.0)
    assert len(alone.axes) == 1
    assert alone.axes[0].get_ylabel() == "frequency (Hz)"
    assert alone.axes[0].get_ylim() == (125.0, 7500.0)
    assert len(overview_figure(log_mel, 0.1, 10.0, estimated=events).axes) == 2
