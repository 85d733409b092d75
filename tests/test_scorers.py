"""One scoring interface: raw YAMNet with a label map, a window head and a frame-level head are
scored by the same code in `sed detect` and `sed listen`, and give the same events in both.

The heads here are real `Head` and `FrameHead` objects with untrained (seeded) networks: what is
checked is the scoring path, not what a trained head hears."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sed.cli import cli
from sed.events import events_csv
from sed.heads.frame_head import FrameHead, build_frame_network
from sed.heads.head import Head
from sed.listen import Listener
from sed.model.feature_maps import FeatureSpec
from sed.pipeline import detect_file, load_head, resolve_scorer, tag_file
from sed.postprocessing import PostProcessing
from sed.segmenter import YamnetScorer
from tests.test_listen import LinearNetwork, assert_same_events, listen_to

#: 20 s of the example recording: enough for several 10 s frame-head sequences.
SECONDS = 20


@pytest.fixture(scope="module")
def clip(bells_wav, tmp_path_factory):
    samples, rate = sf.read(bells_wav, dtype="float32")
    path = tmp_path_factory.mktemp("clip") / "bells20.wav"
    sf.write(path, samples[: SECONDS * rate], rate, subtype="FLOAT")
    return path


def frame_head_dir(model, directory, postprocessing: PostProcessing | None):
    """A frame head with a seeded, untrained CRNN, saved as `sed train --frame-level` saves
    one (without the LiteRT conversion), with ``postprocessing`` as its own."""
    import keras

    keras.utils.set_random_seed(3)
    spec = FeatureSpec((6,))
    network = build_frame_network(
        2, spec.width, mean=np.zeros(spec.width), variance=np.ones(spec.width), gru_units=8
    )
    metadata = {
        "yamnet": {"sample_rate": 16000, "weights_sha256": model.weights_sha256},
        "features": {**spec.to_dict(), "hop_seconds": spec.hop_seconds(model.params)},
        "sequence": {"frames": 125, "context_frames": 31},
    }
    if postprocessing is not None:
        metadata["postprocessing"] = postprocessing.to_dict()
    FrameHead(network, ("hum", "ring"), metadata).save(directory, litert=False)
    return directory


@pytest.fixture(scope="module")
def frame_head(model, clip, tmp_path_factory):
    """The frame head, its own post-processing set between its scores' quartiles so that it
    finds events; `refined` boundaries, which frames must never get."""
    probe = load_head(frame_head_dir(model, tmp_path_factory.mktemp("probe"), None), model)
    scores = detect_file(clip, model=model, head=probe).score_grid.scores
    low, high = np.quantile(scores, [0.4, 0.8])
    own = PostProcessing(
        threshold_on=float(high),
        threshold_off=float(low),
        boundaries="refined",
        min_gap_seconds=0.2,
    )
    return frame_head_dir(model, tmp_path_factory.mktemp("frame_head"), own)


def window_head(rng):
    return Head(
        LinearNetwork(rng, 2),
        ("bell", "voice"),
        {
            "yamnet": {"hop_seconds": 0.5, "sample_rate": 16000},
            "head": {"activation": "sigmoid"},
            "postprocessing": PostProcessing(
                threshold_on=0.55, median_filter_seconds=1.0
            ).to_dict(),
        },
    )


def test_every_kind_listens_as_it_detects_with_its_own_postprocessing(
    model, clip, frame_head, shared_data, rng
):
    samples, rate = sf.read(clip, dtype="float32")
    label_map = shared_data / "labels" / "office_to_yamnet.csv"
    kinds = {
        "yamnet": {"label_map": label_map},
        "window head": {"head": window_head(rng)},
        "frame head": {"head": load_head(frame_head, model)},
    }
    for kind, source in kinds.items():
        expected = detect_file(clip, model=model, **source).events
        decided = listen_to(Listener(model, sample_rate=rate, **source), samples, rng)
        assert len(expected) > 0, kind
        assert_same_events(expected, decided)


@pytest.mark.parametrize(
    "config",
    [
        None,  # each kind's own
        PostProcessing(boundaries="centres", threshold_on=0.2),
        PostProcessing(mode="top", boundaries="extents", threshold_on=0.1),
        PostProcessing(
            threshold_on=0.2,
            threshold_off=0.05,
            median_filter_seconds=2.5,
            min_gap_seconds=1.0,
            min_duration_seconds=0.5,
            refine_reach_seconds=5.0,
        ),
    ],
    ids=["own", "centres", "top-extents", "hysteresis-gaps"],
)
def test_every_kind_detects_the_same_events_without_keeping_its_scores(
    model, clip, frame_head, shared_data, rng, config
):
    """Without a score table `sed detect` keeps no scores: each chunk goes through the
    incremental post-processing (EventStream) as it is made. The events, as written, are those
    of the whole grid byte for byte (the mean scores agree to far below the 3 decimals)."""
    kinds = {
        "all classes": {},
        "label map": {"label_map": shared_data / "labels" / "office_to_yamnet.csv"},
        "window head": {"head": window_head(rng)},
        "frame head": {"head": load_head(frame_head, model)},
    }
    for kind, source in kinds.items():
        whole = detect_file(clip, model=model, postprocessing=config, **source)
        flat = detect_file(clip, model=model, postprocessing=config, keep_scores=False, **source)
        assert flat.score_grid is None
        assert len(whole.events) > 0, kind
        assert events_csv(flat.events) == events_csv(whole.events), kind
        assert flat.filename == whole.score_grid.filename == str(clip)
        assert flat.duration_seconds == whole.score_grid.duration_seconds == SECONDS
        np.testing.assert_allclose(
            flat.events["mean_score"], whole.events["mean_score"], rtol=0, atol=1e-6
        )


def test_sed_detect_writes_the_same_events_with_and_without_a_score_table(clip, tmp_path):
    runner = CliRunner()
    for name, extra in (("flat", []), ("whole", ["--scores", str(tmp_path / "s.tsv")])):
        out = tmp_path / f"{name}.csv"
        result = runner.invoke(cli, ["detect", str(clip), "-o", str(out), *extra])
        assert result.exit_code == 0, result.output
    assert (tmp_path / "s.tsv").stat().st_size > 0
    flat, whole = ((tmp_path / f"{name}.csv").read_bytes() for name in ("flat", "whole"))
    assert flat == whole and flat.count(b"\n") > 1


def test_frame_events_span_their_frames_when_listening_too(model, clip, frame_head):
    """The head's own `refined` boundaries are not applied to frames, live or offline: every
    onset and offset lies on the 80 ms grid."""
    head = load_head(frame_head, model)
    assert head.default_postprocessing.boundaries == "refined"
    samples, rate = sf.read(clip, dtype="float32")
    listener = Listener(model, sample_rate=rate, head=head)
    events = listener.push(samples) + listener.finish()
    times = np.array([[event.onset, event.offset] for event in events])
    assert len(times) and np.allclose(times / 0.08, np.round(times / 0.08), atol=1e-6)


def test_sed_listen_takes_a_frame_head_and_prints_the_events_of_detect(
    model, clip, frame_head, tmp_path
):
    """`sed listen - --head FRAME_HEAD` once ended in a traceback; it gives the events that
    `sed detect --head` writes, with the head's own post-processing in both."""
    runner = CliRunner()
    out = tmp_path / "events.csv"
    result = runner.invoke(cli, ["detect", str(clip), "-o", str(out), "--head", str(frame_head)])
    assert result.exit_code == 0, result.output
    detected = [line.split(",")[1:4] for line in out.read_text().splitlines()[1:]]
    result = runner.invoke(
        cli, ["listen", "-", "--head", str(frame_head), "--quiet"], input=clip.read_bytes()
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in io.StringIO(result.stdout) if line.strip()]
    listened = [[f"{item[key]:.3f}" for key in ("onset", "offset")] for item in lines]
    assert detected and [row[:2] for row in detected] == listened
    assert [row[2] for row in detected] == [item["event_label"] for item in lines]


def test_clip_scores_follow_the_scorer(model, clip, frame_head):
    """Tags: mean over 0.96 s windows for YAMNet (the reference's rule), highest frame for a
    frame head; nobody asks which kind of head it is."""
    head = load_head(frame_head, model)
    assert YamnetScorer().clip_aggregation == "mean" and head.clip_aggregation == "max"
    tags = tag_file(clip, model=model, head=head, k=2)
    assert tags.top["score"].tolist() == sorted(tags.score_grid.scores.max(axis=0))[::-1]


def test_a_head_excludes_classes_wherever_scorers_are_made(model, rng):
    from sed.errors import ParameterError
    from sed.pipeline import DetectorSpec

    with pytest.raises(ParameterError, match="a head sets the classes"):
        resolve_scorer(model, head=window_head(rng), classes="Speech")
    with pytest.raises(ParameterError, match="a head sets the classes"):
        DetectorSpec(head_dir="anywhere", label_map="map.csv")


def test_a_live_window_stream_keeps_nothing_per_hop_of_audio(model):
    """The listener's stream, and a file's whose grid is not kept, keep no 10 ms energies for
    window levels (a file's grid does), so a stream of days holds no more than one of minutes."""
    samples = np.zeros(16000 * 5, np.float32)
    live = YamnetScorer().open(model, low_latency=True)
    flat = YamnetScorer().open(model, keep_levels=False)
    whole = YamnetScorer().open(model)
    for stream in (live, flat, whole):
        for item in (stream.prepare(samples), stream.prepare_end()):
            if item is not None:
                stream.score(item)
        stream.finish()
    for stream in (live, flat):
        assert stream.window_levels() is None and not stream._front.energies
    assert len(whole.window_levels()) == model.params.num_windows(len(samples))
