"""Frozen YAMNet feature maps of intermediate layers, over the continuous spectrogram.

YAMNet's classifier sees 0.96 s patches, and its last layer has a 0.32 s stride: too coarse to
tell where a 0.2 s knock begins. Its convolutional layers, however, are translation-equivariant:
applied to the whole log-mel spectrogram of a recording as one image (a fully convolutional
network), layer 6 gives one vector every 80 ms, layers 7-12 every 160 ms and layers 13-14 every
320 ms, each computed once, where overlapping 0.96 s windows every 0.5 s compute each frame about
twice. Frame-level heads (:mod:`sed.heads.frame_head`) are trained on these maps.

**Frames.** Each requested layer's output is averaged over its frequency axis (the DCASE 2023
task 4 baseline pools its frozen BEATs embeddings likewise) and repeated onto the grid of the
finest requested layer, whose frame ``j`` is the audio from ``j * hop`` to ``(j + 1) * hop``
seconds (``hop = 0.08`` s for layer 6; frame ``j`` of layer ``n`` covers log-mel frames
``[stride(n) j, stride(n) (j + 1))``). With :attr:`FeatureSpec.log_mel`, the mean log-mel
spectrogram of each grid frame's 10 ms frames is appended.

**Padding.** The recording is zero-padded at its end to a whole number of the deepest layer's
stride (32 log-mel frames, 0.32 s, for layer 14), so that every strided convolution sees an even
length and TensorFlow's ``same`` padding puts its padding frame at the end of every layer. This
whole-file computation (:func:`feature_frames`) is the reference.

**Streaming.** :class:`FeatureMapStream` computes the same frames block by block: each block is
``core_frames`` log-mel frames plus :meth:`FeatureSpec.context_frames` on each side (160 frames
for layer 14: its receptive field reaches 126 frames back and 188 forward), starting on a
multiple of the deepest stride, and only the outputs of the core are kept. Those outputs depend
on the block's frames only, so they equal the whole-file ones up to float rounding (within 1e-5,
``tests/test_model_feature_maps.py``), and memory does not grow with the recording's length.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from sed.errors import ParameterError
from sed.model.network import YAMNET_LAYER_DEFS, check_layers, layer_channels, layer_stride
from sed.params import YamnetParams

#: The layers frame-level heads read by default: 80, 160 and 320 ms strides (chosen by
#: measurement on ``sed_dev/office``: see ``docs/frame-heads.md``).
DEFAULT_FEATURE_LAYERS = (6, 12, 14)
#: Log-mel frames per streamed block, besides the context (20.48 s of audio): the context is
#: recomputed for each block, so a longer core wastes less (16 % at this length).
DEFAULT_CORE_FRAMES = 2048

#: ``network(log_mel)``: log-mel frames ``(n, 64)`` in, one ``(n / stride, channels)`` array per
#: requested layer out (:meth:`sed.model.Yamnet.feature_network`).
FeatureNetwork = Callable[[np.ndarray], Sequence[np.ndarray]]


@dataclass(frozen=True)
class FeatureSpec:
    """Which frozen YAMNet features a frame-level head reads.

    Attributes
    ----------
    layers : tuple of int in 1..14
        Convolutional layers whose frequency-averaged outputs are concatenated, finest first.
    log_mel : bool
        Also append each grid frame's mean log-mel spectrogram (64 values).

    Raises
    ------
    ParameterError
        If a layer number is out of range.
    """

    layers: tuple[int, ...] = DEFAULT_FEATURE_LAYERS
    log_mel: bool = False

    def __post_init__(self):
        object.__setattr__(self, "layers", check_layers(self.layers))

    @property
    def grid_frames(self) -> int:
        """Log-mel frames (10 ms) per output frame: the stride of the finest layer (8 for 6)."""
        return layer_stride(self.layers[0])

    @property
    def block_multiple(self) -> int:
        """The stride of the deepest layer, in log-mel frames (32 for layer 14): blocks start,
        and the padded spectrogram ends, on multiples of it."""
        return layer_stride(self.layers[-1])

    @property
    def width(self) -> int:
        """Values per output frame: the layers' channels, plus 64 with ``log_mel``."""
        return sum(layer_channels(n) for n in self.layers) + (64 if self.log_mel else 0)

    def hop_seconds(self, params: YamnetParams = YamnetParams()) -> float:
        """Output frame hop (and length), in seconds: 0.08 for layer 6."""
        return round(self.grid_frames * params.stft_hop_seconds, 6)

    def context_frames(self) -> int:
        """Log-mel frames a streamed block needs on each side of its core (a multiple of
        :attr:`block_multiple`): the reach of the deepest layer's receptive field."""
        back, forward = receptive_field(self.layers[-1])
        needed = max(back, forward - (self.block_multiple - 1))
        return -(-needed // self.block_multiple) * self.block_multiple

    def to_dict(self) -> dict:
        """As plain data: ``{"layers": [...], "log_mel": bool}`` (``head.json``'s
        ``features`` and the feature cache's key)."""
        return {"layers": list(self.layers), "log_mel": self.log_mel}

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSpec:
        """From :meth:`to_dict`'s data (other keys, such as ``hop_seconds``, are ignored).

        Raises
        ------
        ParameterError
            If a layer number is out of range.
        """
        return cls(tuple(data.get("layers", DEFAULT_FEATURE_LAYERS)), bool(data.get("log_mel")))


def receptive_field(layer: int) -> tuple[int, int]:
    """How far output ``i`` of ``layer`` reaches into the log-mel frames.

    With even lengths at every strided layer (see the module notes), output ``i`` depends on
    log-mel frames ``stride * i - back`` to ``stride * i + forward``.

    Returns
    -------
    back, forward : int
        In log-mel frames; ``(126, 188)`` for layer 14.
    """
    low, high = 0, 0  # the dependency range of output i, as offsets from (stride so far) * i
    for _, stride, _ in reversed(YAMNET_LAYER_DEFS[:layer]):
        if stride == 1:  # 3x3, "same": one neighbour each side
            low, high = low - 1, high + 1
        else:  # 3x3, stride 2, even length: output k reads inputs 2k, 2k + 1, 2k + 2
            low, high = 2 * low, 2 * high + 2
    return -low, high


def padded_frame_count(n_samples: int, spec: FeatureSpec, params: YamnetParams) -> int:
    """Log-mel frames of a recording of ``n_samples`` after the padding (see the module notes).

    Returns
    -------
    n_frames : int
        The smallest multiple of :attr:`FeatureSpec.block_multiple` (at least one) whose grid
        frames cover every sample: ``ceil(n_samples / (160 grid_frames))`` grid frames or more.
    """
    grid = -(-max(n_samples, 1) // (params.stft_hop_samples * spec.grid_frames))
    frames = grid * spec.grid_frames
    return -(-frames // spec.block_multiple) * spec.block_multiple


def padded_sample_count(n_samples: int, spec: FeatureSpec, params: YamnetParams) -> int:
    """Samples after zero padding, so that the log-mel spectrogram has
    :func:`padded_frame_count` frames (frame ``k`` covers samples ``[160 k, 160 k + 400)``)."""
    frames = padded_frame_count(n_samples, spec, params)
    return (frames - 1) * params.stft_hop_samples + params.stft_window_samples


def frame_count(n_samples: int, spec: FeatureSpec, params: YamnetParams) -> int:
    """Output frames that hold audio: ``ceil(n_samples / samples per frame)``, at least one (the
    frames of the padding beyond are dropped)."""
    return -(-max(n_samples, 1) // (params.stft_hop_samples * spec.grid_frames))


def assemble(outputs: Sequence[np.ndarray], log_mel: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """Put the layers' outputs (and the log-mel means) on the output grid.

    Parameters
    ----------
    outputs : sequence of np.ndarray
        One per layer of ``spec``, ``(n_frames / stride(layer), channels)``, over the same
        log-mel frames.
    log_mel : np.ndarray [shape=(n_frames, 64)]
        Those frames (used with ``spec.log_mel`` only).
    spec : FeatureSpec

    Returns
    -------
    features : np.ndarray [shape=(n_frames / grid_frames, spec.width), dtype=float32]
    """
    n_grid = len(log_mel) // spec.grid_frames
    parts = [
        np.repeat(np.asarray(out, np.float32), layer_stride(n) // spec.grid_frames, axis=0)[:n_grid]
        for n, out in zip(spec.layers, outputs)
    ]
    if spec.log_mel:
        frames = np.asarray(log_mel[: n_grid * spec.grid_frames], np.float32)
        parts.append(frames.reshape(n_grid, spec.grid_frames, -1).mean(axis=1))
    return np.concatenate(parts, axis=1)


def feature_frames(log_mel: np.ndarray, network: FeatureNetwork, spec: FeatureSpec) -> np.ndarray:
    """The feature frames of a whole (padded) log-mel spectrogram at once: the reference that
    :class:`FeatureMapStream` reproduces.

    Parameters
    ----------
    log_mel : np.ndarray [shape=(n_frames, 64)]
        ``n_frames`` a multiple of ``spec.block_multiple`` (see :func:`padded_frame_count`).
    network : callable
        :meth:`sed.model.Yamnet.feature_network` for ``spec.layers``.
    spec : FeatureSpec

    Returns
    -------
    features : np.ndarray [shape=(n_frames / spec.grid_frames, spec.width), dtype=float32]

    Raises
    ------
    ParameterError
        If ``n_frames`` is not a positive multiple of ``spec.block_multiple``.
    """
    _check_length(len(log_mel), spec)
    return assemble(network(log_mel), log_mel, spec)


def _check_length(n_frames: int, spec: FeatureSpec) -> None:
    if n_frames == 0 or n_frames % spec.block_multiple:
        raise ParameterError(
            f"feature maps need a multiple of {spec.block_multiple} log-mel frames, "
            f"got {n_frames} (pad the waveform to padded_sample_count)"
        )


class FeatureMapStream:
    """Log-mel frames in, feature frames out, block by block (see the module notes).

    Parameters
    ----------
    network : callable
        :meth:`sed.model.Yamnet.feature_network` for ``spec.layers``.
    spec : FeatureSpec
    core_frames : int
        Log-mel frames whose outputs each block keeps (a multiple of ``spec.block_multiple``).

    Raises
    ------
    ParameterError
        If ``core_frames`` is not a positive multiple of ``spec.block_multiple``.
    """

    def __init__(
        self, network: FeatureNetwork, spec: FeatureSpec, core_frames: int = DEFAULT_CORE_FRAMES
    ):
        if core_frames <= 0 or core_frames % spec.block_multiple:
            raise ParameterError(
                f"core frames must be a positive multiple of {spec.block_multiple}, "
                f"got {core_frames}"
            )
        self.network, self.spec, self.core = network, spec, core_frames
        self.context = spec.context_frames()
        self._frames = np.zeros((0, YamnetParams().mel_bands), np.float32)
        self._first = 0  # index of self._frames[0] in the whole spectrogram
        self._done = 0  # log-mel frames whose outputs have been returned

    def push(self, log_mel: np.ndarray) -> np.ndarray:
        """Next log-mel frames in; returns the feature frames now final, in order."""
        self._frames = np.concatenate([self._frames, np.asarray(log_mel, np.float32)])
        parts = []
        while self._first + len(self._frames) >= self._done + self.core + self.context:
            parts.append(self._block(self._done + self.core))
        return self._joined(parts)

    def finish(self) -> np.ndarray:
        """The remaining feature frames, once every (padded) log-mel frame has been pushed.

        Raises
        ------
        ParameterError
            If the frames pushed in all are not a multiple of ``spec.block_multiple``.
        """
        end = self._first + len(self._frames)
        _check_length(end, self.spec)
        parts = []
        while self._done < end:
            parts.append(self._block(min(end, self._done + self.core)))
        return self._joined(parts)

    def _block(self, core_end: int) -> np.ndarray:
        """Run the network over the core ``[done, core_end)`` with its context; keep its outputs."""
        start = max(0, self._done - self.context)
        stop = min(self._first + len(self._frames), core_end + self.context)
        frames = self._frames[start - self._first : stop - self._first]
        outputs = self.network(frames)
        kept = [
            out[(self._done - start) // layer_stride(n) : (core_end - start) // layer_stride(n)]
            for n, out in zip(self.spec.layers, outputs)
        ]
        core = frames[self._done - start : core_end - start]
        self._done = core_end
        # Keep only what later blocks read: their context reaches `context` frames back.
        drop = max(0, self._done - self.context - self._first)
        self._frames, self._first = self._frames[drop:], self._first + drop
        return assemble(kept, core, self.spec)

    def _joined(self, parts: list[np.ndarray]) -> np.ndarray:
        if parts:
            return np.concatenate(parts)
        return np.zeros((0, self.spec.width), np.float32)
