"""Training reports: the confusion matrix and per-class files, drawn without pyplot."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sed.heads.clips import ClipEvaluation
from sed.heads.reports import write_report


def test_write_report(tmp_path):
    evaluation = ClipEvaluation(
        ("a", "b", "c"), np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0])
    )
    paths = write_report(tmp_path, evaluation, prefix="cv_")
    assert [p.split("/")[-1] for p in paths] == [
        "cv_confusion_matrix.csv",
        "cv_confusion_matrix.png",
        "cv_per_class.csv",
    ]
    table = pd.read_csv(paths[0], index_col=0)
    assert table.index.name == "true" and table.loc["c", "a"] == 1
    with open(paths[1], "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
