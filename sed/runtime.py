"""Importing TensorFlow quietly.

The ``tensorflow`` wheel probes for CUDA while it is imported and prints notices such as
"Could not find cuda drivers on your machine" straight to file descriptor 2, before absl logging
is initialised, so neither ``TF_CPP_MIN_LOG_LEVEL`` nor Python's logging can hide them. Every
TensorFlow import in ``sed`` goes through :func:`import_tensorflow`, which captures descriptor 2
for the duration of the import and replays it only if the import fails.
"""

from __future__ import annotations

import os
import sys
import tempfile


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
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return tensorflow
