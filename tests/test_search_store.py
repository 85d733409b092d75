"""The approximate store of `sed search` on real embeddings: recall@100 against exact search."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from sed.index import build_index, open_index
from sed.search import candidate_rows, query_embeddings, search
from sed.vector_store import CANDIDATES_PER_HIT

K = 100


@pytest.fixture(scope="module")
def office_index(tmp_path_factory, shared_data, model):
    """The 20 sed_dev/office soundscapes (20 min, 2,400 windows at hop 0.5 s) indexed."""
    folder = tmp_path_factory.mktemp("office") / "idx"
    audio = sorted((shared_data / "sed_dev" / "office" / "audio").glob("*.flac"))
    report = build_index(map(str, audio), folder, model)
    assert len(report.added) == 20 and not report.failed
    return open_index(folder)


@pytest.fixture(scope="module")
def office_queries(shared_data, model):
    """The DCASE2016 task 2 clips of the ``train`` half (110, 11 classes): not in the
    soundscapes, so no query finds itself."""
    folder = shared_data / "dcase2016_task2"
    with open(folder / "train_split.csv", newline="") as table:
        names = [row["filename"] for row in csv.DictReader(table) if row["split"] == "train"]
    return [query_embeddings(folder / "train" / name, model).embeddings for name in names]


def test_recall_at_100_against_exact_search(office_index, office_queries):
    assert office_index.graph is not None and office_index.graph.rows == len(office_index)
    recalls = []
    for query in office_queries:
        exact = search(office_index, [query], k=K, exact=True)
        approximate = search(office_index, [query], k=K)
        recalls.append(len(np.intersect1d(exact.rows, approximate.rows)) / K)
        # A window found by both has the same score (to float32 rounding of another matrix
        # product's shape): the candidates are scored exactly.
        _, in_exact, in_approximate = np.intersect1d(
            exact.rows, approximate.rows, return_indices=True
        )
        np.testing.assert_allclose(
            exact.scores[in_exact], approximate.scores[in_approximate], rtol=0, atol=1e-6
        )
    assert len(recalls) == 110
    assert np.mean(recalls) >= 0.95, (np.mean(recalls), np.min(recalls))


def test_the_graph_scores_a_fraction_of_the_index(office_index, office_queries):
    """A one-window query scores its CANDIDATES_PER_HIT * k candidates, not every window."""
    query = office_queries[0][:1]
    rows = candidate_rows(office_index, [query], k=K)
    assert rows is not None
    assert len(rows) == CANDIDATES_PER_HIT * K < len(office_index)
