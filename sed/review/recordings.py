"""What a review page shows: the recordings of a batch (or an events file), their audio, start
times and events, and the sample of events to listen to when there are too many.

Nothing here decodes audio (:mod:`sed.review.media` does, once per recording); headers are read to
learn each recording's length and sample rate, and its start time where its name or metadata
gives one.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from sed.audio import audio_by_stem, audio_info, recording_stem
from sed.errors import AnnotationError, AudioError, ParameterError

if TYPE_CHECKING:
    import pandas as pd

#: Where each event of ``--max-per-label`` comes from (``all``: the label was not sampled).
SAMPLE_REASONS = ("all", "highest", "lowest", "random")
#: Seed of the random part of ``--max-per-label`` unless asked for another.
DEFAULT_SEED = 0

# Start times in file names, as field recorders write them: AudioMoth and Song Meter
# (``20190621_053000``, ``SITE_20190621_053000``), ISO-like (``2019-06-21T05-30-00``,
# ``2019-06-21 05:30:00``), then a date alone (``20190621``, ``2019-06-21``).
_NAME_DATETIMES = (
    re.compile(
        r"(?<!\d)(?P<Y>\d{4})(?P<m>\d{2})(?P<d>\d{2})[_T-]?(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})(?!\d)"
    ),
    re.compile(
        r"(?<!\d)(?P<Y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})[T _-](?P<H>\d{2})[-:._h]?(?P<M>\d{2})"
        r"[-:._m]?(?P<S>\d{2})(?!\d)"
    ),
    re.compile(r"(?<!\d)(?P<Y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?!\d)"),
    re.compile(r"(?<!\d)(?P<Y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?!\d)"),
)
# AudioMoth's comment: "Recorded at 05:30:00 21/06/2019 (UTC) by AudioMoth ...".
_AUDIOMOTH_COMMENT = re.compile(
    r"Recorded at (?P<H>\d{2}):(?P<M>\d{2}):(?P<S>\d{2}) (?P<d>\d{2})/(?P<m>\d{2})/(?P<Y>\d{4})"
)
_PLAUSIBLE_YEARS = range(1950, 2100)


@dataclass
class ReviewRecording:
    """One recording of a review.

    Attributes
    ----------
    name : str
        How the page names it: its path relative to the batch's input (``site1/a.wav``), or the
        ``filename`` of its events.
    audio_path : str
        The audio file read for its images and clips.
    duration_seconds : float
        Its true length, from the audio header.
    sample_rate : int
        Its native rate, in Hz.
    events : pd.DataFrame
        Its estimated events (the canonical event table, ``filename`` as in the batch).
    reference : pd.DataFrame or None
        Its reference events, when references were given.
    start : datetime or None
        When it began, from its name or metadata (see :func:`recording_start`).
    start_source : str
        ``"name"``, ``"metadata"`` or ``""``.
    """

    name: str
    audio_path: str
    duration_seconds: float
    sample_rate: int
    events: pd.DataFrame
    reference: pd.DataFrame | None = None
    start: datetime | None = None
    start_source: str = ""


@dataclass
class ReviewSet:
    """The recordings of a review and what the batch says about itself.

    Attributes
    ----------
    recordings : list of ReviewRecording
        Sorted by name.
    source : str
        The batch folder or events file.
    parameters : dict
        The batch's ``parameters.json`` (empty for an events file).
    failures : list of (str, str)
        Recordings the batch could not process (``failures.csv``: path, error).
    """

    recordings: list[ReviewRecording]
    source: str
    parameters: dict = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def events(self) -> pd.DataFrame:
        """Every estimated event, with a ``recording`` column (index into ``recordings``)."""
        import pandas as pd

        from sed.events import event_table

        tables = [r.events.assign(recording=i) for i, r in enumerate(self.recordings)]
        tables = [t for t in tables if len(t)]
        if not tables:
            return event_table().assign(recording=pd.Series(dtype=int))
        combined = pd.concat(tables, ignore_index=True)
        return combined.sort_values(["recording", "onset", "offset", "event_label"], kind="stable")


def load_review_set(
    source: str | os.PathLike,
    *,
    audio: str | os.PathLike | None = None,
    reference: str | os.PathLike | None = None,
    label_column: str | None = None,
) -> ReviewSet:
    """The recordings of a batch output folder, or of an events file (or folder) and its audio.

    Parameters
    ----------
    source : str or os.PathLike
        The output folder of a ``sed detect`` batch (its ``.sed/results`` are read: the
        recordings of ``all_events.csv``, those without events included), or events in any
        format :func:`sed.events.read_events` reads (a file, or a folder of files).
    audio : str or os.PathLike, optional
        The recordings: one audio file, or a folder searched for each recording by its path
        relative to the batch input, its file name, then its stem. Needed for an events file
        unless its ``filename`` column names files that exist; for a batch, by default each
        recording is looked for where ``sed detect`` read it.
    reference : str or os.PathLike, optional
        Reference events (a file or folder, any format), drawn in the overviews; matched to the
        recordings by stem (a single recording to a single recording whatever its name).
    label_column : str, optional
        The label column of headed tables (Raven's ``Species``...), for the events file and
        the reference (:func:`sed.events.read_events`).

    Returns
    -------
    review_set : ReviewSet

    Raises
    ------
    AnnotationError
        If an events or reference file is malformed, or the batch folder is incomplete.
    AudioError
        If a recording's audio cannot be found or read (the message says to give ``--audio``).
    """
    from sed.batch_folder import is_batch_output

    source = os.fspath(source)
    if os.path.isdir(source) and is_batch_output(source):
        review_set = _batch_set(source, audio)
    else:
        review_set = _events_set(source, audio, label_column)
    if reference is not None:
        _attach_references(review_set.recordings, reference, label_column)
    return review_set


def _batch_set(folder: str, audio) -> ReviewSet:
    import json

    from sed.batch_folder import FAILURES_FILE, PARAMETERS_FILE, completed_results, events_of

    results = completed_results(folder)
    if not results:
        raise AnnotationError("the batch has no completed recording", folder)
    tables = {relative: events_of(result) for relative, result in results}
    root = _input_root(tables)
    find = _audio_finder(audio, len(results))
    recordings = []
    for relative, _ in results:
        events = tables[relative]
        recorded = str(events["filename"].iloc[0]) if len(events) else None
        candidates = [recorded, os.path.join(root, relative) if root is not None else None]
        path = find(relative, recorded, candidates)
        recordings.append(_recording(relative, path, events))
    with open(os.path.join(folder, PARAMETERS_FILE), encoding="utf-8") as handle:
        parameters = json.load(handle)
    return ReviewSet(recordings, folder, parameters, _failures(os.path.join(folder, FAILURES_FILE)))


def _input_root(tables: dict[str, pd.DataFrame]) -> str | None:
    """The folder ``sed detect`` found the recordings under, from a path it recorded."""
    for relative, events in tables.items():
        if len(events):
            recorded = str(events["filename"].iloc[0]).replace(os.sep, "/")
            if recorded.endswith(relative):
                return recorded[: len(recorded) - len(relative)] or "."
    return None


def _events_set(source: str, audio, label_column) -> ReviewSet:
    from sed.annotations import read_annotations
    from sed.audio import is_audio_name
    from sed.events import event_table

    if os.path.isdir(source) and any(is_audio_name(name) for name in os.listdir(source)):
        raise AnnotationError(
            "holds recordings, and is not the output folder of a `sed detect` batch (no "
            "parameters.json and .sed/results): give that folder, or an events file, and the "
            "recordings with --audio",
            source,
        )
    found = read_annotations(source, label_column=label_column)
    find = _audio_finder(audio, len(found.recordings))
    recordings = []
    for recording in sorted(found.recordings.values(), key=lambda r: r.name):
        events = event_table(recording.events.to_dict(orient="records"))
        name = recording.name
        recordings.append(_recording(name, find(name, name, [name]), events))
    return ReviewSet(recordings, source)


def _recording(name: str, path: str, events: pd.DataFrame) -> ReviewRecording:
    info = audio_info(path)
    start, start_source = recording_start(path)
    return ReviewRecording(
        name, path, info.duration_seconds, info.sample_rate, events, None, start, start_source
    )


def _audio_finder(audio, n_recordings: int) -> Callable[[str, str | None, list], str]:
    """Where a recording's audio is: ``find(name, recorded_path, candidates)``."""
    audio = None if audio is None else os.fspath(audio)
    if audio is not None and not os.path.exists(audio):
        raise AudioError("no such file or folder", audio)
    if audio is not None and os.path.isfile(audio) and n_recordings > 1:
        raise ParameterError(
            f"--audio is one file, but there are {n_recordings} recordings: give their folder"
        )
    stems: dict[str, str] | None = None

    def find(name: str, recorded: str | None, candidates: list) -> str:
        nonlocal stems
        if audio is not None and os.path.isfile(audio):
            return audio
        if audio is not None:
            for relative in (name, os.path.basename(name), recorded and os.path.basename(recorded)):
                if relative and os.path.isfile(os.path.join(audio, relative)):
                    return os.path.join(audio, relative)
            stems = audio_by_stem(audio) if stems is None else stems
            if recording_stem(name) in stems:
                return stems[recording_stem(name)]
            raise AudioError(f"no audio file for recording {name!r}", audio)
        for candidate in candidates:
            if candidate and os.path.isfile(candidate):
                return candidate
        raise AudioError(
            "audio not found; give the recordings' folder (or file) with --audio", name
        )

    return find


def _failures(path: str) -> list[tuple[str, str]]:
    import csv

    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8", newline="") as handle:
        return [(row["path"], row["error"]) for row in csv.DictReader(handle)]


def _attach_references(recordings: list[ReviewRecording], reference, label_column) -> None:
    from sed.annotations import read_annotations
    from sed.events import event_table

    found = read_annotations(reference, label_column=label_column).recordings
    if len(recordings) == 1 and len(found) == 1:
        recordings[0].reference = next(iter(found.values())).events
        return
    for recording in recordings:
        match = found.get(recording_stem(recording.name))
        recording.reference = event_table() if match is None else match.events


def recording_start(path: str | os.PathLike) -> tuple[datetime | None, str]:
    """When a recording began, from its file name or, failing that, its metadata.

    File names are read as field recorders write them: AudioMoth and Song Meter
    (``20190621_053000.WAV``, ``SITE_20190621_053000.wav``), ISO-like
    (``2019-06-21T05-30-00``, ``2019-06-21 05:30:00``), or a date alone (``20190621``,
    ``2019-06-21``: midnight). Metadata: the file's date tag (RIFF ``ICRD``, Vorbis ``DATE``...),
    then AudioMoth's comment ``Recorded at 05:30:00 21/06/2019``.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    start : datetime or None
        Naive (the clock the recorder used); None when nothing gives a plausible date
        (years 1950 to 2099).
    source : {"name", "metadata", ""}
    """
    found = parse_datetime(os.path.basename(os.fspath(path)))
    if found is not None:
        return found, "name"
    for text in _metadata_texts(path):
        found = parse_datetime(text)
        if found is not None:
            return found, "metadata"
    return None, ""


def parse_datetime(text: str) -> datetime | None:
    """The first plausible date and time in ``text`` (see :func:`recording_start`), or None."""
    for pattern in (*_NAME_DATETIMES, _AUDIOMOTH_COMMENT):
        for match in pattern.finditer(text):
            parts = {k: int(v) for k, v in match.groupdict().items()}
            if parts["Y"] not in _PLAUSIBLE_YEARS:
                continue
            try:
                return datetime(
                    parts["Y"],
                    parts["m"],
                    parts["d"],
                    parts.get("H", 0),
                    parts.get("M", 0),
                    parts.get("S", 0),
                )
            except ValueError:
                continue
    return None


def _metadata_texts(path) -> list[str]:
    import soundfile as sf

    try:
        with sf.SoundFile(os.fspath(path)) as handle:
            metadata = handle.copy_metadata()
    except (sf.LibsndfileError, RuntimeError, OSError):
        return []
    return [str(metadata[key]) for key in ("date", "comment") if metadata.get(key)]


def sample_events(events: pd.DataFrame, max_per_label: int | None, *, seed: int = DEFAULT_SEED):
    """At most ``max_per_label`` events of each label: the highest scores, the lowest, and a
    random sample of the rest, so that a reviewer hears the sure detections and the threshold
    region, and can estimate the precision in between.

    Parameters
    ----------
    events : pd.DataFrame
        An event table (``score`` may be NaN: such events count as the lowest).
    max_per_label : int >= 1, optional
        None keeps every event. Otherwise a label with more events keeps
        ``ceil(N / 3)`` highest, ``round(N / 3)`` lowest and the rest drawn at random from
        the events between them.
    seed : int
        Seed of the random draw (the same seed gives the same sample).

    Returns
    -------
    sample : pd.DataFrame
        The kept rows of ``events`` (in its order) with a column ``sample``: one of
        :data:`SAMPLE_REASONS`.

    Raises
    ------
    ParameterError
        If ``max_per_label`` < 1.
    """
    if max_per_label is None:
        return events.assign(sample="all")
    if max_per_label < 1:
        raise ParameterError(f"--max-per-label must be at least 1, got {max_per_label}")
    rng = np.random.default_rng(seed)
    reasons: dict[int, str] = {}
    for _, group in events.groupby("event_label", sort=True):
        if len(group) <= max_per_label:
            reasons.update(dict.fromkeys(group.index, "all"))
            continue
        ranked = group.sort_values("score", ascending=False, kind="stable", na_position="last")
        n_high = math.ceil(max_per_label / 3)
        n_low = round(max_per_label / 3) if max_per_label > 1 else 0
        n_random = max_per_label - n_high - n_low
        high = ranked.index[:n_high]
        low = ranked.index[len(ranked) - n_low :] if n_low else ranked.index[:0]
        middle = ranked.index[n_high : len(ranked) - n_low]
        drawn = rng.choice(middle, size=n_random, replace=False) if n_random else middle[:0]
        reasons.update(dict.fromkeys(high, "highest"))
        reasons.update(dict.fromkeys(low, "lowest"))
        reasons.update(dict.fromkeys(drawn, "random"))
    kept = events.loc[[index for index in events.index if index in reasons]]
    return kept.assign(sample=[reasons[index] for index in kept.index])
