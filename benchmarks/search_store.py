"""Which vector store `sed index` uses, and how `sed index`/`sed search` scale with hours of audio.

Comparing stores:

    uv run --with hnswlib --with faiss-cpu python benchmarks/search_store.py \
        EMBEDDINGS.npz [--n 200000] [--queries 100]

The scale curve of sed's own store (exact float32 vectors + USearch HNSW graph):

    uv run python benchmarks/search_store.py --hours 10,100 [--source-index DIR] \
        [--work-dir DIR] [--queries 50] [--exact-queries 20]

For each number of hours, an index folder is written by `sed.index.IndexWriter` (what `sed
index` commits through) from cached embeddings: 10-minute recordings (1,200 windows at hop 0.5
s) whose windows are real YAMNet embeddings of the sed_dev/office soundscapes (taken from
--source-index, which is built from ../shared/data when missing) drawn at random and perturbed
as below. Build time is the time spent in the writer (the embeddings are generated outside it);
then a fresh process opens the index and runs one-window queries (perturbed real windows) with
`sed.search.search` in both modes, printing latency p50/p95, recall@100 of the default
(approximate) search against `exact=True`, and its resident memory (VmRSS) after each mode.

EMBEDDINGS.npz is what `sed embed` writes (real YAMNet embeddings, e.g. of
../shared/data/sed_dev/office/audio and ../shared/data/dcase2016_task2/train). The base set is
``--n`` of them drawn with replacement, each perturbed by Gaussian noise of 0.3 times the
per-dimension standard deviation and clipped at 0 (embeddings are >= 0), so that no two are equal
but the set keeps real embeddings' structure. Queries are further perturbed real embeddings.
Similarity is cosine (vectors L2-normalised first). Recall@100 is against exact float32 search.
Candidates whose package is not installed are skipped with a note.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import numpy as np
from _common import machine

K = 100


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def exact_top(base: np.ndarray, queries: np.ndarray, k: int, chunk: int = 65536) -> np.ndarray:
    """Exact top-k by inner product, scanning ``base`` (float16 or float32) in chunks."""
    best_scores = np.full((len(queries), 0), -np.inf, np.float32)
    best_ids = np.zeros((len(queries), 0), np.int64)
    for start in range(0, len(base), chunk):
        block = np.asarray(base[start : start + chunk], dtype=np.float32)
        scores = queries @ block.T
        ids = np.broadcast_to(np.arange(start, start + len(block)), scores.shape)
        scores = np.concatenate([best_scores, scores], axis=1)
        ids = np.concatenate([best_ids, ids], axis=1)
        top = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
        best_scores = np.take_along_axis(scores, top, axis=1)
        best_ids = np.take_along_axis(ids, top, axis=1)
    return best_ids


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def folder_size(path: str) -> int:
    return sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, names in os.walk(path)
        for name in names
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("embeddings", nargs="?")
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--hours", help="comma-separated hours of audio: the scale curve")
    parser.add_argument("--source-index", default=None)
    parser.add_argument("--work-dir", default=None)
    parser.add_argument("--exact-queries", type=int, default=20)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.source_index, args.queries, args.exact_queries)
        return
    if args.hours:
        scale_curve(args)
        return
    if not args.embeddings:
        parser.error("give EMBEDDINGS.npz (store comparison) or --hours (scale curve)")
    rng = np.random.default_rng(0)
    real = np.load(args.embeddings)["embeddings"].astype(np.float32)
    std = real.std(axis=0)

    def perturbed(n: int) -> np.ndarray:
        rows = real[rng.integers(0, len(real), n)]
        return np.maximum(rows + rng.normal(size=rows.shape).astype(np.float32) * 0.3 * std, 0)

    base = unit(perturbed(args.n)).astype(np.float32)
    queries = unit(perturbed(args.queries)).astype(np.float32)
    print(f"{machine()}; {len(real)} real embeddings -> {args.n} x {base.shape[1]}")
    truth = exact_top(base, queries, K)
    print(f"{'store':<28} {'build s':>8} {'query ms':>9} {'recall@100':>11} {'size MB':>8}")

    def report(name, build, query, found, size):
        print(
            f"{name:<28} {build:8.1f} {1000 * query:9.1f} {recall(found, truth):11.4f} "
            f"{size / 1e6:8.0f}"
        )

    with tempfile.TemporaryDirectory() as folder:
        for dtype in (np.float32, np.float16):
            path = os.path.join(folder, f"vectors.{np.dtype(dtype).name}")
            started = time.perf_counter()
            stored = np.lib.format.open_memmap(path, "w+", dtype, base.shape)
            stored[:] = base
            stored.flush()
            del stored
            build = time.perf_counter() - started
            stored = np.load(path, mmap_mode="r")
            exact_top(stored, queries[:1], K)  # page the file in once, as a second search would
            started = time.perf_counter()
            found = np.concatenate([exact_top(stored, q[None], K) for q in queries[:20]])
            query = (time.perf_counter() - started) / 20
            batch_started = time.perf_counter()
            found = exact_top(stored, queries, K)
            batch = (time.perf_counter() - batch_started) / len(queries)
            report(
                f"numpy exact {np.dtype(dtype).name}", build, query, found, os.path.getsize(path)
            )
            print(f"{'  (batched queries, per query)':<28} {'':>8} {1000 * batch:9.1f}")
            del stored

        try:
            from usearch.index import Index
        except ImportError:
            print("usearch: not installed, skipped")
        else:
            for dtype in ("f32", "f16", "i8"):
                started = time.perf_counter()
                index = Index(ndim=base.shape[1], metric="cos", dtype=dtype)
                index.add(np.arange(len(base)), base, threads=os.cpu_count() or 1)
                build = time.perf_counter() - started
                path = os.path.join(folder, f"usearch.{dtype}")
                index.save(path)
                started = time.perf_counter()
                found = np.stack([index.search(q, K).keys for q in queries])
                query = (time.perf_counter() - started) / len(queries)
                report(f"usearch HNSW {dtype}", build, query, found, os.path.getsize(path))

        try:
            import hnswlib
        except ImportError:
            print("hnswlib: not installed, skipped")
        else:
            started = time.perf_counter()
            index = hnswlib.Index(space="cosine", dim=base.shape[1])
            index.init_index(max_elements=len(base), ef_construction=200, M=16)
            index.add_items(base, np.arange(len(base)))
            build = time.perf_counter() - started
            index.set_ef(200)
            path = os.path.join(folder, "hnswlib.bin")
            index.save_index(path)
            started = time.perf_counter()
            found = np.stack([index.knn_query(q[None], K)[0][0] for q in queries])
            query = (time.perf_counter() - started) / len(queries)
            report("hnswlib HNSW f32 (ef 200)", build, query, found, os.path.getsize(path))

        try:
            import faiss
        except ImportError:
            print("faiss: not installed, skipped")
        else:
            started = time.perf_counter()
            flat = faiss.IndexFlatIP(base.shape[1])
            flat.add(base)
            build = time.perf_counter() - started
            started = time.perf_counter()
            found = np.concatenate([flat.search(q[None], K)[1] for q in queries])
            query = (time.perf_counter() - started) / len(queries)
            path = os.path.join(folder, "faiss.flat")
            faiss.write_index(flat, path)
            report("faiss IndexFlatIP f32", build, query, found, os.path.getsize(path))
            started = time.perf_counter()
            hnsw = faiss.IndexHNSWFlat(base.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
            hnsw.add(base)
            build = time.perf_counter() - started
            hnsw.hnsw.efSearch = 200
            started = time.perf_counter()
            found = np.concatenate([hnsw.search(q[None], K)[1] for q in queries])
            query = (time.perf_counter() - started) / len(queries)
            path = os.path.join(folder, "faiss.hnsw")
            faiss.write_index(hnsw, path)
            report("faiss HNSWFlat f32 (ef 200)", build, query, found, os.path.getsize(path))
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


#: Windows per synthetic recording (10 minutes at hop 0.5 s, as a recorder's files often are).
RECORDING_WINDOWS = 1200
#: Gaussian noise added to each copied real window, in per-dimension standard deviations.
NOISE = 0.3


def perturbed_windows(real: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` real windows drawn with replacement, each with Gaussian noise of NOISE standard
    deviations per dimension, clipped at 0 (YAMNet's embeddings are >= 0): shape (n, 1024)."""
    rows = real[rng.integers(0, len(real), n)]
    noise = rng.normal(size=rows.shape).astype(np.float32) * (NOISE * real.std(axis=0))
    return np.maximum(rows + noise, 0).astype(np.float32)


def source_index(path: str | None, work: str) -> str:
    """The index holding the real embeddings (built from sed_dev/office when missing)."""
    from _common import DATA

    from sed.audio import find_audio_files
    from sed.index import is_index
    from sed.indexing import index_recordings

    path = path or os.path.join(work, "office.index")
    if not is_index(path):
        from sed.pipeline import load_model

        audio = find_audio_files([DATA / "sed_dev" / "office" / "audio"], pattern="*.flac").files
        index_recordings(audio, path, load_model(), frames=False)
    return path


def vm_rss_mib() -> float:
    """This process's resident memory (VmRSS), MiB."""
    with open("/proc/self/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def build(folder: str, settings: dict, real: np.ndarray, hours: float) -> tuple[float, float]:
    """Write an index of ``hours`` of perturbed real windows; (seconds in the writer, peak
    resident MiB)."""
    from sed.index import IndexWriter

    rng = np.random.default_rng(int(hours * 1000))
    recordings = int(round(hours * 6))
    spent = 0.0
    with IndexWriter(folder, settings) as writer:
        for i in range(recordings):
            windows = perturbed_windows(real, RECORDING_WINDOWS, rng)
            started = time.perf_counter()
            writer.add(f"synthetic/{i:06d}.flac", RECORDING_WINDOWS * 0.5, windows)
            spent += time.perf_counter() - started
        started = time.perf_counter()
    spent += time.perf_counter() - started  # the final save of the graph
    import resource

    return spent, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(folder: str, source: str, queries: int, exact_queries: int) -> None:
    """In a fresh process: open the index, time approximate and exact one-window queries, and
    print one JSON line of the figures."""
    import json

    from sed.index import open_index
    from sed.search import search

    real = np.asarray(open_index(source).vectors, np.float32)
    rng = np.random.default_rng(1)
    probes = perturbed_windows(real, queries, rng)
    started = time.perf_counter()
    index = open_index(folder)
    opened = time.perf_counter() - started
    figures = {"open_s": opened, "rss_open_mib": vm_rss_mib()}
    approximate, latencies = [], []
    for probe in probes:
        started = time.perf_counter()
        approximate.append(search(index, [probe[None]], k=K).rows)
        latencies.append(time.perf_counter() - started)
    figures["rss_approximate_mib"] = vm_rss_mib()
    figures["approximate_ms"] = 1000 * np.percentile(latencies[1:], [50, 95])
    figures["first_query_ms"] = 1000 * latencies[0]
    exact, latencies = [], []
    for probe in probes[:exact_queries]:
        started = time.perf_counter()
        exact.append(search(index, [probe[None]], k=K, exact=True).rows)
        latencies.append(time.perf_counter() - started)
    figures["rss_exact_mib"] = vm_rss_mib()
    figures["exact_ms"] = 1000 * np.percentile(latencies[1:], [50, 95])
    figures["recall"] = recall(approximate[:exact_queries], exact)
    figures["windows"] = len(index)
    print(json.dumps({key: np.asarray(value).tolist() for key, value in figures.items()}))


def scale_curve(args) -> None:
    """Build and measure an index per number of hours; one table row each."""
    import json
    import subprocess
    import sys

    from _common import cpu_model

    from sed.index import VECTORS, open_index
    from sed.vector_store import GRAPH

    work = args.work_dir or tempfile.mkdtemp(prefix="sed-store-")
    source = source_index(args.source_index, work)
    opened = open_index(source)
    real, settings = np.asarray(opened.vectors, np.float32), opened.settings
    print(
        f"{cpu_model()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
        f"vectors: {len(real)} real YAMNet embeddings of sed_dev/office repeated with Gaussian "
        f"noise of {NOISE} standard deviations (not real audio of that length); "
        f"{args.queries} one-window queries, recall@100 over the first {args.exact_queries}"
    )
    print(
        "| hours | windows | build (s) | build peak RSS (MiB) | vectors.f32 (MB) | graph (MB) "
        "| approximate p50 / p95 (ms) | exact p50 / p95 (ms) | recall@100 "
        "| search RSS approximate / exact (MiB) | load |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for hours in (float(h) for h in args.hours.split(",")):
        folder = os.path.join(work, f"{hours:g}h.index")
        if os.path.exists(folder):
            raise SystemExit(f"{folder} exists: give another --work-dir")
        spent, peak = build(folder, settings, real, hours)
        child = subprocess.run(
            [sys.executable, __file__, "--measure", folder, "--source-index", source,
             "--queries", str(args.queries), "--exact-queries", str(args.exact_queries)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        got = json.loads(child.stdout.strip().splitlines()[-1])
        vectors = os.path.getsize(os.path.join(folder, VECTORS)) / 1e6
        graph = os.path.getsize(os.path.join(folder, GRAPH)) / 1e6
        approximate, exact = got["approximate_ms"], got["exact_ms"]
        print(
            f"| {hours:g} | {got['windows']} | {spent:.1f} | {peak:.0f} | {vectors:.0f} "
            f"| {graph:.0f} | {approximate[0]:.1f} / {approximate[1]:.1f} "
            f"| {exact[0]:.0f} / {exact[1]:.0f} | {got['recall']:.3f} "
            f"| {got['rss_approximate_mib']:.0f} / {got['rss_exact_mib']:.0f} "
            f"| {os.getloadavg()[0]:.2f} |",
            flush=True,
        )
        if not args.work_dir:
            shutil.rmtree(folder)
    print(f"work folder {work}; load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
