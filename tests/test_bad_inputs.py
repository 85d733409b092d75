"""Inputs that used to give a wrong result without a word, a traceback, or an unclear message:
names that do not survive a table, numbers out of any sane range, special files.

Each test here is named by a case of ``tests/reliability_cases.py`` (docs/reliability.md).
"""

from __future__ import annotations

import os
import warnings

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sed.audio import display_path, recording_stem
from sed.events import (
    event_table,
    read_durations,
    read_events,
    write_durations_tsv,
    write_events,
    write_events_tsv,
)

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: Characters a file system allows in a name that tables trip on: tabs, line breaks, quotes,
#: commas, semicolons, separators, and bytes that are not UTF-8 (held as surrogates).
AWKWARD = '\t\n\r\x0b\x0c\x1c\x85\u2028"\',; \\#%é\udce9\udcff'
NAMES = st.text(alphabet=st.sampled_from(AWKWARD) | st.sampled_from("ab1-_"), min_size=1).map(
    lambda stem: stem + ".wav"
)


def _events(names):
    rows = []
    for number, name in enumerate(names):
        rows.append(
            {
                "filename": display_path(name),
                "onset": 1.0 + number,
                "offset": 2.5 + number,
                "event_label": "Bicycle bell",
                "score": 0.5,
            }
        )
    return event_table(rows)


@PROPERTY
@given(names=st.lists(NAMES, min_size=2, max_size=3, unique_by=lambda n: display_path(n)))
def test_every_table_round_trips_for_any_file_name(tmp_path_factory, names):
    """Names with tabs, line breaks, quotes, commas and non-UTF-8 bytes are written in
    :func:`display_path`'s form, one row each, and read back as written by sed's readers and
    by pandas, dcase_util and sed_scores_eval."""
    stems = {recording_stem(name) for name in names}
    if len(stems) < len(names):  # two recordings of one stem are refused before this
        return
    folder = tmp_path_factory.mktemp("names")
    events = _events(names)
    written = events["filename"].tolist()  # in the table's order
    for format in ("csv", "tsv", "json"):
        path = folder / f"all_events.{format}"
        if format == "tsv":
            write_events_tsv(events, path, with_filename=True)
        else:
            write_events(events, path, format)
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) == len(names) + (format != "json") or format == "json"
        got = read_events(path).events
        # sed's readers trim the spaces around a cell (hand-edited tables): a name's own spaces
        # at its ends are not kept (JSON keeps them).
        kept = written if format == "json" else [name.strip() for name in written]
        assert got["filename"].tolist() == kept, format
    durations = {name: 10.0 + n for n, name in enumerate(written)}
    write_durations_tsv(durations, folder / "durations.tsv")
    read = read_durations(folder / "durations.tsv")
    assert {name for name, _ in read.values()} == {name.strip() for name in written}
    # The client libraries: pandas (psds_eval), sed_scores_eval, dcase_util (sed_eval).
    table = pd.read_csv(folder / "all_events.tsv", sep="\t", keep_default_na=False)
    assert table["filename"].tolist() == written
    table = pd.read_csv(folder / "all_events.csv", keep_default_na=False)
    assert table["filename"].tolist() == written
    assert pd.read_csv(folder / "durations.tsv", sep="\t", keep_default_na=False)[
        "filename"
    ].tolist() == list(durations)
    sed_scores_eval = pytest.importorskip("sed_scores_eval")
    truth = sed_scores_eval.io.read_ground_truth_events(folder / "all_events.tsv")
    assert sorted(truth) == sorted(stems)
    from sed.evaluation import import_sed_eval

    if not all(name.isascii() for name in written):
        return  # dcase_util reads no table with a non-ASCII character (its format sniffing)
    sed_eval, _ = import_sed_eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = sed_eval.io.load_event_list(os.fspath(folder / "all_events.tsv"))
    # dcase_util writes a Windows path's backslashes as slashes.
    assert sorted(item.filename for item in loaded) == sorted(
        name.replace("\\", "/") for name in written
    )
