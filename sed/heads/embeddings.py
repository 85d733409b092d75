"""Embedding extraction: YAMNet's 1024-D window embeddings, computed once and cached.

Heads (:mod:`sed.heads.head`) are trained and run on the embeddings YAMNet computes before its own
classifier layer (the reference transfer-learning tutorial's input). Computing them is the slow
part of training, so every file's embeddings are cached on disk, keyed by the file's content
(SHA-256 of its bytes) and everything that changes them: the framing (:class:`YamnetParams`), the
resampler and a fingerprint of the weights. A renamed or moved file hits the cache; an edited file,
another hop or other weights miss it.

The cache lives in ``$SED_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/sed`` (``~/.cache/sed``), under
``embeddings/``. Entries are written atomically (:mod:`sed.infra`), so concurrent runs and killed
runs never leave a half-written entry; a damaged entry is recomputed.

Each window also gets its level (RMS of its 16 kHz samples, in dBFS), so that windows of digital
silence (ESC-50 pads short clips with zeros) can be told apart from quiet sound.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd

from sed.audio import DEFAULT_RESAMPLER, audio_info
from sed.errors import ParameterError
from sed.heads.cache import ArrayCache, waveform_sha256
from sed.infra import atomic_path, cache_dir, content_sha256
from sed.params import DEFAULT_BATCH_SIZE, YamnetParams
from sed.segmenter import score_file, score_waveforms, window_times

if TYPE_CHECKING:
    from sed.model import Yamnet

CACHE_VERSION = 2
EMBEDDING_FORMATS = (".npz", ".parquet")


@dataclass
class FileEmbeddings:
    """YAMNet embeddings of every window of one recording, with the windows' times.

    Attributes
    ----------
    filename : str
        The recording, as given.
    starts, ends : np.ndarray [shape=(n_windows,), dtype=float64]
        Window start and end times, in seconds.
    embeddings : np.ndarray [shape=(n_windows, 1024), dtype=float32]
        YAMNet embeddings (global-average-pooled last convolution, >= 0).
    levels_dbfs : np.ndarray [shape=(n_windows,), dtype=float32]
        RMS level of each window's 16 kHz samples (zero padding included), in dBFS, floored at
        -200 dBFS (digital silence).
    duration_seconds : float
        True length of the recording, in seconds.
    """

    filename: str
    starts: np.ndarray
    ends: np.ndarray
    embeddings: np.ndarray
    levels_dbfs: np.ndarray
    duration_seconds: float

    def __len__(self) -> int:
        return len(self.starts)


def default_cache_dir() -> str:
    """The embedding cache folder: ``embeddings/`` in :func:`sed.infra.cache_dir`."""
    return os.path.join(cache_dir(), "embeddings")


def model_settings(model: Yamnet, resampler: str = DEFAULT_RESAMPLER) -> dict:
    """Everything besides the audio that determines a file's embeddings.

    Parameters
    ----------
    model : sed.model.Yamnet
    resampler : {"soxr", "resampy"}

    Returns
    -------
    settings : dict
        ``params`` (every :class:`YamnetParams` field), ``resampler``, ``backend`` (LiteRT and
        TensorFlow agree to about 1e-4, not bit for bit), ``weights_sha256`` (of the weights'
        content when the model loaded them, :attr:`sed.model.Yamnet.weights_sha256`; the same
        for both backends, so a head trained with one runs with the other) and the cache format
        ``version``.
    """
    return {
        "params": dataclasses.asdict(model.params),
        "resampler": resampler,
        "backend": model.backend,
        "weights_sha256": model.weights_sha256,
        "version": CACHE_VERSION,
    }


def compute_embeddings(
    path: str | os.PathLike, model: Yamnet, *, resampler: str = DEFAULT_RESAMPLER
) -> FileEmbeddings:
    """Embeddings and window levels of one file, without the cache.

    Raises
    ------
    AudioError
        If the file cannot be used.
    """
    return _file_embeddings(
        os.fspath(path), score_file(path, model, resampler=resampler, keep_embeddings=True)
    )


def _file_embeddings(name: str, scored) -> FileEmbeddings:
    """The embeddings and window levels of one streaming pass (:func:`score_stream`)."""
    return FileEmbeddings(
        name,
        scored.starts,
        scored.ends,
        scored.embeddings.astype(np.float32),
        scored.window_level_dbfs,
        scored.duration_seconds,
    )


class EmbeddingCache:
    """Embeddings on disk, one ``.npz`` per (audio content, model settings)
    (:class:`sed.heads.cache.ArrayCache`).

    Parameters
    ----------
    directory : str or os.PathLike, optional
        By default :func:`default_cache_dir`. Created when first written.

    Examples
    --------
    >>> cache = EmbeddingCache()
    >>> item = cache.embed("dog.wav", model)     # computed once, then read back
    """

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = os.fspath(directory) if directory is not None else default_cache_dir()
        self._store = ArrayCache(self.directory)

    def key(
        self, path: str | os.PathLike, model: Yamnet, resampler: str = DEFAULT_RESAMPLER
    ) -> str:
        """The entry name: SHA-256 of the file's bytes and of the model settings."""
        return self._store.key(content_sha256(path), model_settings(model, resampler))

    def entry(self, key: str) -> str:
        """The entry's path."""
        return self._store.entry(key)

    def embed(
        self, path: str | os.PathLike, model: Yamnet, *, resampler: str = DEFAULT_RESAMPLER
    ) -> FileEmbeddings:
        """Embeddings of one file, from the cache when present, else computed and stored.

        Parameters
        ----------
        path : str or os.PathLike
            An audio file; its content, not its name, is the key.
        model : sed.model.Yamnet
        resampler : {"soxr", "resampy"}

        Returns
        -------
        embeddings : FileEmbeddings
            ``filename`` is ``path`` as given.

        Raises
        ------
        AudioError
            If the file cannot be used.
        """
        audio_info(path)  # a missing or broken file is an AudioError before hashing it
        key = self.key(path, model, resampler)
        return self._cached(
            key,
            os.fspath(path),
            model,
            lambda: compute_embeddings(path, model, resampler=resampler),
        )

    def embed_waveforms(
        self,
        waveforms: Sequence[np.ndarray],
        model: Yamnet,
        *,
        names: Sequence[str],
        resampler: str = DEFAULT_RESAMPLER,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> list[FileEmbeddings]:
        """Embeddings of 16 kHz waveforms (synthetic mixtures), each cached by its samples.

        Those not in the cache go through YAMNet together (:func:`sed.segmenter.score_waveforms`:
        the framing of :func:`sed.segmenter.score_waveform`, windows of several waveforms per
        model call).

        Parameters
        ----------
        waveforms : sequence of np.ndarray [shape=(n_samples,), dtype=float32]
            Mono, in [-1, 1], at ``model.params.sample_rate``, each non-empty.
        model : sed.model.Yamnet
        names : sequence of str
            One per waveform, stored as ``filename``.
        resampler : str
            The resampler the waveforms were made with (part of the key).
        batch_size : int > 0
            Windows per model call.

        Returns
        -------
        embeddings : list of FileEmbeddings
            In the order of ``waveforms``.

        Raises
        ------
        AudioError
            If a waveform is empty or holds NaN or infinite samples.
        ValueError
            If ``names`` and ``waveforms`` differ in length.
        """
        if len(names) != len(waveforms):
            raise ValueError(f"{len(names)} names for {len(waveforms)} waveforms")
        settings = model_settings(model, resampler)
        keys = [self._store.key(waveform_sha256(w), settings) for w in waveforms]
        items = [self._load(key, name, model) for key, name in zip(keys, names)]
        missing = [i for i, item in enumerate(items) if item is None]
        scored = score_waveforms(
            (np.asarray(waveforms[i], np.float32) for i in missing),
            model,
            filenames=[names[i] for i in missing],
            keep_embeddings=True,
            batch_size=batch_size,
        )
        for i, grid in zip(missing, scored, strict=True):
            items[i] = self._stored(keys[i], _file_embeddings(names[i], grid))
        return cast("list[FileEmbeddings]", items)

    def _cached(
        self, key: str, name: str, model: Yamnet, compute: Callable[[], FileEmbeddings]
    ) -> FileEmbeddings:
        item = self._load(key, name, model)
        return item if item is not None else self._stored(key, compute())

    def _load(self, key: str, name: str, model: Yamnet) -> FileEmbeddings | None:
        """The entry ``key`` under ``name``, or None if it is absent or damaged."""
        stored = self._store.load(key, ("embeddings", "levels_dbfs", "duration_seconds"))
        if stored is None:
            return None
        embeddings = stored["embeddings"].astype(np.float32)
        starts, ends = window_times(len(embeddings), model.params)
        duration = float(stored["duration_seconds"])
        return FileEmbeddings(name, starts, ends, embeddings, stored["levels_dbfs"], duration)

    def _stored(self, key: str, item: FileEmbeddings) -> FileEmbeddings:
        """``item``, once written as the entry ``key``."""
        self._store.store(
            key,
            embeddings=item.embeddings,
            levels_dbfs=item.levels_dbfs,
            duration_seconds=np.float64(item.duration_seconds),
        )
        return item


def embed_files(
    paths: Iterable[str | os.PathLike],
    model: Yamnet,
    *,
    cache: EmbeddingCache | None = None,
    resampler: str = DEFAULT_RESAMPLER,
    progress: bool = False,
) -> list[FileEmbeddings]:
    """Embeddings of several files, through the cache.

    Parameters
    ----------
    paths : iterable of str or os.PathLike
    model : sed.model.Yamnet
    cache : EmbeddingCache, optional
        By default the one in :func:`default_cache_dir`.
    resampler : {"soxr", "resampy"}
    progress : bool
        Show a tqdm progress bar on stderr.

    Returns
    -------
    embeddings : list of FileEmbeddings
        In the order of ``paths``.
    """
    cache = cache or EmbeddingCache()
    paths = list(paths)
    if progress:
        from tqdm import tqdm

        paths = tqdm(paths, desc="embeddings", unit="file", leave=False)
    return [cache.embed(path, model, resampler=resampler) for path in paths]


def embeddings_frame(items: Sequence[FileEmbeddings]) -> pd.DataFrame:
    """All windows of all files as one table.

    Returns
    -------
    table : pd.DataFrame [shape=(n_windows, 4 + 1024)]
        Columns ``filename, start, end, level_dbfs``, then ``e0000`` ... ``e1023``.
    """
    width = items[0].embeddings.shape[1] if items else 1024
    meta = pd.DataFrame(
        {
            "filename": np.concatenate([[i.filename] * len(i) for i in items]) if items else [],
            "start": np.concatenate([i.starts for i in items]) if items else [],
            "end": np.concatenate([i.ends for i in items]) if items else [],
            "level_dbfs": np.concatenate([i.levels_dbfs for i in items]) if items else [],
        }
    )
    values = np.concatenate([i.embeddings for i in items]) if items else np.zeros((0, width))
    columns = [f"e{k:04d}" for k in range(width)]
    return pd.concat([meta, pd.DataFrame(values.astype(np.float32), columns=columns)], axis=1)


def check_embeddings_path(path: str | os.PathLike) -> str:
    """``path`` as a string if it ends in ``.npz`` or ``.parquet``, else :class:`ParameterError`."""
    path = os.fspath(path)
    if os.path.splitext(path)[1].lower() not in EMBEDDING_FORMATS:
        raise ParameterError(f"embeddings output must end in .npz or .parquet, got {path!r}")
    return path


def write_embeddings(
    items: Sequence[FileEmbeddings], path: str | os.PathLike, params: YamnetParams
) -> None:
    """Write embeddings of several files to ``.npz`` or ``.parquet``, atomically.

    ``.npz`` arrays: ``embeddings (n_windows, 1024)`` float32, ``starts``, ``ends`` (seconds),
    ``filenames`` (per window), ``levels_dbfs``, and the scalars ``hop_seconds`` and
    ``sample_rate``. ``.parquet``: the table of :func:`embeddings_frame`, with ``hop_seconds`` and
    ``sample_rate`` in the schema metadata under ``sed``.

    Raises
    ------
    ParameterError
        If the extension is neither.
    """
    path = check_embeddings_path(path)
    extension = os.path.splitext(path)[1].lower()
    settings = {"hop_seconds": params.patch_hop_seconds, "sample_rate": params.sample_rate}
    with atomic_path(path) as temporary:
        if extension == ".npz":
            table = embeddings_frame(items)
            with open(temporary, "wb") as handle:
                np.savez(
                    handle,
                    embeddings=table.iloc[:, 4:].to_numpy(np.float32),
                    starts=table["start"].to_numpy(),
                    ends=table["end"].to_numpy(),
                    filenames=table["filename"].to_numpy(dtype=str),
                    levels_dbfs=table["level_dbfs"].to_numpy(np.float32),
                    hop_seconds=np.asarray(settings["hop_seconds"]),
                    sample_rate=np.asarray(settings["sample_rate"]),
                )
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(embeddings_frame(items), preserve_index=False)
            table = table.replace_schema_metadata(
                {**(table.schema.metadata or {}), b"sed": json.dumps(settings).encode()}
            )
            pq.write_table(table, temporary)
