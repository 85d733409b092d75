"""Office sound event detection with a trained head, against raw YAMNet (docs/heads.md figures).

    uv run python benchmarks/office_sed.py [--seeds 0,1,2] [--hop 0.5] [--rounds 2]
        [--activation sigmoid|softmax] [--mixtures N] [--background DIR] [--no-raw]

Trains a head on the ``train`` half of ``dcase2016_task2/train_split.csv`` (never on the
``soundscape`` half, whose clips are mixed into ``sed_dev/office``) with ``backgrounds/`` as the
background class, then detects on the 20 ``sed_dev/office`` soundscapes and scores them with the
package's sed_eval evaluation: segment-based F1 (1 s segments) and event-based F1 (onset collar
0.2 s, offset collar max(0.2 s, 20 % of the event's length)), micro-averaged over the files. The
event-based F1 of the same events under sed_eval's onset-only condition is printed beside it, to
tell events found with a wrong offset from events not found.

Two settings of the post-processing, as in the post-processing benchmark's protocol:

* ``default``: ``PostProcessing()`` as ``sed detect --head`` runs it, on all 20 files;
* ``tuned``: ``sed tune``'s search (:func:`sed.tuning.tune`) on the even-numbered soundscapes,
  scored on the odd-numbered ones, and the other way round, once for each metric.

Raw YAMNet with ``labels/office_to_yamnet.csv`` goes through the same two settings (``--no-raw``
skips it). Each seed draws other mixtures, validation split and initial weights.

For the head tuned for event F1, the reference events it misses on the test halves (no estimated
event of their label overlaps them, even with 0.2 s of slack) are counted by event-to-background
ratio and by label, from ``sed_dev/office/meta.csv``.

Prints the figures, the time and the peak memory, and the load of the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import pandas as pd
from _common import DATA, missed_events, print_resources

import sed
from sed.heads.config import TrainingConfig
from sed.heads.datasets import csv_dataset
from sed.heads.embeddings import EmbeddingCache
from sed.heads.training import train_head
from sed.postprocessing import PostProcessing, detect_events
from sed.segmenter import score_file
from sed.tuning import evaluate_config, tune

OFFICE = DATA / "sed_dev" / "office"
METRICS = ("segment_f1", "event_f1")
TARGETS = {"segment_f1": 0.60, "event_f1": 0.35}


def office_head(model, config: TrainingConfig, cache: EmbeddingCache, background=None):
    data = csv_dataset(
        DATA / "dcase2016_task2" / "train_split.csv",
        label_column="event_label",
        where={"split": "train"},
        audio_dir=DATA / "dcase2016_task2" / "train",
        background=background or DATA / "backgrounds",
    )
    assert not set(data.clips["path"].map(os.path.basename)) & set(
        pd.read_csv(DATA / "dcase2016_task2" / "train_split.csv").query("split == 'soundscape'")[
            "filename"
        ]
    ), "soundscape clips must not be trained on"
    return train_head(data, model, config=config, cache=cache)


def figures(scores: list, references: dict, config: PostProcessing) -> dict:
    """The four headline figures of ``config``, and its event F1 with onsets only checked."""
    onset_only = evaluate_config(scores, references, config, evaluate_offset=False)
    return {
        **evaluate_config(scores, references, config).summary(),
        "event_f1_onset_only": onset_only.summary()["event_f1"],
    }


def settings_figures(
    what: str, scores: list, references: dict, rounds: int, misses: list | None = None
) -> list[dict]:
    """Default post-processing on every file, then tuned on one half and tested on the other;
    the references missed by the configurations tuned for event F1 are added to ``misses``."""
    rows = [
        {
            "scores": what,
            "setting": "default",
            "tested_on": "all",
            **figures(scores, references, PostProcessing()),
        }
    ]
    halves = {"even": scores[0::2], "odd": scores[1::2]}
    for tune_half, test_half in (("even", "odd"), ("odd", "even")):
        for metric in METRICS:
            result = tune(halves[tune_half], references, metric=metric, rounds=rounds)
            if misses is not None and metric == "event_f1":
                for item in halves[test_half]:
                    misses += [
                        dict(event, soundscape=os.path.basename(item.filename))
                        for event in missed_events(
                            detect_events(item, result.config), references[item.filename]
                        )
                    ]
            rows.append(
                {
                    "scores": what,
                    "setting": f"tuned for {metric}",
                    "tested_on": test_half,
                    **figures(halves[test_half], references, result.config),
                }
            )
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activation", choices=["sigmoid", "softmax"], default="sigmoid")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument(
        "--mixtures",
        type=int,
        default=None,
        help="synthetic mixtures per training clip [default: the library's]",
    )
    parser.add_argument(
        "--background", default=None, help="background folder [default: shared/data/backgrounds]"
    )
    parser.add_argument("--hop", type=float, default=0.5, help="window hop in seconds")
    parser.add_argument("--rounds", type=int, default=2, help="tuning rounds (default 2)")
    parser.add_argument("--no-raw", action="store_true", help="skip raw YAMNet")
    args = parser.parse_args(argv)
    if not OFFICE.is_dir():
        print(f"skipped: {OFFICE} not found", file=sys.stderr)
        return 0
    started = time.perf_counter()
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores, shared)")
    model = sed.load_model(hop_seconds=args.hop)
    cache = EmbeddingCache()
    paths, references = sed.development_set(OFFICE / "audio", OFFICE / "annotations")
    scored = [score_file(path, model, keep_embeddings=True) for path in paths]
    rows, misses = [], []
    for seed in map(int, args.seeds.split(",")):
        config = TrainingConfig(activation=args.activation, seed=seed, mixtures=args.mixtures)
        result = office_head(model, config, cache, args.background)
        print(
            f"seed {seed}: trained in {result.seconds:.1f} s, "
            f"{result.head.metadata['training']['epochs']} epochs",
            file=sys.stderr,
        )
        head_scores = [result.head.window_scores(item) for item in scored]
        rows += [
            dict(row, seed=seed)
            for row in settings_figures("head", head_scores, references, args.rounds, misses)
        ]
    if not args.no_raw:
        selection = sed.class_selection(
            model.class_map, label_map=DATA / "labels" / "office_to_yamnet.csv"
        )
        raw = [item.select(selection) for item in scored]
        rows += settings_figures("raw YAMNet", raw, references, args.rounds)
    print_table(pd.DataFrame(rows), args)
    print_misses(pd.DataFrame(misses), len(args.seeds.split(",")))
    print_resources(started)
    return 0


def print_table(table: pd.DataFrame, args) -> None:
    """Mean and spread over seeds (and halves) of each scores x setting, against the targets."""
    print(
        f"\nsed_dev/office, hop {args.hop} s, head {args.activation}, seeds {args.seeds} "
        "(tuned: tuned on one half, tested on the other; mean ± sd over seeds and halves)"
    )
    print(
        f"{'scores':<11} {'setting':<22} {'n':>2} {'seg F1':>13} {'ev F1':>13} "
        f"{'seg ER':>6} {'ev ER':>6} {'ev F1 onset only':>16}"
    )
    for (what, setting), group in table.groupby(["scores", "setting"], sort=False):

        def cell(column, group=group):
            spread = group[column].std(ddof=1) if len(group) > 1 else 0.0
            return f"{group[column].mean():.3f} ± {spread:.3f}"

        print(
            f"{what:<11} {setting:<22} {len(group):>2} {cell('segment_f1'):>13} "
            f"{cell('event_f1'):>13} {group['segment_error_rate'].mean():6.3f} "
            f"{group['event_error_rate'].mean():6.3f} {cell('event_f1_onset_only'):>16}"
        )
    head = table[table["scores"] == "head"]
    for metric, target in TARGETS.items():
        tuned = head[head["setting"] == f"tuned for {metric}"][metric].mean()
        print(
            f"target {metric} >= {target} (head, tuned, held-out halves): {tuned:.3f} "
            f"{'met' if tuned >= target else 'NOT met'}"
        )


def print_misses(misses: pd.DataFrame, n_seeds: int) -> None:
    """Missed reference events (head tuned for event F1, test halves) by EBR and by label."""
    meta = pd.read_csv(OFFICE / "meta.csv")
    meta["soundscape"] = meta["soundscape"] + ".flac"
    every = pd.concat([meta] * n_seeds)
    if len(misses):
        misses = misses.merge(meta, on=["soundscape", "event_label", "onset", "offset"], how="left")
    print(
        f"\nreference events missed by the head tuned for event F1 (test halves, {n_seeds} "
        "seed(s)):"
    )
    for column in ("ebr_db", "event_label"):
        total = every.groupby(column).size()
        missed = (misses.groupby(column).size() if len(misses) else pd.Series(dtype=int)).reindex(
            total.index, fill_value=0
        )
        print("  " + ", ".join(f"{key}: {missed[key]}/{total[key]}" for key in total.index))


if __name__ == "__main__":
    sys.exit(main())
