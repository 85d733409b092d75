"""Which vector store `sed index` uses: build time, query latency, recall@100 and size.

    uv run --with usearch --with hnswlib --with faiss-cpu python benchmarks/search_store.py \
        EMBEDDINGS.npz [--n 200000] [--queries 100]

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
    parser.add_argument("embeddings")
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
