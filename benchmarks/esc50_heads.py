"""ESC-50 fold 4: grouped 4-fold cross-validation of heads (clip tagging figures of docs/heads.md).

    uv run python benchmarks/esc50_heads.py animals      # the tutorial's ten animal classes
    uv run python benchmarks/esc50_heads.py all          # the 50 classes
    options: --seeds 0,1,2,3,4  --activation sigmoid|softmax  --keep-silence  --aggregation mean

Clips are the 400 fold-4 clips of ``shared/data/esc50`` (``meta/esc50.csv``, ``fold == 4``),
folds grouped by ``src_file`` and stratified by class (``sed.heads.training.cross_validate``,
the same code as ``sed train --cross-validate 4``). Each seed draws other folds, splits and initial
weights; the figure is the mean over seeds of the pooled clip accuracy (every clip predicted once
by a head that did not see its recording), with the spread over seeds and the mean spread over
folds. The reference line is a logistic regression on mean-pooled embeddings (all windows) with
the same folds.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from _common import DATA, print_resources

from sed.heads.config import TrainingConfig
from sed.heads.datasets import csv_dataset
from sed.heads.embeddings import EmbeddingCache, embed_files
from sed.heads.splits import grouped_folds
from sed.heads.training import cross_validate
from sed.pipeline import load_model

ANIMALS = ["cat", "cow", "crickets", "crow", "dog", "frog", "hen", "pig", "rooster", "sheep"]


def logistic_regression(data, model, cache, seed: int) -> float:
    """Clip accuracy of scikit-learn's logistic regression on mean-pooled embeddings."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.stack(
        [
            item.embeddings.mean(axis=0)
            for item in embed_files(data.clips["path"], model, cache=cache)
        ]
    )
    y = data.clips["label"].to_numpy()
    correct = 0
    for test in grouped_folds(data, 4, seed=seed):
        train = np.setdiff1d(np.arange(len(y)), test)
        classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        correct += (classifier.fit(x[train], y[train]).predict(x[test]) == y[test]).sum()
    return correct / len(y)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("classes", choices=["animals", "all"])
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--activation", choices=["sigmoid", "softmax"], default="sigmoid")
    parser.add_argument("--aggregation", choices=["mean", "max", "log-mean"], default="mean")
    parser.add_argument(
        "--keep-silence",
        action="store_true",
        help="train on and count every window, digital silence included",
    )
    args = parser.parse_args(argv)
    meta = DATA / "esc50" / "meta" / "esc50.csv"
    if not meta.is_file():
        print(f"skipped: {meta} not found", file=sys.stderr)
        return 0
    started = time.perf_counter()
    data = csv_dataset(
        meta,
        label_column="category",
        group_column="src_file",
        where={"fold": "4"},
        classes=ANIMALS if args.classes == "animals" else None,
    )
    model = load_model()
    cache = EmbeddingCache()
    filters = {"min_level_dbfs": None, "max_db_below_peak": None} if args.keep_silence else {}
    pooled, fold_spreads, baseline = [], [], []
    for seed in map(int, args.seeds.split(",")):
        config = TrainingConfig(
            activation=args.activation, aggregation=args.aggregation, seed=seed, **filters
        )
        result = cross_validate(data, model, 4, config=config, cache=cache)
        baseline.append(logistic_regression(data, model, cache, seed))
        pooled.append(result.pooled.accuracy)
        fold_spreads.append(result.std)
        print(
            f"seed {seed}: clip accuracy {result.pooled.accuracy:.3f} (folds "
            + ", ".join(f"{a:.3f}" for a in result.fold_accuracies)
            + f"; {result.seconds:.1f} s of training); logistic regression {baseline[-1]:.3f}",
            flush=True,
        )
    spread = np.std(pooled, ddof=1) if len(pooled) > 1 else 0.0
    print(
        f"{args.classes} ({len(data.classes)} classes, {len(data.clips)} clips, "
        f"{data.clips['group'].nunique()} source files), {args.activation}, "
        f"{args.aggregation} of window scores"
        + (", every window" if args.keep_silence else ", silent windows left out")
        + f": clip accuracy {np.mean(pooled):.3f} ± {spread:.3f} "
        f"over {len(pooled)} seeds (range {min(pooled):.3f}-{max(pooled):.3f}; spread over folds "
        f"{np.mean(fold_spreads):.3f}); logistic regression {np.mean(baseline):.3f}"
    )
    print_resources(started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
