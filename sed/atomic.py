"""Atomic output files: write to a temporary file beside the target, then rename.

A reader never sees a half-written output, and a run killed mid-write leaves the previous file
(or none) in place, never a partial one. ``os.replace`` is atomic on POSIX and Windows when both
paths are on one file system, which a sibling temporary file guarantees.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator


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
    handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                         dir=directory)
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
    with atomic_path(path) as temporary:
        with open(temporary, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())


def _read_umask() -> int:
    mask = os.umask(0)  # the only portable way to read it; done once, at import
    os.umask(mask)
    return mask


_UMASK = _read_umask()
