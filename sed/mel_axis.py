"""A mel-scaled frequency axis for matplotlib: YAMNet's log-mel spectrogram drawn with its bands
at their centre frequencies and ticks at round frequencies in Hz (``sed plot``, ``sed review``).

The scale is the front end's own (:func:`sed.features.hz_to_mel`, HTK), as a matplotlib
``FuncScale``; the bands' cells come from the front end's parameters
(:func:`sed.features.mel_band_edges_hz`). This module imports matplotlib: the command line
imports it only once a figure is drawn.
"""

from __future__ import annotations

import numpy as np
from matplotlib import rcParams
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import FuncFormatter, Locator, MaxNLocator, NullLocator

from sed.features import hz_to_mel, mel_band_edges_hz, mel_to_hz
from sed.params import YamnetParams, check_band


def draw_log_mel(
    axis,
    log_mel: np.ndarray,
    seconds_per_frame: float,
    params: YamnetParams = YamnetParams(),
    *,
    band_hz: tuple[float, float] | None = None,
    fontsize: float | None = None,
    colour_map: str = "magma",
):
    """Draw a log-mel spectrogram on a mel-scaled frequency axis with ticks in Hz.

    The y axis uses YAMNet's own (HTK) mel scale (:func:`sed.features.hz_to_mel`), so the 64
    bands are rows of equal height, as the model sees them; each band is drawn around its centre
    frequency (:func:`sed.features.mel_band_edges_hz`, from the front end's parameters), so a
    tone at 1 kHz lights the row at the 1 kHz tick. Ticks are round frequencies
    (:class:`MelTicks`), as many as the axis's height holds.

    Parameters
    ----------
    axis : matplotlib.axes.Axes
    log_mel : np.ndarray [shape=(n_frames, params.mel_bands)]
        Frames from time 0, ``seconds_per_frame`` apart.
    seconds_per_frame : float > 0
        The time each frame covers (10 ms, or more once pooled).
    params : YamnetParams
        The front end that computed ``log_mel``.
    band_hz : (float, float), optional
        The y limits, in Hz (:func:`sed.params.check_band`); by default the whole log-mel band.
    fontsize : float, optional
        Of the tick labels and the axis label, in points (matplotlib's default size if None).
    colour_map : str

    Returns
    -------
    mesh : matplotlib.collections.QuadMesh
        For a colour bar.

    Raises
    ------
    ParameterError
        For a band outside the log-mel band.
    """
    low, high = check_band(band_hz, params)
    axis.set_yscale("function", functions=(hz_to_mel, mel_to_hz))
    mesh = axis.pcolormesh(
        np.arange(len(log_mel) + 1) * seconds_per_frame,
        mel_band_edges_hz(params),
        log_mel.T,
        shading="flat",
        cmap=colour_map,
        rasterized=True,
    )
    axis.set_ylim(low, high)
    if fontsize is None:
        fontsize = FontProperties(size=rcParams["ytick.labelsize"]).get_size_in_points()
    axis.tick_params(axis="y", labelsize=fontsize)
    axis.yaxis.set_major_locator(MelTicks(fontsize))
    axis.yaxis.set_major_formatter(FuncFormatter(lambda hz, _: hz_text(hz)))
    axis.yaxis.set_minor_locator(NullLocator())
    axis.set_ylabel("frequency (Hz)", fontsize=fontsize)
    return mesh


class MelTicks(Locator):
    """A matplotlib tick locator for a mel-scaled frequency axis: :func:`frequency_ticks` of the
    axis's limits, spaced by the height of a tick label, found when the figure is drawn (so the
    axis's real height counts, whatever the figure's size and layout).

    Parameters
    ----------
    fontsize : float > 0
        The tick labels' size, in points.
    """

    def __init__(self, fontsize: float):
        self.fontsize = fontsize

    def __call__(self):
        if self.axis is None:  # not attached to an axis yet: no limits to tick
            return []
        low, high = self.axis.get_view_interval()
        return self.tick_values(low, high)

    def tick_values(self, vmin, vmax):
        """Ticks between ``vmin`` and ``vmax`` (Hz) for the axis's current height."""
        axes = getattr(self.axis, "axes", None)
        if axes is None:  # no axes to measure: frequency_ticks' own spacing
            return frequency_ticks(min(vmin, vmax), max(vmin, vmax))
        height_points = max(axes.bbox.height * 72 / axes.figure.dpi, 1.0)
        # A font size between tick centres: digits (0.7 em tall) keep a third of an em apart.
        min_gap = min(self.fontsize / height_points, 0.5)
        return frequency_ticks(min(vmin, vmax), max(vmin, vmax), min_gap=min_gap)


def frequency_ticks(low_hz: float, high_hz: float, *, min_gap: float = 0.06) -> list[float]:
    """Round frequencies to tick a mel-scaled axis from ``low_hz`` to ``high_hz`` with.

    The band's ends, then octaves of 1 kHz from 1 kHz outwards (500, 2000, 250, 4000 Hz...),
    each kept if it is at least ``min_gap`` of the axis (in mel) away from those kept before;
    a band too narrow for three such ticks gets round linear steps (matplotlib's
    ``MaxNLocator``) too. YAMNet's whole band gives 125, 250, 500, 1k, 2k, 4k and 7.5k.

    Parameters
    ----------
    low_hz, high_hz : float, 0 <= low_hz < high_hz
        The axis's limits, in Hz.
    min_gap : float in (0, 1)
        Least distance between ticks, as a fraction of the axis's height.

    Returns
    -------
    ticks : list of float
        In Hz, increasing, within the limits.
    """
    low_mel, high_mel = hz_to_mel(low_hz), hz_to_mel(high_hz)

    def position(hz: float) -> float:
        return float((hz_to_mel(hz) - low_mel) / (high_mel - low_mel))

    def pick(candidates, chosen: list[float]) -> list[float]:
        for hz in candidates:
            if -1e-9 <= position(hz) <= 1 + 1e-9 and all(
                abs(position(hz) - position(c)) >= min_gap for c in chosen
            ):
                chosen.append(float(hz))
        return chosen

    octaves = sorted(1000 * 2.0 ** np.arange(-6, 5), key=lambda hz: abs(np.log2(hz / 1000)))
    chosen = pick([low_hz, high_hz, *octaves], [])
    if len(chosen) < 3:
        linear = MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]).tick_values(low_hz, high_hz)
        chosen = pick(linear, chosen)
    return sorted(chosen)


def hz_text(hz: float) -> str:
    """A frequency as a tick label: ``125``, ``1k``, ``7.5k`` (kHz above 1000 Hz)."""
    return f"{hz:.4g}" if hz < 1000 else f"{hz / 1000:.4g}k"
