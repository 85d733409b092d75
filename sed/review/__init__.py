"""``sed review``: a page to look at and listen to a batch's detections, and judge them.

The page is one HTML file with a sibling folder of images and sound clips, opened from disk with
no server and no network (:mod:`sed.review.page`). Modules in the order they work:

- :mod:`sed.review.recordings`: the recordings of a batch output folder (or of an events file
  and its audio), their start times, and the sample of events shown with ``max_per_label``;
- :mod:`sed.review.media`: one decode per recording, giving its overview spectrogram and each
  event's clip; clip spectrogram images and compressed audio;
- :mod:`sed.review.figures`: the matplotlib figures (overviews, score histograms, detections over
  time);
- :mod:`sed.review.page`: the page and its folder, written safely;
- :mod:`sed.review.chromium`: how tests, benchmarks and screenshots open the page headless.

The reviewer's verdicts export as CSV with the columns of :data:`sed.events.VERDICT_COLUMNS`;
:func:`sed.events.read_events` reads such a file as the events it confirms, so it serves as a
reference for ``sed evaluate`` and as annotations.
"""

from sed.review.media import AUDIO_FORMATS, DEFAULT_AUDIO_FORMAT
from sed.review.page import ReviewOutput, build_review, check_outputs, media_folder
from sed.review.recordings import DEFAULT_SEED, load_review_set, sample_events

__all__ = [
    "AUDIO_FORMATS",
    "DEFAULT_AUDIO_FORMAT",
    "DEFAULT_SEED",
    "ReviewOutput",
    "build_review",
    "check_outputs",
    "load_review_set",
    "media_folder",
    "sample_events",
]
