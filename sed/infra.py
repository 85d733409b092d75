"""Infrastructure every stage may use: atomic output files, clean stops on signals, content
fingerprints, the cache folder.

- **Atomic files** (:func:`atomic_path`, :func:`atomic_open`): write to a temporary file beside the
  target, then rename. A reader never sees a half-written output, and a run killed mid-write leaves
  the previous file (or none) in place, never a partial one. ``os.replace`` is atomic on POSIX and
  Windows when both paths are on one file system, which a sibling temporary file guarantees. A
  write that fails (disk full, no permission) raises :class:`sed.errors.WriteError` naming the
  file and the operating system's reason, and leaves no temporary file. Only regular files are
  replaced: a FIFO or a character device (``/dev/null``, a terminal) is written to directly, as
  ``cat > p.csv`` would, and any other kind of file (a socket, a block device) is refused
  (:func:`special_kind`); the node itself is never replaced.
- **Files sed wrote** (:func:`remember_written`, :func:`written_by_sed`): every file the atomic
  writers put in place is recorded in the cache folder (``written/``) by its real path with its
  device, inode, size and modification time, so :func:`sed.outputs.check_outputs` can tell a
  file ``sed`` wrote, untouched since, from anyone else's (a user's annotation table, or an output
  edited by hand), which is not replaced without ``--overwrite``.
- **Signals** (:func:`stop_on_signals`): ``SIGINT`` and ``SIGTERM`` raise
  :class:`sed.errors.Interrupted` in the main thread, so ``finally`` blocks and the atomic writes
  clean up before the process ends.
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
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator

from sed.errors import Interrupted, SedError, WriteError

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
        the temporary file is removed and ``path`` is left untouched. When ``path`` is a FIFO or
        a character device (:func:`streamed`), ``path`` itself: it is written to, not replaced.

    Raises
    ------
    WriteError
        If the folder, the temporary file or the file cannot be written (an ``OSError`` raised
        by the block too): ``<path>: cannot write (<reason>)``, with the ``errno``; or if
        ``path`` is a socket or a block device (:func:`special_kind`).
    """
    path = os.fspath(path)
    if streamed(path):  # a FIFO or a device: written to as it is, never replaced
        yield path
        return
    try:
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory
        )
        os.close(handle)
    except OSError as error:
        raise write_error(error, path) from None
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~_UMASK)  # mkstemp makes 0600; honour the umask
        os.replace(temporary, path)
        remember_written(path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        if isinstance(error, OSError) and not isinstance(error, WriteError):
            raise write_error(error, path) from None
        raise


def write_error(error: OSError, path: str | os.PathLike) -> WriteError:
    """The :class:`WriteError` of an ``OSError`` met while writing ``path``."""
    reason = error.strerror or str(error) or type(error).__name__
    return WriteError(f"cannot write ({reason})", path, errno=error.errno)


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
    if streamed(path):  # no temporary file, and no fsync: a pipe or a device cannot sync
        try:
            with open(path, mode, **kwargs) as handle:
                yield handle
        except OSError as error:
            if isinstance(error, WriteError):
                raise
            raise write_error(error, path) from None
        return
    with atomic_path(path) as temporary, open(temporary, mode, **kwargs) as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


#: What :func:`special_kind` calls a FIFO (a named pipe, or what a shell's ``<(...)`` gives).
FIFO_KIND = "a pipe (a FIFO, or a shell's <(...))"


def special_kind(path: str | os.PathLike) -> str | None:
    """What ``path`` is when it exists and is not a regular file or a folder (links followed).

    Returns
    -------
    kind : str or None
        "a pipe (a FIFO, or a shell's <(...))", "a character device", "a socket", "a block
        device" or "a special file";
        None for a regular file, a folder, or nothing (a dangling link too).
    """
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    for test, kind in (
        (stat.S_ISFIFO, FIFO_KIND),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return kind
    return "a special file"


#: The kinds of file (:func:`special_kind`) written to directly instead of replaced.
STREAMED_KINDS = (FIFO_KIND, "a character device")


def streamed(path: str | os.PathLike) -> bool:
    """True if ``path`` is a FIFO or a character device: written to directly, never replaced.

    Raises
    ------
    WriteError
        If ``path`` is another kind of special file (a socket, a block device): ``sed`` neither
        replaces nor writes into it.
    """
    kind = special_kind(path)
    if kind is None:
        return False
    if kind not in STREAMED_KINDS:
        raise WriteError(
            f"is {kind}; sed writes regular files, FIFOs and character devices only", path
        )
    return True


#: The folder of the cache (:func:`cache_dir`) holding the record of files sed wrote.
WRITTEN_DIR = "written"


def _identity(path: str) -> str | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return f"{status.st_dev} {status.st_ino} {status.st_size} {status.st_mtime_ns}"


def _record_path(path: str) -> str:
    key = hashlib.sha256(os.fsencode(os.path.realpath(path))).hexdigest()
    return os.path.join(cache_dir(), WRITTEN_DIR, key[:2], key[2:])


def remember_written(path: str | os.PathLike) -> None:
    """Record that ``sed`` has just written the regular file ``path`` (see :func:`written_by_sed`).

    The record is one small file in the cache folder named by the hash of ``path``'s real path,
    holding its device, inode, size and modification time (nanoseconds). Files inside the cache
    folder are not recorded. A record that cannot be written is no error: the file is then
    taken for someone else's, and replacing it asks for ``--overwrite``.
    """
    path = os.fspath(path)
    real, cache = os.path.realpath(path), os.path.realpath(cache_dir())
    if os.path.commonpath([real, cache]) == cache:
        return
    identity = _identity(path)
    if identity is None:
        return
    record = _record_path(path)
    with contextlib.suppress(OSError):
        os.makedirs(os.path.dirname(record), exist_ok=True)
        # The path is there for people looking; a name that is not UTF-8 keeps its bytes.
        with open(record, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(f"{identity}\n{real}\n")


def written_by_sed(path: str | os.PathLike) -> bool:
    """True if the file ``path`` is one ``sed`` wrote and nobody changed since.

    The file's device, inode, size and modification time must equal those recorded when ``sed``
    wrote it (:func:`remember_written`): a file written by another program, one edited (or
    touched) after ``sed`` wrote it, or one whose record is gone (a cleared cache folder) is not.
    """
    path = os.fspath(path)
    identity = _identity(path)
    if identity is None:
        return False
    try:
        with open(_record_path(path), encoding="utf-8", errors="surrogateescape") as handle:
            return handle.readline().strip() == identity
    except OSError:
        return False


#: How soon a signal that could not be raised (see :func:`stop_on_signals`) is raised again, in
#: seconds.
SIGNAL_RETRY_SECONDS = 0.01


@contextlib.contextmanager
def stop_on_signals(signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[None]:
    """Turn ``SIGINT`` and ``SIGTERM`` into :class:`sed.errors.Interrupted` while the block runs.

    Python's default ends the process at ``SIGTERM`` without running ``finally`` blocks (so a
    temporary file or a worker process may be left behind); here the signal is raised as an
    exception in the main thread instead, at the next Python instruction. Two places cannot
    take it: an import (see :func:`_inside_import`), where the signal is then held back, and
    code whose exceptions Python swallows ("Exception ignored in": a weakref callback, a
    ``__del__``), where ``sys.unraisablehook`` sees it lost. Either way it is raised again
    :data:`SIGNAL_RETRY_SECONDS` later, by a ``SIGALRM`` from ``signal.setitimer`` (or as the
    block ends, if it ends first): unlike a thread started from the handler, the alarm needs no
    lock the interrupted code may hold, and it wakes a main thread blocked in a system call.
    Only the first signal is raised: while the block cleans up, further ones are ignored. The
    previous handlers and hook are restored on exit. Outside the main thread (where Python
    cannot handle signals) nothing is changed.

    Parameters
    ----------
    signals : tuple of int
        The signals to catch.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stop = _SignalStop()
    previous = {number: signal.signal(number, stop.on_signal) for number in signals}
    sys.unraisablehook = stop.on_unraisable
    try:
        yield
    finally:
        sys.unraisablehook = stop.hook_before
        for number, handler_before in previous.items():
            signal.signal(number, signal.SIG_DFL if handler_before is None else handler_before)
        stop.cancel_alarm()
    stop.raise_pending()  # the block ended before the alarm: the signal still stops the run


class _SignalStop:
    """The signal handlers of one :func:`stop_on_signals` block, and what they received."""

    def __init__(self):
        self.raised: int | None = None  # the signal raised as Interrupted
        self.pending: int | None = None  # the signal to raise at the next alarm
        self.alarm_before = None  # SIGALRM's handler before ours, once ours is installed
        self.hook_before = sys.unraisablehook  # restored on exit

    def on_signal(self, number, frame):
        if self.raised is not None:
            return
        if _inside_import(frame):
            self._again_soon(number)
            return
        self.raised = number
        raise Interrupted(number)

    def on_alarm(self, _alarm, frame):
        if self.pending is not None:
            self.on_signal(self.pending, frame)

    def on_unraisable(self, unraisable):
        lost = unraisable.exc_value
        if isinstance(lost, Interrupted) and self.raised == lost.signal_number:
            self.raised = None
            self._again_soon(lost.signal_number)
        else:
            self.hook_before(unraisable)

    def raise_pending(self):
        if self.pending is not None and self.raised is None:
            self.raised = self.pending
            raise Interrupted(self.pending)

    def _again_soon(self, number):
        self.pending = number
        if self.alarm_before is None:
            self.alarm_before = signal.signal(signal.SIGALRM, self.on_alarm) or signal.SIG_DFL
        signal.setitimer(signal.ITIMER_REAL, SIGNAL_RETRY_SECONDS)

    def cancel_alarm(self):
        if self.alarm_before is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.alarm_before)


def _inside_import(frame) -> bool:
    """Whether ``frame`` (where a signal interrupted the main thread) is part of an import.

    An exception raised there leaves importlib's per-module lock held for good (its locking is
    Python code, not atomic), so that a thread importing the same module waits forever; or it
    breaks a C extension's initialisation half-way (the process then aborts at exit); raised in
    importlib's lock callbacks it is even swallowed ("Exception ignored"). All three were seen
    with ``sed review`` signalled while its threads imported matplotlib.
    """
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _read_umask() -> int:
    mask = os.umask(0)  # the only portable way to read it; done once, at import
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def read_text(path: str | os.PathLike) -> str:
    """The text of a user's file: UTF-8, a leading byte-order mark dropped, decoded whole.

    Raises
    ------
    OSError
        If the file cannot be read.
    UnicodeDecodeError
        If it is not UTF-8; :func:`not_utf8` says where, for the message.
    """
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8-sig")


def read_user_text(path: str | os.PathLike, error: type[SedError], what: str) -> str:
    """The text of a file a user gives (:func:`read_text`), or ``error`` in one line naming it.

    Parameters
    ----------
    path : str or os.PathLike
    error : type of SedError
        Raised as ``error(message, path)``.
    what : str
        What the file is, for messages (``label map``, ``configuration``).

    Raises
    ------
    SedError
        ``no such file``, ``is a directory, not a <what>``, ``line N: not UTF-8 text (byte
        0xe9)`` or ``cannot read <what> (<reason>)``.
    """
    try:
        return read_text(path)
    except FileNotFoundError:
        raise error("no such file", path) from None
    except IsADirectoryError:
        raise error(f"is a directory, not a {what}", path) from None
    except UnicodeDecodeError as caught:
        raise error(not_utf8(caught), path) from None
    except OSError as caught:
        raise error(f"cannot read {what} ({caught.strerror or caught})", path) from None


def not_utf8(error: UnicodeDecodeError) -> str:
    """``line N: not UTF-8 text (byte 0xe9)``: where a file read by :func:`read_text` (or any text
    decoded whole) stops being UTF-8, for a one-line message."""
    raw = bytes(error.object)
    line = raw[: error.start].count(b"\n") + 1
    return f"line {line}: not UTF-8 text (byte 0x{raw[error.start]:02x})"


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
