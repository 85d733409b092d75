"""Post-processing: window scores in, events out.

One :class:`PostProcessing` configuration holds every parameter; its stages run in this order on
the scores of the selected event labels, ``(n_windows, n_labels)``:

1. **median filter** over windows, per label (``median_filter_seconds``; 0 turns it off);
2. **decision**: ``multi`` mode decides every label on its own, so overlapping events of
   different labels are found; ``top`` mode (the first version's) lets only each window's highest
   scoring label be active;
3. **thresholds with hysteresis**: a run of windows becomes an event when one window reaches
   ``threshold_on`` and lasts while the scores stay at or above ``threshold_off`` (the double
   threshold of DCASE post-processing; ``threshold_off = threshold_on`` is a plain threshold);
   per-label thresholds override the global ones;
4. **boundaries**: where, inside its first and last active windows, an event starts and ends
   (:data:`BOUNDARIES`, measured on ``shared/data/sed_dev``: see docs/postprocessing.md); on
   frames that tile the recording (a frame-level head's 80 ms frames) an event spans its frames,
   whatever the convention;
5. **gaps and durations**: events of one label less than ``min_gap_seconds`` apart merge, then
   events shorter than ``min_duration_seconds`` are dropped; events are clipped to the recording;
6. **event scores**: ``score`` is the highest and ``mean_score`` the mean of the event's window
   scores (before filtering), over the windows from its first to its last.

The modules, by job:

- :mod:`~sed.postprocessing.parameters`: the parameters' choices, defaults and checks;
- :mod:`~sed.postprocessing.recording`: :class:`PostProcessing` (one value of every parameter)
  and :func:`detect_events`, the stages on a whole recording at once;
- :mod:`~sed.postprocessing.files`: configuration files (TOML, JSON), per-class threshold CSVs;
- :mod:`~sed.postprocessing.stages`: median filter, hysteresis, gaps and durations, on windows;
- :mod:`~sed.postprocessing.boundaries`: onsets and offsets in seconds (extents, centres,
  refined on the signal level);
- :mod:`~sed.postprocessing.streaming`: :class:`EventStream`, the same events as windows arrive.

A new stage is a function of ``stages`` or ``boundaries`` that both ``recording``
(:func:`label_events`) and ``streaming`` (:class:`EventStream`) call, so that the two forms keep
finding the same events (``tests/test_postprocessing_stream.py``); its parameter is a field of
:class:`PostProcessing`.
"""

from sed.postprocessing.boundaries import (
    activity_context_frames,
    centre_stretches,
    grow_boundaries,
    level_activity,
)
from sed.postprocessing.files import load_config, read_class_thresholds, save_config
from sed.postprocessing.parameters import (
    BOUNDARIES,
    DEFAULT_BOUNDARIES,
    DEFAULT_THRESHOLD,
    MODES,
    ClassThreshold,
)
from sed.postprocessing.recording import (
    Event,
    PostProcessing,
    detect_events,
    events_table,
    filtered_scores,
    label_events,
    recording_activity,
    top_class_events,
    with_overrides,
)
from sed.postprocessing.stages import median_filter, median_filter_windows, running_medians, runs
from sed.postprocessing.streaming import EventStream

__all__ = [
    "BOUNDARIES",
    "DEFAULT_BOUNDARIES",
    "DEFAULT_THRESHOLD",
    "MODES",
    "ClassThreshold",
    "Event",
    "EventStream",
    "PostProcessing",
    "activity_context_frames",
    "centre_stretches",
    "detect_events",
    "events_table",
    "filtered_scores",
    "grow_boundaries",
    "label_events",
    "level_activity",
    "load_config",
    "median_filter",
    "median_filter_windows",
    "read_class_thresholds",
    "recording_activity",
    "running_medians",
    "runs",
    "save_config",
    "top_class_events",
    "with_overrides",
]
