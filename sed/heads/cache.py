"""One content-keyed cache of arrays, for what heads are trained on: YAMNet's window embeddings
(:mod:`sed.heads.embeddings`) and its feature frames (:mod:`sed.heads.frame_features`).

An entry is one ``.npz`` file named by the SHA-256 of the audio's content (a file's bytes,
:func:`sed.infra.content_sha256`, or a waveform's samples, :func:`waveform_sha256`) and of
every setting that changes what is stored (JSON, keys sorted). Entries are written atomically;
one that cannot be read (damaged, truncated, of another layout) reads as missing, so it is
computed again and overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from typing import Any

import numpy as np

from sed.infra import atomic_path


def waveform_sha256(waveform: np.ndarray) -> str:
    """SHA-256 (hex) of a waveform's float32 samples: the content key of a synthetic mixture."""
    return hashlib.sha256(np.ascontiguousarray(waveform, dtype=np.float32).tobytes()).hexdigest()


class ArrayCache:
    """Named arrays on disk, one ``.npz`` per (content, settings).

    Parameters
    ----------
    directory : str or os.PathLike
        Created when first written; entries go to ``directory/ab/abcd....npz``.
    """

    def __init__(self, directory: str | os.PathLike):
        self.directory = os.fspath(directory)

    def key(self, content_sha256: str, settings: dict) -> str:
        """The entry name: SHA-256 of the content's hash and the settings (JSON-serialisable)."""
        text = f"{content_sha256}\n{json.dumps(settings, sort_keys=True)}"
        return hashlib.sha256(text.encode()).hexdigest()

    def entry(self, key: str) -> str:
        """The entry's path."""
        return os.path.join(self.directory, key[:2], key + ".npz")

    def load(self, key: str, names: tuple[str, ...]) -> dict[str, np.ndarray] | None:
        """The arrays ``names`` of an entry, or None when it is missing or unreadable."""
        path = self.entry(key)
        if not os.path.exists(path):
            return None
        try:
            with np.load(path) as data:
                return {name: data[name] for name in names}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
            return None  # a damaged entry is recomputed and overwritten

    def store(self, key: str, **arrays: Any) -> None:
        """Write the named arrays (or numpy scalars) as an entry, atomically (a reader never
        sees half of one)."""
        with atomic_path(self.entry(key)) as temporary, open(temporary, "wb") as handle:
            np.savez(handle, **arrays)
