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

from sed.errors import ModelError
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

    def conv_block(net, make, name):
        if batch_norm_folded:
            return make(use_bias=True, activation="relu", name=name)(net)
        net = make(use_bias=False, name=name)(net)
        net = layers.BatchNormalization(
            center=True, scale=False, epsilon=params.batchnorm_epsilon, name=f"{name}_bn"
        )(net)
        return layers.ReLU(name=f"{name}_relu")(net)

    patches = keras.Input(shape=(params.patch_frames, params.mel_bands), name="log_mel_patches")
    net = layers.Reshape((params.patch_frames, params.mel_bands, 1))(patches)
    for number, (kind, stride, filters) in enumerate(YAMNET_LAYER_DEFS, start=1):
        if kind == "conv":
            net = conv_block(
                net,
                partial(layers.Conv2D, filters, 3, strides=stride, padding="same"),
                f"layer{number}_conv",
            )
            continue
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
    embeddings = layers.GlobalAveragePooling2D(name="embeddings")(net)
    logits = layers.Dense(params.num_classes, name="logits")(embeddings)
    scores = layers.Activation("sigmoid", name="scores")(logits)
    return keras.Model(patches, [scores, embeddings], name="yamnet")


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
