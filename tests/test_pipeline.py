"""The library API's checks of what a notebook hands it: arrays, class lists, models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sed.errors import AudioError, ParameterError
from sed.pipeline import detect, detect_file


@pytest.fixture(scope="module")
def excerpt(bells_wav):
    """Ten seconds of the street recording with a bell, as soundfile reads them: (n,) float32."""
    audio, rate = sf.read(bells_wav, dtype="float32", frames=44100 * 10, start=44100 * 5)
    return audio, rate


def events(detection) -> pd.DataFrame:
    return detection.events.drop(columns="filename")


def test_samples_first_arrays_of_any_float_width_give_the_same_events(excerpt, model):
    audio, rate = excerpt
    mono = detect(audio, rate, model=model, classes="Bicycle bell")
    assert len(mono.events) > 0
    for variant in (np.stack([audio, audio], axis=1), audio.astype(np.float64), audio[:, None]):
        pd.testing.assert_frame_equal(
            events(detect(variant, rate, model=model, classes="Bicycle bell")), events(mono)
        )


@pytest.mark.parametrize(
    "make,error,message",
    [
        (lambda a: np.stack([a, a]), ParameterError, r"looks channels first; pass waveform\.T"),
        (lambda a: (a * 32767).astype(np.int16), ParameterError, r"scale integer samples first"),
        (lambda a: a > 0, ParameterError, "must be floating point in"),
        (lambda a: a.astype(np.complex64), ParameterError, "must be floating point numbers"),
        (lambda a: a.reshape(1, 1, -1), ParameterError, r"shape \(n_samples,\) or"),
        (lambda a: a[:0], AudioError, "audio has no samples"),
        (lambda a: np.zeros((100, 0), np.float32), AudioError, "audio has no samples"),
        (lambda a: np.where(np.arange(len(a)) == 7, np.nan, a), AudioError, "NaN or infinite"),
        (lambda a: list(map(str, a[:10])), ParameterError, "must be floating point numbers"),
    ],
)
def test_arrays_that_are_not_audio_samples_are_refused(excerpt, model, make, error, message):
    audio, rate = excerpt
    with pytest.raises(error, match=message):
        detect(make(audio), rate, model=model)


def test_class_lists_as_a_string_a_list_or_a_tuple(excerpt, model):
    audio, rate = excerpt
    as_text = detect(audio, rate, model=model, classes="Bicycle bell,Ding")
    assert tuple(as_text.window_scores.labels) == ("Bicycle bell", "Ding")
    for classes in (["Bicycle bell", "Ding"], ("Bicycle bell", "Ding"), ["/m/0gy1t2s", "ding"]):
        same = detect(audio, rate, model=model, classes=classes)
        assert tuple(same.window_scores.labels) == ("Bicycle bell", "Ding")
        pd.testing.assert_frame_equal(events(same), events(as_text))
    for bad in ({"Bicycle bell"}, ["Bicycle bell", 3], 198):
        with pytest.raises(ParameterError, match="a string or a list of strings"):
            detect(audio, rate, model=model, classes=bad)


def test_file_detection_takes_the_same_class_lists(bells_wav, model):
    text = detect_file(bells_wav, model=model, classes="Bicycle bell,Ding")
    listed = detect_file(bells_wav, model=model, classes=("Bicycle bell", "Ding"))
    pd.testing.assert_frame_equal(text.events, listed.events)


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda a, r, m: detect(a, r, model=None), "model must be YAMNet as sed.load_model"),
        (lambda a, r, m: detect(a, r, model=m, postprocessing={"threshold_on": 0.3}), "a sed.Post"),
        (lambda a, r, m: detect(a, 44100.0, model=m), "sample rate must be a positive integer"),
        (lambda a, r, m: detect(a, True, model=m), "sample rate must be a positive integer"),
        (lambda a, r, m: detect_file(a, model=m), "path must be a file path.*detect.. takes"),
        (lambda a, r, m: detect_file("x.wav", model="yamnet"), "model must be YAMNet"),
    ],
)
def test_arguments_of_the_wrong_kind_are_one_clear_error(excerpt, model, call, message):
    audio, rate = excerpt
    with pytest.raises(ParameterError, match=message):
        call(audio, rate, model)


def test_plot_file_refuses_to_draw_over_its_recording(tmp_path, model):
    from sed.errors import OutputError
    from sed.pipeline import plot_file

    recording = tmp_path / "rec.png"  # audio, oddly named: the figure would replace it
    recording.write_bytes(b"RIFF")
    with pytest.raises(OutputError, match="would replace an input of this run"):
        plot_file(recording, recording, model=model)
    assert recording.read_bytes() == b"RIFF"
