"""Evaluation: sed_eval's segment-based and event-based metrics, file by file.

sed_eval (Mesaros, Heittola, Virtanen 2016, "Metrics for polyphonic sound event detection")
evaluates one recording at a time and accumulates; so does :class:`Evaluation`: ``add`` each
file's reference and estimated events with its true length (the evaluated length), then take
``results()`` (a JSON-ready dict) and ``report()`` (sed_eval's own text report) from the same
object. Defaults are the DCASE ones: 1 s segments; a 200 ms onset collar and an offset collar of
the larger of 200 ms and 20 % of the reference event's length. ``evaluate_offset=False`` is
sed_eval's onset-only condition (an estimate matches when its label and onset do; Mesaros et al.
2016 define it next to the onset-and-offset one).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from sed.errors import ParameterError

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_TIME_RESOLUTION = 1.0
DEFAULT_T_COLLAR = 0.2
DEFAULT_PERCENTAGE_OF_LENGTH = 0.2
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
        Every event label to score (those of both sides).
    time_resolution_seconds : float > 0
        Segment length of the segment-based metrics, in seconds (DCASE: 1.0).
    t_collar_seconds : float >= 0
        Onset (and minimum offset) collar of the event-based metrics, in seconds (DCASE: 0.2).
    percentage_of_length : float in [0, 1]
        Offset collar as a fraction of the reference event's length (DCASE: 0.2).
    evaluate_offset : bool
        False for sed_eval's onset-only event-based condition (offsets not checked).

    Raises
    ------
    ParameterError
        If a value is out of range.
    """

    def __init__(
        self,
        labels: Iterable[str],
        *,
        time_resolution_seconds: float = DEFAULT_TIME_RESOLUTION,
        t_collar_seconds: float = DEFAULT_T_COLLAR,
        percentage_of_length: float = DEFAULT_PERCENTAGE_OF_LENGTH,
        evaluate_offset: bool = True,
    ):
        if not (math.isfinite(time_resolution_seconds) and time_resolution_seconds > 0):
            raise ParameterError(
                f"time resolution must be > 0 seconds, got {time_resolution_seconds}"
            )
        if not (math.isfinite(t_collar_seconds) and t_collar_seconds >= 0):
            raise ParameterError(f"t_collar must be >= 0 seconds, got {t_collar_seconds}")
        if not (0 <= percentage_of_length <= 1):
            raise ParameterError(
                f"percentage of length must be in [0, 1], got {percentage_of_length}"
            )
        sed_eval, _ = import_sed_eval()
        self.labels = sorted(set(labels))
        self.settings = {
            "time_resolution_seconds": float(time_resolution_seconds),
            "t_collar_seconds": float(t_collar_seconds),
            "percentage_of_length": float(percentage_of_length),
            "evaluate_offset": bool(evaluate_offset),
        }
        self.segment_based = sed_eval.sound_event.SegmentBasedMetrics(
            self.labels, time_resolution=time_resolution_seconds
        )
        self.event_based = sed_eval.sound_event.EventBasedMetrics(
            self.labels,
            t_collar=t_collar_seconds,
            percentage_of_length=percentage_of_length,
            evaluate_offset=bool(evaluate_offset),
        )
        self.files: list[dict] = []
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
    ) -> None:
        """Evaluate one recording.

        Parameters
        ----------
        filename : str
            Names the recording in the per-file list.
        reference, estimated : pd.DataFrame
            Event tables (``onset, offset, event_label``) of this recording only.
        evaluated_length_seconds : float > 0
            The recording's true length, in seconds.
        length_source : str
            Where the length came from (reported per file).

        Raises
        ------
        ParameterError
            If a label is not among ``labels`` or the length is not positive.
        """
        if not (math.isfinite(evaluated_length_seconds) and evaluated_length_seconds > 0):
            raise ParameterError(
                f"evaluated length must be > 0 seconds, got {evaluated_length_seconds}", filename
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
        self.segment_based.evaluate(ref, est, evaluated_length_seconds=evaluated_length_seconds)
        self.event_based.evaluate(ref, est)
        self.files.append(
            {
                "filename": filename,
                "evaluated_length_seconds": float(evaluated_length_seconds),
                "length_source": length_source,
                "reference_events": len(reference),
                "estimated_events": len(estimated),
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

    def results(self) -> dict:
        """Every figure as plain data (NaN, sed_eval's 'undefined', becomes None).

        Returns
        -------
        results : dict
            ``settings``, ``files`` (per recording: length and its source, event counts),
            ``labels_only_in_reference``, ``labels_only_in_estimated``, and ``segment_based``
            and ``event_based``: sed_eval's ``results()`` (``overall``, ``class_wise``,
            ``class_wise_average``).
        """
        return _json_ready(
            {
                "settings": self.settings,
                "files": self.files,
                "labels_only_in_reference": self.labels_only_in_reference,
                "labels_only_in_estimated": self.labels_only_in_estimated,
                "segment_based": self.segment_based.results(),
                "event_based": self.event_based.results(),
            }
        )

    def report(self) -> str:
        """sed_eval's text reports (segment-based, then event-based), with the one-sided labels."""
        lines = []
        for side, labels in (
            ("reference", self.labels_only_in_reference),
            ("estimated", self.labels_only_in_estimated),
        ):
            if labels:
                lines.append(f"Labels only in the {side} events: {', '.join(labels)}")
        if lines:
            lines.append("")
        return "\n".join(lines) + str(self.segment_based) + "\n" + str(self.event_based)

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
