"""The figures of a review page, drawn with matplotlib's object API (no pyplot state, headless):
a recording's overview (YAMNet's log-mel spectrogram above its event roll, as ``sed plot`` draws
them), the score histogram of each label, and the detections over time.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from sed.params import YamnetParams
from sed.plotting import draw_event_roll, event_roll_labels
from sed.review.media import COLOUR_MAP, IMAGE_METHOD, IMAGE_QUALITY

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

#: Width of every review figure, in inches (at :data:`DPI`: 840 pixels).
WIDTH_INCHES = 10.5
DPI = 80
#: Labels drawn separately in the summary figures at most (the rest are "other labels").
TOP_LABELS = 8
#: Score histograms drawn at most (the labels with the most events).
MAX_HISTOGRAMS = 48
HISTOGRAM_BINS = 20
OTHER_LABELS = "other labels"
#: Recordings named on a per-recording axis at most, and characters of a name shown.
MAX_NAME_TICKS = 40
NAME_CHARACTERS = 28


def overview_figure(
    log_mel: np.ndarray,
    seconds_per_column: float,
    duration_seconds: float,
    *,
    estimated: pd.DataFrame | None = None,
    reference: pd.DataFrame | None = None,
    params: YamnetParams = YamnetParams(),
) -> Figure:
    """One recording at a glance: its log-mel spectrogram above its event roll.

    Parameters
    ----------
    log_mel : np.ndarray [shape=(n_columns, 64)]
        YAMNet's log-mel spectrogram, pooled in time (see :func:`sed.review.media.read_recording`).
    seconds_per_column : float > 0
        Time each column covers.
    duration_seconds : float > 0
        The recording's length (the time axis).
    estimated, reference : pd.DataFrame, optional
        Event tables; reference events in the upper half of each label's row.
    params : YamnetParams
        The front end that computed ``log_mel``.

    Returns
    -------
    figure : matplotlib.figure.Figure
        Axes sharing the time axis (seconds): the spectrogram (frequency in Hz on YAMNet's mel
        scale, :func:`sed.mel_axis.draw_log_mel`), then the event roll, left out when neither
        table has an event.
    """
    from matplotlib.figure import Figure

    from sed.mel_axis import draw_log_mel

    labels = event_roll_labels(estimated, reference)
    # A recording with no event (and no reference) gets no event roll: an empty chart says
    # nothing the page's "0 events" does not.
    heights = [1.3] + ([max(0.45, 0.22 * len(labels) + 0.15)] if labels else [])
    figure = Figure(figsize=(WIDTH_INCHES, sum(heights) + 0.6), dpi=DPI)
    axes = figure.subplots(len(heights), 1, sharex=True, height_ratios=heights, squeeze=False)
    spectrogram, time_axis = axes[0, 0], axes[-1, 0]
    # Margins in inches from what they hold (a constrained layout would take half the drawing
    # time, which counts with a thousand recordings): the longest label on the left, the legend
    # on the right, the time axis below.
    left = 0.3 + 0.062 * max([len(label) for label in labels] + [12])
    figure.subplots_adjust(
        left=min(left, 0.45 * WIDTH_INCHES) / WIDTH_INCHES,
        right=1 - 1.75 / WIDTH_INCHES,
        bottom=0.45 / (sum(heights) + 0.6),
        top=1 - 0.08 / (sum(heights) + 0.6),
        hspace=0.1 / (sum(heights) / len(heights)),  # a fraction of the mean axes height: 0.1 inch
    )
    if len(log_mel):
        draw_log_mel(
            spectrogram, log_mel, seconds_per_column, params, fontsize=7, colour_map=COLOUR_MAP
        )
    if labels:
        draw_event_roll(time_axis, labels, estimated, reference)
        time_axis.tick_params(labelsize=8)
    time_axis.set_xlim(0, duration_seconds)
    time_axis.set_xlabel("time (s)", fontsize=8)
    time_axis.tick_params(axis="x", labelsize=8)
    return figure


def plot_area(figure: Figure) -> tuple[float, float]:
    """Where the time axis of an :func:`overview_figure` lies across the saved image.

    Returns
    -------
    left, right : float
        Fractions of the image's width at time 0 and at the recording's end (valid once the
        figure has been drawn or saved).
    """
    box = figure.axes[-1].get_position()
    return float(box.x0), float(box.x1)


def save_webp(figure: Figure, path: str | os.PathLike) -> None:
    """Write a figure as a WebP image (text stays legible at :data:`IMAGE_QUALITY`)."""
    figure.savefig(
        os.fspath(path),
        format="webp",
        pil_kwargs={"quality": IMAGE_QUALITY, "method": IMAGE_METHOD},
    )


def score_histograms_figure(events: pd.DataFrame, labels: Sequence[str]) -> Figure | None:
    """A histogram of the scores of each label, small multiples on a shared score axis.

    Parameters
    ----------
    events : pd.DataFrame
        An event table.
    labels : sequence of str
        The labels in the order drawn (the first :data:`MAX_HISTOGRAMS`).

    Returns
    -------
    figure : matplotlib.figure.Figure or None
        None when no event has a score.
    """
    from matplotlib.figure import Figure

    scored = events[events["score"].notna()]
    labels = [label for label in labels if (scored["event_label"] == label).any()]
    labels = labels[:MAX_HISTOGRAMS]
    if not labels:
        return None
    columns = min(4, len(labels))
    rows = -(-len(labels) // columns)
    figure = Figure(figsize=(WIDTH_INCHES, 1.25 * rows + 0.4), dpi=DPI, layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, columns, sharex=True, squeeze=False)).ravel()
    edges = np.linspace(0, 1, HISTOGRAM_BINS + 1)
    for axis, label in zip(axes, labels):
        scores = scored.loc[scored["event_label"] == label, "score"].clip(0, 1)
        axis.hist(scores, bins=edges, color="#e76f51")
        axis.set_title(f"{label} ({len(scores)})", fontsize=8)
        axis.tick_params(labelsize=7)
        axis.set_xlim(0, 1)
    for axis in axes[len(labels) :]:
        axis.set_visible(False)
    # The lowest histogram of each column carries the score axis (below it may be a hidden one).
    for axis in axes[max(0, len(labels) - columns) : len(labels)]:
        axis.xaxis.set_tick_params(labelbottom=True)
        axis.set_xlabel("score", fontsize=8)
    for axis in axes[::columns]:
        axis.set_ylabel("events", fontsize=8)
    return figure


def detections_figure(
    events: pd.DataFrame, starts: Sequence[datetime | None], names: Sequence[str]
) -> tuple[Figure | None, str]:
    """Detections over time: per day and per hour of the day when recordings carry start times,
    otherwise per recording in name order; the most frequent labels stacked.

    Parameters
    ----------
    events : pd.DataFrame
        Event table with a ``recording`` column (index into ``starts`` and ``names``).
    starts : sequence of datetime or None
        Start of each recording.
    names : sequence of str
        Name of each recording.

    Returns
    -------
    figure : matplotlib.figure.Figure or None
        None when there are no events.
    description : str
        What the figure shows, in one sentence (the image's text alternative).
    """
    import pandas as pd
    from matplotlib.figure import Figure

    if events.empty:
        return None, ""
    stacked = _stack_labels(events["event_label"])
    order = [label for label in stacked.value_counts().index if label != OTHER_LABELS]
    order += [OTHER_LABELS] if (stacked == OTHER_LABELS).any() else []
    dated = [i for i, start in enumerate(starts) if start is not None]
    # Charts by day and hour only when an event has a date: otherwise they would be empty.
    if events["recording"].isin(dated).any():
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, DayLocator

        inside = events[events["recording"].isin(dated)]
        times = pd.to_datetime([starts[r] for r in inside["recording"]]) + pd.to_timedelta(
            inside["onset"].to_numpy(), unit="s"
        )
        labels = stacked.loc[inside.index]
        figure = Figure(figsize=(WIDTH_INCHES, 4.2), dpi=DPI, layout="constrained")
        per_day, per_hour = figure.subplots(2, 1)
        days = pd.Series(times.normalize(), index=inside.index)
        # Each day's bar from its midnight over 0.9 of the day (dates are in days on the axis).
        _stacked_bars(per_day, days, labels, order, "events per day", width=0.9, align="edge")
        n_days = (days.max() - days.min()).days + 1
        locator = DayLocator() if n_days <= 14 else AutoDateLocator()  # no hours on a day axis
        per_day.xaxis.set_major_locator(locator)
        per_day.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        per_day.set_xlabel("day (clock of the recorder)", fontsize=8)
        per_day.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1.0), frameon=False)
        hours = pd.Series(times.hour, index=inside.index)
        _stacked_bars(per_hour, hours, labels, order, "events by hour of the day", range(24))
        per_hour.set_xlim(-0.5, 23.5)
        per_hour.set_xticks(range(0, 24, 2))
        per_hour.set_xlabel("hour of the day (clock of the recorder)", fontsize=8)
        left_out = len(starts) - len(dated)
        note = f" ({left_out} recordings without a start time left out)" if left_out else ""
        return figure, f"Events per day and by hour of the day, by label{note}."
    figure = Figure(figsize=(WIDTH_INCHES, 3.2), dpi=DPI, layout="constrained")
    axis = figure.subplots()
    recordings = pd.Series(events["recording"].to_numpy(), index=events.index)
    _stacked_bars(axis, recordings, stacked, order, "events per recording", range(len(names)))
    _name_ticks(axis, names)
    axis.set_xlim(-0.5, len(names) - 0.5)
    axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1.0), frameon=False)
    axis.set_xlabel("recording (in name order; no start times in names or metadata)", fontsize=8)
    return figure, "Events per recording, in name order, by label."


def _name_ticks(axis, names: Sequence[str]) -> None:
    """Tick a per-recording axis with the recordings' names (at most
    :data:`MAX_NAME_TICKS` of them, evenly spread; long names keep their end, where recorders
    put the time)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter

    step = -(-len(names) // MAX_NAME_TICKS)
    axis.xaxis.set_major_locator(FixedLocator(range(0, len(names), step)))

    def name(position, _):
        index = int(round(position))
        text = names[index] if 0 <= index < len(names) else ""
        return text if len(text) <= NAME_CHARACTERS else "…" + text[1 - NAME_CHARACTERS :]

    axis.xaxis.set_major_formatter(FuncFormatter(name))
    axis.tick_params(axis="x", labelsize=7, labelrotation=30)
    for label in axis.get_xticklabels():
        label.set_horizontalalignment("right")


def _stack_labels(labels: pd.Series) -> pd.Series:
    """Labels with all but the :data:`TOP_LABELS` most frequent ones as :data:`OTHER_LABELS`."""
    top = labels.value_counts().index[:TOP_LABELS]
    return labels.where(labels.isin(top), OTHER_LABELS)


def _stacked_bars(
    axis, positions: pd.Series, labels: pd.Series, order, title: str, everywhere=None, **bar
):
    """Counts of events per position (day, hour or recording), one colour per label of
    ``order`` (the same colours in every panel)."""
    from matplotlib.ticker import MaxNLocator

    counts = positions.groupby([positions, labels]).size().unstack(fill_value=0)
    if everywhere is not None:
        counts = counts.reindex(list(everywhere), fill_value=0)
    bottom = np.zeros(len(counts))
    for label, colour in zip(order, _colours(order)):
        if label not in counts:
            continue
        values = counts[label].to_numpy()
        axis.bar(
            counts.index, values, bottom=bottom, color=colour, label=label, **{"width": 0.8, **bar}
        )
        bottom += values
    axis.set_ylabel("events", fontsize=8)
    axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_title(title, fontsize=9, loc="left")
    axis.tick_params(labelsize=8)


def _colours(labels: list[str]) -> list:
    """A distinct colour per label (:data:`TOP_LABELS` <= 9 of them), grey for the others."""
    from matplotlib import colormaps

    tab10 = colormaps["tab10"].colors  # type: ignore[attr-defined]  # a ListedColormap
    palette = [colour for k, colour in enumerate(tab10) if k != 7]  # tab10's 8th is a grey
    return ["#b0b0b0" if label == OTHER_LABELS else palette[i] for i, label in enumerate(labels)]
