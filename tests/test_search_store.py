"""The approximate store of `sed search` on real embeddings: recall@100 against exact search."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from sed.audio import find_audio_files
from sed.frame_index import build_frame_index
from sed.index import open_index
from sed.indexing import index_recordings
from sed.search import DEFAULT_EXPAND, candidate_count, candidate_rows, query_embeddings, search

K = 100


@pytest.fixture(scope="module")
def office_index(tmp_path_factory, shared_data, model):
    """The 20 sed_dev/office soundscapes (20 min, 2,400 windows at hop 0.5 s) indexed, with
    their frames."""
    folder = tmp_path_factory.mktemp("office") / "idx"
    audio = find_audio_files([shared_data / "sed_dev" / "office" / "audio"], pattern="*.flac").files
    report = index_recordings(audio, folder, model, frames=False)
    assert len(report.added) == 20 and not report.failed
    assert build_frame_index(open_index(folder), model) == []
    return open_index(folder)


@pytest.fixture(scope="module")
def office_queries(shared_data, model):
    """The DCASE2016 task 2 clips of the ``train`` half (110, 11 classes): not in the
    soundscapes, so no query finds itself."""
    folder = shared_data / "dcase2016_task2"
    with open(folder / "train_split.csv", newline="") as table:
        names = [row["filename"] for row in csv.DictReader(table) if row["split"] == "train"]
    return [query_embeddings(folder / "train" / name, model) for name in names]


# The window rule's candidates are scored exactly: a window found by both searches has the same
# score (to float32 rounding of another matrix product's shape). The frame rule's z-scores take
# an even sample's mean and spread instead of every window's: near, not equal. With query
# expansion each search expands with its own first pass's best windows, and a near tie there can
# pick another window, so only the hits (recall) are compared, not their scores.
# The frame rule's exact search scores every window's frames (seconds a query): it is checked on
# every other query (5 of each class), and with expansion, which scores twice, on one query of
# each class (the clips are listed class by class, ten each).
@pytest.mark.parametrize(
    "scoring, expand, score_tolerance, every",
    [("windows", 0, 1e-6, 1), ("frames", 0, 0.05, 2), ("frames", DEFAULT_EXPAND, None, 10)],
)
def test_recall_at_100_against_exact_search(
    office_index, office_queries, scoring, expand, score_tolerance, every
):
    assert office_index.graph is not None and office_index.graph.rows == len(office_index)
    recalls, scored = [], []
    queries = office_queries[::every]
    for query in queries:
        settings = {"k": K, "scoring": scoring, "expand": expand}
        exact = search(office_index, [query], exact=True, **settings)
        approximate = search(office_index, [query], **settings)
        recalls.append(len(np.intersect1d(exact.rows, approximate.rows)) / K)
        rows = candidate_rows(office_index, [query], k=K)
        scored.append(len(office_index) if rows is None else len(rows))
        if score_tolerance is None:
            continue
        _, in_exact, in_approximate = np.intersect1d(
            exact.rows, approximate.rows, return_indices=True
        )
        np.testing.assert_allclose(
            exact.scores[in_exact], approximate.scores[in_approximate], atol=score_tolerance
        )
    assert len(recalls) == 110 // every
    # Not a search that scored everything: most queries re-rank a part of the index.
    assert np.median(scored) < len(office_index), np.median(scored)
    assert np.mean(recalls) >= 0.95, (np.mean(recalls), np.min(recalls))


def test_the_graph_scores_a_fraction_of_the_index(office_index, office_queries):
    """A one-window query scores its candidate_count(k) candidates, not every window."""
    query = office_queries[0].embeddings[:1]
    rows = candidate_rows(office_index, [query], k=K)
    assert rows is not None
    assert len(rows) == candidate_count(K) < len(office_index)
