"""How a head is trained: :class:`TrainingConfig` and the defaults of ``sed train``.

Kept apart from the training code (which imports pandas and, when it runs, TensorFlow) so that the
command line reads its defaults from here without importing either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sed.errors import ParameterError
from sed.model.network import check_layers

#: Output activations of a head (see :func:`sed.heads.head.build_head_network`).
ACTIVATIONS = ("softmax", "sigmoid")
#: How window scores make a clip's scores (see :func:`sed.heads.clips.aggregate`).
AGGREGATIONS = ("mean", "max", "log-mean")
# Mixtures per event clip when background recordings are given: office segment F1 rose from 0.40
# to 0.55 with 5 (benchmarks/office_sed.py, seed 0); 10 did no better.
DEFAULT_MIXTURES = 5
#: Column names a CSV data set is read with by default (see :func:`sed.heads.datasets.csv_dataset`).
DEFAULT_LABEL_COLUMN = "label"
DEFAULT_FILENAME_COLUMN = "filename"
#: ``sed train``'s defaults for an excerpt table (:mod:`sed.heads.excerpts`), where they differ
#: from a clip data set's (:class:`TrainingConfig`). A review gives some 20 excerpts: a
#: validation split holds out 4, early stopping on them can stop after one epoch, and the head is
#: under-trained. Measured with ``benchmarks/search.py --loop`` (6 classes of sed_dev/office, 20
#: verdicts a round): every excerpt trained on for 20 epochs gives a better first round for 5
#: classes of 6 (MAP cough 0.19 -> 0.49, speech 0.23 -> 0.47); 50 epochs are no better.
#: No mixtures: ``wrong`` excerpts are negatives, not background recordings to mix events over.
EXCERPT_TRAINING: dict[str, Any] = {"validation_fraction": 0.0, "max_epochs": 20, "mixtures": 0}


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
        (:mod:`sed.heads.mixing`), added to the training windows; 0 for none; None (default) for
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
            raise ParameterError(
                f"unknown activation {self.activation!r}; choose {' or '.join(ACTIVATIONS)}"
            )
        if self.aggregation not in AGGREGATIONS:
            raise ParameterError(
                f"unknown aggregation {self.aggregation!r}; choose one of {', '.join(AGGREGATIONS)}"
            )
        if self.mixtures is not None and not (
            isinstance(self.mixtures, (int, np.integer)) and self.mixtures >= 0
        ):
            raise ParameterError(f"mixtures must be an integer >= 0, got {self.mixtures!r}")
        for name in ("hidden_units", "batch_size", "max_epochs", "patience"):
            value = getattr(self, name)
            if not (isinstance(value, (int, np.integer)) and value >= 1):
                raise ParameterError(
                    f"{name.replace('_', ' ')} must be an integer >= 1, got {value!r}"
                )
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ParameterError(f"learning rate must be > 0, got {self.learning_rate!r}")
        if self.max_db_below_peak is not None and not self.max_db_below_peak >= 0:
            raise ParameterError(f"dB below peak must be >= 0, got {self.max_db_below_peak!r}")
        if not 0 <= self.validation_fraction <= 0.5:
            raise ParameterError(
                f"validation fraction must be in [0, 0.5], got {self.validation_fraction!r}"
            )


#: Frames of YAMNet's layers a frame head reads by default (80/160/320 ms strides).
DEFAULT_FRAME_LAYERS = (6, 12, 14)


@dataclass(frozen=True)
class FrameTrainingConfig:
    """How a frame-level head is trained (:func:`sed.heads.frame_training.train_frame_head`).

    Attributes
    ----------
    layers : tuple of int in 1..14
        YAMNet layers whose frequency-averaged feature maps the head reads
        (:mod:`sed.model.feature_maps`); the finest sets the frame hop (layer 6: 80 ms).
    log_mel : bool
        Also read each frame's mean log-mel spectrogram.
    projection : int >= 0
        Units of a dense layer that first projects each frame's features (0 for none: the
        convolutions read the features themselves).
    conv_filters, conv_layers, gru_units : int >= 1
        Size of the CRNN (:func:`sed.heads.frame_head.build_frame_network`).
    dropout : float in [0, 1)
    learning_rate : float > 0
        Adam's.
    batch_size : int >= 1
        Sequences per gradient step.
    max_epochs, patience : int >= 1
        Early stopping on the validation loss; the best epoch's weights are kept.
    validation_fraction : float in [0, 0.5]
        Share of clip groups (and annotated recordings) held out for early stopping and the
        validation figures; 0 trains for ``max_epochs``.
    unheard_backgrounds : bool
        Hold out that share of the background recordings whole, unheard in training, for the
        unheard validation soundscapes (:mod:`sed.heads.strong`); False validates over the
        last part of every background recording only (heard), as before unheard validation
        existed (a benchmark whose test rooms must all be heard in training).
    sequence_seconds : float > 0
        Length of the training sequences and of the synthetic soundscapes (10 s, as DCASE).
    soundscapes : int >= 0
        Training soundscapes synthesised from event clips (:mod:`sed.heads.soundscapes`).
    events_per_soundscape : (int, int)
        Fewest and most events in one soundscape.
    ebr_db : (float, float)
        Range of the events' event-to-background ratios, in dB.
    gain_db : (float, float)
        Range of a gain applied to each whole soundscape, in dB.
    filter_db : float >= 0
        Random shelving filters on events and backgrounds, up to this gain in dB
        (:class:`sed.heads.soundscapes.SoundscapeConfig`); 0 for none.
    reverb : float in [0, 1]
        Probability that an event is reverberated by a synthetic room; 0 for none.
    time_masks, channel_masks : float in [0, 1)
        SpecAugment-style masking of the training features: the share of frames (in runs of
        up to 10) and of feature channels set to their mean in each sequence; 0 for none.
    mixup : float in [0, 1]
        Probability that a training sequence is mixed with another (features averaged with a
        Beta(0.2, 0.2) weight, targets the union); 0 for none.
    class_weights : bool
        Weigh each class's active frames so that rare classes count more (the square root of
        the ratio of the mean class frequency to the class's, capped to [0.2, 5]).
    seed : int
        Seeds the split, the soundscapes, the initial weights, the shuffling and the masks.
    """

    layers: tuple[int, ...] = DEFAULT_FRAME_LAYERS
    log_mel: bool = False
    projection: int = 0
    conv_filters: int = 128
    conv_layers: int = 2
    gru_units: int = 64
    dropout: float = 0.2
    learning_rate: float = 1e-3
    batch_size: int = 32
    max_epochs: int = 100
    patience: int = 8
    validation_fraction: float = 0.2
    unheard_backgrounds: bool = True
    sequence_seconds: float = 10.0
    soundscapes: int = 600
    events_per_soundscape: tuple[int, int] = (1, 4)
    ebr_db: tuple[float, float] = (-9.0, 9.0)
    gain_db: tuple[float, float] = (-12.0, 0.0)
    filter_db: float = 0.0
    reverb: float = 0.0
    time_masks: float = 0.0
    channel_masks: float = 0.0
    mixup: float = 0.0
    class_weights: bool = True
    seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "layers", check_layers(self.layers))
        for name in (
            "conv_filters",
            "conv_layers",
            "gru_units",
            "batch_size",
            "max_epochs",
            "patience",
        ):
            value = getattr(self, name)
            if not (isinstance(value, (int, np.integer)) and value >= 1):
                raise ParameterError(
                    f"{name.replace('_', ' ')} must be an integer >= 1, got {value!r}"
                )
        if not (isinstance(self.projection, (int, np.integer)) and self.projection >= 0):
            raise ParameterError(f"projection must be an integer >= 0, got {self.projection!r}")
        if not (isinstance(self.soundscapes, (int, np.integer)) and self.soundscapes >= 0):
            raise ParameterError(f"soundscapes must be an integer >= 0, got {self.soundscapes!r}")
        for name, low, high in (
            ("dropout", 0.0, 0.99),
            ("time_masks", 0.0, 0.99),
            ("channel_masks", 0.0, 0.99),
            ("mixup", 0.0, 1.0),
            ("reverb", 0.0, 1.0),
            ("filter_db", 0.0, 40.0),
            ("validation_fraction", 0.0, 0.5),
        ):
            value = getattr(self, name)
            if not low <= value <= high:
                raise ParameterError(
                    f"{name.replace('_', ' ')} must be in [{low:g}, {high:g}], got {value!r}"
                )
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ParameterError(f"learning rate must be > 0, got {self.learning_rate!r}")
        if not (math.isfinite(self.sequence_seconds) and self.sequence_seconds > 0):
            raise ParameterError(
                f"sequence length must be > 0 seconds, got {self.sequence_seconds!r}"
            )
