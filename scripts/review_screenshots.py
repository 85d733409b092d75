"""Screenshots of a review page for docs/review.md, taken in headless Chromium (Debian's).

    uv run python scripts/review_screenshots.py REVIEW.html docs/images

Writes ``review_summary.png`` (the summary, unfolded), ``review_events.png`` (the events, after
the verdicts of docs/review.md given with the keyboard: two correct, one relabelled "cat", one
wrong) and ``review_recordings.png`` (the first recording's overview). The docs' pictures come
from the page built by the example of docs/review.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from sed.review.chromium import CHROMIUM, HEADLESS_ARGUMENTS


def main() -> None:
    page_path, folder = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*HEADLESS_ARGUMENTS, "--hide-scrollbars"]
        )
        page = browser.new_page(viewport={"width": 1200, "height": 860})
        page.goto(page_path.as_uri())
        page.wait_for_selector("body[data-ready=true]")

        page.select_option("#page-size", "10")
        page.evaluate("() => document.getElementById('events-heading').scrollIntoView()")
        page.evaluate("() => document.activeElement.blur()")
        for key in ("j", "c", "c", "l"):  # the verdicts of docs/review.md
            page.keyboard.press(key)
        page.keyboard.type("cat")
        page.keyboard.press("Enter")
        for key in ("j", "w"):
            page.keyboard.press(key)
        page.evaluate("() => document.getElementById('events-heading').scrollIntoView()")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#events img')].every(i => i.complete)"
        )
        page.screenshot(path=folder / "review_events.png")

        page.click("#summary > summary")  # folded under the events
        page.evaluate("() => document.getElementById('summary').scrollIntoView()")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#summary img')].every(i => i.complete)"
        )
        page.screenshot(path=folder / "review_summary.png")

        page.evaluate("() => document.getElementById('recordings-heading').scrollIntoView()")
        page.wait_for_function("() => document.querySelector('#recordings img').complete")
        page.screenshot(path=folder / "review_recordings.png")
        browser.close()
    for name in ("review_summary", "review_events", "review_recordings"):
        shrink(folder / f"{name}.png")
        print(folder / f"{name}.png")


def shrink(path: Path) -> None:
    """256 colours are plenty for a screenshot, at a third of the bytes."""
    from PIL import Image

    with Image.open(path) as image:
        reduced = image.convert("RGB").quantize(256, dither=Image.Dither.NONE)
    reduced.save(path, optimize=True)


if __name__ == "__main__":
    main()
