"""Find a sound by example in an index (:mod:`sed.index`): the windows nearest to a query.

A query is one or more example clips (or a span of a recording). Their YAMNet embeddings are
compared with every window of the index by cosine similarity; the ``k`` most similar windows are
kept, and the hits of one recording that touch or overlap are merged into one event.

The scoring rules here are the ones measured best on ``sed_dev/office`` with the DCASE2016 task 2
training clips as queries (``benchmarks/search.py``, docs/search.md):

- ``pooling="max"`` (the default): a window's score is its best similarity to any single query
  window; ``"mean"``: the query is the mean of its windows' unit vectors.
- ``centre="archive"`` (the default): the archive's mean window (over every window of the index)
  is subtracted from the indexed windows and from the query windows before the cosine. YAMNet's
  embeddings are all >= 0, so raw cosines are all high and dominated by what every window shares;
  centring them on the archive compares what is particular to each (MAP +0.03 on the benchmark).
  ``"recording"`` subtracts each recording's own mean from its windows (background-normalised
  similarity: the hum or the street of one recording stops counting), and the mean of those
  means from the query; ``"none"`` is the plain cosine.
- Negative examples: a window's score is its similarity to the positives minus its similarity to
  the negatives, so windows that sound like a negative sink in the ranking.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sed.errors import AudioError, ParameterError
from sed.index import recording_positions

if TYPE_CHECKING:
    import pandas as pd

    from sed.heads.head import Head
    from sed.index import Index
    from sed.model import Yamnet

POOLINGS = ("mean", "max")
DEFAULT_POOLING = "max"
CENTRES = ("archive", "recording", "none")
DEFAULT_CENTRE = "archive"
#: Hits of one recording closer than this (seconds between one's end and the next's start) are
#: merged into one event; 0 merges windows that touch or overlap.
DEFAULT_MIN_GAP_SECONDS = 0.0
DEFAULT_K = 100
#: Vector rows scored per block (64 MiB of float32): memory stays flat however big the index.
BLOCK_ROWS = 16384


@dataclass
class Query:
    """The embeddings of one example.

    Attributes
    ----------
    name : str
        The example's file stem: the default event label of its hits.
    embeddings : np.ndarray [shape=(n_windows, 1024), dtype=float32]
    """

    name: str
    embeddings: np.ndarray


@dataclass
class Hits:
    """The ``k`` windows most similar to a query, best first.

    Attributes
    ----------
    rows : np.ndarray [shape=(k,), dtype=int64]
        Vector rows of the index.
    recordings : np.ndarray [shape=(k,), dtype=int64]
        Position of each hit's recording in ``index.recordings``.
    onsets, offsets : np.ndarray [shape=(k,), dtype=float64]
        Each window's start and end, in seconds from the start of its recording.
    scores : np.ndarray [shape=(k,), dtype=float32]
        Similarity: cosine in [-1, 1] (minus the negatives' when given); a head's score in
        [0, 1] for :func:`search_with_head`.
    """

    rows: np.ndarray
    recordings: np.ndarray
    onsets: np.ndarray
    offsets: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)


def query_embeddings(
    path: str | os.PathLike,
    model: Yamnet,
    *,
    start_seconds: float | None = None,
    end_seconds: float | None = None,
    resampler: str | None = None,
) -> Query:
    """YAMNet embeddings of an example clip or of a span of a recording.

    A span shorter than one window (0.96 s) is taken as the window centred on it, with the
    recording's own audio around it where there is some and zeros beyond (as ``sed embed``
    pads short clips).

    Parameters
    ----------
    path : str or os.PathLike
        Any audio file soundfile reads.
    model : sed.model.Yamnet
    start_seconds, end_seconds : float, optional
        The span, in seconds from the start of the file (default: the whole file).
    resampler : {"soxr", "resampy"}, optional

    Returns
    -------
    query : Query
        ``embeddings`` of shape ``(n_windows, 1024)``, at the model's hop.

    Raises
    ------
    AudioError
        If the file cannot be read, or the span is digital silence.
    ParameterError
        If the span is empty or outside the file.
    """
    from sed.audio import DEFAULT_RESAMPLER, load_audio, recording_stem
    from sed.heads.excerpts import cut_span, window_span
    from sed.segmenter import score_waveform

    name = os.fspath(path)
    waveform, _ = load_audio(
        name, sample_rate=model.params.sample_rate, resampler=resampler or DEFAULT_RESAMPLER
    )
    rate = model.params.sample_rate
    start = 0 if start_seconds is None else int(round(start_seconds * rate))
    end = len(waveform) if end_seconds is None else int(round(end_seconds * rate))
    if start < 0 or end <= start or start >= len(waveform):
        raise ParameterError(
            f"the query span {start / rate:g}-{end / rate:g} s is empty or outside the file "
            f"({len(waveform) / rate:g} s long)",
            name,
        )
    end = min(end, len(waveform))
    window = int(round(model.params.patch_window_seconds * rate))
    start, end = window_span(start, end, window)
    clip = cut_span(waveform, start, end)
    if not np.any(clip):
        raise AudioError("the query is silent (all samples are zero)", name)
    scored = score_waveform(clip, model, filename=name, keep_embeddings=True)
    embeddings = np.asarray(scored.embeddings, np.float32)
    if end - start > window:
        # The last window is zero-padded past the span's end; keep it only if it is the one.
        complete = 1 + (end - start - window) // model.params.patch_hop_samples
        embeddings = embeddings[: max(complete, 1)]
    return Query(recording_stem(name), embeddings)


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _query_matrix(
    queries: Sequence[np.ndarray], pooling: str, centre: np.ndarray | None
) -> np.ndarray:
    """The unit vectors a window is compared with: one (mean) or every query window (max)."""
    parts = []
    for embeddings in queries:
        embeddings = np.asarray(embeddings, np.float32).reshape(-1, embeddings.shape[-1])
        if centre is not None:
            embeddings = embeddings - centre
        parts.append(_unit(embeddings))
    stacked = np.concatenate(parts)
    if pooling == "mean":
        return _unit(stacked.mean(axis=0, keepdims=True))
    return stacked


def archive_mean_window(index: Index) -> np.ndarray:
    """The mean of every window of the index (from the recordings' means, weighted by their
    windows).

    Returns
    -------
    mean : np.ndarray [shape=(1024,), dtype=float32]
        Zeros for an empty index.
    """
    counts = np.array([r.n_windows for r in index.recordings], np.float64)
    if counts.sum() == 0:
        return np.zeros(index.means.shape[1] if index.means.ndim == 2 else 1024, np.float32)
    return (counts @ index.means / counts.sum()).astype(np.float32)


def similarities(
    index: Index,
    queries: Sequence[np.ndarray],
    *,
    negatives: Sequence[np.ndarray] = (),
    pooling: str = DEFAULT_POOLING,
    centre: str = DEFAULT_CENTRE,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """The similarity of every window of the index (or of ``rows``) to the query.

    Parameters
    ----------
    index : sed.index.Index
    queries : sequence of np.ndarray [shape=(n_windows, 1024)]
        Embeddings of the positive examples (:func:`query_embeddings`).
    negatives : sequence of np.ndarray [shape=(n_windows, 1024)]
        Embeddings of negative examples: their similarity is subtracted.
    pooling : {"mean", "max"}
        ``mean``: cosine to the mean of the query windows' unit vectors; ``max``: the best cosine
        to any query window.
    centre : {"archive", "recording", "none"}
        What is subtracted before the cosine: the archive's mean window (from every window and
        the query), each recording's mean (from its windows; the archive's mean from the query),
        or nothing.
    rows : np.ndarray [shape=(m,), dtype=int64], optional
        Score only these vector rows (a search's candidates); by default every row.

    Returns
    -------
    scores : np.ndarray [shape=(len(index),) or (m,), dtype=float32]
        Cosine similarity in [-1, 1], minus the negatives' (then in [-2, 2]).

    Raises
    ------
    ParameterError
        For an unknown pooling or centre, or no query.
    """
    if pooling not in POOLINGS:
        raise ParameterError(f"unknown pooling {pooling!r}; choose one of {', '.join(POOLINGS)}")
    if centre not in CENTRES:
        raise ParameterError(f"unknown centre {centre!r}; choose one of {', '.join(CENTRES)}")
    if not queries:
        raise ParameterError("no query example given")
    # A query clip has no background of its own: the archive's mean window stands in for it.
    archive_mean = archive_mean_window(index) if centre != "none" else None
    positive = _query_matrix(queries, pooling, archive_mean)
    negative = _query_matrix(negatives, pooling, archive_mean) if negatives else None
    scores = np.empty(len(index) if rows is None else len(rows), np.float32)
    for start in range(0, len(scores), BLOCK_ROWS):
        block, block_rows = _vector_block(index, rows, start)
        if centre == "recording":
            block = block - index.means[recording_positions(index, block_rows)]
        elif archive_mean is not None:
            block = block - archive_mean
        block = _unit(block)
        scores[start : start + len(block)] = (block @ positive.T).max(axis=1)
        if negative is not None:
            scores[start : start + len(block)] -= (block @ negative.T).max(axis=1)
    return scores


def _vector_block(
    index: Index, rows: np.ndarray | None, start: int
) -> tuple[np.ndarray, np.ndarray]:
    """Up to BLOCK_ROWS vectors from position ``start`` of ``rows`` (of every row when None),
    as float32 of shape (n, 1024), with their row numbers."""
    if rows is None:
        block = np.asarray(index.vectors[start : start + BLOCK_ROWS], np.float32)
        return block, np.arange(start, start + len(block))
    block_rows = np.asarray(rows[start : start + BLOCK_ROWS], np.int64)
    return np.asarray(index.vectors[block_rows], np.float32), block_rows


def search(
    index: Index,
    queries: Sequence[np.ndarray],
    *,
    k: int = DEFAULT_K,
    negatives: Sequence[np.ndarray] = (),
    pooling: str = DEFAULT_POOLING,
    centre: str = DEFAULT_CENTRE,
    exact: bool = False,
) -> Hits:
    """The ``k`` windows of the index most similar to the query examples.

    By default the index's HNSW graph (:mod:`sed.vector_store`) gives the candidates, which are
    then scored exactly (recall@100 against ``exact`` about 0.99); with ``exact``, every window
    is scored.

    Parameters
    ----------
    index : sed.index.Index
        From :func:`sed.index.open_index`.
    queries : sequence of np.ndarray [shape=(n_windows, 1024)]
        Embeddings of one or more examples (:func:`query_embeddings`); a single array of shape
        ``(1024,)`` or ``(n, 1024)`` counts as one example.
    k : int > 0
        Windows to return (fewer when the index holds fewer).
    negatives, pooling, centre
        See :func:`similarities`.
    exact : bool
        Score every window (brute force) instead of the graph's candidates.

    Returns
    -------
    hits : Hits
        Best first; a hit's score is the same in both modes (to float32 rounding, 1e-6).

    Raises
    ------
    ParameterError
        If ``k`` < 1, the pooling is unknown, or no query is given.
    """
    if k < 1:
        raise ParameterError(f"k must be at least 1, not {k}")
    if isinstance(queries, np.ndarray):
        queries = [queries]
    rows = None if exact else candidate_rows(index, queries, k=k, pooling=pooling, centre=centre)
    scores = similarities(
        index, queries, negatives=negatives, pooling=pooling, centre=centre, rows=rows
    )
    return best_windows(index, scores, k=k, rows=rows)


def candidate_rows(
    index: Index,
    queries: Sequence[np.ndarray],
    *,
    k: int = DEFAULT_K,
    pooling: str = DEFAULT_POOLING,
    centre: str = DEFAULT_CENTRE,
) -> np.ndarray | None:
    """The rows an approximate search scores: the graph's nearest rows to each query vector,
    and every row the graph does not cover yet.

    Each query vector (one per query window with ``pooling="max"``, their mean with ``"mean"``,
    centred as :func:`similarities` centres it) fetches
    :data:`sed.vector_store.CANDIDATES_PER_HIT` ``* k`` rows, since the graph ranks by the plain
    cosine and the search by the centred one. Negatives fetch nothing: they only lower scores.

    Returns
    -------
    rows : np.ndarray [shape=(m,), dtype=int64] or None
        Sorted and unique; None when the index has no graph (every row is then scored).
    """
    from sed.vector_store import CANDIDATES_PER_HIT

    if index.graph is None or not queries:
        return None
    # The query matrix needs the same centre as the scoring (else candidates and scores disagree).
    archive_mean = archive_mean_window(index) if centre != "none" else None
    vectors = _query_matrix(queries, pooling, archive_mean)
    found = index.graph.nearest(vectors, CANDIDATES_PER_HIT * k)
    uncovered = np.arange(index.graph.rows, len(index), dtype=np.int64)
    return np.concatenate([found, uncovered])


def best_windows(
    index: Index, scores: np.ndarray, *, k: int = DEFAULT_K, rows: np.ndarray | None = None
) -> Hits:
    """The ``k`` windows of the index with the highest scores, best first.

    Parameters
    ----------
    index : sed.index.Index
    scores : np.ndarray [shape=(len(index),) or (len(rows),)]
        A score per window of the index (:func:`similarities`, :func:`head_scores`), or per row
        of ``rows``.
    k : int > 0
        Windows to return (fewer when the index holds fewer).
    rows : np.ndarray [shape=(m,), dtype=int64], optional
        The vector rows ``scores`` belong to (sorted); by default every row.

    Returns
    -------
    hits : Hits
        Ties keep the index's order.

    Raises
    ------
    ParameterError
        If ``k`` < 1 or ``scores`` does not hold one score per window.
    """
    if k < 1:
        raise ParameterError(f"k must be at least 1, not {k}")
    scores = np.asarray(scores, np.float32)
    expected = len(index) if rows is None else len(rows)
    if scores.shape != (expected,):
        raise ParameterError(f"expected {expected} scores (one per window), got {scores.shape}")
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k] if k else np.zeros(0, np.int64)
    top = top[np.argsort(-scores[top], kind="stable")]
    found = top if rows is None else np.asarray(rows, np.int64)[top]
    positions = recording_positions(index, found) if k else np.zeros(0, np.int64)
    firsts = np.array([r.first_row for r in index.recordings], np.int64)
    onsets = (found - firsts[positions]) * index.hop_seconds if k else np.zeros(0)
    return Hits(
        found.astype(np.int64),
        positions.astype(np.int64),
        onsets.astype(np.float64),
        (onsets + index.window_seconds).astype(np.float64),
        scores[top],
    )


def head_label(head: Head, label: str | None = None) -> str:
    """The head's label a search ranks by: ``label``, or the head's only event label.

    Raises
    ------
    ParameterError
        If ``label`` is not one of the head's event labels, or none is given and the head has
        several.
    """
    labels = head.event_labels
    if label is None:
        if len(labels) != 1:
            raise ParameterError(
                f"the head has {len(labels)} labels ({', '.join(labels)}): choose one with --label",
                head.directory,
            )
        return labels[0]
    if label not in labels:
        raise ParameterError(
            f"the head has no label {label!r} (it has {', '.join(labels)})", head.directory
        )
    return label


def head_scores(index: Index, head: Head, label: str) -> np.ndarray:
    """A trained window head's score of ``label`` for every window of the index.

    Parameters
    ----------
    index : sed.index.Index
        Built with the model the head was trained with (:meth:`sed.heads.head.Head.check_settings`
        refuses another hop or other weights).
    head : sed.heads.head.Head
        A window head (``sed train``); its :meth:`~sed.heads.head.Head.predict` runs on the stored
        embeddings, block by block.
    label : str
        One of ``head.event_labels``.

    Returns
    -------
    scores : np.ndarray [shape=(len(index),), dtype=float32]
        In [0, 1].

    Raises
    ------
    ModelError
        If the head was trained with another hop, sample rate or other weights than the index.
    ParameterError
        If ``label`` is not one of the head's labels.
    """
    from sed.params import YamnetParams

    column = head.labels.index(head_label(head, label))
    head.check_settings(YamnetParams(**index.settings["params"]), index.settings["weights_sha256"])
    scores = np.empty(len(index), np.float32)
    for start in range(0, len(index), BLOCK_ROWS):
        block = np.asarray(index.vectors[start : start + BLOCK_ROWS], np.float32)
        scores[start : start + len(block)] = head.predict(block)[:, column]
    return scores


def search_with_head(
    index: Index, head: Head, *, label: str | None = None, k: int = DEFAULT_K
) -> Hits:
    """Re-rank the index with a trained window head: the ``k`` windows it scores highest.

    Parameters
    ----------
    index : sed.index.Index
    head : sed.heads.head.Head
        A window head (``sed train``), trained with the index's model.
    label : str, optional
        The label to rank by (:func:`head_label`: by default the head's only event label).
    k : int > 0

    Returns
    -------
    hits : Hits
        Best first; ``scores`` are the head's, in [0, 1].

    Raises
    ------
    ModelError, ParameterError
        See :func:`head_scores` and :func:`best_windows`.
    """
    if k < 1:
        raise ParameterError(f"k must be at least 1, not {k}")
    return best_windows(index, head_scores(index, head, head_label(head, label)), k=k)


def hits_to_events(
    index: Index,
    hits: Hits,
    label: str,
    *,
    min_gap_seconds: float = DEFAULT_MIN_GAP_SECONDS,
) -> pd.DataFrame:
    """Merge the hits of one recording that overlap or lie closer than ``min_gap_seconds`` into
    events.

    Parameters
    ----------
    index : sed.index.Index
    hits : Hits
    label : str
        The ``event_label`` of every event.
    min_gap_seconds : float >= 0
        Hits separated by at most this gap (seconds) are one event.

    Returns
    -------
    events : pd.DataFrame
        An event table (:func:`sed.events.event_table`): ``filename`` (as indexed), ``onset``,
        ``offset`` (seconds, the offset clipped to the recording's length), ``event_label``,
        ``score`` (the best similarity of its windows); best event first.

    Raises
    ------
    ParameterError
        If ``min_gap_seconds`` is negative.
    """
    from sed.events import event_table

    if min_gap_seconds < 0:
        raise ParameterError(f"--min-gap must be >= 0, not {min_gap_seconds}")
    rows = []
    for position in np.unique(hits.recordings):
        recording = index.recordings[int(position)]
        mine = np.flatnonzero(hits.recordings == position)
        mine = mine[np.argsort(hits.onsets[mine], kind="stable")]
        current: dict | None = None
        for i in mine:
            onset, offset = float(hits.onsets[i]), float(hits.offsets[i])
            offset = min(offset, max(recording.duration_seconds, onset))
            score = float(hits.scores[i])
            if current is not None and onset <= current["offset"] + min_gap_seconds + 1e-9:
                current["offset"] = max(current["offset"], offset)
                current["score"] = max(current["score"], score)
                continue
            current = {
                "filename": recording.filename,
                "onset": onset,
                "offset": offset,
                "event_label": label,
                "score": score,
            }
            rows.append(current)
    rows.sort(key=lambda row: -row["score"])
    return event_table(rows, sort=False)
