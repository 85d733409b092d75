"""What the commands share: error reporting, and the options of the model, the classes, the
post-processing and the evaluation, with their choices and defaults taken from the library.

A default or a choice is never written here as a literal: each comes from the module that owns
it, so it changes in one place (``tests/test_cli_options.py`` checks every one).
"""

from __future__ import annotations

import signal
import sys
from functools import wraps
from typing import TYPE_CHECKING, Any, NamedTuple

import click

from sed.audio import AUDIO_EXTENSIONS, DEFAULT_RESAMPLER, RESAMPLERS
from sed.errors import Interrupted, ParameterError, SedError
from sed.evaluation import (
    DEFAULT_EMPTY_SYSTEM_OUTPUT,
    DEFAULT_EVENT_MATCHING,
    DEFAULT_PERCENTAGE_OF_LENGTH,
    DEFAULT_T_COLLAR,
    DEFAULT_TIME_RESOLUTION,
    EMPTY_SYSTEM_OUTPUTS,
    EVENT_MATCHINGS,
)
from sed.events import LABEL_COLUMNS
from sed.model.backends import BACKENDS, DEFAULT_BACKEND
from sed.params import DEFAULT_BATCH_SIZE, DEFAULT_HOP_SECONDS, check_hop_seconds
from sed.postprocessing import BOUNDARIES, MODES, PostProcessing

if TYPE_CHECKING:
    from sed.pipeline import DetectorSpec

CONTEXT = {"help_option_names": ["-h", "--help"], "show_default": True}


def reports_errors(command):
    """Print a :class:`SedError` as one line on stderr and exit non-zero (2 for bad parameters);
    stop on ``SIGINT``/``SIGTERM`` with one line and the shell's status for the signal (130, 143)
    after the command's clean-up (:func:`sed.infra.stop_on_signals`)."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        from sed.infra import stop_on_signals

        name = click.get_current_context().command_path
        try:
            with stop_on_signals():
                return command(*args, **kwargs)
        except SedError as error:
            click.echo(f"{name}: error: {error}", err=True)
            sys.exit(2 if isinstance(error, ParameterError) else 1)
        except KeyboardInterrupt as error:
            stopped = error if isinstance(error, Interrupted) else Interrupted(signal.SIGINT)
            click.echo(f"{name}: {stopped.message}", err=True)
            sys.exit(stopped.exit_status)

    return wrapper


def note_duplicates(count: int) -> None:
    """Say on stderr how many inputs were dropped as the same file named again."""
    if count:
        name = click.get_current_context().command_path
        click.echo(
            f"{name}: note: {count} input{'s' * (count > 1)} named a recording already listed "
            "(the same file twice, a folder and its sub-folder, or a link): each recording is "
            "processed once",
            err=True,
        )


def _hop(context, parameter, value):
    """Validate ``--hop`` as the library does (:func:`sed.params.check_hop_seconds`), with the
    one-line message of every other bad option value."""
    try:
        return check_hop_seconds(value)
    except ParameterError as error:
        click.echo(f"{context.command_path}: error: --hop: {error.message}", err=True)
        context.exit(2)


def model_options(command):
    """Options shared by every command that runs the model."""
    command = click.option(
        "--weights",
        type=click.Path(dir_okay=True),
        default=None,
        help="yamnet.h5 or a TF-Hub YAMNet SavedModel directory "
        "[default: $SED_YAMNET_WEIGHTS, else the bundled weights]",
    )(command)
    command = click.option(
        "--hop",
        "hop_seconds",
        type=float,
        default=DEFAULT_HOP_SECONDS,
        callback=_hop,
        help="Window hop in seconds, a multiple of 0.01 up to 0.96 "
        "(0.48 reproduces the reference).",
    )(command)
    command = click.option(
        "--resampler",
        type=click.Choice(RESAMPLERS),
        default=DEFAULT_RESAMPLER,
        help="soxr (fast) or resampy kaiser_best (the reference's).",
    )(command)
    command = click.option(
        "--backend",
        type=click.Choice(BACKENDS),
        default=DEFAULT_BACKEND,
        help="What runs YAMNet: LiteRT (fast; auto when installed) or TensorFlow (the reference).",
    )(command)
    return command


def batch_size_option(command):
    """``--batch-size``: windows per model call (speed and memory only, never results)."""
    return click.option(
        "--batch-size",
        type=click.IntRange(min=1),
        default=DEFAULT_BATCH_SIZE,
        help="Windows per model call.",
    )(command)


def parallel_options(command):
    """``--jobs N`` and ``--scheduler tcp://HOST:PORT`` (or ``$SED_SCHEDULER``): where a command's
    recordings are processed, in local worker processes (:func:`sed.batch.worker_processes`) or
    on a Dask cluster (:mod:`sed.cluster`). ``sed detect`` batches and ``sed index`` share them."""
    from sed.batch import DEFAULT_JOBS, SCHEDULER_ENV

    command = click.option(
        "--scheduler",
        envvar=SCHEDULER_ENV,
        show_envvar=True,
        default=None,
        metavar="tcp://HOST:PORT",
        help="Run the recordings on the Dask cluster of this scheduler (needs sed[dask]; the "
        "workers read the inputs by the same paths). This process still writes every file.",
    )(command)
    return click.option(
        "--jobs",
        type=click.IntRange(min=1),
        default=DEFAULT_JOBS,
        help="Recordings processed in parallel (worker processes).",
    )(command)


def refuse_jobs_on_a_cluster(jobs: int) -> None:
    """Refuse ``--jobs`` other than 1 with ``--scheduler`` (before anything is loaded).

    Raises
    ------
    ParameterError
    """
    if jobs != 1:
        raise ParameterError(
            "--jobs sets local worker processes; with --scheduler the cluster's workers set "
            "the parallelism"
        )


def cluster_runner(scheduler: str):
    """A :class:`sed.cluster.DaskRunner` connected to ``scheduler`` (before the model is loaded:
    an unreachable one fails fast).

    Raises
    ------
    ParameterError
        If Dask is not installed, or ``scheduler`` is not an address.
    SedError
        If the scheduler cannot be reached.
    """
    try:
        from sed.cluster import DaskRunner
    except ImportError as error:
        raise ParameterError(
            f"--scheduler needs Dask distributed ({error}): pip install 'sed[dask]'"
        ) from None
    return DaskRunner(scheduler)


def formats_option(help_text: str):
    """``--format``, repeatable: the event file formats (:data:`sed.events.FORMATS`)."""
    from sed.events import DEFAULT_FORMAT, FORMATS

    return click.option(
        "--format",
        "formats",
        multiple=True,
        default=[DEFAULT_FORMAT],
        type=click.Choice(FORMATS),
        help=help_text,
    )


def glob_option(command):
    """``--glob PATTERN``: the files taken from folder inputs (:func:`sed.audio.find_audio_files`),
    by default those with an audio suffix (:data:`sed.audio.AUDIO_EXTENSIONS`)."""
    return click.option(
        "--glob",
        "pattern",
        default=None,
        help="Files to take from folder inputs, e.g. '*.flac' [default: the audio suffixes "
        + " ".join(AUDIO_EXTENSIONS)
        + "].",
    )(command)


def overwrite_option(command):
    """``--overwrite``: replace existing output files ``sed`` did not write
    (:func:`sed.outputs.check_outputs`), and a batch folder holding results of other settings."""
    return click.option(
        "--overwrite",
        is_flag=True,
        help="Replace existing output files that sed did not write (or that were changed since "
        "it wrote them); for a batch, also redo a folder holding results of other settings.",
    )(command)


def head_option(command):
    """``--head DIR``: score with a head trained by ``sed train`` instead of YAMNet's classes."""
    return click.option(
        "--head",
        "head_dir",
        type=click.Path(),
        default=None,
        help="Head directory written by `sed train`: report its classes instead "
        "of YAMNet's (the hop defaults to the head's; a frame-level head scores every 0.08 s).",
    )(command)


def cache_option(command):
    """``--cache-dir``: where embeddings are cached."""
    return click.option(
        "--cache-dir",
        type=click.Path(file_okay=False),
        default=None,
        help="Embedding (and feature-map) cache [default: $SED_CACHE_DIR/embeddings (and "
        "/features), else $XDG_CACHE_HOME/sed/..., else ~/.cache/sed/...].",
    )(command)


#: The options every command that scores audio takes (``--head``, ``--classes``,
#: ``--label-map`` and the model options), by their parameter names.
SCORING_PARAMETERS = (
    "head_dir",
    "classes",
    "label_map",
    "weights",
    "hop_seconds",
    "resampler",
    "backend",
    "batch_size",
)


def detector_spec(options: dict | None = None) -> DetectorSpec:
    """The settings of a command that scores audio (detect, tag, listen, tune), resolved once
    from its options (:data:`SCORING_PARAMETERS`, read from the running command) into the
    record the library takes (:class:`sed.pipeline.DetectorSpec`).

    Everything that can be checked without TensorFlow is checked here, before the model loads:
    a head with classes, unknown class names, a ``--hop`` the head was not trained with, and,
    with ``options`` (the post-processing options), per-class thresholds of unknown labels.

    Raises
    ------
    ParameterError, ModelError
        For the mistakes above, naming the option or the head's directory.
    """
    from sed import pipeline

    given = click.get_current_context().params
    head_dir, classes, label_map, weights, hop_seconds, resampler, backend, batch_size = (
        given[name] for name in SCORING_PARAMETERS
    )
    pipeline.check_labels_source(
        head_dir, classes, label_map, head_name="--head", others_name="--classes or --label-map"
    )
    selection = pipeline.class_selection(classes=classes, label_map=label_map)
    head_labels, hop_seconds = head_labels_and_hop(head_dir, hop_seconds)
    config = None
    if options is not None:
        config = postprocessing_from_options(options, head_dir)
        config.thresholds(head_labels or selection.event_labels)
    return pipeline.DetectorSpec(
        weights=weights,
        hop_seconds=hop_seconds,
        resampler=resampler,
        classes=classes,
        label_map=label_map,
        postprocessing=config,
        backend=backend,
        batch_size=batch_size,
        head_dir=head_dir,
    )


def head_labels_and_hop(head_dir, hop_seconds):
    """A head's event labels (or None) and the hop to use: the head's (a frame-level head reads
    no windows: --hop is then a usage error).

    Reads the head's description only, so errors come before TensorFlow is loaded.

    Raises
    ------
    ParameterError
        If ``--hop`` was given and is not the hop the head was trained with, or was given with a
        frame-level head (a bad option value, found before any work).
    """
    if head_dir is None:
        return None, hop_seconds
    from sed.heads.head import BACKGROUND_LABEL, FRAME_KIND, head_description, head_kind

    labels, metadata = head_description(head_dir)
    trained = metadata.get("yamnet", {}).get("hop_seconds")
    source = click.get_current_context().get_parameter_source("hop_seconds")
    if head_kind(metadata) == FRAME_KIND:
        if source == click.core.ParameterSource.COMMANDLINE:
            raise ParameterError(
                "--hop sets the window hop; a frame-level head scores every "
                f"{metadata.get('features', {}).get('hop_seconds', '?')} s and reads no windows",
                head_dir,
            )
    elif trained is not None and source == click.core.ParameterSource.DEFAULT:
        hop_seconds = trained
    elif trained is not None and abs(float(trained) - hop_seconds) > 1e-9:
        raise ParameterError(
            f"--hop {hop_seconds:g} does not fit the head, trained with hop {trained} s "
            f"(leave --hop out, or give --hop {trained})",
            head_dir,
        )
    return tuple(label for label in labels if label != BACKGROUND_LABEL), hop_seconds


def label_map_option(help_text: str):
    """``--label-map FILE``: a label map, CSV ``event_label,yamnet_display_names``
    (:func:`sed.classes.read_label_map`), put to the use ``help_text`` says."""
    return click.option(
        "--label-map", type=click.Path(dir_okay=False), default=None, help=help_text
    )


def selection_options(command):
    """Options choosing the event labels (``--classes`` or ``--label-map``)."""
    command = label_map_option("CSV event_label,yamnet_display_names (names separated by ';').")(
        command
    )
    command = click.option(
        "--classes",
        default=None,
        help='Comma-separated YAMNet display names or mids, e.g. "Dog,Bark" '
        "[default: all 521 classes].",
    )(command)
    return command


class ConfigOption(NamedTuple):
    """An option that sets one field of a configuration (a dataclass such as
    :class:`sed.postprocessing.PostProcessing`), declared by :func:`config_options`."""

    #: The option's names, e.g. ``("--threshold-on", "--threshold")``.
    names: tuple[str, ...]
    #: The configuration's field it sets; its default is that field's.
    field: str
    type: click.ParamType
    help: str
    #: The command's parameter, when it is not named as the field.
    parameter: str | None = None
    #: What ``--help`` shows as the default, when not the field's default itself.
    show_default: str | None = None

    @property
    def name(self) -> str:
        """The command's parameter that receives the value."""
        return self.parameter or self.field


def config_option(option: ConfigOption, defaults: Any, help_text: str | None = None):
    """The click decorator of ``option``, defaulting to its field of the configuration
    ``defaults``; ``help_text`` replaces its help where a command gives it another use."""
    return click.option(
        *option.names,
        option.name,
        type=option.type,
        default=getattr(defaults, option.field),
        show_default=option.show_default,
        help=help_text or option.help,
    )


def config_options(table: list[ConfigOption], defaults: Any):
    """A decorator declaring every option of ``table``, in its order in ``--help``, each
    defaulting to its field of the configuration ``defaults``."""

    def decorate(command):
        for option in reversed(table):
            command = config_option(option, defaults)(command)
        return command

    return decorate


#: Post-processing options, setting the fields of :class:`sed.postprocessing.PostProcessing`.
POSTPROCESSING_OPTIONS = [
    ConfigOption(
        ("--mode",),
        "mode",
        click.Choice(MODES),
        "multi: every class decided on its own (overlaps allowed); top: one winning class per "
        "window.",
    ),
    ConfigOption(
        ("--threshold-on", "--threshold"),
        "threshold_on",
        click.FloatRange(0, 1),
        "Score at which an event starts.",
    ),
    ConfigOption(
        ("--threshold-off",),
        "threshold_off",
        click.FloatRange(0, 1),
        "Score at or above which an event continues (hysteresis) [default: --threshold-on].",
    ),
    ConfigOption(
        ("--median-filter",),
        "median_filter_seconds",
        click.FloatRange(min=0),
        "Median filter over window scores, in seconds (0: off).",
    ),
    ConfigOption(
        ("--min-duration",),
        "min_duration_seconds",
        click.FloatRange(min=0),
        "Drop events shorter than this, in seconds.",
    ),
    ConfigOption(
        ("--min-gap",),
        "min_gap_seconds",
        click.FloatRange(min=0),
        "Merge events of one class separated by less than this, in seconds.",
    ),
    ConfigOption(
        ("--boundaries",),
        "boundaries",
        click.Choice(BOUNDARIES),
        "Where onsets and offsets go inside the first and last active windows.",
    ),
]


def postprocessing_option(field: str, help_text: str | None = None):
    """The one post-processing option setting ``field`` (of :data:`POSTPROCESSING_OPTIONS`),
    for a command that takes it alone; ``help_text`` as in :func:`config_option`."""
    (option,) = (option for option in POSTPROCESSING_OPTIONS if option.field == field)
    return config_option(option, PostProcessing(), help_text)


def config_file_option(help_text: str):
    """``--config FILE``: a post-processing configuration (TOML or JSON), read as the command
    says in ``help_text``."""
    return click.option(
        "--config", "config_path", type=click.Path(dir_okay=False), default=None, help=help_text
    )


def postprocessing_options(command):
    """The post-processing options, a ``--config`` file, per-class thresholds and saving."""
    command = config_options(POSTPROCESSING_OPTIONS, PostProcessing())(command)
    command = click.option(
        "--save-config",
        type=click.Path(dir_okay=False),
        default=None,
        help="Write the post-processing configuration used (TOML or JSON).",
    )(command)
    command = click.option(
        "--class-thresholds",
        type=click.Path(dir_okay=False),
        default=None,
        help="CSV event_label,threshold_on[,threshold_off]: per-class thresholds.",
    )(command)
    return config_file_option(
        "Post-processing configuration (TOML or JSON); "
        "options given on the command line override it."
    )(command)


def postprocessing_from_options(options: dict, head_dir=None) -> PostProcessing:
    """The configuration: defaults (a frame head's own, tuned when it was trained), then
    ``--config``, then options given on the command line."""
    from sed.pipeline import postprocessing_in_use
    from sed.postprocessing import load_config, read_class_thresholds, with_overrides

    context = click.get_current_context()
    if options["config_path"]:
        config = load_config(options["config_path"])
    else:
        config = postprocessing_in_use(None, _head_postprocessing(head_dir))
    given = {
        option.name: options[option.name]
        for option in POSTPROCESSING_OPTIONS
        if context.get_parameter_source(option.name) == click.core.ParameterSource.COMMANDLINE
    }
    if options["class_thresholds"]:
        given["class_thresholds"] = {
            **config.class_thresholds,
            **read_class_thresholds(options["class_thresholds"]),
        }
    if (
        "threshold_on" in given
        and "threshold_off" not in given
        and config.threshold_off is not None
    ):
        given["threshold_off"] = min(config.threshold_off, given["threshold_on"])
    try:
        return with_overrides(config, **given)
    except ParameterError as error:
        # Fields set by --config keep their names: no option was typed.
        typed = {
            option.field: option.names[0]
            for option in POSTPROCESSING_OPTIONS
            if option.field in given
        }
        raise ParameterError(_with_option_names(error.message, typed), error.path) from None


def _with_option_names(message: str, option_names: dict[str, str]) -> str:
    """``message`` naming the options typed (``--min-gap``) instead of the fields they set
    (``min_gap_seconds``): ``option_names`` maps the fields to the options."""
    import re

    for words, option in option_names.items():
        message = re.sub(rf"\b{re.escape(words)}\b", option, message)
    return message


def _head_postprocessing(head_dir) -> PostProcessing | None:
    """The post-processing stored in a head's description, if any (read without TensorFlow)."""
    if head_dir is None:
        return None
    from sed.heads.head import head_description, stored_postprocessing

    return stored_postprocessing(head_description(head_dir)[1], head_dir)


def evaluation_options(command):
    """sed_eval settings shared by ``evaluate`` and ``tune``."""
    command = click.option(
        "--onset-only",
        is_flag=True,
        help="Event-based metrics check onsets only (sed_eval's evaluate_offset=False).",
    )(command)
    command = click.option(
        "--percentage-of-length",
        type=click.FloatRange(0, 1),
        default=DEFAULT_PERCENTAGE_OF_LENGTH,
        help="Event-based offset collar as a fraction of the reference event's length "
        "(the DCASE convention; sed_eval's own default is 0.5).",
    )(command)
    command = click.option(
        "--t-collar",
        type=click.FloatRange(min=0, min_open=True),
        default=DEFAULT_T_COLLAR,
        help="Event-based onset (and minimum offset) collar, in seconds.",
    )(command)
    command = click.option(
        "--time-resolution",
        type=click.FloatRange(min=0, min_open=True),
        default=DEFAULT_TIME_RESOLUTION,
        help="Segment length of segment-based metrics, in seconds.",
    )(command)
    return command


def matching_options(command):
    """sed_eval's further event-based settings (``sed evaluate``)."""
    command = click.option(
        "--empty-system-output",
        type=click.Choice(EMPTY_SYSTEM_OUTPUTS),
        default=DEFAULT_EMPTY_SYSTEM_OUTPUT,
        help="Precision and F-score without estimated events (overall or for a class): "
        "undefined (n/a, sed_eval's default) or zero_score (0).",
    )(command)
    command = click.option(
        "--event-matching",
        type=click.Choice(EVENT_MATCHINGS),
        default=DEFAULT_EVENT_MATCHING,
        help="Event-based matching of estimated to reference events (sed_eval's "
        "event_matching_type).",
    )(command)
    command = click.option(
        "--offset-only",
        is_flag=True,
        help="Event-based metrics check offsets only (sed_eval's evaluate_onset=False).",
    )(command)
    return command


def label_column_option(command):
    """``--label-column NAME``: the label column of Raven and other headed tables."""
    return click.option(
        "--label-column",
        default=None,
        metavar="NAME",
        help="Label column of Raven selection tables and other tables with a header, "
        "wherever a table has it (e.g. Species, class) [default: the first present of "
        + ", ".join(LABEL_COLUMNS)
        + "].",
    )(command)
