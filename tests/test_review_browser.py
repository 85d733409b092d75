"""The review page in a real browser: headless Chromium (Debian's ``chromium``), driven by
Playwright.

A real batch (``sed detect`` on three recordings cut from the bicycle-bell street recording) is
reviewed with ``sed review``; the page is opened from disk (``file://``, no server) and used as a
reviewer would, with the keyboard: it loads without console errors, shows every event of the
batch, filters, plays a clip of the right length, and exports the verdicts of three events as the
CSV that ``sed evaluate`` then reads as a reference.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sed.evaluation import Evaluation
from sed.events import VERDICT_COLUMNS, read_events
from sed.review.chromium import CHROMIUM, HEADLESS_ARGUMENTS

pytestmark = pytest.mark.slow

#: Clips play in the tests without a click first.
CHROMIUM_ARGUMENTS = [*HEADLESS_ARGUMENTS, "--autoplay-policy=no-user-gesture-required"]
SED = str(Path(sys.executable).parent / "sed")
CLASSES = "Bicycle bell,Bell,Speech,Vehicle,Bicycle,Car,Chime"


def run(*args, cwd):
    result = subprocess.run(
        [SED, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=900
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def batch(tmp_path_factory, bells_wav, session_cache_dir):
    """A ``sed detect`` batch of three recordings (two named with their start times) and its
    review page."""
    root = tmp_path_factory.mktemp("review")
    audio, rate = sf.read(bells_wav, dtype="float32")
    pieces = {
        "site_a/20240601_053000.wav": audio[: 20 * rate],
        "site_a/20240602_061500.wav": audio[20 * rate : 40 * rate],
        "site_b/street.flac": audio[40 * rate :],
    }
    for name, samples in pieces.items():
        (root / "archive" / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / "archive" / name, samples, rate)
    run("detect", "archive", "-o", "out", "--classes", CLASSES, "--threshold", "0.1", cwd=root)
    written = run("review", "out", "-o", "review.html", "--quiet", cwd=root)
    return root, written.stdout


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGUMENTS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, batch):
    """The review page, opened from disk in a fresh browser profile; collects console errors."""
    root, _ = batch
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.errors = []
    opened.on(
        "console", lambda m: opened.errors.append(m.text) if m.type in ("error", "warning") else 0
    )
    opened.on("pageerror", lambda error: opened.errors.append(str(error)))
    opened.on("requestfailed", lambda request: opened.errors.append(f"failed: {request.url}"))
    opened.goto((root / "review.html").as_uri())
    opened.wait_for_selector("body[data-ready=true]")
    yield opened
    context.close()


def all_events(batch) -> pd.DataFrame:
    root, _ = batch
    return pd.read_csv(root / "out" / "all_events.csv", dtype={"onset": str, "offset": str})


def shown_cards(page) -> list[dict]:
    return page.eval_on_selector_all(
        "#events > li",
        "cards => cards.map(c => ({label: c.dataset.label,"
        " score: c.querySelector('.score') ? c.querySelector('.score').textContent : ''}))",
    )


def test_the_page_loads_from_disk_without_errors_and_counts_every_event(page, batch):
    events = all_events(batch)
    assert len(events) > 25  # a real batch, more than one page of events
    assert page.text_content("#match-status").startswith(f"{len(events)} events, page 1 of ")
    totals = page.eval_on_selector_all(
        "#totals div",
        "items => items.map(i => [i.querySelector('dt').textContent,"
        " i.querySelector('dd').textContent])",
    )
    assert ["events", str(len(events))] in totals and ["recordings", "3"] in totals
    assert ["recordings with a start time", "2 of 3"] in totals
    counted = page.eval_on_selector_all(
        "#label-table tbody tr",
        "rows => rows.map(r => [r.cells[0].textContent, Number(r.cells[1].textContent)])",
    )
    assert dict(counted) == events["event_label"].value_counts().to_dict()
    page.click("#summary > summary")  # the folded summary opens, its charts load
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # every lazy image loads
    page.wait_for_function(
        "() => [...document.images].filter(i => !i.closest('details:not([open])') &&"
        " (i.loading !== 'lazy' || i.getBoundingClientRect().top < innerHeight))"
        ".every(i => i.complete && i.naturalWidth)"
    )
    assert page.errors == []
    _, printed = batch
    assert f"3 recordings, {len(events)} events; review.html (" in printed


def test_filters_hide_what_they_should(page, batch):
    events = all_events(batch)
    label = events["event_label"].value_counts().index[0]
    page.select_option("#page-size", "100")
    page.select_option("#filter-label", label)
    cards = shown_cards(page)
    assert {card["label"] for card in cards} == {label}
    assert len(cards) == (events["event_label"] == label).sum()
    assert page.text_content("#match-status").startswith(f"{len(cards)} of {len(events)} events")
    page.fill("#filter-min", "0.3")
    cards = shown_cards(page)
    expected = ((events["event_label"] == label) & (events["score"] >= 0.3)).sum()
    assert len(cards) == expected < (events["event_label"] == label).sum()
    assert all(float(card["score"].split()[-1]) >= 0.3 for card in cards)
    page.fill("#filter-recording", "site_b/")
    expected = (
        (events["event_label"] == label)
        & (events["score"] >= 0.3)
        & events["filename"].str.contains("site_b/")
    ).sum()
    assert len(shown_cards(page)) == expected
    page.click("#clear-filters")
    page.wait_for_function("() => document.querySelectorAll('#events > li').length === 25")
    assert page.text_content("#match-status").startswith(f"{len(events)} events")


def test_sorting_by_score(page):
    page.select_option("#sort", "score-desc")
    scores = [float(card["score"].split()[-1]) for card in shown_cards(page)]
    assert scores == sorted(scores, reverse=True) and len(scores) == 25


def test_an_event_clip_plays_and_has_the_clip_length(page):
    page.keyboard.press("j")  # select the first event
    data = page.evaluate("JSON.parse(document.getElementById('review-data').textContent).events[0]")
    page.keyboard.press("p")
    page.wait_for_function(
        "() => document.querySelector('#events li.selected audio').currentTime > 0.2",
        timeout=15000,
    )
    audio = page.eval_on_selector(
        "#events li.selected audio", "a => ({duration: a.duration, paused: a.paused})"
    )
    assert not audio["paused"]
    start, end = data["clip"]
    assert abs(audio["duration"] - (end - start)) < 0.03
    assert abs(audio["duration"] - data["clip_seconds"]) < 0.03
    page.keyboard.press("p")
    assert page.eval_on_selector("#events li.selected audio", "a => a.paused")
    assert page.errors == []


def marked_three(page) -> list[dict]:
    """Review the first three events of site_b with the keyboard only: correct, wrong, and
    another label ("Car horn"); returns their data."""
    page.fill("#filter-recording", "site_b/street.flac")
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("j")
    page.keyboard.press("c")  # the view moves on to the next event by itself
    page.keyboard.press("w")
    page.keyboard.press("l")
    page.keyboard.type("Car horn")
    page.keyboard.press("Enter")
    return page.evaluate(
        "JSON.parse(document.getElementById('review-data').textContent).events"
        ".filter(e => e.file.endsWith('site_b/street.flac')).slice(0, 3)"
    )


def test_three_verdicts_export_as_the_csv_that_sed_evaluate_reads(page, batch, tmp_path):
    root, _ = batch
    marked = marked_three(page)
    assert page.text_content("#progress") == f"3 of {len(all_events(batch))} events reviewed"
    with page.expect_download() as download:
        page.keyboard.press("e")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "review_verdicts.csv"

    # Exactly the rows of all_events.csv for these events, then the verdicts.
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert rows[0] == list(VERDICT_COLUMNS)
    with open(root / "out" / "all_events.csv", encoding="utf-8", newline="") as handle:
        batch_rows = {tuple(row[:4]): row[:5] for row in csv.reader(handle)}
    verdicts = [("correct", ""), ("wrong", ""), ("relabelled", "Car horn")]
    assert rows[1:] == [
        batch_rows[(e["file"], e["on"], e["off"], e["label"])] + list(verdict)
        for e, verdict in zip(marked, verdicts)
    ]

    # sed evaluate takes it as the reference: the confirmed events only, relabelled as marked.
    reference = [
        {
            "filename": "street",
            "onset": float(marked[0]["on"]),
            "offset": float(marked[0]["off"]),
            "event_label": marked[0]["label"],
            "score": float("nan"),
        },
        {
            "filename": "street",
            "onset": float(marked[2]["on"]),
            "offset": float(marked[2]["off"]),
            "event_label": "Car horn",
            "score": float("nan"),
        },
    ]
    confirmed = read_events(saved).events
    assert confirmed[["onset", "offset", "event_label"]].to_dict("records") == [
        {k: r[k] for k in ("onset", "offset", "event_label")} for r in reference
    ]
    estimated_file = root / "out" / "site_b" / "street.sed.csv"
    result = run(
        "evaluate",
        "--reference",
        saved,
        "--estimated",
        estimated_file,
        "--json",
        tmp_path / "e.json",
        cwd=tmp_path,
    )
    figures = json.loads((tmp_path / "e.json").read_text())
    # The same figures from sed_eval, given the reference by hand (evaluated up to the last
    # offset, as sed evaluate says it does without the audio: F1 and error rates do not depend
    # on it).
    assert "evaluated up to the last offset" in result.stderr
    estimated = read_events(estimated_file).events
    length = max(estimated["offset"].max(), max(r["offset"] for r in reference))
    by_hand = Evaluation(set(estimated["event_label"]) | {"Car horn"})
    by_hand.add("street", pd.DataFrame(reference), estimated, length)
    expected = by_hand.results()
    for kind in ("segment_based", "event_based"):
        assert figures[kind]["overall"] == expected[kind]["overall"]
    assert figures["files"][0]["reference_events"] == 2
    assert figures["files"][0]["estimated_events"] == len(estimated)
    assert np.isclose(figures["files"][0]["evaluated_length_seconds"], length)


def test_verdicts_survive_a_reload_and_import_into_a_fresh_browser(page, browser, batch, tmp_path):
    root, _ = batch
    marked_three(page)
    with page.expect_download() as download:
        page.click("#export")
    saved = tmp_path / "verdicts.csv"
    download.value.save_as(saved)
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.text_content("#progress").startswith("3 of ")  # kept in localStorage

    fresh = browser.new_context()
    other = fresh.new_page()
    other.goto((root / "review.html").as_uri())
    other.wait_for_selector("body[data-ready=true]")
    assert other.text_content("#progress").startswith("0 of ")
    other.set_input_files("#import", str(saved))
    other.wait_for_function(
        "() => document.getElementById('progress').textContent.startsWith('3 of')"
    )
    other.select_option("#filter-verdict", "relabelled")
    assert other.eval_on_selector_all(
        "#events > li .verdict", "v => v.map(x => x.textContent)"
    ) == ["other label: Car horn"]
    fresh.close()


def test_clicking_an_overview_selects_the_nearest_event(page):
    page.evaluate("document.getElementById('recordings-heading').scrollIntoView()")
    image = page.locator("#recordings img").first
    image.wait_for()
    page.wait_for_function("() => document.querySelector('#recordings img').naturalWidth > 0")
    recording = page.evaluate("JSON.parse(document.getElementById('review-data').textContent)")
    first = recording["recordings"][0]
    event = next(e for e in recording["events"] if e["r"] == 0)
    left, right = first["plot"]
    box = image.bounding_box()
    middle = (float(event["on"]) + float(event["off"])) / 2 / first["duration"]
    page.mouse.click(box["x"] + box["width"] * (left + middle * (right - left)), box["y"] + 10)
    selected = page.eval_on_selector("#events li.selected", "c => c.getAttribute('aria-label')")
    assert selected.startswith(f"{event['label']}, {first['name']} · {event['on']}")
    assert page.input_value("#filter-recording") == first["name"]


def test_every_control_has_a_label_and_the_keyboard_reaches_them(page):
    unlabelled = page.evaluate(
        "[...document.querySelectorAll('input, select, button, audio')].filter(c =>"
        " !(c.labels && c.labels.length) && !c.getAttribute('aria-label') &&"
        " !c.textContent.trim()).map(c => c.outerHTML.slice(0, 80))"
    )
    assert unlabelled == []
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
    for control in ("filter-label", "filter-min", "filter-max", "filter-verdict", "sort"):
        assert control in reached
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("?")
    assert page.eval_on_selector("#help", "d => d.open")
    page.keyboard.press("Escape")
    assert not page.eval_on_selector("#help", "d => d.open")


@pytest.mark.parametrize("width", [1280, 1024, 768, 390])
def test_every_button_fits_its_card(browser, batch, width):
    root, _ = batch
    context = browser.new_context(viewport={"width": width, "height": 900})
    opened = context.new_page()
    opened.goto((root / "review.html").as_uri())
    opened.wait_for_selector("body[data-ready=true]")
    opened.evaluate("document.querySelectorAll('.relabel').forEach(form => form.hidden = false)")
    outside = opened.evaluate(
        """() => [...document.querySelectorAll('#events > li')].flatMap(card => {
             const box = card.getBoundingClientRect();
             return [...card.querySelectorAll('button, input, audio, .spectrogram-row')]
               .map(e => [e.textContent.trim() || e.tagName, e.getBoundingClientRect()])
               .filter(([, r]) => r.left < box.left - 0.5 || r.right > box.right + 0.5)
               .map(([name]) => name);
           })"""
    )
    assert outside == []
    assert opened.evaluate("document.documentElement.scrollWidth") <= width
    context.close()


def test_clip_spectrograms_show_yamnets_band_and_zoom_out_to_everything(page):
    first = page.locator("#events > li").first
    ticks = first.locator(".frequency-axis .tick").all_text_contents()
    assert ticks[0] == "125" and ticks[-1] == "7.5k"
    page.select_option("#band", "all")
    first = page.locator("#events > li").first
    ticks = first.locator(".frequency-axis .tick").all_text_contents()
    nyquist = page.evaluate("JSON.parse(document.getElementById('review-data').textContent)")[
        "events"
    ][0]["nyquist"]
    assert ticks[0] == "0" and ticks[-1] == f"{nyquist / 1000:.2f}".rstrip("0").rstrip(".") + "k"
