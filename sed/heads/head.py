"""Heads: small classifiers trained on YAMNet's 1024-D embeddings, for custom classes.

The head is the one of the reference YAMNet transfer-learning tutorial (TensorFlow's "Transfer
learning with YAMNet for environmental sound classification"): ``Dense(512, relu)`` then
``Dense(n_outputs)``, here with its output activation inside the model (softmax or sigmoid, see
:mod:`sed.heads.training`), so that :meth:`Head.predict` returns scores in [0, 1] like YAMNet's.

A head may have a background ("no event") output, :data:`BACKGROUND_LABEL`: it is trained on
recordings without events and never becomes an event; :meth:`Head.window_scores` drops it.

A head directory holds::

    model.keras      the Keras model: embeddings (n, 1024) in, scores (n, n_outputs) out
    labels.txt       output labels, one per line, in output order
    head.json        metadata: kind ("window"), YAMNet settings, activation, training summary,
                     validation metrics

Frame-level heads (:mod:`sed.heads.frame_head`) are directories of the same three files, with
``"kind": "frame"`` in ``head.json``; a directory without a kind is a window head (written
before kinds existed).

A head only makes sense on embeddings computed with the settings it was trained with (window
hop, sample rate, weights): :meth:`Head.check_compatible` refuses anything else.

Both kinds are scorers (:class:`sed.segmenter.Scorer`): whatever scores with YAMNet scores with
a head of either kind, through the same interface. Only :func:`sed.pipeline.load_head` tells the
kinds apart, by ``head.json``'s ``kind``.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from sed.errors import ModelError, long_integer_message
from sed.infra import atomic_open, atomic_path, read_user_text
from sed.model.runtime import import_tensorflow
from sed.params import DEFAULT_BATCH_SIZE, YamnetParams

if TYPE_CHECKING:
    from sed.model import Yamnet
    from sed.postprocessing import PostProcessing
    from sed.scores import ScoreGrid
    from sed.segmenter import WindowScoreStream

BACKGROUND_LABEL = "_background"
HEAD_FORMAT = 1
MODEL_FILE = "model.keras"
LABELS_FILE = "labels.txt"
METADATA_FILE = "head.json"
#: ``head.json``'s ``kind``: a window head scores YAMNet's 0.96 s windows from their embeddings;
#: a frame head scores 80 ms frames from YAMNet's feature maps (:mod:`sed.heads.frame_head`).
WINDOW_KIND = "window"
FRAME_KIND = "frame"
HEAD_KINDS = (WINDOW_KIND, FRAME_KIND)


def build_head_network(
    n_outputs: int,
    *,
    activation: str = "softmax",
    hidden_units: int = 512,
    embedding_size: int = 1024,
):
    """The tutorial head as an (untrained) Keras model.

    Parameters
    ----------
    n_outputs : int >= 1
        Output units: one per class (plus the background for softmax heads).
    activation : {"softmax", "sigmoid"}
        Output activation; the tutorial's logits are followed by a softmax at inference.
    hidden_units : int >= 1
        Width of the hidden ReLU layer (512 in the tutorial).
    embedding_size : int
        Input width (1024 for YAMNet).

    Returns
    -------
    model : keras.Model
        ``(batch, 1024)`` in, ``(batch, n_outputs)`` scores in [0, 1] out.
    """
    import_tensorflow()
    import keras
    from keras import layers

    inputs = keras.Input(shape=(embedding_size,), name="embedding")
    hidden = layers.Dense(hidden_units, activation="relu", name="hidden")(inputs)
    logits = layers.Dense(n_outputs, name="logits")(hidden)
    scores = layers.Activation(activation, name="scores")(logits)
    return keras.Model(inputs, scores, name="sed_head")


@dataclass
class Head:
    """A trained head and what it needs to be used correctly.

    Attributes
    ----------
    network : keras.Model
        Embeddings ``(n, 1024)`` in, scores ``(n, len(labels))`` in [0, 1] out.
    labels : tuple of str
        Output labels in output order; may include :data:`BACKGROUND_LABEL`.
    metadata : dict
        The content of ``head.json`` (see :func:`sed.heads.training.train_head` for its fields). Its
        ``yamnet`` entry holds ``sample_rate``, ``hop_seconds`` and ``weights_sha256``.
    directory : str or None
        Where it was loaded from, named in errors.
    """

    network: Any
    labels: tuple[str, ...]
    metadata: dict = field(default_factory=dict)
    directory: str | None = None

    kind = WINDOW_KIND

    @property
    def event_labels(self) -> tuple[str, ...]:
        """The labels that can become events: every label but the background."""
        return tuple(label for label in self.labels if label != BACKGROUND_LABEL)

    @property
    def activation(self) -> str:
        """Output activation, ``softmax`` or ``sigmoid``."""
        return self.metadata.get("head", {}).get("activation", "softmax")

    def predict(self, embeddings: np.ndarray, *, batch_size: int = 4096) -> np.ndarray:
        """Scores of every window.

        Parameters
        ----------
        embeddings : np.ndarray [shape=(n_windows, 1024)]
            YAMNet embeddings, computed with the settings the head was trained with.
        batch_size : int > 0

        Returns
        -------
        scores : np.ndarray [shape=(n_windows, len(labels)), dtype=float32]
            In [0, 1]; rows sum to 1 for a softmax head.

        Raises
        ------
        ModelError
            If ``embeddings`` is not ``(n, 1024)``.
        """
        embeddings = np.asarray(embeddings, dtype=np.float32)
        width = self.network.input_shape[-1]
        if embeddings.ndim != 2 or embeddings.shape[1] != width:
            raise ModelError(
                f"head expects embeddings of shape (n, {width}), got {embeddings.shape}"
            )
        if len(embeddings) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        scores = [
            self.network(embeddings[i : i + batch_size], training=False).numpy()
            for i in range(0, len(embeddings), batch_size)
        ]
        return np.concatenate(scores).astype(np.float32)

    def window_scores(self, window_scores: ScoreGrid):
        """Replace YAMNet's scores by this head's, for the post-processing.

        Parameters
        ----------
        window_scores : sed.scores.ScoreGrid
            With ``embeddings`` (``score_file(..., keep_embeddings=True)``).

        Returns
        -------
        window_scores : sed.scores.ScoreGrid [scores shape=(n_windows, n_event_labels)]
            Scores of :attr:`event_labels` only: the background output is dropped, so it can
            never become an event (for a softmax head, windows it wins score low everywhere).

        Raises
        ------
        ModelError
            If the window scores carry no embeddings.
        """
        if window_scores.embeddings is None:
            raise ModelError(
                "head scores need YAMNet embeddings: score with keep_embeddings=True",
                window_scores.filename or None,
            )
        scores = self.event_scores(self.predict(window_scores.embeddings))
        return replace(window_scores, scores=scores, labels=self.event_labels)

    def event_scores(self, scores: np.ndarray) -> np.ndarray:
        """The columns of ``scores`` (from :meth:`predict`) that belong to event labels."""
        keep = [i for i, label in enumerate(self.labels) if label != BACKGROUND_LABEL]
        return scores[:, keep]

    @property
    def default_postprocessing(self) -> PostProcessing | None:
        """The post-processing stored with the head (:func:`stored_postprocessing`), if any."""
        return stored_postprocessing(self.metadata, self.directory)

    #: A label's clip score is its mean over windows (the reference ``inference.py``'s rule).
    clip_aggregation = "mean"

    def open(
        self,
        model: Yamnet,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        keep_embeddings: bool = False,
        low_latency: bool = False,
        keep_levels: bool = True,
    ) -> WindowScoreStream:
        """A stream scoring one recording's windows with this head (see
        :class:`sed.segmenter.ScoreStream`): YAMNet's embeddings in, :attr:`event_labels`'
        scores out (the background output is dropped, so it never becomes an event).

        Raises
        ------
        ParameterError
            If ``batch_size`` is not a positive integer.
        """
        from sed.segmenter import WindowScoreStream

        def to_labels(scores: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
            return self.event_scores(self.predict(embeddings))

        return WindowScoreStream(
            model,
            self.event_labels,
            to_labels,
            batch_size=batch_size,
            keep_embeddings=keep_embeddings,
            low_latency=low_latency,
            keep_levels=keep_levels,
        )

    def check_compatible(self, model: Yamnet) -> None:
        """Refuse a model whose settings differ from those the head was trained with (see
        :meth:`check_settings`).

        Raises
        ------
        ModelError
            If the hop, sample rate or weights differ.
        """
        self.check_settings(model.params, model.weights_sha256)

    def check_settings(self, params: YamnetParams, weights_sha256: str | None = None) -> None:
        """Refuse YAMNet settings other than those the head was trained with.

        Parameters
        ----------
        params : YamnetParams
            The framing asked for.
        weights_sha256 : str, optional
            Fingerprint of the YAMNet weights in use (:attr:`sed.model.Yamnet.weights_sha256`).

        Raises
        ------
        ModelError
            If the hop, sample rate or weights differ.
        """
        trained, source = self.metadata.get("yamnet", {}), self.directory
        asked = {
            "hop_seconds": params.patch_hop_seconds,
            "sample_rate": params.sample_rate,
            "patch_window_seconds": params.patch_window_seconds,
        }
        for name, value in asked.items():
            if name in trained and not np.isclose(trained[name], value):
                raise ModelError(
                    f"head was trained with {name.replace('_', ' ')} {trained[name]}, "
                    f"not {value}"
                    + (" (use --hop " + str(trained[name]) + ")" if name == "hop_seconds" else ""),
                    source,
                )
        if weights_sha256 and trained.get("weights_sha256") not in (None, weights_sha256):
            raise ModelError(
                "head was trained on embeddings of other YAMNet weights "
                f"(sha256 {trained['weights_sha256'][:12]}..., these are "
                f"{weights_sha256[:12]}...)",
                source,
            )

    def save(self, directory: str | os.PathLike) -> None:
        """Write ``model.keras``, ``labels.txt`` and ``head.json`` into ``directory``.

        Each file is written atomically; the directory is created if missing. Other files in it
        (reports) are left alone.
        """
        save_head_files(
            self.network, self.labels, {"kind": WINDOW_KIND, **self.metadata}, directory
        )

    @classmethod
    def load(cls, directory: str | os.PathLike) -> Head:
        """Read a head directory written by :meth:`save`.

        Raises
        ------
        ModelError
            If a file is missing or unreadable, the labels do not fit the model, or the head is
            a frame-level head (:func:`sed.pipeline.load_head` loads either kind).
        """
        directory = os.fspath(directory)
        labels, metadata = head_description(directory)
        if head_kind(metadata) != WINDOW_KIND:
            raise ModelError(
                f"a {head_kind(metadata)}-level head, not a window head "
                "(sed.load_head loads either kind)",
                directory,
            )
        return cls(load_head_network(directory, labels), labels, metadata, directory)


def save_head_files(network, labels, metadata: dict, directory: str | os.PathLike) -> None:
    """Write a head's ``model.keras``, ``labels.txt`` and ``head.json`` into ``directory``,
    each atomically (the directory is created if missing; other files are left alone)."""
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    import keras

    # A copy without the optimizer state (which would triple the file for nothing) nor the
    # training configuration (a custom loss could not be read back without its code).
    copy = keras.Model.from_config(network.get_config())
    copy.set_weights(network.get_weights())
    with atomic_path(os.path.join(directory, MODEL_FILE)) as temporary:
        # Keras insists on the .keras extension of the file it writes; it converts TF
        # variables with np.array(copy=False), which numpy 2 deprecates (not ours to fix).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            copy.save(temporary + ".keras")
        os.replace(temporary + ".keras", temporary)
    with atomic_open(os.path.join(directory, LABELS_FILE), "w", encoding="utf-8") as handle:
        handle.write("".join(f"{label}\n" for label in labels))
    metadata = {"format": HEAD_FORMAT, **metadata, "labels": list(labels)}
    with atomic_open(os.path.join(directory, METADATA_FILE), "w", encoding="utf-8") as handle:
        json.dump(_plain(metadata), handle, indent=2)
        handle.write("\n")


def load_head_network(directory: str, labels: tuple[str, ...]):
    """A head directory's Keras network, checked to have one output per label.

    Raises
    ------
    ModelError
        If ``model.keras`` cannot be loaded or its outputs do not fit ``labels``.
    """
    import zipfile

    path = os.path.join(directory, MODEL_FILE)
    if not zipfile.is_zipfile(path):  # keras says "File not found" of a file that is there
        raise ModelError(
            f"{MODEL_FILE} is not a Keras model (a .keras file is a zip archive; this one is "
            "damaged, cut short or another file)",
            directory,
        )
    import_tensorflow()
    import keras

    try:
        network = keras.saving.load_model(os.path.join(directory, MODEL_FILE), compile=False)
    except Exception as error:  # keras raises many types for a damaged archive
        raise ModelError(f"cannot load {MODEL_FILE} ({error})", directory) from None
    if network.output_shape[-1] != len(labels):
        raise ModelError(
            f"{LABELS_FILE} has {len(labels)} labels but the model has "
            f"{network.output_shape[-1]} outputs",
            directory,
        )
    return network


def stored_postprocessing(metadata: dict, source: str | None = None) -> PostProcessing | None:
    """The post-processing a head's training tuned on its validation data (``head.json``'s
    ``postprocessing``), or None (heads trained without validation).

    Parameters
    ----------
    metadata : dict
        A head's ``head.json`` content.
    source : str, optional
        The head's directory, named in errors.

    Raises
    ------
    ParameterError
        If the stored configuration is not valid.
    """
    stored = (metadata or {}).get("postprocessing")
    if not stored:
        return None
    from sed.postprocessing import PostProcessing

    return PostProcessing.from_dict(stored, source=source)


def head_kind(metadata: dict) -> str:
    """What kind of head ``head.json`` describes: :data:`WINDOW_KIND` (also every head written
    before kinds existed) or :data:`FRAME_KIND`."""
    return str(metadata.get("kind", WINDOW_KIND))


def head_description(directory: str | os.PathLike) -> tuple[tuple[str, ...], dict]:
    """A head's labels and metadata, read without loading its network (nor TensorFlow).

    Returns
    -------
    labels : tuple of str
        Output labels, in output order (may include :data:`BACKGROUND_LABEL`).
    metadata : dict
        The content of ``head.json``.

    Raises
    ------
    ModelError
        If the directory is missing, lacks a file, or its files are unreadable.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        if os.path.exists(directory):
            raise ModelError(
                "is a file, not a head directory (the folder `sed train` wrote)", directory
            )
        raise ModelError("no such head directory", directory)
    paths = {
        name: os.path.join(directory, name) for name in (MODEL_FILE, LABELS_FILE, METADATA_FILE)
    }
    for name, path in paths.items():
        if not os.path.isfile(path):
            raise ModelError(f"not a head directory: {name} is missing", directory)
    texts = {
        name: read_user_text(paths[name], ModelError, name) for name in (METADATA_FILE, LABELS_FILE)
    }
    try:
        metadata = json.loads(texts[METADATA_FILE])
    except json.JSONDecodeError as error:
        raise ModelError(
            f"{METADATA_FILE}: line {error.lineno}: not valid JSON ({error.msg})", directory
        ) from None
    except RecursionError:
        raise ModelError(
            f"{METADATA_FILE}: not valid JSON (nested too deeply)", directory
        ) from None
    except ValueError:  # an integer beyond Python's 4,300 digits
        raise ModelError(
            f"{METADATA_FILE}: {long_integer_message(texts[METADATA_FILE])}", directory
        ) from None
    lines = io.StringIO(texts[LABELS_FILE], newline=None)  # \n, \r\n or \r
    labels = tuple(line.rstrip("\n") for line in lines if line.strip())
    written_format = metadata.get("format") if isinstance(metadata, dict) else None
    if (
        isinstance(written_format, int)
        and not isinstance(written_format, bool)
        and written_format > HEAD_FORMAT
    ):
        raise ModelError(
            f"{METADATA_FILE} is of format {written_format}, written by a newer sed (this one "
            f"reads format {HEAD_FORMAT}): upgrade sed to use this head",
            directory,
        )
    if written_format != HEAD_FORMAT:
        raise ModelError(
            f"{METADATA_FILE} is not a sed head description (format {HEAD_FORMAT})", directory
        )
    if head_kind(metadata) not in HEAD_KINDS:
        raise ModelError(
            f"{METADATA_FILE}: unknown kind of head {head_kind(metadata)!r} (a newer sed?)",
            directory,
        )
    yamnet = metadata.get("yamnet", {})
    numbers = ("sample_rate", "hop_seconds", "patch_window_seconds")
    if not isinstance(yamnet, dict) or any(
        name in yamnet
        and (isinstance(yamnet[name], bool) or not isinstance(yamnet[name], (int, float)))
        for name in numbers
    ):
        raise ModelError(
            f"{METADATA_FILE}: 'yamnet' must hold the numbers {', '.join(numbers)}", directory
        )
    return labels, metadata


def _plain(value):
    """``value`` with numpy scalars and arrays turned into JSON types."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value
