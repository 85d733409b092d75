"""`sed search --recording` and `--time-of-day`: a search narrowed to some recordings and hours."""

from __future__ import annotations

from datetime import time

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sed.cli import cli
from sed.errors import ParameterError
from sed.events import read_events
from sed.index import IndexWriter, index_settings, open_index
from sed.search import search, similarities
from sed.search_filter import TimeOfDay, select_windows

WINDOWS = 120  # 60 s at the 0.5 s hop
#: Names as a recorder writes them: one starting 30 s before midnight, one at dawn, one undated.
NAMES = (
    "siteA/AM1_20240601_235930.wav",
    "siteB/AM2_20240602_053000.wav",
    "notes/take_1.wav",
)


@pytest.fixture(scope="module")
def dated(tmp_path_factory, model):
    """An index of three 60 s recordings of random (non-negative) embeddings, written with the
    default model's settings so that a real query can search it."""
    folder = tmp_path_factory.mktemp("filter") / "idx"
    rng = np.random.default_rng(0)
    with IndexWriter(str(folder), index_settings(model)) as writer:
        for name in NAMES:
            writer.add(name, WINDOWS * 0.5, rng.random((WINDOWS, 1024), dtype=np.float32))
    return open_index(folder)


def rows_of(index, position: int, windows) -> np.ndarray:
    return index.recordings[position].first_row + np.asarray(windows, np.int64)


def test_time_of_day_is_parsed_and_wraps_past_midnight():
    night = TimeOfDay.parse("22:00-04:00")
    assert (night.start, night.end) == (time(22), time(4))
    assert str(night) == "22:00-04:00"
    clock = np.array([21.99, 22.0, 23.5, 0.0, 3.99, 4.0, 12.0]) * 3600
    np.testing.assert_array_equal(night.contains(clock), [0, 1, 1, 1, 1, 0, 0])
    dawn = TimeOfDay.parse(" 4:30 - 07:00 ")
    np.testing.assert_array_equal(dawn.contains(clock), [0, 0, 0, 0, 0, 0, 0])
    assert TimeOfDay.parse("00:00-00:00").contains(clock).all()  # the whole day
    for wrong in ("4-7", "04:30", "25:00-01:00", "04:60-05:00", "dawn"):
        with pytest.raises(ParameterError, match="--time-of-day"):
            TimeOfDay.parse(wrong)


def test_recordings_are_chosen_by_glob_patterns(dated):
    assert select_windows(dated) is None
    chosen = select_windows(dated, recordings=["siteA/*"])
    np.testing.assert_array_equal(chosen.rows, rows_of(dated, 0, range(WINDOWS)))
    both = select_windows(dated, recordings=["*AM2_*", "*/take_?.wav"])
    expected = np.concatenate(
        [rows_of(dated, 1, range(WINDOWS)), rows_of(dated, 2, range(WINDOWS))]
    )
    np.testing.assert_array_equal(both.rows, expected)
    assert both.undated == 0  # no time of day asked for
    with pytest.raises(ParameterError, match="'siteC/\\*' matches no recording"):
        select_windows(dated, recordings=["siteA/*", "siteC/*"])


def test_windows_are_chosen_by_the_clock_time_they_start_at(dated):
    # siteA starts at 23:59:30: its window i at 23:59:30 + i / 2 s, past midnight from i = 60.
    after_midnight = select_windows(dated, time_of_day=TimeOfDay.parse("00:00-00:01"))
    np.testing.assert_array_equal(after_midnight.rows, rows_of(dated, 0, range(60, WINDOWS)))
    assert after_midnight.undated == 1  # notes/take_1.wav has no start time
    last_minute = select_windows(dated, time_of_day=TimeOfDay.parse("23:59-00:00"))
    np.testing.assert_array_equal(last_minute.rows, rows_of(dated, 0, range(60)))
    dawn = select_windows(dated, recordings=["siteB/*"], time_of_day=TimeOfDay.parse("05:30-05:31"))
    np.testing.assert_array_equal(dawn.rows, rows_of(dated, 1, range(WINDOWS)))
    assert dawn.undated == 0
    with pytest.raises(ParameterError, match="no window .* left by --time-of-day 12:00-13:00"):
        select_windows(dated, time_of_day=TimeOfDay.parse("12:00-13:00"))
    with pytest.raises(ParameterError, match="1 recording without a YYYYMMDD_HHMMSS"):
        select_windows(dated, recordings=["notes/*"], time_of_day=TimeOfDay.parse("00:00-00:00"))


def test_a_filtered_search_returns_the_best_of_the_windows_it_keeps(dated):
    # The query is a window of siteA: unfiltered it is found first; kept to siteB, the hits are
    # siteB's windows in the order of their exact scores over the whole index.
    query = np.asarray(dated.vectors[rows_of(dated, 0, [10])])
    assert search(dated, [query], k=5, exact=True).rows[0] == rows_of(dated, 0, [10])[0]
    within = select_windows(dated, recordings=["siteB/*"]).rows
    hits = search(dated, [query], k=5, within=within)
    every = similarities(dated, [query])
    best = within[np.argsort(-every[within], kind="stable")[:5]]
    np.testing.assert_array_equal(hits.rows, best)
    np.testing.assert_allclose(hits.scores, every[best], rtol=1e-6)
    assert set(hits.recordings) == {1}
    assert len(search(dated, [query], k=5, within=np.zeros(0, np.int64))) == 0


def test_cli_search_narrowed_by_recording_and_time_of_day(tmp_path, dated, bells_wav):
    query = tmp_path / "bell.wav"
    samples, rate = sf.read(bells_wav, dtype="float32", frames=rate_frames(bells_wav, 1.0))
    sf.write(query, samples, rate)
    out = tmp_path / "hits.csv"
    command = ["search", dated.folder, "--query", str(query), "-k", "50", "-o", str(out)]
    result = CliRunner().invoke(cli, [*command, "--time-of-day", "23:00-01:00"])
    assert result.exit_code == 0, result.output
    assert "1 recording without a YYYYMMDD_HHMMSS start time" in result.stderr
    hits = read_events(out).events
    assert set(hits["filename"]) == {NAMES[0]}
    out.unlink()
    result = CliRunner().invoke(cli, [*command, "--recording", "siteB/*", "--recording", "notes/*"])
    assert result.exit_code == 0, result.output
    assert set(read_events(out).events["filename"]) <= {NAMES[1], NAMES[2]}
    for wrong, message in (
        (["--time-of-day", "late"], "--time-of-day takes HH:MM-HH:MM"),
        (["--recording", "site9/*"], "matches no recording"),
    ):
        result = CliRunner().invoke(cli, [*command, *wrong])
        assert result.exit_code == 2, result.output
        assert message in result.output and "Traceback" not in result.output


def rate_frames(path, seconds: float) -> int:
    return int(seconds * sf.info(path).samplerate)
