"""Post-processing figures on ../shared/data (docs/postprocessing.md), in one command.

    uv run python benchmarks/postprocessing_targets.py [--rounds 2] [--json FILE] [--hop 0.5]

Raw YAMNet (0.5 s hop unless --hop) with the label maps of ``shared/data/labels``; window scores are
computed
once per set and reused by every tuning run.

1. ``sed_dev/animals`` and ``sed_dev/office``: tune on the even-numbered soundscapes and test on
   the odd-numbered ones, then the other way round; once for segment-based F1 (1 s) and once for
   event-based F1 (collar 0.2 s, 20 % of length). The table gives, for each tuned
   configuration, the figure it was tuned for on the tuning half and both figures on the other
   half, against the targets, and the most frequent confusions of the configurations tuned for
   segment F1 on their test halves (1 s segments where a label is estimated but not annotated,
   by the labels annotated there).
2. Boundary conventions: each tuned configuration re-run on its test half with each of
   ``extents``, ``centres``, ``refined`` (everything else held): the measurement behind the
   default convention.
3. ``soundscapes/scaper_park`` (label map ``benchmarks/scaper_to_yamnet.csv``): tuned for
   event-based F1 on the 22.05 kHz renderings (full, reverberant and background-only, so the
   tuning sees true negatives), then run on the 44.1 kHz renderings: the full and reverberant
   ones must find siren, car horn and voice, the background-only one none of them. (It is one
   scene rendered at two rates: a check of the settings, not an independent test.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from _common import false_positive_sources

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
TARGETS = {
    "animals": {"segment_f1": 0.75, "event_f1": 0.35},
    "office": {"segment_f1": 0.45, "event_f1": 0.20},
}
METRICS = ("segment_f1", "event_f1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="tuning rounds (default 2)")
    parser.add_argument(
        "--class-threshold-gain",
        type=float,
        default=None,
        help="least metric gain for a per-class threshold (default: sed's)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    parser.add_argument(
        "--hop", type=float, default=0.5, help="window hop in seconds (default 0.5)"
    )
    parser.add_argument(
        "--sets",
        nargs="+",
        default=["animals", "office", "scaper"],
        choices=["animals", "office", "scaper"],
        help="what to run (default all)",
    )
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}; nothing to evaluate", file=sys.stderr)
        return 1
    sys.path.insert(0, str(ROOT))
    import sed
    from sed.postprocessing import BOUNDARIES, detect_events
    from sed.tuning import evaluate_config, tune

    gain = (
        {}
        if args.class_threshold_gain is None
        else {"class_threshold_gain": args.class_threshold_gain}
    )
    started = time.perf_counter()
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores, shared)")
    model = sed.load_model(hop_seconds=args.hop)
    results = {"sets": [], "boundaries": [], "scaper": [], "confusions": {}}
    for name in [n for n in ("animals", "office") if n in args.sets]:
        folder = DATA / "sed_dev" / name
        selection = sed.class_selection(
            model.class_map, label_map=DATA / "labels" / f"{name}_to_yamnet.csv"
        )
        paths, references = sed.development_set(folder / "audio", folder / "annotations")
        scores = sed.score_files(paths, model=model, selection=selection)
        halves = {"even": scores[0::2], "odd": scores[1::2]}
        for tune_half, test_half in (("even", "odd"), ("odd", "even")):
            for metric in METRICS:
                result = tune(
                    halves[tune_half], references, metric=metric, rounds=args.rounds, **gain
                )
                test = evaluate_config(halves[test_half], references, result.config).summary()
                results["sets"].append(
                    {
                        "set": name,
                        "tuned_for": metric,
                        "tuned_on": tune_half,
                        "tested_on": test_half,
                        "tuned_value": result.after[metric],
                        "before": result.before,
                        "test": test,
                        "config": result.config.to_dict(),
                    }
                )
                if metric == "segment_f1":
                    confusions = results["confusions"].setdefault(name, Counter())
                    for item in halves[test_half]:
                        false_positive_sources(
                            detect_events(item, result.config),
                            references[item.filename],
                            item.duration_seconds,
                            confusions,
                        )
                for convention in BOUNDARIES:
                    figures = evaluate_config(
                        halves[test_half], references, replace(result.config, boundaries=convention)
                    )
                    results["boundaries"].append(
                        {
                            "set": name,
                            "tuned_for": metric,
                            "tested_on": test_half,
                            "boundaries": convention,
                            **figures.summary(),
                        }
                    )
                print(
                    f"  {name}: tuned for {metric} on {tune_half} "
                    f"({time.perf_counter() - started:.0f} s)",
                    file=sys.stderr,
                )

    if "scaper" in args.sets:
        results.update(scaper(model, args.rounds))
    print_tables(results)
    print(
        f"\ntotal {time.perf_counter() - started:.0f} s; load average at end: "
        f"{os.getloadavg()[0]:.2f}"
    )
    if args.json:
        results["confusions"] = {
            name: [[label, truth, n] for (label, truth), n in c.items()]
            for name, c in results["confusions"].items()
        }
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


def scaper(model, rounds: int) -> dict:
    """Tune on the 22.05 kHz renderings of scaper_park, run on the 44.1 kHz ones."""
    import sed
    from sed.events import read_events
    from sed.postprocessing import detect_events
    from sed.tuning import tune

    folder = DATA / "soundscapes" / "scaper_park"
    selection = sed.class_selection(
        model.class_map, label_map=ROOT / "benchmarks" / "scaper_to_yamnet.csv"
    )
    paths = {
        rate: sorted(str(p) for p in folder.glob(f"*_{rate}.wav")) for rate in ("22050", "44100")
    }
    references = {
        p: read_events(p.replace(".wav", ".txt")).events for group in paths.values() for p in group
    }
    tuning = sed.score_files(paths["22050"], model=model, selection=selection)
    result = tune(tuning, references, metric="event_f1", rounds=rounds)
    rows = []
    for item in sed.score_files(paths["44100"], model=model, selection=selection):
        events = detect_events(item, result.config)
        name = os.path.basename(item.filename)
        rows.append(
            {
                "file": name,
                "kind": "background" if name.startswith("bgonly") else "full",
                "labels": sorted(set(events["event_label"])),
                "events": len(events),
            }
        )
    return {"scaper": rows, "scaper_config": result.config.to_dict()}


def print_tables(results: dict) -> None:
    print("\nTargets (tune on one half, test on the other):")
    print(
        f"{'set':<8} {'tuned for':<11} {'tune':<5} {'test':<5} {'tuned':>6} "
        f"{'test seg F1':>11} {'test ev F1':>10}  target met"
    )
    for row in results["sets"]:
        target = TARGETS[row["set"]][row["tuned_for"]]
        value = row["test"][row["tuned_for"]]
        print(
            f"{row['set']:<8} {row['tuned_for']:<11} {row['tuned_on']:<5} {row['tested_on']:<5} "
            f"{row['tuned_value']:6.3f} {row['test']['segment_f1']:11.3f} "
            f"{row['test']['event_f1']:10.3f}  {row['tuned_for']} >= {target}: "
            f"{'yes' if value >= target else 'NO'}"
        )
    for name, confusions in results["confusions"].items():
        total = Counter()
        for (label, _), n in confusions.items():
            total[label] += n
        print(
            f"\n{name}: false-positive 1 s segments of the segment-F1 configurations on their "
            "test halves, by the labels annotated there (most frequent first):"
        )
        for (label, truth), n in confusions.most_common(8):
            print(f"  {label:<12} on {truth:<20} {n:4d} of its {total[label]:4d}")
    print("\nBoundary conventions (each tuned configuration on its test half):")
    print(
        f"{'set':<8} {'tuned for':<11} {'test':<5} {'boundaries':<10} {'seg F1':>7} "
        f"{'ev F1':>7} {'ev ER':>7}"
    )
    for row in results["boundaries"]:
        print(
            f"{row['set']:<8} {row['tuned_for']:<11} {row['tested_on']:<5} "
            f"{row['boundaries']:<10} {row['segment_f1']:7.3f} {row['event_f1']:7.3f} "
            f"{row['event_error_rate']:7.3f}"
        )
    if not results["scaper"]:
        return
    print("\nscaper_park (tuned for event F1 on the 22.05 kHz renderings, run on the 44.1 kHz):")
    for row in results["scaper"]:
        want = "siren, car_horn, human_voice all found" if row["kind"] == "full" else "none of them"
        found = set(row["labels"])
        ok = (
            found >= {"siren", "car_horn", "human_voice"}
            if row["kind"] == "full"
            else not found & {"siren", "car_horn", "human_voice"}
        )
        print(
            f"  {row['file']:<36} {row['kind']:<10} labels found: "
            f"{', '.join(row['labels']) or '-':<30} want {want}: {'yes' if ok else 'NO'}"
        )


if __name__ == "__main__":
    sys.exit(main())
