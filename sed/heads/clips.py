"""Clip-level evaluation of a head: a clip's scores from its windows, accuracy, confusion matrix.

A clip is classified by averaging its windows' scores (the reference transfer-learning tutorial's
rule; ``max`` and ``log-mean`` are the alternatives measured in the benchmarks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sed.heads.datasets import TrainingData
from sed.heads.head import Head
from sed.heads.windows import Windows


def aggregate(scores: np.ndarray, method: str = "mean") -> np.ndarray:
    """One clip's scores from its windows' scores.

    Parameters
    ----------
    scores : np.ndarray [shape=(n_windows, n_outputs)]
    method : {"mean", "max", "log-mean"}
        ``mean``: the tutorial's average of window scores; ``max``: the highest window score;
        ``log-mean``: average of log scores (a product of window likelihoods).

    Returns
    -------
    clip_scores : np.ndarray [shape=(n_outputs,)]
    """
    if method == "mean":
        return scores.mean(axis=0)
    if method == "max":
        return scores.max(axis=0)
    return np.exp(np.log(np.maximum(scores, 1e-7)).mean(axis=0))


def predict_clips(
    head: Head, windows: Windows, clips: np.ndarray, data: TrainingData, aggregation: str = "mean"
) -> np.ndarray:
    """Predicted label index (into ``data.labels``) of each clip in ``clips``.

    A softmax head predicts its highest clip score. A sigmoid head predicts its highest class,
    or the background when no class reaches 0.5 and the data has a background.
    """
    scores = head.predict(windows.embeddings)
    predicted = []
    for row in clips:
        mask = (windows.clip == row) & windows.used & ~windows.mixed
        clip_scores = aggregate(scores[mask], aggregation)
        best = int(np.argmax(clip_scores))
        if head.activation == "sigmoid" and data.has_background and clip_scores[best] < 0.5:
            best = len(data.classes)
        predicted.append(best)
    return np.asarray(predicted, dtype=int)


@dataclass
class ClipEvaluation:
    """Clip-level results of a head on held-out clips (accuracy and confusion; not sed_eval's
    event metrics, which :class:`sed.evaluation.Evaluation` computes).

    Attributes
    ----------
    labels : tuple of str
    truth, predicted : np.ndarray [shape=(n_clips,), dtype=int]
        Label indices into ``labels``.
    """

    labels: tuple[str, ...]
    truth: np.ndarray
    predicted: np.ndarray

    @property
    def accuracy(self) -> float:
        """Share of clips whose predicted label is their label, in [0, 1]."""
        return float(np.mean(self.truth == self.predicted)) if len(self.truth) else float("nan")

    def confusion(self) -> pd.DataFrame:
        """Confusion matrix: rows are true labels, columns predicted labels, cells clip counts."""
        matrix = np.zeros((len(self.labels), len(self.labels)), int)
        np.add.at(matrix, (self.truth, self.predicted), 1)
        return pd.DataFrame(
            matrix,
            index=pd.Index(self.labels, name="true"),
            columns=pd.Index(self.labels, name="predicted"),
        )

    def per_class(self) -> pd.DataFrame:
        """Per label: ``clips``, ``correct`` and ``accuracy`` (recall), over held-out clips."""
        matrix = self.confusion().to_numpy()
        clips = matrix.sum(axis=1)
        correct = np.diag(matrix)
        with np.errstate(invalid="ignore", divide="ignore"):
            accuracy = np.where(clips > 0, correct / np.maximum(clips, 1), np.nan)
        return pd.DataFrame(
            {"label": self.labels, "clips": clips, "correct": correct, "accuracy": accuracy}
        )

    def __add__(self, other: ClipEvaluation) -> ClipEvaluation:
        return ClipEvaluation(
            self.labels,
            np.concatenate([self.truth, other.truth]),
            np.concatenate([self.predicted, other.predicted]),
        )


def evaluate_clips(
    head: Head, windows: Windows, clips: np.ndarray, data: TrainingData, aggregation: str = "mean"
) -> ClipEvaluation:
    """Clip accuracy and confusion of ``head`` on the clips ``clips`` (rows of ``data.clips``)."""
    index = {label: i for i, label in enumerate(data.labels)}
    truth = data.clips["label"].iloc[clips].map(index).to_numpy(dtype=int)
    return ClipEvaluation(
        data.labels, truth, predict_clips(head, windows, clips, data, aggregation)
    )


def clip_summary(evaluation: ClipEvaluation | None) -> dict | None:
    """Clips, clip accuracy and per-class accuracy as plain data (None without an evaluation)."""
    if evaluation is None:
        return None
    per_class = evaluation.per_class()
    return {
        "clips": int(len(evaluation.truth)),
        "clip_accuracy": round(evaluation.accuracy, 4),
        "per_class_accuracy": {
            row.label: (None if np.isnan(row.accuracy) else round(float(row.accuracy), 4))
            for row in per_class.itertuples()
        },
    }
