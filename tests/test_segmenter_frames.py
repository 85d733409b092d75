"""Frame scores: a frame classifier over streamed feature maps gives the same scores whatever the
block sizes, sequences cover every frame once, and the scores type knows its grid."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import soundfile as sf

from sed.model.feature_maps import FeatureSpec
from sed.postprocessing import PostProcessing, detect_events
from sed.scores import ScoreGrid
from sed.segmenter import (
    FrameScoreStream,
    SequenceStream,
    frame_features,
    score_stream,
    score_waveform,
)


@dataclasses.dataclass
class PositionalClassifier:
    """A stand-in for a frame head whose scores depend on a frame's place in its sequence (as
    a recurrent network's do): sequences cut elsewhere would give other scores."""

    feature_spec: FeatureSpec = FeatureSpec((6,))
    sequence_frames: int = 20
    context_frames: int = 4
    labels: tuple = ("a", "b")
    calls: list = dataclasses.field(default_factory=list)

    # What makes it a scorer (sed.segmenter.Scorer), as a frame head is one.
    default_postprocessing = None
    clip_aggregation = "max"

    def check_compatible(self, model):
        pass

    def open(self, model, *, low_latency=False, **window_options):
        return FrameScoreStream(model, self, low_latency=low_latency)

    def predict_sequences(self, features):
        self.calls.append(features.shape)
        running = (
            np.cumsum(features[..., :2], axis=1)
            / np.arange(1, features.shape[1] + 1)[None, :, None]
        )
        return 1 / (1 + np.exp(-running))


@pytest.fixture(scope="module")
def bells(bells_wav):
    waveform, rate = sf.read(bells_wav, dtype="float32")
    return waveform


def reference_scores(features, classifier):
    """Each frame's score from the sequence that keeps it, computed one sequence at a time."""
    n, length, context = len(features), classifier.sequence_frames, classifier.context_frames
    core = length - 2 * context
    scores = np.zeros((n, len(classifier.labels)), np.float32)
    start, done = 0, 0
    while start + length <= n:
        keep_to = start + context + core
        scores[done:keep_to] = classifier.predict_sequences(features[None, start : start + length])[
            0, done - start : keep_to - start
        ]
        done, start = keep_to, start + core
    if done < n:
        first = max(0, n - length)
        scores[done:] = classifier.predict_sequences(features[None, first:])[0, done - first :]
    return scores


@pytest.mark.parametrize("n_frames", [1, 7, 20, 21, 75, 200])
@pytest.mark.parametrize("piece", [1, 13, 1000])
def test_sequences_score_every_frame_once_however_the_frames_arrive(rng, n_frames, piece):
    classifier = PositionalClassifier()
    features = rng.normal(size=(n_frames, 256)).astype(np.float32)
    stream = SequenceStream(classifier, batch_size=3)
    parts = [stream.push(features[i : i + piece]) for i in range(0, n_frames, piece)]
    scores = np.concatenate([*parts, stream.finish()])
    np.testing.assert_allclose(scores, reference_scores(features, classifier), rtol=1e-6)
    assert all(shape[1] == min(20, n_frames) for shape in classifier.calls)


def test_a_sequence_without_a_centre_is_refused():
    with pytest.raises(Exception, match="no centre"):
        SequenceStream(PositionalClassifier(sequence_frames=8, context_frames=4))


@pytest.mark.parametrize("block", [4321, 160_000])
def test_streamed_frame_scores_equal_scores_of_the_whole_file_features(model, bells, block):
    classifier = PositionalClassifier()
    waveform = bells[: 20 * 16000 + 123]
    whole = frame_features([waveform], model, classifier.feature_spec)
    blocks = (waveform[i : i + block] for i in range(0, len(waveform), block))
    scored = score_stream(blocks, model, classifier, filename="x.wav")
    assert len(scored) == len(whole) == -(-len(waveform) // 1280)
    np.testing.assert_allclose(
        scored.scores, reference_scores(whole.features, classifier), atol=1e-5
    )
    assert scored.hop_seconds == 0.08 and scored.row_seconds == pytest.approx(0.08)
    assert scored.frames_tile and scored.embeddings is None
    assert scored.starts[-1] == pytest.approx(0.08 * (len(scored) - 1))
    assert scored.duration_seconds == pytest.approx(len(waveform) / 16000)
    assert len(scored.frame_level_db) >= len(waveform) // 160


def test_a_single_frame_still_knows_its_hop(model):
    scored = score_waveform(np.zeros(500, np.float32), model, PositionalClassifier())
    assert len(scored) == 1 and scored.hop_seconds == 0.08 and scored.frames_tile


def test_events_on_frames_span_their_frames_whatever_the_boundary_convention():
    starts = np.arange(50) * 0.08
    scores = np.zeros((50, 1), np.float32)
    scores[10:16] = 0.9
    level = np.full(500, -40.0, np.float32)  # a flat level: `refined` would keep `centres`
    level[95:170] = 0.0  # ... and here a loud stretch that `refined` would grow the event into
    frames = ScoreGrid(
        "r.wav", starts, starts + 0.08, scores, ("x",), 4.0, None, level, None, 0.08, True
    )
    windows = dataclasses.replace(frames, ends=starts + 0.96, hop=None, frames_tile=False)
    assert frames.frames_tile and not windows.frames_tile
    for boundaries in ("extents", "centres", "refined"):
        events = detect_events(frames, PostProcessing(boundaries=boundaries))
        assert events[["onset", "offset"]].values.tolist() == [[0.8, 1.28]], boundaries
    refined = detect_events(windows, PostProcessing(boundaries="refined"))
    assert refined["onset"].iloc[0] != pytest.approx(0.8)  # windows are still refined
