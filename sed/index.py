"""An archive's embedding index: YAMNet's 1024-D embedding of every window, stored once.

``sed index`` embeds every window of every recording once; ``sed search`` (:mod:`sed.search`)
then finds the windows nearest to an example in seconds, without running the model on the
archive again (what BirdNET-Analyzer's ``search`` and perch-hoplite's agile modelling do).

An index is a folder holding three files and nothing else:

``index.sqlite``
    SQLite (the standard library's ``sqlite3``, no server): the settings the vectors depend on
    (``weights_sha256``, ``hop_seconds``, the framing, the resampler, ``sed`` version) and one
    row per recording (path, duration, start time parsed from the name, its first vector row,
    its number of windows, its mean embedding).
``vectors.f32``
    Every window's embedding as raw little-endian float32 rows of 1024 values, recordings one
    after the other in the order they were added. Read as a memory map: searching needs no more
    memory than one block at a time. ``sed search --exact`` scores all of them.
``graph.usearch``
    An HNSW graph over the vectors (USearch, float16; :mod:`sed.vector_store`), built
    incrementally as recordings are added: the default search scores only the candidates it
    gives (recall@100 about 0.99 against exact search, a few milliseconds however big the
    index). It is a cache of ``vectors.f32``: rows it does not cover are scanned exactly.

Exact search over the float32 memory map takes about 0.2 s per 72,000 windows (10 hours of audio
at hop 0.5 s) and grows with the archive; the graph keeps a query at a few milliseconds
(``benchmarks/search_store.py --hours``, docs/search.md).

A recording is committed atomically: its vectors are appended and flushed to disk first, then its
row is inserted in one SQLite transaction. A run killed in between leaves vectors past the last
committed row; the next writer cuts them off, and readers never look past the committed rows. The
graph follows the commits and is saved by renaming a complete new file over the old one (every
five minutes, or ten times as long as the last save took, and at the end of a run), so it
covers a prefix of the committed rows. So a killed ``sed index`` leaves an index that is usable
as it is, and that the same command resumes (adding the rows the graph lacks first).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from sed.errors import ModelError, ParameterError, SedError

if TYPE_CHECKING:
    from sed.model import Yamnet
    from sed.vector_store import Graph

#: Files of an index folder.
DATABASE = "index.sqlite"
VECTORS = "vectors.f32"
#: Embedding size and the dtype the vectors are stored as.
DIMENSIONS = 1024
VECTOR_DTYPE = np.dtype("<f4")
#: Version of the folder layout; another one is refused.
INDEX_VERSION = 1

#: A recording start time in a file name: ``20240131_235959`` (also ``-`` or ``T`` between).
START_TIME_PATTERN = re.compile(r"(?<!\d)(\d{8})[_T-]?(\d{6})(?!\d)")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS recordings (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    filename TEXT NOT NULL,
    duration_seconds REAL NOT NULL,
    start_time TEXT,
    first_row INTEGER NOT NULL,
    n_windows INTEGER NOT NULL,
    mean BLOB NOT NULL
);
"""


@dataclass(frozen=True)
class IndexedRecording:
    """One recording of an index.

    Attributes
    ----------
    id : int
        Its row id in the database.
    path : str
        Its absolute path when indexed (what identifies it: a second run skips it).
    filename : str
        The path as it was given (the ``filename`` column of search hits).
    duration_seconds : float
        True length, in seconds.
    start_time : str or None
        ISO 8601 local time (``2024-01-31T23:59:59``) parsed from a ``YYYYMMDD_HHMMSS`` in the
        file name, or None.
    first_row, n_windows : int
        Its windows are vector rows ``first_row`` to ``first_row + n_windows - 1``; window ``i``
        starts at ``i * hop_seconds``.
    """

    id: int
    path: str
    filename: str
    duration_seconds: float
    start_time: str | None
    first_row: int
    n_windows: int


@dataclass
class Index:
    """An opened index folder (see :func:`open_index`).

    Attributes
    ----------
    folder : str
    settings : dict
        ``weights_sha256``, ``hop_seconds``, ``params`` (every :class:`sed.params.YamnetParams`
        field), ``resampler``, ``sed_version``, ``version``.
    recordings : list of IndexedRecording
        In the order they were added (their vector rows are in the same order).
    vectors : np.ndarray [shape=(n_windows, 1024), dtype=float32]
        Every committed window's embedding, a read-only memory map.
    means : np.ndarray [shape=(n_recordings, 1024), dtype=float32]
        Each recording's mean embedding (the "background" that background-normalised search
        subtracts).
    graph : sed.vector_store.Graph or None
        The HNSW graph over the first ``graph.rows`` vector rows (memory-mapped, read-only), or
        None when the folder has none: approximate search then scores every row.
    cache : dict
        Arrays derived from the index that a search computes once per opened index and reuses
        (:func:`sed.search.standardising_frames`). An opened index is a snapshot of the
        recordings committed when it was opened, so they stay valid for the object's life.
    """

    folder: str
    settings: dict
    recordings: list[IndexedRecording]
    vectors: np.ndarray
    means: np.ndarray
    graph: Graph | None = None
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def hop_seconds(self) -> float:
        """Window hop, in seconds."""
        return float(self.settings["hop_seconds"])

    @property
    def window_seconds(self) -> float:
        """Window length (0.96 s), in seconds."""
        return float(self.settings["params"]["patch_window_seconds"])

    def __len__(self) -> int:
        return len(self.vectors)

    def row_recordings(self) -> np.ndarray:
        """The position in :attr:`recordings` of every vector row.

        Returns
        -------
        positions : np.ndarray [shape=(n_windows,), dtype=int64]
        """
        counts = [recording.n_windows for recording in self.recordings]
        return np.repeat(np.arange(len(counts)), counts)

    def check_model(self, model: Yamnet) -> None:
        """Raise unless ``model`` computes the embeddings this index holds.

        Raises
        ------
        ModelError
            If the model's weights differ from the index's.
        ParameterError
            If its hop or framing differs.
        """
        check_settings(self.folder, self.settings, index_settings(model))


@dataclass
class IndexReport:
    """What :func:`sed.indexing.index_recordings` did.

    Attributes
    ----------
    added : list of str
        Recordings embedded and committed in this run.
    skipped : list of str
        Recordings already in the index.
    failed : dict of str to str
        Recordings that could not be read, with the reason (they are retried by the next run).
    windows : int
        Windows added in this run.
    """

    added: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    windows: int = 0


def index_settings(model: Yamnet, resampler: str | None = None) -> dict:
    """The settings an index built with ``model`` records (everything the vectors depend on).

    Parameters
    ----------
    model : sed.model.Yamnet
    resampler : {"soxr", "resampy"}, optional
        By default :data:`sed.audio.DEFAULT_RESAMPLER`.

    Returns
    -------
    settings : dict
    """
    from sed import __version__
    from sed.audio import DEFAULT_RESAMPLER

    return {
        "version": INDEX_VERSION,
        "weights_sha256": model.weights_sha256,
        "hop_seconds": model.params.patch_hop_seconds,
        "params": dataclasses.asdict(model.params),
        "resampler": resampler or DEFAULT_RESAMPLER,
        "sed_version": __version__,
    }


def check_settings(folder: str, stored: dict, wanted: dict) -> None:
    """Refuse to mix vectors of another model, hop or framing into an index (one line).

    Raises
    ------
    ModelError
        Other weights.
    ParameterError
        Another hop, framing or resampler.
    """
    if stored.get("weights_sha256") != wanted["weights_sha256"]:
        raise ModelError(
            "this index was built with other YAMNet weights "
            f"({str(stored.get('weights_sha256'))[:12]}, loaded {wanted['weights_sha256'][:12]}); "
            "use a new index folder or the index's weights",
            folder,
        )
    if float(stored["hop_seconds"]) != float(wanted["hop_seconds"]):
        raise ParameterError(
            f"this index was built with hop {stored['hop_seconds']} s, not "
            f"{wanted['hop_seconds']} s; use --hop {stored['hop_seconds']} or a new index folder",
            folder,
        )
    for key in ("params", "resampler"):
        if stored.get(key) != wanted[key]:
            raise ParameterError(
                f"this index was built with another {key} ({stored.get(key)}); "
                "use a new index folder",
                folder,
            )


def start_time_from_name(path: str | os.PathLike) -> str | None:
    """The recording's start time when its name holds ``YYYYMMDD_HHMMSS`` (AudioMoth,
    Song Meter and most recorders name files so).

    Returns
    -------
    start : str or None
        ISO 8601 without a time zone (``2024-01-31T23:59:59``); None when the name holds no
        valid date and time.
    """
    match = START_TIME_PATTERN.search(os.path.basename(os.fspath(path)))
    if match is None:
        return None
    try:
        return datetime.strptime("".join(match.groups()), "%Y%m%d%H%M%S").isoformat()
    except ValueError:
        return None


def is_index(folder: str | os.PathLike) -> bool:
    """True when ``folder`` holds an index database."""
    return os.path.isfile(os.path.join(os.fspath(folder), DATABASE))


def _connect(folder: str) -> sqlite3.Connection:
    connection = sqlite3.connect(os.path.join(folder, DATABASE), timeout=60)
    connection.executescript(_SCHEMA)
    return connection


def _read_settings(connection: sqlite3.Connection) -> dict:
    return {key: json.loads(value) for key, value in connection.execute("SELECT * FROM settings")}


def _read_recordings(connection: sqlite3.Connection) -> tuple[list[IndexedRecording], np.ndarray]:
    rows = connection.execute(
        "SELECT id, path, filename, duration_seconds, start_time, first_row, n_windows, mean "
        "FROM recordings ORDER BY first_row"
    ).fetchall()
    recordings = [IndexedRecording(*row[:7]) for row in rows]
    means = np.array([np.frombuffer(row[7], np.float32) for row in rows], np.float32)
    return recordings, means.reshape(len(rows), DIMENSIONS)


def open_index(folder: str | os.PathLike) -> Index:
    """Open an index folder for searching.

    Parameters
    ----------
    folder : str or os.PathLike
        A folder written by :func:`sed.indexing.index_recordings` (``sed index``).

    Returns
    -------
    index : Index
        Only committed recordings: the vectors of a recording whose indexing was killed are not
        seen.

    Raises
    ------
    ParameterError
        If ``folder`` is not an index (no ``index.sqlite``, or another layout version).
    """
    from sed.vector_store import open_graph

    folder = os.fspath(folder)
    if not is_index(folder):
        raise ParameterError(f"not a sed index (no {DATABASE}; build one with `sed index`)", folder)
    try:
        connection = _connect(folder)
        try:
            settings = _read_settings(connection)
            recordings, means = _read_recordings(connection)
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise ParameterError(f"not a readable sed index ({error})", folder) from None
    if settings.get("version") != INDEX_VERSION:
        raise ParameterError(
            f"index layout version {settings.get('version')} is not {INDEX_VERSION}", folder
        )
    rows = sum(recording.n_windows for recording in recordings)
    path = os.path.join(folder, VECTORS)
    if rows == 0:
        vectors = np.zeros((0, DIMENSIONS), VECTOR_DTYPE)
    else:
        size = os.path.getsize(path) if os.path.exists(path) else 0
        if size < rows * DIMENSIONS * VECTOR_DTYPE.itemsize:
            raise ParameterError(f"{VECTORS} is shorter than its {rows} committed rows", folder)
        vectors = np.memmap(path, VECTOR_DTYPE, "r", shape=(rows, DIMENSIONS))
    return Index(folder, settings, recordings, vectors, means, open_graph(folder, rows))


def check_index_folder(folder: str) -> None:
    """Refuse a folder an index cannot be written into, before any work.

    Raises
    ------
    OutputError
        If ``folder`` is a file, or a folder holding other files than an index.
    """
    from sed.errors import OutputError

    if os.path.exists(folder) and not os.path.isdir(folder):
        raise OutputError("is a file, not an index folder", folder)
    if os.path.isdir(folder) and not is_index(folder) and os.listdir(folder):
        raise OutputError("holds files but no sed index; give an empty or new folder", folder)


class IndexWriter:
    """Appends recordings' embeddings to an index folder, each committed atomically.

    Used as a context manager: opening checks the folder's settings, cuts off the vectors of a
    killed run and brings the HNSW graph (:mod:`sed.vector_store`) up to the committed rows;
    closing saves the graph. :func:`sed.indexing.index_recordings` embeds audio through it;
    anything holding embeddings already (``benchmarks/search_store.py``) can add them the same
    way.

    Parameters
    ----------
    folder : str or os.PathLike
        Created if missing.
    settings : dict
        :func:`index_settings` of the model the embeddings come from.

    Raises
    ------
    ModelError, ParameterError
        If the folder's index was built with other weights, another hop or framing.
    SedError
        If the database cannot be written.
    """

    def __init__(self, folder: str | os.PathLike, settings: dict) -> None:
        self.folder = os.fspath(folder)
        self.settings = settings
        os.makedirs(self.folder, exist_ok=True)
        with _database_errors(self.folder):
            self._connection = _connect(self.folder)
        self._vectors: BinaryIO | None = None
        self._graph: Graph | None = None

    def __enter__(self) -> IndexWriter:
        try:
            self._open()
        except BaseException:
            self._close(save_graph=False)
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self._close(save_graph=True)

    def _open(self) -> None:
        from sed.vector_store import Graph

        connection = self._connection
        with _database_errors(self.folder), connection:
            stored = _read_settings(connection)
            if stored:
                check_settings(self.folder, stored, self.settings)
            else:
                connection.executemany(
                    "INSERT INTO settings VALUES (?, ?)",
                    [(key, json.dumps(value)) for key, value in self.settings.items()],
                )
        with _database_errors(self.folder):
            self._known = {row[0] for row in connection.execute("SELECT path FROM recordings")}
            (self.committed,) = connection.execute(
                "SELECT COALESCE(MAX(first_row + n_windows), 0) FROM recordings"
            ).fetchone()
        path = os.path.join(self.folder, VECTORS)
        vectors = self._vectors = open(path, "ab")  # noqa: SIM115 (closed by __exit__)
        # Rows past the last commit are from a killed run: cut them off before appending.
        vectors.truncate(self.committed * DIMENSIONS * VECTOR_DTYPE.itemsize)
        committed = (
            np.memmap(path, VECTOR_DTYPE, "r", shape=(self.committed, DIMENSIONS))
            if self.committed
            else np.zeros((0, DIMENSIONS), VECTOR_DTYPE)
        )
        self._graph = Graph.for_writing(self.folder, committed)

    def __contains__(self, path: str | os.PathLike) -> bool:
        """True when the recording (by absolute path) is in the index."""
        return os.path.abspath(os.fspath(path)) in self._known

    def add(self, name: str, duration_seconds: float, embeddings: np.ndarray) -> None:
        """Commit one recording: its vectors appended and flushed, then its row inserted.

        Parameters
        ----------
        name : str
            Its path as given (the ``filename`` of search hits); its absolute path identifies it.
        duration_seconds : float
            True length, in seconds.
        embeddings : np.ndarray [shape=(n_windows, 1024), dtype=float32]
            Window ``i`` starts at ``i * hop_seconds``.

        Raises
        ------
        SedError
            If the database cannot be written.
        RuntimeError
            Outside the writer's ``with`` block.
        """
        if self._vectors is None or self._graph is None:
            raise RuntimeError("IndexWriter.add outside its `with` block")
        embeddings = np.asarray(embeddings, np.float32).reshape(-1, DIMENSIONS)
        self._vectors.write(embeddings.astype(VECTOR_DTYPE).tobytes())
        self._vectors.flush()
        os.fsync(self._vectors.fileno())
        absolute = os.path.abspath(name)
        with _database_errors(self.folder), self._connection:
            self._connection.execute(
                "INSERT INTO recordings (path, filename, duration_seconds, start_time, "
                "first_row, n_windows, mean) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    absolute,
                    name,
                    float(duration_seconds),
                    start_time_from_name(name),
                    self.committed,
                    len(embeddings),
                    embeddings.mean(axis=0).astype(np.float32).tobytes(),
                ),
            )
        # The graph follows the commit: it never covers a row that is not committed.
        self._graph.add(self.committed, embeddings)
        self.committed += len(embeddings)
        self._known.add(absolute)
        self._graph.save()

    def _close(self, *, save_graph: bool) -> None:
        if self._graph is not None:
            if save_graph:
                self._graph.save(force=True)
            self._graph.close()
        if self._vectors is not None:
            self._vectors.close()
        self._connection.close()


@contextmanager
def _database_errors(folder: str) -> Iterator[None]:
    """SQLite's errors as one line naming the index."""
    try:
        yield
    except sqlite3.DatabaseError as error:
        raise SedError(f"cannot write the index database ({error})", folder) from None


def describe(index: Index) -> str:
    """One line about an index: recordings, windows, hours, hop."""
    hours = sum(recording.duration_seconds for recording in index.recordings) / 3600
    return (
        f"{len(index.recordings)} recordings, {len(index)} windows ({hours:.2f} h of audio, "
        f"hop {index.hop_seconds} s)"
    )


def print_progress(path: str, n_windows: int, *, stream=None) -> None:
    """A progress line per recording on stderr (the ``progress`` of
    :func:`sed.indexing.index_recordings`)."""
    stream = stream or sys.stderr
    what = "already indexed" if n_windows < 0 else f"{n_windows} windows"
    print(f"{path}: {what}", file=stream, flush=True)


def recording_positions(index: Index, rows: Sequence[int] | np.ndarray) -> np.ndarray:
    """The recording (position in ``index.recordings``) of each vector row.

    Returns
    -------
    positions : np.ndarray [shape=(len(rows),), dtype=int64]
    """
    firsts = np.array([recording.first_row for recording in index.recordings], np.int64)
    return np.searchsorted(firsts, np.asarray(rows, np.int64), side="right") - 1
