"""The segmenter: slide the classifier over a recording in 0.96 s windows.

Window ``i`` starts at ``i * hop`` seconds and ends 0.96 s later. The recording is zero-padded at
the end as the reference ``features.pad_waveform`` does, so a recording shorter than one window
gives one window and the last window may reach past the end of the file (its end time is kept as
is; events are clipped to the file length by the post-processing).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from sed.audio import check_finite, load_audio
from sed.classes import ClassSelection
from sed.features import frame_patches, log_mel_spectrogram, pad_waveform
from sed.params import YamnetParams

DEFAULT_BATCH_SIZE = 256


@dataclass
class WindowScores:
    """Per-window class scores of one recording, with the windows' times.

    Attributes
    ----------
    filename : str
        The recording (as given), used as the ``filename`` column of tables.
    starts, ends : np.ndarray [shape=(n_windows,), dtype=float64]
        Window start and end times, in seconds from the start of the recording.
    scores : np.ndarray [shape=(n_windows, n_labels), dtype=float32]
        Scores in [0, 1], one column per label.
    labels : tuple of str
        Column names: AudioSet display names, or event labels after :meth:`select`.
    duration_seconds : float
        True length of the recording, in seconds.
    embeddings : np.ndarray [shape=(n_windows, 1024)] or None
        YAMNet embeddings of the same windows, when kept.
    frame_level_db : np.ndarray [shape=(n_frames,), dtype=float32] or None
        Signal level of every 10 ms STFT frame of the log-mel spectrogram the windows were cut
        from (see :func:`frame_levels`): frame ``k`` is centred on ``0.01 k + 0.0125`` s. It
        covers the zero padding at the end too. Used to refine event boundaries below the
        window hop; None when not computed.
    """

    filename: str
    starts: np.ndarray
    ends: np.ndarray
    scores: np.ndarray
    labels: tuple[str, ...]
    duration_seconds: float
    embeddings: np.ndarray | None = None
    frame_level_db: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def hop_seconds(self) -> float:
        """Distance between window starts, in seconds (0.0 for a single window)."""
        return float(self.starts[1] - self.starts[0]) if len(self.starts) > 1 else 0.0

    def select(self, selection: ClassSelection) -> "WindowScores":
        """Scores of the selected event labels (maximum over each label's classes).

        Parameters
        ----------
        selection : ClassSelection
            Indices refer to the columns of ``scores``.

        Returns
        -------
        window_scores : WindowScores [scores shape=(n_windows, len(selection))]
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
        index = pd.MultiIndex.from_arrays(
            [[self.filename] * len(self), self.starts, self.ends],
            names=["filename", "start", "end"])
        return pd.DataFrame(self.scores, index=index, columns=list(self.labels))


def window_times(n_windows: int, params: YamnetParams) -> tuple[np.ndarray, np.ndarray]:
    """Start and end times of the first ``n_windows`` windows.

    Returns
    -------
    starts, ends : np.ndarray [shape=(n_windows,), dtype=float64]
        ``starts[i] = i * hop`` and ``ends[i] = starts[i] + 0.96``, in seconds, computed from
        integer sample counts so that no rounding accumulates.
    """
    starts = np.arange(n_windows) * params.patch_hop_samples / params.sample_rate
    return starts, starts + params.patch_frames * params.stft_hop_samples / params.sample_rate


def frame_levels(log_mel: np.ndarray) -> np.ndarray:
    """Per-frame signal level from YAMNet's log-mel spectrogram.

    Parameters
    ----------
    log_mel : np.ndarray [shape=(n_frames, 64)]
        ``log(mel + 0.001)`` as returned by :func:`sed.features.log_mel_spectrogram`.

    Returns
    -------
    level_db : np.ndarray [shape=(n_frames,), dtype=float32]
        ``20 log10`` of the mean mel magnitude over the 64 bands (125 to 7500 Hz), in dB
        relative to a mel magnitude of 1; the 0.001 log offset floors it at -60 dB.
    """
    mean_magnitude = np.exp(np.asarray(log_mel, dtype=np.float64)).mean(axis=1)
    return (20.0 * np.log10(mean_magnitude)).astype(np.float32)


def run_yamnet(waveform: np.ndarray, model, *, batch_size: int = DEFAULT_BATCH_SIZE
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Waveform in, YAMNet outputs out: the reference ``yamnet_frames_model``.

    Parameters
    ----------
    waveform : np.ndarray [shape=(n_samples,), dtype=float32]
        Mono audio in [-1, 1] at 16 kHz.
    model : sed.model.Yamnet
        Its ``params`` set the window hop.
    batch_size : int > 0

    Returns
    -------
    scores : np.ndarray [shape=(n_windows, 521)]
    embeddings : np.ndarray [shape=(n_windows, 1024)]
    log_mel : np.ndarray [shape=(n_frames, 64)]
        Of the padded waveform, as the TF-Hub graph returns it.
    """
    log_mel = log_mel_spectrogram(pad_waveform(waveform, model.params), model.params)
    scores, embeddings = model.predict(frame_patches(log_mel, model.params), batch_size=batch_size)
    return scores, embeddings, log_mel


def score_waveform(waveform: np.ndarray, model, *, filename: str = "",
                   duration_seconds: float | None = None, keep_embeddings: bool = False,
                   batch_size: int = DEFAULT_BATCH_SIZE) -> WindowScores:
    """Score every window of a 16 kHz waveform.

    Parameters
    ----------
    waveform : np.ndarray [shape=(n_samples,), dtype=float32]
        Mono audio in [-1, 1] at ``model.params.sample_rate``; may be shorter than one window.
    model : sed.model.Yamnet
    filename : str
        Stored in the result for tables.
    duration_seconds : float, optional
        True length of the recording; by default ``n_samples / sample_rate``.
    keep_embeddings : bool
        Keep the ``(n_windows, 1024)`` embeddings in the result.
    batch_size : int > 0

    Returns
    -------
    window_scores : WindowScores [scores shape=(n_windows, 521)]

    Raises
    ------
    AudioError
        If the waveform is empty or holds NaN or infinite samples.
    """
    from sed.errors import AudioError

    waveform = np.asarray(waveform, dtype=np.float32)
    if waveform.ndim != 1 or waveform.size == 0:
        raise AudioError(f"expected a non-empty mono waveform, got shape {waveform.shape}",
                         filename or None)
    check_finite(waveform, filename or None)
    scores, embeddings, log_mel = run_yamnet(waveform, model, batch_size=batch_size)
    starts, ends = window_times(len(scores), model.params)
    if duration_seconds is None:
        duration_seconds = len(waveform) / model.params.sample_rate
    return WindowScores(filename, starts, ends, scores, tuple(model.labels),
                        float(duration_seconds), embeddings if keep_embeddings else None,
                        frame_levels(log_mel))


def score_file(path: str | os.PathLike, model, *, resampler: str = "soxr",
               keep_embeddings: bool = False, batch_size: int = DEFAULT_BATCH_SIZE) -> WindowScores:
    """Read a recording and score every window (see :func:`score_waveform`).

    Parameters
    ----------
    path : str or os.PathLike
        Any audio file soundfile reads.
    model : sed.model.Yamnet
    resampler : {"soxr", "resampy"}

    Returns
    -------
    window_scores : WindowScores
        ``filename`` is ``path`` as given; ``duration_seconds`` is the file's true length.

    Raises
    ------
    AudioError
        If the file cannot be used.
    """
    waveform, info = load_audio(path, sample_rate=model.params.sample_rate, resampler=resampler)
    return score_waveform(waveform, model, filename=os.fspath(path),
                          duration_seconds=info.duration_seconds,
                          keep_embeddings=keep_embeddings, batch_size=batch_size)
