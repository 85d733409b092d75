"""The package's exception hierarchy.

Every error a user can cause (bad audio, malformed annotations, missing weights, a bad option
value) is raised as a subclass of :class:`SedError`. The CLI catches ``SedError`` once and prints
it as one line on stderr, with a non-zero exit status and no traceback (the habit of librosa's
``ParameterError`` and openl3's exceptions module).
"""

from __future__ import annotations

import os


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
        super().__init__(f"{self.path}: {message}" if self.path else message)


class AudioError(SedError):
    """An audio file is missing, empty, truncated, not audio, or holds unusable samples."""


class AnnotationError(SedError):
    """An annotation or event list is malformed (the message names the file and line)."""


class ModelError(SedError):
    """Model weights cannot be found or loaded, or a model does not fit the settings asked for."""


class ParameterError(SedError, ValueError):
    """An option or argument value is out of range or unknown; never silently clamped."""
