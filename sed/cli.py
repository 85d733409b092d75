"""The ``sed`` command line: a thin click layer over :mod:`sed.pipeline`.

``sed`` shares its name with GNU sed. An invocation whose first argument is not one of our
commands or options (``sed -e s/a/b/ f``, ``sed 's/x/y/' f``, ``sed -n p``) is handed unchanged to
the next ``sed`` on PATH, so shell scripts run inside the environment keep working.
"""

from __future__ import annotations

import os
import sys
from functools import wraps

import click

from sed.errors import ParameterError, SedError
from sed.params import DEFAULT_BATCH_SIZE, YamnetParams

TOP_LEVEL_OPTIONS = ("--help", "-h", "--version")
CONTEXT = {"help_option_names": ["-h", "--help"], "show_default": True}


def reports_errors(command):
    """Print a :class:`SedError` as one line on stderr and exit non-zero (2 for bad parameters)."""
    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SedError as error:
            name = click.get_current_context().command_path
            click.echo(f"{name}: error: {error}", err=True)
            sys.exit(2 if isinstance(error, ParameterError) else 1)
    return wrapper


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="sed", prog_name="sed")
def cli():
    """Sound event detection with YAMNet: what happened, and when."""


def model_options(command):
    """Options shared by every command that runs the model."""
    command = click.option("--weights", type=click.Path(dir_okay=True), default=None,
                           help="yamnet.h5 or a TF-Hub YAMNet SavedModel directory "
                                "[default: $SED_YAMNET_WEIGHTS, else the bundled weights]")(command)
    command = click.option("--hop", "hop_seconds", type=float, default=0.5,
                           help="Window hop in seconds, a multiple of 0.01 "
                                "(0.48 reproduces the reference).")(command)
    command = click.option("--resampler", type=click.Choice(["soxr", "resampy"]), default="soxr",
                           help="soxr (fast) or resampy kaiser_best (the reference's).")(command)
    command = click.option("--backend", type=click.Choice(["auto", "litert", "tensorflow"]),
                           default="auto",
                           help="What runs YAMNet: LiteRT (fast; auto when installed) or "
                                "TensorFlow (the reference).")(command)
    return command


def batch_size_option(command):
    """``--batch-size``: windows per model call (speed and memory only, never results)."""
    return click.option("--batch-size", type=click.IntRange(min=1), default=DEFAULT_BATCH_SIZE,
                        help="Windows per model call.")(command)


def head_option(command):
    """``--head DIR``: score with a head trained by ``sed train`` instead of YAMNet's classes."""
    return click.option("--head", "head_dir", type=click.Path(), default=None,
                        help="Head directory written by `sed train`: report its classes instead "
                             "of YAMNet's (the hop defaults to the head's).")(command)


def refuse_classes_with_head(head_dir, classes, label_map) -> None:
    """A head brings its own labels: ``--classes``/``--label-map`` with ``--head`` is a usage error."""
    if head_dir is not None and (classes or label_map):
        raise ParameterError("--head sets the classes: give no --classes or --label-map with it")


def head_labels_and_hop(head_dir, hop_seconds):
    """A head's event labels (or None) and the hop to use: the head's unless --hop was given.

    Reads the head's description only, so errors come before TensorFlow is loaded.
    """
    if head_dir is None:
        return None, hop_seconds
    from sed.heads import BACKGROUND_LABEL, head_description

    labels, metadata = head_description(head_dir)
    source = click.get_current_context().get_parameter_source("hop_seconds")
    if source == click.core.ParameterSource.DEFAULT:
        hop_seconds = metadata.get("yamnet", {}).get("hop_seconds", hop_seconds)
    return tuple(label for label in labels if label != BACKGROUND_LABEL), hop_seconds


def selection_options(command):
    """Options choosing the event labels (``--classes`` or ``--label-map``)."""
    command = click.option("--label-map", type=click.Path(dir_okay=False), default=None,
                           help="CSV event_label,yamnet_display_names (names separated by ';')."
                           )(command)
    command = click.option("--classes", default=None,
                           help='Comma-separated YAMNet display names or mids, e.g. "Dog,Bark" '
                                "[default: all 521 classes].")(command)
    return command


#: Post-processing options of ``detect``: (option names, PostProcessing field, click type, help).
POSTPROCESSING_OPTIONS = [
    (("--mode",), "mode", click.Choice(["multi", "top"]),
     "multi: every class decided on its own (overlaps allowed); top: one winning class per "
     "window."),
    (("--threshold-on", "--threshold"), "threshold_on", click.FloatRange(0, 1),
     "Score at which an event starts."),
    (("--threshold-off",), "threshold_off", click.FloatRange(0, 1),
     "Score above which an event continues (hysteresis) [default: --threshold-on]."),
    (("--median-filter",), "median_filter_seconds", click.FloatRange(min=0),
     "Median filter over window scores, in seconds (0: off)."),
    (("--min-duration",), "min_duration_seconds", click.FloatRange(min=0),
     "Drop events shorter than this, in seconds."),
    (("--min-gap",), "min_gap_seconds", click.FloatRange(min=0),
     "Merge events of one class separated by less than this, in seconds."),
    (("--boundaries",), "boundaries", click.Choice(["extents", "centres", "refined"]),
     "Where onsets and offsets go inside the first and last active windows."),
]


def postprocessing_options(command):
    """The post-processing options, a ``--config`` file, per-class thresholds and saving."""
    from sed.postprocessing import PostProcessing

    defaults = PostProcessing()
    for names, field_name, kind, help_text in reversed(POSTPROCESSING_OPTIONS):
        command = click.option(*names, field_name, type=kind,
                               default=getattr(defaults, field_name), help=help_text)(command)
    command = click.option("--save-config", type=click.Path(dir_okay=False), default=None,
                           help="Write the post-processing configuration used (TOML or JSON)."
                           )(command)
    command = click.option("--class-thresholds", type=click.Path(dir_okay=False), default=None,
                           help="CSV event_label,threshold_on[,threshold_off]: per-class "
                                "thresholds.")(command)
    command = click.option("--config", "config_path", type=click.Path(dir_okay=False),
                           default=None, help="Post-processing configuration (TOML or JSON); "
                           "options given on the command line override it.")(command)
    return command


def postprocessing_from_options(options: dict):
    """The configuration: defaults, then ``--config``, then options given on the command line."""
    from sed.postprocessing import (PostProcessing, load_config, read_class_thresholds,
                                    with_overrides)

    context = click.get_current_context()
    config = load_config(options["config_path"]) if options["config_path"] else PostProcessing()
    given = {name: options[name] for _, name, _, _ in POSTPROCESSING_OPTIONS
             if context.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE}
    if options["class_thresholds"]:
        given["class_thresholds"] = {**config.class_thresholds,
                                     **read_class_thresholds(options["class_thresholds"])}
    if "threshold_on" in given and "threshold_off" not in given and config.threshold_off is not None:
        given["threshold_off"] = min(config.threshold_off, given["threshold_on"])
    return with_overrides(config, **given)


@cli.command(context_settings=CONTEXT)
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(),
              help="One recording: the events file (with several --format, its name up to the "
                   "first dot plus each format's suffix). Several inputs, a folder or '-': a "
                   "folder that receives one events file per recording, mirroring the input tree.")
@click.option("--format", "formats", multiple=True, default=["csv"],
              type=click.Choice(["csv", "tsv", "audacity", "raven", "json"]),
              help="Events format; repeat for several: csv (ours), tsv (DCASE/sed_eval), "
                   "audacity (label track), raven (selection table), json.")
@selection_options
@postprocessing_options
@click.option("--scores", "scores_path", type=click.Path(dir_okay=False), default=None,
              help="Also write per-window scores: filename,start,end, one column per class "
                   "(one recording only).")
@click.option("--glob", "pattern", default=None,
              help="Files to take from folder inputs, e.g. '*.flac' [default: the audio "
                   "suffixes .wav .flac .ogg .opus .mp3 .aif(f) .au .caf .w64 .rf64 and kin].")
@click.option("--jobs", type=click.IntRange(min=1), default=1,
              help="Recordings processed in parallel (worker processes).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@head_option
@model_options
@batch_size_option
@reports_errors
def detect(inputs, output, formats, classes, label_map, scores_path, pattern, jobs, quiet,
           head_dir, weights, hop_seconds, resampler, backend, batch_size, **options):
    """Detect sound events in recordings and write them as event tables.

    INPUT is an audio file, a folder (searched recursively) or '-' for a list of paths on
    standard input. With one file, -o is the events file. Otherwise -o is a folder that receives
    one events file per recording and format, all_events.csv (every event), parameters.json and, if
    any recording failed, failures.csv; running the same command again skips the recordings
    already done.
    """
    from sed import pipeline
    from sed.events import format_paths
    from sed.postprocessing import save_config

    # Everything that can be checked without TensorFlow is checked before loading it.
    refuse_classes_with_head(head_dir, classes, label_map)
    selection = pipeline.class_selection(classes=classes, label_map=label_map)
    head_labels, hop_seconds = head_labels_and_hop(head_dir, hop_seconds)
    config = postprocessing_from_options(options)
    config.thresholds(head_labels or selection.event_labels)
    YamnetParams(patch_hop_seconds=hop_seconds)
    spec = pipeline.DetectorSpec(weights=weights, hop_seconds=hop_seconds, resampler=resampler,
                                 classes=classes, label_map=label_map, postprocessing=config,
                                 backend=backend, batch_size=batch_size, head=head_dir)
    if _is_batch(inputs, output):
        if scores_path:
            raise ParameterError("--scores is for one recording; it cannot be used with a batch")
        written = _detect_batch(inputs, output, spec, formats, pattern=pattern, jobs=jobs,
                                quiet=quiet)
    else:
        written = _detect_one(inputs[0], format_paths(output, formats), spec, scores_path)
    if options["save_config"]:
        save_config(config, options["save_config"])
        click.echo(f"configuration written to {options['save_config']}")
    if written:
        sys.exit(written)


def _is_batch(inputs, output) -> bool:
    return (len(inputs) > 1 or inputs[0] == "-" or os.path.isdir(inputs[0])
            or os.path.isdir(output))


def _detect_one(input_path, paths, spec, scores_path) -> int:
    from sed.audio import audio_info
    from sed.events import summarize, write_events, write_scores_csv

    audio_info(input_path)
    detection = spec.build().detect_file(input_path)
    durations = {detection.window_scores.filename: detection.window_scores.duration_seconds}
    for name, path in paths.items():
        write_events(detection.events, path, name, durations=durations)
    if scores_path:
        write_scores_csv(detection.window_scores, scores_path)
    click.echo(summarize(detection.events, detection.window_scores.duration_seconds))
    written = [f"events written to {', '.join(paths.values())}"]
    if scores_path:
        written.append(f"window scores to {scores_path}")
    click.echo(", ".join(written))
    return 0


def _detect_batch(inputs, output, spec, formats, *, pattern, jobs, quiet) -> int:
    """Run a batch; returns the exit status (1 when any recording failed)."""
    from sed.batch import FAILURES_FILE, find_recordings, run_batch

    recordings = find_recordings(inputs, pattern=pattern)
    if not recordings:
        raise ParameterError(f"no audio files found in {', '.join(inputs)}")
    summary = run_batch(recordings, output, spec=spec, formats=list(dict.fromkeys(formats)),
                        jobs=jobs, quiet=quiet, command=["sed", *sys.argv[1:]])
    click.echo(str(summary))
    failed = summary.count("failed")
    if failed:
        click.echo(f"sed detect: {failed} recording{'s' * (failed > 1)} failed: see "
                   f"{os.path.join(output, FAILURES_FILE)}", err=True)
    return 1 if failed else 0


@cli.command(context_settings=CONTEXT)
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-k", "--top", "k", type=click.IntRange(min=1), default=5,
              help="Number of classes to list.")
@head_option
@model_options
@batch_size_option
@reports_errors
def tag(input_path, k, head_dir, weights, hop_seconds, resampler, backend, batch_size):
    """List the top-k classes of INPUT by window-averaged score (as the reference inference.py)."""
    from sed import pipeline
    from sed.audio import audio_info
    from sed.segmenter import score_file

    audio_info(input_path)
    _, hop_seconds = head_labels_and_hop(head_dir, hop_seconds)
    YamnetParams(patch_hop_seconds=hop_seconds)
    model = pipeline.load_model(weights, hop_seconds=hop_seconds, backend=backend)
    head = pipeline.load_head(head_dir, model) if head_dir is not None else None
    window_scores = score_file(input_path, model, resampler=resampler, batch_size=batch_size,
                               keep_embeddings=head is not None)
    if head is not None:
        window_scores = pipeline.head_scores(window_scores, head, model)
    table = pipeline.top_classes(window_scores, k)
    width = max(len(label) for label in table["label"])
    click.echo(f"{input_path}: {len(window_scores)} windows, "
               f"{window_scores.duration_seconds:.2f} s")
    for row in table.itertuples():
        click.echo(f"{row.rank:>3}. {row.label:<{width}}  {row.score:.3f}")


def evaluation_options(command):
    """sed_eval settings shared by ``evaluate`` and ``tune``."""
    command = click.option("--onset-only", is_flag=True,
                           help="Event-based metrics check onsets only (sed_eval's "
                                "evaluate_offset=False).")(command)
    command = click.option("--percentage-of-length", type=click.FloatRange(0, 1), default=0.2,
                           help="Event-based offset collar as a fraction of the reference "
                                "event's length.")(command)
    command = click.option("--t-collar", type=click.FloatRange(min=0), default=0.2,
                           help="Event-based onset (and minimum offset) collar, in seconds."
                           )(command)
    command = click.option("--time-resolution", type=click.FloatRange(min=0, min_open=True),
                           default=1.0, help="Segment length of segment-based metrics, "
                                             "in seconds.")(command)
    return command


@cli.command(context_settings=CONTEXT)
@click.option("--reference", required=True, type=click.Path(),
              help="Reference annotations: a file or a folder (files matched by name stem).")
@click.option("--estimated", required=True, type=click.Path(),
              help="Estimated events: a file or a folder (csv, tsv, Audacity, Raven or json).")
@click.option("--audio", "audio_dir", type=click.Path(file_okay=False), default=None,
              help="Folder of the recordings: their true lengths are the evaluated lengths.")
@evaluation_options
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Also write every figure as JSON.")
@reports_errors
def evaluate(reference, estimated, audio_dir, time_resolution, t_collar, percentage_of_length,
             onset_only, json_path):
    """Score estimated events against reference annotations with sed_eval."""
    import json

    from sed.atomic import atomic_open
    from sed.evaluation import evaluate_files

    evaluation = evaluate_files(
        reference, estimated, audio=audio_dir, time_resolution_seconds=time_resolution,
        t_collar_seconds=t_collar, percentage_of_length=percentage_of_length,
        evaluate_offset=not onset_only,
        warn=lambda message: click.echo(f"sed evaluate: warning: {message}", err=True))
    click.echo(evaluation.report())
    if json_path:
        with atomic_open(json_path, "w", encoding="utf-8") as handle:
            json.dump(evaluation.results(), handle, indent=1)
            handle.write("\n")
        click.echo(f"results written to {json_path}")


@cli.command(context_settings=CONTEXT)
@click.option("--audio", "audio_dir", required=True, type=click.Path(file_okay=False),
              help="Folder of development recordings.")
@click.option("--reference", required=True, type=click.Path(),
              help="Folder of their reference annotations (matched by name stem).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Configuration file to write (.toml, else JSON).")
@selection_options
@click.option("--metric", type=click.Choice(["segment_f1", "event_f1", "segment_error_rate",
                                             "event_error_rate"]), default="segment_f1",
              help="Overall sed_eval metric to optimise (error rates are minimised).")
@click.option("--mode", type=click.Choice(["multi", "top"]), default="multi",
              help="Post-processing mode to tune.")
@click.option("--class-threshold-gain", type=click.FloatRange(min=0), default=0.005,
              help="Least improvement of the metric for which a per-class threshold is kept "
                   "(guards against fitting a few recordings).")
@evaluation_options
@head_option
@model_options
@batch_size_option
@reports_errors
def tune(audio_dir, reference, output, classes, label_map, metric, mode, class_threshold_gain,
         time_resolution, t_collar, percentage_of_length, onset_only, head_dir, weights,
         hop_seconds, resampler, backend, batch_size):
    """Search post-processing parameters that maximise a sed_eval metric on development data."""
    from sed import pipeline
    from sed.postprocessing import PostProcessing, save_config
    from sed.tuning import tune as run_tuning

    refuse_classes_with_head(head_dir, classes, label_map)
    selection = pipeline.class_selection(classes=classes, label_map=label_map)
    _, hop_seconds = head_labels_and_hop(head_dir, hop_seconds)
    recordings, references = pipeline.development_set(audio_dir, reference)
    YamnetParams(patch_hop_seconds=hop_seconds)
    model = pipeline.load_model(weights, hop_seconds=hop_seconds, backend=backend)
    head = pipeline.load_head(head_dir, model) if head_dir is not None else None
    click.echo(f"scoring {len(recordings)} recordings once", err=True)
    scores = pipeline.score_files(recordings, model=model, selection=selection,
                                  resampler=resampler, batch_size=batch_size, head=head)
    result = run_tuning(scores, references, metric=metric, start=PostProcessing(mode=mode),
                        class_threshold_gain=class_threshold_gain,
                        time_resolution_seconds=time_resolution, t_collar_seconds=t_collar,
                        percentage_of_length=percentage_of_length,
                        evaluate_offset=not onset_only,
                        progress=lambda message: click.echo(f"  {message}", err=True))
    save_config(result.config, output)
    click.echo(result.report())
    click.echo(f"configuration written to {output}")


@cli.command(context_settings=CONTEXT)
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Figure to write (.png, .pdf or .svg).")
@click.option("--events", "events_path", type=click.Path(dir_okay=False), default=None,
              help="Estimated events to draw (any format sed evaluate reads).")
@click.option("--reference", "reference_path", type=click.Path(dir_okay=False), default=None,
              help="Reference annotations to draw against them.")
@click.option("--top", "top_n", type=click.IntRange(min=1), default=10,
              help="Number of classes in the score heat map (highest maximum score first).")
@selection_options
@model_options
@batch_size_option
@reports_errors
def plot(input_path, output, events_path, reference_path, top_n, classes, label_map, weights,
         hop_seconds, resampler, backend, batch_size):
    """Draw INPUT's waveform, log-mel spectrogram, top window scores and event roll."""
    from sed import pipeline
    from sed.audio import audio_info
    from sed.events import read_events
    from sed.plotting import plot_recording

    audio_info(input_path)
    selection = pipeline.class_selection(classes=classes, label_map=label_map)
    estimated = read_events(events_path).events if events_path else None
    reference = read_events(reference_path).events if reference_path else None
    YamnetParams(patch_hop_seconds=hop_seconds)
    model = pipeline.load_model(weights, hop_seconds=hop_seconds, backend=backend)
    plot_recording(input_path, output, model=model, selection=selection, estimated=estimated,
                   reference=reference, top_n=top_n, resampler=resampler, batch_size=batch_size)
    click.echo(f"figure written to {output}")


@cli.command(context_settings=CONTEXT)
@click.option("--search", default=None, help="Only classes whose name or mid contains TEXT.")
@reports_errors
def classes(search):
    """List YAMNet's 521 AudioSet classes as CSV: index,mid,display_name."""
    import csv

    from sed.classes import load_class_map

    class_map = load_class_map()
    indices = class_map.search(search) if search else range(len(class_map))
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["index", "mid", "display_name"])
    for i in indices:
        writer.writerow([i, class_map.mids[i], class_map.display_names[i]])


def cache_option(command):
    """``--cache-dir``: where embeddings are cached."""
    return click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
                        help="Embedding cache [default: $SED_CACHE_DIR/embeddings, else "
                             "~/.cache/sed/embeddings].")(command)


@cli.command(context_settings=CONTEXT)
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="embeddings.npz or embeddings.parquet to write.")
@cache_option
@model_options
@reports_errors
def embed(inputs, output, cache_dir, weights, hop_seconds, resampler, backend):
    """Write YAMNet's 1024-D embeddings of every window of INPUT... (files or folders)."""
    from sed import pipeline
    from sed.embeddings import (EmbeddingCache, check_embeddings_path, embed_files, input_files,
                                write_embeddings)

    check_embeddings_path(output)
    paths = input_files(inputs)
    YamnetParams(patch_hop_seconds=hop_seconds)
    model = pipeline.load_model(weights, hop_seconds=hop_seconds, backend=backend)
    items = embed_files(paths, model, cache=EmbeddingCache(cache_dir), resampler=resampler,
                        progress=sys.stderr.isatty())
    write_embeddings(items, output, model.params)
    click.echo(f"{len(items)} file{'s' * (len(items) != 1)}, {sum(map(len, items))} windows "
               f"(hop {hop_seconds} s) x 1024: embeddings written to {output}")


@cli.command(context_settings=CONTEXT)
@click.argument("data", metavar="DATA", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Head directory to write (model.keras, labels.txt, head.json, reports).")
@click.option("--classes", default=None,
              help="Comma-separated classes to use, in output order [default: all].")
@click.option("--label-column", default="label", help="CSV DATA: column of the class.")
@click.option("--filename-column", default="filename", help="CSV DATA: column of the audio file.")
@click.option("--group-column", default=None,
              help="CSV DATA: clips with one value here stay on one side of every split "
                   "(ESC-50: src_file) [default: each clip its own group].")
@click.option("--where", "where", multiple=True, metavar="COLUMN=VALUE",
              help="CSV DATA: keep only rows where COLUMN is VALUE (repeatable).")
@click.option("--audio-dir", type=click.Path(file_okay=False), default=None,
              help="CSV DATA: folder of the audio files [default: the CSV's folder, or audio/ "
                   "beside it].")
@click.option("--background", type=click.Path(file_okay=False), default=None,
              help="Folder of recordings without events: the background class.")
@click.option("--activation", type=click.Choice(["sigmoid", "softmax"]), default="sigmoid",
              help="Output activation (sigmoid: one score per class, for overlapping events).")
@click.option("--mixtures", type=click.IntRange(min=0), default=None,
              help="Synthetic mixtures of each event clip over the background recordings, "
                   "added to training [default: 5 with background recordings, else 0].")
@click.option("--seed", type=int, default=0,
              help="Seed of the split, mixtures, weights and shuffling.")
@click.option("--epochs", type=click.IntRange(min=1), default=100,
              help="Maximum number of epochs (early stopping on validation loss).")
@click.option("--patience", type=click.IntRange(min=1), default=5,
              help="Epochs without a better validation loss before stopping.")
@click.option("--validation-fraction", type=click.FloatRange(0, 0.5), default=0.2,
              help="Share of groups held out for early stopping and validation metrics.")
@click.option("--cross-validate", "folds", type=click.IntRange(min=2), default=None,
              help="Also run grouped K-fold cross-validation and report its clip accuracy.")
@cache_option
@model_options
@reports_errors
def train(data, output, classes, label_column, filename_column, group_column, where, audio_dir,
          background, activation, mixtures, seed, epochs, patience, validation_fraction, folds,
          cache_dir, weights, hop_seconds, resampler, backend):
    """Train a head on YAMNet embeddings of labelled clips.

    DATA is a folder with one sub-folder of audio files per class (a `_background` sub-folder
    holds recordings without events), or a CSV file with a file name and a label per clip.
    """
    from sed import pipeline
    from sed.embeddings import EmbeddingCache
    from sed.training import (TrainingConfig, load_dataset, parse_where, report_lines,
                              train_and_report)

    dataset = load_dataset(data, classes=classes.split(",") if classes else None,
                           label_column=label_column, filename_column=filename_column,
                           group_column=group_column, where=parse_where(where),
                           audio_dir=audio_dir, background=background)
    config = TrainingConfig(activation=activation, mixtures=mixtures, seed=seed, max_epochs=epochs,
                            patience=patience, validation_fraction=validation_fraction)
    YamnetParams(patch_hop_seconds=hop_seconds)
    model = pipeline.load_model(weights, hop_seconds=hop_seconds, backend=backend)
    report = train_and_report(dataset, model, output, config=config, folds=folds,
                              cache=EmbeddingCache(cache_dir), resampler=resampler,
                              progress=sys.stderr.isatty())
    click.echo("\n".join(report_lines(report)))


def is_our_invocation(argv: list[str]) -> bool:
    """True when ``argv`` (without the program name) is meant for us, not for GNU sed."""
    return not argv or argv[0] in cli.commands or argv[0] in TOP_LEVEL_OPTIONS


def next_sed_on_path(path: str | None = None) -> str | None:
    """The first ``sed`` executable on PATH that is not this program's entry point.

    Console scripts of this package (found by their ``sed.cli`` import) and the running script
    itself are skipped.
    """
    own = {os.path.realpath(sys.argv[0])} if sys.argv and sys.argv[0] else set()
    for directory in (path if path is not None else os.environ.get("PATH", "")).split(os.pathsep):
        candidate = os.path.join(directory or ".", "sed")
        if not (os.path.isfile(candidate) and os.access(candidate, os.X_OK)):
            continue
        if os.path.realpath(candidate) in own or _is_our_script(candidate):
            continue
        return candidate
    return None


def _is_our_script(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return b"sed.cli" in head


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``sed`` console script and ``python -m sed``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not is_our_invocation(argv):
        other = next_sed_on_path()
        if other is None:
            click.echo(f"sed: {argv[0]!r} is not a sed command (see `sed --help`), and no other "
                       "sed (such as GNU sed) was found on PATH to hand it to", err=True)
            sys.exit(2)
        os.execv(other, [other, *argv])
    _log_to_stderr()
    cli.main(args=argv, prog_name="sed")


def _log_to_stderr() -> None:
    """Show the package's rare progress notes (such as a one-off model conversion) on stderr."""
    import logging

    logger = logging.getLogger("sed")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("sed: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
