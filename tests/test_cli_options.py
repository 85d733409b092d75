"""Every default and every choice of the command line is the library's (one place to change it)."""

from __future__ import annotations

import click
import pytest

from sed import (
    annotations,
    audio,
    batch,
    evaluation,
    events,
    listen,
    pipeline,
    plotting,
    review,
    tuning,
)
from sed import search as search_module
from sed.cli import cli
from sed.heads import config as heads_config
from sed.model import backends
from sed.params import DEFAULT_BATCH_SIZE, DEFAULT_HOP_SECONDS, YamnetParams
from sed.postprocessing import BOUNDARIES, MODES, PostProcessing

POSTPROCESSING = PostProcessing()
TRAINING = heads_config.TrainingConfig()
FRAME_TRAINING = heads_config.FrameTrainingConfig()
EVALUATION = {
    "time_resolution": evaluation.DEFAULT_TIME_RESOLUTION,
    "t_collar": evaluation.DEFAULT_T_COLLAR,
    "percentage_of_length": evaluation.DEFAULT_PERCENTAGE_OF_LENGTH,
}
MODEL = {
    "hop_seconds": DEFAULT_HOP_SECONDS,
    "resampler": audio.DEFAULT_RESAMPLER,
    "backend": backends.DEFAULT_BACKEND,
}

#: (command, option) -> the library's default. Options not listed must default to nothing.
LIBRARY_DEFAULTS = {
    **{("detect", k): v for k, v in MODEL.items()},
    ("detect", "batch_size"): DEFAULT_BATCH_SIZE,
    ("detect", "formats"): [events.DEFAULT_FORMAT],
    ("detect", "mode"): POSTPROCESSING.mode,
    ("detect", "threshold_on"): POSTPROCESSING.threshold_on,
    ("detect", "boundaries"): POSTPROCESSING.boundaries,
    ("detect", "median_filter_seconds"): POSTPROCESSING.median_filter_seconds,
    ("detect", "min_duration_seconds"): POSTPROCESSING.min_duration_seconds,
    ("detect", "min_gap_seconds"): POSTPROCESSING.min_gap_seconds,
    ("detect", "jobs"): batch.DEFAULT_JOBS,
    **{("listen", k): v for k, v in MODEL.items()},
    ("listen", "batch_size"): DEFAULT_BATCH_SIZE,
    ("listen", "formats"): [events.DEFAULT_FORMAT],
    ("listen", "mode"): POSTPROCESSING.mode,
    ("listen", "threshold_on"): POSTPROCESSING.threshold_on,
    ("listen", "boundaries"): POSTPROCESSING.boundaries,
    ("listen", "median_filter_seconds"): POSTPROCESSING.median_filter_seconds,
    ("listen", "min_duration_seconds"): POSTPROCESSING.min_duration_seconds,
    ("listen", "min_gap_seconds"): POSTPROCESSING.min_gap_seconds,
    ("listen", "sample_format"): listen.DEFAULT_SAMPLE_FORMAT,
    ("listen", "channels"): listen.DEFAULT_CHANNELS,
    ("listen", "top_k"): pipeline.DEFAULT_TOP_K,
    **{("tag", k): v for k, v in MODEL.items()},
    ("tag", "batch_size"): DEFAULT_BATCH_SIZE,
    ("tag", "k"): pipeline.DEFAULT_TOP_K,
    ("tag", "output_format"): pipeline.DEFAULT_TAG_FORMAT,
    **{("plot", k): v for k, v in MODEL.items()},
    ("plot", "batch_size"): DEFAULT_BATCH_SIZE,
    ("plot", "top_n"): plotting.DEFAULT_TOP_N,
    ("plot", "fmin_hz"): YamnetParams().mel_min_hz,
    ("plot", "fmax_hz"): YamnetParams().mel_max_hz,
    **{("evaluate", k): v for k, v in EVALUATION.items()},
    ("evaluate", "labels"): annotations.DEFAULT_LABELS,
    ("evaluate", "event_matching"): evaluation.DEFAULT_EVENT_MATCHING,
    ("evaluate", "empty_system_output"): evaluation.DEFAULT_EMPTY_SYSTEM_OUTPUT,
    **{("tune", k): v for k, v in {**MODEL, **EVALUATION}.items()},
    ("tune", "batch_size"): DEFAULT_BATCH_SIZE,
    ("tune", "metric"): tuning.DEFAULT_METRIC,
    ("tune", "mode"): POSTPROCESSING.mode,
    ("tune", "class_threshold_gain"): tuning.DEFAULT_CLASS_THRESHOLD_GAIN,
    ("tune", "shrinkage"): tuning.DEFAULT_SHRINKAGE_EVENTS,
    **{("embed", k): v for k, v in MODEL.items()},
    **{("train", k): v for k, v in MODEL.items()},
    ("train", "label_column"): heads_config.DEFAULT_LABEL_COLUMN,
    ("train", "filename_column"): heads_config.DEFAULT_FILENAME_COLUMN,
    ("train", "activation"): TRAINING.activation,
    ("train", "mixtures"): TRAINING.mixtures,
    ("train", "seed"): TRAINING.seed,
    ("train", "epochs"): TRAINING.max_epochs,
    ("train", "patience"): TRAINING.patience,
    ("train", "validation_fraction"): TRAINING.validation_fraction,
    ("train", "soundscapes"): FRAME_TRAINING.soundscapes,
    ("train", "mixup"): FRAME_TRAINING.mixup,
    ("train", "layers"): ",".join(map(str, heads_config.DEFAULT_FRAME_LAYERS)),
    ("review", "seed"): review.DEFAULT_SEED,
    ("review", "audio_format"): review.DEFAULT_AUDIO_FORMAT,
    ("review", "resampler"): audio.DEFAULT_RESAMPLER,
    **{("index", k): v for k, v in MODEL.items()},
    ("index", "jobs"): batch.DEFAULT_JOBS,
    ("search", "k"): search_module.DEFAULT_K,
    ("search", "min_gap_seconds"): search_module.DEFAULT_MIN_GAP_SECONDS,
    ("search", "pooling"): search_module.DEFAULT_POOLING,
    ("search", "centre"): search_module.DEFAULT_CENTRE,
    ("search", "scoring"): search_module.DEFAULT_SCORING,
    ("search", "expand"): search_module.DEFAULT_EXPAND,
    ("search", "backend"): backends.DEFAULT_BACKEND,
}

#: option -> the library's choices.
LIBRARY_CHOICES = {
    "resampler": audio.RESAMPLERS,
    "backend": backends.BACKENDS,
    "formats": events.FORMATS,
    "mode": MODES,
    "boundaries": BOUNDARIES,
    "metric": evaluation.METRICS,
    "event_matching": evaluation.EVENT_MATCHINGS,
    "output_format": pipeline.TAG_FORMATS,
    "empty_system_output": evaluation.EMPTY_SYSTEM_OUTPUTS,
    "activation": heads_config.ACTIVATIONS,
    "audio_format": tuple(review.AUDIO_FORMATS),
    "sample_format": listen.SAMPLE_FORMATS,
    "pooling": search_module.POOLINGS,
    "centre": search_module.CENTRES,
    "scoring": search_module.SCORINGS,
}


def options():
    for command_name, command in sorted(cli.commands.items()):
        for parameter in command.params:
            if isinstance(parameter, click.Option):
                yield command_name, parameter


@pytest.mark.parametrize(
    "command_name,option", list(options()), ids=lambda value: getattr(value, "name", value)
)
def test_every_default_is_the_librarys(command_name, option):
    default = option.default
    if (
        option.is_flag
        or not isinstance(default, (int, float, str, list, tuple))
        or isinstance(default, bool)
    ):
        default = None  # flags and options without a default value
    expected = LIBRARY_DEFAULTS.get((command_name, option.name))
    if isinstance(default, tuple):
        default = list(default)
    assert default == expected, f"sed {command_name} --{option.name}"


@pytest.mark.parametrize(
    "command_name,option",
    [(c, o) for c, o in options() if isinstance(o.type, click.Choice)],
    ids=lambda value: getattr(value, "name", value),
)
def test_every_choice_is_the_librarys(command_name, option):
    assert tuple(option.type.choices) == tuple(LIBRARY_CHOICES[option.name])


@pytest.mark.parametrize("command_name", ["detect", "index"])
def test_the_scheduler_variable_is_the_librarys(command_name):
    option = next(o for o in cli.commands[command_name].params if o.name == "scheduler")
    assert option.envvar == batch.SCHEDULER_ENV
