"""Embedding extraction and its cache."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sed.errors import ParameterError
from sed.heads import embeddings as emb
from sed.heads.embeddings import EmbeddingCache, default_cache_dir, embed_files, write_embeddings
from sed.params import YamnetParams
from sed.segmenter import SILENCE_DBFS, hop_energies, score_file, score_waveform, window_levels


@pytest.fixture
def clip(tmp_path, rng):
    """2.5 s of seeded noise at 22.05 kHz, ending in 1 s of digital silence."""
    samples = np.concatenate([0.1 * rng.standard_normal(33075), np.zeros(22050)])
    path = tmp_path / "clip.wav"
    sf.write(path, samples.astype(np.float32), 22050, subtype="FLOAT")
    return path


def test_window_levels_of_known_signals():
    params = YamnetParams()
    t = np.arange(3 * 16000) / 16000
    sine = np.sin(2 * np.pi * 1000 * t)  # full scale: -3.01 dBFS
    levels = window_levels(hop_energies(sine, params), params.num_windows(len(sine)), params)
    assert np.allclose(levels[:3], 10 * np.log10(0.5), atol=0.01)
    silence = window_levels(hop_energies(np.zeros(16000), params), 1, params)
    assert silence.tolist() == [SILENCE_DBFS]
    # The last window reaches into the zero padding: it is quieter than the full ones.
    assert levels[-1] < levels[0] - 1


def test_cache_computes_once_and_keys_by_content(tmp_path, clip, model, monkeypatch):
    cache = EmbeddingCache(tmp_path / "cache")
    calls = []
    compute = emb.compute_embeddings
    monkeypatch.setattr(
        emb, "compute_embeddings", lambda *a, **k: calls.append(a[0]) or compute(*a, **k)
    )
    first = cache.embed(clip, model)
    reference = score_file(clip, model, keep_embeddings=True)
    assert first.embeddings.shape == (len(reference), 1024) == (5, 1024)
    np.testing.assert_allclose(first.embeddings, reference.embeddings, atol=1e-6)
    np.testing.assert_array_equal(first.starts, reference.starts)
    assert first.duration_seconds == pytest.approx(2.5)
    # Windows 3 and 4 (1.5 s on) lie in the digital silence, but for the resampler's ringing.
    # White noise at -20 dBFS keeps 8000/11025 of its power through the 16 kHz resampling.
    assert first.levels_dbfs[0] == pytest.approx(-20 + 10 * np.log10(8000 / 11025), abs=0.3)
    assert first.levels_dbfs[3] < -60 and first.levels_dbfs[4] == SILENCE_DBFS

    copy = tmp_path / "renamed.wav"
    copy.write_bytes(clip.read_bytes())
    again = cache.embed(copy, model)
    assert len(calls) == 1 and again.filename == str(copy)
    np.testing.assert_array_equal(again.embeddings, first.embeddings)
    np.testing.assert_array_equal(again.levels_dbfs, first.levels_dbfs)

    other_hop = dataclasses.replace(model, params=YamnetParams(patch_hop_seconds=0.25))
    assert len(cache.embed(clip, other_hop)) == 8 and len(calls) == 2
    cache.embed(clip, model, resampler="resampy")
    assert len(calls) == 3
    entries = [f for _, _, files in os.walk(tmp_path / "cache") for f in files]
    assert len(entries) == 3 and all(f.endswith(".npz") for f in entries)


def test_waveforms_are_embedded_together_and_only_those_not_cached(
    tmp_path, rng, model, monkeypatch
):
    cache = EmbeddingCache(tmp_path / "cache")
    waveforms = [
        (0.1 * rng.standard_normal(n)).astype(np.float32) for n in (16000 * 3, 8000, 16000 * 5)
    ]
    names = ["a#mix0", "b#mix0", "c#mix0"]
    alone = [score_waveform(w, model, keep_embeddings=True) for w in waveforms]
    cache.embed_waveforms(waveforms[1:2], model, names=names[1:2])  # one already cached
    counted = []
    batched = emb.score_waveforms

    def counting(waveforms, *args, **options):
        waveforms = list(waveforms)
        counted.extend(waveforms)
        return batched(waveforms, *args, **options)

    monkeypatch.setattr(emb, "score_waveforms", counting)
    items = cache.embed_waveforms(waveforms, model, names=names)
    assert len(counted) == 2  # only the two not in the cache went through YAMNet
    assert [item.filename for item in items] == names
    for item, reference in zip(items, alone):
        assert np.abs(item.embeddings - reference.embeddings).max() <= 1e-5
        np.testing.assert_array_equal(item.levels_dbfs, reference.window_level_dbfs)
        np.testing.assert_array_equal(item.starts, reference.starts)
        assert item.duration_seconds == reference.duration_seconds
    again = cache.embed_waveforms(waveforms, model, names=names)
    assert len(counted) == 2  # every one read back
    for item, first in zip(again, items):
        np.testing.assert_array_equal(item.embeddings, first.embeddings)
    with pytest.raises(ValueError, match="2 names for 3 waveforms"):
        cache.embed_waveforms(waveforms, model, names=names[:2])


def test_damaged_entry_is_recomputed(tmp_path, clip, model):
    cache = EmbeddingCache(tmp_path)
    first = cache.embed(clip, model)
    entry = cache.entry(cache.key(clip, model))
    with open(entry, "wb") as handle:
        handle.write(b"PK\x03\x04 not a zip")
    np.testing.assert_array_equal(cache.embed(clip, model).embeddings, first.embeddings)
    assert np.load(entry)["embeddings"].shape == (5, 1024)


def test_cache_directory_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SED_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == str(tmp_path / "c" / "embeddings")
    assert EmbeddingCache().directory == str(tmp_path / "c" / "embeddings")
    monkeypatch.delenv("SED_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_cache_dir() == str(tmp_path / "x" / "sed" / "embeddings")


def test_write_npz_and_parquet(tmp_path, clip, bells_wav, model):
    items = embed_files([clip, bells_wav], model, cache=EmbeddingCache(tmp_path / "cache"))
    write_embeddings(items, tmp_path / "e.npz", model.params)
    with np.load(tmp_path / "e.npz") as data:
        assert data["embeddings"].shape == (125, 1024) and data["embeddings"].dtype == np.float32
        assert data["filenames"].tolist() == [str(clip)] * 5 + [str(bells_wav)] * 120
        assert data["starts"][6] == 0.5 and data["ends"][6] == pytest.approx(1.46)
        assert float(data["hop_seconds"]) == 0.5 and int(data["sample_rate"]) == 16000
        np.testing.assert_array_equal(data["embeddings"][5:], items[1].embeddings)
    write_embeddings(items, tmp_path / "e.parquet", model.params)
    table = pd.read_parquet(tmp_path / "e.parquet")
    assert table.shape == (125, 4 + 1024)
    assert list(table.columns[:5]) == ["filename", "start", "end", "level_dbfs", "e0000"]
    np.testing.assert_array_equal(table.iloc[:5, 4:].to_numpy(), items[0].embeddings)
    import pyarrow.parquet as pq

    assert b'"hop_seconds": 0.5' in pq.read_schema(tmp_path / "e.parquet").metadata[b"sed"]
    with pytest.raises(ParameterError, match="must end in .npz or .parquet"):
        write_embeddings(items, tmp_path / "e.csv", model.params)
