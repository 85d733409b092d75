"""Training data: labelled clips from a folder per class or a CSV file, plus background recordings.

A :class:`TrainingData` is a table of clips (``path``, ``label``, ``group``) and the classes in
output order. Clips of one group (cut from one recording, such as ESC-50's ``src_file``) are never
split apart (:mod:`sed.heads.splits`). Recordings without events form the background
(:data:`sed.heads.head.BACKGROUND_LABEL`).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass

import pandas as pd

from sed.audio import AUDIO_EXTENSIONS, display_path, find_audio_files
from sed.errors import AnnotationError, ParameterError, printable
from sed.heads.config import DEFAULT_FILENAME_COLUMN, DEFAULT_LABEL_COLUMN
from sed.heads.head import BACKGROUND_LABEL
from sed.infra import read_user_text

#: Label of non-target event clips (:func:`non_target_clips`): never a class.
NON_TARGET_LABEL = "_non_target"


@dataclass
class TrainingData:
    """Labelled clips to train a head on.

    Attributes
    ----------
    clips : pd.DataFrame
        One row per clip: ``path`` (an audio file), ``label`` (a class,
        :data:`BACKGROUND_LABEL`, or :data:`NON_TARGET_LABEL`), ``group`` (clips of one
        group are never split apart).
    classes : tuple of str
        The event classes, in output order (the background is not one of them).
    source : str
        Where the data came from (a folder or CSV), for the metadata.
    """

    clips: pd.DataFrame
    classes: tuple[str, ...]
    source: str = ""

    @property
    def labels(self) -> tuple[str, ...]:
        """The classes, then the background if there are background clips."""
        return self.classes + ((BACKGROUND_LABEL,) if self.has_background else ())

    @property
    def has_background(self) -> bool:
        return bool((self.clips["label"] == BACKGROUND_LABEL).any())

    def summary(self) -> dict:
        """Clips and groups per label, for the metadata and the report."""
        counts = self.clips.groupby("label", sort=False).agg(
            clips=("path", "size"), groups=("group", "nunique")
        )
        summary = {
            "source": self.source,
            "clips": int(len(self.clips)),
            "groups": int(self.clips["group"].nunique()),
            "per_label": {
                label: {k: int(v) for k, v in counts.loc[label].items()} for label in self.labels
            },
        }
        non_target = int(counts["clips"].get(NON_TARGET_LABEL, 0))
        if non_target:
            summary["non_target_clips"] = non_target
        return summary


def background_clips(directory: str | os.PathLike) -> pd.DataFrame:
    """Every audio file under ``directory`` as a background clip, each its own group.

    Raises
    ------
    ParameterError
        If the folder does not exist or holds no audio file.
    """
    return _folder_clips(directory, BACKGROUND_LABEL, "background")


def non_target_clips(directory: str | os.PathLike) -> pd.DataFrame:
    """Every audio file under ``directory`` as a non-target event clip
    (:data:`NON_TARGET_LABEL`), each its own group.

    Non-target events are sounds of none of the classes, mixed into a frame-level head's
    training soundscapes with no label (:mod:`sed.heads.soundscapes`): the DESED synthetic
    soundscapes of DCASE 2021-2024 task 4 hold such events for the same reason.

    Raises
    ------
    ParameterError
        If the folder does not exist or holds no audio file.
    """
    return _folder_clips(directory, NON_TARGET_LABEL, "non-target")


def _folder_clips(directory: str | os.PathLike, label: str, what: str) -> pd.DataFrame:
    if not os.path.isdir(directory):
        raise ParameterError(f"{what} folder does not exist", directory)
    paths = find_audio_files([directory]).paths
    if not paths:
        raise ParameterError(
            f"{what} folder has no audio files ({', '.join(AUDIO_EXTENSIONS)})", directory
        )
    return pd.DataFrame({"path": paths, "label": label, "group": paths})


def folder_dataset(
    directory: str | os.PathLike,
    *,
    classes: list[str] | None = None,
    background: str | os.PathLike | None = None,
) -> TrainingData:
    """A data set from a folder with one sub-folder of audio files per class.

    Parameters
    ----------
    directory : str or os.PathLike
        ``directory/<class>/*.wav`` (any depth below the class folder). A sub-folder named
        ``_background`` holds recordings without events. Hidden folders are skipped.
    classes : list of str, optional
        Use only these classes (in this order); by default every sub-folder, sorted.
    background : str or os.PathLike, optional
        A further folder of background recordings.

    Returns
    -------
    data : TrainingData
        Each file is its own group.

    Raises
    ------
    ParameterError
        If the folder does not exist, a class folder holds no audio, a requested class has no
        folder, or there are fewer than two labels to tell apart.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ParameterError("training folder does not exist", directory)
    folders = sorted(
        f
        for f in os.listdir(directory)
        if os.path.isdir(os.path.join(directory, f)) and not f.startswith(".")
    )
    names = [f for f in folders if f != BACKGROUND_LABEL]
    if not names:
        raise ParameterError(
            "training folder holds no class folders: give a folder with one sub-folder of audio "
            "files per class",
            directory,
        )
    wanted = _check_classes(classes, names, directory, "a sub-folder")
    frames = []
    for name in wanted:
        paths = find_audio_files([os.path.join(directory, name)]).paths
        if not paths:
            raise ParameterError("class folder has no audio files", os.path.join(directory, name))
        frames.append(pd.DataFrame({"path": paths, "label": name, "group": paths}))
    if BACKGROUND_LABEL in folders:
        frames.append(background_clips(os.path.join(directory, BACKGROUND_LABEL)))
    if background is not None:
        frames.append(background_clips(background))
    return _finish(frames, tuple(wanted), directory)


def csv_dataset(
    path: str | os.PathLike,
    *,
    label_column: str = DEFAULT_LABEL_COLUMN,
    filename_column: str = DEFAULT_FILENAME_COLUMN,
    group_column: str | None = None,
    classes: list[str] | None = None,
    where: dict[str, str] | None = None,
    audio_dir: str | os.PathLike | None = None,
    background: str | os.PathLike | None = None,
) -> TrainingData:
    """A data set from a CSV file with a file name and a label per clip (ESC-50's ``esc50.csv``).

    Parameters
    ----------
    path : str or os.PathLike
        CSV with a header row.
    label_column, filename_column : str
        Columns of the class and of the audio file name (relative to ``audio_dir``).
    group_column : str, optional
        Clips with the same value come from one recording and stay on one side of every split
        (ESC-50: ``src_file``); by default every clip is its own group.
    classes : list of str, optional
        Use only the clips of these classes, in this order; by default all, sorted.
    where : dict of str to str, optional
        Keep only rows whose column equals the value (compared as text), e.g.
        ``{"fold": "4"}`` or ``{"split": "train"}``.
    audio_dir : str or os.PathLike, optional
        Folder of the audio files. By default the CSV's folder, or the ``audio`` folder beside
        it (ESC-50's ``meta/`` and ``audio/``), whichever holds the first file.
    background : str or os.PathLike, optional
        A folder of background recordings.

    Raises
    ------
    AnnotationError
        If the CSV cannot be parsed, lacks a column, has an empty file name or label, or lists
        audio files that do not exist (the message names the line of the first, with the count).
    ParameterError
        For an unknown class, a ``where`` value no row has, or fewer than two labels.
    """
    path = os.fspath(path)
    table = _read_csv(path)
    if table.empty:
        raise AnnotationError("holds no clips: a header line only", path)
    needed = (
        [filename_column, label_column]
        + ([group_column] if group_column else [])
        + list(where or {})
    )
    for column in needed:
        if column not in table.columns:
            raise AnnotationError(
                f"no column {column!r}; the columns are {', '.join(map(repr, table.columns))}", path
            )
    for column, value in (where or {}).items():
        kept = table[table[column].str.strip() == str(value).strip()]
        if kept.empty:
            raise ParameterError(f"no row has {column} = {value!r}", path)
        table = kept
    for column in (filename_column, label_column):
        empty = table[table[column].fillna("").str.strip() == ""]
        if not empty.empty:
            raise AnnotationError(f"line {empty['_line'].iloc[0]}: empty {column}", path)
    table[label_column] = table[label_column].str.strip()
    wanted = _check_classes(
        classes, sorted(table[label_column].unique()), path, f"a value of column {label_column!r}"
    )
    table = table[table[label_column].isin(wanted)]
    directory = _audio_dir(path, audio_dir, table[filename_column].iloc[0])
    paths = [os.path.join(directory, name.strip()) for name in table[filename_column]]
    missing = [i for i, p in enumerate(paths) if not os.path.isfile(p)]
    if missing:  # named by the table's line, which is what the user edits
        first = missing[0]
        raise AnnotationError(
            f"line {table['_line'].iloc[first]}: audio file "
            f"{table[filename_column].iloc[first].strip()!r} not found in {directory}"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
            + ("" if audio_dir else "; pass the audio folder with --audio-dir"),
            path,
        )
    groups = table[group_column].fillna("").str.strip() if group_column else pd.Series(paths)
    frames = [
        pd.DataFrame(
            {
                "path": paths,
                "label": table[label_column].to_numpy(),
                "group": [str(g) for g in groups],
            }
        )
    ]
    if background is not None:
        frames.append(background_clips(background))
    return _finish(frames, tuple(wanted), path)


def load_dataset(
    data: str | os.PathLike,
    *,
    classes: list[str] | None = None,
    label_column: str = DEFAULT_LABEL_COLUMN,
    filename_column: str = DEFAULT_FILENAME_COLUMN,
    group_column: str | None = None,
    where: dict[str, str] | None = None,
    audio_dir: str | os.PathLike | None = None,
    background: str | os.PathLike | None = None,
) -> TrainingData:
    """A folder (:func:`folder_dataset`) or a CSV file (:func:`csv_dataset`), by what ``data`` is.

    Raises
    ------
    ParameterError
        If ``data`` does not exist, or CSV-only options are given with a folder.
    """
    data = os.fspath(data)
    if os.path.isdir(data):
        csv_only = {
            "--label-column": label_column != DEFAULT_LABEL_COLUMN,
            "--group-column": group_column,
            "--filename-column": filename_column != DEFAULT_FILENAME_COLUMN,
            "--where": where,
            "--audio-dir": audio_dir,
        }
        given = [name for name, value in csv_only.items() if value]
        if given:
            raise ParameterError(f"{', '.join(given)} apply to a CSV file, not a folder", data)
        return folder_dataset(data, classes=classes, background=background)
    if not os.path.exists(data):
        raise ParameterError("no such folder or CSV file", data)
    if data.lower().endswith(AUDIO_EXTENSIONS):
        raise ParameterError(
            "is an audio file, not training data: give a folder with a sub-folder of audio files "
            "per class, or a CSV table of clips and their labels",
            data,
        )
    return csv_dataset(
        data,
        label_column=label_column,
        filename_column=filename_column,
        group_column=group_column,
        classes=classes,
        where=where,
        audio_dir=audio_dir,
        background=background,
    )


def parse_where(conditions) -> dict[str, str]:
    """``["fold=4", "split=train"]`` as ``{"fold": "4", "split": "train"}``.

    Raises
    ------
    ParameterError
        If a condition is not ``COLUMN=VALUE``.
    """
    parsed = {}
    for condition in conditions or ():
        column, sign, value = condition.partition("=")
        if not sign or not column.strip():
            raise ParameterError(f"expected COLUMN=VALUE, got {condition!r}")
        parsed[column.strip()] = value.strip()
    return parsed


def _read_csv(path: str) -> pd.DataFrame:
    """The rows of a CSV file with a header, as text, with the ``_line`` each row is on.

    Blank lines are skipped and short rows padded with empty cells (as pandas reads them); the
    csv module reads it, so that every problem gets its line.
    """
    if not os.path.isfile(path):
        raise AnnotationError("no such file", path)
    text = read_user_text(path, AnnotationError, "CSV file")
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True, strict=True)
    rows, lines = [], []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append(row)
                lines.append(reader.line_num)
    except csv.Error as error:
        raise AnnotationError(
            f"line {reader.line_num}: not a readable CSV file ({error})", path
        ) from None
    if not rows:
        raise AnnotationError("file is empty: expected a header line, then a row per clip", path)
    header = [cell.strip() for cell in rows[0]]
    repeated = next((name for name in header if header.count(name) > 1), None)
    if repeated is not None:
        raise AnnotationError(f"line {lines[0]}: column {repeated!r} appears twice", path)
    for row, line in zip(rows[1:], lines[1:]):
        if len(row) > len(header):
            raise AnnotationError(
                f"line {line}: {len(row)} fields, more than the header's {len(header)}", path
            )
    table = pd.DataFrame(
        [row + [""] * (len(header) - len(row)) for row in rows[1:]], columns=header, dtype=str
    )
    table["_line"] = lines[1:]
    return table


def _audio_dir(csv_path: str, audio_dir, first_name: str) -> str:
    if audio_dir is not None:
        if not os.path.isdir(audio_dir):
            raise ParameterError("audio folder does not exist", audio_dir)
        return os.fspath(audio_dir)
    here = os.path.dirname(os.path.abspath(csv_path))
    for candidate in (
        here,
        os.path.join(here, "audio"),
        os.path.join(os.path.dirname(here), "audio"),
    ):
        if os.path.isfile(os.path.join(candidate, first_name.strip())):
            return candidate
    return here


def _check_classes(classes, available: list[str], source: str, what: str) -> list[str]:
    if classes is None:
        return list(available)
    classes = [c.strip() for c in classes if c.strip()]
    for name in classes:
        if name not in available:
            raise ParameterError(
                f"unknown class {name!r}: not {what} (there are "
                f"{', '.join(map(repr, available[:12]))}"
                f"{', ...' if len(available) > 12 else ''})",
                source,
            )
        if name == BACKGROUND_LABEL:
            raise ParameterError(f"{BACKGROUND_LABEL} is the background, not a class", source)
    if len(set(classes)) != len(classes):
        raise ParameterError("a class is listed twice", source)
    return classes


def _finish(frames: list[pd.DataFrame], classes: tuple[str, ...], source: str) -> TrainingData:
    for label in classes:
        # A head stores its labels one a line (labels.txt) and events hold them in table cells:
        # a label with a line break would give more labels than the model has outputs.
        if display_path(label) != label:
            where = os.path.join(source, label) if os.path.isdir(source) else source
            raise ParameterError(
                f"class '{printable(label)}' has a tab, a line break or bytes that are not "
                "UTF-8 in its name, which a head's labels.txt and the event tables cannot hold; "
                "rename it",
                where,
            )
    clips = pd.concat(frames, ignore_index=True)
    data = TrainingData(clips, classes, os.fspath(source))
    if len(data.labels) < 2:
        raise ParameterError(
            f"need at least two labels to tell apart (classes or a background), "
            f"found {list(data.labels)}",
            source,
        )
    return data
