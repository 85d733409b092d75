"""The index's HNSW graph (`sed.vector_store`): how often a long `sed index` run saves it."""

from __future__ import annotations

import os

import numpy as np

from sed import vector_store
from sed.vector_store import GRAPH, SAVE_EVERY_SECONDS, SAVE_WAIT_PER_SAVE_SECOND, Graph


def test_periodic_saves_wait_ten_times_as_long_as_the_last_save_took(tmp_path, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(vector_store, "_monotonic", lambda: clock[0])
    graph = Graph.for_writing(tmp_path, np.zeros((0, 8), np.float32))
    write = graph._index.save

    def slow_save(path):  # a big graph: the save takes a minute
        write(path)
        clock[0] += 60.0

    graph._index.save = slow_save
    rng = np.random.default_rng(0)
    graph.add(0, rng.random((4, 8), dtype=np.float32))
    clock[0] += SAVE_EVERY_SECONDS - 1
    assert not graph.save()  # too soon
    clock[0] += 1
    assert graph.save() and os.path.exists(tmp_path / GRAPH)
    graph.add(4, rng.random((4, 8), dtype=np.float32))
    clock[0] += SAVE_EVERY_SECONDS
    assert not graph.save()  # the last save took 60 s: the next waits 600 s
    clock[0] += SAVE_WAIT_PER_SAVE_SECOND * 60 - SAVE_EVERY_SECONDS
    assert graph.save()
    assert not graph.save(force=True)  # nothing added since
    graph.add(8, rng.random((4, 8), dtype=np.float32))
    assert graph.save(force=True)  # the end of a run saves whatever the time
    graph.close()
