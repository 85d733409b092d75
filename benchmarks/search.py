"""`sed search` quality: find DCASE2016 office sounds in sed_dev/office by example.

    uv run python benchmarks/search.py [--set office|animals] [--hop 0.5]
                                       [--pooling mean|max] [--centre archive|recording|none]
                                       [--index-dir DIR]

The 20 sed_dev/office soundscapes (60 s each) are indexed, windows and frames
(`sed.indexing.index_recordings`, `sed.frame_index.build_frame_index`; into --index-dir when
given, kept and reused, else a temporary folder). Each of the 110 clips of the `train` half of
dcase2016_task2/train_split.csv (none of them mixed into the soundscapes) is a query; every window
of the index is ranked by `sed.search.similarities` under each rule of RULES in one run: the plain
cosine of window embeddings (the baseline, first measured at MAP 0.242, P@10 0.414), the window
rule before the frame rule (archive-centred, max pooling), and the frame rule (the default). A
window counts as relevant when it overlaps a reference event of the query's class by at least
0.2 s. Printed: mean average precision (over the whole ranking) and precision@10, per class (mean
over its queries) and overall (mean over all queries).

`--set animals` is the check on other sounds: the 20 sed_dev/animals soundscapes, and as queries
the 22 ESC-50 clips of their ten classes that are not mixed into them (whole 5 s clips).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from _common import DATA, print_resources

from sed.heads.config import EXCERPT_TRAINING
from sed.search import DEFAULT_EXPAND

OVERLAP_SECONDS = 0.2
#: --loop's classes: found fairly (cough, keyboard, phone) to hardly (drawer, pageturn, speech)
#: by one example; knock, keysDrop and doorslam have next to no correct hit to start from.
LOOP_CLASSES = ("cough", "keyboard", "phone", "drawer", "pageturn", "speech")


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


def verdicts_for(hits, events, label: str) -> list[str]:
    """A person's verdict on each hit event: ``correct`` when it overlaps a reference event of
    ``label`` in its recording by at least OVERLAP_SECONDS, else ``wrong``."""
    verdicts = []
    for row in hits.itertuples():
        stem = os.path.splitext(os.path.basename(row.filename))[0]
        overlaps = [
            min(row.offset, offset) - max(row.onset, onset)
            for onset, offset, event_label in events[stem]
            if event_label == label
        ]
        verdicts.append("correct" if max(overlaps, default=0.0) >= OVERLAP_SECONDS else "wrong")
    return verdicts


def run_loop(args, index, model, events, truth, clips, started: float) -> None:
    """The search loop per class: one query clip, the top hits judged from the references, a
    head trained on the verdicts (what `sed train VERDICTS` runs), the index ranked again with
    it (what `sed search --head` runs); MAP and P@10 of each ranking."""
    import pandas as pd

    from sed.heads.config import TrainingConfig
    from sed.heads.head import Head
    from sed.pipeline import train_head_files
    from sed.review import sample_events
    from sed.search import best_windows, head_scores, hits_to_events, query_embeddings, similarities

    firsts = np.array([r.first_row for r in index.recordings])
    positions = index.row_recordings()
    onsets = (np.arange(len(index)) - firsts[positions]) * index.hop_seconds
    offsets = onsets + index.window_seconds
    folder = tempfile.mkdtemp(prefix="sed-search-loop-")
    names = [r.filename for r in index.recordings]

    def heard(judged) -> np.ndarray:
        """The windows overlapping a judged excerpt: the person has heard them."""
        mask = np.zeros(len(index), bool)
        for item in judged.itertuples():
            rows = positions == names.index(item.filename)
            mask |= rows & (onsets < item.offset) & (offsets > item.onset)
        return mask

    def figures(relevant: np.ndarray, scores: np.ndarray, keep: np.ndarray) -> str:
        relevant, scores = relevant[keep], scores[keep]
        top = np.argsort(-scores, kind="stable")[:10]
        return f"{average_precision(relevant, scores):.3f}/{relevant[top].mean():.2f}"

    rows = []
    for label in args.classes.split(","):
        query_file = next(name for name, cls in clips if cls == label)
        query = query_embeddings(DATA / "dcase2016_task2" / "train" / query_file, model)
        if args.loop_query == "windows":
            scores = query_scores = similarities(index, [query.embeddings])
        else:
            scores = query_scores = similarities(index, [query], expand=DEFAULT_EXPAND)
        everything = np.ones(len(index), bool)
        row = {
            "class": label,
            "query": query_file,
            "rounds": [figures(truth[label], scores, everything)],
        }
        row["unheard"] = list(row["rounds"])
        row["judged"] = []
        judged = pd.DataFrame(columns=["filename", "onset", "offset"])
        for round_number in range(1, args.rounds + 1):
            # The person judges hits not judged yet (a window overlapping a judged excerpt has
            # been heard), taken from the current ranking.
            fresh = np.where(heard(judged), -np.inf, scores)
            if args.review == "top":
                new = hits_to_events(index, best_windows(index, fresh, k=args.top), label)
            else:  # what `sed review hits.csv --max-per-label TOP` puts on the page
                found = hits_to_events(index, best_windows(index, fresh, k=args.k), label)
                new = sample_events(found, args.top).drop(columns="sample")
            new["verdict"] = verdicts_for(new, events, label)
            new["corrected_label"] = ""
            judged = pd.concat([judged, new], ignore_index=True) if len(judged) else new
            path = os.path.join(folder, f"{label}_round{round_number}_verdicts.csv")
            judged.to_csv(path, index=False, float_format="%.3f")
            row["judged"].append(f"{(judged['verdict'] == 'correct').sum()}/{len(judged)}")
            head_dir = os.path.join(folder, f"{label}_round{round_number}_head")
            try:
                config = TrainingConfig(
                    validation_fraction=args.validation_fraction, max_epochs=args.epochs
                )
                train_head_files(path, head_dir, model=model, config=config)
            except Exception as error:  # a round without positives or negatives cannot train
                print(f"{label}: round {round_number} cannot train: {error}")
                break
            scores = fuse(head_scores(index, Head.load(head_dir), label), query_scores, args.fusion)
            row["rounds"].append(figures(truth[label], scores, everything))
            unheard = ~heard(judged)
            # The query's ranking of the same windows is what the head has to beat there.
            row["unheard"].append(
                f"{figures(truth[label], query_scores, unheard)} -> "
                f"{figures(truth[label], scores, unheard)}"
            )
        rows.append(row)
    print(f"verdicts and heads in {folder}; review {args.review!r}, {args.top} per round")
    for key, title in (
        ("rounds", "all windows"),
        ("unheard", "the windows not judged yet, query -> head"),
    ):
        print(f"MAP/P@10 over {title} (correct/judged events after each round):")
        header = f"{'class':<10} {'query clip':<18} {'query':>11}"
        width = 19 if key == "rounds" else 33
        header += "".join(f" {f'round {n}':>{width}}" for n in range(1, args.rounds + 1))
        print(header)
        for row in rows:
            cells = [f"{row['class']:<10} {row['query']:<18} {row[key][0]:>11}"]
            for figure, judged_count in zip(row[key][1:], row["judged"]):
                cells.append(f" {figure:>{width - 8}} ({judged_count:>5})")
            print("".join(cells))
    print_resources(started)


def fuse(head: np.ndarray, query: np.ndarray, how: str) -> np.ndarray:
    """--fusion: the loop's ranking from a head's scores (in [0, 1]) and the query's.

    ``none``: the head's alone; ``zsum``: the sum of both z-scores over the index (the head's of
    its logit, so that a saturated 0.999 and 0.9999 still differ); ``rrf``: reciprocal rank
    fusion, 1 / (60 + rank) summed over both rankings (Cormack et al., SIGIR 2009)."""
    if how == "none":
        return head
    if how == "zsum":
        p = np.clip(head.astype(np.float64), 1e-7, 1 - 1e-7)
        logit = np.log(p / (1 - p))
        return sum((x - x.mean()) / (x.std() or 1.0) for x in (logit, query.astype(np.float64)))
    ranks = [np.argsort(np.argsort(-x, kind="stable"), kind="stable") for x in (head, query)]
    return sum(1.0 / (60 + 1 + r) for r in ranks)


#: The rules one run compares: (name, similarities' keyword arguments).
RULES = (
    ("plain cosine (baseline)", {"scoring": "windows", "pooling": "mean", "centre": "none"}),
    ("windows, archive-centred (before)", {"scoring": "windows"}),
    ("frames 6+14, chamfer", {"scoring": "frames"}),
    ("frames + query expansion (default)", {"scoring": "frames", "expand": DEFAULT_EXPAND}),
)


def query_clips(set_name: str) -> list[tuple[Path, str]]:
    """The query clips of a set and their class: office, the `train` half of DCASE2016 task 2;
    animals, the ESC-50 clips of the soundscapes' ten classes not mixed into them."""
    if set_name == "office":
        folder = DATA / "dcase2016_task2"
        with open(folder / "train_split.csv", newline="") as handle:
            return [
                (folder / "train" / row["filename"], row["event_label"])
                for row in csv.DictReader(handle)
                if row["split"].strip() == "train"
            ]
    with open(DATA / "sed_dev" / "animals" / "meta.csv", newline="") as handle:
        meta = list(csv.DictReader(handle))
    used = {os.path.splitext(row["source_file"])[0] for row in meta}
    classes = {row["event_label"] for row in meta}
    with open(DATA / "esc50" / "meta" / "esc50.csv", newline="") as handle:
        return [
            (DATA / "esc50" / "audio" / row["filename"], row["category"])
            for row in csv.DictReader(handle)
            if row["category"] in classes and os.path.splitext(row["filename"])[0] not in used
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hop", type=float, default=0.5)
    parser.add_argument(
        "--set",
        choices=("office", "animals"),
        default="office",
        help="office: DCASE2016 clips in sed_dev/office; animals: the ESC-50 clips not mixed "
        "into sed_dev/animals (the check on other sounds)",
    )
    parser.add_argument(
        "--pooling", choices=("mean", "max"), default="max", help="for the last two rules"
    )
    parser.add_argument(
        "--centre",
        choices=("archive", "recording", "none"),
        default="archive",
        help="for the window rule",
    )
    parser.add_argument("--index-dir", default=None)
    parser.add_argument(
        "--loop",
        action="store_true",
        help="the search loop: a query per class, verdicts on the top hits, a head, re-ranking",
    )
    parser.add_argument("--classes", default=",".join(LOOP_CLASSES), help="--loop: classes")
    parser.add_argument("--rounds", type=int, default=2, help="--loop: rounds of verdicts")
    parser.add_argument("--top", type=int, default=20, help="--loop: hits judged per round")
    parser.add_argument(
        "--review",
        choices=("page", "top"),
        default="page",
        help="--loop: judge the review page's sample of the -k hits (the --top/3 best, the "
        "--top/3 worst, the rest at random), or the --top best hits",
    )
    parser.add_argument("-k", type=int, default=100, help="--loop: hits found per round")
    parser.add_argument(
        "--loop-query",
        choices=("frames", "windows"),
        default="frames",
        help="--loop: the query's ranking: the frame rule with query expansion, or the window "
        "rule (as the loop was first measured)",
    )
    parser.add_argument(
        "--fusion",
        choices=("none", "zsum", "rrf"),
        default="none",
        help="--loop: rank by the head alone, or fused with the query's scores (see fuse)",
    )
    parser.add_argument(
        "--validation-fraction",
        type=float,
        default=EXCERPT_TRAINING["validation_fraction"],
        help="--loop: sed train's option",
    )
    parser.add_argument(
        "--epochs", type=int, default=EXCERPT_TRAINING["max_epochs"], help="--loop: sed train's"
    )
    args = parser.parse_args()
    soundscapes = DATA / "sed_dev" / args.set
    if not soundscapes.is_dir() or not (DATA / "dcase2016_task2").is_dir():
        raise SystemExit(f"needs {soundscapes} and the query clips (the shared data)")
    print(cpu_line())
    print(f"load average {os.getloadavg()[0]:.2f}")
    started = time.perf_counter()

    from sed.audio import find_audio_files
    from sed.frame_index import build_frame_index
    from sed.index import open_index
    from sed.indexing import index_recordings
    from sed.pipeline import load_model
    from sed.search import query_embeddings, similarities

    model = load_model(hop_seconds=args.hop)
    folder = args.index_dir or tempfile.mkdtemp(prefix="sed-search-bench-")
    audio = find_audio_files([soundscapes / "audio"], pattern="*.flac").files
    index_recordings(audio, folder, model, frames=False)
    build_frame_index(open_index(folder), model)
    index = open_index(folder)
    print(f"index: {index.folder}, {len(index)} windows, hop {index.hop_seconds} s")
    print(f"indexed (windows and frames) in {time.perf_counter() - started:.1f} s")

    events = defaultdict(list)  # stem -> [(onset, offset, label)]
    with open(soundscapes / "meta.csv", newline="") as handle:
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

    clips = query_clips(args.set)
    truth = {label: relevant(label) for label in {label for _, label in clips}}
    if args.loop:
        if args.set != "office":
            raise SystemExit("--loop runs on the office set")
        names = [(path.name, label) for path, label in clips]
        run_loop(args, index, model, events, truth, names, started)
        return
    queries = [(query_embeddings(path, model), label) for path, label in clips]
    print(f"{len(queries)} queries embedded at {time.perf_counter() - started:.1f} s")
    results = {}
    for name, options in RULES:
        options = {"pooling": args.pooling, "centre": args.centre, **options}
        per_class = defaultdict(list)
        rule_started = time.perf_counter()
        for query, label in queries:
            scores = similarities(index, [query], **options)
            top = np.argsort(-scores, kind="stable")[:10]
            per_class[label].append(
                (average_precision(truth[label], scores), truth[label][top].mean())
            )
        results[name] = per_class
        print(f"{name}: {options}, {time.perf_counter() - rule_started:.2f} s for the queries")
    print_table(results, args)
    print_resources(started)


def print_table(results: dict, args) -> None:
    """Per class and overall, each rule's MAP / P@10 (mean over the class's queries)."""
    print(f"hop {args.hop} s, set {args.set}: MAP / P@10 per class (mean over its queries)")
    print(f"{'class':<12}" + "".join(f" | {name:>33}" for name in results))
    labels = sorted(next(iter(results.values())))
    for label in [*labels, "overall"]:
        cells = []
        for per_class in results.values():
            values = np.array(
                [v for items in per_class.values() for v in items]
                if label == "overall"
                else per_class[label]
            )
            cells.append(f" | {np.nanmean(values[:, 0]):>25.3f} / {values[:, 1].mean():.3f}")
        print(f"{label:<12}" + "".join(cells))


if __name__ == "__main__":
    main()
