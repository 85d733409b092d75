"""Evaluation: sed_eval's segment-based and event-based metrics, file by file.

sed_eval (Mesaros, Heittola, Virtanen 2016, "Metrics for polyphonic sound event detection")
evaluates one recording at a time and accumulates; so does :class:`Evaluation`: ``add`` each
recording's reference and estimated events with its true length (the evaluated length), then
take ``results()`` (a JSON-ready dict) and ``report()`` (sed_eval's text report) from the same
object. Every sed_eval option is here: segment length; onset collar, offset collar as a fraction
of the reference event's length, onset-only and offset-only conditions; optimal or greedy event
matching; the handling of empty system output.

Defaults are the DCASE ones (DCASE 2017 onwards): 1 s segments; a 200 ms onset collar and an
offset collar of the larger of 200 ms and 20 % of the reference event's length. sed_eval's own
default ``percentage_of_length`` is 0.5: pass it to reproduce sed_eval's defaults.

Figures that are undefined (a rate per reference event with no reference events, a precision
without estimated events...) are ``None`` in :meth:`Evaluation.results` and ``n/a`` in the
report, where sed_eval divides by machine epsilon (an error rate of 9.0e15) or returns NaN.
Wherever a figure is defined it is sed_eval's own, to the last digit (the tests run sed_eval's
own test suite through ``sed evaluate``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from sed.errors import ParameterError, check_choice

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_TIME_RESOLUTION = 1.0
DEFAULT_T_COLLAR = 0.2
#: The DCASE convention since 2017 (sed_eval's own default is 0.5).
DEFAULT_PERCENTAGE_OF_LENGTH = 0.2
#: sed_eval's event matching: ``optimal`` (graph matching, sed_eval's default) or ``greedy``
#: (first match, kept by sed_eval for comparison with old results).
EVENT_MATCHINGS = ("optimal", "greedy")
DEFAULT_EVENT_MATCHING = "optimal"
#: What a precision (and F-score) without estimated events is: ``undefined`` (sed_eval's default:
#: NaN, reported as n/a) or ``zero_score`` (sed_eval's ``empty_system_output_handling``).
EMPTY_SYSTEM_OUTPUTS = ("undefined", "zero_score")
DEFAULT_EMPTY_SYSTEM_OUTPUT = "undefined"
#: Metrics :func:`metric_value` knows, as ``<kind>_<name>``.
METRICS = ("segment_f1", "event_f1", "segment_error_rate", "event_error_rate")


def import_sed_eval():
    """Import sed_eval and dcase_util without their pkg_resources and deprecation warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import dcase_util
        import sed_eval
    return sed_eval, dcase_util


def event_list(events: pd.DataFrame, filename: str):
    """An event table as a ``dcase_util.containers.MetaDataContainer`` for sed_eval.

    Parameters
    ----------
    events : pd.DataFrame
        Columns ``onset, offset, event_label`` (seconds); every row is taken as ``filename``.
    filename : str
    """
    _, dcase_util = import_sed_eval()
    return dcase_util.containers.MetaDataContainer(
        [
            {
                "filename": filename,
                "onset": float(row.onset),
                "offset": float(row.offset),
                "event_label": str(row.event_label),
            }
            for row in events[["onset", "offset", "event_label"]].itertuples(index=False)
        ]
    )


class Evaluation:
    """Segment-based and event-based sed_eval metrics accumulated over recordings.

    Parameters
    ----------
    labels : iterable of str
        Every event label to score.
    time_resolution_seconds : float > 0
        Segment length of the segment-based metrics, in seconds (DCASE: 1.0).
    t_collar_seconds : float > 0
        Onset (and minimum offset) collar of the event-based metrics, in seconds (DCASE: 0.2).
    percentage_of_length : float in [0, 1]
        Offset collar as a fraction of the reference event's length (DCASE: 0.2; sed_eval's
        default 0.5).
    evaluate_onset, evaluate_offset : bool
        Which boundaries an estimated event must match; ``evaluate_offset=False`` is sed_eval's
        onset-only condition, ``evaluate_onset=False`` its offset-only one (not both).
    event_matching : {"optimal", "greedy"}
        sed_eval's ``event_matching_type``.
    empty_system_output : {"undefined", "zero_score"}
        sed_eval's ``empty_system_output_handling``: without estimated events (overall or for a
        class), precision and F-score are undefined, or 0 with ``zero_score``.

    Attributes
    ----------
    files : list of dict
        Per recording: ``filename``, evaluated length and its source, event counts, and the
        files the events came from when the caller says.
    notes : dict
        What the caller left out before evaluating, reported as it is (see
        :func:`sed.annotations.evaluate_files`): ``unlabeled`` and ``labels_left_out``.

    Raises
    ------
    ParameterError
        If a value is out of range or unknown.
    """

    def __init__(
        self,
        labels: Iterable[str],
        *,
        time_resolution_seconds: float = DEFAULT_TIME_RESOLUTION,
        t_collar_seconds: float = DEFAULT_T_COLLAR,
        percentage_of_length: float = DEFAULT_PERCENTAGE_OF_LENGTH,
        evaluate_onset: bool = True,
        evaluate_offset: bool = True,
        event_matching: str = DEFAULT_EVENT_MATCHING,
        empty_system_output: str = DEFAULT_EMPTY_SYSTEM_OUTPUT,
    ):
        if not (math.isfinite(time_resolution_seconds) and time_resolution_seconds > 0):
            raise ParameterError(
                f"time resolution must be > 0 seconds, got {time_resolution_seconds}"
            )
        if not (math.isfinite(t_collar_seconds) and t_collar_seconds > 0):
            raise ParameterError(f"t_collar must be > 0 seconds, got {t_collar_seconds}")
        if not (0 <= percentage_of_length <= 1):
            raise ParameterError(
                f"percentage of length must be in [0, 1], got {percentage_of_length}"
            )
        if not (evaluate_onset or evaluate_offset):
            raise ParameterError("evaluate the onset, the offset or both, not neither")
        check_choice(event_matching, "event matching", EVENT_MATCHINGS)
        check_choice(empty_system_output, "empty system output", EMPTY_SYSTEM_OUTPUTS)
        sed_eval, _ = import_sed_eval()
        self.labels = sorted(set(labels))
        self.settings = {
            "time_resolution_seconds": float(time_resolution_seconds),
            "t_collar_seconds": float(t_collar_seconds),
            "percentage_of_length": float(percentage_of_length),
            "evaluate_onset": bool(evaluate_onset),
            "evaluate_offset": bool(evaluate_offset),
            "event_matching": event_matching,
            "empty_system_output": empty_system_output,
        }
        handling = "zero_score" if empty_system_output == "zero_score" else None
        self.segment_based = sed_eval.sound_event.SegmentBasedMetrics(
            self.labels, time_resolution=float(time_resolution_seconds)
        )
        self.segment_based.empty_system_output_handling = handling
        self.event_based = sed_eval.sound_event.EventBasedMetrics(
            self.labels,
            t_collar=float(t_collar_seconds),
            percentage_of_length=float(percentage_of_length),
            evaluate_onset=bool(evaluate_onset),
            evaluate_offset=bool(evaluate_offset),
            event_matching_type=event_matching,
            empty_system_output_handling=handling,
        )
        self.files: list[dict] = []
        self.notes: dict = {}
        self._reference_labels: set[str] = set()
        self._estimated_labels: set[str] = set()

    def add(
        self,
        filename: str,
        reference: pd.DataFrame,
        estimated: pd.DataFrame,
        evaluated_length_seconds: float,
        *,
        length_source: str = "",
        sources: dict[str, str] | None = None,
    ) -> None:
        """Evaluate one recording.

        Parameters
        ----------
        filename : str
            Names the recording in the per-file list.
        reference, estimated : pd.DataFrame
            Event tables (``onset, offset, event_label``) of this recording only.
        evaluated_length_seconds : float >= 0
            The recording's true length, in seconds (0 only counts the file: no segments).
        length_source : str
            Where the length came from (reported per file).
        sources : dict of str to str, optional
            The files the reference and estimated events came from, reported per file.

        Raises
        ------
        ParameterError
            If a label is not among ``labels`` or the length is negative.
        """
        if not (math.isfinite(evaluated_length_seconds) and evaluated_length_seconds >= 0):
            raise ParameterError(
                f"evaluated length must be >= 0 seconds, got {evaluated_length_seconds}", filename
            )
        for side, table in (("reference", reference), ("estimated", estimated)):
            unknown = set(table["event_label"]) - set(self.labels)
            if unknown:
                raise ParameterError(
                    f"{side} label {sorted(unknown)[0]!r} is not evaluated", filename
                )
        self._reference_labels |= set(reference["event_label"])
        self._estimated_labels |= set(estimated["event_label"])
        ref, est = event_list(reference, filename), event_list(estimated, filename)
        # sed_eval only accumulates: this recording's counts are what its evaluation added.
        before = {kind: dict(getattr(self, kind).overall) for kind in METRIC_KINDS}
        self.segment_based.evaluate(ref, est, evaluated_length_seconds=evaluated_length_seconds)
        self.event_based.evaluate(ref, est)
        self.files.append(
            {
                "filename": filename,
                "evaluated_length_seconds": float(evaluated_length_seconds),
                "length_source": length_source,
                "reference_events": len(reference),
                "estimated_events": len(estimated),
                **({f"{side}_file": path for side, path in sources.items()} if sources else {}),
                **{
                    kind: file_figures(kind, getattr(self, kind).overall, before[kind])
                    for kind in METRIC_KINDS
                },
            }
        )

    @property
    def labels_only_in_reference(self) -> list[str]:
        """Labels annotated but never estimated (all their events are deletions)."""
        return sorted(self._reference_labels - self._estimated_labels)

    @property
    def labels_only_in_estimated(self) -> list[str]:
        """Labels estimated but never annotated (all their events are insertions)."""
        return sorted(self._estimated_labels - self._reference_labels)

    def metric_results(self, kind: str) -> dict:
        """sed_eval's ``results()`` of one kind, with undefined figures as None.

        Parameters
        ----------
        kind : {"segment_based", "event_based"}

        Returns
        -------
        results : dict
            ``overall``, ``class_wise`` and ``class_wise_average`` as sed_eval has them. A figure
            is None where it is undefined (see :func:`undefined_figures`); class-wise averages
            are means over the classes where the figure is defined (sed_eval's ``nanmean``, which
            also averages in its epsilon-divided rates).
        """
        metrics = getattr(self, kind)
        with warnings.catch_warnings():  # numpy's "Mean of empty slice" on all-NaN averages
            warnings.simplefilter("ignore", RuntimeWarning)
            raw = metrics.results()
        zero_score = self.settings["empty_system_output"] == "zero_score"
        overall = _without_undefined(raw["overall"], metrics.overall, zero_score)
        class_wise = {
            label: {
                **_without_undefined(figures, metrics.class_wise[label], zero_score),
                "count": _json_ready(figures["count"]),
            }
            for label, figures in raw["class_wise"].items()
        }
        return {
            "overall": overall,
            "class_wise": class_wise,
            "class_wise_average": _class_wise_average(raw["class_wise_average"], class_wise),
        }

    def results(self) -> dict:
        """Every figure as plain data, undefined ones as None.

        Returns
        -------
        results : dict
            ``settings``, ``labels``, ``files`` (per recording: length and its source, event
            counts, source files), ``labels_only_in_reference``, ``labels_only_in_estimated``,
            the caller's ``notes``, and ``segment_based`` and ``event_based``
            (:meth:`metric_results`: ``overall``, ``class_wise``, ``class_wise_average``).
        """
        return _json_ready(
            {
                "settings": self.settings,
                "labels": self.labels,
                "files": self.files,
                "labels_only_in_reference": self.labels_only_in_reference,
                "labels_only_in_estimated": self.labels_only_in_estimated,
                **self.notes,
                "segment_based": self.metric_results("segment_based"),
                "event_based": self.metric_results("event_based"),
            }
        )

    def report(self) -> str:
        """sed_eval's text reports (segment-based, then event-based), undefined figures as
        ``n/a``, after a few lines on what was left out and the labels found on one side only.

        Where every figure is defined the two reports are sed_eval's own, character for
        character.
        """
        lines = _notes_lines(self.notes)
        for side, labels in (
            ("reference", self.labels_only_in_reference),
            ("estimated", self.labels_only_in_estimated),
        ):
            if labels:
                lines.append(f"Labels only in the {side} events: {', '.join(labels)}")
        if lines:
            lines.append("")
        return (
            "\n".join(lines)
            + _metric_report(self.segment_based, self.metric_results("segment_based"))
            + "\n"
            + _metric_report(self.event_based, self.metric_results("event_based"))
        )

    def brief(self) -> str:
        """One line: overall segment-based and event-based F1 and error rate, recordings and
        labels (``n/a`` where a figure is undefined, as in :meth:`report`)."""
        parts = []
        for kind, name in zip(METRIC_KINDS, ("segment", "event")):
            overall = self.metric_results(kind)["overall"]
            f1 = overall["f_measure"]["f_measure"]
            error_rate = overall["error_rate"]["error_rate"]
            parts.append(
                f"{name} F1 {'n/a' if f1 is None else f'{100 * f1:.1f} %'}, "
                f"ER {'n/a' if error_rate is None else f'{error_rate:.2f}'}"
            )
        n_files, n_labels = len(self.files), len(self.labels)
        return (
            "; ".join(parts)
            + f" ({n_files} recording{'s' * (n_files != 1)}, {n_labels} label"
            + f"{'s' * (n_labels != 1)})"
        )

    def summary(self) -> dict[str, float]:
        """The four headline figures: segment/event F1 and error rate (NaN F1 counts as 0)."""
        results = {
            "segment": self.segment_based.results_overall_metrics(),
            "event": self.event_based.results_overall_metrics(),
        }
        out = {}
        for kind, overall in results.items():
            f1 = overall["f_measure"]["f_measure"]
            out[f"{kind}_f1"] = 0.0 if f1 is None or np.isnan(f1) else float(f1)
            out[f"{kind}_error_rate"] = float(overall["error_rate"]["error_rate"])
        return out


#: The two sed_eval metrics every evaluation computes, as :class:`Evaluation` attributes.
METRIC_KINDS = ("segment_based", "event_based")


def file_figures(kind: str, after: dict, before: dict) -> dict:
    """One recording's counts and figures: what its evaluation added to sed_eval's totals.

    Parameters
    ----------
    kind : {"segment_based", "event_based"}
    after, before : dict
        sed_eval's ``overall`` counts after and before the recording was evaluated.

    Returns
    -------
    figures : dict
        ``Ntp``, ``Nfp``, ``Nfn``, ``Nref``, ``Nsys``, and ``f_measure``, ``precision``,
        ``recall`` in [0, 1] and ``error_rate`` >= 0 by sed_eval's definitions (segment-based:
        (S + D + I) / Nref; event-based: (substitutions + Nfn + Nfp) / Nref); None where a
        figure is 0/0.
    """
    counts = {key: float(after[key]) - float(before[key]) for key in after if key != "ER"}
    tp, fp, fn, n_ref = counts["Ntp"], counts["Nfp"], counts["Nfn"], counts["Nref"]
    if kind == "segment_based":
        errors = counts["S"] + counts["D"] + counts["I"]
    else:
        errors = counts["Nsubs"] + fn + fp
    figures = {
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "f_measure": 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else None,
        "error_rate": errors / n_ref if n_ref else None,
    }
    kept = ("Ntp", "Nfp", "Nfn", "Nref", "Nsys")
    return {**{key: int(round(counts[key])) for key in kept}, **figures}


def undefined_figures(counts: dict, *, zero_score: bool = False) -> set[str]:
    """The figures that are undefined for these counts (a 0/0 that sed_eval fills in).

    Parameters
    ----------
    counts : dict
        sed_eval's ``overall`` or ``class_wise[label]`` counts: ``Nref``, ``Nsys``, ``Ntp``,
        and for segments ``Ntn``, ``Nfp``, ``Nfn``.
    zero_score : bool
        sed_eval's ``zero_score`` handling: a precision without estimates is 0, not undefined.

    Returns
    -------
    names : set of str
        Among ``precision``, ``recall``, ``f_measure``, the error, substitution, deletion and
        insertion rates (all per reference event or segment), ``sensitivity`` (no positive
        reference), ``specificity`` (no negative), ``balanced_accuracy`` and ``accuracy``.
    """
    undefined = set()
    if counts.get("Nsys", 0) == 0 and not zero_score:
        undefined.add("precision")
    if counts.get("Nref", 0) == 0:
        undefined |= {
            "recall",
            "error_rate",
            "substitution_rate",
            "deletion_rate",
            "insertion_rate",
        }
    if undefined & {"precision", "recall"}:
        undefined.add("f_measure")
    if "Ntn" in counts:  # segment-based accuracy figures
        if counts["Ntp"] + counts["Nfn"] == 0:
            undefined.add("sensitivity")
        if counts["Ntn"] + counts["Nfp"] == 0:
            undefined.add("specificity")
        if undefined & {"sensitivity", "specificity"}:
            undefined.add("balanced_accuracy")
        if counts["Ntp"] + counts["Ntn"] + counts["Nfp"] + counts["Nfn"] == 0:
            undefined.add("accuracy")
    return undefined


def _without_undefined(figures: dict, counts: dict, zero_score: bool) -> dict:
    undefined = undefined_figures(counts, zero_score=zero_score)
    return {
        group: {
            name: (None if name in undefined else _json_ready(value))
            for name, value in values.items()
        }
        for group, values in figures.items()
        if group != "count"
    }


def _class_wise_average(raw: dict, class_wise: dict) -> dict:
    average: dict = {}
    for group, values in raw.items():
        average[group] = {}
        for name in values:
            defined = [
                figures[group][name]
                for figures in class_wise.values()
                if figures.get(group, {}).get(name) is not None
            ]
            average[group][name] = float(np.mean(defined)) if defined else None
    return average


def left_out_note(side: str, what: str, counts: dict[str, int]) -> str:
    """One line on events left out of one side, with their counts (by file or by label):
    ``skipped 3 reference events without a label (a.txt: 3)``; empty when there are none."""
    total = sum(counts.values())
    if not total:
        return ""
    details = ", ".join(f"{key}: {n}" for key, n in counts.items())
    return f"{total} {side} event{'s' * (total != 1)} {what} ({details})"


def _notes_lines(notes: dict) -> list[str]:
    lines = []
    for key, verb, what in (
        ("unlabeled", "Skipped", "without a label"),
        ("labels_left_out", "Left out", "of labels not evaluated"),
    ):
        for side, counts in notes.get(key, {}).items():
            note = left_out_note(side, what, counts)
            if note:
                lines.append(f"{verb} {note}")
    return lines


# sed_eval's report, rebuilt from results whose undefined figures are None. The layout (fields,
# widths, units) is sed_eval's; the same dcase_util stringifier draws it.
_OVERALL_ROWS = {
    "f_measure": (
        "F-measure",
        [("F-measure (F1)", "f_measure"), ("Precision", "precision"), ("Recall", "recall")],
    ),
    "error_rate": (
        "Error rate",
        [
            ("Error rate (ER)", "error_rate"),
            ("Substitution rate", "substitution_rate"),
            ("Deletion rate", "deletion_rate"),
            ("Insertion rate", "insertion_rate"),
        ],
    ),
    "accuracy": (
        "Accuracy",
        [
            ("Sensitivity", "sensitivity"),
            ("Specificity", "specificity"),
            ("Balanced accuracy", "balanced_accuracy"),
            ("Accuracy", "accuracy"),
        ],
    ),
}
_PERCENT = {"f_measure", "precision", "recall", "sensitivity", "specificity", "balanced_accuracy"}
_PERCENT.add("accuracy")


def _report_value(ui, field: str, value, percent: bool) -> str:
    if value is None:
        return ui.data(field=field, value="n/a", indent=4)
    if percent:
        return ui.data(field=field, value=float(value) * 100, unit="%", indent=4)
    return ui.data(field=field, value=float(value), indent=4)


def _figures_section(ui, title: str, figures: dict) -> str:
    output = ui.section_header(title, indent=2) + "\n"
    for group, (heading, rows) in _OVERALL_ROWS.items():
        if not figures.get(group):
            continue
        output += ui.line(heading, indent=2) + "\n"
        for field, name in rows:
            if name in figures[group]:
                output += _report_value(ui, field, figures[group][name], name in _PERCENT) + "\n"
    return output


def _class_wise_section(ui, labels: list[str], class_wise: dict) -> str:
    accuracy = all("accuracy" in class_wise[label]["accuracy"] for label in labels)
    headers = ["Event label", "Nref", "Nsys", "F", "Pre", "Rec", "ER", "Del", "Ins"]
    widths = [15, 8, 8, 9, 9, 9, 9, 9, 9]
    separators = [True, False, True, False, False, True, False, False, True]
    if accuracy:
        headers += ["Sens", "Spec", "Bacc", "Acc"]
        widths += [9, 9, 9, 9]
        separators += [False] * 4
    output = ui.section_header("Class-wise metrics", indent=2) + "\n"
    output += ui.row(*headers, widths=widths, indent=4, separators=separators) + "\n"
    output += ui.row(*["-"] * len(headers)) + "\n"
    for label in labels:
        figures = class_wise[label]
        cells = [
            ("str15", label),
            ("int", figures["count"]["Nref"]),
            ("int", figures["count"]["Nsys"]),
        ]
        cells += [
            ("percent", figures["f_measure"][n]) for n in ("f_measure", "precision", "recall")
        ]
        cells += [
            ("float2", figures["error_rate"][n])
            for n in ("error_rate", "deletion_rate", "insertion_rate")
        ]
        if accuracy:
            cells += [
                ("percent", figures["accuracy"][n])
                for n in ("sensitivity", "specificity", "balanced_accuracy", "accuracy")
            ]
        data = [
            "n/a" if value is None else value * 100 if kind == "percent" else value
            for kind, value in cells
        ]
        types = ["float1_percentage" if kind == "percent" else kind for kind, _ in cells]
        output += ui.row(*data, types=types) + "\n"
    return output


def _metric_report(metrics, results: dict) -> str:
    """One of sed_eval's two reports (its ``__str__``) from results with undefined figures."""
    _, dcase_util = import_sed_eval()
    ui = dcase_util.ui.FancyStringifier()
    if not hasattr(metrics, "evaluate_onset"):
        title = "Segment based metrics"
    elif metrics.evaluate_onset and metrics.evaluate_offset:
        title = "Event based metrics (onset-offset)"
    elif metrics.evaluate_onset:
        title = "Event based metrics (onset only)"
    else:
        title = "Event based metrics (offset only)"
    return (
        ui.section_header(title)
        + "\n"
        + metrics.result_report_parameters()
        + "\n"
        + _figures_section(ui, "Overall metrics (micro-average)", results["overall"])
        + "\n"
        + _figures_section(
            ui, "Class-wise average metrics (macro-average)", results["class_wise_average"]
        )
        + "  \n"
        + "\n"
        + _class_wise_section(ui, metrics.event_label_list, results["class_wise"])
        + "\n"
    )


def metric_value(evaluation: Evaluation, metric: str) -> float:
    """One of :data:`METRICS` from an evaluation (F1 in [0, 1]; error rate >= 0)."""
    if metric not in METRICS:
        raise ParameterError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    return evaluation.summary()[metric]


def _json_ready(value):
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
