"""Strong-label training data: frame targets, sequences, synthetic soundscapes, annotated
recordings and their errors (no TensorFlow here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sed.errors import AnnotationError, AudioError, ParameterError
from sed.heads.datasets import NON_TARGET_LABEL
from sed.heads.mixing import rms
from sed.heads.soundscapes import (
    Clip,
    SoundscapeConfig,
    active_span,
    make_clip,
    synthesise,
)
from sed.heads.strong import (
    IGNORED,
    annotated_recordings,
    cut_sequences,
    frame_targets,
    strong_dataset,
)

RATE = 16000


def test_frame_targets_mark_frames_half_covered_and_every_short_event():
    events = [(0.10, 0.50, "dog"), (1.00, 1.03, "cat"), (0.0, 0.2, "bird")]
    targets = frame_targets(events, 20, 0.08, ["dog", "cat"])
    assert targets.shape == (20, 2) and targets.dtype == np.float32
    # dog 0.10-0.50: frames [0.08,0.16) holds 0.06 >= 0.04, ..., [0.48,0.56) holds 0.02 < 0.04.
    assert np.flatnonzero(targets[:, 0]).tolist() == [1, 2, 3, 4, 5]
    # cat lasts 0.03 s: the frame holding it all ([0.96, 1.04)) is marked.
    assert np.flatnonzero(targets[:, 1]).tolist() == [12]
    table = pd.DataFrame(events, columns=["onset", "offset", "event_label"])
    np.testing.assert_array_equal(frame_targets(table, 20, 0.08, ["dog", "cat"]), targets)


def test_cut_sequences_cover_the_recording_and_pad_a_short_one():
    features = np.arange(10, dtype=np.float32).reshape(10, 1)
    targets = np.ones((10, 2), np.float32)
    sequences = cut_sequences(features, targets, 4, "rec")
    starts = [int(s[0, 0]) for s in sequences.features]
    assert starts == [0, 2, 4, 6]  # every 2 frames, the last one ending with the recording
    assert sequences.features.dtype == np.float16 and list(sequences.groups) == ["rec"] * 4
    short = cut_sequences(features[:3], targets[:3], 5, "short")
    assert short.features.shape == (1, 5, 1)
    assert short.features[0, :, 0].tolist() == [0, 1, 2, 2, 2]
    assert (short.targets[0, 3:] == IGNORED).all() and (short.targets[0, :3] == 1).all()


def test_active_span_leaves_out_a_silent_lead_in_and_tail():
    clip = np.zeros(RATE, np.float32)
    clip[4000:9000] = 0.5 * np.sin(np.arange(5000) / 5)
    clip[:4000] = 1e-4  # 74 dB below: not active
    start, stop = active_span(clip, RATE)
    assert 3840 <= start <= 4000 and 9000 <= stop <= 9160
    assert active_span(np.zeros(100, np.float32), RATE) == (0, 100)


def _clips(rng):
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(8000) / RATE).astype(np.float32)
    return [
        Clip(tone, "tone", "t1"),
        Clip(tone[:4000], "tone", "t2"),
        Clip((0.2 * rng.standard_normal(6000)).astype(np.float32), "noise", "n1"),
    ]


def test_soundscapes_are_reproducible_and_their_labels_are_where_the_events_are(rng):
    clips = _clips(rng)
    background = (0.05 * rng.standard_normal(RATE * 20)).astype(np.float32)
    config = SoundscapeConfig(seconds=4.0, events=(1, 3), ebr_db=(0.0, 0.0), gain_db=(0.0, 0.0))
    first = synthesise(
        clips, [background], 30, np.random.default_rng(3), sample_rate=RATE, config=config
    )
    again = synthesise(
        clips, [background], 30, np.random.default_rng(3), sample_rate=RATE, config=config
    )
    assert all(np.array_equal(a.waveform, b.waveform) for a, b in zip(first, again))
    assert all(a.events == b.events for a, b in zip(first, again))
    labels = [label for s in first for _, _, label in s.events]
    assert min(len(s.events) for s in first) >= 1 and max(len(s.events) for s in first) <= 3
    # Classes drawn uniformly, not by their number of clips (which would give tone 2:1).
    assert 0.6 < labels.count("tone") / labels.count("noise") < 1.5, labels
    single = [s for s in first if len(s.events) == 1 and s.events[0][2] == "tone"]
    assert single, "some soundscape holds one tone"
    soundscape = single[0]
    onset, offset, _ = soundscape.events[0]
    assert len(soundscape.waveform) == 4 * RATE
    start, stop = int(round(onset * RATE)), int(round(offset * RATE))
    # At 0 dB EBR, the event doubles the power where it lies and nowhere else.
    inside = rms(soundscape.waveform[start:stop])
    outside = rms(np.concatenate([soundscape.waveform[:start], soundscape.waveform[stop:]]))
    assert inside / outside == pytest.approx(np.sqrt(2), rel=0.1)


def _band_tilt_db(waveform: np.ndarray) -> float:
    """Power above 3 kHz over power below 300 Hz, in dB."""
    power = np.abs(np.fft.rfft(waveform)) ** 2
    hz = np.fft.rfftfreq(len(waveform), 1 / RATE)
    return float(10 * np.log10(power[hz > 3000].sum() / power[hz < 300].sum()))


def test_filtering_augmentation_tilts_each_soundscape_differently(rng):
    clips = [Clip(0.1 * rng.standard_normal(800).astype(np.float32), "faint", "f1")]
    background = (0.05 * rng.standard_normal(RATE * 20)).astype(np.float32)
    tilts = {}
    for filter_db in (0.0, 12.0):
        config = SoundscapeConfig(
            seconds=2.0, ebr_db=(-80.0, -80.0), gain_db=(0.0, 0.0), filter_db=filter_db
        )
        scapes = synthesise(
            clips, [background], 30, np.random.default_rng(5), sample_rate=RATE, config=config
        )
        tilts[filter_db] = np.array([_band_tilt_db(s.waveform) for s in scapes])
    # White noise: the same tilt in every soundscape, unless shelves of +-12 dB reshape it.
    assert tilts[0.0].std() < 0.5
    assert tilts[12.0].std() > 3.0, tilts[12.0]


def test_reverberation_augmentation_leaves_a_tail_after_the_labelled_offset(rng):
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(4000) / RATE).astype(np.float32)
    background = (1e-4 * rng.standard_normal(RATE * 20)).astype(np.float32)
    tails = {}
    for reverb in (0.0, 1.0):
        config = SoundscapeConfig(
            seconds=3.0, events=(1, 1), ebr_db=(40.0, 40.0), gain_db=(0.0, 0.0), reverb=reverb
        )
        scapes = synthesise(
            [Clip(tone, "tone", "t")],
            [background],
            20,
            np.random.default_rng(7),
            sample_rate=RATE,
            config=config,
        )
        ratios = []
        for scape in scapes:
            onset, offset, _ = scape.events[0]
            # The label spans the dry clip, reverberant or not.
            assert offset - onset == pytest.approx(len(tone) / RATE)
            stop = int(round(offset * RATE))
            if stop + 1600 <= len(scape.waveform):
                event = rms(scape.waveform[int(round(onset * RATE)) : stop])
                ratios.append(rms(scape.waveform[stop : stop + 1600]) / event)
        assert len(scape.waveform) == 3 * RATE
        tails[reverb] = np.median(ratios)
    # 0.1 s after the offset: the background alone (40 dB under the tone) when dry, the room's
    # tail (RT60 >= 0.2 s, at most 10 dB under the direct sound) when reverberant.
    assert tails[0.0] < 0.02
    assert tails[1.0] > 0.05, tails


def test_soundscapes_need_clips_and_backgrounds(rng):
    with pytest.raises(ParameterError, match="needs background recordings"):
        synthesise(_clips(rng), [], 1, rng, sample_rate=RATE)
    with pytest.raises(ParameterError, match="no event clips"):
        synthesise([], [np.ones(10)], 1, rng, sample_rate=RATE)
    with pytest.raises(ParameterError, match="events per soundscape"):
        SoundscapeConfig(events=(3, 1))


def test_make_clip_keeps_the_active_part(rng):
    waveform = np.concatenate([np.zeros(3200), 0.3 * rng.standard_normal(4800)]).astype(np.float32)
    clip = make_clip(waveform, RATE, "x", "g")
    assert 4600 <= len(clip.waveform) <= 4800 and clip.label == "x" and clip.group == "g"


def _write(path, seconds=2.0, rng=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = rng or np.random.default_rng(0)
    sf.write(path, (0.1 * rng.standard_normal(int(RATE * seconds))).astype(np.float32), RATE)
    return path


def test_annotated_recordings_pair_by_name_in_any_format_even_in_one_folder(tmp_path):
    folder = tmp_path / "site"
    _write(folder / "a.wav")
    _write(folder / "b.flac")
    _write(folder / "c.wav")  # not annotated: not used
    (folder / "a.Table.1.selections.txt").write_text(
        "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\t"
        "High Freq (Hz)\tSpecies\n1\tSpectrogram 1\t1\t0.5\t0.9\t100\t2000\twren\n"
    )
    (folder / "b.txt").write_text("0.1\t0.3\trobin\n1.0\t1.5\twren\n")  # Audacity labels
    recordings = annotated_recordings(folder, folder)
    assert [r.path.rsplit("/", 1)[-1] for r in recordings] == ["a.wav", "b.flac"]
    assert recordings[0].events[["onset", "offset", "event_label"]].values.tolist() == [
        [0.5, 0.9, "wren"]
    ]
    data = strong_dataset(recordings=folder, annotations=folder, classes=["wren"])
    assert data.classes == ("wren",) and data.clips is None
    assert data.recordings[1].events["event_label"].tolist() == ["wren"]  # robin ignored
    assert data.summary()["recordings"]["events_per_label"] == {"wren": 2}


def test_an_annotation_naming_an_unknown_recording_is_one_clear_error(tmp_path):
    _write(tmp_path / "audio" / "a.wav")
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "a.tsv").write_text("0.1\t0.3\tdog\n")
    (tmp_path / "ann" / "zzz.tsv").write_text("0.1\t0.3\tdog\n")
    with pytest.raises(AnnotationError) as error:
        annotated_recordings(tmp_path / "audio", tmp_path / "ann")
    assert str(error.value) == (
        f"{tmp_path / 'ann' / 'zzz.tsv'}: annotation names recording 'zzz', which has no "
        f"audio file in {tmp_path / 'audio'}"
    )


def test_strong_dataset_errors(tmp_path):
    with pytest.raises(ParameterError, match="no training data"):
        strong_dataset()
    with pytest.raises(ParameterError, match="both their audio folder and annotations"):
        strong_dataset(recordings=tmp_path)
    for label in ("dog", "cat"):
        _write(tmp_path / "clips" / label / f"{label}.wav")
    with pytest.raises(ParameterError, match="needs background recordings"):
        strong_dataset(tmp_path / "clips")
    (tmp_path / "clips" / "empty").mkdir()
    with pytest.raises(ParameterError, match="class folder has no audio files"):
        strong_dataset(tmp_path / "clips", background=tmp_path / "clips" / "dog")
    _write(tmp_path / "rec" / "r.wav")
    (tmp_path / "rec" / "r.tsv").write_text("0.1\t0.3\tdog\n")
    with pytest.raises(ParameterError, match="class 'owl' has no clip and no annotated event"):
        strong_dataset(recordings=tmp_path / "rec", annotations=tmp_path / "rec", classes=["owl"])
    with pytest.raises(AudioError, match="no such folder"):
        annotated_recordings(tmp_path / "missing", tmp_path / "rec")


def test_non_target_clips_are_drawn_into_soundscapes_with_no_frame_target(tmp_path, rng):
    for label in ("dog", "cat"):
        _write(tmp_path / "clips" / label / f"{label}.wav", rng=rng)
    _write(tmp_path / "bg" / "room.wav", seconds=12.0, rng=rng)
    for number in range(3):
        _write(tmp_path / "other" / f"siren{number}.wav", rng=rng)
    data = strong_dataset(
        tmp_path / "clips", background=tmp_path / "bg", non_target=tmp_path / "other"
    )
    assert data.classes == ("cat", "dog")
    assert data.summary()["clips"]["non_target_clips"] == 3
    assert set(data.summary()["clips"]["per_label"]) == {"cat", "dog", "_background"}
    labels = data.clips.clips["label"]
    clips = [
        make_clip(np.ones(RATE, np.float32), RATE, label, path)
        for path, label in zip(data.clips.clips["path"], labels)
        if label != "_background"
    ]
    soundscapes = synthesise(
        clips, [np.full(RATE * 12, 0.01, np.float32)], 60, rng, sample_rate=RATE
    )
    drawn = [label for s in soundscapes for _, _, label in s.events]
    # One more label in the uniform draw: about a third of the events here.
    assert 0.2 < drawn.count(NON_TARGET_LABEL) / len(drawn) < 0.47
    for soundscape in soundscapes:
        targets = frame_targets(soundscape.events, 125, 0.08, data.classes)
        wanted = frame_targets(
            [e for e in soundscape.events if e[2] != NON_TARGET_LABEL], 125, 0.08, data.classes
        )
        assert np.array_equal(targets, wanted)


def test_non_target_clips_need_event_clips_and_audio(tmp_path):
    _write(tmp_path / "rec" / "r.wav")
    (tmp_path / "rec" / "r.tsv").write_text("0.1\t0.3\tdog\n")
    (tmp_path / "other").mkdir()
    with pytest.raises(ParameterError, match="give DATA too"):
        strong_dataset(
            recordings=tmp_path / "rec", annotations=tmp_path / "rec", non_target=tmp_path / "other"
        )
    for label in ("dog", "cat"):
        _write(tmp_path / "clips" / label / f"{label}.wav")
    with pytest.raises(ParameterError, match="non-target folder has no audio files"):
        strong_dataset(
            tmp_path / "clips", background=tmp_path / "rec", non_target=tmp_path / "other"
        )
