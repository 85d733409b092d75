"""Grouped splits: validation split and cross-validation folds that never separate a group.

Clips cut from one recording (ESC-50's ``src_file``) inflate figures when they sit on both sides
of a split; every split here keeps a group on one side, and is stratified by label where it can be.
"""

from __future__ import annotations

import warnings

import numpy as np

from sed.errors import ParameterError
from sed.heads.datasets import TrainingData


def grouped_folds(data: TrainingData, k: int, *, seed: int = 0) -> list[np.ndarray]:
    """Split clips into ``k`` folds that keep groups together, stratified by label.

    scikit-learn's ``StratifiedGroupKFold`` (shuffled with ``seed``); ``GroupKFold`` when no
    label has ``k`` clips.

    Returns
    -------
    folds : list of np.ndarray
        ``k`` arrays of clip rows; each clip is in exactly one.

    Raises
    ------
    ParameterError
        If ``k < 2`` or there are fewer than ``k`` groups.
    """
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    if not (isinstance(k, (int, np.integer)) and k >= 2):
        raise ParameterError(f"the number of folds must be an integer >= 2, got {k!r}")
    groups = data.clips["group"].to_numpy()
    if len(set(groups)) < k:
        raise ParameterError(f"cannot make {k} folds of {len(set(groups))} groups", data.source)
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    if data.clips["label"].value_counts().max() < k:
        # Stratifying needs a label with k clips; with fewer, folds are only grouped.
        splitter = GroupKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # "The least populated class has only n members": fine, such a class is in fewer folds.
        warnings.simplefilter("ignore", UserWarning)
        return [
            test for _, test in splitter.split(np.zeros(len(groups)), data.clips["label"], groups)
        ]


def check_split_plan(data: TrainingData, fraction: float, folds: int | None = None) -> None:
    """Refuse, before any embedding is computed, splits the data has too few groups for.

    Parameters
    ----------
    data : TrainingData
    fraction : float in [0, 0.5]
        The validation fraction (one of ``round(1 / fraction)`` folds is held out).
    folds : int >= 2, optional
        Cross-validation folds.

    Raises
    ------
    ParameterError
        Naming the option, the groups needed and the groups there are.
    """
    groups = int(data.clips["group"].nunique())
    needed = {"--validation-fraction": max(2, round(1 / fraction)) if fraction > 0 else 0}
    if folds:
        needed["--cross-validate"] = folds
    for option, count in needed.items():
        if count > groups:
            raise ParameterError(
                f"{option} needs at least {count} groups of clips (recordings); the data has "
                f"{groups}",
                data.source,
            )


def validation_split(
    data: TrainingData, fraction: float, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Clip rows for training and for validation, groups kept apart.

    The validation part is one of ``round(1 / fraction)`` grouped, stratified folds.

    Returns
    -------
    train, validation : np.ndarray
        Clip rows; ``validation`` is empty when ``fraction`` is 0.
    """
    rows = np.arange(len(data.clips))
    if fraction == 0:
        return rows, rows[:0]
    folds = grouped_folds(data, max(2, round(1 / fraction)), seed=seed)
    return np.setdiff1d(rows, folds[0]), np.sort(folds[0])
