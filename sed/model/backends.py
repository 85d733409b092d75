"""Which runtime runs YAMNet: LiteRT (fast, default where installed) or TensorFlow (reference).

- ``litert``: a TFLite conversion of the network (batch normalisation folded into the
  convolutions), run by LiteRT's interpreter with XNNPACK, on numpy log-mel features. TensorFlow is
  imported only once per set of weights, to convert them (the result is cached, see
  :mod:`sed.model.litert`); afterwards a run never imports it.
- ``tensorflow``: the Keras rebuild of the reference network on TensorFlow's own feature kernels,
  which reproduces the TF-Hub graph's outputs. It is what runs where ``ai-edge-litert`` is not
  installed.

Both pass the parity tests against the TF-Hub graph (``tests/test_model_yamnet.py``).
"""

from __future__ import annotations

from sed.errors import ModelError, ParameterError

BACKENDS = ("auto", "litert", "tensorflow")
DEFAULT_BACKEND = "auto"


def litert_interpreter():
    """LiteRT's ``Interpreter`` class, or None where ``ai-edge-litert`` cannot be imported."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        return None
    return Interpreter


def resolve_backend(backend: str = DEFAULT_BACKEND) -> str:
    """The backend to use for a requested one.

    Parameters
    ----------
    backend : {"auto", "litert", "tensorflow"}
        ``auto`` is ``litert`` where ``ai-edge-litert`` can be imported, else ``tensorflow``.

    Returns
    -------
    backend : {"litert", "tensorflow"}

    Raises
    ------
    ParameterError
        If ``backend`` is not one of :data:`BACKENDS`.
    ModelError
        If ``litert`` is asked for and ``ai-edge-litert`` is not installed.
    """
    if backend not in BACKENDS:
        raise ParameterError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "tensorflow":
        return backend
    if litert_interpreter() is not None:
        return "litert"
    if backend == "litert":
        raise ModelError(
            "the litert backend needs the ai-edge-litert package, which is not "
            "installed; install it or use --backend tensorflow"
        )
    return "tensorflow"
