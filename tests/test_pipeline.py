"""The library API a notebook user calls: the same results as the command line, the same checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import sed
from sed import pipeline
from sed.errors import AnnotationError, AudioError, ParameterError
from sed.pipeline import detect, detect_file
from sed.postprocessing import PostProcessing


def test_detect_on_an_array_equals_detect_file(bells_wav, model):
    samples, rate = sf.read(bells_wav, dtype="float32")
    from_array = sed.detect(
        samples, rate, model=model, classes="Bicycle bell", filename=str(bells_wav)
    )
    from_file = sed.detect_file(bells_wav, model=model, classes="Bicycle bell")
    pd.testing.assert_frame_equal(from_array.events, from_file.events)
    np.testing.assert_allclose(from_array.score_grid.scores, from_file.score_grid.scores, atol=1e-5)
    assert len(from_file.events) >= 3
    assert set(from_file.events["event_label"]) == {"Bicycle bell"}


def test_class_lists_as_a_string_a_list_or_a_tuple(model):
    as_text = pipeline.class_selection(model.class_map, classes="Bicycle bell,Chicken, rooster")
    as_list = pipeline.class_selection(
        model.class_map, classes=["Bicycle bell", "Chicken, rooster"]
    )
    as_tuple = pipeline.class_selection(
        model.class_map, classes=("Bicycle bell", "Chicken, rooster")
    )
    assert as_text == as_list == as_tuple
    assert as_list.event_labels == ("Bicycle bell", "Chicken, rooster")
    with pytest.raises(ParameterError, match="string or a list of strings"):
        pipeline.class_selection(model.class_map, classes=42)
    with pytest.raises(ParameterError, match="either a class list or a label map"):
        pipeline.class_selection(model.class_map, classes="Dog", label_map="map.csv")


def test_a_head_refuses_classes_in_the_library_as_on_the_command_line(model, bells_wav):
    # The head is never loaded: the check comes first, as `sed detect --head ... --classes` does.
    with pytest.raises(ParameterError, match="a head sets the classes"):
        sed.detect_file(bells_wav, model=model, head=object(), classes="Dog")
    with pytest.raises(ParameterError, match="a head sets the classes"):
        pipeline.DetectorSpec(head_dir="somewhere", classes="Dog").build()


def test_postprocessing_is_applied(bells_wav, model):
    config = PostProcessing(threshold_on=0.99, min_duration_seconds=2, boundaries="centres")
    strict = sed.detect_file(bells_wav, model=model, classes="Bicycle bell", postprocessing=config)
    loose = sed.detect_file(bells_wav, model=model, classes="Bicycle bell")
    pd.testing.assert_frame_equal(strict.events, config.events(strict.score_grid))
    assert ((strict.events["offset"] - strict.events["onset"]) >= 2).all()
    duration = lambda events: (events["offset"] - events["onset"]).sum()  # noqa: E731
    assert duration(strict.events) < duration(loose.events)


def test_tag_file_lists_the_top_classes(bells_wav, model):
    tagging = sed.tag_file(bells_wav, model=model, k=3)
    assert tagging.top["rank"].tolist() == [1, 2, 3]
    assert tagging.top["label"].iloc[0] == "Bicycle bell"
    assert tagging.score_grid.scores.shape == (120, 521)
    with pytest.raises(ParameterError, match="k must be at least 1"):
        sed.tag_file(bells_wav, model=model, k=0)


def test_plot_file_checks_the_suffix_first_and_writes_a_figure(bells_wav, model, tmp_path):
    with pytest.raises(ParameterError, match="a figure file must end in"):
        sed.plot_file(bells_wav, tmp_path / "figure.txt", model=model)
    sed.plot_file(bells_wav, tmp_path / "figure.svg", model=model, top_n=3)
    assert (tmp_path / "figure.svg").read_text().lstrip().startswith("<?xml")


def test_score_files_and_development_set(tmp_path, bells_wav, model):
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "bells.wav").write_bytes(bells_wav.read_bytes())
    (tmp_path / "ref").mkdir()
    (tmp_path / "ref" / "bells.tsv").write_text("7.0\t22.0\tBicycle bell\n")
    paths, references = sed.development_set(tmp_path / "audio", tmp_path / "ref")
    assert paths == [str(tmp_path / "audio" / "bells.wav")]
    assert references[paths[0]]["event_label"].tolist() == ["Bicycle bell"]
    selection = sed.class_selection(model.class_map, classes="Bicycle bell")
    scores = sed.score_files(paths, model=model, selection=selection)
    assert scores[0].labels == ("Bicycle bell",) and scores[0].scores.shape == (120, 1)
    (tmp_path / "ref" / "other.tsv").write_text("1.0\t2.0\tdog\n")
    with pytest.raises(AudioError, match="no audio file for annotated recording 'other'"):
        sed.development_set(tmp_path / "audio", tmp_path / "ref")
    with pytest.raises(AnnotationError, match="no such file or folder"):
        sed.development_set(tmp_path / "audio", tmp_path / "nowhere")


def test_detector_spec_records_what_changes_results(tmp_path):
    label_map = tmp_path / "map.csv"
    label_map.write_text("event_label,yamnet_display_names\nbell,Bicycle bell\n")
    spec = pipeline.DetectorSpec(label_map=str(label_map), batch_size=8, threads=1)
    settings = spec.settings()
    assert "batch_size" not in settings and "threads" not in settings
    assert settings["label_map_content"].startswith("event_label,")
    label_map.write_text("event_label,yamnet_display_names\nbell,Bell\n")
    assert pipeline.DetectorSpec(label_map=str(label_map)).settings() != settings


# ---- what a notebook hands the library: arrays, class lists, models -------------------------


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


def test_detect_takes_class_lists_as_a_string_a_list_or_a_tuple(excerpt, model):
    audio, rate = excerpt
    as_text = detect(audio, rate, model=model, classes="Bicycle bell,Ding")
    assert tuple(as_text.score_grid.labels) == ("Bicycle bell", "Ding")
    for classes in (["Bicycle bell", "Ding"], ("Bicycle bell", "Ding"), ["/m/0gy1t2s", "ding"]):
        same = detect(audio, rate, model=model, classes=classes)
        assert tuple(same.score_grid.labels) == ("Bicycle bell", "Ding")
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
