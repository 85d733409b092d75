"""Office sound event detection with a trained head, against raw YAMNet (issue 4's third target).

    uv run python benchmarks/office_sed.py [--raw] [--seeds 0,1,2] [--thresholds 0.5,0.6]
        [--activation sigmoid|softmax] [--mixtures N] [--background DIR] [--hop 0.5]
        [--pp NAME=VALUE ...]   (further PostProcessing(...) arguments)

Trains a head on the ``train`` half of ``dcase2016_task2/train_split.csv`` (never on the
``soundscape`` half, whose clips are mixed into ``sed_dev/office``) with ``backgrounds/`` as the
background class, then detects on the 20 ``sed_dev/office`` soundscapes through the post-processing
API (``PostProcessing(...).events(window_scores)``, so that it scores whatever post-processing
the package has) and scores with sed_eval: segment-based F1
(1 s segments) and event-based F1 (onset collar 0.2 s, offset collar max(0.2 s, 20 % of the
event's length)), micro-averaged over the files. Raw YAMNet with ``labels/office_to_yamnet.csv``
in top mode at the same thresholds is scored on the same files (``--raw``). Each seed draws
other mixtures, validation split and initial weights: figures are the mean ± standard deviation
over seeds.

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


def postprocessing_options(pairs: list[str]) -> dict:
    """``["mode=top", "min_duration_seconds=0.2"]`` as keyword arguments of PostProcessing."""
    import json

    options = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            options[name.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[name.strip()] = value
    return options


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activation", choices=["sigmoid", "softmax"], default="sigmoid")
    parser.add_argument("--thresholds", default="0.5,0.6",
                        help="post-processing thresholds to score, comma-separated")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--mixtures", type=int, default=None,
                        help="synthetic mixtures per training clip [default: the library's]")
    parser.add_argument("--background", default=None,
                        help="background folder [default: shared/data/backgrounds]")
    parser.add_argument("--hop", type=float, default=0.5, help="window hop in seconds")
    parser.add_argument("--raw", action="store_true", help="also score raw YAMNet")
    parser.add_argument("--pp", action="append", default=[], metavar="NAME=VALUE",
                        help="further PostProcessing(...) keyword argument (repeatable), e.g. "
                             "--pp mode=top; values are read as JSON when they parse")
    args = parser.parse_args(argv)
    extra = postprocessing_options(args.pp)
    if not OFFICE.is_dir():
        print(f"skipped: {OFFICE} not found", file=sys.stderr)
        return 0
    started = time.perf_counter()
    thresholds = [float(t) for t in args.thresholds.split(",")]
    model = load_model(hop_seconds=args.hop)
    cache = EmbeddingCache()
    files = sorted((OFFICE / "audio").glob("*.flac"))
    figures = {t: [] for t in thresholds}
    for seed in map(int, args.seeds.split(",")):
        config = TrainingConfig(activation=args.activation, seed=seed, mixtures=args.mixtures)
        result = office_head(model, config, cache, args.background)
        scores = {path.stem: head_window_scores(result.head, model, cache, path) for path in files}
        durations = {name: ws.duration_seconds for name, ws in scores.items()}
        for threshold in thresholds:
            postprocessing = PostProcessing(threshold=threshold, **extra)
            predictions = {name: postprocessing.events(ws) for name, ws in scores.items()}
            figures[threshold].append(evaluate(predictions, durations,
                                               list(result.head.event_labels)))
            print(f"seed {seed}, threshold {threshold}: "
                  + ", ".join(f"{k} {v:.3f}" for k, v in figures[threshold][-1].items())
                  + f" (trained in {result.seconds:.1f} s, "
                  f"{result.head.metadata['training']['epochs']} epochs)", flush=True)
    for threshold, rows in figures.items():
        table = pd.DataFrame(rows)
        print(f"head ({args.activation}, hop {args.hop} s, {len(rows)} seeds), "
              f"post-processing {extra or 'default'}, "
              f"threshold {threshold}: " + ", ".join(
                  f"{k} {table[k].mean():.3f} ± {table[k].std(ddof=1) if len(table) > 1 else 0:.3f}"
                  for k in table.columns))
    if args.raw:
        selection = class_selection(model.class_map,
                                    label_map=DATA / "labels" / "office_to_yamnet.csv")
        for threshold in thresholds:
            postprocessing = PostProcessing(threshold=threshold, **extra)
            raw = {path.stem: postprocessing.events(score_file(path, model).select(selection))
                   for path in files}
            print(f"raw YAMNet + office_to_yamnet.csv, post-processing {extra or 'default'}, "
                  f"threshold {threshold}: "
                  + ", ".join(f"{k} {v:.3f}" for k, v in
                              evaluate(raw, durations, list(result.head.event_labels)).items()))
    print_resources(started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
