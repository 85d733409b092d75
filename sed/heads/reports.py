"""Reports of a training run: energy, confusion matrices and per-class tables, the text summary.

:func:`train_and_report` is what ``sed train`` runs: train, optionally cross-validate, then write
the head and its reports into one directory; :func:`train_frame_and_report` is what
``sed train --frame-level`` runs. Figures are drawn on matplotlib ``Figure`` objects
(no pyplot, no backend switch), so a notebook's backend is never touched.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sed.audio import DEFAULT_RESAMPLER
from sed.heads.clips import ClipEvaluation
from sed.heads.config import FrameTrainingConfig
from sed.heads.datasets import TrainingData
from sed.heads.embeddings import EmbeddingCache
from sed.heads.frame_features import FeatureCache
from sed.heads.frame_training import train_frame_head
from sed.heads.head import BACKGROUND_LABEL, METADATA_FILE
from sed.heads.strong import StrongData
from sed.heads.training import TrainingConfig, check_training_plan, cross_validate, train_head
from sed.infra import atomic_open, atomic_path
from sed.outputs import Output, check_outputs

if TYPE_CHECKING:
    from sed.model import Yamnet


def write_report(
    directory: str | os.PathLike, evaluation: ClipEvaluation, *, prefix: str = "", title: str = ""
) -> list[str]:
    """Write ``<prefix>confusion_matrix.csv``/``.png`` and ``<prefix>per_class.csv``.

    Returns
    -------
    paths : list of str
        The files written (atomically).
    """
    directory = os.fspath(directory)
    paths = [
        os.path.join(directory, f"{prefix}{name}")
        for name in ("confusion_matrix.csv", "confusion_matrix.png", "per_class.csv")
    ]
    with atomic_open(paths[0], "w", newline="", encoding="utf-8") as handle:
        evaluation.confusion().to_csv(handle)
    plot_confusion(evaluation, paths[1], title=title)
    with atomic_open(paths[2], "w", newline="", encoding="utf-8") as handle:
        evaluation.per_class().to_csv(handle, index=False, float_format="%.4f")
    return paths


def plot_confusion(evaluation: ClipEvaluation, path: str | os.PathLike, *, title: str = "") -> None:
    """Draw the confusion matrix (counts, rows = true label) as a PNG, atomically.

    Drawn on a matplotlib ``Figure`` (no pyplot state): the caller's backend is never changed.
    """
    from matplotlib.figure import Figure

    matrix = evaluation.confusion()
    n = len(matrix)
    size = max(4.0, 0.32 * n + 2.5)
    figure = Figure(figsize=(size, size * 0.9), dpi=100)
    axes = figure.subplots()
    image = axes.imshow(matrix.to_numpy(), cmap="Blues")
    axes.set_xticks(range(n), matrix.columns, rotation=90, fontsize=8 if n > 20 else 10)
    axes.set_yticks(range(n), matrix.index, fontsize=8 if n > 20 else 10)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    if n <= 20:
        peak = matrix.to_numpy().max() or 1
        for (i, j), value in np.ndenumerate(matrix.to_numpy()):
            if value:
                axes.text(
                    j,
                    i,
                    str(value),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if value > peak / 2 else "black",
                )
    axes.set_title(
        title or f"clip accuracy {evaluation.accuracy:.3f} ({len(evaluation.truth)} clips)",
        fontsize=10,
    )
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")


def train_and_report(
    data: TrainingData,
    model: Yamnet,
    directory: str | os.PathLike,
    *,
    config: TrainingConfig = TrainingConfig(),  # noqa: B008 (frozen)
    folds: int | None = None,
    cache: EmbeddingCache | None = None,
    resampler: str = DEFAULT_RESAMPLER,
    progress: bool = False,
    warn: Callable[[str], None] | None = None,
) -> dict:
    """Train a head, optionally cross-validate the recipe, and write everything to ``directory``.

    ``directory`` is checked before any work (:func:`sed.outputs.check_outputs`): a folder that
    can be written, new, empty or a head directory, and not one of the clips.

    Writes the head (:meth:`sed.heads.head.Head.save`), the validation report
    (``confusion_matrix.csv``,
    ``confusion_matrix.png``, ``per_class.csv``) and, with ``folds``, the cross-validation report
    (``cv_confusion_matrix.csv``/``.png``, ``cv_per_class.csv``); ``head.json`` then holds a
    ``cross_validation`` entry.

    Parameters
    ----------
    warn : callable, optional
        Receives one-line warnings (clips left out, labels the split leaves short).

    Returns
    -------
    report : dict
        ``directory``, ``data`` (summary), ``training`` and ``validation`` (as in ``head.json``),
        ``cross_validation`` (or None), ``files`` written.

    Raises
    ------
    OutputError
        If ``directory`` is refused (before any work).
    AudioError
        If a label keeps no readable clip.
    """
    directory = os.fspath(directory)
    check_outputs(
        [Output(directory, "directory", folder=True, marker=METADATA_FILE)],
        inputs={"clips": list(data.clips["path"])},
    )
    check_training_plan(data, config, folds)
    result = train_head(
        data,
        model,
        config=config,
        cache=cache,
        resampler=resampler,
        progress=progress,
        warn=warn,
    )
    files = []
    crossed = None
    if folds:
        crossed = cross_validate(
            data, model, folds, config=config, cache=cache, resampler=resampler
        )
        result.head.metadata["cross_validation"] = crossed.summary()
    result.head.save(directory)
    files += [os.path.join(directory, name) for name in ("model.keras", "labels.txt", "head.json")]
    if result.validation is not None:
        files += write_report(
            directory,
            result.validation,
            title=f"validation: clip accuracy {result.validation.accuracy:.3f} "
            f"({len(result.validation.truth)} clips)",
        )
    if crossed is not None:
        files += write_report(
            directory,
            crossed.pooled,
            prefix="cv_",
            title=f"{folds}-fold cross-validation: clip accuracy "
            f"{crossed.mean:.3f} ± {crossed.std:.3f}",
        )
    metadata = result.head.metadata
    return {
        "directory": directory,
        "data": metadata["training"]["data"],
        "training": metadata["training"],
        "validation": metadata["validation"],
        "cross_validation": metadata.get("cross_validation"),
        "files": files,
    }


def report_lines(report: dict) -> list[str]:
    """The human summary of :func:`train_and_report`'s report."""
    data, training = report["data"], report["training"]
    background = data["per_label"].get(BACKGROUND_LABEL)
    classes = [label for label in data["per_label"] if label != BACKGROUND_LABEL]
    skipped = training.get("skipped_clips", [])
    lines = [
        f"data: {data['clips']} clips in {data['groups']} groups, {len(classes)} classes"
        + (f" + background ({background['clips']} recordings)" if background else "")
        + (f"; {len(skipped)} unreadable clip{'s' * (len(skipped) > 1)} skipped" if skipped else "")
    ]
    lines.append(
        f"windows: {training['windows']} ({training['windows_dropped_as_silent']} of "
        "digital silence or quiet gaps left out)"
    )
    lines.append(_training_line(training))
    validation = report["validation"]
    if validation:
        lines.append(
            f"validation ({validation['clips']} clips): clip accuracy "
            f"{validation['clip_accuracy']:.3f}"
        )
        width = max(map(len, validation["per_class_accuracy"]))
        for label, accuracy in validation["per_class_accuracy"].items():
            lines.append(
                f"  {label:<{width}}  " + ("no clip" if accuracy is None else f"{accuracy:.3f}")
            )
    crossed = report["cross_validation"]
    if crossed:
        folds = ", ".join(f"{a:.3f}" for a in crossed["fold_clip_accuracies"])
        lines.append(
            f"{crossed['folds']}-fold cross-validation: clip accuracy "
            f"{crossed['mean_clip_accuracy']:.3f} ± {crossed['std_clip_accuracy']:.3f} "
            f"(folds: {folds}; {crossed['seconds']:.1f} s)"
        )
    lines.append(
        f"head written to {report['directory']}: "
        + ", ".join(os.path.basename(f) for f in report["files"])
    )
    return lines


def train_frame_and_report(
    data: StrongData,
    model: Yamnet,
    directory: str | os.PathLike,
    *,
    config: FrameTrainingConfig = FrameTrainingConfig(),  # noqa: B008 (frozen)
    cache: FeatureCache | None = None,
    resampler: str = DEFAULT_RESAMPLER,
    progress: bool = False,
    tune=None,
    evaluate=None,
    yamnet_selection=None,
    label_map: str = "",
) -> dict:
    """Train a frame-level head (:func:`sed.heads.frame_training.train_frame_head`) and write it
    to ``directory`` (``model.keras``, ``labels.txt``, ``head.json`` with ``"kind": "frame"``,
    and ``per_class.csv``: the validation frame F1 of each class). ``tune``, ``evaluate``,
    ``yamnet_selection`` and ``label_map`` are passed to
    :func:`sed.heads.frame_training.train_frame_head`. ``directory`` is checked before any work,
    as by :func:`train_and_report`.

    Returns
    -------
    report : dict
        ``directory``, ``data`` (summary), ``training`` and ``validation`` (as in
        ``head.json``), ``sequence`` and ``features`` (the head's layout), ``files`` written.

    Raises
    ------
    OutputError
        If ``directory`` is refused (before any work).
    """
    directory = os.fspath(directory)
    clips = list(data.clips.clips["path"]) if data.clips is not None else []
    check_outputs(
        [Output(directory, "directory", folder=True, marker=METADATA_FILE)],
        inputs={"clips": clips, "recordings": [r.path for r in data.recordings]},
    )
    result = train_frame_head(
        data,
        model,
        config=config,
        cache=cache,
        resampler=resampler,
        progress=progress,
        tune=tune,
        evaluate=evaluate,
        yamnet_selection=yamnet_selection,
        label_map=label_map,
    )
    result.head.save(directory)
    files = [os.path.join(directory, name) for name in ("model.keras", "labels.txt", "head.json")]
    if result.validation is not None:
        path = os.path.join(directory, "per_class.csv")
        with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
            handle.write("label,frame_f1\n")
            for label, f1 in result.validation["per_class_frame_f1"].items():
                handle.write(f"{label},{'' if f1 is None else f'{f1:.4f}'}\n")
        files.append(path)
    metadata = result.head.metadata
    return {
        "directory": directory,
        "data": metadata["training"]["data"],
        "training": metadata["training"],
        "validation": metadata["validation"],
        "sequence": metadata["sequence"],
        "features": metadata["features"],
        "files": files,
    }


def _training_line(training: dict) -> str:
    """``training: 12.3 s, 40 epochs (best 32), 0.123 Wh (codecarbon)``."""
    energy = training["energy"]
    energy_text = (
        f"{energy['kwh'] * 1000:.3f} Wh ({energy['method']})"
        if energy["kwh"] is not None
        else f"energy {energy['method']}"
    )
    return (
        f"training: {training['seconds']:.1f} s, {training['epochs']} epochs (best "
        f"{training['best_epoch']}), {energy_text}"
    )


def frame_report_lines(report: dict) -> list[str]:
    """The human summary of :func:`train_frame_and_report`'s report."""
    data, training, config = report["data"], report["training"], report["training"]["config"]
    lines = []
    clips = data.get("clips")
    if clips:
        background = clips["per_label"].get(BACKGROUND_LABEL)
        events = sum(v["clips"] for k, v in clips["per_label"].items() if k != BACKGROUND_LABEL)
        lines.append(
            f"clips: {events} event clips, {len(data['classes'])} classes"
            + (f", {background['clips']} background recordings" if background else "")
            + (
                f", {clips['non_target_clips']} non-target clips"
                if clips.get("non_target_clips")
                else ""
            )
            + f"; {config['soundscapes']} soundscapes of {config['sequence_seconds']:g} s"
            + (f", mixup {config['mixup']:g}" if config.get("mixup") else "")
        )
    recordings = data.get("recordings")
    if recordings:
        counts = recordings["events_per_label"]
        lines.append(
            f"recordings: {recordings['recordings']} annotated, {sum(counts.values())} events "
            f"of {len(data['classes'])} classes"
        )
    sequence, features = report["sequence"], report["features"]
    lines.append(
        f"sequences: {training['train_sequences']} for training, "
        f"{training['validation_sequences']} for validation ({sequence['frames']} frames of "
        f"{features['hop_seconds']:g} s; YAMNet layers {', '.join(map(str, features['layers']))}"
        + (" and the log-mel spectrogram" if features["log_mel"] else "")
        + ")"
    )
    lines.append(_training_line(training))
    validation = report["validation"]
    if validation:
        lines.append(
            f"validation ({training['validation_sequences']} sequences): frame F1 "
            f"{validation['frame_f1']:.3f} at threshold {validation['threshold']:g}"
        )
        per_class = validation["per_class_frame_f1"]
        width = max(map(len, per_class))
        for label, f1 in per_class.items():
            lines.append(f"  {label:<{width}}  " + ("no frame" if f1 is None else f"{f1:.3f}"))
        tuned = validation.get("tuned_postprocessing")
        if tuned:
            before = validation["default_postprocessing"]
            part = "unheard " if validation.get("tuned_on") == "unheard" else ""
            lines.append(
                f"post-processing tuned on the {part}validation sequences: event F1 "
                f"{before['event_f1']:.3f} -> {tuned['event_f1']:.3f}, segment F1 "
                f"{before['segment_f1']:.3f} -> {tuned['segment_f1']:.3f} (the head's default)"
            )
        lines += _condition_lines(validation)
    lines.append(
        f"frame head written to {report['directory']}: "
        + ", ".join(os.path.basename(f) for f in report["files"])
    )
    return lines


def _condition_lines(validation: dict) -> list[str]:
    """The validation figures heard and unheard side by side, raw YAMNet's beside them, and
    the notes (see :func:`sed.heads.frame_training.train_frame_head`)."""
    lines = [f"note: {note}" for note in validation.get("notes", [])]
    conditions = validation.get("conditions")
    if not conditions:
        return lines
    unheard_backgrounds = validation.get("unheard_backgrounds") or []
    described = {
        "heard": "heard in training",
        "unheard": "unheard in training"
        + (
            f" ({len(unheard_backgrounds)} background recording"
            f"{'s' * (len(unheard_backgrounds) > 1)} held out)"
            if unheard_backgrounds
            else ""
        ),
    }
    rows: list[tuple[str, dict | None]] = []
    for condition in ("heard", "unheard"):
        entry = conditions.get(condition)
        if entry is None:
            rows.append((f"{condition}: no validation sequences", None))
            continue
        rows.append(
            (f"{described[condition]}, {entry['sequences']} sequences", entry["own_postprocessing"])
        )
    yamnet = validation.get("yamnet")
    if yamnet:
        rows.append(
            (
                f"raw YAMNet with the label map, unheard ({yamnet['recordings']} recordings)",
                yamnet["tuned_postprocessing"],
            )
        )
    width = max(len(name) for name, _ in rows)
    lines.append(f"{'validation, tuned post-processing':<{width + 2}}  segment F1  event F1")
    for name, figures in rows:
        lines.append(
            f"  {name:<{width}}"
            + (f"  {figures['segment_f1']:10.3f}  {figures['event_f1']:8.3f}" if figures else "")
        )
    lines = [line.rstrip() for line in lines]
    if yamnet:
        tuned, head = yamnet["tuned_postprocessing"], yamnet["head"]
        compared = (
            f"segment F1 {head['segment_f1']:.3f} against {tuned['segment_f1']:.3f}, event F1 "
            f"{head['event_f1']:.3f} against {tuned['event_f1']:.3f}"
            f"; labels {', '.join(yamnet['labels'])}"
        )
        if yamnet["head_worse_than_yamnet"]:
            lines.append(
                "warning: on unheard validation data the head does WORSE than raw YAMNet with "
                f"the label map ({compared})"
            )
        else:
            lines.append(
                f"on unheard validation data the head does no worse than raw YAMNet ({compared})"
            )
    return lines
