"""The frame-level vectors of an index: YAMNet's layer 6 and 14 feature frames of every recording.

An index (:mod:`sed.index`) stores one 1024-D embedding per 0.96 s window. Office events last
0.1 to 3 s, so a window of a knock is mostly the background around it. The frozen feature maps
of YAMNet's convolutional layers (:mod:`sed.model.feature_maps`) describe the audio every 80 ms
(layer 6, 256 channels) and every 320 ms (layer 14, 1024 channels); :func:`sed.search.similarities`
compares a query's frames with these (``scoring="frames"``, the default), which measured MAP 0.38
against 0.26 for window embeddings on ``sed_dev/office`` (docs/search.md). The index stores them
in files of its own, so :mod:`sed.index` and its window store do not change.

The frames live in the index folder beside ``index.sqlite`` and ``vectors.f32``, in files of
their own, so the window store is untouched:

``frames_layer6.f32``, ``frames_layer14.f32``
    Each layer's frequency-averaged frames as raw little-endian float32 rows (256 and 1024
    values), at the layer's own stride (0.08 and 0.32 s), recordings one after the other.
``frame_means.f32``
    Each recording's mean frame of each layer (rows of 256 + 1024 values): the archive's mean
    frame, subtracted before every cosine, is their weighted mean.
``frames.json``
    The layers, the feature version, and per recording (by absolute path, as the index stores
    it) its first row and number of frames in each layer's file. Written last, atomically:
    rows past what it lists (a killed run) are cut off by the next writer and never read.

Layer 6 frame ``j`` is the audio from ``0.08 j`` to ``0.08 (j + 1)`` s, layer 14 frame ``j``
from ``0.32 j`` to ``0.32 (j + 1)`` s (the network's receptive field is wider: see
:mod:`sed.model.feature_maps`). An hour of audio takes 92 MB of frames (46 MB per layer), against
29 MB of window vectors at hop 0.5 s.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from sed.errors import AudioError, ParameterError
from sed.model.feature_maps import FeatureSpec

if TYPE_CHECKING:
    from sed.index import Index
    from sed.model import Yamnet

#: The layers a frame search compares: 80 ms detail (6) and 320 ms context (14). Chosen on
#: ``sed_dev/office`` and checked on ``sed_dev/animals``: layer 6 alone finds short office
#: sounds best but loses on animal calls, layer 14 the reverse; the two together gain on both.
FRAME_LAYERS = (6, 14)
FRAMES_JSON = "frames.json"
FRAME_MEANS = "frame_means.f32"
#: Version of the frame files; another one is ignored (``sed index`` writes them again).
FRAME_VERSION = 1
FRAME_DTYPE = np.dtype("<f4")


def layer_file(layer: int) -> str:
    """The file holding one layer's frames in an index folder."""
    return f"frames_layer{layer}.f32"


@dataclass
class FrameIndex:
    """The feature frames of every recording of an index, aligned with ``index.recordings``.

    Attributes
    ----------
    layers : tuple of int
        :data:`FRAME_LAYERS`.
    hops : tuple of float
        Each layer's frame hop, seconds (0.08, 0.32).
    frames : list of np.ndarray [shape=(n_frames_of_layer, channels), dtype=float32]
        One memory map per layer: the frames of every recording, in the index's order.
    firsts, counts : np.ndarray [shape=(n_recordings, n_layers), dtype=int64]
        Each recording's first row and number of frames in each layer's array.
    means : np.ndarray [shape=(n_layers, channels)]
        Per layer, the archive's mean frame (a list: the layers differ in width).
    """

    layers: tuple[int, ...]
    hops: tuple[float, ...]
    frames: list[np.ndarray]
    firsts: np.ndarray
    counts: np.ndarray
    means: list[np.ndarray]


def _widths(spec: FeatureSpec) -> list[int]:
    from sed.model.network import layer_channels

    return [layer_channels(layer) for layer in spec.layers]


def _read_json(folder: str) -> dict:
    path = os.path.join(folder, FRAMES_JSON)
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        stored = json.load(handle)
    if stored.get("version") != FRAME_VERSION or tuple(stored.get("layers", ())) != FRAME_LAYERS:
        return {}
    return stored


def recording_frames(
    path: str, model: Yamnet, *, resampler: str, overlap: bool = True
) -> tuple[list[np.ndarray], float]:
    """Each :data:`FRAME_LAYERS` layer's frames of one audio file, at the layer's own stride.

    Parameters
    ----------
    path : str
    model : sed.model.Yamnet
    resampler : {"soxr", "resampy"}
    overlap : bool
        Decode and compute log-mel features in a second thread while the network runs.

    Returns
    -------
    frames : list of np.ndarray [shape=(n_frames, channels), dtype=float32]
        Layer 6 (256 channels, one frame per started 0.08 s), layer 14 (1024, per 0.32 s).
    duration_seconds : float

    Raises
    ------
    AudioError
        If the file cannot be read or holds no samples.
    """
    from sed.audio import stream_audio
    from sed.segmenter import frame_features

    spec = FeatureSpec(layers=FRAME_LAYERS)
    blocks, info = stream_audio(path, sample_rate=model.params.sample_rate, resampler=resampler)
    grid = frame_features(blocks, model, spec, filename=path, overlap=overlap).features
    return split_layers(grid, spec), float(info.duration_seconds)


def split_layers(grid: np.ndarray, spec: FeatureSpec) -> list[np.ndarray]:
    """The frames of each layer at its own stride, from :func:`sed.segmenter.frame_features`'
    grid (where a coarser layer's frame is repeated onto the finest layer's frames).

    Parameters
    ----------
    grid : np.ndarray [shape=(n_frames, spec.width)]
    spec : FeatureSpec
        Without ``log_mel``.

    Returns
    -------
    frames : list of np.ndarray [shape=(ceil(n_frames / repeat), channels), dtype=float32]
    """
    from sed.model.network import layer_stride

    parts, start = [], 0
    for layer, width in zip(spec.layers, _widths(spec)):
        repeat = layer_stride(layer) // spec.grid_frames
        parts.append(np.ascontiguousarray(grid[::repeat, start : start + width], np.float32))
        start += width
    return parts


def build_frame_index(
    index: Index,
    model: Yamnet,
    *,
    progress: Callable[[str, int], None] | None = None,
) -> list[str]:
    """Add the frames of every recording of ``index`` that has none yet, in this process.

    Parameters
    ----------
    index : sed.index.Index
        Opened after :func:`sed.indexing.index_recordings`; its folder receives the frame files.
    model : sed.model.Yamnet
        The index's model (its weights; the hop does not matter to frames).
    progress : callable, optional
        Called as ``progress(path, n_layer6_frames)`` after each recording is committed.

    Returns
    -------
    failed : list of str
        Recordings whose audio could not be read again (their frames are missing; a frame
        search of this index then refuses to run until they are added).
    """
    failed: list[str] = []
    with FrameWriter(index.folder) as writer:
        for recording in index.recordings:
            if recording.path in writer:
                continue
            try:
                frames, _ = recording_frames(
                    recording.path, model, resampler=index.settings["resampler"]
                )
            except AudioError:
                failed.append(recording.filename)
                continue
            writer.add(recording.path, frames)
            if progress:
                progress(recording.filename, len(frames[0]))
    return failed


class FrameWriter:
    """Appends recordings' frames to an index folder's frame files, each committed atomically.

    Used as a context manager: opening cuts off the rows of a killed run (past what
    ``frames.json`` lists); :meth:`add` appends and flushes a recording's frames, then rewrites
    ``frames.json``. :func:`build_frame_index` and ``sed index`` (:mod:`sed.indexing`) write
    through it.

    Parameters
    ----------
    folder : str or os.PathLike
        An index folder (:mod:`sed.index`).
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = os.fspath(folder)
        self._stored = _read_json(self.folder) or {
            "version": FRAME_VERSION,
            "layers": list(FRAME_LAYERS),
        }
        self._entries: dict = self._stored.setdefault("recordings", {})
        self._stack = contextlib.ExitStack()
        self._files: list[BinaryIO] = []
        self._means: BinaryIO | None = None
        self._committed = [
            sum(entry["count"][n] for entry in self._entries.values())
            for n in range(len(FRAME_LAYERS))
        ]

    def __enter__(self) -> FrameWriter:
        with self._stack as stack:
            paths = [os.path.join(self.folder, layer_file(layer)) for layer in FRAME_LAYERS]
            self._files = [stack.enter_context(open(path, "ab")) for path in paths]  # noqa: SIM115
            self._means = stack.enter_context(open(os.path.join(self.folder, FRAME_MEANS), "ab"))
            # Rows past the last commit are from a killed run: cut them off before appending.
            widths = _widths(FeatureSpec(layers=FRAME_LAYERS))
            for handle, rows, width in zip(self._files, self._committed, widths):
                handle.truncate(rows * width * FRAME_DTYPE.itemsize)
            self._means.truncate(len(self._entries) * sum(widths) * FRAME_DTYPE.itemsize)
            self._stack = stack.pop_all()  # opened: closed by __exit__
        return self

    def __exit__(self, *exc_info) -> None:
        self._stack.close()

    def __contains__(self, path: str) -> bool:
        """True when the recording (by the absolute path the index stores) has its frames."""
        return path in self._entries

    def add(self, path: str, frames: list[np.ndarray]) -> None:
        """Commit one recording's frames: appended and flushed, then listed in ``frames.json``.

        Parameters
        ----------
        path : str
            Its absolute path, as the index stores it.
        frames : list of np.ndarray [shape=(n_frames, channels), dtype=float32]
            Each :data:`FRAME_LAYERS` layer's frames (:func:`recording_frames`).

        Raises
        ------
        RuntimeError
            Outside the writer's ``with`` block.
        """
        if self._means is None:
            raise RuntimeError("FrameWriter.add outside its `with` block")
        for handle, layer_frames in zip(self._files, frames):
            handle.write(layer_frames.astype(FRAME_DTYPE).tobytes())
        self._means.write(
            np.concatenate([f.mean(axis=0) for f in frames]).astype(FRAME_DTYPE).tobytes()
        )
        for handle in (*self._files, self._means):
            handle.flush()
            os.fsync(handle.fileno())
        self._entries[path] = {
            "first": list(self._committed),
            "count": [len(f) for f in frames],
            "order": len(self._entries),
        }
        self._committed = [rows + len(f) for rows, f in zip(self._committed, frames)]
        _write_json(self.folder, self._stored)


def _write_json(folder: str, stored: dict) -> None:
    from sed.infra import atomic_open

    with atomic_open(os.path.join(folder, FRAMES_JSON)) as handle:
        json.dump(stored, handle)


def open_frame_index(index: Index) -> FrameIndex | None:
    """The frames of ``index``, or None when it has none for some recording.

    Raises
    ------
    ParameterError
        If a frame file is shorter than ``frames.json`` says.
    """
    stored = _read_json(index.folder)
    entries = stored.get("recordings", {})
    if not index.recordings or any(r.path not in entries for r in index.recordings):
        return None
    spec = FeatureSpec(layers=FRAME_LAYERS)
    widths = _widths(spec)
    firsts = np.array([entries[r.path]["first"] for r in index.recordings], np.int64)
    counts = np.array([entries[r.path]["count"] for r in index.recordings], np.int64)
    total = [sum(e["count"][n] for e in entries.values()) for n in range(len(widths))]
    frames = [
        _memmap(index.folder, layer_file(layer), rows, width)
        for layer, rows, width in zip(FRAME_LAYERS, total, widths)
    ]
    # Each recording's mean frame, weighted by its frames: the archive's mean frame per layer.
    all_means = _memmap(index.folder, FRAME_MEANS, len(entries), sum(widths))
    order = np.array([entries[r.path]["order"] for r in index.recordings], np.int64)
    recording_means = np.asarray(all_means[order], np.float64)
    bounds = np.cumsum([0, *widths])
    means = [
        (counts[:, n] @ recording_means[:, bounds[n] : bounds[n + 1]] / counts[:, n].sum()).astype(
            np.float32
        )
        for n in range(len(widths))
    ]
    hops = tuple(layer_hop_seconds(layer, index) for layer in FRAME_LAYERS)
    return FrameIndex(FRAME_LAYERS, hops, frames, firsts, counts, means)


def layer_hop_seconds(layer: int, index: Index) -> float:
    """A layer's frame hop in seconds (0.08 for layer 6, 0.32 for 14 at YAMNet's 10 ms)."""
    from sed.model.network import layer_stride
    from sed.params import YamnetParams

    params = YamnetParams(**index.settings["params"])
    return round(layer_stride(layer) * params.stft_hop_seconds, 6)


def _memmap(folder: str, name: str, rows: int, width: int) -> np.ndarray:
    path = os.path.join(folder, name)
    size = os.path.getsize(path) if os.path.exists(path) else 0
    if size < rows * width * FRAME_DTYPE.itemsize:
        raise ParameterError(f"{name} is shorter than its {rows} committed rows", folder)
    if rows == 0:
        return np.zeros((0, width), np.float32)
    return np.memmap(path, FRAME_DTYPE, "r", shape=(rows, width))
