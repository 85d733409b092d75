"""Size and speed of `sed review` on a large batch: does a 1,000-recording batch stay reviewable?

    uv run python benchmarks/review.py [--recordings 1000] [--seconds 60] [--events 8]
        [--max-per-label 50] [--no-browser]

Makes once, in /tmp/sed-bench/review_batch, a batch output folder as ``sed detect`` leaves it:
``--recordings`` mono 44.1 kHz FLAC recordings of ``--seconds`` each, cut from the real
recordings of ../shared/data looped (material.py), named as an AudioMoth names them (a start
time every 10 minutes over several days), with on average ``--events`` events each (Poisson;
five labels, random times, lengths and scores) written through ``sed.batch`` as a run would
(the model is not run: what it found does not change what the review costs). Then:

1. ``sed review OUT -o review.html`` in a child process, as a user runs it: wall time, CPU time,
   peak resident memory, the page's size and its folder's size and file count;
2. the same with ``--max-per-label N``;
3. unless --no-browser, each page opened from disk in headless Chromium (Debian's, through
   Playwright): time until it is ready, time to filter to one label, to move to the last page,
   and the JavaScript heap in use.

Timings depend on what else runs: the CPU model and the load average are printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import material
import numpy as np
import soundfile as sf
from speed import BIN, WORK, load, run

from sed.review.chromium import CHROMIUM, HEADLESS_ARGUMENTS

LABELS = ("dog", "bird", "car", "speech", "rain")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def make_batch(folder: Path, recordings: int, seconds: float, events: float) -> Path:
    """The synthetic batch (kept between runs with the same settings)."""
    from sed.audio import find_audio_files
    from sed.batch import BatchOutputs
    from sed.batch_folder import PARAMETERS_FILE, make_result
    from sed.events import event_table

    settings = {"recordings": recordings, "seconds": seconds, "events": events}
    stamp = folder / "settings.json"
    if stamp.exists() and json.loads(stamp.read_text()) == settings:
        return folder / "out"
    shutil.rmtree(folder, ignore_errors=True)
    archive, out = folder / "archive", folder / "out"
    files = material.real_material()
    # The looping stream of material.py, cut into recordings.
    stream = material._Rechunk(material._looped(files) if files else material._synthetic(1))
    start = datetime(2024, 6, 1, 0, 0)
    for k in range(recordings):
        when = start + timedelta(minutes=10 * k)
        path = archive / f"site{k % 4 + 1}" / f"{when:%Y%m%d_%H%M%S}.flac"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, stream.take(int(seconds * material.RATE)), material.RATE, "PCM_16")
    rng = np.random.default_rng(7)
    outputs = BatchOutputs(str(out), ["csv"])
    out.mkdir(parents=True)
    (out / PARAMETERS_FILE).write_text(json.dumps({"fingerprint": "bench", "settings": {}}))
    for recording in find_audio_files([str(archive)]).files:
        rows = []
        for _ in range(rng.poisson(events)):
            onset = float(rng.uniform(0, seconds - 0.5))
            rows.append(
                {
                    "filename": recording.path,
                    "onset": round(onset, 3),
                    "offset": round(min(seconds, onset + rng.uniform(0.5, 4.0)), 3),
                    "event_label": str(rng.choice(LABELS)),
                    "score": round(float(rng.beta(2, 2)), 3),
                }
            )
        outputs.write(recording, make_result(recording, event_table(rows), seconds, "bench"))
    stamp.write_text(json.dumps(settings))
    return out


def folder_size(folder: Path) -> tuple[int, int]:
    sizes = [p.stat().st_size for p in folder.rglob("*") if p.is_file()]
    return sum(sizes), len(sizes)


def review(out: Path, page: Path, options: list[str]) -> None:
    command = [str(BIN / "sed"), "review", str(out), "-o", str(page), "--quiet", *options]
    print(f"\n$ sed review {out.name} -o {page.name} {' '.join(options)}".rstrip())
    print(f"  before: {load()}")
    result = run(command)
    print(f"  {result.stdout.strip()}")
    size, count = folder_size(page.with_name(page.stem + "_files"))
    print(
        f"  wall {result.wall:.0f} s, CPU {result.cpu:.0f} s, peak RSS {result.peak_mb:.0f} MB; "
        f"page {page.stat().st_size / 1e6:.2f} MB, folder {size / 1e6:.0f} MB in {count} files"
    )
    print(f"  after: {load()}")


def browse(page: Path) -> None:
    """Open the page in headless Chromium and time what a reviewer does first."""
    from playwright.sync_api import sync_playwright

    arguments = [*HEADLESS_ARGUMENTS, "--enable-precise-memory-info"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=arguments)
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        started = time.perf_counter()
        tab.goto(page.as_uri())
        tab.wait_for_selector("body[data-ready=true]")
        ready = time.perf_counter() - started
        started = time.perf_counter()
        tab.select_option("#filter-label", LABELS[0])
        tab.wait_for_selector("#events > li")
        filtered = time.perf_counter() - started
        started = time.perf_counter()
        pager = 'nav[aria-label="Event pages (top)"] input'
        tab.fill(pager, "100000")
        tab.dispatch_event(pager, "change")
        tab.wait_for_selector("#events > li")
        last = time.perf_counter() - started
        heap = tab.evaluate("() => performance.memory.usedJSHeapSize") / 1e6
        status = tab.text_content("#match-status")
        browser.close()
    print(
        f"  Chromium: ready in {ready:.2f} s, label filter {filtered * 1000:.0f} ms, "
        f"last page {last * 1000:.0f} ms, JS heap {heap:.0f} MB ({status})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--events", type=float, default=8.0, help="mean events per recording")
    parser.add_argument("--max-per-label", type=int, default=50)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    print(f"CPU: {cpu_model()}, {os.cpu_count()} CPUs; {load()}")
    started = time.perf_counter()
    out = make_batch(WORK / "review_batch", args.recordings, args.seconds, args.events)
    from sed.batch_folder import completed_results

    events = sum(len(result["events"]) for _, result in completed_results(out))
    print(
        f"batch: {args.recordings} recordings x {args.seconds:g} s "
        f"({args.recordings * args.seconds / 3600:.1f} h), {events} events "
        f"(made or found in {time.perf_counter() - started:.0f} s)"
    )
    pages = [
        (WORK / "review_all.html", []),
        (WORK / "review_sampled.html", ["--max-per-label", str(args.max_per_label)]),
    ]
    for page, options in pages:
        review(out, page, options)
        if not args.no_browser:
            if not Path(CHROMIUM).exists():
                print("  Chromium: not installed (apt-get install chromium)", file=sys.stderr)
            else:
                browse(page)


if __name__ == "__main__":
    main()
