"""Threshold-free evaluation of score tables: PSDS and the best intersection-based F1.

A detector's events depend on its thresholds; its *scores* do not. Evaluated over every threshold
at once, the scores say how good the detector is before any threshold is chosen, and which
threshold would have been best for each class. Every figure here is computed by sed_scores_eval
(Ebbers, Serizel and Haeb-Umbach, "Threshold-independent evaluation of sound event detection
scores", ICASSP 2022), which computes the Polyphonic Sound Detection Score (Bilen et al., "A
framework for the robust evaluation of sound event detection", ICASSP 2020) exactly, from every
threshold the scores hold, where psds_eval approximates it from a chosen set of thresholds.

Inputs are score tables (:func:`sed.events.score_table`: ``onset offset <class>...`` over
contiguous frames), the reference events and the recordings' lengths, all keyed by recording.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from sed.errors import AnnotationError, ParameterError

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class PSDSSettings:
    """The parameters of one PSDS (Bilen et al. 2020), as sed_scores_eval takes them.

    Attributes
    ----------
    name : str
    dtc_threshold : float in (0, 1]
        Detection tolerance criterion: the part of a detection that must overlap reference
        events of its class, or it is a false positive.
    gtc_threshold : float in (0, 1]
        Ground truth intersection criterion: the part of a reference event that detections must
        cover for it to count as detected.
    cttc_threshold : float in (0, 1] or None
        Cross-trigger tolerance criterion: the part of a false detection that must overlap a
        reference event of another class to count as a cross-trigger of it (None: not counted).
    alpha_ct : float >= 0
        Weight of the cross-trigger rate in the effective false positive rate.
    alpha_st : float >= 0
        Weight of the standard deviation of the per-class true positive rates, subtracted from
        their mean (penalises a detector that is good on some classes only).
    max_efpr : float > 0
        The effective false positive rate, per hour, up to which the PSD-ROC is integrated.
    """

    name: str
    dtc_threshold: float
    gtc_threshold: float
    cttc_threshold: float | None
    alpha_ct: float
    alpha_st: float
    max_efpr: float

    def describe(self) -> str:
        """The parameters in one line, as DCASE states them."""
        cttc = "-" if self.cttc_threshold is None else f"{self.cttc_threshold:g}"
        return (
            f"{self.name}: DTC {self.dtc_threshold:g}, GTC {self.gtc_threshold:g}, CTTC {cttc}, "
            f"alpha_CT {self.alpha_ct:g}, alpha_ST {self.alpha_st:g}, "
            f"max eFPR {self.max_efpr:g} per hour"
        )


#: The two PSDS of the DCASE challenge task 4, 2021 to 2024 (DESED). PSDS1 asks for accurate
#: boundaries and does not count cross-triggers; PSDS2 accepts loose boundaries and penalises
#: detections of the wrong class where another class sounds.
PSDS1 = PSDSSettings("PSDS1", 0.7, 0.7, None, 0.0, 1.0, 100.0)
PSDS2 = PSDSSettings("PSDS2", 0.1, 0.1, 0.3, 0.5, 1.0, 100.0)
DCASE_PSDS = (PSDS1, PSDS2)
#: DTC and GTC of the threshold-free intersection-based F1 (the DCASE task 4 baseline's
#: ``compute_per_intersection_macro_f1`` setting).
F1_DTC_THRESHOLD = 0.5
F1_GTC_THRESHOLD = 0.5


@dataclass
class BestF1:
    """The best intersection-based F1 of one class over every threshold.

    Attributes
    ----------
    f1, precision, recall : float in [0, 1]
    threshold : float
        The score threshold that reaches it (sed_scores_eval puts it midway between the score
        that must pass and the next lower one); ``inf`` when no threshold detects anything.
    """

    f1: float
    precision: float
    recall: float
    threshold: float


@dataclass
class ThresholdFreeEvaluation:
    """PSDS and best F1 of score tables against reference events.

    Attributes
    ----------
    labels : list of str
        The classes evaluated: score columns with reference events.
    recordings : int
    duration_seconds : float
        Total length of the recordings evaluated.
    psds : dict of str to float in [0, 1]
        ``{"PSDS1": ..., "PSDS2": ...}``.
    class_auc : dict of str to dict of str to float in [0, 1]
        Per PSDS, each class's area under its own PSD-ROC up to ``max_efpr``, divided by
        ``max_efpr`` (its PSDS alone, without the ``alpha_st`` penalty).
    best_f1 : dict of str to BestF1
        Per class.
    macro_f1 : float
        The mean of the classes' best F1 (each at its own threshold).
    settings : list of PSDSSettings
    notes : dict
        ``labels_left_out``: ``{"scores": [...], "reference": {label: events}}``, classes of
        one side only; ``merged_reference_events``: reference events merged with an
        overlapping one of their class (sed_scores_eval refuses overlapping events).
    """

    labels: list[str]
    recordings: int
    duration_seconds: float
    psds: dict[str, float]
    class_auc: dict[str, dict[str, float]]
    best_f1: dict[str, BestF1]
    macro_f1: float
    settings: list[PSDSSettings]
    notes: dict = field(default_factory=dict)

    def report(self) -> str:
        """The figures as text: settings, PSDS, then a table per class."""
        lines = [
            "Threshold-free evaluation (sed_scores_eval)",
            "========================================",
            f"  Evaluated files                   : {self.recordings}",
            f"  Evaluated length                  : {self.duration_seconds:.2f} sec",
            f"  Classes                           : {len(self.labels)}",
            "",
        ]
        for settings in self.settings:
            lines.append(f"  {settings.name:<34}: {self.psds[settings.name]:.4f}")
        lines += ["", "  Parameters (DCASE 2021-2024 task 4)"]
        lines += [f"    {settings.describe()}" for settings in self.settings]
        lines.append(
            f"    best F1: intersection-based, DTC {F1_DTC_THRESHOLD:g}, GTC {F1_GTC_THRESHOLD:g}, "
            "each class at its best threshold"
        )
        width = max([len("macro average"), *(len(label) for label in self.labels)])
        names = [settings.name for settings in self.settings]
        header = f"    {'Event label':<{width}} | " + " ".join(f"{n + ' AUC':>10}" for n in names)
        header += f" | {'best F1':>7} {'Pre':>6} {'Rec':>6} {'threshold':>9}"
        lines += ["", "  Class-wise (PSD-ROC AUC up to max eFPR, normalised)", header]
        lines.append("    " + "-" * (len(header) - 4))
        for label in self.labels:
            best = self.best_f1[label]
            aucs = " ".join(f"{self.class_auc[n][label]:10.4f}" for n in names)
            lines.append(
                f"    {label:<{width}} | {aucs} | {best.f1:7.4f} {best.precision:6.3f} "
                f"{best.recall:6.3f} {best.threshold:9.4f}"
            )
        lines.append(
            f"    {'macro average':<{width}} | {'':>{11 * len(names) - 1}} | {self.macro_f1:7.4f}"
        )
        lines += _notes_lines(self.notes)
        return "\n".join(lines)

    def results(self) -> dict:
        """Every figure, JSON-ready (``inf`` thresholds as None)."""
        return {
            "recordings": self.recordings,
            "duration_seconds": self.duration_seconds,
            "labels": list(self.labels),
            "psds": dict(self.psds),
            "settings": {
                s.name: {k: v for k, v in vars(s).items() if k != "name"} for s in self.settings
            },
            "class_auc": {name: dict(values) for name, values in self.class_auc.items()},
            "best_f1": {
                label: {
                    "f1": best.f1,
                    "precision": best.precision,
                    "recall": best.recall,
                    "threshold": best.threshold if best.threshold != float("inf") else None,
                }
                for label, best in self.best_f1.items()
            },
            "best_f1_settings": {
                "dtc_threshold": F1_DTC_THRESHOLD,
                "gtc_threshold": F1_GTC_THRESHOLD,
            },
            "macro_f1": self.macro_f1,
            "notes": self.notes,
        }


def _notes_lines(notes: dict) -> list[str]:
    lines = []
    left_out = notes.get("labels_left_out", {})
    if left_out.get("scores"):
        lines.append(
            "  Score columns without reference events (not evaluated): "
            + ", ".join(left_out["scores"])
        )
    if left_out.get("reference"):
        lines.append(
            "  Reference events of classes without scores (not evaluated): "
            + ", ".join(f"{label} ({n})" for label, n in left_out["reference"].items())
        )
    if notes.get("merged_reference_events"):
        lines.append(
            f"  Reference events merged with an overlapping event of their class: "
            f"{notes['merged_reference_events']}"
        )
    return [""] + lines if lines else []


def merged_events(events: pd.DataFrame) -> tuple[list[tuple[float, float, str]], int]:
    """A recording's reference events as sed_scores_eval takes them, overlaps of a class merged.

    Parameters
    ----------
    events : pd.DataFrame
        Event table (``onset``, ``offset`` in seconds, ``event_label``).

    Returns
    -------
    events : list of (onset, offset, event_label)
        Sorted; events of one class that overlap or touch are one event (sed_scores_eval refuses
        them, and PSDS counts such a union as one sound).
    merged : int
        How many events were merged into another.
    """
    result: list[tuple[float, float, str]] = []
    merged = 0
    for label, group in events.groupby("event_label", sort=True):
        spans = sorted(zip(group["onset"].astype(float), group["offset"].astype(float)))
        current: list[float] | None = None
        for onset, offset in spans:
            if current is not None and onset <= current[1]:
                current[1] = max(current[1], offset)
                merged += 1
                continue
            if current is not None:
                result.append((current[0], current[1], str(label)))
            current = [onset, offset]
        if current is not None:
            result.append((current[0], current[1], str(label)))
    return sorted(result), merged


def evaluate_scores(
    scores: Mapping[str, pd.DataFrame],
    references: Mapping[str, pd.DataFrame],
    durations: Mapping[str, float],
    *,
    settings: tuple[PSDSSettings, ...] = DCASE_PSDS,
    warn: Callable[[str], None] | None = None,
) -> ThresholdFreeEvaluation:
    """PSDS, per-class PSD-ROC AUC and the best F1 of score tables, by sed_scores_eval.

    Parameters
    ----------
    scores : mapping of str to pd.DataFrame
        Recording -> score table (:func:`sed.events.score_table`), the same classes in each.
    references : mapping of str to pd.DataFrame
        Recording -> reference event table; the same recordings as ``scores``.
    durations : mapping of str to float
        Recording -> length in seconds (the false positive rates are per hour of audio).
    settings : tuple of PSDSSettings
        Default: PSDS1 and PSDS2 of DCASE 2021 to 2024.
    warn : callable, optional
        Told, in one line each, of classes found on one side only.

    Returns
    -------
    evaluation : ThresholdFreeEvaluation

    Raises
    ------
    AnnotationError
        If score tables have different classes, or a recording lacks a reference or a length.
    ParameterError
        If no score column has reference events.
    """
    intersection_based = _intersection_based()
    warn = warn or (lambda message: None)
    recordings = sorted(scores)
    for name in recordings:
        if name not in references:
            raise AnnotationError(f"recording {name!r} has scores but no reference events")
        if name not in durations:
            raise AnnotationError(f"recording {name!r} has no known length")
    columns = _score_classes(scores)
    ground_truth: dict[str, list[tuple[float, float, str]]] = {}
    reference_counts: dict[str, int] = {}
    merged = 0
    for name in recordings:
        events, count = merged_events(references[name])
        ground_truth[name], merged = events, merged + count
        for _, _, label in events:
            reference_counts[label] = reference_counts.get(label, 0) + 1
    labels = [label for label in columns if label in reference_counts]
    if not labels:
        raise ParameterError(
            "no score column has reference events: the score tables' classes "
            f"({', '.join(columns[:5])}{' ...' * (len(columns) > 5)}) and the reference "
            f"labels ({', '.join(sorted(reference_counts)[:5]) or 'none'}) must meet"
        )
    without_scores = {
        label: n for label, n in sorted(reference_counts.items()) if label not in columns
    }
    notes = {
        "labels_left_out": {
            "scores": [label for label in columns if label not in reference_counts],
            "reference": without_scores,
        },
        "merged_reference_events": merged,
    }
    if without_scores:
        warn(
            "reference events of classes the score tables do not have are not evaluated: "
            + ", ".join(f"{k} ({v})" for k, v in without_scores.items())
        )
    kept = set(labels)
    ground_truth = {
        name: [event for event in events if event[2] in kept]
        for name, events in ground_truth.items()
    }
    tables = {name: _writable(scores[name][["onset", "offset", *labels]]) for name in recordings}
    lengths = {name: float(durations[name]) for name in recordings}
    psds, class_auc = {}, {}
    for item in settings:
        # One class has no cross-triggers; sed_scores_eval 0.0.4 fails on an empty set of
        # other classes, so the (then equal) figure is computed without them.
        computed = replace(item, cttc_threshold=None, alpha_ct=0.0) if len(labels) == 1 else item
        value, per_class, _, _ = intersection_based.psds(
            scores=tables,
            ground_truth=ground_truth,
            audio_durations=lengths,
            dtc_threshold=computed.dtc_threshold,
            gtc_threshold=computed.gtc_threshold,
            cttc_threshold=computed.cttc_threshold,
            alpha_ct=computed.alpha_ct,
            alpha_st=computed.alpha_st,
            max_efpr=computed.max_efpr,
        )
        psds[item.name] = float(value)
        class_auc[item.name] = {label: float(per_class[label]) for label in labels}
    f1, precision, recall, thresholds, _ = intersection_based.best_fscore(
        scores=tables,
        ground_truth=ground_truth,
        dtc_threshold=F1_DTC_THRESHOLD,
        gtc_threshold=F1_GTC_THRESHOLD,
    )
    best = {
        label: BestF1(
            float(f1[label]),
            float(precision[label]),
            float(recall[label]),
            float(thresholds[label]),
        )
        for label in labels
    }
    return ThresholdFreeEvaluation(
        labels=labels,
        recordings=len(recordings),
        duration_seconds=sum(lengths.values()),
        psds=psds,
        class_auc=class_auc,
        best_f1=best,
        macro_f1=float(f1["macro_average"]),
        settings=list(settings),
        notes=notes,
    )


def _intersection_based():
    """sed_scores_eval's intersection-based metrics, imported without the pkg_resources warning
    of dcase_util (sed_scores_eval imports sed_eval, which imports it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sed_scores_eval import intersection_based
    return intersection_based


def _writable(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` as a frame whose ``to_numpy()`` is always a writable copy.

    sed_scores_eval 0.0.4 (its latest release) passes ``table[classes].to_numpy()`` to Cython
    code that needs a writable buffer; under pandas 3 (copy-on-write) that is a read-only view
    whenever the columns share one block (a single class, or columns selected from one array),
    and it fails with "buffer source array is read-only". Fixed upstream after the release
    (fgnt/sed_scores_eval pull request 17, "Ensure that scores array is always writeable").
    """
    import pandas as pd

    class WritableFrame(pd.DataFrame):
        @property
        def _constructor(self):
            return WritableFrame

        def to_numpy(self, *args, **kwargs):
            kwargs["copy"] = True
            return super().to_numpy(*args, **kwargs)

    return WritableFrame(table)


def _score_classes(scores: Mapping[str, pd.DataFrame]) -> list[str]:
    """The classes of the score tables, which must all have the same."""
    columns: list[str] | None = None
    first = ""
    for name, table in sorted(scores.items()):
        found = [str(c) for c in table.columns[2:]]
        if columns is None:
            columns, first = found, name
        elif found != columns:
            raise AnnotationError(
                f"the score table of {name!r} has other classes than that of {first!r}: "
                f"{', '.join(sorted(set(found) ^ set(columns))[:5])}"
            )
    if columns is None:
        raise AnnotationError("no score tables to evaluate")
    return columns
