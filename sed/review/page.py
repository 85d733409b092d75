"""The review page: one HTML file and one sibling folder of images and sound clips.

``review.html`` holds the page, its style, its script and the data (recordings, events, figures'
names) as JSON; ``review_files/`` holds every image and clip, named from the page. Both open from
disk (``file://``): nothing is fetched, so the page works with no server and no network, and the
two can be zipped, sent and archived with the results. The script renders one page of events at a
time, and images and clips load only when shown (``loading="lazy"``, ``preload="none"``), so a
batch of thousands of events stays quick to open.

The outputs are checked before any audio is read: an existing page or folder is replaced only if
``sed review`` wrote it (the page's ``generator`` tag, the folder's :data:`FOLDER_MARKER`). The
folder is built under a hidden temporary name beside it and swapped in at the end, then the page
is written atomically, so an interrupted run leaves the previous review as it was.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import secrets
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from urllib.parse import quote

from sed.audio import DEFAULT_RESAMPLER
from sed.errors import OutputError, ParameterError
from sed.events import TIME_DECIMALS, VERDICT_COLUMNS, seconds_text
from sed.infra import atomic_open, stop_on_signals
from sed.outputs import InputPaths, Output
from sed.outputs import check_outputs as check_common_outputs
from sed.params import YamnetParams
from sed.review.media import (
    AUDIO_FORMATS,
    DEFAULT_AUDIO_FORMAT,
    IMAGE_SUFFIX,
    check_audio_format,
    clip_span,
    clip_spectrogram,
    clip_spectrogram_hz,
    read_recording,
    write_clip_audio,
    write_spectrogram_image,
)
from sed.review.recordings import DEFAULT_SEED, ReviewSet, load_review_set, sample_events

#: The page's ``<meta name="generator">``: a file carrying it may be replaced by a new review.
GENERATOR = "sed review"
#: The hidden file that marks a media folder as written by ``sed review``.
FOLDER_MARKER = ".sed-review"
#: Clips decoded and waiting to be encoded, at most, per encoding thread.
CLIPS_IN_FLIGHT = 4
#: Suffixes the page may have.
PAGE_SUFFIXES = (".html", ".htm")
_ASSETS = resources.files("sed.review") / "assets"
_MARKER = re.compile(r"\{\{(TITLE|CSS|SCRIPT|DATA|FIGURES)\}\}")


@dataclass
class ReviewOutput:
    """What :func:`build_review` wrote.

    Attributes
    ----------
    page : str
        The HTML file.
    folder : str
        Its media folder.
    page_bytes, folder_bytes : int
        Their sizes (the folder's: every file in it).
    folder_files : int
        Files in the folder.
    recordings, events, shown_events : int
        Recordings and events of the batch, and events on the page (fewer with
        ``max_per_label``).
    seconds : float
        Time taken.
    """

    page: str
    folder: str
    page_bytes: int
    folder_bytes: int
    folder_files: int
    recordings: int
    events: int
    shown_events: int
    seconds: float

    def __str__(self) -> str:
        shown = (
            f"{self.shown_events} of {self.events} events shown"
            if self.shown_events != self.events
            else f"{self.events} events"
        )
        recordings = f"{self.recordings} recording{'s' * (self.recordings != 1)}"
        return (
            f"{recordings}, {shown}; {self.page} ({_size(self.page_bytes)}), "
            f"{self.folder}{os.sep} ({_size(self.folder_bytes)} in {self.folder_files} files); "
            f"{self.seconds:.1f} s"
        )


def available_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _size(n_bytes: int) -> str:
    """Bytes in SI units, as file managers show them (1 kB = 1000 bytes)."""
    if n_bytes < 1000:
        return f"{n_bytes} bytes"
    if n_bytes < 1000**2:
        return f"{n_bytes / 1000:.1f} kB"
    return f"{n_bytes / 1000**2:.1f} MB"


def media_folder(page: str | os.PathLike) -> str:
    """The media folder of a page: beside it, named after it (``review.html`` ->
    ``review_files``, as browsers save a page)."""
    page = os.fspath(page)
    return os.path.splitext(page)[0] + "_files"


def check_outputs(page: str | os.PathLike, inputs: Mapping[str, InputPaths] | None = None) -> None:
    """Refuse a page path that would replace something ``sed review`` did not write, or that
    could not be written.

    Parameters
    ----------
    page : str or os.PathLike
        The page; its media folder is :func:`media_folder`.
    inputs : mapping of str to path, optional
        The files the run reads, by option (see :func:`sed.outputs.check_outputs`: neither
        output may be one of them, nor resolve to one).

    Raises
    ------
    OutputError
        If the page does not end in ``.html``, is a folder, or exists without the review's
        generator tag; if its media folder exists without :data:`FOLDER_MARKER` (or is a file);
        or for any refusal of :func:`sed.outputs.check_outputs` (an input, not writable, a full
        disk, a name too long).
    """
    page = os.fspath(page)
    if not page.lower().endswith(PAGE_SUFFIXES):
        raise OutputError(f"the review page must end in .html, got {page!r}")
    folder = media_folder(page)
    # overwrite: the review's generator tag (below) says whether sed wrote an existing page.
    check_common_outputs(
        [Output(page, "-o"), Output(folder, "-o (its media folder)", folder=True)],
        inputs,
        overwrite=True,
    )
    if os.path.exists(page) and not _is_review_page(page):
        raise OutputError("exists and was not written by sed review; not replacing it", page)
    if os.path.exists(folder) and not os.path.isfile(os.path.join(folder, FOLDER_MARKER)):
        raise OutputError(
            "exists and was not written by sed review (the page's media folder); "
            "not replacing it: choose another page name",
            folder,
        )


def _is_review_page(path: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return f'<meta name="generator" content="{GENERATOR}' in head


def build_review(
    source: str | os.PathLike,
    output: str | os.PathLike,
    *,
    audio: str | os.PathLike | None = None,
    reference: str | os.PathLike | None = None,
    label_column: str | None = None,
    max_per_label: int | None = None,
    seed: int = DEFAULT_SEED,
    audio_format: str = DEFAULT_AUDIO_FORMAT,
    title: str | None = None,
    resampler: str = DEFAULT_RESAMPLER,
    threads: int | None = None,
    quiet: bool = True,
) -> ReviewOutput:
    """Write a review page for a batch's detections (or an events file and its audio).

    Parameters
    ----------
    source : str or os.PathLike
        A ``sed detect`` batch output folder, or events in any format ``sed evaluate`` reads
        (see :func:`sed.review.recordings.load_review_set`).
    output : str or os.PathLike
        The page (``.html``); its media folder is written beside it (:func:`media_folder`).
    audio : str or os.PathLike, optional
        The recordings' folder (or the one recording): needed for an events file, and for a
        batch whose recordings moved.
    reference : str or os.PathLike, optional
        Reference events, drawn in each recording's overview.
    label_column : str, optional
        The label column of headed tables (Raven's ``Species``...) among the events and the
        reference.
    max_per_label : int >= 1, optional
        Put at most this many events of each label on the page: the highest scores, the
        lowest and a random sample (:func:`sed.review.recordings.sample_events`). All events
        count in the summary.
    seed : int
        Seed of that random sample.
    audio_format : {"opus", "mp3"}
        Format of the clips (:data:`sed.review.media.AUDIO_FORMATS`).
    title : str, optional
        The page's title (default: ``sed review: <source>``).
    resampler : {"soxr", "resampy"}
    threads : int >= 1, optional
        Threads encoding images and clips (default: the CPUs available).
    quiet : bool
        No progress bar (on stderr).

    Returns
    -------
    output : ReviewOutput
        Paths and sizes of what was written.

    Raises
    ------
    ParameterError
        For a bad option.
    OutputError
        For an output that would replace a file ``sed review`` did not write, or that cannot be
        written (checked before any audio is read; :func:`check_outputs`).
    AnnotationError, AudioError
        For malformed events or references, or a recording that cannot be found or read.
    sed.errors.Interrupted
        On ``SIGINT`` or ``SIGTERM``: the half-built media folder is removed, a previous review
        stays as it was.
    """
    started = time.perf_counter()
    check_audio_format(audio_format)
    if threads is not None and threads < 1:
        raise ParameterError(f"--threads must be at least 1, got {threads}")
    if max_per_label is not None and max_per_label < 1:
        raise ParameterError(f"--max-per-label must be at least 1, got {max_per_label}")
    output = os.fspath(output)
    # Only the input files: the page replaces no file without the review's generator tag, so a
    # review written into the batch folder it reads (out/review.html) may be written again.
    inputs = {
        "OUT_DIR": source,
        "--audio": audio,
        "--reference": reference,
    }
    check_outputs(output, {k: v for k, v in inputs.items() if v and os.path.isfile(v)})
    with stop_on_signals():  # SIGTERM too cleans up the half-built folder
        review_set = load_review_set(
            source, audio=audio, reference=reference, label_column=label_column
        )
        folder = media_folder(output)
        _refuse_inputs_inside(review_set, folder)
        events = review_set.events
        shown = sample_events(events, max_per_label, seed=seed)
        parent = os.path.dirname(os.path.abspath(output))
        os.makedirs(parent, exist_ok=True)
        _remove_stale_folders(parent, os.path.basename(folder))
        # Not tempfile.mkdtemp: its folder is private (0700), and the folder is the page's to share.
        building = os.path.join(parent, f".{os.path.basename(folder)}.{secrets.token_hex(4)}.tmp")
        os.mkdir(building)
        try:
            with open(os.path.join(building, FOLDER_MARKER), "w", encoding="utf-8") as handle:
                handle.write(f"media of {os.path.basename(output)}, written by {GENERATOR}\n")
            data = _render_media(
                review_set,
                shown,
                building,
                os.path.basename(folder),
                audio_format,
                resampler,
                quiet,
                threads or available_cpus(),
            )
            summary, figures = _summary_data(
                review_set, events, shown, max_per_label, seed, building, folder, title
            )
            data.update(summary)
            page_text = _page(data, figures)
            _swap_folder(building, folder)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        with atomic_open(output, "w", encoding="utf-8") as handle:
            handle.write(page_text)
        folder_bytes, folder_files = _folder_size(folder)
        return ReviewOutput(
            output,
            folder,
            os.path.getsize(output),
            folder_bytes,
            folder_files,
            len(review_set.recordings),
            len(events),
            len(shown),
            time.perf_counter() - started,
        )


def _refuse_inputs_inside(review_set: ReviewSet, folder: str) -> None:
    """The media folder is replaced as a whole: no input may live in it."""
    root = os.path.realpath(folder) + os.sep
    for path in [review_set.source] + [r.audio_path for r in review_set.recordings]:
        if os.path.realpath(path).startswith(root):
            raise OutputError(
                f"is inside the page's media folder {folder}, which a review replaces", path
            )


def _remove_stale_folders(parent: str, name: str) -> None:
    """Delete the temporary folders an interrupted review left (``.<name>.<random>.tmp``)."""
    pattern = re.compile(rf"^\.{re.escape(name)}\.[A-Za-z0-9_]+\.(tmp|old)$")
    for entry in os.listdir(parent):
        path = os.path.join(parent, entry)
        if pattern.match(entry) and os.path.isfile(os.path.join(path, FOLDER_MARKER)):
            shutil.rmtree(path, ignore_errors=True)


def _swap_folder(building: str, folder: str) -> None:
    """Put the new media folder in place of the old one (renames, then the old one deleted)."""
    old = None
    if os.path.exists(folder):
        old = f"{building[: -len('.tmp')]}.old"
        os.replace(folder, old)
    os.replace(building, folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _folder_size(folder: str) -> tuple[int, int]:
    total = count = 0
    for root, _, names in os.walk(folder):
        for name in names:
            total += os.path.getsize(os.path.join(root, name))
            count += 1
    return total, count


def _render_media(
    review_set, shown, building, folder_name, audio_format, resampler, quiet, threads
):
    """Every recording's overview and every shown event's image and clip; the page's data.

    Recordings are decoded one after the other; each clip, as soon as it is decoded, goes to
    ``threads`` threads that draw and encode it (libsndfile, numpy's FFT and Pillow release the
    GIL), at most :data:`CLIPS_IN_FLIGHT` per thread waiting, so memory stays bounded whatever
    the number of events.
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    url = quote(folder_name)
    suffix = AUDIO_FORMATS[audio_format][0]
    recordings: list[dict] = []
    pending: list = []  # (event data, future of its clip's length), in event order
    slots = threading.BoundedSemaphore(CLIPS_IN_FLIGHT * threads)
    progress = tqdm(
        review_set.recordings,
        unit="recording",
        file=sys.stderr,
        disable=quiet,
        dynamic_ncols=True,
        desc="sed review",
    )
    with ThreadPoolExecutor(max_workers=threads) as pool:
        try:
            for index, recording in enumerate(progress):
                mine = list(shown[shown["recording"] == index].itertuples())
                spans = [clip_span(r.onset, r.offset, recording.duration_seconds) for r in mine]
                directory = f"r{index + 1:05d}"
                os.makedirs(os.path.join(building, directory))
                stems = [f"{directory}/e{k + 1:04d}" for k in range(len(mine))]
                futures: dict = {}

                def encode(k, samples, rate=recording.sample_rate, stems=stems, futures=futures):
                    slots.acquire()  # waits while the threads are behind
                    futures[k] = pool.submit(
                        _write_clip,
                        samples,
                        rate,
                        building,
                        stems[k],
                        suffix,
                        audio_format,
                        resampler,
                    )
                    futures[k].add_done_callback(lambda _: slots.release())

                sound = read_recording(
                    recording.audio_path, spans, on_clip=encode, resampler=resampler
                )
                recordings.append(_overview(recording, sound, building, directory, url))
                for k, (row, span, stem) in enumerate(zip(mine, spans, stems)):
                    data = _event_data(row, index, span, sound.sample_rate, url, stem, suffix)
                    pending.append((data, futures[k]))
            events = [dict(data, clip_seconds=future.result()) for data, future in pending]
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return {"recordings": recordings, "events": events, "audio_format": audio_format}


def _overview(recording, sound, building, directory, url) -> dict:
    """Draw a recording's overview into its folder; the page's data of the recording."""
    from sed.review.figures import overview_figure, plot_area, save_webp

    figure = overview_figure(
        sound.overview,
        sound.seconds_per_column,
        recording.duration_seconds,
        estimated=recording.events,
        reference=recording.reference,
    )
    save_webp(figure, os.path.join(building, directory, "overview" + IMAGE_SUFFIX))
    return {
        "name": recording.name,
        "duration": round(recording.duration_seconds, TIME_DECIMALS),
        "start": recording.start.isoformat() if recording.start else None,
        "image": f"{url}/{directory}/overview{IMAGE_SUFFIX}",
        "plot": [round(x, 5) for x in plot_area(figure)],
        "events": int(len(recording.events)),
        "references": None if recording.reference is None else len(recording.reference),
    }


def _write_clip(clip, sample_rate, building, stem, suffix, audio_format, resampler) -> float:
    """An event's spectrogram image and compressed clip; returns the clip's length in seconds."""
    base = os.path.join(building, *stem.split("/"))
    write_spectrogram_image(clip_spectrogram(clip, sample_rate), base + IMAGE_SUFFIX)
    seconds = write_clip_audio(clip, sample_rate, base + suffix, audio_format, resampler=resampler)
    return round(seconds, TIME_DECIMALS)


def _number(value: float) -> str:
    """A time or score exactly as the event CSV writes it (:func:`sed.events.seconds_text`),
    so that verdict rows match the batch's rows."""
    if value != value:  # NaN: no score
        return ""
    return seconds_text(value)


def _event_data(row, recording: int, span, sample_rate, url, stem, suffix) -> dict:
    return {
        "r": recording,
        "file": str(row.filename),
        "on": _number(row.onset),
        "off": _number(row.offset),
        "label": str(row.event_label),
        "score": _number(row.score),
        "why": row.sample,
        "clip": [round(span[0], TIME_DECIMALS), round(span[1], TIME_DECIMALS)],
        "nyquist": sample_rate / 2,
        "hz": [round(f, 3) for f in clip_spectrogram_hz(sample_rate)],
        "image": f"{url}/{stem}{IMAGE_SUFFIX}",
        "audio": f"{url}/{stem}{suffix}",
    }


def _summary_data(review_set, events, shown, max_per_label, seed, building, folder, title):
    """Totals, label counts and settings for the page's data, and the summary figures (written
    into ``building``) for its HTML: the script never reads the figures, so the data leaves them
    out."""
    from sed import __version__
    from sed.plotting import save_figure
    from sed.review.figures import detections_figure, score_histograms_figure

    url = quote(os.path.basename(folder))
    counts = events["event_label"].value_counts()
    shown_counts = shown["event_label"].value_counts()
    labels = sorted(counts.index, key=lambda label: (-counts[label], label))
    figures = {}
    histograms = score_histograms_figure(events, labels)
    if histograms is not None:
        save_figure(histograms, os.path.join(building, "score_histograms.png"))
        figures["histograms"] = {
            "src": f"{url}/score_histograms.png",
            "alt": "Histogram of the scores of each label's events (all events of the batch).",
            "size": _pixels(histograms),
        }
    detections, description = detections_figure(
        events,
        [r.start for r in review_set.recordings],
        [r.name for r in review_set.recordings],
    )
    if detections is not None:
        save_figure(detections, os.path.join(building, "detections.png"))
        figures["detections"] = {
            "src": f"{url}/detections.png",
            "alt": description,
            "size": _pixels(detections),
        }
    summary = {
        "id": _page_id(shown),
        "title": title or f"sed review: {os.path.basename(os.path.abspath(review_set.source))}",
        "source": os.path.abspath(review_set.source),
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "sed_version": __version__,
        "settings": _settings_lines(review_set.parameters),
        "sampling": None
        if max_per_label is None
        else {"max_per_label": max_per_label, "seed": seed},
        "totals": {
            "recordings": len(review_set.recordings),
            "audio_seconds": round(sum(r.duration_seconds for r in review_set.recordings), 3),
            "events": int(len(events)),
            "shown": int(len(shown)),
            "dated": sum(r.start is not None for r in review_set.recordings),
        },
        "labels": [
            {
                "label": str(label),
                "events": int(counts[label]),
                "shown": int(shown_counts.get(label, 0)),
            }
            for label in labels
        ],
        "failures": [list(failure) for failure in review_set.failures],
        "yamnet_band_hz": [YamnetParams().mel_min_hz, YamnetParams().mel_max_hz],
        "verdict_columns": list(VERDICT_COLUMNS),
        "verdict_file": os.path.basename(folder)[: -len("_files")] + "_verdicts.csv",
    }
    return summary, figures


def _pixels(figure) -> list[int]:
    """A saved figure's width and height in pixels (at :func:`sed.plotting.save_figure`'s
    resolution), for the page to reserve its room before it loads."""
    from sed.plotting import FIGURE_DPI

    width, height = figure.get_size_inches() * FIGURE_DPI
    return [round(width), round(height)]


def _figures_html(figures: dict) -> str:
    """The summary's figures, each with its caption; a figure not drawn (nothing to show) is
    not on the page at all."""
    parts = []
    for name, figure in figures.items():
        width, height = figure["size"]
        parts.append(
            f'<figure id="{name}"><img src="{html.escape(figure["src"])}" '
            f'alt="{html.escape(figure["alt"])}" width="{width}" height="{height}" '
            f'loading="lazy"><figcaption>{html.escape(figure["alt"])}</figcaption></figure>'
        )
    return "\n".join(parts)


def _settings_lines(parameters: dict) -> list[str]:
    """The detection settings worth reading next to the events, from ``parameters.json``."""
    settings = parameters.get("settings") or {}
    if not settings:
        return []
    lines = []
    if settings.get("head_dir"):
        lines.append(f"head: {settings['head_dir']}")
    elif settings.get("label_map"):
        lines.append(f"label map: {settings['label_map']}")
    elif settings.get("classes"):
        lines.append(f"classes: {settings['classes']}")
    else:
        lines.append("classes: all 521 YAMNet classes")
    processing = settings.get("postprocessing") or {}
    if isinstance(processing, dict) and processing:
        shown = ", ".join(
            f"{key} {value}"
            for key, value in processing.items()
            if value not in (None, {}, []) and not key.startswith("refine_")
        )
        lines.append(f"post-processing: {shown}")
    lines.append(f"hop {settings.get('hop_seconds')} s, backend {settings.get('backend')}")
    if parameters.get("started"):
        lines.append(f"batch started {parameters['started']}, sed {parameters.get('sed_version')}")
    return lines


def _page_id(shown) -> str:
    """Identifies the page's events, so that verdicts saved in the browser find them again when
    the same events are reviewed in a regenerated page."""
    digest = hashlib.sha256()
    for row in shown.itertuples():
        digest.update(
            f"{row.filename}\t{row.onset:.3f}\t{row.offset:.3f}\t{row.event_label}\n".encode()
        )
    return digest.hexdigest()[:16]


def _page(data: dict, figures: dict) -> str:
    """The HTML: template, style and script from the package, data as JSON, the summary's
    ``figures`` (:func:`_figures_html`) as elements."""
    template = (_ASSETS / "review.html").read_text(encoding="utf-8")
    # "<" escaped so that no text of the data can close the script element.
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    parts = {
        "TITLE": html.escape(data["title"]),
        "CSS": (_ASSETS / "review.css").read_text(encoding="utf-8"),
        "SCRIPT": (_ASSETS / "review.js").read_text(encoding="utf-8"),
        "DATA": payload,
        "FIGURES": _figures_html(figures),
    }
    return _MARKER.sub(lambda match: parts[match.group(1)], template)
