"""Training heads: data sets of labelled clips, grouped splits, training, cross-validation, reports.

The recipe is the reference YAMNet transfer-learning tutorial's: every 0.96 s window of a clip is
one training example labelled with the clip's class, the head (:func:`sed.heads.build_head_network`)
is trained with Adam, and a clip is classified by averaging its windows' scores. On top of it:

- a validation split that keeps groups apart (clips cut from one recording, such as ESC-50's
  ``src_file``, are all on one side), stratified by class, for early stopping on validation loss;
- balanced class weights (each class, background included, weighs the same in the loss however
  many windows it has);
- a background class (:data:`sed.heads.BACKGROUND_LABEL`) from recordings without events;
- windows of digital silence (ESC-50 pads short clips with zeros) are not labelled with the clip's
  class: windows below ``min_level_dbfs`` are left out of training and of clip scores (a clip keeps
  at least its loudest window);
- deterministic results for a given ``seed``.

Everything here works on :class:`TrainingData` (a table of clips) and cached embeddings
(:mod:`sed.embeddings`); the CLI ``sed train`` is a thin layer over :func:`train_head` and
:func:`cross_validate`.
"""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import time
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from sed.atomic import atomic_open, atomic_path
from sed.embeddings import (AUDIO_EXTENSIONS, EmbeddingCache, FileEmbeddings, audio_files,
                            embed_files, model_settings)
from sed.errors import AnnotationError, AudioError, ParameterError
from sed.heads import ACTIVATIONS, BACKGROUND_LABEL, Head, build_head_network

AGGREGATIONS = ("mean", "max", "log-mean")
# Mixtures per event clip when background recordings are given: office segment F1 rose from 0.40
# to 0.55 with 5 (benchmarks/office_sed.py, seed 0); 10 did no better.
DEFAULT_MIXTURES = 5


# --------------------------------------------------------------------------------------------
# Data sets
# --------------------------------------------------------------------------------------------

@dataclass
class TrainingData:
    """Labelled clips to train a head on.

    Attributes
    ----------
    clips : pd.DataFrame
        One row per clip: ``path`` (an audio file), ``label`` (a class, or
        :data:`BACKGROUND_LABEL`), ``group`` (clips of one group are never split apart).
    classes : tuple of str
        The event classes, in output order (the background is not one of them).
    source : str
        Where the data came from (a folder or CSV), for the metadata.
    """

    clips: pd.DataFrame
    classes: tuple[str, ...]
    source: str = ""

    @property
    def labels(self) -> tuple[str, ...]:
        """The classes, then the background if there are background clips."""
        return self.classes + ((BACKGROUND_LABEL,) if self.has_background else ())

    @property
    def has_background(self) -> bool:
        return bool((self.clips["label"] == BACKGROUND_LABEL).any())

    def summary(self) -> dict:
        """Clips and groups per label, for the metadata and the report."""
        counts = self.clips.groupby("label", sort=False).agg(
            clips=("path", "size"), groups=("group", "nunique"))
        return {"source": self.source, "clips": int(len(self.clips)),
                "groups": int(self.clips["group"].nunique()),
                "per_label": {label: {k: int(v) for k, v in counts.loc[label].items()}
                              for label in self.labels}}


def background_clips(directory: str | os.PathLike) -> pd.DataFrame:
    """Every audio file under ``directory`` as a background clip, each its own group.

    Raises
    ------
    ParameterError
        If the folder does not exist or holds no audio file.
    """
    if not os.path.isdir(directory):
        raise ParameterError("background folder does not exist", directory)
    paths = audio_files(directory)
    if not paths:
        raise ParameterError(f"background folder has no audio files ({', '.join(AUDIO_EXTENSIONS)})",
                             directory)
    return pd.DataFrame({"path": paths, "label": BACKGROUND_LABEL, "group": paths})


def folder_dataset(directory: str | os.PathLike, *, classes: list[str] | None = None,
                   background: str | os.PathLike | None = None) -> TrainingData:
    """A data set from a folder with one sub-folder of audio files per class.

    Parameters
    ----------
    directory : str or os.PathLike
        ``directory/<class>/*.wav`` (any depth below the class folder). A sub-folder named
        ``_background`` holds recordings without events. Hidden folders are skipped.
    classes : list of str, optional
        Use only these classes (in this order); by default every sub-folder, sorted.
    background : str or os.PathLike, optional
        A further folder of background recordings.

    Returns
    -------
    data : TrainingData
        Each file is its own group.

    Raises
    ------
    ParameterError
        If the folder does not exist, a class folder holds no audio, a requested class has no
        folder, or there are fewer than two labels to tell apart.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ParameterError("training folder does not exist", directory)
    folders = sorted(f for f in os.listdir(directory)
                     if os.path.isdir(os.path.join(directory, f)) and not f.startswith("."))
    names = [f for f in folders if f != BACKGROUND_LABEL]
    wanted = _check_classes(classes, names, directory, "a sub-folder")
    frames = []
    for name in wanted:
        paths = audio_files(os.path.join(directory, name))
        if not paths:
            raise ParameterError("class folder has no audio files", os.path.join(directory, name))
        frames.append(pd.DataFrame({"path": paths, "label": name, "group": paths}))
    if BACKGROUND_LABEL in folders:
        frames.append(background_clips(os.path.join(directory, BACKGROUND_LABEL)))
    if background is not None:
        frames.append(background_clips(background))
    return _finish(frames, tuple(wanted), directory)


def csv_dataset(path: str | os.PathLike, *, label_column: str = "label",
                filename_column: str = "filename", group_column: str | None = None,
                classes: list[str] | None = None, where: dict[str, str] | None = None,
                audio_dir: str | os.PathLike | None = None,
                background: str | os.PathLike | None = None) -> TrainingData:
    """A data set from a CSV file with a file name and a label per clip (ESC-50's ``esc50.csv``).

    Parameters
    ----------
    path : str or os.PathLike
        CSV with a header row.
    label_column, filename_column : str
        Columns of the class and of the audio file name (relative to ``audio_dir``).
    group_column : str, optional
        Clips with the same value come from one recording and stay on one side of every split
        (ESC-50: ``src_file``); by default every clip is its own group.
    classes : list of str, optional
        Use only the clips of these classes, in this order; by default all, sorted.
    where : dict of str to str, optional
        Keep only rows whose column equals the value (compared as text), e.g.
        ``{"fold": "4"}`` or ``{"split": "train"}``.
    audio_dir : str or os.PathLike, optional
        Folder of the audio files. By default the CSV's folder, or the ``audio`` folder beside
        it (ESC-50's ``meta/`` and ``audio/``), whichever holds the first file.
    background : str or os.PathLike, optional
        A folder of background recordings.

    Raises
    ------
    AnnotationError
        If the CSV cannot be parsed, lacks a column, or has an empty file name or label (the
        message names the line).
    ParameterError
        For an unknown class, a ``where`` value no row has, or fewer than two labels.
    AudioError
        If audio files are missing (the first one is named, with the count).
    """
    path = os.fspath(path)
    table = _read_csv(path)
    needed = [filename_column, label_column] + ([group_column] if group_column else []) \
        + list(where or {})
    for column in needed:
        if column not in table.columns:
            raise AnnotationError(f"no column {column!r}; the columns are "
                                  f"{', '.join(map(repr, table.columns))}", path)
    table["_line"] = np.arange(2, len(table) + 2)
    for column, value in (where or {}).items():
        kept = table[table[column].str.strip() == str(value).strip()]
        if kept.empty:
            raise ParameterError(f"no row has {column} = {value!r}", path)
        table = kept
    for column in (filename_column, label_column):
        empty = table[table[column].fillna("").str.strip() == ""]
        if not empty.empty:
            raise AnnotationError(f"line {empty['_line'].iloc[0]}: empty {column}", path)
    table[label_column] = table[label_column].str.strip()
    wanted = _check_classes(classes, sorted(table[label_column].unique()), path,
                            f"a value of column {label_column!r}")
    table = table[table[label_column].isin(wanted)]
    directory = _audio_dir(path, audio_dir, table[filename_column].iloc[0])
    paths = [os.path.join(directory, name.strip()) for name in table[filename_column]]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise AudioError(f"audio file listed in {os.path.basename(path)} not found"
                         + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
                         + ("" if audio_dir else "; pass the audio folder with --audio-dir"),
                         missing[0])
    groups = table[group_column].fillna("").str.strip() if group_column else pd.Series(paths)
    frames = [pd.DataFrame({"path": paths, "label": table[label_column].to_numpy(),
                            "group": [str(g) for g in groups]})]
    if background is not None:
        frames.append(background_clips(background))
    return _finish(frames, tuple(wanted), path)


def load_dataset(data: str | os.PathLike, *, classes: list[str] | None = None,
                 label_column: str = "label", filename_column: str = "filename",
                 group_column: str | None = None, where: dict[str, str] | None = None,
                 audio_dir: str | os.PathLike | None = None,
                 background: str | os.PathLike | None = None) -> TrainingData:
    """A folder (:func:`folder_dataset`) or a CSV file (:func:`csv_dataset`), by what ``data`` is.

    Raises
    ------
    ParameterError
        If ``data`` does not exist, or CSV-only options are given with a folder.
    """
    data = os.fspath(data)
    if os.path.isdir(data):
        csv_only = {"--label-column": label_column != "label", "--group-column": group_column,
                    "--filename-column": filename_column != "filename", "--where": where,
                    "--audio-dir": audio_dir}
        given = [name for name, value in csv_only.items() if value]
        if given:
            raise ParameterError(f"{', '.join(given)} apply to a CSV file, not a folder", data)
        return folder_dataset(data, classes=classes, background=background)
    if not os.path.exists(data):
        raise ParameterError("no such folder or CSV file", data)
    return csv_dataset(data, label_column=label_column, filename_column=filename_column,
                       group_column=group_column, classes=classes, where=where,
                       audio_dir=audio_dir, background=background)


def parse_where(conditions) -> dict[str, str]:
    """``["fold=4", "split=train"]`` as ``{"fold": "4", "split": "train"}``.

    Raises
    ------
    ParameterError
        If a condition is not ``COLUMN=VALUE``.
    """
    parsed = {}
    for condition in conditions or ():
        column, sign, value = condition.partition("=")
        if not sign or not column.strip():
            raise ParameterError(f"expected COLUMN=VALUE, got {condition!r}")
        parsed[column.strip()] = value.strip()
    return parsed


def _read_csv(path: str) -> pd.DataFrame:
    if not os.path.isfile(path):
        raise AnnotationError("no such file", path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise AnnotationError(f"not a readable CSV file ({reason})", path) from None
    table.columns = [str(c).strip() for c in table.columns]
    return table


def _audio_dir(csv_path: str, audio_dir, first_name: str) -> str:
    if audio_dir is not None:
        if not os.path.isdir(audio_dir):
            raise ParameterError("audio folder does not exist", audio_dir)
        return os.fspath(audio_dir)
    here = os.path.dirname(os.path.abspath(csv_path))
    for candidate in (here, os.path.join(here, "audio"), os.path.join(os.path.dirname(here), "audio")):
        if os.path.isfile(os.path.join(candidate, first_name.strip())):
            return candidate
    return here


def _check_classes(classes, available: list[str], source: str, what: str) -> list[str]:
    if classes is None:
        return list(available)
    classes = [c.strip() for c in classes if c.strip()]
    for name in classes:
        if name not in available:
            raise ParameterError(f"unknown class {name!r}: not {what} (there are "
                                 f"{', '.join(map(repr, available[:12]))}"
                                 f"{', ...' if len(available) > 12 else ''})", source)
        if name == BACKGROUND_LABEL:
            raise ParameterError(f"{BACKGROUND_LABEL} is the background, not a class", source)
    if len(set(classes)) != len(classes):
        raise ParameterError("a class is listed twice", source)
    return classes


def _finish(frames: list[pd.DataFrame], classes: tuple[str, ...], source: str) -> TrainingData:
    clips = pd.concat(frames, ignore_index=True)
    data = TrainingData(clips, classes, os.fspath(source))
    if len(data.labels) < 2:
        raise ParameterError(f"need at least two labels to tell apart (classes or a background), "
                             f"found {list(data.labels)}", source)
    return data


# --------------------------------------------------------------------------------------------
# Windows: clips' embeddings as training examples
# --------------------------------------------------------------------------------------------

@dataclass
class Windows:
    """Every window of a data set's clips, as training examples.

    Attributes
    ----------
    embeddings : np.ndarray [shape=(n_windows, 1024), dtype=float32]
    clip : np.ndarray [shape=(n_windows,), dtype=int]
        Row of the window's clip in ``data.clips``.
    target : np.ndarray [shape=(n_windows,), dtype=int]
        Index of the clip's label in ``data.labels``.
    used : np.ndarray [shape=(n_windows,), dtype=bool]
        False for windows of digital silence (see :func:`usable_windows`) and ambiguous windows
        of mixtures.
    mixed : np.ndarray [shape=(n_windows,), dtype=bool]
        True for windows of synthetic mixtures (:mod:`sed.mixing`): trained on, never counted
        in clip predictions.
    """

    embeddings: np.ndarray
    clip: np.ndarray
    target: np.ndarray
    used: np.ndarray
    mixed: np.ndarray | None = None

    def __post_init__(self):
        if self.mixed is None:
            self.mixed = np.zeros(len(self.clip), bool)

    @classmethod
    def concat(cls, parts: list["Windows"]) -> "Windows":
        """All windows of ``parts``, in order."""
        return cls(*(np.concatenate([getattr(part, name) for part in parts])
                     for name in ("embeddings", "clip", "target", "used", "mixed")))


def usable_windows(levels_dbfs: np.ndarray, min_level_dbfs: float | None = None,
                   max_db_below_peak: float | None = None) -> np.ndarray:
    """Windows of a clip that hold its sound, by level alone (no labels involved).

    Parameters
    ----------
    levels_dbfs : np.ndarray [shape=(n_windows,)]
        Window levels of one clip (:attr:`sed.embeddings.FileEmbeddings.levels_dbfs`).
    min_level_dbfs : float or None
        Windows below this level are digital silence (zero padding); None keeps them.
    max_db_below_peak : float >= 0 or None
        Windows more than this many dB below the clip's loudest window are the quiet gaps
        around the sound; None keeps them.

    Returns
    -------
    mask : np.ndarray [shape=(n_windows,), dtype=bool]
        The loudest window is always kept.
    """
    levels_dbfs = np.asarray(levels_dbfs)
    mask = np.ones(len(levels_dbfs), bool)
    if len(levels_dbfs) == 0:
        return mask
    if min_level_dbfs is not None:
        mask &= levels_dbfs >= min_level_dbfs
    if max_db_below_peak is not None:
        mask &= levels_dbfs >= levels_dbfs.max() - max_db_below_peak
    mask[int(np.argmax(levels_dbfs))] = True
    return mask


def make_windows(data: TrainingData, items: list[FileEmbeddings], *,
                 min_level_dbfs: float | None = None,
                 max_db_below_peak: float | None = None) -> Windows:
    """Label every window of every clip with its clip's label.

    Windows of event clips are marked unused by :func:`usable_windows`; every window of a
    background recording is used (silence is background too).
    """
    index = {label: i for i, label in enumerate(data.labels)}
    targets = data.clips["label"].map(index).to_numpy()
    background = index.get(BACKGROUND_LABEL, -1)

    def used(row, item):
        if targets[row] == background:
            return np.ones(len(item), bool)
        return usable_windows(item.levels_dbfs, min_level_dbfs, max_db_below_peak)

    return Windows(
        embeddings=np.concatenate([item.embeddings for item in items]),
        clip=np.concatenate([np.full(len(item), row) for row, item in enumerate(items)]),
        target=np.concatenate([np.full(len(item), targets[row]) for row, item in enumerate(items)]),
        used=np.concatenate([used(row, item) for row, item in enumerate(items)]))


def mixture_windows(data: TrainingData, model, *, copies: int, ebrs_db, seed: int = 0,
                    cache: EmbeddingCache | None = None, resampler: str = "soxr") -> Windows:
    """Windows of ``copies`` synthetic mixtures of every event clip over the data's background.

    See :mod:`sed.mixing`. Each mixture's windows keep the row of their event clip, so grouped
    splits keep a clip and its mixtures on one side.

    Raises
    ------
    ParameterError
        If the data has no background recordings to mix over.
    """
    from sed.mixing import load_waveforms, make_mixture, window_labels

    if not data.has_background:
        raise ParameterError("mixing events over backgrounds needs background recordings "
                             "(a _background folder or --background)", data.source)
    cache = cache or EmbeddingCache()
    rate = model.params.sample_rate
    is_background = (data.clips["label"] == BACKGROUND_LABEL).to_numpy()
    backgrounds = load_waveforms(data.clips["path"][is_background], rate, resampler)
    rows = np.flatnonzero(~is_background)
    events = load_waveforms(data.clips["path"].iloc[rows], rate, resampler)
    index = {label: i for i, label in enumerate(data.labels)}
    rng = np.random.default_rng(seed)
    # Every second of background is as likely as any other, whatever the recordings' lengths.
    weights = np.array([len(b) for b in backgrounds], float) / sum(len(b) for b in backgrounds)
    parts = []
    for copy in range(copies):
        for row, event in zip(rows, events):
            background = backgrounds[int(rng.choice(len(backgrounds), p=weights))]
            mixture = make_mixture(event, background, rng, sample_rate=rate, ebrs_db=ebrs_db)
            item = cache.embed_waveform(mixture.waveform, model, resampler=resampler,
                                        name=f"{data.clips['path'].iloc[row]}#mix{copy}")
            labels = window_labels(item.starts, item.ends, mixture.onset_seconds,
                                   mixture.offset_seconds)
            target = np.where(labels == 1, index[data.clips["label"].iloc[row]],
                              index[BACKGROUND_LABEL])
            parts.append(Windows(item.embeddings, np.full(len(item), row), target, labels >= 0,
                                 np.ones(len(item), bool)))
    return Windows.concat(parts)


# --------------------------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------------------------

def grouped_folds(data: TrainingData, k: int, *, seed: int = 0) -> list[np.ndarray]:
    """Split clips into ``k`` folds that keep groups together, stratified by label.

    scikit-learn's ``StratifiedGroupKFold`` (shuffled with ``seed``); ``GroupKFold`` when no
    label has ``k`` clips.

    Returns
    -------
    folds : list of np.ndarray
        ``k`` arrays of clip rows; each clip is in exactly one.

    Raises
    ------
    ParameterError
        If ``k < 2`` or there are fewer than ``k`` groups.
    """
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    if not (isinstance(k, (int, np.integer)) and k >= 2):
        raise ParameterError(f"the number of folds must be an integer >= 2, got {k!r}")
    groups = data.clips["group"].to_numpy()
    if len(set(groups)) < k:
        raise ParameterError(f"cannot make {k} folds of {len(set(groups))} groups", data.source)
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    if data.clips["label"].value_counts().max() < k:
        # Stratifying needs a label with k clips; with fewer, folds are only grouped.
        splitter = GroupKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # "The least populated class has only n members": fine, such a class is in fewer folds.
        warnings.simplefilter("ignore", UserWarning)
        return [test for _, test in splitter.split(np.zeros(len(groups)), data.clips["label"],
                                                   groups)]


def validation_split(data: TrainingData, fraction: float, *, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Clip rows for training and for validation, groups kept apart.

    The validation part is one of ``round(1 / fraction)`` grouped, stratified folds.

    Returns
    -------
    train, validation : np.ndarray
        Clip rows; ``validation`` is empty when ``fraction`` is 0.
    """
    rows = np.arange(len(data.clips))
    if fraction == 0:
        return rows, rows[:0]
    folds = grouped_folds(data, max(2, round(1 / fraction)), seed=seed)
    return np.setdiff1d(rows, folds[0]), np.sort(folds[0])


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainingConfig:
    """How a head is trained.

    Attributes
    ----------
    activation : {"softmax", "sigmoid"}
        softmax: one output per class plus the background, categorical cross-entropy (the
        tutorial). sigmoid: one output per class, binary cross-entropy, background windows have
        all-zero targets.
    hidden_units : int >= 1
        Width of the hidden layer (512, the tutorial's).
    learning_rate : float > 0
        Adam's (1e-3, Keras' default, the tutorial's).
    batch_size : int >= 1
        Windows per gradient step.
    max_epochs : int >= 1
    patience : int >= 1
        Early stopping: epochs without a lower validation loss before stopping; the weights of
        the best epoch are kept.
    validation_fraction : float in [0, 0.5]
        Share of groups held out for early stopping and validation metrics; 0 trains for
        ``max_epochs`` without validation.
    min_level_dbfs : float or None
        Windows of event clips quieter than this (digital silence: ESC-50's zero padding) are
        neither trained on nor counted in clip scores; None uses them.
    max_db_below_peak : float >= 0 or None
        Windows of event clips more than this many dB below the clip's loudest window (the
        quiet gaps around the sound, labelled with the clip's class all the same) are left out
        likewise; None uses them.
    aggregation : {"mean", "max", "log-mean"}
        How window scores make a clip's scores.
    class_weights : bool
        Weigh windows so that every label counts the same in the loss.
    mixtures : int >= 0 or None
        Synthetic mixtures of each event clip over the data's background recordings
        (:mod:`sed.mixing`), added to the training windows; 0 for none; None (default) for
        :data:`DEFAULT_MIXTURES` when the data has background recordings, else none.
    mix_ebrs_db : tuple of float
        Event-to-background ratios the mixtures draw from, in dB (DCASE 2016 task 2's -6, 0, 6).
    seed : int
        Seeds the split, the initial weights and the shuffling.
    """

    activation: str = "sigmoid"
    hidden_units: int = 512
    learning_rate: float = 1e-3
    batch_size: int = 64
    max_epochs: int = 100
    patience: int = 5
    validation_fraction: float = 0.2
    min_level_dbfs: float | None = -80.0
    max_db_below_peak: float | None = 20.0
    aggregation: str = "mean"
    class_weights: bool = True
    mixtures: int | None = None
    mix_ebrs_db: tuple[float, ...] = (-6.0, 0.0, 6.0)
    seed: int = 0

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise ParameterError(f"unknown activation {self.activation!r}; choose "
                                 f"{' or '.join(ACTIVATIONS)}")
        if self.aggregation not in AGGREGATIONS:
            raise ParameterError(f"unknown aggregation {self.aggregation!r}; choose one of "
                                 f"{', '.join(AGGREGATIONS)}")
        if self.mixtures is not None and not (isinstance(self.mixtures, (int, np.integer))
                                              and self.mixtures >= 0):
            raise ParameterError(f"mixtures must be an integer >= 0, got {self.mixtures!r}")
        for name in ("hidden_units", "batch_size", "max_epochs", "patience"):
            value = getattr(self, name)
            if not (isinstance(value, (int, np.integer)) and value >= 1):
                raise ParameterError(f"{name.replace('_', ' ')} must be an integer >= 1, "
                                     f"got {value!r}")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ParameterError(f"learning rate must be > 0, got {self.learning_rate!r}")
        if self.max_db_below_peak is not None and not self.max_db_below_peak >= 0:
            raise ParameterError(f"dB below peak must be >= 0, got {self.max_db_below_peak!r}")
        if not 0 <= self.validation_fraction <= 0.5:
            raise ParameterError("validation fraction must be in [0, 0.5], got "
                                 f"{self.validation_fraction!r}")


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


def fit_network(windows: Windows, train_clips: np.ndarray, validation_clips: np.ndarray,
                data: TrainingData, config: TrainingConfig):
    """Train a fresh head on the used windows of ``train_clips``.

    Returns
    -------
    network : keras.Model
    fit : FitResult
    """
    from sed.runtime import import_tensorflow

    tf = import_tensorflow()
    import keras

    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    labels = output_labels(data, config.activation)
    n_labels, n_classes = len(data.labels), len(data.classes)

    def part(clips):
        rows = np.flatnonzero(np.isin(windows.clip, clips) & windows.used)
        target = windows.target[rows]
        return (windows.embeddings[rows],
                _targets(target, n_labels, config.activation, n_classes),
                _sample_weights(target, n_labels, config.class_weights))

    x, y, w = part(train_clips)
    network = build_head_network(len(labels), activation=config.activation,
                                 hidden_units=config.hidden_units,
                                 embedding_size=windows.embeddings.shape[1])
    loss = (keras.losses.SparseCategoricalCrossentropy() if config.activation == "softmax"
            else keras.losses.BinaryCrossentropy())
    network.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=loss)
    callbacks, validation = [], None
    if len(validation_clips):
        validation = part(validation_clips)
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=config.patience, restore_best_weights=True))
    history = network.fit(x, y, sample_weight=w, batch_size=config.batch_size,
                          epochs=config.max_epochs, validation_data=validation,
                          callbacks=callbacks, shuffle=True, verbose=0).history
    epochs = len(history["loss"])
    best = int(np.argmin(history["val_loss"])) + 1 if validation else epochs
    return network, FitResult(epochs, best, {k: [float(v) for v in vs]
                                             for k, vs in history.items()})


# --------------------------------------------------------------------------------------------
# Clip predictions and evaluation
# --------------------------------------------------------------------------------------------

def aggregate(scores: np.ndarray, method: str = "mean") -> np.ndarray:
    """One clip's scores from its windows' scores.

    Parameters
    ----------
    scores : np.ndarray [shape=(n_windows, n_outputs)]
    method : {"mean", "max", "log-mean"}
        ``mean``: the tutorial's average of window scores; ``max``: the highest window score;
        ``log-mean``: average of log scores (a product of window likelihoods).

    Returns
    -------
    clip_scores : np.ndarray [shape=(n_outputs,)]
    """
    if method == "mean":
        return scores.mean(axis=0)
    if method == "max":
        return scores.max(axis=0)
    return np.exp(np.log(np.maximum(scores, 1e-7)).mean(axis=0))


def predict_clips(head: Head, windows: Windows, clips: np.ndarray, data: TrainingData,
                  aggregation: str = "mean") -> np.ndarray:
    """Predicted label index (into ``data.labels``) of each clip in ``clips``.

    A softmax head predicts its highest clip score. A sigmoid head predicts its highest class,
    or the background when no class reaches 0.5 and the data has a background.
    """
    scores = head.predict(windows.embeddings)
    predicted = []
    for row in clips:
        mask = (windows.clip == row) & windows.used & ~windows.mixed
        clip_scores = aggregate(scores[mask], aggregation)
        best = int(np.argmax(clip_scores))
        if head.activation == "sigmoid" and data.has_background and clip_scores[best] < 0.5:
            best = len(data.classes)
        predicted.append(best)
    return np.asarray(predicted, dtype=int)


@dataclass
class Evaluation:
    """Clip-level results of a head on held-out clips.

    Attributes
    ----------
    labels : tuple of str
    truth, predicted : np.ndarray [shape=(n_clips,), dtype=int]
        Label indices into ``labels``.
    """

    labels: tuple[str, ...]
    truth: np.ndarray
    predicted: np.ndarray

    @property
    def accuracy(self) -> float:
        """Share of clips whose predicted label is their label, in [0, 1]."""
        return float(np.mean(self.truth == self.predicted)) if len(self.truth) else float("nan")

    def confusion(self) -> pd.DataFrame:
        """Confusion matrix: rows are true labels, columns predicted labels, cells clip counts."""
        matrix = np.zeros((len(self.labels), len(self.labels)), int)
        np.add.at(matrix, (self.truth, self.predicted), 1)
        return pd.DataFrame(matrix, index=pd.Index(self.labels, name="true"),
                            columns=pd.Index(self.labels, name="predicted"))

    def per_class(self) -> pd.DataFrame:
        """Per label: ``clips``, ``correct`` and ``accuracy`` (recall), over held-out clips."""
        matrix = self.confusion().to_numpy()
        clips = matrix.sum(axis=1)
        correct = np.diag(matrix)
        with np.errstate(invalid="ignore", divide="ignore"):
            accuracy = np.where(clips > 0, correct / np.maximum(clips, 1), np.nan)
        return pd.DataFrame({"label": self.labels, "clips": clips, "correct": correct,
                             "accuracy": accuracy})

    def __add__(self, other: "Evaluation") -> "Evaluation":
        return Evaluation(self.labels, np.concatenate([self.truth, other.truth]),
                          np.concatenate([self.predicted, other.predicted]))


def evaluate(head: Head, windows: Windows, clips: np.ndarray, data: TrainingData,
             aggregation: str = "mean") -> Evaluation:
    """Clip accuracy and confusion of ``head`` on the clips ``clips``."""
    index = {label: i for i, label in enumerate(data.labels)}
    truth = data.clips["label"].iloc[clips].map(index).to_numpy(dtype=int)
    return Evaluation(data.labels, truth, predict_clips(head, windows, clips, data, aggregation))


# --------------------------------------------------------------------------------------------
# The two entry points
# --------------------------------------------------------------------------------------------

@dataclass
class TrainingResult:
    """A trained head and its report.

    Attributes
    ----------
    head : Head
        With its metadata (see :func:`train_head`).
    validation : Evaluation or None
        On the validation clips (None without validation).
    seconds : float
        Wall-clock training time (embeddings excluded: they are cached), in seconds.
    energy : dict
        ``{"kwh": float or None, "method": str}`` (see :func:`measure_energy`).
    """

    head: Head
    validation: Evaluation | None
    seconds: float
    energy: dict = field(default_factory=dict)


def training_windows(data: TrainingData, model, config: TrainingConfig, *,
                     cache: EmbeddingCache | None = None, resampler: str = "soxr",
                     progress: bool = False) -> Windows:
    """Every window to train on and evaluate: the clips' (:func:`make_windows`), then those of
    ``config.mixtures`` mixtures per event clip (:func:`mixture_windows`)."""
    items = embed_files(data.clips["path"], model, cache=cache, resampler=resampler,
                        progress=progress)
    windows = make_windows(data, items, min_level_dbfs=config.min_level_dbfs,
                           max_db_below_peak=config.max_db_below_peak)
    copies = config.mixtures if config.mixtures is not None else (
        DEFAULT_MIXTURES if data.has_background else 0)
    if copies:
        windows = Windows.concat([windows, mixture_windows(
            data, model, copies=copies, ebrs_db=config.mix_ebrs_db, seed=config.seed,
            cache=cache, resampler=resampler)])
    return windows


def train_head(data: TrainingData, model, *, config: TrainingConfig = TrainingConfig(),
               cache: EmbeddingCache | None = None, resampler: str = "soxr",
               progress: bool = False) -> TrainingResult:
    """Train a head on a data set (embeddings through the cache).

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

    Returns
    -------
    result : TrainingResult
        ``result.head.metadata`` holds: ``created`` (ISO 8601 UTC), ``sed_version``, ``yamnet``
        (``sample_rate``, ``hop_seconds``, ``patch_window_seconds``, ``resampler``,
        ``weights_sha256``), ``head`` (``activation``, ``hidden_units``, ``background_label``),
        ``training`` (the config, the data summary, windows used and dropped, epochs, best epoch,
        seconds, energy) and ``validation`` (clip accuracy, per-class accuracy, clips).
    """
    windows = training_windows(data, model, config, cache=cache, resampler=resampler,
                               progress=progress)
    train, validation = validation_split(data, config.validation_fraction, seed=config.seed)
    with measure_energy() as energy:
        started = time.perf_counter()
        network, fit = fit_network(windows, train, validation, data, config)
        seconds = time.perf_counter() - started
    head = Head(network, output_labels(data, config.activation))
    head.metadata.update(_head_metadata(model, resampler, config))
    evaluation = evaluate(head, windows, validation, data, config.aggregation) \
        if len(validation) else None
    head.metadata["training"] = {
        "config": asdict(config), "data": data.summary(),
        "windows": int((~windows.mixed).sum()), "mixture_windows": int(windows.mixed.sum()),
        "windows_dropped_as_silent": int((~windows.used & ~windows.mixed).sum()),
        "train_clips": int(len(train)), "validation_clips": int(len(validation)),
        "epochs": fit.epochs, "best_epoch": fit.best_epoch, "seconds": round(seconds, 3),
        "energy": energy}
    head.metadata["validation"] = _evaluation_summary(evaluation)
    return TrainingResult(head, evaluation, seconds, energy)


def _head_metadata(model, resampler: str, config: TrainingConfig) -> dict:
    from sed import __version__

    settings = model_settings(model, resampler)
    return {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "sed_version": __version__,
        "yamnet": {"sample_rate": model.params.sample_rate,
                   "hop_seconds": model.params.patch_hop_seconds,
                   "patch_window_seconds": model.params.patch_window_seconds,
                   "resampler": resampler, "weights_sha256": settings["weights_sha256"]},
        "head": {"activation": config.activation, "hidden_units": config.hidden_units,
                 "background_label": BACKGROUND_LABEL,
                 "aggregation": config.aggregation, "min_level_dbfs": config.min_level_dbfs,
                 "max_db_below_peak": config.max_db_below_peak},
    }


def _evaluation_summary(evaluation: Evaluation | None) -> dict | None:
    if evaluation is None:
        return None
    per_class = evaluation.per_class()
    return {"clips": int(len(evaluation.truth)), "clip_accuracy": round(evaluation.accuracy, 4),
            "per_class_accuracy": {row.label: (None if np.isnan(row.accuracy)
                                               else round(float(row.accuracy), 4))
                                   for row in per_class.itertuples()}}


@dataclass
class CrossValidation:
    """Grouped K-fold cross-validation of the training recipe.

    Attributes
    ----------
    fold_accuracies : list of float
        Clip accuracy on each held-out fold.
    pooled : Evaluation
        Every clip, predicted by the head that did not see it.
    seconds : float
        Total training time, in seconds.
    energy : dict
    """

    fold_accuracies: list[float]
    pooled: Evaluation
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
        return {"folds": len(self.fold_accuracies),
                "fold_clip_accuracies": [round(a, 4) for a in self.fold_accuracies],
                "mean_clip_accuracy": round(self.mean, 4), "std_clip_accuracy": round(self.std, 4),
                "pooled": _evaluation_summary(self.pooled), "seconds": round(self.seconds, 3),
                "energy": self.energy}


def cross_validate(data: TrainingData, model, k: int, *, config: TrainingConfig = TrainingConfig(),
                   cache: EmbeddingCache | None = None, resampler: str = "soxr",
                   progress: bool = False) -> CrossValidation:
    """Grouped, stratified K-fold cross-validation of :func:`train_head`'s recipe.

    Each fold is held out once; the head is trained on the other folds (with its own grouped
    validation split for early stopping, ``config.validation_fraction`` of them) and predicts the
    held-out clips. Groups never straddle folds.

    Returns
    -------
    result : CrossValidation
    """
    windows = training_windows(data, model, config, cache=cache, resampler=resampler,
                               progress=progress)
    folds = grouped_folds(data, k, seed=config.seed)
    accuracies, pooled, seconds = [], None, 0.0
    with measure_energy() as energy:
        for test in folds:
            rest = np.setdiff1d(np.arange(len(data.clips)), test)
            inner = TrainingData(data.clips.iloc[rest].reset_index(drop=True), data.classes,
                                 data.source)
            train, validation = validation_split(inner, config.validation_fraction,
                                                 seed=config.seed)
            started = time.perf_counter()
            network, _ = fit_network(windows, rest[train], rest[validation], data, config)
            seconds += time.perf_counter() - started
            head = Head(network, output_labels(data, config.activation),
                        {"head": {"activation": config.activation}})
            evaluation = evaluate(head, windows, np.sort(test), data, config.aggregation)
            accuracies.append(evaluation.accuracy)
            pooled = evaluation if pooled is None else pooled + evaluation
    return CrossValidation(accuracies, pooled, seconds, energy)


# --------------------------------------------------------------------------------------------
# Energy and reports
# --------------------------------------------------------------------------------------------

@contextlib.contextmanager
def measure_energy():
    """Measure the energy of the enclosed block with codecarbon's offline tracker, if installed.

    Yields
    ------
    energy : dict
        Filled on exit: ``kwh`` (float, or None when not measured) and ``method`` (how it was
        obtained, or why not). codecarbon is optional (``pip install codecarbon``); without
        hardware counters (Intel RAPL, NVML) it estimates CPU power from its thermal design power.
    """
    energy: dict = {"kwh": None, "method": "not measured: codecarbon is not installed"}
    try:
        from codecarbon import OfflineEmissionsTracker
    except ImportError:
        yield energy
        return
    import logging

    # codecarbon logs its start-up at INFO before its log_level applies: quiet it first.
    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    tracker = OfflineEmissionsTracker(country_iso_code="FRA", save_to_file=False,
                                      log_level="error", measure_power_secs=1)
    tracker.start()
    try:
        yield energy
    finally:
        tracker.stop()
        data = tracker.final_emissions_data
        energy["kwh"] = float(data.energy_consumed) if data is not None else None
        energy["method"] = ("codecarbon offline tracker: RAPL counters where readable, else an "
                            "estimate from the CPU's rated power")


def write_report(directory: str | os.PathLike, evaluation: Evaluation, *, prefix: str = "",
                 title: str = "") -> list[str]:
    """Write ``<prefix>confusion_matrix.csv``/``.png`` and ``<prefix>per_class.csv``.

    Returns
    -------
    paths : list of str
        The files written (atomically).
    """
    directory = os.fspath(directory)
    paths = [os.path.join(directory, f"{prefix}{name}")
             for name in ("confusion_matrix.csv", "confusion_matrix.png", "per_class.csv")]
    with atomic_open(paths[0], "w", newline="", encoding="utf-8") as handle:
        evaluation.confusion().to_csv(handle)
    plot_confusion(evaluation, paths[1], title=title)
    with atomic_open(paths[2], "w", newline="", encoding="utf-8") as handle:
        evaluation.per_class().to_csv(handle, index=False, float_format="%.4f")
    return paths


def plot_confusion(evaluation: Evaluation, path: str | os.PathLike, *, title: str = "") -> None:
    """Draw the confusion matrix (counts, rows = true label) as a PNG, atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = evaluation.confusion()
    n = len(matrix)
    size = max(4.0, 0.32 * n + 2.5)
    figure, axes = plt.subplots(figsize=(size, size * 0.9), dpi=100)
    image = axes.imshow(matrix.to_numpy(), cmap="Blues")
    axes.set_xticks(range(n), matrix.columns, rotation=90, fontsize=8 if n > 20 else 10)
    axes.set_yticks(range(n), matrix.index, fontsize=8 if n > 20 else 10)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    if n <= 20:
        peak = matrix.to_numpy().max() or 1
        for (i, j), value in np.ndenumerate(matrix.to_numpy()):
            if value:
                axes.text(j, i, str(value), ha="center", va="center", fontsize=8,
                          color="white" if value > peak / 2 else "black")
    axes.set_title(title or f"clip accuracy {evaluation.accuracy:.3f} ({len(evaluation.truth)} clips)",
                   fontsize=10)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")
    plt.close(figure)


def train_and_report(data: TrainingData, model, directory: str | os.PathLike, *,
                     config: TrainingConfig = TrainingConfig(), folds: int | None = None,
                     cache: EmbeddingCache | None = None, resampler: str = "soxr",
                     progress: bool = False) -> dict:
    """Train a head, optionally cross-validate the recipe, and write everything to ``directory``.

    Writes the head (:meth:`sed.heads.Head.save`), the validation report (``confusion_matrix.csv``,
    ``confusion_matrix.png``, ``per_class.csv``) and, with ``folds``, the cross-validation report
    (``cv_confusion_matrix.csv``/``.png``, ``cv_per_class.csv``); ``head.json`` then holds a
    ``cross_validation`` entry.

    Returns
    -------
    report : dict
        ``directory``, ``data`` (summary), ``training`` and ``validation`` (as in ``head.json``),
        ``cross_validation`` (or None), ``files`` written.
    """
    directory = os.fspath(directory)
    result = train_head(data, model, config=config, cache=cache, resampler=resampler,
                        progress=progress)
    files = []
    crossed = None
    if folds:
        crossed = cross_validate(data, model, folds, config=config, cache=cache,
                                 resampler=resampler)
        result.head.metadata["cross_validation"] = crossed.summary()
    result.head.save(directory)
    files += [os.path.join(directory, name) for name in ("model.keras", "labels.txt", "head.json")]
    if result.validation is not None:
        files += write_report(directory, result.validation,
                              title=f"validation: clip accuracy {result.validation.accuracy:.3f} "
                                    f"({len(result.validation.truth)} clips)")
    if crossed is not None:
        files += write_report(directory, crossed.pooled, prefix="cv_",
                              title=f"{folds}-fold cross-validation: clip accuracy "
                                    f"{crossed.mean:.3f} ± {crossed.std:.3f}")
    metadata = result.head.metadata
    return {"directory": directory, "data": metadata["training"]["data"],
            "training": metadata["training"], "validation": metadata["validation"],
            "cross_validation": metadata.get("cross_validation"), "files": files}


def report_lines(report: dict) -> list[str]:
    """The human summary of :func:`train_and_report`'s report."""
    data, training = report["data"], report["training"]
    background = data["per_label"].get(BACKGROUND_LABEL)
    classes = [label for label in data["per_label"] if label != BACKGROUND_LABEL]
    lines = [f"data: {data['clips']} clips in {data['groups']} groups, {len(classes)} classes"
             + (f" + background ({background['clips']} recordings)" if background else "")]
    lines.append(f"windows: {training['windows']} ({training['windows_dropped_as_silent']} of "
                 "digital silence or quiet gaps left out)")
    energy = training["energy"]
    energy_text = (f"{energy['kwh'] * 1000:.3f} Wh ({energy['method']})" if energy["kwh"] is not None
                   else f"energy {energy['method']}")
    lines.append(f"training: {training['seconds']:.1f} s, {training['epochs']} epochs (best "
                 f"{training['best_epoch']}), {energy_text}")
    validation = report["validation"]
    if validation:
        lines.append(f"validation ({validation['clips']} clips): clip accuracy "
                     f"{validation['clip_accuracy']:.3f}")
        width = max(map(len, validation["per_class_accuracy"]))
        for label, accuracy in validation["per_class_accuracy"].items():
            lines.append(f"  {label:<{width}}  " + ("no clip" if accuracy is None
                                                     else f"{accuracy:.3f}"))
    crossed = report["cross_validation"]
    if crossed:
        folds = ", ".join(f"{a:.3f}" for a in crossed["fold_clip_accuracies"])
        lines.append(f"{crossed['folds']}-fold cross-validation: clip accuracy "
                     f"{crossed['mean_clip_accuracy']:.3f} ± {crossed['std_clip_accuracy']:.3f} "
                     f"(folds: {folds}; {crossed['seconds']:.1f} s)")
    lines.append(f"head written to {report['directory']}: "
                 + ", ".join(os.path.basename(f) for f in report["files"]))
    return lines
