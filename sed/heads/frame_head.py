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
(sample rate, resampler, weights fingerprint), the training and the validation figures; and
``model.tflite``, the same network converted for LiteRT, which ``sed detect`` runs without
importing TensorFlow.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sed.errors import ModelError
from sed.heads.head import (
    FRAME_KIND,
    head_description,
    head_kind,
    load_head_network,
    save_head_files,
    stored_postprocessing,
)
from sed.infra import atomic_open
from sed.model.backends import litert_interpreter
from sed.model.feature_maps import FeatureSpec
from sed.model.litert import LiteRTModel
from sed.model.runtime import import_tensorflow
from sed.params import DEFAULT_BATCH_SIZE, YamnetParams

if TYPE_CHECKING:
    from sed.model import Yamnet
    from sed.postprocessing import PostProcessing
    from sed.segmenter import FrameScoreStream

#: The LiteRT conversion of a frame head's network, beside ``model.keras``.
LITERT_FILE = "model.tflite"


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
    projection: int | None = None,
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
    projection : int, optional
        Units of a dense ReLU layer applied to each frame before the convolutions, which then
        read ``projection`` values instead of ``width`` (less computation); None for none.

    Returns
    -------
    model : keras.Model
        ``(batch, n_frames, width)`` in, ``(batch, n_frames, n_classes)`` scores in [0, 1] out.
    """
    import_tensorflow()
    import keras
    from keras import layers

    inputs = keras.Input(shape=(None, width), name="features")
    net = layers.Normalization(
        axis=-1, mean=np.asarray(mean), variance=np.asarray(variance), name="standardise"
    )(inputs)
    net = layers.Dropout(dropout, name="feature_dropout")(net)
    if projection:
        net = layers.Dense(projection, activation="relu", name="projection")(net)
    for number in range(1, conv_layers + 1):
        net = layers.Conv1D(
            conv_filters, 3, padding="same", activation="relu", name=f"conv{number}"
        )(net)
    net = layers.Bidirectional(layers.GRU(gru_units, return_sequences=True), name="bigru")(net)
    net = layers.Dropout(dropout, name="gru_dropout")(net)
    scores = layers.Dense(n_classes, activation="sigmoid", name="scores")(net)
    return keras.Model(inputs, scores, name="sed_frame_head")


def convert_frame_head(network) -> bytes:
    """The trained network as a TFLite flatbuffer, for LiteRT.

    The network is traced for one sequence of any length (batch 1: TFLite's lowering of the
    GRU's loop over time needs a static batch), its variables frozen into constants, and
    converted to TFLite's built-in operators. LiteRT then runs it without TensorFlow; its scores
    agree with Keras' within 1e-4 (``tests/test_heads_frame.py``).

    Parameters
    ----------
    network : keras.Model
        From :func:`build_frame_network`, trained.

    Returns
    -------
    flatbuffer : bytes
    """
    tf = import_tensorflow()
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    from sed.model.runtime import captured_output

    spec = tf.TensorSpec([1, None, network.input_shape[-1]], tf.float32)
    traced = tf.function(lambda x: network(x, training=False), input_signature=[spec])
    frozen = convert_variables_to_constants_v2(traced.get_concrete_function())
    with captured_output():
        return tf.lite.TFLiteConverter.from_concrete_functions([frozen]).convert()


@dataclass
class FrameHead:
    """A trained frame-level head (a :class:`sed.segmenter.FrameClassifier`).

    Two runtimes hold the same network: the Keras model (training, and wherever LiteRT is
    missing) and its LiteRT conversion (``model.tflite``, :func:`convert_frame_head`), which
    scores without importing TensorFlow. :meth:`load` takes LiteRT where it can.

    Attributes
    ----------
    network : keras.Model or None
        Feature sequences ``(n, n_frames, width)`` in, scores ``(n, n_frames, len(labels))``
        out; None until needed when the head was loaded for LiteRT (:attr:`keras_network`).
    labels : tuple of str
        Output labels (event labels; a frame head has no background output).
    metadata : dict
        The content of ``head.json`` (see :func:`sed.heads.frame_training.train_frame_head`).
    directory : str or None
        Where it was loaded from, named in errors.
    litert : sed.model.litert.LiteRTModel or None
        The LiteRT conversion, when it runs the head.
    """

    network: Any
    labels: tuple[str, ...]
    metadata: dict = field(default_factory=dict)
    directory: str | None = None
    litert: Any = None
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

    @property
    def keras_network(self):
        """The Keras network, loaded from :attr:`directory` on first use if needed."""
        if self.network is None:
            if self.directory is None:
                raise ModelError("this frame head has no Keras network to load")
            self.network = load_head_network(self.directory, self.labels)
        return self.network

    def predict_sequences(self, features: np.ndarray, *, batch_size: int = 32) -> np.ndarray:
        """Scores of feature sequences.

        Parameters
        ----------
        features : np.ndarray [shape=(n, n_frames, width)]
            Feature frames (:mod:`sed.model.feature_maps`) of this head's ``feature_spec``.
        batch_size : int > 0
            Sequences per Keras call (LiteRT scores one at a time).

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
        width = self.feature_spec.width
        if features.ndim != 3 or features.shape[2] != width:
            raise ModelError(
                f"frame head expects feature sequences of shape (n, n_frames, {width}), "
                f"got {features.shape}",
                self.directory,
            )
        if len(features) == 0 or features.shape[1] == 0:
            return np.zeros((*features.shape[:2], len(self.labels)), np.float32)
        if self.litert is not None:
            return np.stack([self.litert(sequence[np.newaxis])[0] for sequence in features])
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
            network = self.keras_network
            spec = tf.TensorSpec([None, None, network.input_shape[-1]], tf.float32)
            self._run = tf.function(lambda x: network(x, training=False), input_signature=[spec])
        return self._run

    @property
    def default_postprocessing(self) -> PostProcessing | None:
        """The post-processing tuned on the validation data when the head was trained
        (:func:`sed.heads.head.stored_postprocessing`), if any."""
        return stored_postprocessing(self.metadata, self.directory)

    #: A label's clip score is its highest frame score: an event fills few 80 ms frames, and
    #: its frames score high where it sounds.
    clip_aggregation = "max"

    def open(
        self,
        model: Yamnet,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        keep_embeddings: bool = False,
        low_latency: bool = False,
        keep_levels: bool = True,
    ) -> FrameScoreStream:
        """A stream scoring one recording's frames with this head (see
        :class:`sed.segmenter.FrameScoreStream`); ``batch_size``, ``keep_embeddings`` and
        ``keep_levels`` concern windows and do not apply (a frame stream keeps no window
        levels)."""
        from sed.segmenter import FrameScoreStream

        return FrameScoreStream(model, self, low_latency=low_latency)

    def check_compatible(self, model: Yamnet) -> None:
        """Refuse a model whose settings differ from those the head was trained with (see
        :meth:`check_settings`).

        Raises
        ------
        ModelError
            If the sample rate or the weights differ.
        """
        self.check_settings(model.params, model.weights_sha256)

    def check_settings(self, params: YamnetParams, weights_sha256: str | None = None) -> None:
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

    def save(self, directory: str | os.PathLike, *, litert: bool = True) -> None:
        """Write ``model.keras``, ``labels.txt``, ``head.json`` (``"kind": "frame"``) and, with
        ``litert``, ``model.tflite`` (:func:`convert_frame_head`, about 10 s) into
        ``directory``, each atomically (other files in it are left alone)."""
        network = self.keras_network
        save_head_files(network, self.labels, {**self.metadata, "kind": FRAME_KIND}, directory)
        if litert:
            flatbuffer = convert_frame_head(network)
            with atomic_open(os.path.join(os.fspath(directory), LITERT_FILE), "wb") as handle:
                handle.write(flatbuffer)

    @classmethod
    def load(
        cls, directory: str | os.PathLike, *, runtime: str = "auto", threads: int | None = None
    ) -> FrameHead:
        """Read a frame head directory written by :meth:`save`.

        Parameters
        ----------
        directory : str or os.PathLike
        runtime : {"auto", "litert", "keras"}
            ``auto``: LiteRT where ``model.tflite`` exists and ``ai-edge-litert`` is installed
            (no TensorFlow import), else Keras.
        threads : int >= 1, optional
            LiteRT interpreter threads (default: every CPU; 1 in a batch's worker processes).

        Raises
        ------
        ModelError
            If a file is missing or unreadable, the head is not a frame head, its description
            lacks the features or the sequence layout, or the LiteRT model does not fit it.
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
        path = os.path.join(directory, LITERT_FILE)
        if runtime != "keras" and os.path.isfile(path) and litert_interpreter() is not None:
            head = cls(None, labels, metadata, directory, _litert_model(path, directory, threads))
            shapes = (head.litert.input_shape[-1], head.litert.output_shape[-1])
            if shapes != (head.feature_spec.width, len(labels)):
                raise ModelError(
                    f"{LITERT_FILE} maps {shapes[0]} features to {shapes[1]} scores, not "
                    f"{head.feature_spec.width} to {len(labels)}",
                    directory,
                )
            return head
        if runtime == "litert":
            raise ModelError(f"no {LITERT_FILE}, or ai-edge-litert is not installed", directory)
        return cls(load_head_network(directory, labels), labels, metadata, directory)


def _litert_model(path: str, directory: str, threads: int | None) -> LiteRTModel:
    try:
        with open(path, "rb") as handle:
            return LiteRTModel(handle.read(), threads=threads)
    except (OSError, ValueError, RuntimeError) as error:
        raise ModelError(f"cannot load {LITERT_FILE} ({error})", directory) from None
