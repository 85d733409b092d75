"""The score grid: class scores of one recording on a regular grid of time rows, with their
times, whatever computed them.

A row is a 0.96 s window of YAMNet or of a window head (rows overlap, one every hop), or an 80 ms
frame of a frame-level head (rows tile the recording). The segmenter (:mod:`sed.segmenter`)
makes score grids; post-processing (:mod:`sed.postprocessing`), score tables
(:mod:`sed.events`), tuning and plots read them. It lives in a module of its own, below all of
them, so that reading scores never imports what computes them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from sed.classes import ClassSelection


def centre_stretches(
    starts, ends, hop_seconds: float, *, first_window: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The stretch of the recording each window stands for: the ``centres`` convention.

    Each window stands for the ``hop_seconds``-long stretch centred on its centre, so the
    stretches of consecutive windows tile the recording (stretch ``i`` ends where ``i + 1``
    starts); the recording's first window reaches back to 0 s, since it also stands for the
    start. Frames whose length is their hop (a frame-level head's) stand for themselves. Event
    boundaries (``centres``, and ``refined`` before the level moves them) and the frames of
    score tables both follow this rule.

    Parameters
    ----------
    starts, ends : float or np.ndarray [shape=(n_windows,)]
        Start and end times of the windows, in seconds.
    hop_seconds : float >= 0
        Distance between window starts, in seconds; 0 (a lone window, with no grid) takes the
        first window's own length, so that it stands for its whole extent.
    first_window : bool
        Whether the first of ``starts`` is the recording's first window.

    Returns
    -------
    onsets, offsets : np.ndarray [shape=(n_windows,), dtype=float64]
        In seconds; not clipped to the recording, nor rounded.
    """
    starts = np.atleast_1d(np.asarray(starts, dtype=np.float64))
    ends = np.atleast_1d(np.asarray(ends, dtype=np.float64))
    if not hop_seconds and len(starts):
        hop_seconds = float(ends[0] - starts[0])
    centres = 0.5 * (starts + ends)
    onsets, offsets = centres - 0.5 * hop_seconds, centres + 0.5 * hop_seconds
    if first_window and len(onsets):
        onsets[0] = 0.0
    return onsets, offsets


@dataclass
class ScoreGrid:
    """Class scores of one recording on a regular grid of time rows, with the rows' times.

    A row is whatever the scorer scores: a 0.96 s window every ``hop`` seconds for YAMNet and
    window heads (rows overlap), or an 80 ms frame for frame-level heads (rows tile the
    recording). Everything downstream (post-processing, tuning, tables, streaming) takes the
    hop (:attr:`hop_seconds`) and the row length (:attr:`row_seconds`) from here, so it works
    on either grid.

    Attributes
    ----------
    filename : str
        The recording (as given), used as the ``filename`` column of tables.
    starts, ends : np.ndarray [shape=(n_rows,), dtype=float64]
        Row start and end times, in seconds from the start of the recording;
        ``starts[i] = i * hop``.
    scores : np.ndarray [shape=(n_rows, n_labels), dtype=float32]
        Scores in [0, 1], one column per label.
    labels : tuple of str
        Column names: AudioSet display names, or event labels after :meth:`select`.
    duration_seconds : float
        True length of the recording, in seconds.
    embeddings : np.ndarray [shape=(n_rows, 1024)] or None
        YAMNet embeddings of the same windows, when kept (window grids only).
    frame_level_db : np.ndarray [shape=(n_stft_frames,), dtype=float32] or None
        Signal level of every 10 ms STFT frame of the log-mel spectrogram the scores were
        computed from (:func:`sed.segmenter.frame_levels`): STFT frame ``k`` is centred on
        ``0.01 k + 0.0125`` s. It covers the zero padding at the end too. Used to refine event
        boundaries below the window hop; None when not computed.
    window_level_dbfs : np.ndarray [shape=(n_rows,), dtype=float32] or None
        RMS level of each window's 0.96 s of 16 kHz samples (zero padding included), in dBFS
        (a full-scale sine is -3 dBFS), floored at -200 dBFS
        (:func:`sed.segmenter.window_levels`). Tells digital silence from quiet sound; None
        when not computed (frame grids).
    hop : float or None
        The grid's hop in seconds when the scorer states it (frame heads do, so that a single
        frame still has its hop); None to take it from ``starts`` (:attr:`hop_seconds`).
    frames_tile : bool
        True for a frame-level head's frames, which tile the recording (each one hop long): an
        event then spans exactly its frames, and the post-processing never refines its
        boundaries. False for windows, even windows as long as their hop (``--hop 0.96``),
        whose boundary conventions stay as they are.
    """

    filename: str
    starts: np.ndarray
    ends: np.ndarray
    scores: np.ndarray
    labels: tuple[str, ...]
    duration_seconds: float
    embeddings: np.ndarray | None = None
    frame_level_db: np.ndarray | None = None
    window_level_dbfs: np.ndarray | None = None
    hop: float | None = None
    frames_tile: bool = False

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def hop_seconds(self) -> float:
        """Distance between window starts, in seconds (:attr:`hop` if stated, else 0.0 for a
        single window)."""
        if self.hop is not None:
            return float(self.hop)
        return float(self.starts[1] - self.starts[0]) if len(self.starts) > 1 else 0.0

    @property
    def row_seconds(self) -> float:
        """Length of one window (frame), in seconds: 0.96 for windows, the hop for frames of a
        frame-level head (0.0 when there are none)."""
        return float(self.ends[0] - self.starts[0]) if len(self.starts) else 0.0

    def select(self, selection: ClassSelection) -> ScoreGrid:
        """Scores of the selected event labels (maximum over each label's classes).

        Parameters
        ----------
        selection : ClassSelection
            Indices refer to the columns of ``scores``.

        Returns
        -------
        window_scores : ScoreGrid [scores shape=(n_windows, len(selection))]
        """
        if selection.is_identity and len(selection) == len(self.labels):
            return replace(self, labels=selection.event_labels)
        return replace(self, scores=selection.apply(self.scores), labels=selection.event_labels)

    def to_frame(self) -> pd.DataFrame:
        """The canonical per-window table.

        Returns
        -------
        table : pd.DataFrame [shape=(n_windows, n_labels)]
            Indexed by (``filename``, ``start``, ``end``), one column per label.
        """
        import pandas as pd

        index = pd.MultiIndex.from_arrays(
            [[self.filename] * len(self), self.starts, self.ends],
            names=["filename", "start", "end"],
        )
        return pd.DataFrame(self.scores, index=index, columns=list(self.labels))
