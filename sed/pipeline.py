"""The library API: everything the command line does, callable from a notebook.

    >>> import sed
    >>> model = sed.load_model()
    >>> detection = sed.detect_file("street.wav", model=model, classes="Bicycle bell")
    >>> detection.events           # onset, offset, event_label, score
    >>> detection.window_scores.to_frame()

The stages are composed here and nowhere else: audio I/O (:mod:`sed.audio`), features and model
(:mod:`sed.features`, :mod:`sed.model`), segmenter (:mod:`sed.segmenter`), post-processing
(:mod:`sed.postprocessing`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sed.audio import check_resampler, resample, to_mono
from sed.classes import (ClassMap, ClassSelection, all_classes, load_class_map,
                         parse_class_list, read_label_map)
from sed.errors import ParameterError
from sed.fingerprint import content_sha256
from sed.params import DEFAULT_HOP_SECONDS, YamnetParams
from sed.postprocessing import PostProcessing
from sed.segmenter import DEFAULT_BATCH_SIZE, WindowScores, score_file, score_waveform


def load_model(weights: str | os.PathLike | None = None, *,
               hop_seconds: float = DEFAULT_HOP_SECONDS, backend: str = "auto",
               threads: int | None = None):
    """Load YAMNet (see :meth:`sed.model.Yamnet.load`).

    Parameters
    ----------
    weights : str or os.PathLike, optional
        ``yamnet.h5`` or a TF-Hub YAMNet SavedModel directory; by default
        ``$SED_YAMNET_WEIGHTS`` or the weights package.
    hop_seconds : float > 0
        Window hop, a multiple of 0.01 s (0.5 by default; 0.48 reproduces the reference).
    backend : {"auto", "litert", "tensorflow"}
        What runs the network (see :mod:`sed.backends`); ``auto`` prefers LiteRT.
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

    return Yamnet.load(weights, YamnetParams(patch_hop_seconds=hop_seconds), backend=backend,
                       threads=threads)


def class_selection(class_map: ClassMap | None = None, *, classes: str | None = None,
                    label_map: str | os.PathLike | None = None) -> ClassSelection:
    """The event labels to report: a class list, a label map, or (default) all classes.

    Parameters
    ----------
    class_map : ClassMap, optional
        YAMNet's classes (``model.class_map``); by default the reference class map.
    classes : str, optional
        Comma-separated YAMNet display names or mids, e.g. ``"Dog,Bark"``.
    label_map : str or os.PathLike, optional
        CSV ``event_label,yamnet_display_names`` (see :func:`sed.classes.read_label_map`).

    Raises
    ------
    ParameterError
        If both are given, or a name is unknown.
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


def _selection(model, classes, label_map, selection):
    if selection is not None:
        return selection
    return class_selection(model.class_map, classes=classes, label_map=label_map)


def detect(waveform: np.ndarray, sample_rate: int, *, model, classes: str | None = None,
           label_map: str | os.PathLike | None = None, selection: ClassSelection | None = None,
           postprocessing: PostProcessing = PostProcessing(), filename: str = "",
           resampler: str = "soxr", batch_size: int = DEFAULT_BATCH_SIZE,
           head=None) -> Detection:
    """Detect sound events in a waveform.

    Parameters
    ----------
    waveform : np.ndarray [shape=(n_samples,) or (n_samples, n_channels)]
        Audio in [-1, 1] at ``sample_rate``; channels are averaged.
    sample_rate : int > 0
        In Hz; resampled to 16 kHz with ``resampler``.
    model : sed.model.Yamnet
    classes, label_map, selection
        Which event labels to report (see :func:`class_selection`); ``selection`` wins.
    postprocessing : PostProcessing
    filename : str
        Written in the ``filename`` column.
    resampler : {"soxr", "resampy"}
    batch_size : int > 0
        Windows per model call.
    head : sed.heads.Head, optional
        Score the head's classes instead of YAMNet's (``classes`` and ``label_map`` are then
        ignored); see :func:`head_scores`.

    Returns
    -------
    detection : Detection

    Raises
    ------
    AudioError
        If the waveform is empty or has NaN or infinite samples.
    ParameterError
        For an unknown class, resampler or bad sample rate.
    """
    if not (isinstance(sample_rate, (int, np.integer)) and sample_rate > 0):
        raise ParameterError(f"sample rate must be a positive integer in Hz, got {sample_rate!r}")
    check_resampler(resampler)
    mono = to_mono(np.asarray(waveform, dtype=np.float32))
    audio = resample(mono, int(sample_rate), model.params.sample_rate, resampler=resampler) \
        if mono.size else mono
    window_scores = score_waveform(audio, model, filename=filename,
                                   duration_seconds=mono.shape[0] / sample_rate,
                                   batch_size=batch_size, keep_embeddings=head is not None)
    return _finish(window_scores, _selection(model, classes, label_map, selection), postprocessing,
                   head, model)


def detect_file(path: str | os.PathLike, *, model, classes: str | None = None,
                label_map: str | os.PathLike | None = None,
                selection: ClassSelection | None = None,
                postprocessing: PostProcessing = PostProcessing(),
                resampler: str = "soxr", batch_size: int = DEFAULT_BATCH_SIZE,
                head=None) -> Detection:
    """Detect sound events in an audio file (see :func:`detect`).

    The file is read and scored block by block (:func:`sed.segmenter.score_file`): memory does
    not grow with its length.

    Raises
    ------
    AudioError
        If the file is missing, empty, truncated, not audio, or holds NaN samples.
    """
    selection = _selection(model, classes, label_map, selection)
    window_scores = score_file(path, model, resampler=resampler, batch_size=batch_size,
                               keep_embeddings=head is not None)
    return _finish(window_scores, selection, postprocessing, head, model)


def _finish(window_scores: WindowScores, selection: ClassSelection,
            postprocessing: PostProcessing, head=None, model=None) -> Detection:
    selected = window_scores.select(selection) if head is None else \
        head_scores(window_scores, head, model)
    return Detection(selected, postprocessing.events(selected))


def head_scores(window_scores: WindowScores, head, model) -> WindowScores:
    """A head's scores of its event labels, after checking it fits the model's settings.

    Parameters
    ----------
    window_scores : WindowScores
        YAMNet's, with embeddings (``keep_embeddings=True``).
    head : sed.heads.Head
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
    _check_head(head, model)
    return head.window_scores(window_scores)


def _check_head(head, model) -> None:
    from sed.embeddings import model_settings

    head.check_compatible(model.params, model_settings(model)["weights_sha256"])


def load_head(directory: str | os.PathLike, model=None):
    """Load a head written by ``sed train`` (see :meth:`sed.heads.Head.load`).

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
    from sed.heads import Head

    head = Head.load(directory)
    if model is not None:
        _check_head(head, model)
    return head


def top_classes(window_scores: WindowScores, k: int = 5) -> pd.DataFrame:
    """The ``k`` classes with the highest window-averaged score (the reference ``inference.py``).

    Parameters
    ----------
    window_scores : WindowScores
    k : int >= 1

    Returns
    -------
    table : pd.DataFrame
        Columns ``rank`` (1-based), ``label``, ``score`` (mean over windows, in [0, 1]).
    """
    if k < 1:
        raise ParameterError(f"k must be at least 1, got {k}")
    mean = window_scores.scores.mean(axis=0)
    order = np.argsort(-mean, kind="stable")[:k]
    return pd.DataFrame({"rank": np.arange(1, len(order) + 1),
                         "label": [window_scores.labels[i] for i in order],
                         "score": mean[order]})


def score_files(paths, *, model, selection: ClassSelection | None = None,
                resampler: str = "soxr", batch_size: int = DEFAULT_BATCH_SIZE, head=None
                ) -> list[WindowScores]:
    """Window scores of several recordings, computed once (for tuning and evaluation).

    Parameters
    ----------
    paths : iterable of str or os.PathLike
        Audio files.
    model : sed.model.Yamnet
    selection : ClassSelection, optional
        Event labels to keep; by default every class. Not used with ``head``.
    resampler : {"soxr", "resampy"}
    batch_size : int >= 1
        Windows per model call.
    head : sed.heads.Head, optional
        Score the head's event labels instead of YAMNet's classes (see :func:`head_scores`).

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
    results = []
    for path in paths:
        scores = score_file(path, model, resampler=resampler, batch_size=batch_size,
                            keep_embeddings=head is not None)
        if head is not None:
            results.append(head_scores(scores, head, model))
        else:
            results.append(scores.select(selection) if selection is not None else scores)
    return results


def development_set(audio: str | os.PathLike, reference: str | os.PathLike
                    ) -> tuple[list[str], dict[str, pd.DataFrame]]:
    """Recordings and their reference events, paired by recording stem.

    Parameters
    ----------
    audio : str or os.PathLike
        Folder of recordings (searched recursively).
    reference : str or os.PathLike
        Folder (or single file) of annotations, in any format :func:`sed.events.read_events`
        reads.

    Returns
    -------
    paths : list of str
        The recordings that have annotations, sorted.
    references : dict of str to pd.DataFrame
        Reference event table of each recording, keyed by its path as in ``paths``.

    Raises
    ------
    AnnotationError
        If an annotation file is malformed or no recording has one.
    AudioError
        If an annotated recording has no audio file.
    """
    from sed.errors import AnnotationError, AudioError
    from sed.evaluation import annotation_files, audio_files
    from sed.events import read_events

    sounds = audio_files(audio)
    paths, references = [], {}
    for stem, annotation in sorted(annotation_files(reference).items()):
        if stem not in sounds:
            raise AudioError(f"no audio file for annotated recording {stem!r}", audio)
        paths.append(sounds[stem])
        references[sounds[stem]] = read_events(annotation).events
    if not paths:
        raise AnnotationError("no annotated recordings", reference)
    return paths, references
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
        Comma-separated YAMNet class names (exclusive with ``label_map``).
    label_map : str, optional
        Label map CSV path.
    postprocessing : PostProcessing
    backend : {"auto", "litert", "tensorflow"}
        What runs YAMNet (see :func:`load_model`).
    batch_size : int > 0
        Windows per model call (does not change results).
    threads : int >= 1, optional
        LiteRT threads (a batch with several worker processes uses 1 per worker).
    overlap : bool
        Decode and compute features in a second thread while the model runs (off in workers
        of a parallel batch, where the processes already fill the cores).
    head : str, optional
        Directory of a head trained by ``sed train``: its labels are reported instead of
        YAMNet's (``classes`` and ``label_map`` are then ignored).
    """

    weights: str | None = None
    hop_seconds: float = DEFAULT_HOP_SECONDS
    resampler: str = "soxr"
    classes: str | None = None
    label_map: str | None = None
    postprocessing: PostProcessing = PostProcessing()
    backend: str = "auto"
    batch_size: int = DEFAULT_BATCH_SIZE
    threads: int | None = None
    overlap: bool = True
    head: str | None = None

    def build(self) -> "Detector":
        """Load the model and resolve the class selection.

        Raises
        ------
        ModelError, ParameterError
            As :func:`load_model` and :func:`class_selection`.
        """
        selection = class_selection(classes=self.classes, label_map=self.label_map)
        model = load_model(self.weights, hop_seconds=self.hop_seconds, backend=self.backend,
                           threads=self.threads)
        head = load_head(self.head, model) if self.head is not None else None
        return Detector(model, selection, self.postprocessing, self.resampler, self.batch_size,
                        self.overlap, head)

    def settings(self, model=None) -> dict:
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
        settings["weights"] = model.source if model is not None else self.weights
        if model is not None:
            settings["backend"] = model.backend
        if self.label_map is not None:
            settings["label_map_content"] = _file_text(self.label_map)
        if self.head is not None:  # a head retrained in place gives other results
            settings["head_sha256"] = content_sha256(self.head)
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
    selection : ClassSelection
        Ignored when ``head`` is given.
    postprocessing : PostProcessing
    resampler : {"soxr", "resampy"}
    batch_size : int > 0
    overlap : bool
        See :class:`DetectorSpec`.
    head : sed.heads.Head, optional
        Scores the head's labels from YAMNet's embeddings.
    """

    model: object
    selection: ClassSelection
    postprocessing: PostProcessing
    resampler: str = "soxr"
    batch_size: int = DEFAULT_BATCH_SIZE
    overlap: bool = True
    head: object = None

    def detect_file(self, path: str | os.PathLike) -> Detection:
        """Detect events in one file (see :func:`detect_file`)."""
        window_scores = score_file(path, self.model, resampler=self.resampler,
                                   batch_size=self.batch_size, overlap=self.overlap,
                                   keep_embeddings=self.head is not None)
        return _finish(window_scores, self.selection, self.postprocessing, self.head,
                       self.model)
