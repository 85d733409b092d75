"""Every reader of user files, fed arbitrary bytes and near-valid variations (hypothesis).

The property: a reader returns, or raises a :class:`sed.errors.SedError` of one line that names the
file and, for a problem inside it, the line (or the key, recording or event where the format has
no lines that matter); never another exception, which the command line would show as a
traceback.
"""

from __future__ import annotations

import csv
import json
import os
import re

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sed.audio import audio_info, find_audio_files
from sed.classes import load_class_map, parse_class_list, read_label_map
from sed.errors import SedError
from sed.events import EVENT_COLUMNS, RAVEN_COLUMNS, read_events
from sed.heads.datasets import csv_dataset
from sed.heads.head import head_description
from sed.postprocessing import PostProcessing, load_config, read_class_thresholds

CLASS_MAP = load_class_map()
FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: Where a problem lies inside a file, as the messages say it.
LOCATION = re.compile(
    r"\bline \d+|recording \d+|event \d+|key '|class_thresholds|keys?: |column '|"
    r"'yamnet'|format \d|header|must be"
)
#: Problems with the file as a whole, that have no line.
WHOLE_FILE = re.compile(
    r"no such file|is a directory|holds no|has no event labels|no row has|need at least two|"
    r"is missing|not a sed head|is empty"
)

# ---- what files are made of --------------------------------------------------------------

CELLS = st.one_of(
    st.sampled_from(
        [
            "0",
            "1.5",
            "2",
            "10",
            "-1",
            "nan",
            "inf",
            "-inf",
            "1e400",
            "0x10",
            "",
            " ",
            "dog",
            "Bicycle bell",
            "Speech",
            "Dog;Bark",
            '"a, b"',
            '"',
            "\\",
            "１",
            "0.2",
            "0.9",
            "True",
            "\x00",
        ]
    ),
    st.text(max_size=8),
)


def table(separator: str, header: st.SearchStrategy[str] | None = None):
    """Text of rows of cells, with a header drawn from ``header`` first (sometimes)."""
    rows = st.lists(st.lists(CELLS, max_size=6).map(separator.join), max_size=6)
    body = rows.map("\n".join)
    if header is None:
        return body
    return st.tuples(st.one_of(header, st.just("")), body, st.sampled_from(["\n", "\r\n"])).map(
        lambda parts: parts[0] + parts[2] + parts[1].replace("\n", parts[2])
    )


def header_of(columns: list[str], separator: str):
    """Permutations of subsets of ``columns`` (and a stray one), joined."""
    return st.lists(st.sampled_from([*columns, "extra", ""]), max_size=len(columns) + 1).map(
        separator.join
    )


EVENT_HEADER = [*EVENT_COLUMNS, "mean_score"]
RAVEN_HEADER = [*RAVEN_COLUMNS, "Annotation", "Species", "Score", "Mean Score"]
JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["", "dog", "1.0", "nan"]),
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
EVENT_OBJECT = st.dictionaries(
    st.sampled_from(["onset", "offset", "event_label", "score", "extra"]), JSON_VALUES, max_size=5
)
RECORDING_OBJECT = st.fixed_dictionaries(
    {},
    optional={
        "filename": JSON_VALUES,
        "duration_seconds": JSON_VALUES,
        "events": st.one_of(st.lists(EVENT_OBJECT, max_size=3), JSON_VALUES),
    },
)
EVENTS_JSON = st.one_of(
    st.fixed_dictionaries({"recordings": st.lists(RECORDING_OBJECT, max_size=3)}),
    JSON_VALUES,
).map(json.dumps)

NEAR_VALID = {
    ".csv": table(",", header_of(EVENT_HEADER, ",")),
    ".tsv": table("\t", st.sampled_from(["onset\toffset\tevent_label", "\\t1\t2"])),
    ".audacity.txt": table("\t", st.just("\\\t100.0\t2000.0")),
    ".selections.txt": table("\t", header_of(RAVEN_HEADER, "\t").map(lambda h: "Selection\t" + h)),
    ".json": EVENTS_JSON,
}


def encodings(text: str):
    """The text as files hold it: UTF-8, with a byte-order mark, or cut mid-character."""
    return st.sampled_from(
        [
            text.encode("utf-8", "surrogatepass"),
            b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass"),
            text.encode("utf-8", "surrogatepass")[:-1],
        ]
    )


def near_valid(strategy):
    return strategy.flatmap(encodings)


# ---- the property -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("readers")


def check(read, path, content: bytes | None = None) -> None:
    """Write ``content`` to ``path``, read it, and check the error if there is one."""
    if content is not None:
        path.write_bytes(content)
    try:
        read(path)
    except SedError as error:
        message = str(error)
        assert "\n" not in message and "\r" not in message, message
        named = os.fspath(path)
        assert error.path == named or error.path.startswith(named + os.sep), message
        assert LOCATION.search(error.message) or WHOLE_FILE.search(error.message), message


@pytest.mark.parametrize("suffix", list(NEAR_VALID))
@FUZZ
@given(content=st.binary(max_size=400))
def test_event_files_of_arbitrary_bytes(folder, suffix, content):
    check(read_events, folder / f"rec{suffix}", content)


@pytest.mark.parametrize("suffix", list(NEAR_VALID))
@FUZZ
@given(data=st.data())
def test_event_files_near_valid(folder, suffix, data):
    check(read_events, folder / f"rec{suffix}", data.draw(near_valid(NEAR_VALID[suffix])))


#: Small CSV parameter files: reader, and the headers a near-valid file starts with.
PARAMETER_FILES = {
    "label map": (
        lambda path: read_label_map(path, CLASS_MAP),
        ["event_label,yamnet_display_names", "event_label,yamnet_display_names,x", "label,names"],
    ),
    "class thresholds": (
        read_class_thresholds,
        ["event_label,threshold_on", "event_label,threshold_on,threshold_off", "label,on"],
    ),
}


@pytest.mark.parametrize("kind", list(PARAMETER_FILES))
@FUZZ
@given(data=st.data())
def test_parameter_files(folder, kind, data):
    read, headers = PARAMETER_FILES[kind]
    near = near_valid(table(",", st.sampled_from(headers)))
    check(read, folder / "parameters.csv", data.draw(st.one_of(st.binary(max_size=300), near)))


CONFIG_KEYS = [*PostProcessing().to_dict(), "class_thresholds", "smoothing"]
CONFIG = st.dictionaries(
    st.sampled_from(CONFIG_KEYS),
    st.one_of(
        JSON_LEAVES.filter(lambda v: v is not None),
        st.dictionaries(
            st.sampled_from(["dog", "Speech"]),
            st.one_of(
                JSON_LEAVES.filter(lambda v: v is not None),
                st.dictionaries(st.sampled_from(["on", "off", "x"]), st.floats(-1, 2), max_size=3),
            ),
            max_size=2,
        ),
    ),
    max_size=5,
)


@pytest.mark.parametrize("suffix", [".toml", ".json"])
@FUZZ
@given(data=st.data())
def test_configurations(folder, suffix, data):
    kind = data.draw(st.sampled_from(["bytes", "near-valid", "mangled"]))
    if kind == "bytes":
        content = data.draw(st.binary(max_size=300))
    else:
        values = data.draw(CONFIG)
        text = tomli_w.dumps(values) if suffix == ".toml" else json.dumps(values)
        if kind == "mangled":  # a character removed or doubled somewhere
            at = data.draw(st.integers(0, max(0, len(text) - 1)))
            text = text[:at] + data.draw(st.sampled_from(["", text[at : at + 1] * 2, "=", "\n"]))
            text += text[at + 1 :]
        content = text.encode()
    check(load_config, folder / f"pp{suffix}", content)


TRAINING_CSV = table(",", header_of(["filename", "category", "fold", "src_file"], ","))


@FUZZ
@given(content=st.one_of(st.binary(max_size=300), near_valid(TRAINING_CSV)))
def test_training_csv(folder, content):
    check(lambda path: csv_dataset(path, label_column="category"), folder / "meta.csv", content)


@FUZZ
@given(
    metadata=st.one_of(st.binary(max_size=200), JSON_VALUES.map(lambda v: json.dumps(v).encode())),
    head_json=st.fixed_dictionaries(
        {"format": st.sampled_from([1, 2, "1"])},
        optional={"yamnet": JSON_VALUES, "labels": JSON_VALUES},
    ),
    labels=st.binary(max_size=100),
    structured=st.booleans(),
)
def test_head_descriptions(folder, metadata, head_json, labels, structured):
    head = folder / "head"
    head.mkdir(exist_ok=True)
    (head / "model.keras").write_bytes(b"")
    (head / "head.json").write_bytes(json.dumps(head_json).encode() if structured else metadata)
    (head / "labels.txt").write_bytes(labels)
    check(head_description, head)


@FUZZ
@given(
    text=st.one_of(
        st.text(max_size=40),
        st.lists(
            st.sampled_from(["Dog", "Bark", "Chicken, rooster", "/m/09x0r", "Dgo", "", " "]),
            max_size=4,
        ).map(",".join),
    )
)
def test_class_lists(text):
    try:
        selection = parse_class_list(text, CLASS_MAP)
    except SedError as error:
        assert "\n" not in str(error)
    else:
        assert len(selection) >= 1


@FUZZ
@given(
    lines=st.lists(
        st.one_of(
            st.text(max_size=20).map(lambda text: text.replace("\n", "")),  # one per line
            st.sampled_from(["", " ", ".", "/", "\x00", "-", "rec.wav", "../x.flac", "a\rb"]),
        ),
        max_size=6,
    )
)
def test_path_lists_on_standard_input(folder, lines):
    found = find_audio_files(["-"], stdin=[line + "\n" for line in lines])
    for path in found.paths:
        with pytest.raises(SedError) as caught:
            audio_info(path)
        assert "\n" not in str(caught.value)


@pytest.mark.slow  # a real batch: loads the model
def test_bytes_of_any_kind_on_standard_input_reach_the_batch(tmp_path):
    # Not UTF-8, NUL bytes, the same path twice: each line is a recording that fails, in one line.
    import subprocess
    import sys
    from pathlib import Path

    sed = str(Path(sys.executable).parent / "sed")
    stdin = b"caf\xe9.wav\nnul\x00.wav\n" + bytes(range(1, 32)) + b"\n\n  \nsame.wav\nsame.wav\n"
    result = subprocess.run(
        [sed, "detect", "-", "-o", str(tmp_path / "out"), "--quiet"],
        input=stdin,
        capture_output=True,
        cwd=tmp_path,
    )
    stderr = result.stderr.decode()
    assert result.returncode == 1 and "Traceback" not in stderr, stderr
    assert "note: 1 input named a recording already listed" in stderr
    with open(tmp_path / "out" / "failures.csv", newline="", encoding="utf-8") as handle:
        failures = list(csv.reader(handle))
    # caf\xe9, nul\x00, the control characters (two lines: \n is among them), same.wav once.
    assert failures[0] == ["path", "error"] and len(failures) == 1 + 5, failures
    assert [error for _, error in failures[1:]] == ["no such file"] * 5
    assert failures[1][0] == "caf\\xe9.wav"  # the byte that is not UTF-8, written as an escape
