"""YAMNet's network, rebuilt in Keras from the reference ``yamnet.py``.

tensorflow/models ``research/audioset/yamnet/yamnet.py``: a MobileNet v1 of one 3x3 convolution and
13 depthwise-separable blocks, each convolution followed by batch normalisation (centre only,
epsilon 1e-4) and ReLU, global average pooling to a 1024-D embedding, then a dense layer with a
sigmoid over 521 AudioSet classes. It takes 96x64 log-mel patches; the framing lives in
:mod:`sed.features` and :mod:`sed.segmenter`.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from sed.errors import ModelError, ParameterError
from sed.model.runtime import import_tensorflow
from sed.params import YamnetParams

# (kind, stride, filters) of the 14 convolutional layers: yamnet.py's _YAMNET_LAYER_DEFS.
YAMNET_LAYER_DEFS = (
    ("conv", 2, 32),
    ("separable", 1, 64),
    ("separable", 2, 128),
    ("separable", 1, 128),
    ("separable", 2, 256),
    ("separable", 1, 256),
    ("separable", 2, 512),
    ("separable", 1, 512),
    ("separable", 1, 512),
    ("separable", 1, 512),
    ("separable", 1, 512),
    ("separable", 1, 512),
    ("separable", 2, 1024),
    ("separable", 1, 1024),
)
BN_VARIABLES = ("beta", "moving_mean", "moving_variance")


def _weight_layout() -> list[tuple[str, tuple[str, ...]]]:
    """The 55 weighted layers in the reference order, as (HDF5 layer name, variable names).

    The order is that of the checkpoint's ``layer_with_weights-{0..54}`` as well.
    """
    layout: list[tuple[str, tuple[str, ...]]] = []
    for number, (kind, _, _) in enumerate(YAMNET_LAYER_DEFS, start=1):
        convs = (
            [("conv", "kernel")]
            if kind == "conv"
            else [("depthwise_conv", "depthwise_kernel"), ("pointwise_conv", "kernel")]
        )
        for conv, variable in convs:
            layout.append((f"layer{number}/{conv}", (variable,)))
            layout.append((f"layer{number}/{conv}/bn", BN_VARIABLES))
    layout.append(("logits", ("kernel", "bias")))
    return layout


WEIGHT_LAYOUT = _weight_layout()


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

    patches = keras.Input(shape=(params.patch_frames, params.mel_bands), name="log_mel_patches")
    net = layers.Reshape((params.patch_frames, params.mel_bands, 1))(patches)
    net = _conv_layers(net, params, len(YAMNET_LAYER_DEFS), batch_norm_folded)[-1]
    embeddings = layers.GlobalAveragePooling2D(name="embeddings")(net)
    logits = layers.Dense(params.num_classes, name="logits")(embeddings)
    scores = layers.Activation("sigmoid", name="scores")(logits)
    return keras.Model(patches, [scores, embeddings], name="yamnet")


def _conv_layers(net, params: YamnetParams, depth: int, batch_norm_folded: bool) -> list:
    """YAMNet's first ``depth`` convolutional layers on ``net`` (time, frequency, channels);
    returns the output of each layer (after its ReLU), in order."""
    from keras import layers

    def conv_block(net, make, name):
        if batch_norm_folded:
            return make(use_bias=True, activation="relu", name=name)(net)
        net = make(use_bias=False, name=name)(net)
        net = layers.BatchNormalization(
            center=True, scale=False, epsilon=params.batchnorm_epsilon, name=f"{name}_bn"
        )(net)
        return layers.ReLU(name=f"{name}_relu")(net)

    outputs = []
    for number, (kind, stride, filters) in enumerate(YAMNET_LAYER_DEFS[:depth], start=1):
        if kind == "conv":
            net = conv_block(
                net,
                partial(layers.Conv2D, filters, 3, strides=stride, padding="same"),
                f"layer{number}_conv",
            )
        else:
            net = conv_block(
                net,
                partial(layers.DepthwiseConv2D, 3, strides=stride, padding="same"),
                f"layer{number}_depthwise_conv",
            )
            net = conv_block(
                net,
                partial(layers.Conv2D, filters, 1, padding="same"),
                f"layer{number}_pointwise_conv",
            )
        outputs.append(net)
    return outputs


def layer_stride(layer: int) -> int:
    """Total stride of YAMNet's convolutional layer ``layer`` (1 to 14) along time and frequency,
    in input frames (bands): 2 for layer 1, 8 for layer 6, 16 for 7-12, 32 for 13-14."""
    check_layers((layer,))
    return int(np.prod([stride for _, stride, _ in YAMNET_LAYER_DEFS[:layer]]))


def layer_channels(layer: int) -> int:
    """Channels of YAMNet's convolutional layer ``layer`` (1 to 14): 32 to 1024."""
    check_layers((layer,))
    return YAMNET_LAYER_DEFS[layer - 1][2]


def check_layers(layers) -> tuple[int, ...]:
    """``layers`` as a sorted tuple of distinct layer numbers, each in 1..14.

    Raises
    ------
    ParameterError
        If empty, or a number is not a layer of YAMNet.
    """
    chosen = tuple(sorted({int(n) for n in layers})) if layers else ()
    if not chosen or chosen[0] < 1 or chosen[-1] > len(YAMNET_LAYER_DEFS):
        raise ParameterError(
            f"YAMNet layers are numbered 1 to {len(YAMNET_LAYER_DEFS)}, got {list(layers)}"
        )
    return chosen


def build_feature_network(
    layers_wanted, params: YamnetParams = YamnetParams(), *, batch_norm_folded: bool = False
):
    """YAMNet's convolutional stack over a log-mel spectrogram of any length, as a Keras model.

    The layers are applied to the whole spectrogram as one image (time x 64 bands) instead of
    0.96 s patches, as a fully convolutional network; each requested layer's output is averaged
    over its frequency axis.

    Parameters
    ----------
    layers_wanted : iterable of int in 1..14
        Layers whose outputs are returned (see :data:`YAMNET_LAYER_DEFS`); the stack is built up
        to the deepest one.
    params : YamnetParams
    batch_norm_folded : bool
        As for :func:`build_network`.

    Returns
    -------
    model : keras.Model
        Input ``(batch, n_frames, 64)`` log-mel frames; one output per layer, in increasing layer
        order, ``(batch, n_frames / layer_stride(layer), layer_channels(layer))``. With
        ``n_frames`` a multiple of the deepest layer's stride, every strided convolution sees an
        even length, so TensorFlow's ``same`` padding adds its one padding frame at the end.

    Raises
    ------
    ParameterError
        If a layer number is out of range.
    """
    chosen = check_layers(layers_wanted)
    import_tensorflow()
    import keras
    from keras import layers

    frames = keras.Input(shape=(None, params.mel_bands), name="log_mel")
    net = layers.Reshape((-1, params.mel_bands, 1))(frames)
    outputs = _conv_layers(net, params, chosen[-1], batch_norm_folded)
    means = [
        layers.Lambda(lambda x: keras.ops.mean(x, axis=2), name=f"layer{n}_mean")(outputs[n - 1])
        for n in chosen
    ]
    return keras.Model(frames, means, name="yamnet_feature_maps")


def feature_network_weights(layer_weights: list[list[np.ndarray]], depth: int, *, folded: bool):
    """The per-layer weights of :func:`build_network`'s first ``depth`` convolutional layers.

    Parameters
    ----------
    layer_weights : list of list of np.ndarray
        :func:`per_layer` (not folded) or :func:`fold_batch_norm` (folded) of the weights.
    depth : int
        The deepest layer of the feature network.
    folded : bool
        Whether ``layer_weights`` are folded (one entry per convolution) or not (convolution
        and batch normalisation each an entry).
    """
    per_conv = 1 if folded else 2
    return layer_weights[: per_conv * (1 + 2 * (depth - 1))]


def fold_batch_norm(
    weights: list[np.ndarray], params: YamnetParams = YamnetParams()
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
        if variables != BN_VARIABLES:
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


def per_layer(weights: list[np.ndarray]) -> list[list[np.ndarray]]:
    values = iter(weights)
    return [[next(values) for _ in variables] for _, variables in WEIGHT_LAYOUT]
