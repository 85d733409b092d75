"""The approximate store of an index: an HNSW graph over its vectors (USearch, float16).

``sed search`` finds its candidates in this graph and scores only them exactly, instead of
scoring every window of the index (``--exact``). The graph lives next to the exact vectors
(:mod:`sed.index`) as ``graph.usearch``: a USearch index (https://github.com/unum-cloud/usearch,
the default vector store of perch-hoplite) whose key ``i`` is vector row ``i``, holding each
window's embedding as float16 and the links of a Hierarchical Navigable Small World graph
(Malkov & Yashunin 2018, https://arxiv.org/abs/1603.09320) under the cosine metric.

The graph is a cache of the vectors and never their only copy:

- it covers vector rows ``0`` to ``len(graph) - 1``, always a prefix of the committed rows; rows
  past it (the recordings added since the graph was last saved, e.g. by an ``sed index`` run
  that was killed) are scored exactly by the search, so a search is complete whatever the
  graph's state;
- a writer adds the rows it lacks from the exact vectors before adding new ones, and saves it
  by writing a new file and renaming it over the old one, so a killed run leaves either the
  old graph or the new one, never half of one.

The graph holds the raw embeddings; :mod:`sed.search` scores with the archive's mean window
subtracted (a centre that moves as recordings are added), so it asks the graph for
:data:`CANDIDATES_PER_HIT` times ``k`` candidates per query vector and re-ranks them exactly:
on 10 hours of perturbed office embeddings recall@100 against exact search is 0.99 at
8 times (0.96 at 4 times; 0.82 with no over-fetch on the office soundscapes themselves), see
docs/search.md. The frame rule needs more: :func:`sed.search.candidate_count` asks for at least
1,800 (recall@100 0.969 on the office soundscapes).
"""

from __future__ import annotations

import os

import numpy as np

#: The graph's file in an index folder.
GRAPH = "graph.usearch"
#: Links per node (USearch's default; M in the HNSW paper).
CONNECTIVITY = 16
#: Candidates kept while inserting (USearch's default; efConstruction in the HNSW paper).
EXPANSION_ADD = 128
#: Candidates fetched from the graph per query vector, as a multiple of the hits wanted: the
#: graph ranks by the plain cosine, the search by the cosine around the archive's mean.
CANDIDATES_PER_HIT = 8
#: The graph is saved at least this often while a long ``sed index`` run adds to it, in seconds.
SAVE_EVERY_SECONDS = 300.0
#: ... and waits at least this many times as long as its last save took, so that saving (the
#: whole graph rewritten: 24 s at 9 GB measured, about 16 GB at 1,000 h) takes at most about
#: a tenth of a run.
SAVE_WAIT_PER_SAVE_SECOND = 10.0
#: Vector rows read from the exact vectors at a time when catching up (64 MiB of float32).
CATCH_UP_ROWS = 16384


def _new_graph(dimensions: int):
    from usearch.index import Index

    return Index(
        ndim=dimensions,
        metric="cos",
        dtype="f16",
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
    )


def _threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


class Graph:
    """An HNSW graph over the first :attr:`rows` vector rows of an index.

    Open one with :func:`open_graph` (to search) or :meth:`for_writing` (to add rows).
    """

    def __init__(self, folder: str, usearch_index, *, viewed: bool) -> None:
        self.folder = folder
        self._index = usearch_index
        self._viewed = viewed
        self._saved_rows = len(usearch_index)
        self._saved_at = _monotonic()
        self._last_save_seconds = 0.0

    @property
    def rows(self) -> int:
        """Vector rows the graph covers: rows ``0`` to ``rows - 1``."""
        return len(self._index)

    @classmethod
    def for_writing(
        cls,
        folder: str | os.PathLike,
        vectors: np.ndarray,
    ) -> Graph:
        """Load the folder's graph to add to it (a new one when there is none), caught up with
        ``vectors``.

        Parameters
        ----------
        folder : str or os.PathLike
            The index folder.
        vectors : np.ndarray [shape=(n_committed, dimensions)]
            The committed vector rows (a memory map is read block by block). A graph covering
            more rows than these is not this index's: it is dropped and rebuilt.

        Returns
        -------
        graph : Graph
            Covering every row of ``vectors``; in memory (a 1,000 h archive's is about 16 GB).
        """
        from usearch.index import Index

        folder = os.fspath(folder)
        path = os.path.join(folder, GRAPH)
        loaded = Index.restore(path) if os.path.exists(path) else None
        kept = (
            loaded is not None and len(loaded) <= len(vectors) and loaded.ndim == vectors.shape[1]
        )
        graph = cls(folder, loaded if kept else _new_graph(vectors.shape[1]), viewed=False)
        if not kept:
            graph._saved_rows = -1  # no usable file yet: the next save writes one
        for start in range(graph.rows, len(vectors), CATCH_UP_ROWS):
            graph.add(start, np.asarray(vectors[start : start + CATCH_UP_ROWS], np.float32))
        return graph

    def add(self, first_row: int, vectors: np.ndarray) -> None:
        """Add the vectors of rows ``first_row`` onwards (they must follow the graph's last).

        Parameters
        ----------
        first_row : int
            Must equal :attr:`rows`: the graph covers a prefix of the rows, in order.
        vectors : np.ndarray [shape=(n, dimensions), dtype=float32]

        Raises
        ------
        ValueError
            If ``first_row`` is not the next row, or the graph was opened read-only.
        """
        if self._viewed:
            raise ValueError("a graph opened for searching is read-only")
        if first_row != self.rows:
            raise ValueError(f"the graph covers {self.rows} rows; cannot add from row {first_row}")
        if len(vectors):
            keys = np.arange(first_row, first_row + len(vectors), dtype=np.uint64)
            # One thread: a graph built on several depends on their timing, and the same archive
            # must give the same index (and the same candidates) every time.
            self._index.add(keys, np.ascontiguousarray(vectors, np.float32), threads=1)

    def save(self, *, force: bool = False) -> bool:
        """Write the graph to the folder atomically (a new file renamed over the old one).

        Parameters
        ----------
        force : bool
            Save now; otherwise only when rows were added and :data:`SAVE_EVERY_SECONDS`
            passed since the last save, or :data:`SAVE_WAIT_PER_SAVE_SECOND` times as long as
            that save took when longer.

        Returns
        -------
        saved : bool
        """
        if self._viewed or self.rows == self._saved_rows:
            return False
        wait = max(SAVE_EVERY_SECONDS, SAVE_WAIT_PER_SAVE_SECOND * self._last_save_seconds)
        if not force and _monotonic() - self._saved_at < wait:
            return False
        started = _monotonic()
        path = os.path.join(self.folder, GRAPH)
        partial = path + ".partial"
        self._index.save(partial)
        with open(partial, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(partial, path)
        self._saved_rows, self._saved_at = self.rows, _monotonic()
        self._last_save_seconds = self._saved_at - started
        return True

    def nearest(self, queries: np.ndarray, count: int) -> np.ndarray:
        """The rows nearest (cosine) to any of the query vectors, ``count`` per query vector.

        Parameters
        ----------
        queries : np.ndarray [shape=(n_queries, dimensions)]
        count : int > 0
            Rows per query vector (the graph's search expands at least this many candidates).

        Returns
        -------
        rows : np.ndarray [shape=(m,), dtype=int64]
            Sorted and unique; ``m <= n_queries * count``.
        """
        if self.rows == 0 or len(queries) == 0:
            return np.zeros(0, np.int64)
        count = min(count, self.rows)
        self._index.expansion_search = max(count, self._index.expansion_search)
        found = self._index.search(
            np.ascontiguousarray(queries, np.float32), count, threads=_threads()
        )
        keys = np.atleast_2d(found.keys)
        counts = np.atleast_1d(getattr(found, "counts", len(found.keys)))
        valid = np.arange(keys.shape[1])[None, :] < np.asarray(counts)[:, None]
        return np.unique(keys[valid].astype(np.int64))

    def close(self) -> None:
        """Release the graph's memory (or its memory map)."""
        self._index.reset()


def open_graph(folder: str | os.PathLike, committed_rows: int) -> Graph | None:
    """The folder's graph, memory-mapped read-only, or None when there is none (an index built
    before graphs existed, or by a run killed before its first save) or it is not this index's.

    Parameters
    ----------
    folder : str or os.PathLike
    committed_rows : int
        The index's committed vector rows; a graph covering more is not used.

    Returns
    -------
    graph : Graph or None
    """
    from usearch.index import Index

    path = os.path.join(os.fspath(folder), GRAPH)
    if not os.path.exists(path):
        return None
    try:
        viewed = Index.restore(path, view=True)
    except (RuntimeError, ValueError):
        return None
    if viewed is None or len(viewed) > committed_rows:
        return None
    return Graph(os.fspath(folder), viewed, viewed=True)


def _monotonic() -> float:
    import time

    return time.monotonic()
