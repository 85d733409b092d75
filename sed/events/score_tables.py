"""Score tables: one recording's scores over contiguous frames (``onset offset <label>...``).

The layout of sed_scores_eval (``sed_scores_eval.io.write_sed_scores``) and of the DCASE task 4
baseline's score files, from which PSDS and threshold-free F-scores are computed
(:mod:`sed.psds`): written by ``sed detect --scores`` and the batches, read back by ``sed
evaluate --scores``.
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING

import numpy as np

from sed.audio import recording_stem
from sed.errors import AnnotationError
from sed.events.table import MAX_SECONDS, TIME_DECIMALS, round_seconds, seconds_text
from sed.events.writers import write_text
from sed.scores import centre_stretches

if TYPE_CHECKING:
    import pandas as pd

    from sed.scores import ScoreGrid

#: Score tables are named ``NAME<SCORES_SUFFIX>``; a batch writes ``NAME.sed.scores.tsv``.
SCORES_SUFFIX = ".scores.tsv"


def score_table_times(window_scores: ScoreGrid) -> tuple[np.ndarray, np.ndarray]:
    """A score table's ``onset`` and ``offset`` columns: the contiguous, non-overlapping stretch
    of the recording each window (or frame) stands for.

    Each window stands for the hop-long stretch centred on its centre (the ``centres`` boundary
    convention of :mod:`sed.postprocessing`); the first one reaches back to 0 s and the last one
    to the end of the recording. Frames of a frame-level model, whose length is their hop, stand
    for themselves. This is the layout sed_scores_eval reads: frame ``i`` ends where frame
    ``i + 1`` starts.

    Parameters
    ----------
    window_scores : sed.scores.ScoreGrid
        Anything with ``starts``, ``ends`` (seconds, shape ``(n_windows,)``), ``hop_seconds``
        and ``duration_seconds``: the hop and the frame length come from it.

    Returns
    -------
    onsets, offsets : np.ndarray [shape=(n,), dtype=float64]
        In seconds, rounded to milliseconds (:func:`round_seconds`); ``n`` is the number of
        windows that start inside the recording (at least one when there are windows).
    """
    starts = np.asarray(window_scores.starts, dtype=np.float64)
    ends = np.asarray(window_scores.ends, dtype=np.float64)
    if len(starts) == 0:
        return np.zeros(0), np.zeros(0)
    onsets, offsets = centre_stretches(starts, ends, window_scores.hop_seconds)
    edges = round_seconds(np.append(onsets, offsets[-1]))
    duration = float(round_seconds(np.array([window_scores.duration_seconds]))[0])
    # Windows whose stretch starts at or after the end of the recording stand for nothing in it.
    inside = max(1, int(np.searchsorted(edges[:-1], duration, side="left")))
    edges = edges[: inside + 1]
    edges[-1] = max(duration, edges[-2] + 10.0**-TIME_DECIMALS)
    return edges[:-1], edges[1:]


def score_table(window_scores: ScoreGrid) -> pd.DataFrame:
    """The score table of one recording: ``onset offset <label>...`` over contiguous frames.

    The layout of sed_scores_eval (``sed_scores_eval.io.write_sed_scores``) and of the DCASE
    task 4 baseline's score files, which PSDS and threshold-free F-scores are computed from.

    Parameters
    ----------
    window_scores : sed.scores.ScoreGrid
        Scores ``(n_windows, n_labels)`` in [0, 1]; see :func:`score_table_times` for the times.

    Returns
    -------
    table : pd.DataFrame [shape=(n_frames, 2 + n_labels)]
        Columns ``onset``, ``offset`` (seconds) then one per label, in the order of ``labels``.
    """
    import pandas as pd

    onsets, offsets = score_table_times(window_scores)
    table = pd.DataFrame(
        np.asarray(window_scores.scores)[: len(onsets)], columns=list(window_scores.labels)
    )
    table.insert(0, "offset", offsets)
    table.insert(0, "onset", onsets)
    return table


def score_table_text(window_scores: ScoreGrid) -> str:
    """:func:`score_table` as tab-separated text: times to 3 decimals, scores to 7 significant
    digits."""
    table = score_table(window_scores)
    for column in ("onset", "offset"):
        table[column] = table[column].map(seconds_text)
    buffer = io.StringIO()
    table.to_csv(buffer, sep="\t", index=False, float_format="%.7g", lineterminator="\n")
    return buffer.getvalue()


def write_score_table(window_scores: ScoreGrid, path: str | os.PathLike) -> None:
    """Write :func:`score_table_text` atomically.

    Parameters
    ----------
    window_scores : sed.scores.ScoreGrid
        Column names are the labels (AudioSet display names for raw YAMNet).
    path : str or os.PathLike
    """
    write_text(score_table_text(window_scores), path)


def read_score_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a score table (ours, sed_scores_eval's or the DCASE baseline's).

    Parameters
    ----------
    path : str or os.PathLike
        Tab-separated ``onset offset <class>...``, one line per frame.

    Returns
    -------
    table : pd.DataFrame
        As :func:`score_table` returns it.

    Raises
    ------
    AnnotationError
        If the file cannot be read, lacks the ``onset`` and ``offset`` columns or a class, has
        a value that is not a number (NaN and infinities included, file and line named), a time
        beyond :data:`sed.events.table.MAX_SECONDS`, or frames that are not sorted and contiguous.
    """
    import pandas as pd

    try:
        table = pd.read_csv(path, sep="\t")
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise AnnotationError(f"cannot read the score table: {error}", path) from None
    if list(table.columns[:2]) != ["onset", "offset"] or len(table.columns) < 3:
        raise AnnotationError(
            "a score table has the columns onset, offset, then one per class "
            f"(tab-separated); found {', '.join(map(str, table.columns[:4]))}",
            path,
        )
    not_numbers = [c for c in table.columns if table[c].dtype.kind not in "fiu"]
    if not_numbers:
        raise AnnotationError(f"column {not_numbers[0]!r} holds values that are not numbers", path)
    values = table.to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    bad[:, :2] |= values[:, :2] > MAX_SECONDS
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        name, value = table.columns[column], values[row, column]
        what = "a score" if column >= 2 else f"a time in seconds (0 to {MAX_SECONDS:g})"
        held = "nan (or an empty cell)" if np.isnan(value) else f"{value:g}"
        raise AnnotationError(f"line {row + 2}: column {name!r} holds {held}, not {what}", path)
    onsets, offsets = table["onset"].to_numpy(), table["offset"].to_numpy()
    empty = offsets <= onsets
    apart = np.concatenate([[False], np.abs(onsets[1:] - offsets[:-1]) > 1e-6])
    broken = np.flatnonzero(empty | apart)
    if len(broken):
        raise AnnotationError(
            f"line {int(broken[0]) + 2}: frames must be sorted, non-empty and contiguous (each "
            "onset the previous offset)",
            path,
        )
    return table


def score_table_files(path: str | os.PathLike) -> dict[str, str]:
    """Score tables by recording stem: one file, or a folder of them.

    Parameters
    ----------
    path : str or os.PathLike
        A score table; or a folder searched recursively for ``*.scores.tsv`` (what ``sed
        detect --scores`` writes); failing those, the folder's own ``*.tsv`` files
        (sed_scores_eval's and the DCASE baseline's layout, one ``<recording>.tsv`` each).

    Returns
    -------
    files : dict of str to str
        :func:`sed.audio.recording_stem` to path.

    Raises
    ------
    AnnotationError
        If the path does not exist, holds no score table, or two tables share a stem.
    """
    path = os.fspath(path)
    if os.path.isfile(path):
        return {recording_stem(path): path}
    if not os.path.isdir(path):
        raise AnnotationError("no such score table or folder", path)
    found = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(path)
        for name in names
        if name.endswith(SCORES_SUFFIX) and not name.startswith(".")
    )
    if not found:
        found = sorted(
            entry.path
            for entry in os.scandir(path)
            if entry.is_file() and entry.name.endswith(".tsv") and not entry.name.startswith(".")
        )
    if not found:
        raise AnnotationError(f"holds no score table (*{SCORES_SUFFIX} or *.tsv)", path)
    files: dict[str, str] = {}
    for file in found:
        stem = recording_stem(file)
        if stem in files:
            raise AnnotationError(f"two score tables for recording {stem!r}: {files[stem]}", file)
        files[stem] = file
    return files
