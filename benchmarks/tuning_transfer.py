"""Does tuning carry over to recordings it did not see? ``sed tune`` against the untuned default.

    uv run python benchmarks/tuning_transfer.py [--sets animals office head]
        [--metrics segment_f1 event_f1] [--seeds 0,1,2] [--rounds 2] [--json FILE]

The protocol of ``postprocessing_targets.py`` and ``office_sed.py``: window scores computed once
per set, tuned on one half of ``sed_dev/animals`` or ``sed_dev/office`` (even- or odd-numbered
soundscapes) and scored on the other half, both ways round, once for each metric. Three kinds of
scores: raw YAMNet with the label maps of ``shared/data/labels`` on both sets, and on the office
set a window head trained as ``office_sed.py`` trains it (``dcase2016_task2`` ``train`` clips and
``backgrounds/``; one head per seed).

Each case compares, on the test half:

* ``default``: ``PostProcessing()``, untuned (what ``sed detect`` runs);
* ``before``: the tuner as it was before cross-validation and shrinkage, which is
  ``tune(..., folds=0, shrinkage_events=0)``: stages 1 to 3, per-class thresholds as found;
* ``now``: ``tune(...)`` with its defaults: 5-fold cross-validation over the 10 tuning
  recordings chooses the procedure and the shrinkage of per-class thresholds.

The table gives the tuned metric on the tuning half (in-sample), the cross-validated estimate,
the figure on the test half, and the gain over the default there. The last lines count the cases
where each tuner beats the default and average the gains. Figures are exact sed_eval figures
(``sed.tuning.evaluate_config``); the time, peak memory, CPU model and load average are printed,
since the machine may be shared.

Set ``SED_SHARED_DATA`` when ``../shared/data`` is not beside the project folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from _common import DATA, DIRECTIONS, halves, machine, print_resources

METRICS = ("segment_f1", "event_f1")
SETS = ("animals", "office", "head")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    parser.add_argument("--metrics", nargs="+", choices=METRICS, default=list(METRICS))
    parser.add_argument("--seeds", default="0,1,2", help="office heads to train (default 0,1,2)")
    parser.add_argument("--rounds", type=int, default=2, help="tuning rounds (default 2)")
    parser.add_argument("--json", default=None, help="also write every figure to this file")
    args = parser.parse_args(argv)
    if not (DATA / "sed_dev").is_dir():
        print(f"shared data not found at {DATA} (set SED_SHARED_DATA)", file=sys.stderr)
        return 1
    started = time.perf_counter()
    print(f"start: {machine()}")
    rows = []
    for what, scores, references in scored_sets(args):
        for tune_half, test_half in DIRECTIONS:
            for metric in args.metrics:
                rows.append(
                    compare(what, halves(scores), tune_half, test_half, references, metric, args)
                )
                print_row(rows[-1], file=sys.stderr)
    print_table(rows)
    print(f"end: {machine()}")
    print_resources(started)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=1)
    return 0


def scored_sets(args):
    """(name, window scores, references) of each set asked for, scored once."""
    import sed
    from sed.heads.config import TrainingConfig
    from sed.heads.embeddings import EmbeddingCache
    from sed.segmenter import score_file

    model = sed.load_model(hop_seconds=0.5)
    if "animals" in args.sets:
        yield ("animals", *raw_scores(model, "animals"))
    if "office" in args.sets or "head" in args.sets:
        from office_sed import OFFICE, office_head

        paths, references = sed.development_set(OFFICE / "audio", OFFICE / "annotations")
        scored = [score_file(path, model, keep_embeddings=True) for path in paths]
        if "office" in args.sets:
            selection = sed.class_selection(
                model.class_map, label_map=DATA / "labels" / "office_to_yamnet.csv"
            )
            yield "office", [item.select(selection) for item in scored], references
        if "head" in args.sets:
            cache = EmbeddingCache()
            for seed in map(int, args.seeds.split(",")):
                head = office_head(model, TrainingConfig(seed=seed), cache).head
                yield f"office head {seed}", [head.window_scores(s) for s in scored], references


def raw_scores(model, name: str):
    """Raw YAMNet scores of ``sed_dev/<name>`` through its label map, and its references."""
    import sed

    folder = DATA / "sed_dev" / name
    selection = sed.class_selection(
        model.class_map, label_map=DATA / "labels" / f"{name}_to_yamnet.csv"
    )
    paths, references = sed.development_set(folder / "audio", folder / "annotations")
    return sed.score_files(paths, model=model, selection=selection), references


def compare(what, sets, tune_half, test_half, references, metric, args) -> dict:
    """Default, the former tuner and today's tuner, tuned on one half and tested on the other."""
    from sed.postprocessing import PostProcessing
    from sed.tuning import evaluate_config, tune

    def test(config):
        return evaluate_config(sets[test_half], references, config).summary()[metric]

    row = {"scores": what, "metric": metric, "tuned_on": tune_half, "tested_on": test_half}
    row["default"] = test(PostProcessing())
    for name, options in (("before", {"folds": 0, "shrinkage_events": 0}), ("now", {})):
        clock = time.perf_counter()
        result = tune(sets[tune_half], references, metric=metric, rounds=args.rounds, **options)
        row[name] = {
            "in_sample": result.after[metric],
            "cross_validated": (result.cross_validated or {}).get(metric),
            "test": test(result.config),
            "procedure": result.procedure,
            "seconds": time.perf_counter() - clock,
            "config": result.config.to_dict(),
        }
    return row


def print_row(row: dict, file=None) -> None:
    before, now = row["before"], row["now"]
    print(
        f"  {row['scores']}, {row['metric']}, {row['tuned_on']} -> {row['tested_on']}: default "
        f"{row['default']:.3f}, before {before['test']:.3f} ({before['seconds']:.0f} s), now "
        f"{now['test']:.3f} ({now['seconds']:.0f} s, {now['procedure']})",
        file=file,
    )


def print_table(rows: list[dict]) -> None:
    print(
        "\nTuned on one half, tested on the other (F1 on the test half unless said; gain = "
        "tuned - default on the test half)"
    )
    print(
        f"{'scores':<13} {'metric':<10} {'tune':<4} {'default':>7} | {'before: in':>10} "
        f"{'test':>6} {'gain':>7} | {'now: in':>7} {'cv':>6} {'test':>6} {'gain':>7}  procedure"
    )
    for row in rows:
        before, now = row["before"], row["now"]
        print(
            f"{row['scores']:<13} {row['metric']:<10} {row['tuned_on']:<4} "
            f"{row['default']:7.3f} | {before['in_sample']:10.3f} {before['test']:6.3f} "
            f"{before['test'] - row['default']:+7.3f} | {now['in_sample']:7.3f} "
            f"{_figure(now['cross_validated']):>6} {now['test']:6.3f} "
            f"{now['test'] - row['default']:+7.3f}  {now['procedure']}"
        )
    for name in ("before", "now"):
        gains = [row[name]["test"] - row["default"] for row in rows]
        wins = sum(gain > 0 for gain in gains)
        print(
            f"{name}: beats the default in {wins} of {len(rows)} cases; gain on the test half "
            f"mean {sum(gains) / len(gains):+.3f}, smallest {min(gains):+.3f}, largest "
            f"{max(gains):+.3f}; {sum(row[name]['seconds'] for row in rows):.0f} s of tuning"
        )


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    sys.exit(main())
