"""Frozen YAMNet feature frames (:mod:`sed.model.feature_maps`), computed once and cached.

What the embedding cache (:mod:`sed.heads.embeddings`) is to window heads, this is to frame-level
heads: every recording's and every synthetic soundscape's feature frames are stored on disk,
keyed by the audio's content (SHA-256 of the file's bytes, or of a waveform's samples) and
everything that changes them: the model settings (:func:`sed.heads.embeddings.model_settings`:
framing, resampler, backend, weights), the feature specification (layers, log-mel) and the cache
format. A second training on the same material only trains.

Entries live in ``features/`` beside ``embeddings/`` in :func:`sed.infra.cache_dir`, one ``.npz``
each, written atomically; a damaged entry is recomputed. Features are stored as float16 (half
the disk and memory of float32; a relative rounding of 5e-4, far below what training notices)
and returned as float32.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from sed.audio import DEFAULT_RESAMPLER, audio_info, stream_audio
from sed.heads.embeddings import model_settings
from sed.infra import atomic_path, cache_dir, content_sha256
from sed.model.feature_maps import FeatureSpec
from sed.segmenter import FrameFeatures, frame_features

if TYPE_CHECKING:
    from sed.model import Yamnet

FEATURE_CACHE_VERSION = 1


def default_feature_cache_dir() -> str:
    """The feature cache folder: ``features/`` in :func:`sed.infra.cache_dir`."""
    return os.path.join(cache_dir(), "features")


class FeatureCache:
    """Feature frames on disk, one ``.npz`` per (audio content, model settings, feature spec).

    Parameters
    ----------
    directory : str or os.PathLike, optional
        By default :func:`default_feature_cache_dir`. Created when first written.
    """

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = (
            os.fspath(directory) if directory is not None else default_feature_cache_dir()
        )

    def _entry(self, content: str, model: Yamnet, spec: FeatureSpec, resampler: str) -> str:
        settings = json.dumps(
            {
                **model_settings(model, resampler),
                "features": spec.to_dict(),
                "feature_version": FEATURE_CACHE_VERSION,
            },
            sort_keys=True,
        )
        key = hashlib.sha256(f"{content}\n{settings}".encode()).hexdigest()
        return os.path.join(self.directory, key[:2], key + ".npz")

    def file(
        self,
        path: str | os.PathLike,
        model: Yamnet,
        spec: FeatureSpec,
        *,
        resampler: str = DEFAULT_RESAMPLER,
    ) -> FrameFeatures:
        """Feature frames of an audio file, from the cache when present, else computed (read
        block by block) and stored.

        Raises
        ------
        AudioError
            If the file cannot be used.
        """
        audio_info(path)  # a missing or broken file is an AudioError before hashing it
        entry = self._entry(content_sha256(path), model, spec, resampler)
        stored = _read(entry, os.fspath(path), spec, model)
        if stored is not None:
            return stored
        blocks, info = stream_audio(path, sample_rate=model.params.sample_rate, resampler=resampler)
        item = frame_features(
            blocks, model, spec, filename=os.fspath(path), duration_seconds=info.duration_seconds
        )
        _write(entry, item)
        return item

    def waveform(
        self,
        waveform: np.ndarray,
        model: Yamnet,
        spec: FeatureSpec,
        *,
        name: str = "",
        resampler: str = DEFAULT_RESAMPLER,
    ) -> FrameFeatures:
        """Feature frames of a 16 kHz waveform (a synthetic soundscape), cached by its samples.

        Parameters
        ----------
        waveform : np.ndarray [shape=(n_samples,), dtype=float32]
            Mono, at ``model.params.sample_rate``.
        model : sed.model.Yamnet
        spec : FeatureSpec
        name : str
            Stored as ``filename``.
        resampler : str
            The resampler the waveform was made with (part of the key).
        """
        waveform = np.ascontiguousarray(waveform, dtype=np.float32)
        entry = self._entry(hashlib.sha256(waveform.tobytes()).hexdigest(), model, spec, resampler)
        stored = _read(entry, name, spec, model)
        if stored is not None:
            return stored
        item = frame_features([waveform], model, spec, filename=name, overlap=False)
        _write(entry, item)
        return item

    def files(
        self,
        paths: Sequence[str | os.PathLike],
        model: Yamnet,
        spec: FeatureSpec,
        *,
        resampler: str = DEFAULT_RESAMPLER,
        progress: bool = False,
    ) -> list[FrameFeatures]:
        """:meth:`file` of each path, in order (a tqdm bar on stderr with ``progress``)."""
        if progress:
            from tqdm import tqdm

            paths = tqdm(paths, desc="features", unit="file", leave=False)
        return [self.file(path, model, spec, resampler=resampler) for path in paths]


def _write(entry: str, item: FrameFeatures) -> None:
    with atomic_path(entry) as temporary, open(temporary, "wb") as handle:
        np.savez(
            handle,
            features=item.features.astype(np.float16),
            duration_seconds=np.float64(item.duration_seconds),
        )


def _read(entry: str, name: str, spec: FeatureSpec, model: Yamnet) -> FrameFeatures | None:
    if not os.path.exists(entry):
        return None
    try:
        with np.load(entry) as data:
            features = data["features"].astype(np.float32)
            duration = float(data["duration_seconds"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        return None  # a damaged entry is recomputed and overwritten
    if features.ndim != 2 or features.shape[1] != spec.width:
        return None
    return FrameFeatures(name, features, spec.hop_seconds(model.params), duration)
