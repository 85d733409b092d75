"""Importing and running TensorFlow quietly.

The ``tensorflow`` wheel probes for CUDA while it is imported and prints notices such as
"Could not find cuda drivers on your machine" straight to file descriptor 2, before absl logging
is initialised, so neither ``TF_CPP_MIN_LOG_LEVEL`` nor Python's logging can hide them. Every
TensorFlow import in ``sed`` goes through :func:`import_tensorflow`, which captures descriptor 2
for the duration of the import and replays it only if the import fails. The TFLite converter is
as chatty (on descriptors 1 and 2): :func:`captured_output` hides it the same way.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def captured_output(*descriptors: int) -> Iterator[None]:
    """Hide what is written to file ``descriptors`` (default 1 and 2) and to ``sys.stdout`` /
    ``sys.stderr`` inside the block.

    The descriptors go to a temporary file (output of C++ code, which Python-level redirection
    does not catch), the Python streams to memory. Everything captured is replayed on stderr if
    the block raises, and dropped otherwise.
    """
    descriptors = descriptors or (1, 2)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(fd) for fd in descriptors]
    python_level = io.StringIO()
    with tempfile.TemporaryFile() as captured:
        for fd in descriptors:
            os.dup2(captured.fileno(), fd)
        try:
            with contextlib.redirect_stdout(python_level), contextlib.redirect_stderr(python_level):
                yield
        except BaseException:
            _restore(descriptors, saved)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace") + python_level.getvalue())
            raise
        finally:
            _restore(descriptors, saved)


def _restore(descriptors, saved) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    for fd, copy in zip(descriptors, saved):
        if copy is not None:
            os.dup2(copy, fd)
    for i, copy in enumerate(saved):
        if copy is not None:
            os.close(copy)
            saved[i] = None


def import_tensorflow():
    """Import and return ``tensorflow`` without its start-up chatter on stderr.

    Sets ``TF_CPP_MIN_LOG_LEVEL=3`` unless already set, so C++ info and warnings stay quiet after
    the import too.

    Raises
    ------
    ImportError
        If TensorFlow cannot be imported; what it printed is replayed on stderr first.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with captured_output(2):
        import tensorflow
    return tensorflow
