"""`sed search` quality: find DCASE2016 office sounds in sed_dev/office by example.

    uv run python benchmarks/search.py [--hop 0.5] [--pooling mean|max]
                                       [--centre archive|recording|none]
                                       [--index-dir DIR]

The 20 sed_dev/office soundscapes (60 s each) are indexed (`sed.index.build_index`; into
--index-dir when given, kept and reused, else a temporary folder). Each of the 110 clips of the
`train` half of dcase2016_task2/train_split.csv (none of them mixed into the soundscapes) is a
query; every window of the index is ranked by `sed.search.similarities`. A window counts as
relevant when it overlaps a reference event of the query's class by at least 0.2 s. Printed: mean
average precision (over the whole ranking) and precision@10, per class (mean over its 10 queries)
and overall (mean over the 110 queries). Baseline (mean of the query's windows, plain cosine,
hop 0.5: `--centre none`): MAP 0.242, P@10 0.414 as first measured.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import tempfile
import time
from collections import defaultdict

import numpy as np
from _common import DATA, print_resources

OVERLAP_SECONDS = 0.2


def cpu_line() -> str:
    text = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    names = [line for line in text.splitlines() if line.startswith("Model name")]
    return names[0].strip() if names else "Model name: unknown"


def average_precision(relevant: np.ndarray, scores: np.ndarray) -> float:
    order = np.argsort(-scores, kind="stable")
    hits = relevant[order].astype(float)
    if not hits.any():
        return float("nan")
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / hits.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hop", type=float, default=0.5)
    parser.add_argument("--pooling", choices=("mean", "max"), default="max")
    parser.add_argument("--centre", choices=("archive", "recording", "none"), default="archive")
    parser.add_argument("--index-dir", default=None)
    args = parser.parse_args()
    office, clips = DATA / "sed_dev" / "office", DATA / "dcase2016_task2"
    if not office.is_dir() or not clips.is_dir():
        raise SystemExit(f"needs {office} and {clips} (the shared data)")
    print(cpu_line())
    print(f"load average {os.getloadavg()[0]:.2f}")
    started = time.perf_counter()

    from sed.index import build_index, open_index
    from sed.pipeline import load_model
    from sed.search import query_embeddings, similarities

    model = load_model(hop_seconds=args.hop)
    folder = args.index_dir or tempfile.mkdtemp(prefix="sed-search-bench-")
    build_index(sorted(map(str, (office / "audio").glob("*.flac"))), folder, model)
    index = open_index(folder)
    print(f"index: {index.folder}, {len(index)} windows, hop {index.hop_seconds} s")

    events = defaultdict(list)  # stem -> [(onset, offset, label)]
    with open(office / "meta.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            events[row["soundscape"]].append(
                (float(row["onset"]), float(row["offset"]), row["event_label"])
            )
    positions = index.row_recordings()
    firsts = np.array([r.first_row for r in index.recordings])
    onsets = (np.arange(len(index)) - firsts[positions]) * index.hop_seconds
    offsets = onsets + index.window_seconds
    stems = [os.path.splitext(os.path.basename(r.filename))[0] for r in index.recordings]

    def relevant(label: str) -> np.ndarray:
        mask = np.zeros(len(index), bool)
        for position, stem in enumerate(stems):
            rows = positions == position
            for onset, offset, event_label in events[stem]:
                if event_label == label:
                    overlap = np.minimum(offsets, offset) - np.maximum(onsets, onset)
                    mask |= rows & (overlap >= OVERLAP_SECONDS)
        return mask

    queries = []
    with open(clips / "train_split.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["split"].strip() == "train":
                queries.append((row["filename"], row["event_label"]))
    per_class = defaultdict(list)
    truth = {}
    for filename, label in queries:
        if label not in truth:
            truth[label] = relevant(label)
        query = query_embeddings(clips / "train" / filename, model)
        scores = similarities(index, [query.embeddings], pooling=args.pooling, centre=args.centre)
        top = np.argsort(-scores, kind="stable")[:10]
        per_class[label].append((average_precision(truth[label], scores), truth[label][top].mean()))
    print(f"hop {args.hop} s, pooling {args.pooling}, centre {args.centre}: {len(queries)} queries")
    print(f"{'class':<12} {'MAP':>6} {'P@10':>6}")
    for label in sorted(per_class):
        values = np.array(per_class[label])
        print(f"{label:<12} {np.nanmean(values[:, 0]):6.3f} {values[:, 1].mean():6.3f}")
    values = np.array([v for items in per_class.values() for v in items])
    print(f"{'overall':<12} {np.nanmean(values[:, 0]):6.3f} {values[:, 1].mean():6.3f}")
    print_resources(started)


if __name__ == "__main__":
    main()
