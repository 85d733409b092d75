"""Training windows: every 0.96 s window of the clips (and of synthetic mixtures) as an example.

The reference transfer-learning tutorial's recipe: each window of a clip is one example labelled
with the clip's class. Windows of digital silence and the quiet gaps around a sound are left out
(:func:`usable_windows`); windows of mixtures get strong labels from where the event lies
(:mod:`sed.heads.mixing`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sed.audio import DEFAULT_RESAMPLER
from sed.errors import ParameterError
from sed.heads.datasets import TrainingData
from sed.heads.embeddings import EmbeddingCache, FileEmbeddings
from sed.heads.head import BACKGROUND_LABEL
from sed.heads.mixing import Mixture, load_waveforms, make_mixture, window_labels

if TYPE_CHECKING:
    from sed.model import Yamnet

#: Mixtures made and embedded together: their windows share YAMNet's model calls, and a group of
#: 5 s clips' mixtures (about 900 windows) holds some 50 MB of waveforms and log-mel patches.
MIXTURES_PER_CALL = 64


@dataclass
class Windows:
    """Every window of a data set's clips, as training examples.

    Attributes
    ----------
    embeddings : np.ndarray [shape=(n_windows, 1024), dtype=float32]
    clip : np.ndarray [shape=(n_windows,), dtype=int]
        Row of the window's clip in ``data.clips``.
    target : np.ndarray [shape=(n_windows,), dtype=int]
        Index of the clip's label in ``data.labels``.
    used : np.ndarray [shape=(n_windows,), dtype=bool]
        False for windows of digital silence (see :func:`usable_windows`) and ambiguous windows
        of mixtures.
    mixed : np.ndarray [shape=(n_windows,), dtype=bool]
        True for windows of synthetic mixtures (:mod:`sed.heads.mixing`): trained on, never counted
        in clip predictions.
    """

    embeddings: np.ndarray
    clip: np.ndarray
    target: np.ndarray
    used: np.ndarray
    mixed: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    def __post_init__(self):
        if len(self.mixed) != len(self.clip):  # not given: no window is of a mixture
            self.mixed = np.zeros(len(self.clip), bool)

    @classmethod
    def concat(cls, parts: list[Windows]) -> Windows:
        """All windows of ``parts``, in order."""
        return cls(
            *(
                np.concatenate([getattr(part, name) for part in parts])
                for name in ("embeddings", "clip", "target", "used", "mixed")
            )
        )


def usable_windows(
    levels_dbfs: np.ndarray,
    min_level_dbfs: float | None = None,
    max_db_below_peak: float | None = None,
) -> np.ndarray:
    """Windows of a clip that hold its sound, by level alone (no labels involved).

    Parameters
    ----------
    levels_dbfs : np.ndarray [shape=(n_windows,)]
        Window levels of one clip (:attr:`sed.heads.embeddings.FileEmbeddings.levels_dbfs`).
    min_level_dbfs : float or None
        Windows below this level are digital silence (zero padding); None keeps them.
    max_db_below_peak : float >= 0 or None
        Windows more than this many dB below the clip's loudest window are the quiet gaps
        around the sound; None keeps them.

    Returns
    -------
    mask : np.ndarray [shape=(n_windows,), dtype=bool]
        The loudest window is always kept.
    """
    levels_dbfs = np.asarray(levels_dbfs)
    mask = np.ones(len(levels_dbfs), bool)
    if len(levels_dbfs) == 0:
        return mask
    if min_level_dbfs is not None:
        mask &= levels_dbfs >= min_level_dbfs
    if max_db_below_peak is not None:
        mask &= levels_dbfs >= levels_dbfs.max() - max_db_below_peak
    mask[int(np.argmax(levels_dbfs))] = True
    return mask


def make_windows(
    data: TrainingData,
    items: list[FileEmbeddings],
    *,
    min_level_dbfs: float | None = None,
    max_db_below_peak: float | None = None,
) -> Windows:
    """Label every window of every clip with its clip's label.

    Windows of event clips are marked unused by :func:`usable_windows`; every window of a
    background recording is used (silence is background too).
    """
    index = {label: i for i, label in enumerate(data.labels)}
    targets = data.clips["label"].map(index).to_numpy()
    background = index.get(BACKGROUND_LABEL, -1)

    def used(row, item):
        if targets[row] == background:
            return np.ones(len(item), bool)
        return usable_windows(item.levels_dbfs, min_level_dbfs, max_db_below_peak)

    return Windows(
        embeddings=np.concatenate([item.embeddings for item in items]),
        clip=np.concatenate([np.full(len(item), row) for row, item in enumerate(items)]),
        target=np.concatenate([np.full(len(item), targets[row]) for row, item in enumerate(items)]),
        used=np.concatenate([used(row, item) for row, item in enumerate(items)]),
    )


def mixture_windows(
    data: TrainingData,
    model: Yamnet,
    *,
    copies: int,
    ebrs_db,
    seed: int = 0,
    cache: EmbeddingCache | None = None,
    resampler: str = DEFAULT_RESAMPLER,
) -> Windows:
    """Windows of ``copies`` synthetic mixtures of every event clip over the data's background.

    See :mod:`sed.heads.mixing`. Each mixture's windows keep the row of their event clip, so grouped
    splits keep a clip and its mixtures on one side.

    Raises
    ------
    ParameterError
        If the data has no background recordings to mix over.
    """
    if not data.has_background:
        raise ParameterError(
            "mixing events over backgrounds needs background recordings "
            "(a _background folder or --background)",
            data.source,
        )
    cache = cache or EmbeddingCache()
    rate = model.params.sample_rate
    is_background = (data.clips["label"] == BACKGROUND_LABEL).to_numpy()
    backgrounds = load_waveforms(data.clips["path"][is_background], rate, resampler)
    rows = np.flatnonzero(~is_background)
    events = load_waveforms(data.clips["path"].iloc[rows], rate, resampler)
    index = {label: i for i, label in enumerate(data.labels)}
    rng = np.random.default_rng(seed)
    # Every second of background is as likely as any other, whatever the recordings' lengths.
    weights = np.array([len(b) for b in backgrounds], float) / sum(len(b) for b in backgrounds)

    def mixtures() -> Iterator[tuple[int, str, Mixture]]:
        for copy in range(copies):
            for row, event in zip(rows, events):
                background = backgrounds[int(rng.choice(len(backgrounds), p=weights))]
                mixture = make_mixture(event, background, rng, sample_rate=rate, ebrs_db=ebrs_db)
                yield int(row), f"{data.clips['path'].iloc[row]}#mix{copy}", mixture

    parts = []
    made = mixtures()
    while group := list(itertools.islice(made, MIXTURES_PER_CALL)):
        items = cache.embed_waveforms(
            [mixture.waveform for _, _, mixture in group],
            model,
            names=[name for _, name, _ in group],
            resampler=resampler,
        )
        for (row, _, mixture), item in zip(group, items):
            labels = window_labels(
                item.starts, item.ends, mixture.onset_seconds, mixture.offset_seconds
            )
            target = np.where(
                labels == 1, index[data.clips["label"].iloc[row]], index[BACKGROUND_LABEL]
            )
            parts.append(
                Windows(
                    item.embeddings,
                    np.full(len(item), row),
                    target,
                    labels >= 0,
                    np.ones(len(item), bool),
                )
            )
    return Windows.concat(parts)
