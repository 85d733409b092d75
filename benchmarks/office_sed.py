"""Office sound event detection with a trained head, against raw YAMNet (issue 4's third target).

    uv run python benchmarks/office_sed.py [--activation sigmoid] [--threshold 0.5] [--seed 0]

Trains a head on the ``train`` half of ``dcase2016_task2/train_split.csv`` (never on the
``soundscape`` half, whose clips are mixed into ``sed_dev/office``) with ``backgrounds/`` as the
background class, then detects on the 20 ``sed_dev/office`` soundscapes through the post-processing
API (``PostProcessing(...).events(window_scores)``) and scores with sed_eval: segment-based F1
(1 s segments) and event-based F1 (onset collar 0.2 s, offset collar max(0.2 s, 20 % of the
event's length)), micro-averaged over the files. Raw YAMNet with ``labels/office_to_yamnet.csv``
in top mode at the same threshold is scored on the same files.

Embeddings come from the cache (``$SED_CACHE_DIR``), so a second run only trains and scores.
Prints the figures, the time and the peak memory; the load of the machine is printed too, as
timings are shared with whatever else runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from _common import DATA, print_resources

from sed.embeddings import EmbeddingCache
from sed.pipeline import class_selection, load_model
from sed.postprocessing import PostProcessing
from sed.segmenter import WindowScores, score_file
from sed.training import TrainingConfig, csv_dataset, train_head

OFFICE = DATA / "sed_dev" / "office"


def read_annotations(path: Path) -> pd.DataFrame:
    """A tab-separated ``onset, offset, event_label`` file without header (read by hand: see
    CONTEXT, sed_eval's .tsv reader garbles the first line)."""
    table = pd.read_csv(path, sep="\t", header=None, names=["onset", "offset", "event_label"])
    return table.astype({"onset": float, "offset": float, "event_label": str})


def evaluate(predictions: dict[str, pd.DataFrame], durations: dict[str, float],
             labels: list[str]) -> dict:
    """sed_eval segment-based (1 s) and event-based (collar 0.2 s, 20 %) metrics over all files."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import dcase_util
        import sed_eval

    segment = sed_eval.sound_event.SegmentBasedMetrics(labels, time_resolution=1.0)
    event = sed_eval.sound_event.EventBasedMetrics(labels, t_collar=0.2, percentage_of_length=0.2)

    def container(table, name):
        return dcase_util.containers.MetaDataContainer(
            [{"filename": name, "onset": r.onset, "offset": r.offset, "event_label": r.event_label}
             for r in table.itertuples()])

    for name, estimated in predictions.items():
        truth = container(read_annotations(OFFICE / "annotations" / f"{name}.tsv"), name)
        guess = container(estimated, name)
        segment.evaluate(truth, guess, evaluated_length_seconds=durations[name])
        event.evaluate(truth, guess)
    seg, ev = segment.results_overall_metrics(), event.results_overall_metrics()
    return {"segment_f1": seg["f_measure"]["f_measure"], "segment_er": seg["error_rate"]["error_rate"],
            "event_f1": ev["f_measure"]["f_measure"], "event_er": ev["error_rate"]["error_rate"]}


def office_head(model, config: TrainingConfig, cache: EmbeddingCache, background=None):
    data = csv_dataset(DATA / "dcase2016_task2" / "train_split.csv", label_column="event_label",
                       where={"split": "train"}, audio_dir=DATA / "dcase2016_task2" / "train",
                       background=background or DATA / "backgrounds")
    assert not set(data.clips["path"].map(os.path.basename)) & set(
        pd.read_csv(DATA / "dcase2016_task2" / "train_split.csv").query(
            "split == 'soundscape'")["filename"]), "soundscape clips must not be trained on"
    return train_head(data, model, config=config, cache=cache)


def head_window_scores(head, model, cache: EmbeddingCache, path: Path) -> WindowScores:
    """The head's window scores of a soundscape, from cached embeddings."""
    item = cache.embed(path, model)
    scores = np.zeros((len(item), 0), np.float32)
    raw = WindowScores(path.stem, item.starts, item.ends, scores, (), item.duration_seconds,
                       item.embeddings)
    return head.window_scores(raw)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activation", choices=["sigmoid", "softmax"], default="sigmoid")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mixtures", type=int, default=0,
                        help="synthetic mixtures per training clip over the backgrounds")
    parser.add_argument("--background", default=None,
                        help="background folder [default: shared/data/backgrounds]")
    parser.add_argument("--hop", type=float, default=0.5, help="window hop in seconds")
    parser.add_argument("--raw", action="store_true", help="also score raw YAMNet")
    args = parser.parse_args(argv)
    if not OFFICE.is_dir():
        print(f"skipped: {OFFICE} not found", file=sys.stderr)
        return 0
    started = time.perf_counter()
    model = load_model(hop_seconds=args.hop)
    cache = EmbeddingCache()
    config = TrainingConfig(activation=args.activation, seed=args.seed, mixtures=args.mixtures)
    result = office_head(model, config, cache, args.background)
    head = result.head
    files = sorted((OFFICE / "audio").glob("*.flac"))
    postprocessing = PostProcessing(threshold=args.threshold)
    predictions, durations = {}, {}
    for path in files:
        window_scores = head_window_scores(head, model, cache, path)
        predictions[path.stem] = postprocessing.events(window_scores)
        durations[path.stem] = window_scores.duration_seconds
    labels = list(head.event_labels)
    figures = evaluate(predictions, durations, labels)
    print(f"head ({args.activation}, hop {args.hop} s, seed {args.seed}, {args.mixtures} mixtures, "
          f"threshold {args.threshold}, "
          f"trained in {result.seconds:.1f} s, {result.head.metadata['training']['epochs']} epochs): "
          + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))
    if args.raw:
        selection = class_selection(model.class_map, label_map=DATA / "labels" / "office_to_yamnet.csv")
        raw = {}
        for path in files:
            raw[path.stem] = postprocessing.events(score_file(path, model).select(selection))
        figures = evaluate(raw, durations, labels)
        print(f"raw YAMNet + office_to_yamnet.csv (top, threshold {args.threshold}): "
              + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))
    print_resources(started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
