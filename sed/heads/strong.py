"""Strong-label training data for frame-level heads: where events begin and end, frame by frame.

Two sources, as users hold their material, usable together:

1. **event clips and background recordings** (a folder per class or a CSV, as for window heads,
   :mod:`sed.heads.datasets`): soundscapes are synthesised from them (:mod:`sed.heads.soundscapes`),
   with labels exact by construction;
2. **annotated recordings**: recordings with annotation files in any format
   :func:`sed.events.read_events` reads (Raven selection tables, Audacity labels, DCASE lists,
   our CSV and JSON), paired by recording stem (``site1.wav`` with ``site1.Table.1.selections.txt``)
   and trained on whole, as they are, without cutting them into clips.

Every recording, soundscape or clip becomes frame targets (:func:`frame_targets`) on the grid of
the feature frames (:mod:`sed.model.feature_maps`), then fixed-length training sequences
(:class:`Sequences`).

**Validation split** (early stopping and the report), grouped as for window heads: no event
clip, clip group or annotated recording is on both sides. Validation soundscapes are synthesised
from the validation clips only, under two conditions (:func:`training_split`):

- **unheard**: over background recordings held out whole (grouped by background recording, a
  ``validation_fraction`` share of them, at least one), never heard in training: how the head
  does in a room it has not heard;
- **heard**: over the last ``validation_fraction`` of each of the other background recordings,
  whose first part the training soundscapes use (no background sample is on both sides, but
  the rooms are heard).

With a single background recording (group) no unheard validation is possible: the validation
soundscapes are all heard, and :attr:`TrainingSplit.notes` says so. Annotated recordings held
out whole (with at least ``1 / validation_fraction`` of them) are unheard; with fewer, grouping
cannot make a validation part: the last ``validation_fraction`` of each recording is held out
instead (in time), and is heard.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sed.audio import DEFAULT_RESAMPLER, audio_by_stem, is_audio_name, load_audio, recording_stem
from sed.errors import AnnotationError, ParameterError
from sed.heads.datasets import TrainingData, load_dataset, non_target_clips
from sed.heads.frame_features import FeatureCache
from sed.heads.head import BACKGROUND_LABEL
from sed.heads.soundscapes import SoundscapeConfig, make_clip, synthesise
from sed.heads.splits import validation_split
from sed.model.feature_maps import FeatureSpec

if TYPE_CHECKING:
    from sed.model import Yamnet

#: Target value of frames left out of the loss (the padding of a short recording).
IGNORED = -1.0


@dataclass
class AnnotatedRecording:
    """A recording and its reference events.

    Attributes
    ----------
    path : str
        The audio file.
    events : pd.DataFrame
        ``onset, offset, event_label`` (seconds), as :func:`sed.events.read_events` reads them.
    annotation : str
        The annotation file, for messages.
    """

    path: str
    events: pd.DataFrame
    annotation: str = ""


@dataclass
class StrongData:
    """The material a frame-level head is trained on.

    Attributes
    ----------
    classes : tuple of str
        Event labels, in output order.
    clips : TrainingData or None
        Event clips and background recordings to synthesise soundscapes from.
    recordings : list of AnnotatedRecording
        Annotated recordings, trained on whole.
    source : str
        Where the data came from, for the metadata.
    """

    classes: tuple[str, ...]
    clips: TrainingData | None = None
    recordings: list[AnnotatedRecording] = field(default_factory=list)
    source: str = ""

    def summary(self) -> dict:
        """Counts per source and per class, for the metadata and the report."""
        summary: dict = {"source": self.source, "classes": list(self.classes)}
        if self.clips is not None:
            summary["clips"] = self.clips.summary()
        if self.recordings:
            events = pd.concat([r.events for r in self.recordings], ignore_index=True)
            summary["recordings"] = {
                "recordings": len(self.recordings),
                "events_per_label": {
                    label: int((events["event_label"] == label).sum()) for label in self.classes
                },
            }
        return summary


def annotation_files(annotations: str | os.PathLike) -> dict[str, str]:
    """Annotation files by recording stem: one file, or every file of a folder that is not
    audio (so recordings and their annotations may share a folder).

    Raises
    ------
    AnnotationError
        If the path does not exist, the folder holds no annotation file, or two annotation files
        name one recording.
    """
    path = os.fspath(annotations)
    if os.path.isfile(path):
        return {recording_stem(path): path}
    if not os.path.isdir(path):
        raise AnnotationError("no such annotation file or folder", path)
    files: dict[str, str] = {}
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if name.startswith(".") or not os.path.isfile(full) or is_audio_name(name):
            continue
        stem = recording_stem(name)
        if stem in files:
            raise AnnotationError(
                f"two annotation files for recording {stem!r}: "
                f"{os.path.basename(files[stem])} and {name}",
                path,
            )
        files[stem] = full
    if not files:
        raise AnnotationError("folder holds no annotation files", path)
    return files


def annotated_recordings(
    audio: str | os.PathLike, annotations: str | os.PathLike
) -> list[AnnotatedRecording]:
    """Recordings and their annotation files, paired by recording stem.

    Parameters
    ----------
    audio : str or os.PathLike
        Folder of recordings (searched recursively, :func:`sed.audio.audio_by_stem`).
    annotations : str or os.PathLike
        An annotation file or a folder of them (:func:`annotation_files`), in any format
        :func:`sed.events.read_events` reads. Recordings without one are not used.

    Returns
    -------
    recordings : list of AnnotatedRecording
        Sorted by stem.

    Raises
    ------
    AnnotationError
        If an annotation file is malformed (file, line and problem named) or names a
        recording that has no audio file.
    AudioError
        If ``audio`` is not a folder.
    """
    from sed.events import read_events

    sounds = audio_by_stem(audio)
    recordings = []
    for stem, annotation in sorted(annotation_files(annotations).items()):
        if stem not in sounds:
            raise AnnotationError(
                f"annotation names recording {stem!r}, which has no audio file in "
                f"{os.fspath(audio)}",
                annotation,
            )
        events = read_events(annotation).events[["onset", "offset", "event_label"]]
        recordings.append(AnnotatedRecording(sounds[stem], events, annotation))
    return recordings


def strong_dataset(
    data: str | os.PathLike | None = None,
    *,
    recordings: str | os.PathLike | None = None,
    annotations: str | os.PathLike | None = None,
    classes: Sequence[str] | None = None,
    background: str | os.PathLike | None = None,
    non_target: str | os.PathLike | None = None,
    **clip_options,
) -> StrongData:
    """Strong-label material from event clips (with backgrounds), annotated recordings, or both.

    Parameters
    ----------
    data : str or os.PathLike, optional
        Event clips: a folder per class or a CSV (:func:`sed.heads.datasets.load_dataset`,
        which takes ``clip_options``: ``label_column``, ``filename_column``, ``group_column``,
        ``where``, ``audio_dir``). Soundscapes are synthesised from them, which needs background
        recordings (a ``_background`` folder or ``background``).
    recordings, annotations : str or os.PathLike, optional
        Annotated recordings (:func:`annotated_recordings`); both or neither.
    classes : sequence of str, optional
        Labels to learn, in output order; by default every label of either source, sorted.
        Annotated events of other labels are ignored.
    background : str or os.PathLike, optional
        A further folder of background recordings for the soundscapes.
    non_target : str or os.PathLike, optional
        A folder of clips of other sounds, none of the classes (:func:`sed.heads.datasets.
        non_target_clips`): mixed into the soundscapes as events with no label, drawn as one
        more class (a share ``1 / (n_classes + 1)`` of the events). Needs ``data``.

    Returns
    -------
    data : StrongData

    Raises
    ------
    ParameterError
        If no source is given, only one of ``recordings`` and ``annotations``, clips without
        background recordings, a class that neither source has, or ``non_target`` without
        ``data`` or without audio.
    AnnotationError, AudioError
        As :func:`annotated_recordings` and :func:`sed.heads.datasets.load_dataset`.
    """
    if (recordings is None) != (annotations is None):
        raise ParameterError("annotated recordings need both their audio folder and annotations")
    if data is None and recordings is None:
        raise ParameterError("no training data: give event clips (DATA) or annotated recordings")
    if non_target is not None and data is None:
        raise ParameterError(
            "non-target clips are mixed into soundscapes of event clips: give DATA too",
            non_target,
        )
    wanted = [c.strip() for c in classes if c.strip()] if classes is not None else None
    annotated = (
        annotated_recordings(recordings, annotations)
        if recordings is not None and annotations is not None
        else []
    )
    annotated_labels = sorted({label for r in annotated for label in r.events["event_label"]})
    clips = None
    if data is not None:
        clip_classes = _clip_classes(data, wanted, annotated_labels, clip_options)
        clips = load_dataset(data, classes=clip_classes, background=background, **clip_options)
        if not clips.has_background:
            raise ParameterError(
                "synthesising soundscapes from event clips needs background recordings "
                "(a _background folder or --background)",
                data,
            )
        if non_target is not None:
            extra = non_target_clips(non_target)
            clips = replace(clips, clips=pd.concat([clips.clips, extra], ignore_index=True))
    found = sorted(set(annotated_labels) | set(clips.classes if clips is not None else ()))
    chosen = tuple(wanted) if wanted is not None else tuple(found)
    missing = [label for label in chosen if label not in found]
    if missing:
        raise ParameterError(
            f"class {missing[0]!r} has no clip and no annotated event (labels found: "
            f"{', '.join(map(repr, found[:12]))}{', ...' if len(found) > 12 else ''})"
        )
    if not chosen:
        raise AnnotationError("no annotated events", annotations)
    for recording in annotated:
        recording.events = recording.events[recording.events["event_label"].isin(chosen)]
    source = ", ".join(os.fspath(p) for p in (data, recordings) if p is not None)
    return StrongData(chosen, clips, annotated, source)


def _clip_classes(data, wanted, annotated_labels, clip_options) -> list[str] | None:
    """The classes to take from the clips: all, or those wanted that are not only annotated."""
    if wanted is None:
        return None
    if not annotated_labels:
        return wanted
    # Classes may come from either source: ask the clips only for those they have.
    every = load_dataset(data, **clip_options).classes
    return [c for c in wanted if c in every]


def frame_targets(
    events: pd.DataFrame | Sequence[tuple[float, float, str]],
    n_frames: int,
    hop_seconds: float,
    classes: Sequence[str],
) -> np.ndarray:
    """Strong labels on a grid of frames ``[j * hop, (j + 1) * hop)``.

    A frame is active for a label when an event of that label covers at least half of it, or,
    for an event shorter than a frame, at least half of the event (so every event marks at
    least one frame).

    Parameters
    ----------
    events : pd.DataFrame or sequence of (onset, offset, label)
        Seconds; labels not in ``classes`` are ignored.
    n_frames : int
    hop_seconds : float > 0
    classes : sequence of str

    Returns
    -------
    targets : np.ndarray [shape=(n_frames, len(classes)), dtype=float32]
        1.0 active, 0.0 not.
    """
    rows: Iterable[tuple[float, float, str]] = (
        zip(events["onset"], events["offset"], events["event_label"])
        if isinstance(events, pd.DataFrame)
        else events
    )
    index = {label: k for k, label in enumerate(classes)}
    targets = np.zeros((n_frames, len(classes)), np.float32)
    starts = np.arange(n_frames) * hop_seconds
    for onset, offset, label in rows:
        if label not in index or offset <= onset:
            continue
        overlap = np.clip(
            np.minimum(starts + hop_seconds, offset) - np.maximum(starts, onset), 0, None
        )
        needed = 0.5 * min(hop_seconds, offset - onset)
        targets[overlap >= needed - 1e-9, index[label]] = 1.0
    return targets


@dataclass
class Sequences:
    """Fixed-length training sequences of feature frames with their frame targets.

    Attributes
    ----------
    features : np.ndarray [shape=(n, n_frames, width), dtype=float16]
    targets : np.ndarray [shape=(n, n_frames, n_classes), dtype=float32]
        1 active, 0 not, :data:`IGNORED` for frames left out of the loss.
    groups : np.ndarray [shape=(n,), dtype=object]
        The recording or soundscape each sequence comes from.
    """

    features: np.ndarray
    targets: np.ndarray
    groups: np.ndarray
    unheard: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.features)

    @property
    def unheard_mask(self) -> np.ndarray:
        """[shape=(n,), dtype=bool]: the sequences made from material unheard in training
        (background recordings or annotated recordings held out whole); all False when
        ``unheard`` is None."""
        if self.unheard is None:
            return np.zeros(len(self), bool)
        return np.asarray(self.unheard, bool)

    def subset(self, rows: np.ndarray) -> Sequences:
        """The sequences at ``rows`` (indices or a boolean mask), in order."""
        return Sequences(
            self.features[rows], self.targets[rows], self.groups[rows], self.unheard_mask[rows]
        )

    @classmethod
    def concat(cls, parts: Sequence[Sequences]) -> Sequences:
        """All sequences of ``parts`` in order (empty parts are skipped; ``parts`` must hold at
        least one, to give the shape)."""
        parts = [p for p in parts if len(p)] or list(parts[:1])
        return cls(
            np.concatenate([p.features for p in parts]),
            np.concatenate([p.targets for p in parts]),
            np.concatenate([p.groups for p in parts]),
            np.concatenate([p.unheard_mask for p in parts]),
        )


@dataclass
class HeldOutAudio:
    """Unheard validation audio with its reference events, for scorers that read audio rather
    than feature sequences (raw YAMNet with a label map, in the training report).

    Attributes
    ----------
    name : str
        Unique, for tables and messages.
    audio : np.ndarray [shape=(n_samples,), dtype=float32] or str
        A synthetic soundscape at the model's sample rate, or an annotated recording's path.
    events : pd.DataFrame
        ``onset, offset, event_label`` in seconds.
    """

    name: str
    audio: np.ndarray | str
    events: pd.DataFrame


@dataclass
class TrainingSplit:
    """What :func:`training_split` makes.

    Attributes
    ----------
    train, validation : Sequences
        ``validation.unheard_mask`` marks its unheard part (see the module notes).
    unheard_audio : list of HeldOutAudio
        The unheard validation soundscapes and held-out annotated recordings, as audio.
    notes : list of str
        One line each, for the report: why some validation is heard only.
    unheard_backgrounds : list of str
        The background recordings held out (their groups), never heard in training.
    """

    train: Sequences
    validation: Sequences
    unheard_audio: list[HeldOutAudio] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unheard_backgrounds: list[str] = field(default_factory=list)


def cut_sequences(
    features: np.ndarray, targets: np.ndarray, length: int, group: str, *, hop: int | None = None
) -> Sequences:
    """Cut one recording's frames into sequences of ``length`` frames every ``hop`` frames
    (``length // 2`` by default), the last one aligned with the recording's end. A recording
    shorter than ``length`` gives one sequence, padded with its last frame and :data:`IGNORED`
    targets."""
    n = len(features)
    if n < length:
        pad = length - n
        features = np.concatenate([features, np.repeat(features[-1:], pad, axis=0)])
        targets = np.concatenate([targets, np.full((pad, targets.shape[1]), IGNORED, np.float32)])
        n = length
    hop = hop or max(1, length // 2)
    starts = list(range(0, n - length + 1, hop))
    if starts[-1] != n - length:
        starts.append(n - length)
    return Sequences(
        np.stack([features[s : s + length] for s in starts]).astype(np.float16),
        np.stack([targets[s : s + length] for s in starts]),
        np.array([group] * len(starts), dtype=object),
    )


@dataclass(frozen=True)
class SequenceSettings:
    """How training sequences are made (the parts of the training configuration they need).

    Attributes
    ----------
    spec : FeatureSpec
    sequence_seconds : float
        Length of a training sequence (and of a synthetic soundscape).
    soundscapes : int
        Training soundscapes to synthesise from the clips (validation ones: ``soundscapes *
        validation_fraction``, at least one).
    soundscape : SoundscapeConfig
    validation_fraction : float in [0, 0.5]
    seed : int
    unheard_backgrounds : bool
        Hold out background recordings whole for unheard validation (module notes).
    """

    spec: FeatureSpec
    sequence_seconds: float
    soundscapes: int
    soundscape: SoundscapeConfig
    validation_fraction: float
    seed: int
    unheard_backgrounds: bool = True


def training_sequences(
    data: StrongData,
    model: Yamnet,
    settings: SequenceSettings,
    *,
    cache: FeatureCache | None = None,
    resampler: str = DEFAULT_RESAMPLER,
    progress: bool = False,
) -> tuple[Sequences, Sequences]:
    """The training and validation sequences of both sources (see :func:`training_split`).

    Returns
    -------
    train, validation : Sequences
        ``validation`` is empty with ``validation_fraction`` 0.
    """
    split = training_split(
        data, model, settings, cache=cache, resampler=resampler, progress=progress
    )
    return split.train, split.validation


def training_split(
    data: StrongData,
    model: Yamnet,
    settings: SequenceSettings,
    *,
    cache: FeatureCache | None = None,
    resampler: str = DEFAULT_RESAMPLER,
    progress: bool = False,
) -> TrainingSplit:
    """The training and validation sequences of both sources, the validation marked heard or
    unheard, and the unheard part as audio (see the module notes).

    Returns
    -------
    split : TrainingSplit
        ``split.validation`` is empty with ``validation_fraction`` 0.

    Raises
    ------
    AudioError
        If a clip, background or recording cannot be read (the file is named).
    ParameterError
        If the clips have too few groups for the validation split, or there are no backgrounds.
    """
    cache = cache or FeatureCache()
    length = sequence_frames(settings, model)
    empty = _empty(length, settings.spec.width, len(data.classes))
    split = TrainingSplit(empty, empty)
    train, validation = [empty], [empty]
    if data.clips is not None:
        parts = _soundscape_sequences(
            data, model, settings, length, cache, resampler, progress, split
        )
        train.append(parts[0])
        validation.append(parts[1])
    if data.recordings:
        parts = _recording_sequences(
            data, model, settings, length, cache, resampler, progress, split
        )
        train.append(parts[0])
        validation.append(parts[1])
    split.train, split.validation = Sequences.concat(train), Sequences.concat(validation)
    if not len(split.train):
        raise ParameterError("no training material: give event clips or annotated recordings")
    return split


def sequence_frames(settings: SequenceSettings, model: Yamnet) -> int:
    """Frames per training sequence: ``sequence_seconds`` on the feature grid, rounded up."""
    hop = settings.spec.hop_seconds(model.params)
    return max(1, int(np.ceil(settings.sequence_seconds / hop - 1e-9)))


def _empty(length: int, width: int, n_classes: int) -> Sequences:
    return Sequences(
        np.zeros((0, length, width), np.float16),
        np.zeros((0, length, n_classes), np.float32),
        np.zeros(0, dtype=object),
    )


def _soundscape_sequences(data, model, settings, length, cache, resampler, progress, split):
    """Train and validation soundscapes, from the two sides of the grouped clip split; the
    validation ones over heard and over unheard background recordings (module notes)."""
    clips = data.clips
    rate = model.params.sample_rate
    is_background = (clips.clips["label"] == BACKGROUND_LABEL).to_numpy()
    events = TrainingData(
        clips.clips[~is_background].reset_index(drop=True), clips.classes, clips.source
    )
    if settings.validation_fraction > 0:
        train_rows, validation_rows = validation_split(
            events, settings.validation_fraction, seed=settings.seed
        )
    else:
        train_rows, validation_rows = np.arange(len(events.clips)), np.arange(0)
    background_rows = clips.clips[is_background]
    waveforms = [
        load_audio(path, sample_rate=rate, resampler=resampler)[0]
        for path in background_rows["path"]
    ]
    held = _held_out_backgrounds(
        list(background_rows["group"]), settings, bool(len(validation_rows))
    )
    heard = [w for w, out in zip(waveforms, held) if not out]
    cut = [int(round(len(w) * (1 - settings.validation_fraction))) for w in heard]
    backgrounds = {
        "train": [w[:c] for w, c in zip(heard, cut)],
        "validation": [w[c:] for w, c in zip(heard, cut)],
        "unheard": [w for w, out in zip(waveforms, held) if out],
    }
    split.unheard_backgrounds = sorted(
        {str(g) for g, out in zip(background_rows["group"], held) if out}
    )
    if len(validation_rows) and not any(held) and settings.unheard_backgrounds:
        split.notes.append(
            "one background recording: unheard validation was impossible, the validation "
            "soundscapes are over the last part of it, heard in training"
        )
    event_clips = [
        make_clip(load_audio(path, sample_rate=rate, resampler=resampler)[0], rate, label, group)
        for path, label, group in zip(
            events.clips["path"], events.clips["label"], events.clips["group"]
        )
    ]
    rng = np.random.default_rng(settings.seed)
    validation_count = (
        max(1, round(settings.soundscapes * settings.validation_fraction))
        if len(validation_rows)
        else 0
    )
    counts = {
        "train": settings.soundscapes,
        "validation": validation_count,
        "unheard": validation_count if backgrounds["unheard"] else 0,
    }
    rows = {"train": train_rows, "validation": validation_rows, "unheard": validation_rows}
    result = []
    # Drawn in this order from one generator: with one background recording, the training and
    # validation soundscapes are those of a head trained before unheard validation existed.
    for side in ("train", "validation", "unheard"):
        soundscapes = (
            synthesise(
                [event_clips[i] for i in rows[side]],
                backgrounds[side],
                counts[side],
                rng,
                sample_rate=rate,
                config=settings.soundscape,
            )
            if counts[side]
            else []
        )
        items = soundscapes
        if progress:
            from tqdm import tqdm

            items = tqdm(soundscapes, desc=f"{side} soundscapes", unit="soundscape", leave=False)
        parts = [_empty(length, settings.spec.width, len(data.classes))]
        for number, soundscape in enumerate(items):
            name = f"{side} soundscape {number}"
            frames = cache.waveform(
                soundscape.waveform, model, settings.spec, name=name, resampler=resampler
            )
            targets = frame_targets(
                soundscape.events, len(frames), frames.hop_seconds, data.classes
            )
            part = cut_sequences(frames.features, targets, length, f"{side}-soundscape-{number}")
            part.unheard = np.full(len(part), side == "unheard")
            parts.append(part)
            if side == "unheard":
                references = pd.DataFrame(
                    soundscape.events, columns=["onset", "offset", "event_label"]
                )
                split.unheard_audio.append(HeldOutAudio(name, soundscape.waveform, references))
        result.append(Sequences.concat(parts))
    return result[0], Sequences.concat(result[1:])


def _held_out_backgrounds(groups: list, settings: SequenceSettings, validating: bool) -> list:
    """Which background recordings are held out whole for unheard validation: a
    ``validation_fraction`` share of the groups (at least one, never all), chosen with the
    seed; none with a single group or without validation."""
    names = sorted(set(map(str, groups)))
    if not validating or len(names) < 2 or not settings.unheard_backgrounds:
        return [False] * len(groups)
    count = min(len(names) - 1, max(1, round(len(names) * settings.validation_fraction)))
    # A generator of its own, so that the soundscapes' draws do not depend on this choice.
    order = np.random.default_rng([settings.seed, 1]).permutation(len(names))
    chosen = {names[i] for i in order[:count]}
    return [str(g) in chosen for g in groups]


def _recording_sequences(data, model, settings, length, cache, resampler, progress, split):
    """Train and validation sequences of the annotated recordings: recordings apart when there
    are enough of them (unheard), else the last part of each recording held out (heard; module
    notes)."""
    recordings = data.recordings
    fraction = settings.validation_fraction
    by_recording = fraction > 0 and len(recordings) >= round(1 / fraction)
    validation_ids: set[int] = set()
    if by_recording:
        rng = np.random.default_rng(settings.seed)
        order = rng.permutation(len(recordings))
        validation_ids = set(order[: max(1, round(len(recordings) * fraction))].tolist())
    items = cache.files(
        [r.path for r in recordings], model, settings.spec, resampler=resampler, progress=progress
    )
    empty = _empty(length, settings.spec.width, len(data.classes))
    train, validation = [empty], [empty]
    for number, (recording, frames) in enumerate(zip(recordings, items)):
        targets = frame_targets(recording.events, len(frames), frames.hop_seconds, data.classes)
        group = recording.path
        if by_recording or fraction == 0:
            held_out = number in validation_ids
            part = cut_sequences(frames.features, targets, length, group)
            part.unheard = np.full(len(part), held_out)
            (validation if held_out else train).append(part)
            if held_out:
                split.unheard_audio.append(
                    HeldOutAudio(recording.path, recording.path, recording.events)
                )
            continue
        cut = int(round(len(frames) * (1 - fraction)))
        train.append(cut_sequences(frames.features[:cut], targets[:cut], length, group))
        if cut < len(frames):
            validation.append(cut_sequences(frames.features[cut:], targets[cut:], length, group))
    if fraction > 0 and not by_recording:
        split.notes.append(
            f"{len(recordings)} annotated recording{'s' * (len(recordings) > 1)}: too few to "
            "hold one out, the last part of each validates (heard in training)"
        )
    return Sequences.concat(train), Sequences.concat(validation)
