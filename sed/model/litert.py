"""YAMNet on LiteRT: the TFLite conversion, its cache, and the interpreter that runs it.

The Keras rebuild of YAMNet, with batch normalisation folded into the convolutions, is converted
to a TFLite flatbuffer by TensorFlow's converter once per set of weights. The result is cached in
a user cache directory, so later runs load it with LiteRT (``ai-edge-litert``, XNNPACK) without
importing TensorFlow.

Cache layout: ``$SED_CACHE_DIR`` (else ``$XDG_CACHE_HOME/sed``, else ``~/.cache/sed``) holds one
file per set of weights, ``yamnet-<key>.tflite``, where ``key`` is a SHA-256 of the weights'
content (every file of a SavedModel's ``variables/``, or the ``.h5`` file), the conversion recipe
and the input shape. The file is the flatbuffer followed by a 40-byte trailer (magic and the
flatbuffer's SHA-256). It is written atomically; a damaged or unloadable file is converted again
and replaced, never fatal. Deleting the directory is always safe.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from typing import Any

import numpy as np

from sed.errors import ModelError, ParameterError
from sed.infra import CACHE_ENV, atomic_open, cache_dir
from sed.model.backends import litert_interpreter
from sed.model.network import (
    build_feature_network,
    build_network,
    feature_network_weights,
    fold_batch_norm,
    layer_channels,
    set_network_weights,
)
from sed.model.runtime import captured_output, import_tensorflow
from sed.model.weights import read_weights, weights_fingerprint
from sed.params import YamnetParams

# Part of the cache key: change it whenever the converted network changes.
RECIPE = "yamnet-keras-bnfold-tflite-v1"
FEATURE_RECIPE = "yamnet-layers-freqmean-bnfold-tflite-v1"
_MAGIC = b"SEDTFL01"
_TRAILER = len(_MAGIC) + 32
logger = logging.getLogger(__name__)


def cache_path(
    source: str | os.PathLike,
    params: YamnetParams = YamnetParams(),
    *,
    directory: str | None = None,
    fingerprint: str | None = None,
) -> str:
    """Where the TFLite conversion of the weights at ``source`` is cached (see module notes).

    Parameters
    ----------
    source : str or os.PathLike
        YAMNet weights (see :func:`sed.model.weights.find_weights`).
    params : YamnetParams
    directory : str, optional
        Cache directory (default :func:`sed.infra.cache_dir`).
    fingerprint : str, optional
        :func:`sed.model.weights.weights_fingerprint` of ``source``, when already computed.
    """
    fingerprint = fingerprint or weights_fingerprint(source)
    key = hashlib.sha256(
        f"{fingerprint}|{RECIPE}|{params.patch_frames}x{params.mel_bands}".encode()
    ).hexdigest()[:32]
    return os.path.join(directory or cache_dir(), f"yamnet-{key}.tflite")


def convert_to_tflite(source: str | os.PathLike, params: YamnetParams = YamnetParams()) -> bytes:
    """Convert YAMNet's weights to a TFLite flatbuffer with TensorFlow (about 20 s here).

    The network is :func:`sed.model.network.build_network` with batch normalisation folded
    (:func:`sed.model.network.fold_batch_norm`), float32, with a variable batch dimension.

    Raises
    ------
    ModelError
        If the weights cannot be read or do not fit.
    """
    source = os.fspath(source)
    tf = import_tensorflow()
    network = build_network(params, batch_norm_folded=True)
    set_network_weights(network, fold_batch_norm(read_weights(source), params), source)
    with captured_output():  # the converter prints its progress on stdout and stderr
        return tf.lite.TFLiteConverter.from_keras_model(network).convert()


def read_cached(path: str) -> bytes | None:
    """The flatbuffer stored at ``path``, or None if it is missing, unreadable or damaged."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    body, magic, digest = data[:-_TRAILER], data[-_TRAILER:-32], data[-32:]
    if magic != _MAGIC or hashlib.sha256(body).digest() != digest:
        return None
    return body


def write_cached(path: str, flatbuffer: bytes) -> None:
    """Store ``flatbuffer`` at ``path`` atomically, with its trailer. Raises OSError."""
    with atomic_open(path, "wb") as handle:
        handle.write(flatbuffer + _MAGIC + hashlib.sha256(flatbuffer).digest())


def tflite_network(
    source: str | os.PathLike,
    params: YamnetParams = YamnetParams(),
    *,
    threads: int | None = None,
    directory: str | None = None,
    fingerprint: str | None = None,
) -> LiteRTNetwork:
    """A LiteRT interpreter of the weights at ``source``: from the cache, else converted and cached.

    Parameters
    ----------
    source : str or os.PathLike
        YAMNet weights (see :func:`sed.model.weights.find_weights`).
    params : YamnetParams
    threads : int >= 1, optional
        Interpreter threads (default: the CPUs available to this process).
    directory : str, optional
        Cache directory (default :func:`sed.infra.cache_dir`).
    fingerprint : str, optional
        :func:`sed.model.weights.weights_fingerprint` of ``source``, when already computed.

    Raises
    ------
    ModelError
        If the weights cannot be converted or LiteRT is not installed.

    Warns
    -----
    UserWarning
        If the conversion cannot be cached (it is used anyway, and converted again next time).
    """
    path = cache_path(source, params, directory=directory, fingerprint=fingerprint)
    return _cached_interpreter(
        path,
        lambda: convert_to_tflite(source, params),
        lambda flatbuffer: LiteRTNetwork(flatbuffer, params, threads=threads),
        "YAMNet",
    )


def _cached_interpreter(path: str, convert, load, what: str):
    """``load(flatbuffer)`` of the conversion cached at ``path``; ``convert()`` and cache it when
    the file is missing, damaged or not loadable (see the module notes)."""
    cached = read_cached(path)
    if cached is not None:
        try:
            return load(cached)
        except (ValueError, RuntimeError):
            pass  # written by an incompatible version, say: convert again
    logger.info(
        "converting %s for LiteRT, once for these weights (TensorFlow, about 30 s); cached in %s",
        what,
        path,
    )
    flatbuffer = convert()
    network = load(flatbuffer)
    try:
        write_cached(path, flatbuffer)
    except OSError as error:
        warnings.warn(
            f"cannot cache the LiteRT conversion of {what} in {path} ({error}); it "
            f"will be converted again next time (set {CACHE_ENV} to a writable folder)",
            stacklevel=3,
        )
    return network


def feature_cache_path(
    source: str | os.PathLike,
    layers: tuple[int, ...],
    params: YamnetParams = YamnetParams(),
    *,
    directory: str | None = None,
    fingerprint: str | None = None,
) -> str:
    """Where the TFLite conversion of YAMNet's feature-map network (:func:`sed.model.network.
    build_feature_network`) for ``layers`` is cached: ``yamnet-layers-<key>.tflite``."""
    fingerprint = fingerprint or weights_fingerprint(source)
    key = hashlib.sha256(
        f"{fingerprint}|{FEATURE_RECIPE}|{','.join(map(str, layers))}|{params.mel_bands}".encode()
    ).hexdigest()[:32]
    return os.path.join(directory or cache_dir(), f"yamnet-layers-{key}.tflite")


def convert_feature_network(
    source: str | os.PathLike, layers: tuple[int, ...], params: YamnetParams = YamnetParams()
) -> bytes:
    """Convert YAMNet's feature-map network for ``layers`` to a TFLite flatbuffer (batch
    normalisation folded, float32, input ``(1, n_frames, 64)`` with ``n_frames`` variable).

    Raises
    ------
    ModelError
        If the weights cannot be read or do not fit.
    """
    source = os.fspath(source)
    tf = import_tensorflow()
    network = build_feature_network(layers, params, batch_norm_folded=True)
    weights = feature_network_weights(
        fold_batch_norm(read_weights(source), params), max(layers), folded=True
    )
    set_network_weights(network, weights, source)
    with captured_output():
        return tf.lite.TFLiteConverter.from_keras_model(network).convert()


def tflite_feature_network(
    source: str | os.PathLike,
    layers: tuple[int, ...],
    params: YamnetParams = YamnetParams(),
    *,
    threads: int | None = None,
    directory: str | None = None,
    fingerprint: str | None = None,
) -> LiteRTFeatureNetwork:
    """A LiteRT interpreter of YAMNet's feature-map network for ``layers`` (see
    :func:`tflite_network` for the cache and the parameters)."""
    path = feature_cache_path(source, layers, params, directory=directory, fingerprint=fingerprint)
    return _cached_interpreter(
        path,
        lambda: convert_feature_network(source, layers, params),
        lambda flatbuffer: LiteRTFeatureNetwork(flatbuffer, layers, params, threads=threads),
        f"YAMNet layers {', '.join(map(str, layers))}",
    )


def default_threads() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def new_interpreter(flatbuffer: bytes, threads: int | None) -> tuple[Any, int]:
    """A LiteRT interpreter of ``flatbuffer`` on ``threads`` CPUs (default: all this process
    may use), and that number.

    Raises
    ------
    ModelError
        If LiteRT is not installed.
    ParameterError
        If ``threads`` is not a positive integer.
    ValueError
        If ``flatbuffer`` is not a model LiteRT can load.
    """
    interpreter = litert_interpreter()
    if interpreter is None:
        raise ModelError("the litert backend needs the ai-edge-litert package")
    threads = default_threads() if threads is None else threads
    if not (isinstance(threads, int) and threads >= 1):
        raise ParameterError(f"threads must be a positive integer, got {threads!r}")
    with captured_output(2):  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
        return interpreter(model_content=flatbuffer, num_threads=threads), threads


class LiteRTNetwork:
    """YAMNet's TFLite flatbuffer in a LiteRT interpreter (XNNPACK delegate).

    Call it on a batch of patches ``(n, 96, 64)`` float32 to get ``scores (n, 521)`` and
    ``embeddings (n, 1024)``. Not thread-safe: one interpreter per thread.

    Raises
    ------
    ModelError
        If LiteRT is not installed.
    ParameterError
        If ``threads`` is not a positive integer.
    ValueError
        If ``flatbuffer`` is not a model LiteRT can load.
    """

    def __init__(
        self,
        flatbuffer: bytes,
        params: YamnetParams = YamnetParams(),
        *,
        threads: int | None = None,
    ):
        self.interpreter, self.threads = new_interpreter(flatbuffer, threads)
        self.flatbuffer, self.params = flatbuffer, params
        with captured_output(2):
            self._resize(1)
        self._input = self.interpreter.get_input_details()[0]["index"]
        outputs = {int(d["shape"][-1]): d["index"] for d in self.interpreter.get_output_details()}
        if set(outputs) != {params.num_classes, params.embedding_size}:
            raise ValueError(f"not a YAMNet model: outputs of widths {sorted(outputs)}")
        self._scores, self._embeddings = outputs[params.num_classes], outputs[params.embedding_size]

    def _resize(self, batch_size: int) -> None:
        index = self.interpreter.get_input_details()[0]["index"]
        self.interpreter.resize_tensor_input(
            index, [batch_size, self.params.patch_frames, self.params.mel_bands]
        )
        self.interpreter.allocate_tensors()
        self._batch_size = batch_size

    def __call__(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(patches) != self._batch_size:
            self._resize(len(patches))
        self.interpreter.set_tensor(self._input, np.ascontiguousarray(patches, dtype=np.float32))
        self.interpreter.invoke()
        return (
            self.interpreter.get_tensor(self._scores),
            self.interpreter.get_tensor(self._embeddings),
        )


class LiteRTFeatureNetwork:
    """YAMNet's feature-map network (:func:`sed.model.network.build_feature_network`) in a LiteRT
    interpreter (XNNPACK delegate).

    Call it on log-mel frames ``(n_frames, 64)`` float32 to get one array per layer,
    ``(n_frames / stride, channels)``, in increasing layer order. The input length may change
    from call to call (the interpreter is re-allocated when it does). Not thread-safe.

    Raises
    ------
    ModelError
        If LiteRT is not installed.
    ValueError
        If ``flatbuffer`` is not such a network.
    """

    def __init__(
        self,
        flatbuffer: bytes,
        layers: tuple[int, ...],
        params: YamnetParams = YamnetParams(),
        *,
        threads: int | None = None,
    ):
        self.interpreter, _ = new_interpreter(flatbuffer, threads)
        self.flatbuffer, self.layers, self.params = flatbuffer, tuple(layers), params
        self._input = self.interpreter.get_input_details()[0]["index"]
        # The converter names outputs after the model's output order ("...:0", "...:1"...);
        # layers may share a width, so the order, not the width, tells them apart.
        outputs = sorted(
            self.interpreter.get_output_details(), key=lambda d: _output_number(d["name"])
        )
        widths = [int(d["shape"][-1]) for d in outputs]
        if widths != [layer_channels(n) for n in self.layers]:
            raise ValueError(f"not YAMNet's layers {self.layers}: outputs of widths {widths}")
        self._outputs = [d["index"] for d in outputs]
        self._frames = 0

    def __call__(self, log_mel: np.ndarray) -> list[np.ndarray]:
        if len(log_mel) != self._frames:
            self.interpreter.resize_tensor_input(
                self._input, [1, len(log_mel), self.params.mel_bands]
            )
            with captured_output(2):
                self.interpreter.allocate_tensors()
            self._frames = len(log_mel)
        self.interpreter.set_tensor(
            self._input, np.ascontiguousarray(log_mel, dtype=np.float32)[np.newaxis]
        )
        self.interpreter.invoke()
        return [self.interpreter.get_tensor(index)[0] for index in self._outputs]


def _output_number(name: str) -> int:
    """The output's position in the Keras model, from its TFLite name
    (``StatefulPartitionedCall:2`` is the third)."""
    tail = name.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class LiteRTModel:
    """Any single-input, single-output TFLite flatbuffer in a LiteRT interpreter (XNNPACK): what
    runs a frame-level head without TensorFlow (:mod:`sed.heads.frame_head`).

    Call it on a float32 array of the model's input shape; a dimension that the model leaves
    open (``-1`` in :attr:`input_shape`) may change from call to call (the interpreter is
    re-allocated when the shape does). Not thread-safe.

    Raises
    ------
    ModelError
        If LiteRT is not installed.
    ValueError
        If ``flatbuffer`` is not a model LiteRT can load.
    """

    def __init__(self, flatbuffer: bytes, *, threads: int | None = None):
        interpreter = litert_interpreter()
        if interpreter is None:
            raise ModelError("the litert backend needs the ai-edge-litert package")
        threads = default_threads() if threads is None else threads
        with captured_output(2):
            self.interpreter = interpreter(model_content=flatbuffer, num_threads=threads)
        details = self.interpreter.get_input_details()[0]
        self._input = details["index"]
        self.input_shape = tuple(int(n) for n in details["shape_signature"])
        self.output_shape = tuple(
            int(n) for n in self.interpreter.get_output_details()[0]["shape_signature"]
        )
        self._output = self.interpreter.get_output_details()[0]["index"]
        self._shape: tuple[int, ...] = ()

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        inputs = np.ascontiguousarray(inputs, dtype=np.float32)
        if inputs.shape != self._shape:
            self.interpreter.resize_tensor_input(self._input, list(inputs.shape))
            with captured_output(2):
                self.interpreter.allocate_tensors()
            self._shape = inputs.shape
        self.interpreter.set_tensor(self._input, inputs)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self._output).copy()
