"""The package's exception hierarchy.

Every error a user can cause (bad audio, malformed annotations, missing weights, a bad option
value, an output that cannot be written) is raised as a subclass of :class:`SedError`. The CLI
catches ``SedError`` once and prints it as one line on stderr, with a non-zero exit status and no
traceback (the habit of librosa's ``ParameterError`` and openl3's exceptions module).

A run stopped by a signal (``SIGINT``, ``SIGTERM``) raises :class:`Interrupted`, a
``KeyboardInterrupt``: code that lets Ctrl-C through lets it through too.
"""

from __future__ import annotations

import errno as errno_codes
import os
import signal


class SedError(Exception):
    """Base class of every error raised on purpose by ``sed``.

    Parameters
    ----------
    message : str
        What is wrong, in one line.
    path : str or os.PathLike, optional
        The file the problem is about; prefixed to the message when given.
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None):
        self.message = message
        self.path = None if path is None else os.fspath(path)
        super().__init__(f"{printable(self.path)}: {message}" if self.path else message)


def printable(text: str) -> str:
    """``text`` with control characters (a carriage return, a tab in a file name) written as
    ``\\r``, ``\\x09``...: a message stays one line however its file is named."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


class AudioError(SedError):
    """An audio file is missing, empty, truncated, not audio, or holds unusable samples."""


class AnnotationError(SedError):
    """An annotation or event list is malformed (the message names the file and line)."""


class ModelError(SedError):
    """Model weights cannot be found or loaded, or a model does not fit the settings asked for."""


class ParameterError(SedError, ValueError):
    """An option or argument value is out of range or unknown; never silently clamped."""


def check_choice(value, what: str, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``: the one check of every option with a fixed set of
    values.

    Parameters
    ----------
    value : object
        The value given.
    what : str
        What it sets, for the message (``"event matching"``, ``"boundary convention"``).
    choices : tuple of str
        The accepted values, in the order the message lists them.

    Returns
    -------
    value : str
        ``value``, unchanged.

    Raises
    ------
    ParameterError
        ``unknown <what> '<value>'; choose one of <choices>``.
    """
    if value not in choices:
        raise ParameterError(f"unknown {what} {value!r}; choose one of {', '.join(choices)}")
    return value


class OutputError(ParameterError):
    """An output path is refused before any work: it is, or resolves to, an input of the run; it
    is of the wrong kind (a file where a folder is needed, or the reverse); it cannot be created
    or written; or it holds files ``sed`` did not write (see :func:`sed.outputs.check_outputs`)."""


#: ``errno`` values that mean the file system is full: a batch stops rather than failing every
#: remaining recording.
DISK_FULL_ERRNOS = frozenset(
    {errno_codes.ENOSPC, getattr(errno_codes, "EDQUOT", errno_codes.ENOSPC)}
)


class WriteError(SedError, OSError):
    """An output could not be written while working (disk full, permission or file system
    changed): the message names the file and the operating system's reason.

    Also an ``OSError``, so code that tolerates a failed write (a cache) keeps tolerating it.

    Parameters
    ----------
    message : str
    path : str or os.PathLike, optional
    errno : int, optional
        The operating system's error number.
    """

    def __init__(
        self, message: str, path: str | os.PathLike | None = None, errno: int | None = None
    ):
        super().__init__(message, path)
        self.errno = errno

    @property
    def disk_full(self) -> bool:
        """True when the file system (or the user's quota) is full."""
        return self.errno in DISK_FULL_ERRNOS


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (``SIGINT`` from Ctrl-C, ``SIGTERM`` from ``kill``,
    ``timeout``, systemd or SLURM).

    Parameters
    ----------
    signal_number : int
        The signal received.
    message : str
        What was done and how to go on (a batch: how many recordings are done, and that the same
        command resumes).
    """

    def __init__(self, signal_number: int, message: str = ""):
        self.signal_number = signal_number
        self.message = message or f"interrupted by {self.signal_name}"
        super().__init__(self.message)

    @property
    def signal_name(self) -> str:
        """``SIGINT``, ``SIGTERM``..."""
        try:
            return signal.Signals(self.signal_number).name
        except ValueError:
            return f"signal {self.signal_number}"

    @property
    def exit_status(self) -> int:
        """The shell's convention for a run ended by a signal: 128 + its number (130, 143)."""
        return 128 + self.signal_number


def long_integer_message(text: str) -> str:
    """What to say of ``text`` (TOML or JSON) that Python refuses to read for an integer of
    more than 4,300 digits (``sys.get_int_max_str_digits``, a guard against slow conversions):
    the line of the first such integer, as every other message of a file names its line."""
    import re

    match = re.search(r"\d{4301,}", text)
    where = f"line {text.count(chr(10), 0, match.start()) + 1}: " if match else ""
    return f"{where}an integer of more than 4,300 digits, longer than any number sed reads"
