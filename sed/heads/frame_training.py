"""Training a frame-level head on strong labels (:mod:`sed.heads.strong`).

The recipe: the feature frames of every training soundscape and annotated recording (cached,
:mod:`sed.heads.frame_features`) are cut into 10 s sequences with frame targets; the CRNN of
:func:`sed.heads.frame_head.build_frame_network` is trained on them with Adam and a binary
cross-entropy per frame and class (frames of a short recording's padding left out), with early
stopping on the validation sequences' loss (the best epoch's weights are kept). Optional, each
measured on ``sed_dev/office`` (``docs/frame-heads.md``): SpecAugment-style time and channel
masks and mixup of the training sequences, and per-class weights of active frames.

Results are deterministic for a given ``seed`` (splits, soundscapes, initial weights, shuffling,
masks; TensorFlow's op determinism is switched on).
"""

from __future__ import annotations

import datetime
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from sed.audio import DEFAULT_RESAMPLER
from sed.heads.config import FrameTrainingConfig
from sed.heads.embeddings import model_settings
from sed.heads.energy import measure_energy
from sed.heads.frame_features import FeatureCache
from sed.heads.frame_head import FRAME_KIND, FrameHead, build_frame_network
from sed.heads.soundscapes import SoundscapeConfig
from sed.heads.strong import (
    IGNORED,
    Sequences,
    SequenceSettings,
    StrongData,
    TrainingSplit,
    training_split,
)
from sed.model.feature_maps import FeatureSpec
from sed.model.runtime import import_tensorflow
from sed.postprocessing import runs

if TYPE_CHECKING:
    from sed.classes import ClassSelection
    from sed.model import Yamnet

#: Frames of context at each end of a scored sequence, as a share of its length (a 10 s
#: sequence keeps its centre 6 s, :class:`sed.segmenter.SequenceStream`).
CONTEXT_SHARE = 0.2
#: Most frames one time mask covers.
TIME_MASK_RUN = 10
#: The figures of the validation report, per condition (sed_eval's, :meth:`Evaluation.summary`).
REPORTED = ("segment_f1", "event_f1")


def feature_spec(config: FrameTrainingConfig) -> FeatureSpec:
    """The features a head trained with ``config`` reads."""
    return FeatureSpec(config.layers, config.log_mel)


def sequence_settings(config: FrameTrainingConfig) -> SequenceSettings:
    """The parts of ``config`` that make the training sequences."""
    return SequenceSettings(
        feature_spec(config),
        config.sequence_seconds,
        config.soundscapes,
        SoundscapeConfig(
            config.sequence_seconds,
            config.events_per_soundscape,
            config.ebr_db,
            config.gain_db,
            config.filter_db,
            config.reverb,
        ),
        config.validation_fraction,
        config.seed,
        config.unheard_backgrounds,
    )


def class_weights(targets: np.ndarray, enabled: bool = True) -> np.ndarray:
    """Weight of each class's active frames in the loss (see
    :class:`sed.heads.config.FrameTrainingConfig`).

    Parameters
    ----------
    targets : np.ndarray [shape=(..., n_classes)]
        1 active, 0 not, :data:`sed.heads.strong.IGNORED` left out.
    enabled : bool
        False gives ones.

    Returns
    -------
    weights : np.ndarray [shape=(n_classes,), dtype=float32]
    """
    n_classes = targets.shape[-1]
    if not enabled:
        return np.ones(n_classes, np.float32)
    active = (targets.reshape(-1, n_classes) == 1).sum(axis=0).astype(np.float64)
    present = active > 0
    weights = np.ones(n_classes)
    if present.any():
        weights[present] = np.sqrt(active[present].mean() / active[present])
    return np.clip(weights, 0.2, 5.0).astype(np.float32)


def _masked_loss(weights: np.ndarray):
    """Binary cross-entropy per frame and class, active frames weighted per class, frames with
    :data:`IGNORED` targets left out; the mean over the others of each sequence."""
    from keras import ops

    positive = ops.convert_to_tensor(weights.reshape(1, 1, -1))

    def loss(y_true, y_pred):
        valid = ops.cast(ops.greater_equal(y_true, 0.0), "float32")
        target = ops.clip(y_true, 0.0, 1.0)
        p = ops.clip(y_pred, 1e-7, 1.0 - 1e-7)
        each = -(positive * target * ops.log(p) + (1.0 - target) * ops.log(1.0 - p))
        return ops.sum(each * valid, axis=(1, 2)) / ops.maximum(ops.sum(valid, axis=(1, 2)), 1.0)

    return loss


class _Batches:
    """Training batches of sequences, reshuffled every epoch, with the augmentations of the
    configuration (wrapped in a ``keras.utils.PyDataset`` by :func:`_dataset`)."""

    def __init__(self, sequences: Sequences, config: FrameTrainingConfig, mean: np.ndarray):
        self.sequences, self.config, self.mean = sequences, config, mean.astype(np.float32)
        self.rng = np.random.default_rng(config.seed + 1)
        self.order = self.rng.permutation(len(sequences))

    def __len__(self) -> int:
        return math.ceil(len(self.sequences) / self.config.batch_size)

    def batch(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rows = np.sort(
            self.order[index * self.config.batch_size : (index + 1) * self.config.batch_size]
        )
        x = self.sequences.features[rows].astype(np.float32)
        y = self.sequences.targets[rows].copy()
        config, rng = self.config, self.rng
        if config.mixup:
            partners = rng.integers(0, len(self.sequences), len(rows))
            mixed = rng.random(len(rows)) < config.mixup
            weight = rng.beta(0.2, 0.2, len(rows)).astype(np.float32)[:, None, None]
            other_x = self.sequences.features[partners].astype(np.float32)
            other_y = self.sequences.targets[partners]
            x = np.where(mixed[:, None, None], weight * x + (1 - weight) * other_x, x)
            union = np.where((y < 0) | (other_y < 0), IGNORED, np.maximum(y, other_y))
            y = np.where(mixed[:, None, None], union, y)
        if config.time_masks:
            n_frames = x.shape[1]
            for row in range(len(x)):
                left = int(round(config.time_masks * n_frames))
                while left > 0:
                    run = int(rng.integers(1, min(TIME_MASK_RUN, left) + 1))
                    start = int(rng.integers(0, max(1, n_frames - run + 1)))
                    x[row, start : start + run] = self.mean
                    left -= run
        if config.channel_masks:
            masked = rng.random((len(x), 1, x.shape[2])) < config.channel_masks
            x = np.where(masked, self.mean, x)
        return x, y

    def reshuffle(self) -> None:
        self.order = self.rng.permutation(len(self.sequences))


def _dataset(batches: _Batches):
    import keras

    class Dataset(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)

        def __len__(self):
            return len(batches)

        def __getitem__(self, index):
            return batches.batch(index)

        def on_epoch_end(self):
            batches.reshuffle()

    return Dataset()


@dataclass
class FrameFit:
    """What one training run produced, besides the network."""

    epochs: int
    best_epoch: int
    history: dict


def fit_frame_network(
    train: Sequences,
    validation: Sequences,
    n_classes: int,
    config: FrameTrainingConfig,
):
    """Train a fresh frame head network on ``train``, early-stopped on ``validation``.

    Parameters
    ----------
    train, validation : Sequences
        ``validation`` may be empty: then ``config.max_epochs`` epochs are run.
    n_classes : int
    config : FrameTrainingConfig

    Returns
    -------
    network : keras.Model
    fit : FrameFit
    """
    tf = import_tensorflow()
    import keras

    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    frames = train.features.reshape(-1, train.features.shape[-1]).astype(np.float64)
    mean, variance = frames.mean(axis=0), frames.var(axis=0) + 1e-6
    del frames
    network = build_frame_network(
        n_classes,
        train.features.shape[-1],
        mean=mean,
        variance=variance,
        conv_filters=config.conv_filters,
        conv_layers=config.conv_layers,
        gru_units=config.gru_units,
        dropout=config.dropout,
        projection=config.projection or None,
    )
    network.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss=_masked_loss(class_weights(train.targets, config.class_weights)),
    )
    callbacks, validation_data = [], None
    if len(validation):
        validation_data = (validation.features.astype(np.float32), validation.targets)
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=config.patience, restore_best_weights=True
            )
        )
    history = network.fit(
        _dataset(_Batches(train, config, mean)),
        epochs=config.max_epochs,
        validation_data=validation_data,
        validation_batch_size=config.batch_size,
        callbacks=callbacks,
        verbose=0,
    ).history
    epochs = len(history["loss"])
    best = int(np.argmin(history["val_loss"])) + 1 if validation_data else epochs
    return network, FrameFit(epochs, best, {k: [float(v) for v in vs] for k, vs in history.items()})


def frame_f1(scores: np.ndarray, targets: np.ndarray, labels, threshold: float = 0.5) -> dict:
    """Frame-level F1 (micro over classes, and per class) of scores against targets.

    Parameters
    ----------
    scores, targets : np.ndarray [shape=(..., n_classes)]
        Frames with :data:`IGNORED` targets are left out.
    labels : sequence of str
    threshold : float

    Returns
    -------
    figures : dict
        ``frame_f1`` (micro), ``per_class_frame_f1`` (None for a class with no active frame on
        either side), ``threshold``, ``frames``.
    """
    n = len(labels)
    scores, targets = scores.reshape(-1, n), targets.reshape(-1, n)
    valid = (targets >= 0).all(axis=1)
    predicted, truth = scores[valid] >= threshold, targets[valid] == 1
    tp = (predicted & truth).sum(axis=0)
    fp = (predicted & ~truth).sum(axis=0)
    fn = (~predicted & truth).sum(axis=0)

    def f1(tp, fp, fn):
        return None if tp + fp + fn == 0 else round(float(2 * tp / (2 * tp + fp + fn)), 4)

    return {
        "frame_f1": f1(tp.sum(), fp.sum(), fn.sum()),
        "per_class_frame_f1": {label: f1(tp[k], fp[k], fn[k]) for k, label in enumerate(labels)},
        "threshold": threshold,
        "frames": int(valid.sum()),
    }


@dataclass
class FrameTrainingResult:
    """A trained frame head and its report.

    Attributes
    ----------
    head : FrameHead
    validation : dict or None
        :func:`frame_f1` on the validation sequences (None without validation).
    seconds : float
        Wall-clock time of the fit (features excluded: they are cached), in seconds.
    energy : dict
        ``{"kwh": float or None, "method": str}``.
    """

    head: FrameHead
    validation: dict | None
    seconds: float
    energy: dict = field(default_factory=dict)


def train_frame_head(
    data: StrongData,
    model: Yamnet,
    *,
    config: FrameTrainingConfig = FrameTrainingConfig(),
    cache: FeatureCache | None = None,
    resampler: str = DEFAULT_RESAMPLER,
    progress: bool = False,
    tune: Callable | None = None,
    evaluate: Callable | None = None,
    yamnet_selection: ClassSelection | None = None,
    label_map: str = "",
) -> FrameTrainingResult:
    """Train a frame-level head on strong-label data (see the module notes).

    Parameters
    ----------
    data : StrongData
        Event clips with backgrounds, annotated recordings, or both.
    model : sed.model.Yamnet
        Computes the feature maps; its settings are recorded in the head.
    config : FrameTrainingConfig
    cache : FeatureCache, optional
    resampler : {"soxr", "resampy"}
    progress : bool
        Progress bars while computing features.
    tune : callable, optional
        :func:`sed.tuning.tune` (passed in: the heads wing does not import the tuning stage).
        When given and there is validation data, the post-processing is tuned for event-based
        F1 on the *unheard* validation sequences when there are any, else on all of them
        (:func:`validation_postprocessing`), and stored in the head as its default.
    evaluate : callable, optional
        :func:`sed.tuning.evaluate_config`: with ``tune``, the figures of the default and the
        head's own post-processing on the heard and on the unheard validation sequences apart
        (:func:`condition_figures`).
    yamnet_selection : sed.classes.ClassSelection, optional
        A label map's selection of YAMNet's classes: with ``tune`` and ``evaluate``, raw
        YAMNet is scored on the same unheard validation audio (:func:`yamnet_comparison`).
    label_map : str
        The label map's file, recorded with the comparison.

    Returns
    -------
    result : FrameTrainingResult
        ``result.head.metadata`` holds ``kind`` ("frame"), ``created``, ``sed_version``,
        ``yamnet`` (``sample_rate``, ``resampler``, ``weights_sha256``), ``features``
        (``layers``, ``log_mel``, ``hop_seconds``), ``sequence`` (``frames``,
        ``context_frames``), ``head`` (the network's sizes), ``training`` (the configuration,
        the data summary, sequences, epochs, best epoch, seconds, energy), ``validation``
        (:func:`frame_f1` on all validation sequences; with ``tune``, ``tuned_on`` ("unheard"
        or "heard"), the sed_eval figures of the default and the tuned post-processing on the
        sequences tuned on, ``conditions`` with ``evaluate`` (:func:`condition_figures`),
        ``notes`` (why validation is heard only, if it is), ``unheard_backgrounds``, and with a
        selection ``yamnet`` (:func:`yamnet_comparison`)) and, with ``tune``,
        ``postprocessing`` (the configuration, as
        :meth:`sed.postprocessing.PostProcessing.to_dict`).

    Raises
    ------
    AudioError, AnnotationError, ParameterError
        For unreadable audio, malformed annotations, or unusable data (see
        :func:`sed.heads.strong.training_split`).
    """
    settings = sequence_settings(config)
    split = training_split(
        data, model, settings, cache=cache, resampler=resampler, progress=progress
    )
    train, validation = split.train, split.validation
    with measure_energy() as energy:
        started = time.perf_counter()
        network, fit = fit_frame_network(train, validation, len(data.classes), config)
        seconds = time.perf_counter() - started
    length = train.features.shape[1]
    head = FrameHead(network, tuple(data.classes))
    head.metadata.update(_frame_head_metadata(model, resampler, settings.spec, length, config))
    figures = (
        frame_f1(head.predict_sequences(validation.features), validation.targets, data.classes)
        if len(validation)
        else None
    )
    head.metadata["training"] = {
        "config": asdict(config),
        "data": data.summary(),
        "train_sequences": len(train),
        "validation_sequences": len(validation),
        "epochs": fit.epochs,
        "best_epoch": fit.best_epoch,
        "seconds": round(seconds, 3),
        "energy": energy,
    }
    if tune is not None and figures is not None:
        unheard = validation.unheard_mask
        tuned_on = "unheard" if unheard.any() else "heard"
        tuned = validation_postprocessing(
            head, validation.subset(unheard) if unheard.any() else validation, tune
        )
        head.metadata["postprocessing"] = tuned.config.to_dict()
        figures["tuned_on"] = tuned_on
        figures["tuned_postprocessing"] = {k: round(v, 4) for k, v in tuned.after.items()}
        figures["default_postprocessing"] = {k: round(v, 4) for k, v in tuned.before.items()}
        figures["notes"] = list(split.notes)
        figures["unheard_backgrounds"] = list(split.unheard_backgrounds)
        if evaluate is not None:
            figures["conditions"] = condition_figures(head, validation, tuned.config, evaluate)
            if yamnet_selection is not None:
                figures["yamnet"] = yamnet_comparison(
                    head,
                    validation,
                    split,
                    model,
                    yamnet_selection,
                    tuned.config,
                    tune=tune,
                    evaluate=evaluate,
                    resampler=resampler,
                    label_map=label_map,
                )
    head.metadata["validation"] = figures
    return FrameTrainingResult(head, figures, seconds, energy)


def condition_figures(head: FrameHead, validation: Sequences, own, evaluate: Callable) -> dict:
    """sed_eval's figures of the validation sequences heard and unheard in training, apart.

    Parameters
    ----------
    head : FrameHead
    validation : Sequences
        Its ``unheard_mask`` splits it.
    own : sed.postprocessing.PostProcessing
        The head's own post-processing.
    evaluate : callable
        :func:`sed.tuning.evaluate_config`.

    Returns
    -------
    figures : dict
        ``{"heard": ..., "unheard": ...}``, each None without sequences of that condition, else
        ``sequences`` (count), ``frame_f1`` (threshold 0.5), and ``default_postprocessing`` and
        ``own_postprocessing``, each ``{"segment_f1", "event_f1", "segment_error_rate",
        "event_error_rate"}`` (rounded to 4 digits).
    """
    from sed.postprocessing import PostProcessing

    result: dict = {}
    for condition, mask in (
        ("heard", ~validation.unheard_mask),
        ("unheard", validation.unheard_mask),
    ):
        if not mask.any():
            result[condition] = None
            continue
        part = validation.subset(mask)
        recordings, references = validation_recordings(head, part)
        scores = np.stack([r.scores for r in recordings])
        entry: dict = {
            "sequences": len(part),
            "frame_f1": frame_f1(scores, part.targets, head.labels)["frame_f1"],
        }
        for name, config in (
            ("default_postprocessing", PostProcessing()),
            ("own_postprocessing", own),
        ):
            summary = evaluate(recordings, references, config, labels=list(head.labels)).summary()
            entry[name] = {k: round(v, 4) for k, v in summary.items()}
        result[condition] = entry
    return result


def yamnet_comparison(
    head: FrameHead,
    validation: Sequences,
    split: TrainingSplit,
    model: Yamnet,
    selection: ClassSelection,
    own,
    *,
    tune: Callable,
    evaluate: Callable,
    resampler: str = DEFAULT_RESAMPLER,
    label_map: str = "",
) -> dict | None:
    """Raw YAMNet with a label map against the head, on the same unheard validation data.

    Raw YAMNet (:class:`sed.segmenter.YamnetScorer` with ``selection``) scores the unheard
    validation soundscapes and held-out annotated recordings as audio; its post-processing is
    tuned for event-based F1 on them, as the head's own was on its unheard sequences, so
    neither side has an advantage the other lacks. Only the labels that both the head and the
    label map have are scored, on both sides.

    Returns
    -------
    comparison : dict or None
        None without unheard validation data. Else ``label_map``, ``labels`` (those compared),
        ``recordings`` (audio items scored), ``default_postprocessing`` and
        ``tuned_postprocessing`` (raw YAMNet's figures), ``head`` (the head's figures with its own
        post-processing on its unheard sequences, those labels only), and ``head_worse_on``
        (the figures of :data:`REPORTED` where the head scores below raw YAMNet tuned) with
        ``head_worse_than_yamnet`` (whether that list is not empty).

    Raises
    ------
    ParameterError
        If the label map shares no label with the head.
    """
    from sed.errors import ParameterError
    from sed.postprocessing import PostProcessing
    from sed.segmenter import YamnetScorer, score_file, score_waveform

    unheard = validation.unheard_mask
    if not unheard.any() or not split.unheard_audio:
        return None
    labels = [label for label in head.labels if label in selection.event_labels]
    if not labels:
        raise ParameterError(
            "the label map names none of the head's classes (" + ", ".join(head.labels[:12]) + ")",
            label_map or None,
        )
    scorer = YamnetScorer(selection)
    grids, references = [], {}
    for item in split.unheard_audio:
        grid = (
            score_file(item.audio, model, scorer, resampler=resampler)
            if isinstance(item.audio, str)
            else score_waveform(item.audio, model, scorer, filename=item.name)
        )
        grids.append(replace(grid, filename=item.name))
        references[item.name] = item.events
    # Tuned as the head's own post-processing was (validation_postprocessing).
    tuned = tune(grids, references, metric="event_f1", rounds=2)
    yamnet_tuned = evaluate(grids, references, tuned.config, labels=labels).summary()
    yamnet_default = evaluate(grids, references, PostProcessing(), labels=labels).summary()
    recordings, head_references = validation_recordings(head, validation.subset(unheard))
    head_own = evaluate(recordings, head_references, own, labels=labels).summary()
    worse = [name for name in REPORTED if head_own[name] < yamnet_tuned[name]]
    return {
        "label_map": label_map,
        "labels": labels,
        "recordings": len(grids),
        "default_postprocessing": {k: round(v, 4) for k, v in yamnet_default.items()},
        "tuned_postprocessing": {k: round(v, 4) for k, v in yamnet_tuned.items()},
        "head": {k: round(v, 4) for k, v in head_own.items()},
        "head_worse_on": worse,
        "head_worse_than_yamnet": bool(worse),
    }


def validation_postprocessing(head: FrameHead, validation: Sequences, tune: Callable):
    """The post-processing that maximises event-based F1 on the validation sequences
    (:func:`validation_recordings`); ``tune`` is :func:`sed.tuning.tune` (2 rounds).

    Returns
    -------
    result : sed.tuning.TuningResult
    """
    recordings, references = validation_recordings(head, validation)
    return tune(recordings, references, metric="event_f1", rounds=2)


def validation_recordings(head: FrameHead, validation: Sequences) -> tuple[list, dict]:
    """The validation sequences as scored recordings with their references.

    Each validation sequence is scored as a 10 s recording; its references are the runs of
    active frames of its targets, per label (frame-accurate: the soundscapes' events, or the
    annotated events, on the frame grid).

    Returns
    -------
    recordings : list of sed.scores.ScoreGrid
        One per sequence, named ``validation sequence <number>``.
    references : dict of str to pd.DataFrame
        ``onset, offset, event_label`` of each, by name.
    """
    import pandas as pd

    from sed.scores import ScoreGrid
    from sed.segmenter import frame_times

    scores = head.predict_sequences(validation.features)
    hop = head.hop_seconds
    starts, ends = frame_times(scores.shape[1], hop)
    recordings, references = [], {}
    for number, (sequence, targets) in enumerate(zip(scores, validation.targets)):
        name = f"validation sequence {number}"
        recordings.append(
            ScoreGrid(
                name,
                starts,
                ends,
                sequence,
                head.labels,
                len(starts) * hop,
                hop=hop,
                frames_tile=True,
            )
        )
        rows = [
            (first * hop, (last + 1) * hop, label)
            for k, label in enumerate(head.labels)
            for first, last in runs(targets[:, k] == 1)
        ]
        references[name] = pd.DataFrame(rows, columns=["onset", "offset", "event_label"])
    return recordings, references


def _frame_head_metadata(
    model: Yamnet, resampler: str, spec: FeatureSpec, length: int, config: FrameTrainingConfig
) -> dict:
    from sed import __version__

    return {
        "kind": FRAME_KIND,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "sed_version": __version__,
        "yamnet": {
            "sample_rate": model.params.sample_rate,
            "resampler": resampler,
            "weights_sha256": model_settings(model, resampler)["weights_sha256"],
        },
        "features": {**spec.to_dict(), "hop_seconds": spec.hop_seconds(model.params)},
        "sequence": {
            "frames": length,
            "context_frames": min((length - 1) // 2, int(round(CONTEXT_SHARE * length))),
        },
        "head": {
            "projection": config.projection,
            "conv_filters": config.conv_filters,
            "conv_layers": config.conv_layers,
            "gru_units": config.gru_units,
            "dropout": config.dropout,
        },
    }
