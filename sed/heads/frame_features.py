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

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from sed.audio import DEFAULT_RESAMPLER, audio_info, stream_audio
from sed.heads.cache import ArrayCache, waveform_sha256
from sed.heads.embeddings import model_settings
from sed.infra import cache_dir, content_sha256
from sed.model.feature_maps import FeatureSpec
from sed.segmenter import FrameFeatures, frame_features

if TYPE_CHECKING:
    from sed.model import Yamnet

FEATURE_CACHE_VERSION = 1


def default_feature_cache_dir() -> str:
    """The feature cache folder: ``features/`` in :func:`sed.infra.cache_dir`."""
    return os.path.join(cache_dir(), "features")


class FeatureCache:
    """Feature frames on disk, one ``.npz`` per (audio content, model settings, feature spec)
    (:class:`sed.heads.cache.ArrayCache`).

    Parameters
    ----------
    directory : str or os.PathLike, optional
        By default :func:`default_feature_cache_dir`. Created when first written.
    """

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = (
            os.fspath(directory) if directory is not None else default_feature_cache_dir()
        )
        self._store = ArrayCache(self.directory)

    def _key(self, content: str, model: Yamnet, spec: FeatureSpec, resampler: str) -> str:
        settings = {
            **model_settings(model, resampler),
            "features": spec.to_dict(),
            "feature_version": FEATURE_CACHE_VERSION,
        }
        return self._store.key(content, settings)

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

        def compute() -> FrameFeatures:
            blocks, info = stream_audio(
                path, sample_rate=model.params.sample_rate, resampler=resampler
            )
            return frame_features(
                blocks,
                model,
                spec,
                filename=os.fspath(path),
                duration_seconds=info.duration_seconds,
            )

        key = self._key(content_sha256(path), model, spec, resampler)
        return self._cached(key, os.fspath(path), model, spec, compute)

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
        key = self._key(waveform_sha256(waveform), model, spec, resampler)
        return self._cached(
            key,
            name,
            model,
            spec,
            lambda: frame_features([waveform], model, spec, filename=name, overlap=False),
        )

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

    def _cached(
        self,
        key: str,
        name: str,
        model: Yamnet,
        spec: FeatureSpec,
        compute: Callable[[], FrameFeatures],
    ) -> FrameFeatures:
        stored = self._store.load(key, ("features", "duration_seconds"))
        if stored is not None and stored["features"].ndim == 2:
            features = stored["features"].astype(np.float32)
            if features.shape[1] == spec.width:
                hop = spec.hop_seconds(model.params)
                return FrameFeatures(name, features, hop, float(stored["duration_seconds"]))
        item = compute()
        self._store.store(
            key,
            features=item.features.astype(np.float16),
            duration_seconds=np.float64(item.duration_seconds),
        )
        return item
