"""Infrastructure every stage may use: atomic output files, content fingerprints, the cache folder.

- **Atomic files** (:func:`atomic_path`, :func:`atomic_open`): write to a temporary file beside the
  target, then rename. A reader never sees a half-written output, and a run killed mid-write leaves
  the previous file (or none) in place, never a partial one. ``os.replace`` is atomic on POSIX and
  Windows when both paths are on one file system, which a sibling temporary file guarantees.
- **Fingerprints** (:func:`content_sha256`): what a cache key or a settings record needs to notice
  an edited file.
- **The cache folder** (:func:`cache_dir`): where the LiteRT conversion and the embedding cache
  live.

This module imports nothing of ``sed`` but its errors: every other module may import it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator

#: Environment variable naming the cache folder (see :func:`cache_dir`).
CACHE_ENV = "SED_CACHE_DIR"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path to write; on success it is renamed to ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The final output file. Its directory is created if missing.

    Yields
    ------
    temporary : str
        A fresh path in the same directory, named ``.<name>.<random>.tmp``. If the block raises,
        the temporary file is removed and ``path`` is left untouched.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory
    )
    os.close(handle)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~_UMASK)  # mkstemp makes 0600; honour the umask
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator:
    """Open a temporary file for writing; on success it is flushed, synced and renamed to ``path``.

    Parameters
    ----------
    path : str or os.PathLike
    mode : {"w", "wb"}
    **kwargs
        Passed to :func:`open` (``encoding``, ``newline``...).
    """
    with atomic_path(path) as temporary, open(temporary, mode, **kwargs) as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def _read_umask() -> int:
    mask = os.umask(0)  # the only portable way to read it; done once, at import
    os.umask(mask)
    return mask


_UMASK = _read_umask()


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
        names = sorted(
            os.path.relpath(os.path.join(folder, name), root)
            for folder, _, files in os.walk(root)
            for name in files
        )
    else:
        root, names = path, [""]
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode() + b"\0")
        with open(os.path.join(root, name) if name else root, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def cache_dir() -> str:
    """The cache folder: ``$SED_CACHE_DIR``, else ``$XDG_CACHE_HOME/sed``, else ``~/.cache/sed``.

    Returns
    -------
    directory : str
        Not created here; writers create it when they first store something.
    """
    if os.environ.get(CACHE_ENV):
        return os.environ[CACHE_ENV]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sed")
