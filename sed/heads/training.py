"""Training a head: the configuration, the fit, and the two entry points (train, cross-validate).

The recipe is the reference YAMNet transfer-learning tutorial's: every 0.96 s window of a clip is
one training example labelled with the clip's class, the head
(:func:`sed.heads.head.build_head_network`)
is trained with Adam, and a clip is classified by averaging its windows' scores. On top of it:

- a validation split that keeps groups apart (clips cut from one recording, such as ESC-50's
  ``src_file``, are all on one side), stratified by class, for early stopping on validation loss;
- balanced class weights (each class, background included, weighs the same in the loss however
  many windows it has);
- a background class (:data:`sed.heads.head.BACKGROUND_LABEL`) from recordings without events;
- windows of digital silence (ESC-50 pads short clips with zeros) are not labelled with the clip's
  class: windows below ``min_level_dbfs`` are left out of training and of clip scores (a clip keeps
  at least its loudest window);
- deterministic results for a given ``seed``.

Everything here works on :class:`sed.heads.datasets.TrainingData` (a table of clips) and cached
embeddings (:mod:`sed.heads.embeddings`); splits come from :mod:`sed.heads.splits`, clip metrics
from :mod:`sed.heads.clips`, and :func:`sed.heads.reports.train_and_report` (what ``sed train``
runs) writes the head and its reports.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sed.audio import DEFAULT_RESAMPLER
from sed.errors import AudioError, ParameterError
from sed.heads.clips import ClipEvaluation, clip_summary, evaluate_clips
from sed.heads.config import DEFAULT_MIXTURES, TrainingConfig
from sed.heads.datasets import TrainingData
from sed.heads.embeddings import EmbeddingCache, embed_files, model_settings
from sed.heads.energy import measure_energy
from sed.heads.head import BACKGROUND_LABEL, Head, build_head_network
from sed.heads.splits import check_split_plan, grouped_folds, validation_split
from sed.heads.windows import Windows, make_windows, mixture_windows
from sed.model.runtime import import_tensorflow

if TYPE_CHECKING:
    from sed.model import Yamnet


def output_labels(data: TrainingData, activation: str) -> tuple[str, ...]:
    """The head's outputs: every label for softmax, the classes only for sigmoid."""
    return data.labels if activation == "softmax" else data.classes


def _targets(target: np.ndarray, n_labels: int, activation: str, n_classes: int) -> np.ndarray:
    if activation == "softmax":
        return target.astype(np.int32)
    # Sigmoid: one-hot over the classes; background windows (index n_classes) are all zeros.
    onehot = np.zeros((len(target), n_classes), np.float32)
    rows = np.flatnonzero(target < n_classes)
    onehot[rows, target[rows]] = 1.0
    return onehot


def _sample_weights(target: np.ndarray, n_labels: int, balanced: bool) -> np.ndarray:
    """Balanced weights (scikit-learn's ``n / (n_labels * count)``), so each label sums to n/k."""
    if not balanced:
        return np.ones(len(target), np.float32)
    counts = np.bincount(target, minlength=n_labels).astype(np.float64)
    present = counts > 0
    weights = np.zeros(n_labels)
    weights[present] = len(target) / (present.sum() * counts[present])
    return weights[target].astype(np.float32)


@dataclass
class FitResult:
    """What one training run produced, besides the network."""

    epochs: int
    best_epoch: int
    history: dict


def fit_network(
    windows: Windows,
    train_clips: np.ndarray,
    validation_clips: np.ndarray,
    data: TrainingData,
    config: TrainingConfig,
):
    """Train a fresh head on the used windows of ``train_clips``.

    Returns
    -------
    network : keras.Model
    fit : FitResult
    """
    tf = import_tensorflow()
    import keras

    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    labels = output_labels(data, config.activation)
    n_labels, n_classes = len(data.labels), len(data.classes)

    def part(clips):
        rows = np.flatnonzero(np.isin(windows.clip, clips) & windows.used)
        target = windows.target[rows]
        return (
            windows.embeddings[rows],
            _targets(target, n_labels, config.activation, n_classes),
            _sample_weights(target, n_labels, config.class_weights),
        )

    x, y, w = part(train_clips)
    network = build_head_network(
        len(labels),
        activation=config.activation,
        hidden_units=config.hidden_units,
        embedding_size=windows.embeddings.shape[1],
    )
    loss = (
        keras.losses.SparseCategoricalCrossentropy()
        if config.activation == "softmax"
        else keras.losses.BinaryCrossentropy()
    )
    network.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=loss)
    callbacks, validation = [], None
    if len(validation_clips):
        validation = part(validation_clips)
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=config.patience, restore_best_weights=True
            )
        )
    history = network.fit(
        x,
        y,
        sample_weight=w,
        batch_size=config.batch_size,
        epochs=config.max_epochs,
        validation_data=validation,
        callbacks=callbacks,
        shuffle=True,
        verbose=0,
    ).history
    epochs = len(history["loss"])
    best = int(np.argmin(history["val_loss"])) + 1 if validation else epochs
    return network, FitResult(
        epochs, best, {k: [float(v) for v in vs] for k, vs in history.items()}
    )


@dataclass
class TrainingResult:
    """A trained head and its report.

    Attributes
    ----------
    head : Head
        With its metadata (see :func:`train_head`).
    validation : ClipEvaluation or None
        On the validation clips (None without validation).
    seconds : float
        Wall-clock training time (embeddings excluded: they are cached), in seconds.
    energy : dict
        ``{"kwh": float or None, "method": str}`` (see :func:`measure_energy`).
    """

    head: Head
    validation: ClipEvaluation | None
    seconds: float
    energy: dict = field(default_factory=dict)


def check_training_plan(data: TrainingData, config: TrainingConfig, folds: int | None = None):
    """What can be refused before any audio is read: too few groups for the validation split or
    the cross-validation folds (:func:`sed.heads.splits.check_split_plan`), mixtures asked for
    without background recordings.

    Raises
    ------
    ParameterError
    """
    check_split_plan(data, config.validation_fraction, folds)
    if config.mixtures and not data.has_background:
        raise ParameterError(
            "--mixtures needs background recordings to mix over (a _background folder or "
            "--background)",
            data.source,
        )


def readable_clips(
    data: TrainingData,
    model: Yamnet,
    *,
    cache: EmbeddingCache | None = None,
    resampler: str = DEFAULT_RESAMPLER,
    progress: bool = False,
) -> tuple[TrainingData, list[dict]]:
    """The data without the clips that cannot be read, as a batch leaves out a bad recording.

    Every clip is embedded through the cache (so later passes read it back); a clip whose audio
    cannot be used (corrupt, truncated, empty, NaN samples: :class:`sed.errors.AudioError`) is
    left out and listed.

    Returns
    -------
    data : TrainingData
        The readable clips (``data`` itself when all are).
    skipped : list of dict
        ``{"path": ..., "label": ..., "error": ...}`` of each clip left out, in data order.

    Raises
    ------
    AudioError
        If a label (a class, or the background) keeps no readable clip: the message names it.
    """
    cache = cache or EmbeddingCache()
    paths = list(data.clips["path"])
    if progress:
        from tqdm import tqdm

        paths = tqdm(paths, desc="embeddings", unit="file", leave=False)
    errors: dict[int, str] = {}
    for row, path in enumerate(paths):
        try:
            cache.embed(path, model, resampler=resampler)
        except AudioError as error:
            errors[row] = error.message
    if not errors:
        return data, []
    clips = data.clips
    skipped = [
        {"path": clips["path"].iloc[row], "label": clips["label"].iloc[row], "error": message}
        for row, message in errors.items()
    ]
    kept = clips.drop(index=clips.index[list(errors)]).reset_index(drop=True)
    for label in data.labels:
        if not (kept["label"] == label).any():
            first = next(item for item in skipped if item["label"] == label)
            raise AudioError(
                f"no readable clip of {label!r} is left ({int((clips['label'] == label).sum())} "
                f"unreadable, such as {first['path']}: {first['error']})",
                data.source,
            )
    return TrainingData(kept, data.classes, data.source), skipped


def split_warnings(data: TrainingData, train: np.ndarray, validation: np.ndarray) -> list[str]:
    """What a validation split leaves a label without: training clips, or validation clips.

    Parameters
    ----------
    data : TrainingData
    train, validation : np.ndarray
        Clip rows of the split (:func:`sed.heads.splits.validation_split`); an empty
        ``validation`` (no split asked for) warns of nothing there.

    Returns
    -------
    warnings : list of str
        One line per label concerned (the background only when it has no training clip: a few
        background recordings all training is the usual case).
    """
    labels = data.clips["label"].to_numpy()
    messages = []
    for label in data.labels:
        in_training = int((labels[train] == label).sum())
        in_validation = int((labels[validation] == label).sum())
        if in_training == 0:
            messages.append(
                f"{label!r} has no training clip after the split (its {in_validation} held out "
                "for validation): the head never learns it; add clips or lower "
                "--validation-fraction"
            )
        elif len(validation) and in_validation == 0 and label != BACKGROUND_LABEL:
            messages.append(
                f"{label!r} has no validation clip after the split (its {in_training} all "
                "train): its validation accuracy is not measured"
            )
    return messages


def training_windows(
    data: TrainingData,
    model: Yamnet,
    config: TrainingConfig,
    *,
    cache: EmbeddingCache | None = None,
    resampler: str = DEFAULT_RESAMPLER,
    progress: bool = False,
) -> Windows:
    """Every window to train on and evaluate: the clips' (:func:`make_windows`), then those of
    ``config.mixtures`` mixtures per event clip (:func:`mixture_windows`)."""
    items = embed_files(
        data.clips["path"], model, cache=cache, resampler=resampler, progress=progress
    )
    windows = make_windows(
        data,
        items,
        min_level_dbfs=config.min_level_dbfs,
        max_db_below_peak=config.max_db_below_peak,
    )
    copies = (
        config.mixtures
        if config.mixtures is not None
        else (DEFAULT_MIXTURES if data.has_background else 0)
    )
    if copies:
        windows = Windows.concat(
            [
                windows,
                mixture_windows(
                    data,
                    model,
                    copies=copies,
                    ebrs_db=config.mix_ebrs_db,
                    seed=config.seed,
                    cache=cache,
                    resampler=resampler,
                ),
            ]
        )
    return windows


def train_head(
    data: TrainingData,
    model: Yamnet,
    *,
    config: TrainingConfig = TrainingConfig(),
    cache: EmbeddingCache | None = None,
    resampler: str = DEFAULT_RESAMPLER,
    progress: bool = False,
    warn: Callable[[str], None] | None = None,
) -> TrainingResult:
    """Train a head on a data set (embeddings through the cache).

    Clips that cannot be read are left out (:func:`readable_clips`) and listed in the metadata;
    a label left without training or validation clips by the split is warned about
    (:func:`split_warnings`).

    Parameters
    ----------
    data : TrainingData
    model : sed.model.Yamnet
        Computes the embeddings; its settings are recorded in the head.
    config : TrainingConfig
    cache : EmbeddingCache, optional
    resampler : {"soxr", "resampy"}
    progress : bool
        Progress bar while computing embeddings.
    warn : callable, optional
        Receives one-line warnings: each clip left out, each label the split leaves short.

    Returns
    -------
    result : TrainingResult
        ``result.head.metadata`` holds: ``created`` (ISO 8601 UTC), ``sed_version``, ``yamnet``
        (``sample_rate``, ``hop_seconds``, ``patch_window_seconds``, ``resampler``,
        ``weights_sha256``), ``head`` (``activation``, ``hidden_units``, ``background_label``),
        ``training`` (the config, the data summary, windows used and dropped, epochs, best epoch,
        seconds, energy, ``skipped_clips`` and ``warnings``) and ``validation`` (clip accuracy,
        per-class accuracy, clips).

    Raises
    ------
    AudioError
        If a label keeps no readable clip.
    """
    warn = warn or (lambda message: None)
    check_training_plan(data, config)
    data, skipped = readable_clips(data, model, cache=cache, resampler=resampler, progress=progress)
    for item in skipped:
        warn(f"skipped unreadable clip {item['path']}: {item['error']}")
    windows = training_windows(data, model, config, cache=cache, resampler=resampler)
    train, validation = validation_split(data, config.validation_fraction, seed=config.seed)
    notes = split_warnings(data, train, validation)
    for message in notes:
        warn(message)
    with measure_energy() as energy:
        started = time.perf_counter()
        network, fit = fit_network(windows, train, validation, data, config)
        seconds = time.perf_counter() - started
    head = Head(network, output_labels(data, config.activation))
    head.metadata.update(_head_metadata(model, resampler, config))
    evaluation = (
        evaluate_clips(head, windows, validation, data, config.aggregation)
        if len(validation)
        else None
    )
    head.metadata["training"] = {
        "config": asdict(config),
        "data": data.summary(),
        "windows": int((~windows.mixed).sum()),
        "mixture_windows": int(windows.mixed.sum()),
        "windows_dropped_as_silent": int((~windows.used & ~windows.mixed).sum()),
        "train_clips": int(len(train)),
        "validation_clips": int(len(validation)),
        "epochs": fit.epochs,
        "best_epoch": fit.best_epoch,
        "seconds": round(seconds, 3),
        "energy": energy,
        "skipped_clips": [{"path": i["path"], "error": i["error"]} for i in skipped],
        "warnings": notes,
    }
    head.metadata["validation"] = clip_summary(evaluation)
    return TrainingResult(head, evaluation, seconds, energy)


def _head_metadata(model: Yamnet, resampler: str, config: TrainingConfig) -> dict:
    from sed import __version__

    settings = model_settings(model, resampler)
    return {
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "sed_version": __version__,
        "yamnet": {
            "sample_rate": model.params.sample_rate,
            "hop_seconds": model.params.patch_hop_seconds,
            "patch_window_seconds": model.params.patch_window_seconds,
            "resampler": resampler,
            "weights_sha256": settings["weights_sha256"],
        },
        "head": {
            "activation": config.activation,
            "hidden_units": config.hidden_units,
            "background_label": BACKGROUND_LABEL,
            "aggregation": config.aggregation,
            "min_level_dbfs": config.min_level_dbfs,
            "max_db_below_peak": config.max_db_below_peak,
        },
    }


@dataclass
class CrossValidation:
    """Grouped K-fold cross-validation of the training recipe.

    Attributes
    ----------
    fold_accuracies : list of float
        Clip accuracy on each held-out fold.
    pooled : ClipEvaluation
        Every clip, predicted by the head that did not see it.
    seconds : float
        Total training time, in seconds.
    energy : dict
    """

    fold_accuracies: list[float]
    pooled: ClipEvaluation
    seconds: float
    energy: dict = field(default_factory=dict)

    @property
    def mean(self) -> float:
        return float(np.mean(self.fold_accuracies))

    @property
    def std(self) -> float:
        """Standard deviation over folds (ddof=1, the sample estimate)."""
        return float(np.std(self.fold_accuracies, ddof=1)) if len(self.fold_accuracies) > 1 else 0.0

    def summary(self) -> dict:
        return {
            "folds": len(self.fold_accuracies),
            "fold_clip_accuracies": [round(a, 4) for a in self.fold_accuracies],
            "mean_clip_accuracy": round(self.mean, 4),
            "std_clip_accuracy": round(self.std, 4),
            "pooled": clip_summary(self.pooled),
            "seconds": round(self.seconds, 3),
            "energy": self.energy,
        }


def cross_validate(
    data: TrainingData,
    model: Yamnet,
    k: int,
    *,
    config: TrainingConfig = TrainingConfig(),
    cache: EmbeddingCache | None = None,
    resampler: str = DEFAULT_RESAMPLER,
    progress: bool = False,
) -> CrossValidation:
    """Grouped, stratified K-fold cross-validation of :func:`train_head`'s recipe.

    Each fold is held out once; the head is trained on the other folds (with its own grouped
    validation split for early stopping, ``config.validation_fraction`` of them) and predicts the
    held-out clips. Groups never straddle folds.

    Clips that cannot be read are left out, as in :func:`train_head`.

    Returns
    -------
    result : CrossValidation
    """
    data, _ = readable_clips(data, model, cache=cache, resampler=resampler, progress=progress)
    windows = training_windows(data, model, config, cache=cache, resampler=resampler)
    folds = grouped_folds(data, k, seed=config.seed)
    accuracies, pooled, seconds = [], None, 0.0
    with measure_energy() as energy:
        for test in folds:
            rest = np.setdiff1d(np.arange(len(data.clips)), test)
            inner = TrainingData(
                data.clips.iloc[rest].reset_index(drop=True), data.classes, data.source
            )
            train, validation = validation_split(
                inner, config.validation_fraction, seed=config.seed
            )
            started = time.perf_counter()
            network, _ = fit_network(windows, rest[train], rest[validation], data, config)
            seconds += time.perf_counter() - started
            head = Head(
                network,
                output_labels(data, config.activation),
                {"head": {"activation": config.activation}},
            )
            evaluation = evaluate_clips(head, windows, np.sort(test), data, config.aggregation)
            accuracies.append(evaluation.accuracy)
            pooled = evaluation if pooled is None else pooled + evaluation
    if pooled is None:  # grouped_folds makes at least two folds
        raise RuntimeError("internal error: cross-validation without a fold")
    return CrossValidation(accuracies, pooled, seconds, energy)
