"""The library API: everything the command line does, callable from a notebook.

    >>> import sed
    >>> model = sed.load_model()
    >>> detection = sed.detect_file("street.wav", model=model, classes="Bicycle bell")
    >>> detection.events           # onset, offset, event_label, score
    >>> detection.score_grid.to_frame()

The detection stages are composed here: audio (:mod:`sed.audio`), features and model
(:mod:`sed.features`, :mod:`sed.model`), the scorer (YAMNet with a class selection, or a head
of any kind: :func:`resolve_scorer`, :func:`load_head`), the segmenter (:mod:`sed.segmenter`),
post-processing (:mod:`sed.postprocessing`) and plots (:mod:`sed.plotting`). Each command of
the CLI (:mod:`sed.cli`) calls one function here or in the module of its stage: ``detect``
:func:`detect_file` (and, for archives, :func:`sed.batch.run_batch` with a
:class:`DetectorSpec`), ``tag`` :func:`tag_file`, ``plot`` :func:`plot_file`, ``tune``
:func:`score_files` and :func:`sed.tuning.tune`, ``train`` :func:`train_head_files` (or, with
``--frame-level``, :func:`train_frame_head_files`); ``evaluate`` and the pairing of annotation
files are in :mod:`sed.annotations`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from sed.audio import (
    DEFAULT_RESAMPLER,
    check_resampler,
    check_waveform,
    display_path,
    load_audio,
    resample,
    stream_audio,
    to_mono,
)
from sed.classes import (
    ClassMap,
    ClassSelection,
    all_classes,
    load_class_map,
    parse_class_list,
    read_label_map,
)
from sed.errors import ParameterError
from sed.infra import content_sha256
from sed.model.backends import DEFAULT_BACKEND
from sed.params import DEFAULT_BATCH_SIZE, DEFAULT_HOP_SECONDS, YamnetParams, check_band
from sed.plotting import DEFAULT_TOP_N
from sed.postprocessing import EventStream, PostProcessing, events_table
from sed.scores import ScoreGrid
from sed.segmenter import (
    Scorer,
    YamnetScorer,
    open_stream,
    score_chunks,
    score_file,
    score_waveform,
)

if TYPE_CHECKING:
    import pandas as pd

    from sed.model import Yamnet

#: Classes :func:`tag_file` lists unless asked for another number (the reference ``inference.py``).
DEFAULT_TOP_K = 5
#: How ``sed tag`` prints its tags (:func:`sed.cli.printing.format_tags`).
TAG_FORMATS = ("text", "csv", "json")
DEFAULT_TAG_FORMAT = "text"

#: What :func:`class_selection` takes as a class list: ``"Dog,Bark"`` or ``["Dog", "Bark"]``.
ClassList = str | Sequence[str]


def load_model(
    weights: str | os.PathLike | None = None,
    *,
    hop_seconds: float = DEFAULT_HOP_SECONDS,
    backend: str = DEFAULT_BACKEND,
    threads: int | None = None,
) -> Yamnet:
    """Load YAMNet (see :meth:`sed.model.Yamnet.load`).

    Parameters
    ----------
    weights : str or os.PathLike, optional
        ``yamnet.h5`` or a TF-Hub YAMNet SavedModel directory; by default
        ``$SED_YAMNET_WEIGHTS`` or the weights package.
    hop_seconds : float > 0
        Window hop, a multiple of 0.01 s (0.5 by default; 0.48 reproduces the reference).
    backend : {"auto", "litert", "tensorflow"}
        What runs the network (see :mod:`sed.model.backends`); ``auto`` prefers LiteRT.
    threads : int >= 1, optional
        LiteRT interpreter threads (default: the CPUs available); 1 when several files are
        processed in parallel processes.

    Returns
    -------
    model : sed.model.Yamnet

    Raises
    ------
    ModelError
        If no weights are found or they cannot be loaded.
    ParameterError
        If ``hop_seconds`` is not a positive multiple of 0.01 s, or ``backend`` is unknown.
    """
    from sed.model import Yamnet

    return Yamnet.load(
        weights, YamnetParams(patch_hop_seconds=hop_seconds), backend=backend, threads=threads
    )


def class_selection(
    class_map: ClassMap | None = None,
    *,
    classes: ClassList | None = None,
    label_map: str | os.PathLike | None = None,
) -> ClassSelection:
    """The event labels to report: a class list, a label map, or (default) all classes.

    Parameters
    ----------
    class_map : ClassMap, optional
        YAMNet's classes (``model.class_map``); by default the reference class map.
    classes : str or sequence of str, optional
        YAMNet display names or mids: comma-separated in one string (``"Dog,Bark"``; names that
        contain commas, such as ``"Chicken, rooster"``, are recognised) or one per item.
    label_map : str or os.PathLike, optional
        CSV ``event_label,yamnet_display_names`` (see :func:`sed.classes.read_label_map`).

    Raises
    ------
    ParameterError
        If both are given, a name is unknown, or ``classes`` is neither a string nor a sequence
        of strings.
    """
    if classes is not None and label_map is not None:
        raise ParameterError("give either a class list or a label map, not both")
    class_map = class_map or load_class_map()
    if classes is not None:
        return parse_class_list(classes, class_map)
    if label_map is not None:
        return read_label_map(label_map, class_map)
    return all_classes(class_map)


@dataclass
class Detection:
    """The result of a detection on one recording.

    Attributes
    ----------
    score_grid : ScoreGrid or None
        Scores of the event labels on the scorer's grid, ``(n_rows, n_labels)``: 0.96 s
        windows, or a frame-level head's 80 ms frames. None when they were not kept
        (``keep_scores=False``).
    events : pd.DataFrame
        The canonical event table (``filename, onset, offset, event_label, score``).
    filename : str
        The recording as named in the tables.
    duration_seconds : float
        True length of the recording, in seconds.
    """

    score_grid: ScoreGrid | None
    events: pd.DataFrame
    filename: str
    duration_seconds: float


def resolve_scorer(
    model: Yamnet,
    *,
    head: Scorer | None = None,
    classes: ClassList | None = None,
    label_map: str | os.PathLike | None = None,
    selection: ClassSelection | None = None,
) -> Scorer:
    """What scores the audio: a head (of any kind, checked to fit ``model``), or raw YAMNet
    with a class selection (:class:`sed.segmenter.YamnetScorer`).

    This is the one place where "a head brings its own labels" is decided.

    Parameters
    ----------
    model : sed.model.Yamnet
    head : Scorer, optional
        A head from :func:`load_head` (or any :class:`sed.segmenter.Scorer`).
    classes, label_map, selection
        Which of YAMNet's classes to report without a head (see :func:`class_selection`;
        ``selection`` is an already resolved one); all 521 by default.

    Raises
    ------
    ParameterError
        If classes, a label map or a selection are given with a head, or a class is unknown.
    ModelError
        If the head does not fit the model's hop, sample rate or weights.
    """
    check_labels_source(head, classes, label_map, selection)
    if head is not None:
        head.check_compatible(model)
        return head
    if selection is None:
        selection = class_selection(model.class_map, classes=classes, label_map=label_map)
    return YamnetScorer(selection)


def check_labels_source(
    head,
    classes=None,
    label_map=None,
    selection=None,
    *,
    head_name: str = "a head",
    others_name: str = "classes, label map or selection",
) -> None:
    """A head brings its own labels: refuse classes, a label map or a selection beside it.

    Parameters
    ----------
    head : object or None
        A head, or anything naming one (a head directory); None for raw YAMNet.
    classes, label_map, selection : optional
        Anything but None (or an empty string) counts as given.
    head_name, others_name : str
        What the message calls the head and the others: the CLI names its options
        (``"--head"``, ``"--classes or --label-map"``).

    Raises
    ------
    ParameterError
        If a head and any of the others are given: ``<head_name> sets the classes: give no
        <others_name> with it``.
    """
    if head is not None and any(item not in (None, "") for item in (classes, label_map, selection)):
        raise ParameterError(f"{head_name} sets the classes: give no {others_name} with it")


def detect(
    waveform: np.ndarray,
    sample_rate: int,
    *,
    model: Yamnet,
    classes: ClassList | None = None,
    label_map: str | os.PathLike | None = None,
    selection: ClassSelection | None = None,
    head: Scorer | None = None,
    postprocessing: PostProcessing | None = None,
    filename: str = "",
    resampler: str = DEFAULT_RESAMPLER,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Detection:
    """Detect sound events in a waveform.

    Parameters
    ----------
    waveform : np.ndarray [shape=(n_samples,) or (n_samples, n_channels), dtype=float]
        Audio in [-1, 1] at ``sample_rate``, samples first (as ``soundfile.read`` returns it;
        ``librosa.load(mono=False)``'s ``(n_channels, n_samples)`` needs a ``.T``); channels
        are averaged. Integer samples are refused: scale them to [-1, 1] first.
    sample_rate : int > 0
        In Hz; resampled to 16 kHz with ``resampler``.
    model : sed.model.Yamnet
    classes, label_map, selection
        Which of YAMNet's classes to report (see :func:`class_selection`); ``selection`` is an
        already resolved one. All classes by default.
    head : sed.heads.head.Head or sed.heads.frame_head.FrameHead, optional
        Report the head's classes instead of YAMNet's (any :class:`sed.segmenter.Scorer`, see
        :func:`resolve_scorer`); then none of ``classes``, ``label_map`` and ``selection`` may
        be given. A frame-level head scores 80 ms frames instead of windows: the result's
        ``score_grid`` then holds frame scores.
    postprocessing : PostProcessing, optional
        By default the head's own (tuned on its validation data when it was trained;
        :attr:`sed.segmenter.Scorer.default_postprocessing`), else ``PostProcessing()``.
    filename : str
        Written in the ``filename`` column.
    resampler : {"soxr", "resampy"}
    batch_size : int > 0
        Windows per model call.

    Returns
    -------
    detection : Detection

    Raises
    ------
    AudioError
        If the waveform is empty or has NaN or infinite samples.
    ParameterError
        For integer samples, a shape other than ``(n,)`` or ``(n, channels)`` (channels first
        included), an unknown class, resampler or bad sample rate, something else than a
        loaded model or a :class:`PostProcessing`, or classes given with a head.
    ModelError
        If ``head`` was trained with another hop, sample rate or weights.
    """
    if isinstance(sample_rate, bool) or not (
        isinstance(sample_rate, (int, np.integer)) and sample_rate > 0
    ):
        raise ParameterError(f"sample rate must be a positive integer in Hz, got {sample_rate!r}")
    check_resampler(resampler)
    _check_arguments(model, postprocessing)
    samples = check_waveform(waveform, filename or None)
    scorer = resolve_scorer(
        model, head=head, classes=classes, label_map=label_map, selection=selection
    )
    mono = to_mono(samples)
    audio = (
        resample(mono, int(sample_rate), model.params.sample_rate, resampler=resampler)
        if mono.size
        else mono
    )
    scores = score_waveform(
        audio,
        model,
        scorer,
        filename=filename,
        duration_seconds=mono.shape[0] / sample_rate,
        batch_size=batch_size,
    )
    return _finish(scores, scorer, postprocessing)


def detect_file(
    path: str | os.PathLike,
    *,
    model: Yamnet,
    classes: ClassList | None = None,
    label_map: str | os.PathLike | None = None,
    selection: ClassSelection | None = None,
    head: Scorer | None = None,
    postprocessing: PostProcessing | None = None,
    resampler: str = DEFAULT_RESAMPLER,
    batch_size: int = DEFAULT_BATCH_SIZE,
    overlap: bool = True,
    keep_scores: bool = True,
) -> Detection:
    """Detect sound events in an audio file (see :func:`detect` for the parameters).

    The file is read and scored block by block (:func:`sed.segmenter.score_file`). Only the
    score grid grows with its length (``(n_windows, n_labels)`` float32: 150 MB for 10 hours
    of all 521 classes at the 0.5 s hop); without it memory stays flat.

    Parameters
    ----------
    overlap : bool
        Decode and compute features in a second thread while the model runs (see
        :func:`sed.segmenter.score_stream`); results are the same either way.
    keep_scores : bool
        Keep the score grid in the result. False: the scores go through the streaming
        post-processing (:class:`sed.postprocessing.EventStream`) as they are made and none is
        kept (``score_grid`` is None); the events are the same.

    Raises
    ------
    AudioError
        If the file is missing, empty, truncated, not audio, or holds NaN samples.
    ParameterError
        If ``path`` is not a path (an array belongs to :func:`detect`), or as :func:`detect`.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ParameterError(
            f"path must be a file path, got {type(path).__name__}"
            + ("; detect() takes arrays" if isinstance(path, np.ndarray) else "")
        )
    check_resampler(resampler)
    _check_arguments(model, postprocessing)
    scorer = resolve_scorer(
        model, head=head, classes=classes, label_map=label_map, selection=selection
    )
    detector = Detector(model, scorer, postprocessing, resampler, batch_size, overlap)
    return detector.detect_file(path, keep_scores=keep_scores)


def _check_arguments(model, postprocessing) -> None:
    """Refuse a model that is not loaded YAMNet and post-processing that is neither a
    configuration nor None (None: the head's own, else the defaults)."""
    if not (hasattr(model, "predict") and isinstance(getattr(model, "params", None), YamnetParams)):
        raise ParameterError(
            f"model must be YAMNet as sed.load_model() returns it, got {type(model).__name__}"
        )
    if postprocessing is not None and not isinstance(postprocessing, PostProcessing):
        raise ParameterError(
            "postprocessing must be a sed.PostProcessing (sed.load_config(path) reads one), got "
            f"{type(postprocessing).__name__}"
        )


def postprocessing_in_use(
    given: PostProcessing | None, own: PostProcessing | None
) -> PostProcessing:
    """Which post-processing applies, the one rule every command follows: the configuration
    given, else the scorer's own (a head's, tuned on its validation data when it was trained:
    :attr:`sed.segmenter.Scorer.default_postprocessing`), else the defaults."""
    return given or own or PostProcessing()


def _finish(scores: ScoreGrid, scorer: Scorer, postprocessing: PostProcessing | None) -> Detection:
    config = postprocessing_in_use(postprocessing, scorer.default_postprocessing)
    return Detection(scores, config.events(scores), scores.filename, scores.duration_seconds)


def _stream_events(path: str | os.PathLike, detector: Detector) -> Detection:
    """Detect events in a file without keeping its scores: each chunk of rows goes through
    the streaming post-processing (:class:`EventStream`, the same events as
    :func:`sed.postprocessing.detect_events` on the whole grid) as the model makes it, so only
    the open events' neighbourhood of scores and 10 ms levels is kept."""
    model, scorer = detector.model, detector.scorer
    stream = open_stream(model, scorer, batch_size=detector.batch_size, keep_levels=False)
    rate = model.params.sample_rate
    blocks, info = stream_audio(path, sample_rate=rate, resampler=detector.resampler)
    config = postprocessing_in_use(detector.postprocessing, scorer.default_postprocessing)
    deciding = EventStream(stream.labels, config, frames_tile=stream.tiles)
    filename, duration = display_path(path), info.duration_seconds
    events = []
    chunks = score_chunks(
        blocks, stream, sample_rate=rate, filename=filename, overlap=detector.overlap
    )
    for chunk in chunks:
        # Never past the true length: an event reaching past it waits to be clipped to it.
        received = min(stream.samples / rate, duration)
        events += deciding.push(
            chunk.scores, chunk.starts, chunk.ends, chunk.frame_level_db, audio_seconds=received
        )
    events += deciding.finish(duration)
    return Detection(None, events_table(filename, events), filename, duration)


def load_head(directory: str | os.PathLike, model: Yamnet | None = None) -> Scorer:
    """Load a head written by ``sed train``, of either kind (``head.json`` says which): a window
    head (:meth:`sed.heads.head.Head.load`) or a frame-level head
    (:meth:`sed.heads.frame_head.FrameHead.load`).

    Parameters
    ----------
    directory : str or os.PathLike
    model : sed.model.Yamnet, optional
        When given, the head must fit its settings.

    Raises
    ------
    ModelError
        If the directory is not a head, or the head does not fit ``model``.
    """
    from sed.heads.frame_head import FrameHead
    from sed.heads.head import FRAME_KIND, Head, head_description, head_kind

    kind = head_kind(head_description(directory)[1])
    head: Scorer = (
        FrameHead.load(directory, threads=model.threads if model is not None else None)
        if kind == FRAME_KIND
        else Head.load(directory)
    )
    if model is not None:
        head.check_compatible(model)
    return head


def train_head_files(
    data: str | os.PathLike,
    output: str | os.PathLike,
    *,
    model: Yamnet | Callable[[], Yamnet],
    classes: Sequence[str] | None = None,
    background: str | os.PathLike | None = None,
    config=None,
    folds: int | None = None,
    cache_dir: str | os.PathLike | None = None,
    resampler: str = DEFAULT_RESAMPLER,
    progress: bool = False,
    warn: Callable[[str], None] | None = None,
    **clip_options,
) -> dict:
    """Train a window head on labelled clips and write it with its reports (``sed train``).

    Parameters
    ----------
    data : str or os.PathLike
        A folder with a sub-folder per class, or a CSV (:func:`sed.heads.datasets.load_dataset`,
        which also takes ``clip_options``: ``label_column``, ``filename_column``,
        ``group_column``, ``where``, ``audio_dir``), or an excerpt table: an event table or a
        review's verdicts file (:func:`sed.heads.excerpts.excerpt_dataset`, which takes
        ``audio_dir`` only; without ``config``, trained with
        :data:`sed.heads.config.EXCERPT_TRAINING`, and never with mixtures unless
        ``config.mixtures`` asks for them).
    output : str or os.PathLike
        The head directory.
    model : sed.model.Yamnet, or a callable that loads it
        A callable is called once the data has been read, so that bad data is reported before
        the model loads.
    classes : sequence of str, optional
    background : str or os.PathLike, optional
    config : sed.heads.config.TrainingConfig, optional
    folds : int >= 2, optional
        Also cross-validate.
    cache_dir : str or os.PathLike, optional
        Embedding cache (default :func:`sed.heads.embeddings.default_cache_dir`).
    resampler : {"soxr", "resampy"}
    progress : bool
    warn : callable, optional
        Receives one-line warnings (clips left out, labels the split leaves short).

    Returns
    -------
    report : dict
        :func:`sed.heads.reports.train_and_report`'s.

    Raises
    ------
    ParameterError
        If the plan cannot work (more folds than groups, mixtures without background
        recordings...), found before the model loads.
    """
    from sed.heads.config import EXCERPT_TRAINING, TrainingConfig
    from sed.heads.datasets import load_dataset
    from sed.heads.embeddings import EmbeddingCache
    from sed.heads.excerpts import is_excerpt_table
    from sed.heads.reports import train_and_report
    from sed.heads.training import check_training_plan

    if is_excerpt_table(data):
        dataset = _excerpt_dataset(data, classes, background, resampler, clip_options)
        config = config or TrainingConfig(**EXCERPT_TRAINING)
        if config.mixtures is None:  # 'wrong' excerpts are negatives, not backgrounds to mix over
            config = replace(config, mixtures=0)
    else:
        config = config or TrainingConfig()
        dataset = load_dataset(
            data,
            classes=list(classes) if classes is not None else None,
            background=background,
            **clip_options,
        )
    check_training_plan(dataset, config, folds)  # before the model loads
    return train_and_report(
        dataset,
        model if not callable(model) else model(),
        output,
        config=config,
        folds=folds,
        cache=EmbeddingCache(cache_dir),
        resampler=resampler,
        progress=progress,
        warn=warn,
    )


def _excerpt_dataset(data, classes, background, resampler: str, clip_options: dict):
    """:func:`sed.heads.excerpts.excerpt_dataset` of ``data``, refusing the clip CSV's options."""
    from sed.heads.config import DEFAULT_FILENAME_COLUMN, DEFAULT_LABEL_COLUMN
    from sed.heads.excerpts import excerpt_dataset

    defaults: dict[str, object] = {
        "label_column": DEFAULT_LABEL_COLUMN,
        "filename_column": DEFAULT_FILENAME_COLUMN,
        "group_column": None,
        "where": {},
    }
    given = [
        "--" + name.replace("_", "-")
        for name, default in defaults.items()
        if clip_options.get(name, default) not in (default, None)
    ]
    if given:
        raise ParameterError(
            f"{', '.join(given)} apply to a CSV of clips, not an excerpt table "
            "(filename, onset, offset, event_label[, verdict])",
            os.fspath(data),
        )
    return excerpt_dataset(
        data,
        classes=list(classes) if classes is not None else None,
        audio_dir=clip_options.get("audio_dir"),
        background=background,
        resampler=resampler,
    )


def train_frame_head_files(
    data: str | os.PathLike | None,
    output: str | os.PathLike,
    *,
    model: Yamnet | Callable[[], Yamnet],
    recordings: str | os.PathLike | None = None,
    annotations: str | os.PathLike | None = None,
    classes: Sequence[str] | None = None,
    background: str | os.PathLike | None = None,
    non_target: str | os.PathLike | None = None,
    config=None,
    cache_dir: str | os.PathLike | None = None,
    resampler: str = DEFAULT_RESAMPLER,
    progress: bool = False,
    label_map: str | os.PathLike | None = None,
    **clip_options,
) -> dict:
    """Train a frame-level head on strong labels and write it (``sed train --frame-level``).

    Parameters
    ----------
    data : str or os.PathLike, optional
        Event clips (a folder per class or a CSV, with ``clip_options`` as for
        :func:`train_head_files`) to synthesise soundscapes from, over the background
        recordings (a ``_background`` folder or ``background``).
    output : str or os.PathLike
        The head directory.
    model : sed.model.Yamnet, or a callable that loads it (see :func:`train_head_files`)
    recordings, annotations : str or os.PathLike, optional
        Annotated recordings and their annotation files, paired by name
        (:func:`sed.heads.strong.annotated_recordings`).
    classes : sequence of str, optional
    background : str or os.PathLike, optional
    non_target : str or os.PathLike, optional
        A folder of clips of other sounds, mixed into the soundscapes unlabelled
        (:func:`sed.heads.strong.strong_dataset`).
    config : sed.heads.config.FrameTrainingConfig, optional
    cache_dir : str or os.PathLike, optional
        Feature cache (default :func:`sed.heads.frame_features.default_feature_cache_dir`).
    resampler : {"soxr", "resampy"}
    progress : bool
    label_map : str or os.PathLike, optional
        CSV ``event_label,yamnet_display_names`` (:func:`sed.classes.read_label_map`): the
        report then gives raw YAMNet's figures with it on the unheard validation data, and says
        when the head does worse (:func:`sed.heads.frame_training.yamnet_comparison`). Read
        before the model loads.

    Returns
    -------
    report : dict
        :func:`sed.heads.reports.train_frame_and_report`'s. The post-processing is tuned for
        event-based F1 on the unheard validation sequences (all of them when none is unheard)
        and stored in the head as its default (:func:`head_postprocessing`).

    Raises
    ------
    ParameterError, AnnotationError, AudioError
        For unusable data: no source, a class with no material, an annotation naming a
        recording without audio, an unreadable clip (each named).
    """
    from sed.heads.config import FrameTrainingConfig
    from sed.heads.frame_features import FeatureCache
    from sed.heads.reports import train_frame_and_report
    from sed.heads.strong import strong_dataset
    from sed.tuning import evaluate_config, tune

    dataset = strong_dataset(
        data,
        recordings=recordings,
        annotations=annotations,
        classes=classes,
        background=background,
        non_target=non_target,
        **clip_options,
    )
    selection = None
    if label_map is not None:  # read before the model loads: a bad map is one line, at once
        selection = class_selection(label_map=label_map)
        if not set(selection.event_labels) & set(dataset.classes):
            raise ParameterError(
                f"the label map names none of the classes trained ({', '.join(dataset.classes)})",
                label_map,
            )
    return train_frame_and_report(
        dataset,
        model if not callable(model) else model(),
        output,
        config=config or FrameTrainingConfig(),
        cache=FeatureCache(cache_dir),
        resampler=resampler,
        progress=progress,
        tune=tune,
        evaluate=evaluate_config,
        yamnet_selection=selection,
        label_map=os.fspath(label_map) if label_map is not None else "",
    )


def top_classes(
    window_scores: ScoreGrid, k: int = DEFAULT_TOP_K, *, aggregation: str = "mean"
) -> pd.DataFrame:
    """The ``k`` classes with the highest clip score (the reference ``inference.py``'s mean).

    Parameters
    ----------
    window_scores : ScoreGrid
    k : int >= 1
    aggregation : {"mean", "max"}
        A label's clip score: its mean over windows (the reference's rule for 0.96 s windows),
        or its highest frame score (for a frame-level head, whose frames are 80 ms: an event
        fills few of them, and its frames score high where it sounds).

    Returns
    -------
    table : pd.DataFrame
        Columns ``rank`` (1-based), ``label``, ``score`` (in [0, 1]).

    Raises
    ------
    ParameterError
        If ``k`` < 1.
    """
    import pandas as pd

    if k < 1:
        raise ParameterError(f"k must be at least 1, got {k}")
    if aggregation not in ("mean", "max"):
        raise ParameterError(f"unknown aggregation {aggregation!r}; choose mean or max")
    clip = getattr(window_scores.scores, aggregation)(axis=0)
    order = np.argsort(-clip, kind="stable")[:k]
    return pd.DataFrame(
        {
            "rank": np.arange(1, len(order) + 1),
            "label": [window_scores.labels[i] for i in order],
            "score": clip[order],
        }
    )


@dataclass
class Tagging:
    """The clip-level tags of one recording (what ``sed tag`` prints).

    Attributes
    ----------
    score_grid : ScoreGrid
        The scores the tags come from: YAMNet's 521 classes, or a head's labels.
    top : pd.DataFrame
        :func:`top_classes` of them.
    """

    score_grid: ScoreGrid
    top: pd.DataFrame


def tag_file(
    path: str | os.PathLike,
    *,
    model: Yamnet,
    head: Scorer | None = None,
    k: int = DEFAULT_TOP_K,
    classes: ClassList | None = None,
    label_map: str | os.PathLike | None = None,
    selection: ClassSelection | None = None,
    resampler: str = DEFAULT_RESAMPLER,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Tagging:
    """Tag a recording: its ``k`` classes with the highest window-averaged score (with a
    frame-level head: the highest frame score, see :func:`top_classes`).

    Parameters
    ----------
    path : str or os.PathLike
        An audio file.
    model : sed.model.Yamnet
    head : Head or FrameHead, optional
        Tag with the head's labels instead of YAMNet's classes.
    k : int >= 1
    classes, label_map, selection
        The labels that may be tags (see :func:`class_selection`); all 521 classes by default.
        Not with ``head``.
    resampler : {"soxr", "resampy"}
    batch_size : int > 0

    Returns
    -------
    tagging : Tagging

    Raises
    ------
    AudioError
        If the file cannot be used.
    ModelError
        If ``head`` does not fit ``model``.
    ParameterError
        If ``k`` < 1, a class is unknown, or classes are given with a head.
    """
    scorer = resolve_scorer(
        model, head=head, classes=classes, label_map=label_map, selection=selection
    )
    return _tag(path, model, scorer, k, resampler=resampler, batch_size=batch_size)


def _tag(path, model: Yamnet, scorer: Scorer, k: int, *, resampler: str, batch_size: int):
    if k < 1:  # before the recording is scored
        raise ParameterError(f"k must be at least 1, got {k}")
    scores = score_file(path, model, scorer, resampler=resampler, batch_size=batch_size)
    return Tagging(scores, top_classes(scores, k, aggregation=scorer.clip_aggregation))


#: The columns of a tag table before its labels, one row per recording.
TAG_TABLE_COLUMNS = ("filename", "duration_seconds")
#: Seconds between two writes of a growing tag table (it is also written at the end, on an
#: error and on an interruption): rewriting it after every recording would cost O(n^2).
TAG_TABLE_WRITE_SECONDS = 30.0


@dataclass
class TagTableRun:
    """What :func:`tag_files` did.

    Attributes
    ----------
    table : pd.DataFrame
        The clip x label table as written: ``filename``, ``duration_seconds``, then one column
        per label (clip scores in [0, 1]), a row per recording in the order tagged.
    tagged : int
        Recordings tagged by this run.
    skipped : int
        Recordings already in the table (by ``filename``), not tagged again.
    failures : list of (str, str)
        Recordings that could not be tagged, with the one-line error; they are not in the
        table, so a run of the same command retries them.
    """

    table: pd.DataFrame
    tagged: int = 0
    skipped: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)


def tag_files(
    paths: Iterable[str | os.PathLike],
    output: str | os.PathLike,
    *,
    detector: Detector,
    resume: bool = True,
    progress: Callable[[str], None] | None = None,
) -> TagTableRun:
    """Tag many recordings into one clip x label table (OpenSoundscape's ``predict`` habit).

    Each recording's clip score per label is its mean over windows (the reference
    ``inference.py``'s rule; a frame-level head's highest frame score), as :func:`tag_file`
    ranks them. The table is CSV, or Parquet when ``output`` ends in ``.parquet``; it is
    written atomically (:func:`sed.infra.atomic_path`) every
    :data:`TAG_TABLE_WRITE_SECONDS` and at the end, so a stopped run loses at most that much
    work and a rerun resumes.

    Parameters
    ----------
    paths : iterable of str or os.PathLike
        Audio files, in the order of the rows.
    output : str or os.PathLike
        The table file.
    detector : Detector
        The model, scorer and reading settings (its post-processing is not used).
    resume : bool
        Keep the rows of an existing table at ``output`` and skip its recordings; False starts
        a new table.
    progress : callable, optional
        Called with each recording's path once it is dealt with.

    Returns
    -------
    run : TagTableRun

    Raises
    ------
    ParameterError
        If the existing table is not a tag table of the same labels (tagged with other
        classes or another head: start a new one), or Parquet is asked for without pyarrow.
    sed.errors.WriteError
        If the table cannot be written.
    """
    import time

    import pandas as pd

    from sed.errors import SedError

    output = os.fspath(output)
    labels = list(detector.scorer.labels)
    columns = [*TAG_TABLE_COLUMNS, *labels]
    rows: list[dict] = []
    if resume and os.path.isfile(output) and os.path.getsize(output) > 0:
        previous = _read_tag_table(output)
        if list(previous.columns) != columns:
            raise ParameterError(
                "holds a tag table of other labels (other --classes, --label-map or --head); "
                "give --overwrite to start a new one, or another file",
                output,
            )
        rows = previous.to_dict(orient="records")
    done = {str(row["filename"]) for row in rows}
    run = TagTableRun(table=pd.DataFrame(columns=columns))
    last_write = time.monotonic()
    try:
        for given in paths:
            path = str(os.fspath(given))
            if path in done:
                run.skipped += 1
            else:
                try:
                    scores = detector.tag_file(path).score_grid
                except SedError as error:
                    run.failures.append((path, str(error)))
                else:
                    clip = getattr(scores.scores, detector.scorer.clip_aggregation)(axis=0)
                    rows.append(
                        {
                            "filename": path,
                            "duration_seconds": round(float(scores.duration_seconds), 3),
                            **dict(zip(labels, map(float, clip))),
                        }
                    )
                    done.add(path)
                    run.tagged += 1
                    if time.monotonic() - last_write >= TAG_TABLE_WRITE_SECONDS:
                        _write_tag_table(pd.DataFrame(rows, columns=columns), output)
                        last_write = time.monotonic()
            if progress is not None:
                progress(path)
    finally:
        # Written on an interruption too: what was tagged is kept for the next run.
        run.table = pd.DataFrame(rows, columns=columns)
        _write_tag_table(run.table, output)
    return run


def _read_tag_table(path: str) -> pd.DataFrame:
    import pandas as pd

    if path.lower().endswith(".parquet"):
        return pd.read_parquet(path)
    return pd.read_csv(path, keep_default_na=False, dtype={"filename": str})


def _write_tag_table(table: pd.DataFrame, path: str) -> None:
    from sed.infra import atomic_path

    parquet = path.lower().endswith(".parquet")
    if parquet:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            message = "a .parquet table needs pyarrow (pip install pyarrow)"
            raise ParameterError(message, path) from None
    with atomic_path(path) as temporary:
        if parquet:
            table.to_parquet(temporary, index=False)
        else:
            table.to_csv(temporary, index=False, float_format="%.6f")


def plot_file(
    path: str | os.PathLike,
    output: str | os.PathLike,
    *,
    model: Yamnet,
    selection: ClassSelection | None = None,
    head: Scorer | None = None,
    estimated: pd.DataFrame | None = None,
    reference: pd.DataFrame | None = None,
    top_n: int = DEFAULT_TOP_N,
    band_hz: tuple[float, float] | None = None,
    resampler: str = DEFAULT_RESAMPLER,
    batch_size: int = DEFAULT_BATCH_SIZE,
    overwrite: bool = False,
) -> None:
    """Score a recording and write its four-panel figure (:func:`sed.plotting.recording_figure`).

    Parameters
    ----------
    path : str or os.PathLike
        Audio file.
    output : str or os.PathLike
        Figure file; the format follows the suffix (``.png``, ``.pdf``, ``.svg``). Written
        atomically.
    model : sed.model.Yamnet
    selection : ClassSelection, optional
        Labels eligible for the heat map; by default all 521 classes.
    head : Scorer, optional
        Draw a head's scores (of any kind) instead of YAMNet's; not with ``selection``.
    estimated, reference : pd.DataFrame, optional
        Event tables to draw in the event roll.
    overwrite : bool
        Replace an existing ``output`` that ``sed`` did not write (see
        :func:`sed.outputs.check_outputs`); without it, it is refused.
    top_n : int >= 1
    band_hz : (float, float), optional
        Frequencies of the spectrogram panel, in Hz, within 125 to 7500 Hz (the log-mel band,
        the default; :func:`sed.params.check_band`).
    resampler : {"soxr", "resampy"}
    batch_size : int > 0
        Windows per model call.

    Raises
    ------
    AudioError
        If the file cannot be used.
    ParameterError
        If ``top_n`` < 1, the band is outside the log-mel band or the suffix is not a figure
        format (all checked before the audio is read).
    OutputError
        If ``output`` is the recording (under any name) or cannot be written (checked first).
    """
    from sed.features import log_mel_spectrogram, pad_waveform
    from sed.outputs import Output, check_outputs
    from sed.plotting import check_figure_path, recording_figure, save_figure

    check_figure_path(output)
    check_band(band_hz, model.params)
    check_outputs([Output(output, "output")], inputs={"path": path}, overwrite=overwrite)
    waveform, info = load_audio(path, sample_rate=model.params.sample_rate, resampler=resampler)
    window_scores = score_waveform(
        waveform,
        model,
        resolve_scorer(model, head=head, selection=selection),
        filename=os.fspath(path),
        duration_seconds=info.duration_seconds,
        batch_size=batch_size,
    )
    log_mel = log_mel_spectrogram(
        pad_waveform(waveform, model.params),
        model.params,
        implementation=model.feature_implementation,
    )
    figure = recording_figure(
        waveform,
        log_mel,
        window_scores,
        model.params,
        estimated=estimated,
        reference=reference,
        top_n=top_n,
        band_hz=band_hz,
        title=os.path.basename(os.fspath(path)),
    )
    save_figure(figure, output)


def score_files(
    paths: Iterable[str | os.PathLike],
    *,
    model: Yamnet,
    selection: ClassSelection | None = None,
    head: Scorer | None = None,
    resampler: str = DEFAULT_RESAMPLER,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> list[ScoreGrid]:
    """Window scores of several recordings, computed once (for tuning and evaluation).

    Parameters
    ----------
    paths : iterable of str or os.PathLike
        Audio files.
    model : sed.model.Yamnet
    selection : ClassSelection, optional
        Event labels to keep; by default every class. Not used with ``head``.
    head : Scorer, optional
        Score the head's event labels instead of YAMNet's classes (see :func:`resolve_scorer`).
    resampler : {"soxr", "resampy"}
    batch_size : int >= 1
        Windows per model call.

    Returns
    -------
    window_scores : list of ScoreGrid
        One per file, in order, with ``filename`` the path as given.

    Raises
    ------
    AudioError
        If a file cannot be used.
    ModelError
        If ``head`` was trained with another hop, sample rate or weights.
    """
    scorer = resolve_scorer(model, head=head, selection=selection)
    return [
        score_file(path, model, scorer, resampler=resampler, batch_size=batch_size)
        for path in paths
    ]


@dataclass(frozen=True)
class DetectorSpec:
    """Everything needed to build a :class:`Detector`, as plain picklable values.

    A batch sends the spec, not a loaded model, to its worker processes; each worker builds its
    own detector once. :meth:`settings` lists what can change results, for the batch's
    fingerprint and parameters file.

    Attributes
    ----------
    weights : str, optional
        YAMNet weights path (None: ``$SED_YAMNET_WEIGHTS`` or the packaged weights).
    hop_seconds : float > 0
        Window hop, a multiple of 0.01 s.
    resampler : {"soxr", "resampy"}
    classes : str, optional
        Comma-separated YAMNet class names (exclusive with ``label_map`` and ``head_dir``).
    label_map : str, optional
        Label map CSV path.
    postprocessing : PostProcessing, optional
        By default the head's own (:func:`head_postprocessing`), else ``PostProcessing()``.
    backend : {"auto", "litert", "tensorflow"}
        What runs YAMNet (see :func:`load_model`).
    batch_size : int > 0
        Windows per model call (does not change results).
    threads : int >= 1, optional
        LiteRT threads (a batch with several worker processes uses 1 per worker).
    overlap : bool
        Decode and compute features in a second thread while the model runs (off in workers
        of a parallel batch, where the processes already fill the cores).
    head_dir : str, optional
        Directory of a head trained by ``sed train``: its labels are reported instead of
        YAMNet's.
    """

    weights: str | None = None
    hop_seconds: float = DEFAULT_HOP_SECONDS
    resampler: str = DEFAULT_RESAMPLER
    classes: str | None = None
    label_map: str | None = None
    postprocessing: PostProcessing | None = None
    backend: str = DEFAULT_BACKEND
    batch_size: int = DEFAULT_BATCH_SIZE
    threads: int | None = None
    overlap: bool = True
    head_dir: str | None = None

    def __post_init__(self):
        check_labels_source(self.head_dir, self.classes, self.label_map)

    def build(self) -> Detector:
        """Load the model (and head) and resolve the class selection.

        Raises
        ------
        ModelError, ParameterError
            As :func:`load_model`, :func:`load_head` and :func:`class_selection`.
        """
        if self.head_dir is None:  # unknown classes are reported before the model loads
            selection = class_selection(classes=self.classes, label_map=self.label_map)
        model = load_model(
            self.weights, hop_seconds=self.hop_seconds, backend=self.backend, threads=self.threads
        )
        if self.head_dir is not None:
            scorer = resolve_scorer(model, head=load_head(self.head_dir))
        else:
            scorer = resolve_scorer(model, selection=selection)
        return Detector(
            model, scorer, self.postprocessing, self.resampler, self.batch_size, self.overlap
        )

    def settings(self, model: Yamnet | None = None) -> dict:
        """The result-affecting settings as a JSON-serialisable dict.

        Parameters
        ----------
        model : sed.model.Yamnet, optional
            When given, the weights actually used (resolved path) are recorded.
        """
        from dataclasses import asdict

        settings = asdict(self)
        for speed_only in ("batch_size", "threads", "overlap"):  # results do not depend on them
            del settings[speed_only]
        if self.postprocessing is None:  # the configuration used: the head's own, or defaults
            from sed.heads.head import head_description, stored_postprocessing

            own = None
            if self.head_dir is not None:
                own = stored_postprocessing(head_description(self.head_dir)[1], self.head_dir)
            settings["postprocessing"] = asdict(postprocessing_in_use(None, own))
        settings["weights"] = model.source if model is not None else self.weights
        if model is not None:
            settings["backend"] = model.backend
        if self.label_map is not None:
            settings["label_map_content"] = _file_text(self.label_map)
        if self.head_dir is not None:  # a head retrained in place gives other results
            settings["head_sha256"] = content_sha256(self.head_dir)
        return settings


def _file_text(path: str) -> str:
    with open(path, encoding="utf-8-sig") as handle:
        return handle.read()


@dataclass
class Detector:
    """A loaded model with its scorer and post-processing: the unit a batch runs.

    Attributes
    ----------
    model : sed.model.Yamnet
    scorer : sed.segmenter.Scorer
        What scores the audio: YAMNet with a class selection, or a head of any kind.
    postprocessing : PostProcessing or None
        None: the scorer's own, else ``PostProcessing()``.
    resampler : {"soxr", "resampy"}
    batch_size : int > 0
    overlap : bool
        See :class:`DetectorSpec`.
    """

    model: Yamnet
    scorer: Scorer
    postprocessing: PostProcessing | None
    resampler: str = DEFAULT_RESAMPLER
    batch_size: int = DEFAULT_BATCH_SIZE
    overlap: bool = True

    def detect_file(self, path: str | os.PathLike, *, keep_scores: bool = True) -> Detection:
        """Detect events in one file (see :func:`detect_file`); ``keep_scores=False`` keeps
        no score grid, so memory does not grow with the recording."""
        if not keep_scores:
            return _stream_events(path, self)
        scores = score_file(
            path,
            self.model,
            self.scorer,
            resampler=self.resampler,
            batch_size=self.batch_size,
            overlap=self.overlap,
        )
        return _finish(scores, self.scorer, self.postprocessing)

    def tag_file(self, path: str | os.PathLike, k: int = DEFAULT_TOP_K) -> Tagging:
        """Tag one file (see :func:`tag_file`).

        Raises
        ------
        ParameterError
            If ``k`` < 1.
        """
        return _tag(
            path, self.model, self.scorer, k, resampler=self.resampler, batch_size=self.batch_size
        )

    def tag_files(
        self,
        paths: Iterable[str | os.PathLike],
        output: str | os.PathLike,
        *,
        resume: bool = True,
        progress: Callable[[str], None] | None = None,
    ) -> TagTableRun:
        """Tag many files into one clip x label table (see :func:`tag_files`)."""
        return tag_files(paths, output, detector=self, resume=resume, progress=progress)
