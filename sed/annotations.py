"""Annotation files and how they pair: what ``sed evaluate`` and ``sed tune`` read.

Finding event files (a file, a folder, a batch's output folder), reading them as one event set
by recording stem (:func:`read_annotations`), pairing references with estimates, recordings
with their audio or their lengths, choosing the labels to score, and scoring the pairs with
sed_eval (:func:`evaluate_files`) or threshold-free with sed_scores_eval
(:func:`evaluate_score_files`). Recordings pair by stem, the part of a file name before its
first dot (:func:`sed.audio.recording_stem`), as DCASE tools pair them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sed.audio import audio_by_stem, audio_info
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

if TYPE_CHECKING:
    import pandas as pd

    from sed.events import EventSet
    from sed.psds import ThresholdFreeEvaluation


def annotation_files(path: str | os.PathLike, *, pattern: str | None = None) -> dict[str, str]:
    """Event or annotation files by recording stem: a file, a folder, or a batch output folder.

    Parameters
    ----------
    path : str or os.PathLike
        A single file; a folder whose files are all read (:func:`sed.events.event_files`); or
        the output folder of a ``sed detect`` batch, searched recursively
        (:func:`sed.batch_folder.batch_event_files`).
    pattern : str, optional
        A glob (``*.jams``) that the files of a plain folder must match, for folders that hold
        several layouts of the same recordings; a single file or a batch folder ignores it.

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
    return event_files(path, pattern=pattern)


def read_annotations(
    path: str | os.PathLike, *, label_column: str | None = None, pattern: str | None = None
) -> EventSet:
    """The recordings and events of a file, a folder or a batch output folder, by stem.

    Parameters
    ----------
    path : str or os.PathLike
        See :func:`annotation_files`. Files holding one recording give it their stem; tables
        with a file column (``filename``, ``Begin File``, ``Begin Path``...) give each recording
        they name, matched by the part of its name before the first dot.
    label_column : str, optional
        See :func:`sed.events.read_events`.
    pattern : str, optional
        See :func:`annotation_files`.

    Returns
    -------
    events : sed.events.EventSet

    Raises
    ------
    AnnotationError
        For a malformed file, or a recording found twice.
    """
    from sed.events import read_event_set

    return read_event_set(
        annotation_files(path, pattern=pattern).values(), label_column=label_column
    )


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


#: Suffixes of a labels file (one label per line), never of a label.
_LABEL_LIST_SUFFIXES = (".txt", ".csv", ".tsv", ".lst")


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
    elif "," not in text and text.lower().endswith(_LABEL_LIST_SUFFIXES):
        # One "label" named like a file is a labels file that is not there: read as a label,
        # it would leave out every event without a word.
        raise ParameterError(f"--labels {text}: no such file (a list of labels is comma-separated)")
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
    label_map: str | os.PathLike | None = None,
    reference_pattern: str | None = None,
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
    label_map : str or os.PathLike, optional
        A label map as ``sed detect --label-map`` reads it (``event_label,
        yamnet_display_names``, :func:`sed.classes.read_label_map`): estimated events of a
        YAMNet class it lists are renamed to its event label before scoring (overlapping
        events that end up with one label are merged, keeping the highest score), so a
        detector's class names score against differently named references. Estimated events of
        other labels keep theirs.
    reference_pattern : str, optional
        A glob (``*.txt``) the files of a reference folder must match (:func:`annotation_files`).
    warn : callable, optional
        Receives one-line warnings: among them, reference recordings that ``estimated``, a
        ``sed detect`` batch folder, did not process (not in its ``durations.tsv``), which are
        scored as recordings without detections.

    Returns
    -------
    evaluation : Evaluation
        Its ``files`` give each recording's own figures too
        (:meth:`sed.evaluation.Evaluation.add`); its ``notes`` hold the events skipped without
        a label (``unlabeled``, by side and file) and those of labels not evaluated
        (``labels_left_out``, by side and label).

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
    sides = _paired_sides(reference, estimated, file_list, label_column, reference_pattern)
    if label_map is not None:
        _relabel(sides["estimated"], label_map)
    lengths = _recording_lengths(audio, durations)
    pairs = _pair_recordings(sides, lengths, audio, durations)
    if estimated is not None:
        _warn_unprocessed(estimated, pairs, warn)
    _warn_empty_reference(pairs, warn)
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
    reference_pattern: str | None = None,
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
    reference_pattern : str, optional
        A glob (``*.txt``) the files of a reference folder must match (:func:`annotation_files`).
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
    references = read_annotations(reference, label_column=label_column, pattern=reference_pattern)
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


def _paired_sides(
    reference, estimated, file_list, label_column, reference_pattern=None
) -> dict[str, EventSet]:
    """The reference and estimated event sets, with single-recording files paired."""
    from sed.events import EventSet, read_file_pairs

    if file_list is None:
        single = os.path.isfile(reference) and os.path.isfile(estimated)
        pairs = [(reference, estimated, single)]
    else:
        pairs = [(ref, est, True) for ref, est in read_file_pairs(file_list)]
    sides = {"reference": EventSet(), "estimated": EventSet()}
    for ref_path, est_path, single in pairs:
        ref = read_annotations(ref_path, label_column=label_column, pattern=reference_pattern)
        est = read_annotations(est_path, label_column=label_column)
        if single and len(ref.recordings) == 1 and len(est.recordings) == 1:
            # Two files of one recording each pair whatever their names.
            (stem, recording), (_, estimate) = ref.recordings.popitem(), est.recordings.popitem()
            ref.recordings[stem], est.recordings[stem] = recording, estimate
        for side, events in (("reference", ref), ("estimated", est)):
            _merge(sides[side], events)
    return sides


def _relabel(events: EventSet, label_map: str | os.PathLike) -> None:
    """Rename the events of the YAMNet classes a label map lists to its labels, in place."""
    from sed.classes import load_class_map, read_label_map

    class_map = load_class_map()
    selection = read_label_map(label_map, class_map)
    renames: dict[str, list[str]] = {}
    for label, indices in zip(selection.event_labels, selection.class_indices):
        for index in indices:
            renames.setdefault(class_map.display_names[index], []).append(label)
    for recording in events.recordings.values():
        recording.events = _renamed_events(recording.events, renames)


def _renamed_events(table: pd.DataFrame, renames: dict[str, list[str]]) -> pd.DataFrame:
    """An event table with labels renamed (one event per new label of a class listed under
    several), the overlapping events of a renamed label merged into one (highest score)."""
    import numpy as np
    import pandas as pd

    from sed.events import event_table

    mapped = table["event_label"].isin(list(renames))
    if not mapped.any():
        return table
    renamed = table[mapped].copy()
    renamed["event_label"] = renamed["event_label"].map(renames)
    renamed = renamed.explode("event_label")
    rows: list[dict] = []
    for _, group in renamed.sort_values(["onset", "offset"]).groupby("event_label", sort=True):
        for event in group.to_dict(orient="records"):
            last = rows[-1] if rows and rows[-1]["event_label"] == event["event_label"] else None
            if last is not None and event["onset"] <= last["offset"]:
                last["offset"] = max(last["offset"], event["offset"])
                # fmax: a score the file does not give (NaN) never hides one it gives.
                last["score"] = float(np.fmax(last["score"], event["score"]))
            else:
                rows.append(event)
    merged = event_table(rows)[list(table.columns)] if rows else table.iloc[:0]
    return event_table(pd.concat([table[~mapped], merged]).to_dict(orient="records"))


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


def _warn_unprocessed(estimated, pairs, warn: Callable[[str], None]) -> None:
    """Warn of the reference recordings a batch did not process (stopped, failed, or run on
    part of the audio): they are scored as recordings with no detections, which lowers every
    figure. The batch's durations table lists the recordings it processed."""
    from sed.batch_folder import DURATIONS_TABLE, is_batch_output
    from sed.events import read_durations

    if not (os.path.isdir(estimated) and is_batch_output(estimated)):
        return
    table = os.path.join(estimated, DURATIONS_TABLE)
    processed = read_durations(table) if os.path.isfile(table) else {}
    missing = [stem for stem, (_, est) in pairs.items() if est is None and stem not in processed]
    if missing:
        warn(
            f"{_count(missing, 'reference recording')} not processed by the batch {estimated} "
            f"(not in its {DURATIONS_TABLE}), scored as no detections: "
            f"{', '.join(missing[:5])}{' ...' * (len(missing) > 5)}; finish the batch (run it "
            "again to resume) or evaluate against the references of what it processed"
        )


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


def _warn_empty_reference(pairs: dict[str, tuple], warn) -> None:
    """A reference without a single event leaves recall, F-score and error rate undefined
    (sed_eval's n/a): say so, so that an empty or misread annotation file is noticed."""
    if warn is None:
        return
    references = [ref for ref, _ in pairs.values() if ref is not None]
    if references and not any(len(ref.events) for ref in references):
        warn(
            f"the reference holds no events ({_count(references, 'recording')}): recall, "
            "F-scores and error rates are n/a; only false alarms are counted"
        )
