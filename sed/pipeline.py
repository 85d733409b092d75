"""The library API: everything the command line does, callable from a notebook.

    >>> import sed
    >>> model = sed.load_model()
    >>> detection = sed.detect_file("street.wav", model=model, classes="Bicycle bell")
    >>> detection.events           # onset, offset, event_label, score
    >>> detection.window_scores.to_frame()

The stages are composed here and nowhere else: audio (:mod:`sed.audio`), features and model
(:mod:`sed.features`, :mod:`sed.model`), segmenter (:mod:`sed.segmenter`), heads
(:mod:`sed.heads`), post-processing (:mod:`sed.postprocessing`), event files (:mod:`sed.events`),
evaluation (:mod:`sed.evaluation`) and plots (:mod:`sed.plotting`). Each command of the CLI
(:mod:`sed.cli`) calls one function here: ``detect`` :func:`detect_file` (and, for archives,
:func:`sed.batch.run_batch` with a :class:`DetectorSpec`), ``tag`` :func:`tag_file`, ``plot``
:func:`plot_file`, ``evaluate`` :func:`evaluate_files`, ``tune`` :func:`development_set`,
:func:`score_files` and :func:`sed.tuning.tune`, ``train`` :func:`train_head_files` (or, with
``--frame-level``, :func:`train_frame_head_files`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeGuard, cast

import numpy as np

from sed.audio import (
    DEFAULT_RESAMPLER,
    audio_by_stem,
    audio_info,
    check_resampler,
    check_waveform,
    load_audio,
    resample,
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
from sed.errors import AnnotationError, AudioError, ParameterError
from sed.evaluation import (
    DEFAULT_EMPTY_SYSTEM_OUTPUT,
    DEFAULT_EVENT_MATCHING,
    DEFAULT_PERCENTAGE_OF_LENGTH,
    DEFAULT_T_COLLAR,
    DEFAULT_TIME_RESOLUTION,
    Evaluation,
    left_out_note,
)
from sed.infra import content_sha256
from sed.model.backends import DEFAULT_BACKEND
from sed.params import DEFAULT_BATCH_SIZE, DEFAULT_HOP_SECONDS, YamnetParams
from sed.plotting import DEFAULT_TOP_N
from sed.postprocessing import PostProcessing
from sed.segmenter import (
    WindowScores,
    score_file,
    score_frames_file,
    score_frames_waveform,
    score_waveform,
)

if TYPE_CHECKING:
    import pandas as pd

    from sed.events import EventSet
    from sed.heads.frame_head import FrameHead
    from sed.heads.head import Head
    from sed.model import Yamnet
    from sed.psds import ThresholdFreeEvaluation

    #: Either kind of trained head: a window head (YAMNet's embeddings) or a frame-level head
    #: (YAMNet's feature maps); :func:`load_head` loads both.
    AnyHead = Head | FrameHead

#: Classes :func:`tag_file` lists unless asked for another number (the reference ``inference.py``).
DEFAULT_TOP_K = 5
#: How ``sed tag`` prints its tags (:func:`sed.events.format_tags`).
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
    window_scores : WindowScores
        Scores of the selected event labels, ``(n_windows, n_labels)``.
    events : pd.DataFrame
        The canonical event table (``filename, onset, offset, event_label, score``).
    """

    window_scores: WindowScores
    events: pd.DataFrame


def _labels_to_score(
    model: Yamnet,
    head: AnyHead | None,
    classes: ClassList | None,
    label_map: str | os.PathLike | None,
    selection: ClassSelection | None,
) -> ClassSelection | None:
    """The class selection, or None when a head brings its own labels (checked to fit)."""
    if head is not None:
        if classes is not None or label_map is not None or selection is not None:
            raise ParameterError(
                "a head sets the classes: give no classes, label map or selection with it"
            )
        check_head(head, model)
        return None
    if selection is not None:
        return selection
    return class_selection(model.class_map, classes=classes, label_map=label_map)


def detect(
    waveform: np.ndarray,
    sample_rate: int,
    *,
    model: Yamnet,
    classes: ClassList | None = None,
    label_map: str | os.PathLike | None = None,
    selection: ClassSelection | None = None,
    head: AnyHead | None = None,
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
        Report the head's classes instead of YAMNet's (see :func:`head_scores`); then none of
        ``classes``, ``label_map`` and ``selection`` may be given. A frame-level head scores
        80 ms frames instead of windows (:func:`sed.segmenter.score_frames_stream`): the
        result's ``window_scores`` are then frame scores.
    postprocessing : PostProcessing, optional
        By default the head's own (a frame head's, tuned on its validation data when it was
        trained; :func:`head_postprocessing`), else ``PostProcessing()``.
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
    selection = _labels_to_score(model, head, classes, label_map, selection)
    mono = to_mono(samples)
    audio = (
        resample(mono, int(sample_rate), model.params.sample_rate, resampler=resampler)
        if mono.size
        else mono
    )
    if is_frame_head(head):
        window_scores = score_frames_waveform(
            audio, model, head, filename=filename, duration_seconds=mono.shape[0] / sample_rate
        )
    else:
        window_scores = score_waveform(
            audio,
            model,
            filename=filename,
            duration_seconds=mono.shape[0] / sample_rate,
            batch_size=batch_size,
            keep_embeddings=head is not None,
        )
    return _finish(window_scores, selection, postprocessing, head)


def detect_file(
    path: str | os.PathLike,
    *,
    model: Yamnet,
    classes: ClassList | None = None,
    label_map: str | os.PathLike | None = None,
    selection: ClassSelection | None = None,
    head: AnyHead | None = None,
    postprocessing: PostProcessing | None = None,
    resampler: str = DEFAULT_RESAMPLER,
    batch_size: int = DEFAULT_BATCH_SIZE,
    overlap: bool = True,
) -> Detection:
    """Detect sound events in an audio file (see :func:`detect` for the parameters).

    The file is read and scored block by block (:func:`sed.segmenter.score_file`): memory does
    not grow with its length.

    Parameters
    ----------
    overlap : bool
        Decode and compute features in a second thread while the model runs (see
        :func:`sed.segmenter.score_stream`); results are the same either way.

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
    selection = _labels_to_score(model, head, classes, label_map, selection)
    window_scores = _score_file(
        path, model, head, resampler=resampler, batch_size=batch_size, overlap=overlap
    )
    return _finish(window_scores, selection, postprocessing, head)


def is_frame_head(head) -> TypeGuard[FrameHead]:
    """Whether ``head`` is a frame-level head (:class:`sed.heads.frame_head.FrameHead`)."""
    from sed.heads.head import FRAME_KIND

    return head is not None and getattr(head, "kind", None) == FRAME_KIND


def _score_file(
    path: str | os.PathLike,
    model: Yamnet,
    head: AnyHead | None,
    *,
    resampler: str,
    batch_size: int,
    overlap: bool = True,
) -> WindowScores:
    """The file's scores as the head (or YAMNet) needs them: frame scores of a frame-level head
    (final), else window scores with embeddings when a window head will score them."""
    if is_frame_head(head):
        return score_frames_file(path, model, head, resampler=resampler, overlap=overlap)
    return score_file(
        path,
        model,
        resampler=resampler,
        batch_size=batch_size,
        keep_embeddings=head is not None,
        overlap=overlap,
    )


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


def _finish(
    window_scores: WindowScores,
    selection: ClassSelection | None,
    postprocessing: PostProcessing | None,
    head: AnyHead | None,
) -> Detection:
    selected = _head_or_selection(window_scores, selection, head)
    config = postprocessing or head_postprocessing(head) or PostProcessing()
    return Detection(selected, config.events(selected))


def head_postprocessing(head: AnyHead | dict | None) -> PostProcessing | None:
    """A head's own post-processing: the configuration a frame head's training tuned on its
    validation data (``head.json``'s ``postprocessing``), or None (window heads, heads trained
    without validation).

    Parameters
    ----------
    head : Head, FrameHead, dict or None
        A head, or its ``head.json`` content.

    Raises
    ------
    ParameterError
        If the stored configuration is not valid.
    """
    metadata = head if isinstance(head, dict) or head is None else head.metadata
    stored = (metadata or {}).get("postprocessing")
    if not stored:
        return None
    return PostProcessing.from_dict(stored, source=getattr(head, "directory", None))


def _head_or_selection(
    window_scores: WindowScores, selection: ClassSelection | None, head: AnyHead | None
) -> WindowScores:
    """The scores of the labels to report: a window head's (from the embeddings), a frame
    head's (already computed), or the selected YAMNet classes."""
    if is_frame_head(head):
        return window_scores
    if head is not None:
        return cast("Head", head).window_scores(window_scores)
    return window_scores.select(selection) if selection is not None else window_scores


def head_scores(window_scores: WindowScores, head: AnyHead, model: Yamnet) -> WindowScores:
    """A head's scores of its event labels, after checking it fits the model's settings.

    Parameters
    ----------
    window_scores : WindowScores
        YAMNet's, with embeddings (``keep_embeddings=True``).
    head : sed.heads.head.Head
    model : sed.model.Yamnet
        The model that computed the embeddings.

    Returns
    -------
    window_scores : WindowScores [scores shape=(n_windows, len(head.event_labels))]
        The background output is left out (it never becomes an event).

    Raises
    ------
    ModelError
        If the head was trained with another hop, sample rate or weights.
    """
    check_head(head, model)
    if is_frame_head(head):
        raise ParameterError(
            "a frame-level head scores feature maps, not windows: use detect_file or "
            "score_files with it"
        )
    return cast("Head", head).window_scores(window_scores)


def check_head(head: AnyHead, model: Yamnet) -> None:
    """Refuse a head trained with another hop, sample rate or weights than ``model``'s.

    Raises
    ------
    ModelError
        Naming the head's directory and what differs.
    """
    head.check_compatible(model.params, model.weights_sha256)


def load_head(directory: str | os.PathLike, model: Yamnet | None = None) -> AnyHead:
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
    head: AnyHead = (
        FrameHead.load(directory, threads=model.threads if model is not None else None)
        if kind == FRAME_KIND
        else Head.load(directory)
    )
    if model is not None:
        check_head(head, model)
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
        ``group_column``, ``where``, ``audio_dir``).
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
    from sed.heads.config import TrainingConfig
    from sed.heads.datasets import load_dataset
    from sed.heads.embeddings import EmbeddingCache
    from sed.heads.reports import train_and_report
    from sed.heads.training import check_training_plan

    dataset = load_dataset(
        data,
        classes=list(classes) if classes is not None else None,
        background=background,
        **clip_options,
    )
    config = config or TrainingConfig()
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


def train_frame_head_files(
    data: str | os.PathLike | None,
    output: str | os.PathLike,
    *,
    model: Yamnet | Callable[[], Yamnet],
    recordings: str | os.PathLike | None = None,
    annotations: str | os.PathLike | None = None,
    classes: Sequence[str] | None = None,
    background: str | os.PathLike | None = None,
    config=None,
    cache_dir: str | os.PathLike | None = None,
    resampler: str = DEFAULT_RESAMPLER,
    progress: bool = False,
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
    config : sed.heads.config.FrameTrainingConfig, optional
    cache_dir : str or os.PathLike, optional
        Feature cache (default :func:`sed.heads.frame_features.default_feature_cache_dir`).
    resampler : {"soxr", "resampy"}
    progress : bool

    Returns
    -------
    report : dict
        :func:`sed.heads.reports.train_frame_and_report`'s. The post-processing is tuned for
        event-based F1 on the validation sequences and stored in the head as its default
        (:func:`head_postprocessing`).

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
    from sed.tuning import tune

    dataset = strong_dataset(
        data,
        recordings=recordings,
        annotations=annotations,
        classes=classes,
        background=background,
        **clip_options,
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
    )


def top_classes(
    window_scores: WindowScores, k: int = DEFAULT_TOP_K, *, aggregation: str = "mean"
) -> pd.DataFrame:
    """The ``k`` classes with the highest clip score (the reference ``inference.py``'s mean).

    Parameters
    ----------
    window_scores : WindowScores
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
    window_scores : WindowScores
        The scores the tags come from: YAMNet's 521 classes, or a head's labels.
    top : pd.DataFrame
        :func:`top_classes` of them.
    """

    window_scores: WindowScores
    top: pd.DataFrame


def tag_file(
    path: str | os.PathLike,
    *,
    model: Yamnet,
    head: AnyHead | None = None,
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
    if k < 1:
        raise ParameterError(f"k must be at least 1, got {k}")
    selection = _labels_to_score(model, head, classes, label_map, selection)
    window_scores = _score_file(path, model, head, resampler=resampler, batch_size=batch_size)
    window_scores = _head_or_selection(window_scores, selection, head)
    aggregation = "max" if is_frame_head(head) else "mean"
    return Tagging(window_scores, top_classes(window_scores, k, aggregation=aggregation))


def plot_file(
    path: str | os.PathLike,
    output: str | os.PathLike,
    *,
    model: Yamnet,
    selection: ClassSelection | None = None,
    estimated: pd.DataFrame | None = None,
    reference: pd.DataFrame | None = None,
    top_n: int = DEFAULT_TOP_N,
    resampler: str = DEFAULT_RESAMPLER,
    batch_size: int = DEFAULT_BATCH_SIZE,
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
    estimated, reference : pd.DataFrame, optional
        Event tables to draw in the event roll.
    top_n : int >= 1
    resampler : {"soxr", "resampy"}
    batch_size : int > 0
        Windows per model call.

    Raises
    ------
    AudioError
        If the file cannot be used.
    ParameterError
        If ``top_n`` < 1 or the suffix is not a figure format.
    OutputError
        If ``output`` is the recording (under any name) or cannot be written (checked first).
    """
    from sed.features import log_mel_spectrogram, pad_waveform
    from sed.outputs import Output, check_outputs
    from sed.plotting import check_figure_path, recording_figure, save_figure  # noqa: I001

    check_figure_path(output)
    check_outputs([Output(output, "output")], inputs={"path": path})
    waveform, info = load_audio(path, sample_rate=model.params.sample_rate, resampler=resampler)
    window_scores = score_waveform(
        waveform,
        model,
        filename=os.fspath(path),
        duration_seconds=info.duration_seconds,
        batch_size=batch_size,
    )
    if selection is not None:
        window_scores = window_scores.select(selection)
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
        title=os.path.basename(os.fspath(path)),
    )
    save_figure(figure, output)


def score_files(
    paths: Iterable[str | os.PathLike],
    *,
    model: Yamnet,
    selection: ClassSelection | None = None,
    head: AnyHead | None = None,
    resampler: str = DEFAULT_RESAMPLER,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> list[WindowScores]:
    """Window scores of several recordings, computed once (for tuning and evaluation).

    Parameters
    ----------
    paths : iterable of str or os.PathLike
        Audio files.
    model : sed.model.Yamnet
    selection : ClassSelection, optional
        Event labels to keep; by default every class. Not used with ``head``.
    head : sed.heads.head.Head, optional
        Score the head's event labels instead of YAMNet's classes (see :func:`head_scores`).
    resampler : {"soxr", "resampy"}
    batch_size : int >= 1
        Windows per model call.

    Returns
    -------
    window_scores : list of WindowScores
        One per file, in order, with ``filename`` the path as given.

    Raises
    ------
    AudioError
        If a file cannot be used.
    ModelError
        If ``head`` was trained with another hop, sample rate or weights.
    """
    if head is not None:
        check_head(head, model)
    results = []
    for path in paths:
        scores = _score_file(path, model, head, resampler=resampler, batch_size=batch_size)
        results.append(_head_or_selection(scores, selection, head))
    return results


def annotation_files(path: str | os.PathLike) -> dict[str, str]:
    """Event or annotation files by recording stem: a file, a folder, or a batch output folder.

    Parameters
    ----------
    path : str or os.PathLike
        A single file; a folder whose files are all read (:func:`sed.events.event_files`); or
        the output folder of a ``sed detect`` batch, searched recursively
        (:func:`sed.batch.batch_event_files`).

    Returns
    -------
    files : dict of str to str
        :func:`sed.audio.recording_stem` to path.

    Raises
    ------
    AnnotationError
        If the path does not exist, holds no event file, or two files share a stem.
    """
    from sed.batch_folder import batch_event_files, is_batch_output
    from sed.events import event_files

    if os.path.isdir(path) and is_batch_output(path):
        files = batch_event_files(path)
        if not files:
            raise AnnotationError("batch output folder holds no event files", path)
        return files
    return event_files(path)


def read_annotations(path: str | os.PathLike, *, label_column: str | None = None) -> EventSet:
    """The recordings and events of a file, a folder or a batch output folder, by stem.

    Parameters
    ----------
    path : str or os.PathLike
        See :func:`annotation_files`. Files holding one recording give it their stem; tables
        with a file column (``filename``, ``Begin File``, ``Begin Path``...) give each recording
        they name, matched by the part of its name before the first dot.
    label_column : str, optional
        See :func:`sed.events.read_events`.

    Returns
    -------
    events : sed.events.EventSet

    Raises
    ------
    AnnotationError
        For a malformed file, or a recording found twice.
    """
    from sed.events import read_event_set

    return read_event_set(annotation_files(path).values(), label_column=label_column)


def development_set(
    audio: str | os.PathLike,
    reference: str | os.PathLike,
    *,
    label_column: str | None = None,
    warn: Callable[[str], None] | None = None,
) -> tuple[list[str], dict[str, pd.DataFrame]]:
    """Recordings and their reference events, paired by recording stem.

    Parameters
    ----------
    audio : str or os.PathLike
        Folder of recordings (:func:`sed.audio.find_audio_files`).
    reference : str or os.PathLike
        Annotations: a file per recording, a folder of them, or tables naming their recordings
        (:func:`read_annotations`). A recording listed without events counts, with no events.
    label_column : str, optional
        See :func:`sed.events.read_events`.
    warn : callable, optional
        Told, in one line, how many reference events without a label were skipped.

    Returns
    -------
    paths : list of str
        The recordings that have annotations, sorted by stem.
    references : dict of str to pd.DataFrame
        Reference event table of each recording, keyed by its path as in ``paths``.

    Raises
    ------
    AnnotationError
        If an annotation file is malformed.
    AudioError
        If an annotated recording has no audio file.
    """
    annotations = read_annotations(reference, label_column=label_column)
    sounds = audio_by_stem(audio)
    paths, references = [], {}
    for stem, recording in sorted(annotations.recordings.items()):
        if stem not in sounds:
            raise AudioError(
                f"no audio file for annotated recording {stem!r} ({recording.source})", audio
            )
        paths.append(sounds[stem])
        references[sounds[stem]] = recording.events
    if annotations.unlabeled_total and warn is not None:
        warn(_unlabeled_message("reference", annotations.unlabeled))
    return paths, references


def _unlabeled_message(side: str, by_file: dict[str, int]) -> str:
    return "skipped " + left_out_note(side, "without a label", by_file)


#: ``labels`` of :func:`evaluate_files`: every label of both sides, or the reference's only.
LABEL_SETS = ("union", "reference")
DEFAULT_LABELS = "union"


def parse_labels(text: str) -> str | list[str]:
    """The ``labels`` of :func:`evaluate_files` from one string (``sed evaluate --labels``).

    Parameters
    ----------
    text : str
        ``union`` or ``reference`` (:data:`LABEL_SETS`); the path of a text file holding one
        label per line (for labels that contain commas); or comma-separated labels.

    Returns
    -------
    labels : str or list of str

    Raises
    ------
    AnnotationError
        If the labels file cannot be read.
    ParameterError
        If no label is given.
    """
    if text in LABEL_SETS:
        return text
    if os.path.isfile(text):
        try:
            with open(text, encoding="utf-8-sig") as handle:
                labels = [line.strip() for line in handle]
        except (OSError, UnicodeDecodeError) as error:
            raise AnnotationError(f"cannot read the labels: {error}", text) from None
    else:
        labels = [label.strip() for label in text.split(",")]
    labels = [label for label in labels if label]
    if not labels:
        raise ParameterError(f"no labels in {text!r}")
    return labels


def evaluate_files(
    reference: str | os.PathLike | None = None,
    estimated: str | os.PathLike | None = None,
    *,
    file_list: str | os.PathLike | None = None,
    audio: str | os.PathLike | None = None,
    durations: str | os.PathLike | None = None,
    labels: str | Sequence[str] = DEFAULT_LABELS,
    label_column: str | None = None,
    time_resolution_seconds: float = DEFAULT_TIME_RESOLUTION,
    t_collar_seconds: float = DEFAULT_T_COLLAR,
    percentage_of_length: float = DEFAULT_PERCENTAGE_OF_LENGTH,
    evaluate_onset: bool = True,
    evaluate_offset: bool = True,
    event_matching: str = DEFAULT_EVENT_MATCHING,
    empty_system_output: str = DEFAULT_EMPTY_SYSTEM_OUTPUT,
    warn: Callable[[str], None] | None = None,
) -> Evaluation:
    """Evaluate estimated events against reference annotations, recording by recording.

    Recordings pair by stem (the name before its first dot: ``audio/a.wav``, ``a.tsv``,
    ``a.Table.1.selections.txt`` are all ``a``), never pooled: a table naming several
    recordings (DCASE ``filename onset offset event_label``, our ``all_events.tsv``, a combined
    Raven table with ``Begin File``) gives each of them.

    Parameters
    ----------
    reference, estimated : str or os.PathLike
        Files, folders of files or ``sed detect`` batch output folders, in any layout
        :func:`sed.events.read_events` reads (see :func:`read_annotations`). Two single files
        holding one recording each are paired whatever their names.
    file_list : str or os.PathLike, optional
        Instead of ``reference`` and ``estimated``: sed_eval's file list, a reference file and
        an estimated file per line (:func:`sed.events.read_file_pairs`); each line's two files
        pair as two single files do.
    audio : str or os.PathLike, optional
        Folder of the recordings: each one's true length is its evaluated length, and a
        recording found on one side only is evaluated with no events on the other.
    durations : str or os.PathLike, optional
        Instead of ``audio``: a table ``filename duration`` (DESED, psds_eval), with the same
        effect. Without either, the length a file states (JSON ``duration_seconds``) is used,
        failing that the latest offset on either side (sed_eval's default), and ``warn`` is
        told; a recording found on one side only is then an error.
    labels : {"union", "reference"} or sequence of str
        The labels scored: those of both sides (default), those of the reference (sed_eval's
        evaluator and the DCASE convention), or these. Events of other labels are left out of
        both sides and counted in ``Evaluation.notes``.
    label_column : str, optional
        The label column of headed tables, where they have it (see
        :func:`sed.events.read_events`).
    time_resolution_seconds, t_collar_seconds, percentage_of_length, evaluate_onset,
    evaluate_offset, event_matching, empty_system_output
        See :class:`sed.evaluation.Evaluation`.
    warn : callable, optional
        Receives one-line warnings.

    Returns
    -------
    evaluation : Evaluation
        Its ``notes`` hold the events skipped without a label (``unlabeled``, by side and file)
        and those of labels not evaluated (``labels_left_out``, by side and label).

    Raises
    ------
    AnnotationError
        For a malformed file (file, line and problem named), a recording found on one side only
        (named) without ``audio`` or ``durations``, or a recording found twice on one side.
    AudioError
        If ``audio`` is given but a recording's audio is missing or unreadable.
    ParameterError
        For inconsistent arguments (a file list with reference or estimated files, audio with
        durations), an unknown label set, or no label to evaluate.
    """
    warn = warn or (lambda message: None)
    if (file_list is None) == (reference is None and estimated is None) or (
        file_list is None and (reference is None or estimated is None)
    ):
        raise ParameterError("give a reference and an estimated path, or a file list")
    if audio is not None and durations is not None:
        raise ParameterError("give the recordings' lengths by --audio or --durations, not both")
    sides = _paired_sides(reference, estimated, file_list, label_column)
    lengths = _recording_lengths(audio, durations)
    pairs = _pair_recordings(sides, lengths, audio, durations)
    chosen = _chosen_labels(labels, pairs)
    evaluation = Evaluation(
        chosen,
        time_resolution_seconds=time_resolution_seconds,
        t_collar_seconds=t_collar_seconds,
        percentage_of_length=percentage_of_length,
        evaluate_onset=evaluate_onset,
        evaluate_offset=evaluate_offset,
        event_matching=event_matching,
        empty_system_output=empty_system_output,
    )
    left_out: dict[str, dict[str, int]] = {"reference": {}, "estimated": {}}
    guessed: list[str] = []
    empty: list[str] = []
    for stem, (ref, est) in sorted(pairs.items()):
        tables = {}
        for side, recording in (("reference", ref), ("estimated", est)):
            table = recording.events if recording is not None else _no_events()
            kept = table["event_label"].isin(chosen)
            for label, count in table.loc[~kept, "event_label"].value_counts().items():
                left_out[side][label] = left_out[side].get(label, 0) + int(count)
            tables[side] = table[kept]
        length, source = _evaluated_length(stem, lengths, ref, est)
        if source == "last offset":
            (guessed if length > 0 else empty).append(stem)
        evaluation.add(
            ref.name if ref is not None else est.name,
            tables["reference"],
            tables["estimated"],
            length,
            length_source=source,
            sources={
                side: recording.source
                for side, recording in (("reference", ref), ("estimated", est))
                if recording is not None
            },
        )
    if guessed:
        warn(
            f"{_count(guessed, 'recording')} evaluated up to the last offset of "
            f"{'its' if len(guessed) == 1 else 'their'} events, for want of audio or a stated "
            "length (give --audio or --durations for the true lengths)"
        )
    if empty:
        warn(
            f"{_count(empty, 'recording')} without events or known length counted with "
            f"length 0: {', '.join(empty[:5])}{' ...' * (len(empty) > 5)}"
        )
    for side, events in sides.items():
        if events.unlabeled_total:
            warn(_unlabeled_message(side, events.unlabeled))
    evaluation.notes = {
        "unlabeled": {side: events.unlabeled for side, events in sides.items()},
        "labels_left_out": {side: dict(sorted(n.items())) for side, n in left_out.items()},
    }
    return evaluation


def evaluate_score_files(
    scores: str | os.PathLike,
    reference: str | os.PathLike,
    *,
    audio: str | os.PathLike | None = None,
    durations: str | os.PathLike | None = None,
    label_column: str | None = None,
    warn: Callable[[str], None] | None = None,
) -> ThresholdFreeEvaluation:
    """Threshold-free evaluation of score tables: PSDS1, PSDS2, per-class PSD-ROC AUC, best F1.

    Parameters
    ----------
    scores : str or os.PathLike
        A score table or a folder of them (:func:`sed.events.score_table_files`): a ``sed detect
        --scores`` batch folder, or sed_scores_eval's layout. A single table and a reference of
        one recording pair whatever their names.
    reference : str or os.PathLike
        Reference annotations, as :func:`evaluate_files` reads them. Every recording with a
        score table must be in it (a line holding the file name alone: no events), or in
        ``audio`` or ``durations`` (then without reference events).
    audio, durations : str or os.PathLike, optional
        Where the recordings' lengths come from (the false positive rates are per hour): the
        recordings' folder, or a ``filename duration`` table. Without either, a score table's
        last offset (a ``sed detect`` table ends at the end of its recording).
    label_column : str, optional
        See :func:`sed.events.read_events`.
    warn : callable, optional
        Receives one-line warnings.

    Returns
    -------
    evaluation : sed.psds.ThresholdFreeEvaluation

    Raises
    ------
    AnnotationError
        For a malformed score table or annotation file, a recording with a score table but no
        reference, or a reference recording without a score table (named).
    AudioError
        If ``audio`` lacks a recording.
    ParameterError
        If ``audio`` and ``durations`` are both given, or no class has reference events.
    """
    from sed.events import read_score_table, score_table_files
    from sed.psds import evaluate_scores

    if audio is not None and durations is not None:
        raise ParameterError("give the recordings' lengths by --audio or --durations, not both")
    files = score_table_files(scores)
    references = read_annotations(reference, label_column=label_column)
    if os.path.isfile(scores) and len(references.recordings) == 1:
        # A score table and a reference of one recording each pair whatever their names.
        files = {next(iter(references.recordings)): next(iter(files.values()))}
    missing = sorted(set(references.recordings) - set(files))
    if missing:
        raise AnnotationError(
            f"{_count(missing, 'reference recording')} without a score table: "
            f"{', '.join(missing[:5])}{' ...' * (len(missing) > 5)}",
            scores,
        )
    lengths = _recording_lengths(audio, durations)
    tables, events, seconds = {}, {}, {}
    for stem, path in sorted(files.items()):
        if stem not in references.recordings and stem not in lengths:
            raise AnnotationError(
                f"recording {stem!r} has a score table but is not in the reference: list it "
                "there (a line holding its file name alone for a recording without events), or "
                "give --audio or --durations to evaluate it with no reference events",
                path,
            )
        tables[stem] = read_score_table(path)
        known = references.recordings.get(stem)
        events[stem] = known.events if known is not None else _no_events()
        if lengths and stem not in lengths:
            source = audio if audio is not None else durations
            raise (AudioError if audio is not None else AnnotationError)(
                f"no {'audio file' if audio is not None else 'duration'} for recording {stem!r}",
                source,
            )
        seconds[stem] = (
            _evaluated_length(stem, lengths, None, None)[0]
            if lengths
            else float(tables[stem]["offset"].iloc[-1])
        )
    if references.unlabeled_total and warn:
        warn(_unlabeled_message("reference", references.unlabeled))
    return evaluate_scores(tables, events, seconds, warn=warn)


def _count(items, noun: str) -> str:
    return f"{len(items)} {noun}{'s' * (len(items) != 1)}"


def _no_events() -> pd.DataFrame:
    from sed.events import event_table

    return event_table()


def _paired_sides(reference, estimated, file_list, label_column) -> dict[str, EventSet]:
    """The reference and estimated event sets, with single-recording files paired."""
    from sed.events import EventSet, read_file_pairs

    if file_list is None:
        single = os.path.isfile(reference) and os.path.isfile(estimated)
        pairs = [(reference, estimated, single)]
    else:
        pairs = [(ref, est, True) for ref, est in read_file_pairs(file_list)]
    sides = {"reference": EventSet(), "estimated": EventSet()}
    for ref_path, est_path, single in pairs:
        ref = read_annotations(ref_path, label_column=label_column)
        est = read_annotations(est_path, label_column=label_column)
        if single and len(ref.recordings) == 1 and len(est.recordings) == 1:
            # Two files of one recording each pair whatever their names.
            (stem, recording), (_, estimate) = ref.recordings.popitem(), est.recordings.popitem()
            ref.recordings[stem], est.recordings[stem] = recording, estimate
        for side, events in (("reference", ref), ("estimated", est)):
            _merge(sides[side], events)
    return sides


def _merge(into: EventSet, events: EventSet) -> None:
    for stem, recording in events.recordings.items():
        if stem in into.recordings:
            raise AnnotationError(
                f"recording {stem!r} is also in {into.recordings[stem].source}", recording.source
            )
        into.recordings[stem] = recording
    into.unlabeled.update(events.unlabeled)
    into.files += events.files


def _recording_lengths(audio, durations) -> dict[str, tuple[str, str | float]]:
    """Stem -> ("audio", its audio file) or ("durations", seconds), from --audio or --durations.

    Audio files are only opened for the recordings evaluated (:func:`_evaluated_length`).
    """
    from sed.events import read_durations

    if audio is not None:
        return {stem: ("audio", path) for stem, path in audio_by_stem(audio).items()}
    if durations is not None:
        return {
            stem: ("durations", seconds) for stem, (_, seconds) in read_durations(durations).items()
        }
    return {}


def _pair_recordings(sides, lengths, audio, durations) -> dict[str, tuple]:
    """Stem -> (reference recording or None, estimated recording or None).

    A recording on one side only gets no events on the other when the audio folder or the
    durations table vouches for it; without either it is an error that names it.
    """
    reference, estimated = sides["reference"].recordings, sides["estimated"].recordings
    pairs = {}
    for stem in sorted(set(reference) | set(estimated)):
        ref, est = reference.get(stem), estimated.get(stem)
        found = ref if ref is not None else est
        if audio is not None and stem not in lengths:
            raise AudioError(f"no audio file for recording {stem!r} ({found.source})", audio)
        if durations is not None and stem not in lengths:
            raise AnnotationError(f"no duration for recording {stem!r} ({found.source})", durations)
        if (ref is None or est is None) and not lengths:
            present, missing = ("reference", "estimated")
            if ref is None:
                present, missing = missing, present
            raise AnnotationError(
                f"recording {stem!r} is in the {present} events but not in the {missing} "
                "events; list it there (a line holding its file name alone stands for a "
                f"recording without events), or give --audio or --durations to evaluate it "
                f"with no {missing} events",
                found.source,
            )
        pairs[stem] = (ref, est)
    return pairs


def _chosen_labels(labels, pairs) -> list[str]:
    """The labels to score (see ``labels`` of :func:`evaluate_files`)."""
    found: dict[str, set[str]] = {"reference": set(), "estimated": set()}
    for ref, est in pairs.values():
        for side, recording in (("reference", ref), ("estimated", est)):
            if recording is not None:
                found[side] |= set(recording.events["event_label"])
    if isinstance(labels, str):
        if labels not in LABEL_SETS:
            raise ParameterError(
                f"unknown label set {labels!r}; choose one of {', '.join(LABEL_SETS)} "
                "or give a list of labels"
            )
        chosen = found["reference"] | (found["estimated"] if labels == "union" else set())
    else:
        chosen = {str(label).strip() for label in labels if str(label).strip()}
    if not chosen:
        raise ParameterError(
            "no labels to evaluate: "
            + ("the reference has no events" if labels == "reference" else "no events anywhere")
            + "; give the labels to score"
        )
    return sorted(chosen)


def _evaluated_length(stem, lengths, ref, est) -> tuple[float, str]:
    """The recording's evaluated length and where it came from."""
    if stem in lengths:
        source, value = lengths[stem]
        if source == "audio":
            return audio_info(str(value)).duration_seconds, source
        return float(value), source
    for side in (est, ref):
        if side is not None and side.duration_seconds is not None:
            return float(side.duration_seconds), "file"
    offsets = [
        float(side.events["offset"].max())
        for side in (ref, est)
        if side is not None and len(side.events)
    ]
    return (max(offsets) if offsets else 0.0), "last offset"


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

    def build(self) -> Detector:
        """Load the model (and head) and resolve the class selection.

        Raises
        ------
        ModelError, ParameterError
            As :func:`load_model`, :func:`load_head` and :func:`class_selection`.
        """
        if self.head_dir is not None and (self.classes or self.label_map):
            raise ParameterError("a head sets the classes: give no classes or label map with it")
        selection = class_selection(classes=self.classes, label_map=self.label_map)
        model = load_model(
            self.weights, hop_seconds=self.hop_seconds, backend=self.backend, threads=self.threads
        )
        head = load_head(self.head_dir, model) if self.head_dir is not None else None
        return Detector(
            model,
            None if head is not None else selection,
            self.postprocessing,
            self.resampler,
            self.batch_size,
            self.overlap,
            head,
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
            from sed.heads.head import head_description

            own = None
            if self.head_dir is not None:
                own = head_postprocessing(head_description(self.head_dir)[1])
            settings["postprocessing"] = asdict(own or PostProcessing())
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
    """A loaded model with its class selection and post-processing: the unit a batch runs.

    Attributes
    ----------
    model : sed.model.Yamnet
    selection : ClassSelection or None
        YAMNet's classes to report; None with a head (or for all classes).
    postprocessing : PostProcessing or None
        None: the head's own, else ``PostProcessing()``.
    resampler : {"soxr", "resampy"}
    batch_size : int > 0
    overlap : bool
        See :class:`DetectorSpec`.
    head : sed.heads.head.Head, optional
        Scores the head's labels from YAMNet's embeddings.
    """

    model: Yamnet
    selection: ClassSelection | None
    postprocessing: PostProcessing | None
    resampler: str = DEFAULT_RESAMPLER
    batch_size: int = DEFAULT_BATCH_SIZE
    overlap: bool = True
    head: AnyHead | None = None

    def detect_file(self, path: str | os.PathLike) -> Detection:
        """Detect events in one file (see :func:`detect_file`)."""
        return detect_file(
            path,
            model=self.model,
            selection=self.selection,
            head=self.head,
            postprocessing=self.postprocessing,
            resampler=self.resampler,
            batch_size=self.batch_size,
            overlap=self.overlap,
        )
