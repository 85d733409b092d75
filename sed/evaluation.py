"""Evaluation: sed_eval's segment-based and event-based metrics, file by file.

sed_eval (Mesaros, Heittola, Virtanen 2016, "Metrics for polyphonic sound event detection")
evaluates one recording at a time and accumulates; so does :class:`Evaluation`: ``add`` each
file's reference and estimated events with its true length (the evaluated length), then take
``results()`` (a JSON-ready dict) and ``report()`` (sed_eval's own text report) from the same
object. Defaults are the DCASE ones: 1 s segments; a 200 ms onset collar and an offset collar of
the larger of 200 ms and 20 % of the reference event's length. ``evaluate_offset=False`` is
sed_eval's onset-only condition (an estimate matches when its label and onset do; Mesaros et al.
2016 define it next to the onset-and-offset one).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

from sed.audio import AUDIO_EXTENSIONS, audio_info
from sed.errors import AnnotationError, AudioError, ParameterError
from sed.events import read_events, recording_stem

DEFAULT_TIME_RESOLUTION = 1.0
DEFAULT_T_COLLAR = 0.2
DEFAULT_PERCENTAGE_OF_LENGTH = 0.2
#: Metrics :func:`metric_value` knows, as ``<kind>_<name>``.
METRICS = ("segment_f1", "event_f1", "segment_error_rate", "event_error_rate")


def import_sed_eval():
    """Import sed_eval and dcase_util without their pkg_resources and deprecation warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import dcase_util
        import sed_eval
    return sed_eval, dcase_util


def event_list(events: pd.DataFrame, filename: str):
    """An event table as a ``dcase_util.containers.MetaDataContainer`` for sed_eval.

    Parameters
    ----------
    events : pd.DataFrame
        Columns ``onset, offset, event_label`` (seconds); every row is taken as ``filename``.
    filename : str
    """
    _, dcase_util = import_sed_eval()
    return dcase_util.containers.MetaDataContainer([
        {"filename": filename, "onset": float(row.onset), "offset": float(row.offset),
         "event_label": str(row.event_label)}
        for row in events[["onset", "offset", "event_label"]].itertuples(index=False)])


class Evaluation:
    """Segment-based and event-based sed_eval metrics accumulated over recordings.

    Parameters
    ----------
    labels : iterable of str
        Every event label to score (those of both sides).
    time_resolution_seconds : float > 0
        Segment length of the segment-based metrics, in seconds (DCASE: 1.0).
    t_collar_seconds : float >= 0
        Onset (and minimum offset) collar of the event-based metrics, in seconds (DCASE: 0.2).
    percentage_of_length : float in [0, 1]
        Offset collar as a fraction of the reference event's length (DCASE: 0.2).
    evaluate_offset : bool
        False for sed_eval's onset-only event-based condition (offsets not checked).

    Raises
    ------
    ParameterError
        If a value is out of range.
    """

    def __init__(self, labels: Iterable[str], *,
                 time_resolution_seconds: float = DEFAULT_TIME_RESOLUTION,
                 t_collar_seconds: float = DEFAULT_T_COLLAR,
                 percentage_of_length: float = DEFAULT_PERCENTAGE_OF_LENGTH,
                 evaluate_offset: bool = True):
        if not (math.isfinite(time_resolution_seconds) and time_resolution_seconds > 0):
            raise ParameterError(f"time resolution must be > 0 seconds, got {time_resolution_seconds}")
        if not (math.isfinite(t_collar_seconds) and t_collar_seconds >= 0):
            raise ParameterError(f"t_collar must be >= 0 seconds, got {t_collar_seconds}")
        if not (0 <= percentage_of_length <= 1):
            raise ParameterError(f"percentage of length must be in [0, 1], got {percentage_of_length}")
        sed_eval, _ = import_sed_eval()
        self.labels = sorted(set(labels))
        self.settings = {"time_resolution_seconds": float(time_resolution_seconds),
                         "t_collar_seconds": float(t_collar_seconds),
                         "percentage_of_length": float(percentage_of_length),
                         "evaluate_offset": bool(evaluate_offset)}
        self.segment_based = sed_eval.sound_event.SegmentBasedMetrics(
            self.labels, time_resolution=time_resolution_seconds)
        self.event_based = sed_eval.sound_event.EventBasedMetrics(
            self.labels, t_collar=t_collar_seconds, percentage_of_length=percentage_of_length,
            evaluate_offset=bool(evaluate_offset))
        self.files: list[dict] = []
        self._reference_labels: set[str] = set()
        self._estimated_labels: set[str] = set()

    def add(self, filename: str, reference: pd.DataFrame, estimated: pd.DataFrame,
            evaluated_length_seconds: float, *, length_source: str = "") -> None:
        """Evaluate one recording.

        Parameters
        ----------
        filename : str
            Names the recording in the per-file list.
        reference, estimated : pd.DataFrame
            Event tables (``onset, offset, event_label``) of this recording only.
        evaluated_length_seconds : float > 0
            The recording's true length, in seconds.
        length_source : str
            Where the length came from (reported per file).

        Raises
        ------
        ParameterError
            If a label is not among ``labels`` or the length is not positive.
        """
        if not (math.isfinite(evaluated_length_seconds) and evaluated_length_seconds > 0):
            raise ParameterError(f"evaluated length must be > 0 seconds, got "
                                 f"{evaluated_length_seconds}", filename)
        for side, table in (("reference", reference), ("estimated", estimated)):
            unknown = set(table["event_label"]) - set(self.labels)
            if unknown:
                raise ParameterError(f"{side} label {sorted(unknown)[0]!r} is not evaluated",
                                     filename)
        self._reference_labels |= set(reference["event_label"])
        self._estimated_labels |= set(estimated["event_label"])
        ref, est = event_list(reference, filename), event_list(estimated, filename)
        self.segment_based.evaluate(ref, est, evaluated_length_seconds=evaluated_length_seconds)
        self.event_based.evaluate(ref, est)
        self.files.append({"filename": filename, "evaluated_length_seconds":
                           float(evaluated_length_seconds), "length_source": length_source,
                           "reference_events": len(reference), "estimated_events": len(estimated)})

    @property
    def labels_only_in_reference(self) -> list[str]:
        """Labels annotated but never estimated (all their events are deletions)."""
        return sorted(self._reference_labels - self._estimated_labels)

    @property
    def labels_only_in_estimated(self) -> list[str]:
        """Labels estimated but never annotated (all their events are insertions)."""
        return sorted(self._estimated_labels - self._reference_labels)

    def results(self) -> dict:
        """Every figure as plain data (NaN, sed_eval's 'undefined', becomes None).

        Returns
        -------
        results : dict
            ``settings``, ``files`` (per recording: length and its source, event counts),
            ``labels_only_in_reference``, ``labels_only_in_estimated``, and ``segment_based``
            and ``event_based``: sed_eval's ``results()`` (``overall``, ``class_wise``,
            ``class_wise_average``).
        """
        return _json_ready({
            "settings": self.settings,
            "files": self.files,
            "labels_only_in_reference": self.labels_only_in_reference,
            "labels_only_in_estimated": self.labels_only_in_estimated,
            "segment_based": self.segment_based.results(),
            "event_based": self.event_based.results(),
        })

    def report(self) -> str:
        """sed_eval's text reports (segment-based, then event-based), with the one-sided labels."""
        lines = []
        for side, labels in (("reference", self.labels_only_in_reference),
                             ("estimated", self.labels_only_in_estimated)):
            if labels:
                lines.append(f"Labels only in the {side} events: {', '.join(labels)}")
        if lines:
            lines.append("")
        return "\n".join(lines) + str(self.segment_based) + "\n" + str(self.event_based)

    def summary(self) -> dict[str, float]:
        """The four headline figures: segment/event F1 and error rate (NaN F1 counts as 0)."""
        results = {"segment": self.segment_based.results_overall_metrics(),
                   "event": self.event_based.results_overall_metrics()}
        out = {}
        for kind, overall in results.items():
            f1 = overall["f_measure"]["f_measure"]
            out[f"{kind}_f1"] = 0.0 if f1 is None or np.isnan(f1) else float(f1)
            out[f"{kind}_error_rate"] = float(overall["error_rate"]["error_rate"])
        return out


def metric_value(evaluation: Evaluation, metric: str) -> float:
    """One of :data:`METRICS` from an evaluation (F1 in [0, 1]; error rate >= 0)."""
    if metric not in METRICS:
        raise ParameterError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    return evaluation.summary()[metric]


def _json_ready(value):
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value




def annotation_files(path: str | os.PathLike) -> dict[str, str]:
    """Event or annotation files by recording stem: a single file, or every file in a folder.

    Parameters
    ----------
    path : str or os.PathLike
        A file, or a folder whose files (not recursive; hidden files skipped) are all read. A
        batch output folder of ``sed detect`` (it holds ``.sed/results``) is searched
        recursively, its run files (``all_events.csv``, ``parameters.json``, ``failures.csv``)
        are skipped, and of the formats written for one recording the first of
        :data:`BATCH_FORMAT_PREFERENCE` is taken.

    Returns
    -------
    files : dict of str to str
        :func:`sed.events.recording_stem` to path.

    Raises
    ------
    AnnotationError
        If the path does not exist, a folder is empty, or two files of a folder share a stem.
    """
    path = os.fspath(path)
    if os.path.isfile(path):
        return {recording_stem(path): path}
    if not os.path.isdir(path):
        raise AnnotationError("no such file or folder", path)
    if is_batch_output(path):
        files = _batch_output_files(path)
    else:
        files = {}
        for name in sorted(os.listdir(path)):
            full = os.path.join(path, name)
            if name.startswith(".") or not os.path.isfile(full):
                continue
            stem = recording_stem(name)
            if stem in files:
                raise AnnotationError(f"two files for recording {stem!r}: "
                                      f"{os.path.basename(files[stem])} and {name}", path)
            files[stem] = full
    if not files:
        raise AnnotationError("folder holds no event files", path)
    return files


#: Which per-recording file of a batch output folder is read when several formats were written.
BATCH_FORMAT_PREFERENCE = ("json", "csv", "tsv", "raven", "audacity")


def is_batch_output(folder: str) -> bool:
    """True for an output folder of a ``sed detect`` batch (see :mod:`sed.batch`)."""
    from sed.batch import STATE_DIR

    return os.path.isdir(os.path.join(folder, STATE_DIR, "results"))


def _batch_output_files(folder: str) -> dict[str, str]:
    from sed.batch import COMBINED_TABLE, FAILURES_FILE, PARAMETERS_FILE
    from sed.events import FORMAT_SUFFIXES

    run_files = {COMBINED_TABLE, FAILURES_FILE, PARAMETERS_FILE}
    found: dict[str, dict[str, str]] = {}
    for root, directories, names in os.walk(folder):
        directories[:] = sorted(d for d in directories if not d.startswith("."))
        for name in sorted(names):
            if name.startswith(".") or (root == folder and name in run_files):
                continue
            for format in BATCH_FORMAT_PREFERENCE:
                if name.endswith(FORMAT_SUFFIXES[format]):
                    stem, full = recording_stem(name), os.path.join(root, name)
                    other = found.setdefault(stem, {}).setdefault(format, full)
                    if other != full:
                        raise AnnotationError(f"two recordings named {stem!r}: {other} and {full}",
                                              folder)
                    break
    return {stem: next(formats[f] for f in BATCH_FORMAT_PREFERENCE if f in formats)
            for stem, formats in sorted(found.items())}


def audio_files(folder: str | os.PathLike) -> dict[str, str]:
    """Audio files of a folder (recursive) by recording stem (see :func:`annotation_files`)."""
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise AudioError("no such folder", folder)
    found: dict[str, str] = {}
    for root, _, names in sorted(os.walk(folder)):
        for name in sorted(names):
            if name.lower().endswith(AUDIO_EXTENSIONS) and not name.startswith("."):
                found.setdefault(recording_stem(name), os.path.join(root, name))
    return found


def evaluate_files(reference: str | os.PathLike, estimated: str | os.PathLike, *,
                   audio: str | os.PathLike | None = None,
                   time_resolution_seconds: float = DEFAULT_TIME_RESOLUTION,
                   t_collar_seconds: float = DEFAULT_T_COLLAR,
                   percentage_of_length: float = DEFAULT_PERCENTAGE_OF_LENGTH,
                   evaluate_offset: bool = True, warn=None) -> Evaluation:
    """Evaluate estimated events against reference annotations, recording by recording.

    Parameters
    ----------
    reference, estimated : str or os.PathLike
        Files or folders of files in any format :func:`sed.events.read_events` reads. Two
        single files are paired whatever their names; in folders, files pair by recording stem.
        A reference without estimated file counts as a recording with no estimated events; an
        estimated file without reference is an error.
    audio : str or os.PathLike, optional
        Folder of the recordings: each one's true length is its evaluated length. Without it,
        the length stated in the files (JSON ``duration_seconds``) is used; failing that, the
        latest offset of either side, and ``warn`` is told.
    time_resolution_seconds, t_collar_seconds, percentage_of_length, evaluate_offset
        See :class:`Evaluation`.
    warn : callable, optional
        Receives one-line warnings.

    Returns
    -------
    evaluation : Evaluation

    Raises
    ------
    AnnotationError
        For a malformed file (file, line and problem named), or unpaired estimated files.
    AudioError
        If ``audio`` is given but a recording's audio is missing or unreadable.
    """
    warn = warn or (lambda message: None)
    references, estimates = annotation_files(reference), annotation_files(estimated)
    if len(references) == 1 and len(estimates) == 1 and os.path.isfile(estimated):
        estimates = {next(iter(references)): next(iter(estimates.values()))}
    unpaired = sorted(set(estimates) - set(references))
    if unpaired:
        raise AnnotationError(f"no reference file for recording {unpaired[0]!r} "
                              f"({len(unpaired)} unpaired)", estimated)
    sounds = audio_files(audio) if audio is not None else {}
    pairs = []
    for stem, ref_path in references.items():
        ref = read_events(ref_path)
        est = read_events(estimates[stem]) if stem in estimates else None
        pairs.append((stem, ref, est))
    labels = {label for _, ref, est in pairs for label in ref.events["event_label"]}
    labels |= {label for _, _, est in pairs if est is not None
               for label in est.events["event_label"]}
    evaluation = Evaluation(labels or {"(none)"}, time_resolution_seconds=time_resolution_seconds,
                            t_collar_seconds=t_collar_seconds,
                            percentage_of_length=percentage_of_length,
                            evaluate_offset=evaluate_offset)
    for stem, ref, est in pairs:
        est_events = est.events if est is not None else ref.events.iloc[:0]
        length, source = _evaluated_length(stem, sounds, audio, ref, est)
        if source == "last offset" and length <= 0:
            raise AnnotationError(f"recording {stem!r} has no events and no known length "
                                  "(give the audio folder)", references[stem])
        if source == "last offset":
            warn(f"{stem}: no audio or stated length; evaluating up to the last offset "
                 f"({length:.3f} s)")
        evaluation.add(stem, ref.events, est_events, length, length_source=source)
    return evaluation


def _evaluated_length(stem, sounds, audio, ref, est) -> tuple[float, str]:
    if audio is not None:
        if stem not in sounds:
            raise AudioError(f"no audio file for recording {stem!r}", audio)
        return audio_info(sounds[stem]).duration_seconds, "audio"
    for side in (est, ref):
        if side is not None and len(side.durations) == 1:
            return next(iter(side.durations.values())), "file"
        if side is not None and stem in side.durations:
            return side.durations[stem], "file"
    offsets = [table.events["offset"].max() for table in (ref, est)
               if table is not None and len(table.events)]
    return (max(offsets) if offsets else 0.0), "last offset"
