"""YAMNet with its weights loaded, on the backend that runs it: log-mel patches in, scores out.

The network is :mod:`sed.model.network`, its weights are found and read by
:mod:`sed.model.weights`, and it runs on LiteRT (:mod:`sed.model.litert`) or TensorFlow
(:mod:`sed.model.backends`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sed.classes import ClassMap, load_class_map
from sed.model.backends import DEFAULT_BACKEND, resolve_backend
from sed.model.litert import tflite_feature_network, tflite_network
from sed.model.network import (
    build_feature_network,
    build_network,
    check_layers,
    feature_network_weights,
    per_layer,
    set_network_weights,
)
from sed.model.runtime import import_tensorflow
from sed.model.weights import find_weights, read_weights, weights_fingerprint
from sed.params import DEFAULT_BATCH_SIZE, YamnetParams


@dataclass
class Yamnet:
    """YAMNet with loaded weights: log-mel patches in, class scores and embeddings out.

    Use :meth:`load` to build one. ``labels`` are the 521 AudioSet display names.

    Attributes
    ----------
    network : keras.Model or sed.model.litert.LiteRTNetwork
        What runs the network: the Keras rebuild (see :func:`build_network`) for the
        ``tensorflow`` backend, the LiteRT interpreter of its TFLite conversion for ``litert``.
    class_map : ClassMap
    source : str
        Where the weights came from.
    params : YamnetParams
    backend : {"litert", "tensorflow"}
        The backend in use (see :mod:`sed.model.backends`).
    weights_sha256 : str
        SHA-256 of the weights' content when they were loaded
        (:func:`sed.model.weights.weights_fingerprint`): heads and embedding caches record it.
    threads : int or None
        LiteRT interpreter threads (None: every CPU), for the feature-map networks too.
    """

    network: Any
    class_map: ClassMap
    source: str
    params: YamnetParams
    backend: str = "tensorflow"
    weights_sha256: str = ""
    threads: int | None = None
    _run: Any = field(default=None, init=False, repr=False, compare=False)
    _feature_networks: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def load(
        cls,
        weights: str | os.PathLike | None = None,
        params: YamnetParams = YamnetParams(),
        *,
        backend: str = DEFAULT_BACKEND,
        threads: int | None = None,
    ) -> Yamnet:
        """Find, read and load YAMNet's weights (see :func:`find_weights`, :func:`read_weights`).

        Parameters
        ----------
        weights : str or os.PathLike, optional
            ``yamnet.h5`` or a TF-Hub YAMNet SavedModel directory (see :func:`find_weights`).
        params : YamnetParams
        backend : {"auto", "litert", "tensorflow"}
            ``litert`` runs a TFLite conversion of the network with LiteRT (XNNPACK), converted
            once with TensorFlow and cached (see :mod:`sed.model.litert`); ``tensorflow`` runs the
            Keras rebuild. ``auto`` is ``litert`` where ``ai-edge-litert`` is installed.
        threads : int >= 1, optional
            Threads of the LiteRT interpreter; by default the number of CPUs.

        Raises
        ------
        ModelError
            If no weights are found, they do not fit the network, or the backend is missing.
        ParameterError
            If ``backend`` or ``threads`` is not a valid choice.
        """
        backend = resolve_backend(backend)
        source = find_weights(weights)
        fingerprint = weights_fingerprint(source)
        if backend == "litert":
            network = tflite_network(source, params, threads=threads, fingerprint=fingerprint)
        else:
            network = build_network(params)
            set_network_weights(network, per_layer(read_weights(source)), source)
        return cls(network, load_class_map(), source, params, backend, fingerprint, threads)

    @property
    def labels(self) -> tuple[str, ...]:
        """Output column names: the AudioSet display names."""
        return self.class_map.display_names

    @property
    def feature_implementation(self) -> str:
        """How this backend computes log-mel features (:func:`sed.features.log_mel_spectrogram`).

        The TensorFlow backend keeps TensorFlow's kernels, so it reproduces the reference graph
        exactly; LiteRT uses numpy, so that it never imports TensorFlow.
        """
        return "tensorflow" if self.backend == "tensorflow" else "numpy"

    def predict(
        self, patches: np.ndarray, *, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run the network on log-mel patches.

        Parameters
        ----------
        patches : np.ndarray [shape=(n_windows, 96, 64)]
            Log-mel patches from :func:`sed.features.frame_patches`.
        batch_size : int > 0
            Windows per model call; bounds memory (about 0.2 MB per window); never changes
            results.

        Returns
        -------
        scores : np.ndarray [shape=(n_windows, 521), dtype=float32]
            Sigmoid class scores in [0, 1].
        embeddings : np.ndarray [shape=(n_windows, 1024), dtype=float32]
            Global-average-pooled activations of the last convolution (>= 0).
        """
        run = self._compiled()
        scores, embeddings = [], []
        for begin in range(0, len(patches), batch_size):
            batch = np.ascontiguousarray(patches[begin : begin + batch_size], dtype=np.float32)
            s, e = run(batch)
            scores.append(np.asarray(s))
            embeddings.append(np.asarray(e))
        if not scores:
            return (
                np.zeros((0, self.params.num_classes), np.float32),
                np.zeros((0, self.params.embedding_size), np.float32),
            )
        return np.concatenate(scores), np.concatenate(embeddings)

    def _compiled(self):
        if self._run is None:
            if self.backend != "tensorflow":
                self._run = self.network
            else:
                tf = import_tensorflow()
                spec = tf.TensorSpec(
                    [None, self.params.patch_frames, self.params.mel_bands], tf.float32
                )
                self._run = tf.function(
                    lambda x: self.network(x, training=False), input_signature=[spec]
                )
        return self._run

    def feature_network(self, layers) -> Callable[[np.ndarray], list[np.ndarray]]:
        """YAMNet's convolutional stack over a whole log-mel spectrogram, for ``layers``.

        Built (and, on LiteRT, converted once and cached) on first use for a set of layers,
        then kept. See :func:`sed.model.network.build_feature_network` and
        :mod:`sed.model.feature_maps`.

        Parameters
        ----------
        layers : iterable of int in 1..14

        Returns
        -------
        network : callable
            ``network(log_mel)``: log-mel frames ``(n_frames, 64)`` float32 (``n_frames`` a
            multiple of the deepest layer's stride) in; the frequency-averaged output of each
            layer, ``(n_frames / stride, channels)`` float32, out, in increasing layer order.

        Raises
        ------
        ParameterError
            If a layer number is out of range.
        ModelError
            If the weights cannot be converted or loaded.
        """
        layers = check_layers(layers)
        if layers not in self._feature_networks:
            if self.backend == "litert":
                network = tflite_feature_network(
                    self.source,
                    layers,
                    self.params,
                    threads=self.threads,
                    fingerprint=self.weights_sha256 or None,
                )
            else:
                network = _keras_feature_network(self.source, layers, self.params)
            self._feature_networks[layers] = network
        return self._feature_networks[layers]


def _keras_feature_network(source: str, layers: tuple[int, ...], params: YamnetParams):
    """The Keras feature-map network with ``source``'s weights, as a numpy callable."""
    tf = import_tensorflow()
    network = build_feature_network(layers, params)
    weights = feature_network_weights(per_layer(read_weights(source)), layers[-1], folded=False)
    set_network_weights(network, weights, source)
    spec = tf.TensorSpec([1, None, params.mel_bands], tf.float32)
    run = tf.function(lambda x: network(x, training=False), input_signature=[spec])

    def call(log_mel: np.ndarray) -> list[np.ndarray]:
        outputs = run(np.ascontiguousarray(log_mel, dtype=np.float32)[np.newaxis])
        return [np.asarray(out)[0] for out in outputs]

    return call
