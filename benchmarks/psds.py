"""PSDS1 and PSDS2 of raw YAMNet and of the office window head on the ``sed_dev`` sets.

    uv run python benchmarks/psds.py [--sets animals office head] [--seeds 0] [--json FILE]

The scores of ``tuning_transfer.py`` (window scores computed once per set: raw YAMNet through
the label maps of ``shared/data/labels`` on ``sed_dev/animals`` and ``sed_dev/office``, and on
the office set a window head trained as ``office_sed.py`` trains it, one per seed) become score
tables (:func:`sed.events.score_table`, what ``sed detect --scores`` writes) and are evaluated
over every threshold by sed_scores_eval (:func:`sed.psds.evaluate_scores`, what ``sed evaluate
--scores`` runs), with the DCASE 2021-2024 parameters: PSDS1 (DTC 0.7, GTC 0.7, alpha_ST 1),
PSDS2 (DTC 0.1, GTC 0.1, CTTC 0.3, alpha_CT 0.5, alpha_ST 1), max eFPR 100 per hour. Every
recording of a set is evaluated (20 each); the lengths are the recordings' own.

Set ``SED_SHARED_DATA`` when ``../shared/data`` is not beside the project folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from _common import DATA, machine, print_resources
from tuning_transfer import SETS, scored_sets


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    parser.add_argument("--seeds", default="0", help="office heads to train (default 0)")
    parser.add_argument("--json", default=None, help="also write every figure to this file")
    args = parser.parse_args(argv)
    if not (DATA / "sed_dev").is_dir():
        print(f"shared data not found at {DATA} (set SED_SHARED_DATA)", file=sys.stderr)
        return 1
    from sed.audio import recording_stem
    from sed.events import score_table
    from sed.psds import evaluate_scores

    started = time.perf_counter()
    print(f"start: {machine()}")
    rows = []
    for what, scores, references in scored_sets(args):
        clock = time.perf_counter()
        stems = {recording_stem(item.filename): item for item in scores}
        result = evaluate_scores(
            {stem: score_table(item) for stem, item in stems.items()},
            {stem: references[item.filename] for stem, item in stems.items()},
            {stem: item.duration_seconds for stem, item in stems.items()},
        )
        rows.append({"scores": what, "seconds": time.perf_counter() - clock, **result.results()})
        print(
            f"  {what}: PSDS1 {result.psds['PSDS1']:.3f}, PSDS2 {result.psds['PSDS2']:.3f}, "
            f"best F1 macro {result.macro_f1:.3f} ({rows[-1]['seconds']:.0f} s)",
            file=sys.stderr,
        )
    print(f"\n{'scores':<13} {'recordings':>10} {'hours':>6} {'classes':>7} {'PSDS1':>6} "
          f"{'PSDS2':>6} {'best F1':>7}")  # fmt: skip
    for row in rows:
        print(
            f"{row['scores']:<13} {row['recordings']:>10} {row['duration_seconds'] / 3600:6.2f} "
            f"{len(row['labels']):>7} {row['psds']['PSDS1']:6.3f} {row['psds']['PSDS2']:6.3f} "
            f"{row['macro_f1']:7.3f}"
        )
    print(f"end: {machine()}")
    print_resources(started)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
