"""Find a sound by example in an index (:mod:`sed.index`): the windows nearest to a query.

A query is one or more example clips (or a span of a recording). Their YAMNet embeddings are
compared with every window of the index by cosine similarity; the ``k`` most similar windows are
kept, and the hits of one recording that touch or overlap are merged into one event.

The scoring rules here are the ones measured best on ``sed_dev/office`` with the DCASE2016 task 2
training clips as queries, and checked on ``sed_dev/animals`` with ESC-50 clips
(``benchmarks/search.py``, docs/search.md):

- ``scoring="frames"`` (the default when the index holds frames, :mod:`sed.frame_index`): the
  query and the index are compared frame by frame, in YAMNet's layer 6 (a frame every 80 ms)
  and layer 14 (every 320 ms) feature maps, not as 0.96 s windows. A window's score in one layer
  is a *partial chamfer similarity* of the query's frames to the window's: for each sounding
  frame of the query (within :data:`ACTIVE_DB` dB of its loudest 80 ms), its best cosine to any
  frame that overlaps the window, averaged over the better half of the query's frames
  (:data:`CHAMFER_FRACTION`; the set-to-set "MaxSim" of ColBERT, Khattab & Zaharia 2020, and
  the chamfer distance of point sets, made partial as the partial Hausdorff distance of
  Huttenlocher et al. 1993 ranks at the median: a window holding part of a long example, or
  the example with another sound over part of it, need not match every frame). A 0.2 s knock is then
  matched by the two or three frames where it sounds, where a window embedding of it is mostly
  the background. Each layer's scores are standardised over the index (z-scores: the layers'
  cosines spread differently) and averaged. Frames are centred on the archive's mean frame
  before the cosine, as windows are (below). On the office benchmark: MAP 0.380, P@10 0.567
  against 0.263 / 0.425 for the window rule; on the animal calls 0.448 / 0.650 against
  0.352 / 0.568.
- ``scoring="windows"``: each window's 1024-D embedding against the query's (what an index
  without frames, or a query given as bare embeddings, gets):

  - ``pooling="max"`` (the default): a window's score is its best similarity to any single
    query window; ``"mean"``: the query is the mean of its windows' unit vectors.
  - ``centre="archive"`` (the default): the archive's mean window (over every window of the
    index) is subtracted from the indexed windows and from the query windows before the
    cosine. YAMNet's embeddings are all >= 0, so raw cosines are all high and dominated by what
    every window shares; centring them on the archive compares what is particular to each (MAP
    +0.03 on the benchmark). ``"recording"`` subtracts each recording's own mean from its
    windows (background-normalised similarity), and the mean of those means from the query;
    ``"none"`` is the plain cosine.
- Query expansion (``expand``, :data:`DEFAULT_EXPAND` hits for :func:`search`): the frame
  rule scores the index once, then each of the query's frames is matched to its best frame in
  each of the ``expand`` best windows, and those matched frames join the query as examples of
  their own (average query expansion, Chum et al. 2007, on the frames a hit shares with the
  query, as ColBERT-PRF, Wang et al. 2021, expands a query by feedback tokens). On the office
  benchmark: MAP 0.413, P@10 0.589 against 0.384 / 0.568 without; animals 0.480 / 0.714
  against 0.454 / 0.659 (both with the full chamfer). With the partial chamfer and expansion:
  office 0.416 / 0.604, animals 0.486 / 0.736.
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

    from sed.frame_index import FrameIndex
    from sed.heads.head import Head
    from sed.index import Index
    from sed.model import Yamnet

SCORINGS = ("auto", "frames", "windows")
DEFAULT_SCORING = "auto"
#: A query frame counts in the chamfer similarity when its mean power is within this many dB of
#: the query's loudest 80 ms frame: the clip's silence and tails would otherwise match silence.
ACTIVE_DB = 20.0
#: The fraction of the query's frames (the best-matching ones, per window) whose best cosines
#: the chamfer similarity averages: the median rank of the partial Hausdorff distance
#: (Huttenlocher, Klanderman & Rucklidge, IEEE PAMI 1993), not tuned. Against the mean over
#: every frame (1.0): office MAP / P@10 0.416 / 0.604 against 0.413 / 0.589, animals
#: 0.486 / 0.736 against 0.480 / 0.714 (with query expansion; docs/search.md).
CHAMFER_FRACTION = 0.5
#: The frame rule's grid (layer 6's stride), and the audio around a span of a recording that its
#: frames are computed with (layer 14's receptive field reaches 1.26 s back, 1.88 s ahead).
FRAME_GRID_SECONDS = 0.08
FRAME_CONTEXT_SECONDS = 2.0
#: Windows of one recording scored per block by the frame rule (memory stays flat).
FRAME_BLOCK_WINDOWS = 4096
#: Windows whose frame scores give an approximate search's z-scores their mean and spread
#: (the candidates alone, all like the query, would misstate them); an even sample.
STANDARDISE_WINDOWS = 1024
#: Fewest candidates fetched from the graph per query vector (:func:`candidate_count`). The
#: graph ranks by window cosine, a weak first stage for the frame rule: on the office
#: soundscapes (2,400 windows, the 110 DCASE training clips, k=100) the frame rule's recall@100
#: against exact search is 0.852 with 8 * k = 800 candidates, 0.916 with 1,200, 0.954 with
#: 1,600 and 0.969 (lowest query 0.65) with 1,800; the window rule's is 0.998 throughout.
MIN_CANDIDATES = 1800
POOLINGS = ("mean", "max")
DEFAULT_POOLING = "max"
CENTRES = ("archive", "recording", "none")
DEFAULT_CENTRE = "archive"
#: Hits of one recording closer than this (seconds between one's end and the next's start) are
#: merged into one event; 0 merges windows that touch or overlap.
DEFAULT_MIN_GAP_SECONDS = 0.0
DEFAULT_K = 100
#: Best windows of a first frame-rule pass whose matched frames expand the query (query
#: expansion, module docstring). 3 measured best of 1, 3, 5, 10 on the office and animal sets
#: (docs/search.md); 0 turns it off.
DEFAULT_EXPAND = 3
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
    frames : list of np.ndarray, optional
        Its sounding frames (:func:`active_frames`) in each layer of
        :data:`sed.frame_index.FRAME_LAYERS`: ``(n_active, 256)`` and ``(n_active, 1024)``, on
        the 80 ms grid (a layer 14 frame repeated over its four 80 ms frames). None: the frame
        rule cannot score this query.
    """

    name: str
    embeddings: np.ndarray
    frames: list[np.ndarray] | None = None


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
        Similarity (:func:`similarities`): a z-score for the frame rule, a cosine in [-1, 1]
        for the window rule (minus the negatives' when given); a head's score in [0, 1] for
        :func:`search_with_head`.
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
    frames = _span_frames(waveform, start, end, model)
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
    return Query(recording_stem(name), embeddings, frames)


def _span_frames(waveform: np.ndarray, start: int, end: int, model: Yamnet) -> list[np.ndarray]:
    """The sounding frames of ``waveform[start:end]``, computed with up to
    :data:`FRAME_CONTEXT_SECONDS` of the recording on each side, as the index's frames are."""
    step = int(round(FRAME_GRID_SECONDS * model.params.sample_rate))
    context = int(round(FRAME_CONTEXT_SECONDS * model.params.sample_rate)) // step * step
    # Whole 80 ms frames before the span, so that its first frame starts a frame of the cut.
    before = min(context, start // step * step)
    after = min(context, len(waveform) - end)
    cut = waveform[start - before : end + after]
    return active_frames(cut, model, start=before, end=before + end - start)


def active_frames(
    waveform: np.ndarray,
    model: Yamnet,
    *,
    start: int = 0,
    end: int | None = None,
    active_db: float = ACTIVE_DB,
) -> list[np.ndarray]:
    """The frames of a query where it sounds, in each layer of the frame rule.

    The waveform's feature frames (:func:`sed.segmenter.frame_features`, layers
    :data:`sed.frame_index.FRAME_LAYERS`, 80 ms grid), keeping those of the example
    (``waveform[start:end]``) whose mean power is within ``active_db`` of its loudest frame's.

    Parameters
    ----------
    waveform : np.ndarray [shape=(n_samples,), dtype=float32]
        The example (a clip), or a span of a recording with some of the recording around it
        (context: layer 14 sees 1.3 s back and 1.9 s ahead), at ``model.params.sample_rate``.
    model : sed.model.Yamnet
    start, end : int
        The example in ``waveform``, in samples (default: all of it); ``start`` a multiple of
        the 80 ms frame (1280 samples at 16 kHz). Not all zeros.
    active_db : float > 0

    Returns
    -------
    frames : list of np.ndarray [shape=(n_active, channels), dtype=float32]
        One per layer, the same 80 ms frames in each (at least the loudest).
    """
    from sed.frame_index import FRAME_LAYERS
    from sed.model.feature_maps import FeatureSpec
    from sed.model.network import layer_channels
    from sed.segmenter import frame_features

    spec = FeatureSpec(layers=FRAME_LAYERS)
    end = len(waveform) if end is None else end
    grid = frame_features([np.asarray(waveform, np.float32)], model, spec).features
    step = int(round(spec.hop_seconds(model.params) * model.params.sample_rate))
    first, last = start // step, -(-end // step)
    grid = grid[first:last]
    samples = np.asarray(waveform[first * step : end], np.float64)
    power = np.array([np.mean(samples[j * step : (j + 1) * step] ** 2) for j in range(len(grid))])
    level = 10 * np.log10(np.maximum(power, 1e-20))
    sounding = level >= level.max() - active_db
    bounds = np.cumsum([0, *(layer_channels(layer) for layer in FRAME_LAYERS)])
    return [grid[sounding, a:b].astype(np.float32) for a, b in zip(bounds[:-1], bounds[1:])]


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
    queries: Sequence[np.ndarray | Query],
    *,
    negatives: Sequence[np.ndarray | Query] = (),
    pooling: str = DEFAULT_POOLING,
    centre: str = DEFAULT_CENTRE,
    scoring: str = DEFAULT_SCORING,
    rows: np.ndarray | None = None,
    expand: int = 0,
) -> np.ndarray:
    """The similarity of every window of the index (or of ``rows``) to the query.

    Parameters
    ----------
    index : sed.index.Index
    queries : sequence of Query or np.ndarray [shape=(n_windows, 1024)]
        The positive examples (:func:`query_embeddings`); bare embeddings can only be scored by
        the window rule.
    negatives : sequence of Query or np.ndarray [shape=(n_windows, 1024)]
        Negative examples: their similarity is subtracted.
    pooling : {"mean", "max"}
        Several query windows (or examples, for the frame rule): compare with their mean, or take
        the best match of any.
    centre : {"archive", "recording", "none"}
        The window rule's centring: what is subtracted before the cosine: the archive's mean
        window (from every window and the query), each recording's mean (from its windows; the
        archive's mean from the query), or nothing.
    scoring : {"auto", "frames", "windows"}
        ``frames``: the chamfer similarity of the query's frames (module docstring); needs the
        index's frames (:func:`sed.frame_index.build_frame_index`) and :class:`Query` objects
        with ``frames``. ``windows``: window embeddings. ``auto``: frames when both are there.
    rows : np.ndarray [shape=(m,), dtype=int64], optional
        Score only these vector rows (a search's candidates); by default every row.
    expand : int >= 0
        Query expansion for the frame rule (module docstring): the frames of the ``expand``
        best windows that match the query's join it (:func:`expansion_frames`); 0 (the
        default here, :data:`DEFAULT_EXPAND` in :func:`search`) scores the query alone. The
        window rule ignores it.

    Returns
    -------
    scores : np.ndarray [shape=(len(index),) or (m,), dtype=float32]
        ``windows``: cosine similarity in [-1, 1], minus the negatives' (then in [-2, 2]).
        ``frames``: the mean over the two layers of the chamfer similarity's z-score over the
        index's windows (0 is an average window, 3 stands out), minus the negatives'.

    Raises
    ------
    ParameterError
        For an unknown pooling, centre or scoring, no query, ``scoring="frames"`` without
        the frames it needs, or a negative ``expand``.
    """
    for value, allowed, what in (
        (pooling, POOLINGS, "pooling"),
        (centre, CENTRES, "centre"),
        (scoring, SCORINGS, "scoring"),
    ):
        if value not in allowed:
            raise ParameterError(f"unknown {what} {value!r}; choose one of {', '.join(allowed)}")
    if not queries:
        raise ParameterError("no query example given")
    if expand < 0:
        raise ParameterError(f"--expand must be >= 0, not {expand}")
    frame_index = _frames_for(index, [*queries, *negatives], scoring)
    if frame_index is not None:
        # Centred once: the examples' chamfer similarities serve both passes (expansion only
        # adds to them), and their frames are what each hit's frames are matched to.
        examples = [_centred_frames(frame_index, frames) for frames in _frames_of(queries)]
        pooled = _pooled_chamfers(index, frame_index, examples, pooling, rows)
        scores = _standardised_mean(_expanded(index, frame_index, pooled, (), rows), rows)
        if expand:
            # The positives' best windows: the negatives lower the final scores only.
            best = np.argsort(-scores, kind="stable")[:expand]
            hit_rows = best if rows is None else np.asarray(rows, np.int64)[best]
            expansions = _matched_frames(index, frame_index, _stacked(examples), hit_rows)
            expanded = _expanded(index, frame_index, pooled, expansions, rows)
            scores = _standardised_mean(expanded, rows)
        if negatives:
            scores -= frame_similarities(
                index, frame_index, _frames_of(negatives), pooling, rows=rows
            )
        return scores
    return window_similarities(
        index,
        [_embeddings_of(q) for q in queries],
        negatives=[_embeddings_of(q) for q in negatives],
        pooling=pooling,
        centre=centre,
        rows=rows,
    )


def _embeddings_of(query: np.ndarray | Query) -> np.ndarray:
    return query.embeddings if isinstance(query, Query) else np.asarray(query)


def _frames_of(queries: Sequence[np.ndarray | Query]) -> list[list[np.ndarray]]:
    return [q.frames for q in queries if isinstance(q, Query) and q.frames is not None]


def _frames_for(
    index: Index, queries: Sequence[np.ndarray | Query], scoring: str
) -> FrameIndex | None:
    """The index's frames when the frame rule scores this search, else None (window rule)."""
    if scoring == "windows":
        return None
    from sed.frame_index import open_frame_index

    have_frames = all(isinstance(q, Query) and q.frames is not None for q in queries)
    frame_index = open_frame_index(index) if have_frames else None
    if scoring == "frames" and frame_index is None:
        raise ParameterError(
            "frame scoring needs the index's frames (run `sed index` on it again) and queries "
            "with frames (sed.search.query_embeddings); use scoring windows",
            index.folder,
        )
    return frame_index


def frame_similarities(
    index: Index,
    frame_index: FrameIndex,
    examples: Sequence[Sequence[np.ndarray]],
    pooling: str,
    *,
    rows: np.ndarray | None = None,
    expansions: Sequence[Sequence[np.ndarray]] = (),
) -> np.ndarray:
    """The frame rule's score of every window of the index (or of ``rows``; module docstring).

    Parameters
    ----------
    index : sed.index.Index
    frame_index : sed.frame_index.FrameIndex
        ``open_frame_index(index)``.
    examples : sequence of list of np.ndarray [shape=(n_active, channels)]
        Each example's sounding frames per layer (:attr:`Query.frames`).
    pooling : {"mean", "max"}
        Several examples: the mean or the best of their chamfer similarities.
    rows : np.ndarray [shape=(m,), dtype=int64], optional
        Score only these vector rows (a search's candidates). Their z-scores take the mean and
        spread of :func:`standardising_rows` (an even sample of the index) in place of every
        window's, which the candidates, all alike, would misstate.
    expansions : sequence of list of np.ndarray [shape=(n_frames, channels)]
        Query expansion (:func:`expansion_frames`): a window's chamfer similarity in a layer is
        then the mean of the examples' pooled one and each expansion's, before the z-score.

    Returns
    -------
    scores : np.ndarray [shape=(len(index),) or (m,), dtype=float32]
        Mean over the layers of the z-score (over the index's windows) of the chamfer
        similarity; zeros where every window scores the same.
    """
    centred = [_centred_frames(frame_index, frames) for frames in examples]
    pooled = _pooled_chamfers(index, frame_index, centred, pooling, rows)
    return _standardised_mean(_expanded(index, frame_index, pooled, expansions, rows), rows)


def _centred_frames(frame_index: FrameIndex, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
    """An example's frames per layer, centred on the archive's mean frame and unit, as float32
    of shape ``(n_frames, channels)``: what :func:`_chamfer` compares with the index's."""
    return [
        _unit(np.asarray(layer_frames, np.float32) - frame_index.means[layer])
        for layer, layer_frames in enumerate(frames)
    ]


def _stacked(examples: Sequence[Sequence[np.ndarray]]) -> list[np.ndarray]:
    """Per layer, the frames of every example, one example's after the other."""
    return [np.concatenate(layer_frames) for layer_frames in zip(*examples)]


def _pooled_chamfers(
    index: Index,
    frame_index: FrameIndex,
    examples: Sequence[Sequence[np.ndarray]],
    pooling: str,
    rows: np.ndarray | None,
) -> list[np.ndarray]:
    """Per layer, the examples' chamfer similarities (:func:`_chamfer`; ``examples`` from
    :func:`_centred_frames`) pooled by ``pooling``."""
    pooled = []
    for layer in range(len(frame_index.layers)):
        per_example = np.stack(
            [_chamfer(index, frame_index, layer, frames[layer], rows) for frames in examples]
        )
        pooled.append(per_example.max(axis=0) if pooling == "max" else per_example.mean(axis=0))
    return pooled


def _expanded(
    index: Index,
    frame_index: FrameIndex,
    pooled: list[np.ndarray],
    expansions: Sequence[Sequence[np.ndarray]],
    rows: np.ndarray | None,
) -> list[np.ndarray]:
    """Per layer, the mean of the pooled similarity and each expansion's (new arrays: ``pooled``
    is left as it is, for another pass)."""
    centred = [_centred_frames(frame_index, frames) for frames in expansions]
    expanded = []
    for layer, similarity in enumerate(pooled):
        similarity = similarity.copy()
        for frames in centred:
            similarity += _chamfer(index, frame_index, layer, frames[layer], rows)
        similarity /= 1 + len(expansions)
        expanded.append(similarity)
    return expanded


def _standardised_mean(per_layer: list[np.ndarray], rows: np.ndarray | None) -> np.ndarray:
    """The mean over the layers of each similarity's z-score: over every window, or, for
    ``rows``, over the standardising sample that follows the candidates (:func:`_chamfer`)."""
    wanted = len(per_layer[0]) if rows is None else len(rows)
    total = np.zeros(wanted, np.float32)
    for similarity in per_layer:
        reference = similarity if rows is None else similarity[wanted:]
        spread = reference.std()
        if spread > 0:
            total += (similarity[:wanted] - reference.mean()) / spread
    return total / len(per_layer)


def _chamfer(
    index: Index,
    frame_index: FrameIndex,
    layer: int,
    frames: np.ndarray,
    rows: np.ndarray | None,
) -> np.ndarray:
    """One example's chamfer similarity in ``layer`` (``frames``: its frames in that layer from
    :func:`_centred_frames`) to every window, or to the windows ``rows`` followed by the
    standardising sample's."""
    query = frames.T
    if rows is None:
        return _layer_chamfer(index, frame_index, layer, query)
    candidates = _layer_chamfer(index, frame_index, layer, query, rows)
    sample = _gathered_chamfer(*standardising_frames(index, frame_index, layer), query)
    return np.concatenate([candidates, sample])


def standardising_rows(n_rows: int) -> np.ndarray:
    """The vector rows whose frame scores standardise an approximate search's candidates:
    :data:`STANDARDISE_WINDOWS` rows evenly spread over the index (all when it holds fewer).

    Returns
    -------
    rows : np.ndarray [shape=(min(n_rows, STANDARDISE_WINDOWS),), dtype=int64]
        Sorted, unique.
    """
    count = min(n_rows, STANDARDISE_WINDOWS)
    return np.unique(np.linspace(0, n_rows - 1, count).round().astype(np.int64))


def expansion_frames(
    index: Index,
    frame_index: FrameIndex,
    examples: Sequence[Sequence[np.ndarray]],
    hit_rows: np.ndarray,
) -> list[list[np.ndarray]]:
    """The frames of each hit window that match the query: for every frame of the examples
    (all of them, one after the other), its most similar frame (centred cosine) among the
    hit's frames in the same layer. A hit thus adds what it shares with the query, not the
    background around it (query expansion, module docstring).

    Parameters
    ----------
    index : sed.index.Index
    frame_index : sed.frame_index.FrameIndex
    examples : sequence of list of np.ndarray [shape=(n_active, channels)]
        The query's frames per layer (:attr:`Query.frames`), not centred.
    hit_rows : np.ndarray [shape=(n_hits,), dtype=int64]
        Vector rows of the windows to expand with (a first pass's best).

    Returns
    -------
    expansions : list of list of np.ndarray [shape=(n_query_frames, channels), dtype=float32]
        Per hit, per layer, the matched frames (not centred, as the examples), one per query
        frame.
    """
    centred = [_centred_frames(frame_index, frames) for frames in examples]
    return _matched_frames(index, frame_index, _stacked(centred), hit_rows)


def _matched_frames(
    index: Index, frame_index: FrameIndex, query: Sequence[np.ndarray], hit_rows: np.ndarray
) -> list[list[np.ndarray]]:
    """:func:`expansion_frames`, given the query's frames per layer already centred and unit
    (:func:`_centred_frames`, every example's stacked by :func:`_stacked`)."""
    positions, onsets = _window_onsets(index, hit_rows)
    expansions = []
    for position, onset in zip(positions, onsets):
        per_layer = []
        for layer, layer_query in enumerate(query):
            first = frame_index.firsts[position, layer]
            hop, count = frame_index.hops[layer], frame_index.counts[position, layer]
            starts, ends = _frame_spans(np.array([onset]), index.window_seconds, hop, count)
            hit = np.asarray(frame_index.frames[layer][first + starts[0] : first + ends[0]])
            best = np.argmax(layer_query @ _unit(hit - frame_index.means[layer]).T, axis=1)
            per_layer.append(hit[best].astype(np.float32))
        expansions.append(per_layer)
    return expansions


def _window_onsets(index: Index, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each vector row's window lies: its recording and its onset.

    Parameters
    ----------
    index : sed.index.Index
    rows : np.ndarray [shape=(n,), dtype=int64]
        Vector rows of the index.

    Returns
    -------
    positions : np.ndarray [shape=(n,), dtype=int64]
        Each window's recording, as a position in ``index.recordings``
        (:func:`sed.index.recording_positions`).
    onsets : np.ndarray [shape=(n,), dtype=float64]
        Each window's start, in seconds from the start of its recording.
    """
    rows = np.asarray(rows, np.int64)
    positions = recording_positions(index, rows)
    firsts = np.array([recording.first_row for recording in index.recordings], np.int64)
    return positions, (rows - firsts[positions]) * index.hop_seconds


def _frame_spans(
    onsets: np.ndarray, window_seconds: float, hop: float, count: np.ndarray | int
) -> tuple[np.ndarray, np.ndarray]:
    """The frames (of hop ``hop`` s, ``count`` in the recording) overlapping each window that
    starts at ``onsets`` s: ``[floor(onset / hop), ceil(offset / hop))``, at least one."""
    starts = np.minimum(np.floor(onsets / hop + 1e-6).astype(np.int64), count - 1)
    ends = np.ceil((onsets + window_seconds) / hop - 1e-6).astype(np.int64)
    return starts, np.clip(ends, starts + 1, count)


def _layer_chamfer(
    index: Index,
    frame_index: FrameIndex,
    layer: int,
    query: np.ndarray,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Per window (of the index, or of ``rows``), the partial mean (:func:`partial_mean`) over
    the query's frames (columns of ``query``, unit vectors of shape ``(channels, n_active)``) of
    their best cosine to a frame of ``layer`` overlapping the window."""
    if rows is not None:
        return _rows_chamfer(index, frame_index, layer, query, rows)
    hop = frame_index.hops[layer]
    frames, centre = frame_index.frames[layer], frame_index.means[layer]
    scores = np.empty(len(index), np.float32)
    for position, recording in enumerate(index.recordings):
        first, count = frame_index.firsts[position, layer], frame_index.counts[position, layer]
        for block in range(0, recording.n_windows, FRAME_BLOCK_WINDOWS):
            windows = np.arange(block, min(block + FRAME_BLOCK_WINDOWS, recording.n_windows))
            onsets = windows * index.hop_seconds
            starts, ends = _frame_spans(onsets, index.window_seconds, hop, count)
            low, high = int(starts[0]), int(ends[-1])
            block_frames = np.asarray(frames[first + low : first + high], np.float32)
            cosines = _unit(block_frames - centre) @ query
            # One row of -inf so that every window's end is a valid reduceat index.
            cosines = np.vstack([cosines, np.full((1, cosines.shape[1]), -np.inf, np.float32)])
            pairs = np.stack([starts - low, ends - low], axis=1).ravel()
            best = np.maximum.reduceat(cosines, pairs, axis=0)[::2]
            scores[recording.first_row + windows] = partial_mean(best)
    return scores


def _rows_chamfer(
    index: Index, frame_index: FrameIndex, layer: int, query: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    """:func:`_layer_chamfer` of the windows ``rows`` only, scattered over the index: each
    window's frames are gathered (a frame shared by two windows is read twice)."""
    scores = np.empty(len(rows), np.float32)
    for start in range(0, len(rows), FRAME_BLOCK_WINDOWS):
        block_rows = np.asarray(rows[start : start + FRAME_BLOCK_WINDOWS], np.int64)
        gathered = _gathered_frames(index, frame_index, layer, block_rows)
        scores[start : start + len(block_rows)] = _gathered_chamfer(*gathered, query)
    return scores


def _gathered_frames(
    index: Index, frame_index: FrameIndex, layer: int, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The frames of ``layer`` overlapping each window of ``rows``, centred on the archive's
    mean frame and unit, one window's after the other (shape ``(n_frames, channels)``), and
    where each window's begin (shape ``(len(rows),)``)."""
    positions, onsets = _window_onsets(index, rows)
    count = frame_index.counts[positions, layer]
    starts, ends = _frame_spans(onsets, index.window_seconds, frame_index.hops[layer], count)
    lengths = ends - starts
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    first = frame_index.firsts[positions, layer] + starts
    frame_rows = np.repeat(first - offsets, lengths) + np.arange(int(lengths.sum()))
    frames = np.asarray(frame_index.frames[layer][frame_rows], np.float32)
    return _unit(frames - frame_index.means[layer]), offsets


def _gathered_chamfer(frames: np.ndarray, offsets: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Per window of :func:`_gathered_frames`, the partial mean (:func:`partial_mean`) over the
    query's frames (unit columns) of their best cosine to the window's frames."""
    return partial_mean(np.maximum.reduceat(frames @ query, offsets, axis=0))


def partial_mean(best: np.ndarray, fraction: float = CHAMFER_FRACTION) -> np.ndarray:
    """Per window, the mean of the highest ``ceil(fraction * n)`` of its ``n`` query frames'
    best cosines: the aggregation of the partial chamfer similarity (:data:`CHAMFER_FRACTION`).

    Parameters
    ----------
    best : np.ndarray [shape=(n_windows, n_query_frames)]
        Each query frame's best cosine to a window's frames, in [-1, 1].
    fraction : float in (0, 1]
        1 is the plain mean over every query frame.

    Returns
    -------
    scores : np.ndarray [shape=(n_windows,), dtype=best.dtype]
    """
    keep = max(1, int(np.ceil(fraction * best.shape[1])))
    if keep >= best.shape[1]:
        return best.mean(axis=1)
    # The top `keep` per row, in any order (np.partition is linear, a sort is not needed).
    return np.partition(best, best.shape[1] - keep, axis=1)[:, -keep:].mean(axis=1)


def standardising_frames(
    index: Index, frame_index: FrameIndex, layer: int
) -> tuple[np.ndarray, np.ndarray]:
    """The frames of :func:`standardising_rows` in ``layer``, as :func:`_gathered_frames` gives
    them, read once per opened index and kept in ``index.cache`` (about 30 MB for both layers
    of 1,024 windows): every approximate frame search scores the same sample.

    Returns
    -------
    frames : np.ndarray [shape=(n_frames, channels), dtype=float32]
        Centred on the archive's mean frame, unit.
    offsets : np.ndarray [shape=(min(len(index), STANDARDISE_WINDOWS),), dtype=int64]
        Where each window's frames begin.
    """
    key = ("standardising_frames", layer)
    if key not in index.cache:
        rows = standardising_rows(len(index))
        index.cache[key] = _gathered_frames(index, frame_index, layer, rows)
    return index.cache[key]


def window_similarities(
    index: Index,
    queries: Sequence[np.ndarray],
    *,
    negatives: Sequence[np.ndarray] = (),
    pooling: str = DEFAULT_POOLING,
    centre: str = DEFAULT_CENTRE,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """The window rule's similarity of every window of the index (or of ``rows``) to the query
    (module docstring): cosine of window embeddings, centred, pooled over the query's windows.

    Parameters
    ----------
    index : sed.index.Index
    queries, negatives : sequence of np.ndarray [shape=(n_windows, 1024)]
    pooling, centre, rows
        See :func:`similarities`.

    Returns
    -------
    scores : np.ndarray [shape=(len(index),) or (len(rows),), dtype=float32]
        Cosine similarity in [-1, 1], minus the negatives' (then in [-2, 2]).
    """
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
    queries: Sequence[np.ndarray | Query] | np.ndarray | Query,
    *,
    k: int = DEFAULT_K,
    negatives: Sequence[np.ndarray | Query] = (),
    pooling: str = DEFAULT_POOLING,
    centre: str = DEFAULT_CENTRE,
    scoring: str = DEFAULT_SCORING,
    exact: bool = False,
    expand: int = DEFAULT_EXPAND,
    within: np.ndarray | None = None,
) -> Hits:
    """The ``k`` windows of the index most similar to the query examples.

    Two stages by default: the index's HNSW graph (:mod:`sed.vector_store`) gives candidate
    windows by window cosine (:func:`candidate_rows`), and the chosen ``scoring`` re-ranks only
    them (as ColBERT re-ranks an approximate first stage). With ``exact``, every window is
    scored. Recall@100 against ``exact`` on the office soundscapes: see :func:`candidate_count`.

    Parameters
    ----------
    index : sed.index.Index
        From :func:`sed.index.open_index`.
    queries : sequence of Query or np.ndarray [shape=(n_windows, 1024)]
        One or more examples (:func:`query_embeddings`); a single array of shape ``(1024,)`` or
        ``(n, 1024)`` counts as one example. Bare embeddings are scored by the window rule.
    k : int > 0
        Windows to return (fewer when the index holds fewer).
    negatives, pooling, centre, scoring
        See :func:`similarities`.
    exact : bool
        Score every window (brute force) instead of the graph's candidates.
    expand : int >= 0
        Query expansion by the frames of this many best windows (:func:`similarities`; the
        frame rule only); 0 turns it off. The expansion's hits are the candidates' best.
    within : np.ndarray [shape=(m,), dtype=int64], optional
        Only these vector rows (sorted; :func:`sed.search_filter.select_windows`), each scored
        exactly: the graph's candidates are the whole archive's nearest, and a filter could
        leave few of them. A filter that keeps most of the archive costs as much as ``exact``.

    Returns
    -------
    hits : Hits
        Best first. A hit's window-rule score is the same in both modes (to float32 rounding,
        1e-6); its frame-rule score is standardised over an even sample of the index instead of
        every window (:func:`frame_similarities`), so it is close to, not equal to, the exact one.

    Raises
    ------
    ParameterError
        As :func:`similarities`, or if ``k`` < 1.
    """
    if k < 1:
        raise ParameterError(f"k must be at least 1, not {k}")
    if isinstance(queries, (np.ndarray, Query)):
        queries = [queries]
    if within is not None:
        rows = np.asarray(within, np.int64)
        if len(rows) == 0:
            return best_windows(index, np.zeros(0, np.float32), k=k, rows=rows)
    elif exact:
        rows = None
    else:
        rows = candidate_rows(index, queries, k=k, pooling=pooling, centre=centre)
    scores = similarities(
        index,
        queries,
        negatives=negatives,
        pooling=pooling,
        centre=centre,
        scoring=scoring,
        rows=rows,
        expand=expand,
    )
    return best_windows(index, scores, k=k, rows=rows)


def candidate_count(k: int) -> int:
    """Candidates an approximate search fetches from the graph per query vector for ``k`` hits:
    :data:`sed.vector_store.CANDIDATES_PER_HIT` ``* k``, at least :data:`MIN_CANDIDATES`."""
    from sed.vector_store import CANDIDATES_PER_HIT

    return max(CANDIDATES_PER_HIT * k, MIN_CANDIDATES)


def candidate_rows(
    index: Index,
    queries: Sequence[np.ndarray | Query],
    *,
    k: int = DEFAULT_K,
    pooling: str = DEFAULT_POOLING,
    centre: str = DEFAULT_CENTRE,
) -> np.ndarray | None:
    """The rows an approximate search scores: the graph's nearest rows to each query vector,
    and every row the graph does not cover yet.

    Each query vector (one per query window with ``pooling="max"``, their mean with ``"mean"``,
    centred as the window rule centres it) fetches :func:`candidate_count` rows, since the graph
    ranks by the plain window cosine and the search by the centred one or by frames. Negatives
    fetch nothing: they only lower scores.

    Returns
    -------
    rows : np.ndarray [shape=(m,), dtype=int64] or None
        Sorted and unique; None when the index has no graph or the candidates would be every
        window (every row is then scored, as with ``exact``).
    """
    if index.graph is None or not queries:
        return None
    # The query matrix needs the same centre as the scoring (else candidates and scores disagree).
    archive_mean = archive_mean_window(index) if centre != "none" else None
    vectors = _query_matrix([_embeddings_of(q) for q in queries], pooling, archive_mean)
    found = index.graph.nearest(vectors, candidate_count(k))
    uncovered = np.arange(index.graph.rows, len(index), dtype=np.int64)
    rows = np.concatenate([found, uncovered])
    return None if len(rows) >= len(index) else rows


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
    positions, onsets = _window_onsets(index, found)
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


def head_scores(index: Index, head: Head, label: str, rows: np.ndarray | None = None) -> np.ndarray:
    """A trained window head's score of ``label`` for every window of the index (or of ``rows``).

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
    rows : np.ndarray [shape=(m,), dtype=int64], optional
        Score only these vector rows; by default every row.

    Returns
    -------
    scores : np.ndarray [shape=(len(index),) or (len(rows),), dtype=float32]
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
    scores = np.empty(len(index) if rows is None else len(rows), np.float32)
    for start in range(0, len(scores), BLOCK_ROWS):
        block, _ = _vector_block(index, rows, start)
        scores[start : start + len(block)] = head.predict(block)[:, column]
    return scores


def search_with_head(
    index: Index,
    head: Head,
    *,
    label: str | None = None,
    k: int = DEFAULT_K,
    within: np.ndarray | None = None,
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
    within : np.ndarray [shape=(m,), dtype=int64], optional
        Only these vector rows (sorted; :func:`sed.search_filter.select_windows`).

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
    rows = None if within is None else np.asarray(within, np.int64)
    return best_windows(
        index, head_scores(index, head, head_label(head, label), rows), k=k, rows=rows
    )


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
