"""YAMNet's input features: zero padding, log-mel spectrogram, 0.96 s patches.

A transcription of tensorflow/models ``research/audioset/yamnet/features.py``: STFT with 25 ms
periodic Hann windows and a 10 ms hop (512-point FFT), magnitude, 64 mel bands from 125 to 7500 Hz
(``tf.signal.linear_to_mel_weight_matrix``, HTK mel scale), ``log(mel + 0.001)``, then patches of
96 frames x 64 bands every ``patch_hop_frames`` frames. The spectrogram is computed with the same
TensorFlow kernels as the reference, so the TF-Hub graph's log-mel output is matched exactly.
"""

from __future__ import annotations

import numpy as np

from sed.params import YamnetParams
from sed.runtime import import_tensorflow


def pad_waveform(waveform: np.ndarray, params: YamnetParams) -> np.ndarray:
    """Zero-pad the end of a waveform to a whole number of windows.

    The reference ``pad_waveform`` rule: pad to at least one window (0.96 s plus the STFT
    overhang, 15600 samples), then up to an integral number of hops beyond it. Audio shorter than
    one window therefore yields exactly one window.

    Parameters
    ----------
    waveform : np.ndarray [shape=(n_samples,), dtype=float32]
        Mono audio at ``params.sample_rate``.
    params : YamnetParams

    Returns
    -------
    padded : np.ndarray [shape=(params.padded_length(n_samples),), dtype=float32]
    """
    n_padding = params.padded_length(len(waveform)) - len(waveform)
    return np.pad(np.asarray(waveform, dtype=np.float32), (0, n_padding))


def log_mel_spectrogram(waveform: np.ndarray, params: YamnetParams) -> np.ndarray:
    """Log-mel spectrogram of an (already padded) waveform, with TensorFlow's kernels.

    Parameters
    ----------
    waveform : np.ndarray [shape=(n_samples,), dtype=float32], n_samples >= 400
        Mono audio at ``params.sample_rate``.
    params : YamnetParams

    Returns
    -------
    log_mel : np.ndarray [shape=(n_frames, 64), dtype=float32]
        ``log(mel + 0.001)``; frame ``k`` covers samples ``[160 k, 160 k + 400)``, so
        ``n_frames = 1 + (n_samples - 400) // 160``.
    """
    tf = import_tensorflow()
    magnitude = tf.abs(tf.signal.stft(
        tf.convert_to_tensor(waveform, dtype=tf.float32),
        frame_length=params.stft_window_samples,
        frame_step=params.stft_hop_samples,
        fft_length=params.fft_length,
    ))
    mel_matrix = tf.signal.linear_to_mel_weight_matrix(
        num_mel_bins=params.mel_bands,
        num_spectrogram_bins=params.fft_length // 2 + 1,
        sample_rate=params.sample_rate,
        lower_edge_hertz=params.mel_min_hz,
        upper_edge_hertz=params.mel_max_hz,
    )
    return tf.math.log(tf.matmul(magnitude, mel_matrix) + params.log_offset).numpy()


def frame_patches(log_mel: np.ndarray, params: YamnetParams) -> np.ndarray:
    """Cut a log-mel spectrogram into the classifier's input windows.

    Parameters
    ----------
    log_mel : np.ndarray [shape=(n_frames, 64)], n_frames >= 96
    params : YamnetParams

    Returns
    -------
    patches : np.ndarray [shape=(n_windows, 96, 64)]
        A read-only view: window ``i`` is frames ``[i * hop_frames, i * hop_frames + 96)``,
        only complete windows are returned (as ``tf.signal.frame`` does in the reference).
    """
    views = np.lib.stride_tricks.sliding_window_view(log_mel, params.patch_frames, axis=0)
    return views[:: params.patch_hop_frames].transpose(0, 2, 1)
