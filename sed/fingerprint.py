"""Content fingerprints: what a cache key or a settings record needs to notice an edited file."""

from __future__ import annotations

import hashlib
import os


def content_sha256(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file's bytes, or of every file under a directory.

    A directory's files are taken recursively in sorted order, each as its path relative to the
    directory, a NUL byte, then its bytes; so a renamed, added, removed or edited file changes the
    fingerprint, and where the directory lies does not. A single file is hashed the same way with
    an empty name, so only its content counts, not its name. Files are read in 1 MiB blocks.

    Parameters
    ----------
    path : str or os.PathLike
        A file or a directory.

    Raises
    ------
    OSError
        If a file cannot be read.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        root = path
        names = sorted(os.path.relpath(os.path.join(folder, name), root)
                       for folder, _, files in os.walk(root) for name in files)
    else:
        root, names = path, [""]
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode() + b"\0")
        with open(os.path.join(root, name) if name else root, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
