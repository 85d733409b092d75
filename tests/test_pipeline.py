"""The library API a notebook user calls: the same results as the command line, the same checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import sed
from sed import pipeline
from sed.errors import AnnotationError, AudioError, ParameterError
from sed.postprocessing import PostProcessing


def test_detect_on_an_array_equals_detect_file(bells_wav, model):
    samples, rate = sf.read(bells_wav, dtype="float32")
    from_array = sed.detect(
        samples, rate, model=model, classes="Bicycle bell", filename=str(bells_wav)
    )
    from_file = sed.detect_file(bells_wav, model=model, classes="Bicycle bell")
    pd.testing.assert_frame_equal(from_array.events, from_file.events)
    np.testing.assert_allclose(
        from_array.window_scores.scores, from_file.window_scores.scores, atol=1e-5
    )
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
    pd.testing.assert_frame_equal(strict.events, config.events(strict.window_scores))
    assert ((strict.events["offset"] - strict.events["onset"]) >= 2).all()
    duration = lambda events: (events["offset"] - events["onset"]).sum()  # noqa: E731
    assert duration(strict.events) < duration(loose.events)


def test_tag_file_lists_the_top_classes(bells_wav, model):
    tagging = sed.tag_file(bells_wav, model=model, k=3)
    assert tagging.top["rank"].tolist() == [1, 2, 3]
    assert tagging.top["label"].iloc[0] == "Bicycle bell"
    assert tagging.window_scores.scores.shape == (120, 521)
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
