"""Frame-level heads: a score per class for every 80 ms frame, from frozen YAMNet feature maps.

A window head (:mod:`sed.heads.head`) scores 0.96 s windows, so its events can only begin and end
on the window grid. A frame head reads the feature maps of YAMNet's intermediate layers computed
over the continuous spectrogram (:mod:`sed.model.feature_maps`: layers 6, 12 and 14 by default,
frequency-averaged, on an 80 ms grid) and outputs one sigmoid score per class per frame. Its
network is a small CRNN, the shape of the DCASE task 4 baselines' back end (which also run on
frozen embeddings pooled to their frame rate): a per-feature standardisation (fitted on the
training frames), two 1-D convolutions over time (kernel 3, ReLU), a bidirectional GRU and a
dense sigmoid layer per frame::

    features (batch, n_frames, width) -> standardise -> dropout -> Conv1D x 2 -> BiGRU
        -> dropout -> Dense(n_classes, sigmoid) -> scores (batch, n_frames, n_classes)

A recording is scored in overlapping sequences of :attr:`FrameHead.sequence_frames` frames (the
training length, 10 s), keeping each one's centre (:class:`sed.segmenter.SequenceStream`), so a
head never runs on sequences longer than those it was trained on, and memory stays flat.

The head directory holds the files of every head (``model.keras``, ``labels.txt``,
``head.json``) with ``"kind": "frame"`` in ``head.json``, which also records the features it
reads (``features``: layers, log-mel, hop), the sequence layout (``sequence``), the YAMNet settings
(sample rate, resampler, weights fingerprint), the training and the validation figures.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sed.errors import ModelError
from sed.heads.head import (
    FRAME_KIND,
    head_description,
    head_kind,
    load_head_network,
    save_head_files,
)
from sed.model.feature_maps import FeatureSpec
from sed.model.runtime import import_tensorflow
from sed.params import YamnetParams


def build_frame_network(
    n_classes: int,
    width: int,
    *,
    mean: np.ndarray,
    variance: np.ndarray,
    conv_filters: int = 128,
    conv_layers: int = 2,
    gru_units: int = 64,
    dropout: float = 0.2,
):
    """The frame head's CRNN as an (untrained) Keras model (see the module notes).

    Parameters
    ----------
    n_classes : int >= 1
    width : int
        Feature values per frame (:attr:`sed.model.feature_maps.FeatureSpec.width`).
    mean, variance : np.ndarray [shape=(width,)]
        Per-feature statistics of the training frames, for the standardisation layer.
    conv_filters, conv_layers : int >= 1
        Filters and number of the 1-D convolutions (kernel 3, ReLU).
    gru_units : int >= 1
        Units of each direction of the bidirectional GRU.
    dropout : float in [0, 1)
        Dropout on the standardised features and on the GRU's output (training only).

    Returns
    -------
    model : keras.Model
        ``(batch, n_frames, width)`` in, ``(batch, n_frames, n_classes)`` scores in [0, 1] out;
        any ``n_frames``.
    """
    import_tensorflow()
    import keras
    from keras import layers

    inputs = keras.Input(shape=(None, width), name="features")
    net = layers.Normalization(
        axis=-1, mean=np.asarray(mean), variance=np.asarray(variance), name="standardise"
    )(inputs)
    net = layers.Dropout(dropout, name="feature_dropout")(net)
    for number in range(1, conv_layers + 1):
        net = layers.Conv1D(
            conv_filters, 3, padding="same", activation="relu", name=f"conv{number}"
        )(net)
    net = layers.Bidirectional(layers.GRU(gru_units, return_sequences=True), name="bigru")(net)
    net = layers.Dropout(dropout, name="gru_dropout")(net)
    scores = layers.Dense(n_classes, activation="sigmoid", name="scores")(net)
    return keras.Model(inputs, scores, name="sed_frame_head")


@dataclass
class FrameHead:
    """A trained frame-level head (a :class:`sed.segmenter.FrameClassifier`).

    Attributes
    ----------
    network : keras.Model
        Feature sequences ``(n, n_frames, width)`` in, scores ``(n, n_frames, len(labels))``
        out.
    labels : tuple of str
        Output labels (event labels; a frame head has no background output).
    metadata : dict
        The content of ``head.json`` (see :func:`sed.heads.frame_training.train_frame_head`).
    directory : str or None
        Where it was loaded from, named in errors.
    """

    network: Any
    labels: tuple[str, ...]
    metadata: dict = field(default_factory=dict)
    directory: str | None = None
    _run: Any = field(default=None, init=False, repr=False, compare=False)

    kind = FRAME_KIND

    @property
    def event_labels(self) -> tuple[str, ...]:
        """The labels that can become events: all of them."""
        return self.labels

    @property
    def feature_spec(self) -> FeatureSpec:
        """The frozen YAMNet features the head reads (``head.json``'s ``features``)."""
        return FeatureSpec.from_dict(self.metadata.get("features", {}))

    @property
    def sequence_frames(self) -> int:
        """Frames per scored sequence: the training sequences' length."""
        return int(self.metadata["sequence"]["frames"])

    @property
    def context_frames(self) -> int:
        """Frames at each end of a sequence whose scores a neighbouring sequence replaces."""
        return int(self.metadata["sequence"]["context_frames"])

    @property
    def hop_seconds(self) -> float:
        """Frame hop (and length) of the scores, in seconds."""
        return float(self.metadata["features"]["hop_seconds"])

    def predict_sequences(self, features: np.ndarray, *, batch_size: int = 32) -> np.ndarray:
        """Scores of feature sequences.

        Parameters
        ----------
        features : np.ndarray [shape=(n, n_frames, width)]
            Feature frames (:mod:`sed.model.feature_maps`) of this head's ``feature_spec``.
        batch_size : int > 0

        Returns
        -------
        scores : np.ndarray [shape=(n, n_frames, len(labels)), dtype=float32]
            In [0, 1].

        Raises
        ------
        ModelError
            If the features are not ``(n, n_frames, width)`` of the head's width.
        """
        features = np.asarray(features, dtype=np.float32)
        width = self.network.input_shape[-1]
        if features.ndim != 3 or features.shape[2] != width:
            raise ModelError(
                f"frame head expects feature sequences of shape (n, n_frames, {width}), "
                f"got {features.shape}",
                self.directory,
            )
        if len(features) == 0 or features.shape[1] == 0:
            return np.zeros((*features.shape[:2], len(self.labels)), np.float32)
        run = self._compiled()
        return np.concatenate(
            [
                np.asarray(run(features[i : i + batch_size]))
                for i in range(0, len(features), batch_size)
            ]
        ).astype(np.float32)

    def _compiled(self):
        if self._run is None:
            tf = import_tensorflow()
            spec = tf.TensorSpec([None, None, self.network.input_shape[-1]], tf.float32)
            self._run = tf.function(
                lambda x: self.network(x, training=False), input_signature=[spec]
            )
        return self._run

    def check_compatible(self, params: YamnetParams, weights_sha256: str | None = None) -> None:
        """Refuse YAMNet settings other than those the head was trained with.

        The window hop does not matter (a frame head reads no windows); the sample rate and the
        weights do.

        Raises
        ------
        ModelError
            If the sample rate or the weights differ.
        """
        trained = self.metadata.get("yamnet", {})
        if "sample_rate" in trained and trained["sample_rate"] != params.sample_rate:
            raise ModelError(
                f"head was trained with sample rate {trained['sample_rate']}, "
                f"not {params.sample_rate}",
                self.directory,
            )
        if weights_sha256 and trained.get("weights_sha256") not in (None, weights_sha256):
            raise ModelError(
                "head was trained on feature maps of other YAMNet weights "
                f"(sha256 {trained['weights_sha256'][:12]}..., these are "
                f"{weights_sha256[:12]}...)",
                self.directory,
            )

    def save(self, directory: str | os.PathLike) -> None:
        """Write ``model.keras``, ``labels.txt`` and ``head.json`` (``"kind": "frame"``) into
        ``directory``, atomically (other files in it are left alone)."""
        save_head_files(self.network, self.labels, {**self.metadata, "kind": FRAME_KIND}, directory)

    @classmethod
    def load(cls, directory: str | os.PathLike) -> FrameHead:
        """Read a frame head directory written by :meth:`save`.

        Raises
        ------
        ModelError
            If a file is missing or unreadable, the head is not a frame head, or its
            description lacks the features or the sequence layout.
        """
        directory = os.fspath(directory)
        labels, metadata = head_description(directory)
        if head_kind(metadata) != FRAME_KIND:
            raise ModelError(
                f"a {head_kind(metadata)} head, not a frame-level head "
                "(sed.load_head loads either kind)",
                directory,
            )
        for key in ("features", "sequence"):
            if not isinstance(metadata.get(key), dict):
                raise ModelError(f"head.json of a frame head lacks its {key!r} entry", directory)
        return cls(load_head_network(directory, labels), labels, metadata, directory)
