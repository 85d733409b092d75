"""sed_eval's own test suite, run through ``sed evaluate`` as a user runs it.

Every case of sed_eval's ``tests/test_sound_event.py`` (sed_eval 0.2.1; its event lists are in
``../shared/data/sed_eval_tests/`` with a README listing what each case asserts) is run as a
subprocess of the ``sed`` command, from the files as they are (or, for the cases whose event
lists sed_eval's tests build in code, from files holding those lists), with ``--json``. Then:

- every figure the README lists is checked to 1e-6 (sed_eval's own assertions);
- every overall, class-wise and class-wise-average figure of the JSON is checked against
  sed_eval called directly on the same files, the way its tests call it, to 1e-9; a figure
  ``sed`` reports as undefined (null) must be one whose denominator is 0 in sed_eval's counts.

This is the proof that ``sed evaluate`` reads what the DCASE tools read and gives sed_eval's
figures. Two cases run the ``sed`` script in a subprocess (its real entry point and a clean
standard error); the others go through click's runner, the same command line without a Python
start each.
"""

from __future__ import annotations

import contextlib
import json
import math
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sed.cli import cli
from sed.evaluation import import_sed_eval
from tests.conftest import SHARED_DATA

SED = str(Path(sys.executable).parent / "sed")
SUITE = SHARED_DATA / "sed_eval_tests"
STREET_FILES = ["a010", "a013", "a129", "b008", "b099", "b100"]
#: The street lists as sed_eval's tests score them: reference labels, sed_eval's offset collar.
STREET = [
    "--reference", SUITE / "street_fold1_reference.txt",
    "--estimated", SUITE / "street_fold1_detected.txt",
    "--labels", "reference",
    "--percentage-of-length", "0.5",
]  # fmt: skip

pytestmark = pytest.mark.skipif(
    not SUITE.is_dir(), reason=f"sed_eval's test data not found at {SUITE}"
)


def sed_evaluate(tmp_path: Path, *args, as_subprocess: bool = False) -> dict:
    """Run ``sed evaluate ARGS --json`` in ``tmp_path``: through click's runner (the command's
    own argument parsing and output, without a second Python start), or as a subprocess of the
    ``sed`` script. Standard error may hold warnings only."""
    out = tmp_path / f"results{len(list(tmp_path.glob('results*.json')))}.json"
    argv = ["evaluate", *map(str, args), "--json", str(out)]
    if as_subprocess:
        result = subprocess.run(
            [SED, *argv], capture_output=True, text=True, cwd=tmp_path, timeout=300
        )
        status, stderr = result.returncode, result.stderr
    else:
        with contextlib.chdir(tmp_path):
            invoked = CliRunner().invoke(cli, argv)
        status, stderr = invoked.exit_code, invoked.stderr
    assert status == 0, stderr
    for line in stderr.splitlines():  # no numpy RuntimeWarning, no traceback
        assert line.startswith("sed evaluate: warning: "), stderr
    return json.loads(out.read_text())


def figure(results: dict, path: str):
    value = results
    for key in path.split("/"):
        value = value[key]
    return value


# ---- sed_eval called directly, as its tests call it ----------------------------------------


def load(name):
    sed_eval, _ = import_sed_eval()
    return sed_eval.io.load_event_list(str(SUITE / name))


def container(rows):
    _, dcase_util = import_sed_eval()
    return dcase_util.containers.MetaDataContainer(rows)


@dataclass
class Direct:
    """sed_eval's metric objects after evaluating a case file by file."""

    segment: object
    event: object


def sed_eval_directly(pairs, labels, *, lengths=None, **event_settings) -> Direct:
    """Evaluate (reference, estimated) lists with sed_eval's own classes."""
    sed_eval, _ = import_sed_eval()
    segment = sed_eval.sound_event.SegmentBasedMetrics(list(labels), time_resolution=1.0)
    event = sed_eval.sound_event.EventBasedMetrics(list(labels), **event_settings)
    for index, (reference, estimated) in enumerate(pairs):
        length = lengths[index] if lengths else None
        segment.evaluate(reference, estimated, evaluated_length_seconds=length)
        event.evaluate(reference, estimated)
    return Direct(segment, event)


def per_file(reference, estimated):
    """sed_eval's tests: each file of the reference list, both lists filtered to it."""
    return [
        (reference.filter(filename=name), estimated.filter(filename=name))
        for name in reference.unique_files
    ]


#: The count whose zero makes each figure undefined (the denominator sed_eval fills with eps).
DENOMINATORS = {
    "precision": ("Nsys",),
    "recall": ("Nref",),
    "error_rate": ("Nref",),
    "substitution_rate": ("Nref",),
    "deletion_rate": ("Nref",),
    "insertion_rate": ("Nref",),
    "sensitivity": ("Ntp", "Nfn"),
    "specificity": ("Ntn", "Nfp"),
    "accuracy": ("Ntp", "Ntn", "Nfp", "Nfn"),
}


def undefined_in_sed_eval(counts: dict, name: str, figures: dict) -> bool:
    if name == "f_measure":
        return any(undefined_in_sed_eval(counts, n, figures) for n in ("precision", "recall"))
    if name == "balanced_accuracy":
        return any(
            undefined_in_sed_eval(counts, n, figures) for n in ("sensitivity", "specificity")
        )
    return sum(counts[c] for c in DENOMINATORS[name]) == 0


def compare(ours: dict, metrics) -> int:
    """Every figure of ours against sed_eval's metric object; returns how many were compared."""
    with warnings.catch_warnings():  # numpy's "Mean of empty slice" inside sed_eval
        warnings.simplefilter("ignore")
        theirs = metrics.results()
    compared = 0
    blocks = [("overall", ours["overall"], theirs["overall"], metrics.overall)]
    blocks += [
        (
            f"class_wise/{label}",
            ours["class_wise"][label],
            theirs["class_wise"][label],
            metrics.class_wise[label],
        )
        for label in theirs["class_wise"]
    ]
    for where, mine, reference, counts in blocks:
        for group, values in reference.items():
            if group == "count":
                assert mine["count"] == pytest.approx(values), where
                compared += len(values)
                continue
            for name, value in values.items():
                got = mine[group][name]
                if got is None:
                    assert undefined_in_sed_eval(counts, name, values), f"{where}/{group}/{name}"
                else:
                    assert got == pytest.approx(value, abs=1e-9), f"{where}/{group}/{name}"
                compared += 1
    for group, values in theirs["class_wise_average"].items():
        for name, value in values.items():
            defined = [
                ours["class_wise"][label][group][name]
                for label in ours["class_wise"]
                if ours["class_wise"][label][group][name] is not None
            ]
            if len(defined) == len(ours["class_wise"]):  # sed_eval's own mean
                assert ours["class_wise_average"][group][name] == pytest.approx(value, abs=1e-9)
            elif defined:  # sed_eval averages in its epsilon-divided figures; we do not
                assert ours["class_wise_average"][group][name] == pytest.approx(np.mean(defined))
            else:
                assert ours["class_wise_average"][group][name] is None
            compared += 1
    return compared


def compare_all(results: dict, direct: Direct, *, kinds=("segment_based", "event_based")) -> int:
    compared = 0
    for kind in kinds:
        metrics = direct.segment if kind == "segment_based" else direct.event
        compared += compare(results[kind], metrics)
    assert compared >= 21
    return compared


def check_readme(results: dict, expected: dict) -> None:
    for path, value in expected.items():
        assert figure(results, path) == pytest.approx(value, abs=1e-6), path


# ---- the cases ------------------------------------------------------------------------------


@pytest.mark.slow
def test_dcase_style_street(tmp_path):
    """Six recordings in one 5-field file (filename scene_label onset offset event_label),
    scored per recording with the reference labels; lengths up to the last offset."""
    results = sed_evaluate(tmp_path, *STREET, as_subprocess=True)
    check_readme(
        results,
        {
            "segment_based/overall/accuracy/accuracy": 0.84244791666,
            "segment_based/overall/error_rate/error_rate": 1.0616698292,
        },
    )
    assert [f["filename"] for f in results["files"]] == [
        f"audio/street/{name}.wav" for name in STREET_FILES
    ]
    reference, estimated = load("street_fold1_reference.txt"), load("street_fold1_detected.txt")
    direct = sed_eval_directly(
        per_file(reference, estimated),
        reference.unique_event_labels,
        t_collar=0.2,
        percentage_of_length=0.5,
    )
    compare_all(results, direct)


def test_dcase_style_street_1200_s_per_recording(tmp_path):
    """The same with each recording 1200 s long, from a durations table."""
    (tmp_path / "durations.tsv").write_text(
        "filename\tduration\n"
        + "".join(f"audio/street/{name}.wav\t1200\n" for name in STREET_FILES)
    )
    results = sed_evaluate(tmp_path, *STREET, "--durations", "durations.tsv")
    check_readme(
        results,
        {
            "segment_based/overall/accuracy/accuracy": 0.9719907407,
            "segment_based/overall/error_rate/error_rate": 1.0616698292,
        },
    )
    assert {f["length_source"] for f in results["files"]} == {"durations"}
    reference, estimated = load("street_fold1_reference.txt"), load("street_fold1_detected.txt")
    direct = sed_eval_directly(
        per_file(reference, estimated),
        reference.unique_event_labels,
        lengths=[1200.0] * 6,
        percentage_of_length=0.5,
    )
    compare_all(results, direct)


def test_the_same_lists_with_comma_and_semicolon_delimiters(tmp_path):
    """dcase_util reads ``,`` and ``;`` too: the street lists rewritten with them score the same."""
    tab = sed_evaluate(
        tmp_path,
        "--reference", SUITE / "street_fold1_reference.txt",
        "--estimated", SUITE / "street_fold1_detected.txt",
    )  # fmt: skip
    for delimiter in (",", ";"):
        for name in ("street_fold1_reference", "street_fold1_detected"):
            text = (SUITE / f"{name}.txt").read_text().replace("\t", delimiter)
            (tmp_path / f"{name}.txt").write_text(text)
        other = sed_evaluate(
            tmp_path,
            "--reference", "street_fold1_reference.txt",
            "--estimated", "street_fold1_detected.txt",
        )  # fmt: skip
        for kind in ("segment_based", "event_based"):
            assert other[kind] == tab[kind]


def binary_file_list(tmp_path, *names) -> Path:
    path = tmp_path / "file_list.txt"
    path.write_text(
        "".join(f"{SUITE / f'{n}.txt'}\t{SUITE / f'{n}_detected.txt'}\n" for n in names)
    )
    return path


def test_binary(tmp_path):
    """Two file pairs, one a recording without reference events: segment- and event-based.

    The README rounds 2/3 to 0.6667; sed_eval's test asserts 0.666666666 (7 places)."""
    results = sed_evaluate(
        tmp_path,
        "--file-list", binary_file_list(tmp_path, "binary1", "binary2"),
        "--labels", "reference",
        "--t-collar", "0.2",
        "--percentage-of-length", "0.5",
    )  # fmt: skip
    check_readme(
        results,
        {
            "segment_based/overall/accuracy/accuracy": 2 / 3,
            "segment_based/overall/accuracy/balanced_accuracy": 0.75,
            "segment_based/overall/accuracy/sensitivity": 1.0,
            "segment_based/overall/accuracy/specificity": 0.5,
            "segment_based/overall/error_rate/error_rate": 1.0,
            "segment_based/overall/f_measure/f_measure": 2 / 3,
            "event_based/overall/error_rate/error_rate": 1.0,
            "event_based/overall/f_measure/f_measure": 2 / 3,
        },
    )
    pairs = [(load(f"{n}.txt"), load(f"{n}_detected.txt")) for n in ("binary1", "binary2")]
    compare_all(results, sed_eval_directly(pairs, ["event1"], percentage_of_length=0.5))


def test_binary_recordings_without_events(tmp_path):
    """binary5: recordings listed by a line holding only their file name."""
    results = sed_evaluate(
        tmp_path,
        "--reference", SUITE / "binary5.txt",
        "--estimated", SUITE / "binary5_detected.txt",
        "--labels", "reference",
        "--percentage-of-length", "0.5",
    )  # fmt: skip
    check_readme(
        results,
        {
            "event_based/overall/error_rate/error_rate": 1.5,
            "event_based/overall/f_measure/f_measure": 0.0,
        },
    )
    assert len(results["files"]) == 6  # two recordings have no events on either side
    reference, estimated = load("binary5.txt"), load("binary5_detected.txt")
    direct = sed_eval_directly(
        per_file(reference, estimated), reference.unique_event_labels, percentage_of_length=0.5
    )
    compare_all(results, direct, kinds=("event_based",))


def test_all_binary_pairs_of_the_file_list(tmp_path):
    """sed_eval's file list as it is, with binary4 empty on both sides (no length known)."""
    results = sed_evaluate(tmp_path, "--file-list", SUITE / "file_list_binary.txt")
    assert [f["filename"] for f in results["files"]] == [f"binary{i}" for i in range(1, 5)]
    assert results["files"][3]["evaluated_length_seconds"] == 0.0
    pairs = [(load(f"binary{i}.txt"), load(f"binary{i}_detected.txt")) for i in range(1, 5)]
    compare_all(
        results, sed_eval_directly(pairs, ["event1"], t_collar=0.2, percentage_of_length=0.2)
    )


def test_audioset(tmp_path):
    """AudioSet mids in the file column, display names (with commas) as labels."""
    results = sed_evaluate(
        tmp_path,
        "--reference", SUITE / "audioset1.txt",
        "--estimated", SUITE / "audioset1_detected.txt",
        "--labels", "reference",
    )  # fmt: skip
    check_readme(
        results,
        {
            "segment_based/overall/accuracy/accuracy": 1.0,
            "segment_based/overall/accuracy/balanced_accuracy": 1.0,
            "segment_based/overall/accuracy/sensitivity": 1.0,
            "segment_based/overall/accuracy/specificity": 1.0,
            "segment_based/overall/error_rate/error_rate": 0.0,
            "segment_based/overall/f_measure/f_measure": 1.0,
        },
    )
    reference, estimated = load("audioset1.txt"), load("audioset1_detected.txt")
    direct = sed_eval_directly(
        per_file(reference, estimated), reference.unique_event_labels, percentage_of_length=0.2
    )
    assert compare_all(results, direct) > 225


def test_event_matching_optimal_and_greedy(tmp_path):
    """Street lists, event-based: optimal and greedy matching agree."""
    reference, estimated = load("street_fold1_reference.txt"), load("street_fold1_detected.txt")
    figures = {}
    for matching in ("optimal", "greedy"):
        results = sed_evaluate(tmp_path, *STREET, "--event-matching", matching)
        assert results["settings"]["event_matching"] == matching
        check_readme(
            results,
            {
                "event_based/overall/f_measure/f_measure": 0.0,
                "event_based/overall/error_rate/error_rate": 2.535211,
            },
        )
        direct = sed_eval_directly(
            per_file(reference, estimated),
            reference.unique_event_labels,
            percentage_of_length=0.5,
            event_matching_type=matching,
        )
        compare_all(results, direct, kinds=("event_based",))
        figures[matching] = [
            figure(results, f"event_based/{path}")
            for path in (
                "overall/f_measure/f_measure",
                "overall/error_rate/error_rate",
                "class_wise_average/error_rate/error_rate",
            )
        ]
    assert figures["optimal"] == pytest.approx(figures["greedy"], abs=1e-6)


@pytest.mark.parametrize("matching", ["optimal", "greedy"])
def test_event_matching_onset_only_mini(tmp_path, matching):
    """mini_reference against mini_detected_a and _b (the same events in another order)."""
    for estimated in ("mini_detected_a.txt", "mini_detected_b.txt"):
        results = sed_evaluate(
            tmp_path,
            "--reference", SUITE / "mini_reference.txt",
            "--estimated", SUITE / estimated,
            "--labels", "reference",
            "--t-collar", "0.25",
            "--onset-only",
            "--event-matching", matching,
        )  # fmt: skip
        check_readme(
            results,
            {
                "event_based/overall/f_measure/f_measure": 1.0,
                "event_based/overall/error_rate/error_rate": 0.0,
            },
        )
        direct = sed_eval_directly(
            [(load("mini_reference.txt"), load(estimated))],
            ["event1"],
            t_collar=0.25,
            evaluate_offset=False,
            event_matching_type=matching,
        )
        compare_all(results, direct, kinds=("event_based",))


ORDER_A = [(1.0, 3.0), (1.5, 3.0)]
ORDER_B = [(1.5, 3.0), (1.0, 3.0)]
ESTIMATES_A = [(1.25, 3.0), (1.75, 3.0)]
ESTIMATES_B = [(1.75, 3.0), (1.25, 3.0)]


@pytest.mark.parametrize(
    "reference,estimated,greedy_f",
    [
        (ORDER_A, ESTIMATES_A, 1.0),
        (ORDER_A, ESTIMATES_B, 1.0),
        (ORDER_B, ESTIMATES_A, 0.5),  # greedy matching depends on the reference order
        (ORDER_B, ESTIMATES_B, 1.0),
    ],
)
def test_event_matching_order_lists(tmp_path, reference, estimated, greedy_f):
    """sed_eval's in-code lists of test_event_matching, written as files in their order."""
    for name, rows in (("ref.txt", reference), ("est.txt", estimated)):
        (tmp_path / name).write_text("".join(f"f1.wav\t{a}\t{b}\tevent A\n" for a, b in rows))
    for matching, expected in (("optimal", 1.0), ("greedy", greedy_f)):
        results = sed_evaluate(
            tmp_path,
            "--reference", "ref.txt",
            "--estimated", "est.txt",
            "--t-collar", "0.25",
            "--onset-only",
            "--event-matching", matching,
        )  # fmt: skip
        assert figure(results, "event_based/overall/f_measure/f_measure") == expected


EMPTY_OUTPUT_REFERENCE = "filename\tonset\toffset\tevent_label\nf1.wav\t0.3\t0.8\tevent A\n"
EMPTY_OUTPUT_REFERENCE += "f2.wav\t0.1\t0.8\tevent B\n"


@pytest.mark.parametrize("handling,expected", [("undefined", 1.0), ("zero_score", 0.5)])
def test_empty_system_output_handling(tmp_path, handling, expected):
    """A class never detected: class-wise average F over the classes where it is defined."""
    (tmp_path / "ref.tsv").write_text(EMPTY_OUTPUT_REFERENCE)
    # f2.wav has no estimated events: a line holding its name alone says so (dcase_util).
    (tmp_path / "est.tsv").write_text("f1.wav\t0.2\t0.9\tevent A\nf2.wav\n")
    results = sed_evaluate(
        tmp_path,
        "--reference", "ref.tsv",
        "--estimated", "est.tsv",
        "--percentage-of-length", "0.2",
        "--empty-system-output", handling,
    )  # fmt: skip
    check_readme(results, {"event_based/class_wise_average/f_measure/f_measure": expected})
    sed_eval, _ = import_sed_eval()
    reference = [
        {"filename": "f1.wav", "onset": 0.3, "offset": 0.8, "event_label": "event A"},
        {"filename": "f2.wav", "onset": 0.1, "offset": 0.8, "event_label": "event B"},
    ]
    estimated = [{"filename": "f1.wav", "onset": 0.2, "offset": 0.9, "event_label": "event A"}]
    pairs = [
        (
            sed_eval.util.event_list.filter_event_list(reference, filename=name),
            sed_eval.util.event_list.filter_event_list(estimated, filename=name),
        )
        for name in ("f1.wav", "f2.wav")
    ]
    settings = {"empty_system_output_handling": "zero_score"} if handling == "zero_score" else {}
    direct = sed_eval_directly(pairs, ["event A", "event B"], percentage_of_length=0.2, **settings)
    compare_all(results, direct, kinds=("event_based",))


def test_empty_system_output_with_a_durations_table(tmp_path):
    """The recording missing from the estimated table is vouched for by a durations table."""
    (tmp_path / "ref.tsv").write_text(EMPTY_OUTPUT_REFERENCE)
    (tmp_path / "est.tsv").write_text("f1.wav\t0.2\t0.9\tevent A\n")
    (tmp_path / "durations.tsv").write_text("filename\tduration\nf1.wav\t1.0\nf2.wav\t1.0\n")
    results = sed_evaluate(
        tmp_path, "--reference", "ref.tsv", "--estimated", "est.tsv", "--durations", "durations.tsv"
    )
    assert figure(results, "event_based/class_wise_average/f_measure/f_measure") == 1.0
    assert [f["estimated_events"] for f in results["files"]] == [1, 0]


DIRECT_REFERENCE = [(0.0, 2.5), (2.8, 4.5), (6.0, 10.0)]


@pytest.mark.parametrize(
    "kind,estimated,expected",
    [
        (
            "segment_based",
            [(1.0, 3.5), (7.0, 8.0)],
            {"overall/accuracy/accuracy": 0.5, "overall/error_rate/error_rate": 0.555555555555},
        ),
        (
            "event_based",
            [(0.2, 3.5), (6.0, 8.0)],
            {"overall/f_measure/f_measure": 0.8, "overall/error_rate/error_rate": 0.3333333333333},
        ),
    ],
)
def test_direct_use_lists_in_dcase_util_csv(tmp_path, kind, estimated, expected):
    """sed_eval's test_direct_use_*: lists with dcase_util's keys, written as the CSV dcase_util
    saves (header ``file,scene_label,event_onset,event_offset,event_label``)."""
    for name, rows in (("ref.csv", DIRECT_REFERENCE), ("est.csv", estimated)):
        (tmp_path / name).write_text(
            "file,scene_label,event_onset,event_offset,event_label\n"
            + "".join(f"audio/street/b099.wav,street,{a},{b},car\n" for a, b in rows)
        )
    results = sed_evaluate(
        tmp_path,
        "--reference",
        "ref.csv",
        "--estimated",
        "est.csv",
        "--percentage-of-length",
        "0.5",
    )
    check_readme(results, {f"{kind}/{path}": value for path, value in expected.items()})


def test_office_file_list_as_sed_evals_evaluator_scores_it(tmp_path):
    """``file_list.txt`` as sed_eval's ``sound_event_eval.py`` takes it: reference labels,
    sed_eval's defaults (collar 0.2 s, offset 50 % of the length)."""
    results = sed_evaluate(
        tmp_path,
        "--file-list", SUITE / "file_list.txt",
        "--labels", "reference",
        "--percentage-of-length", "0.5",
    )  # fmt: skip
    pairs = [
        (load(f"office_snr0_{n}_v2.txt"), load(f"office_snr0_{n}_v2_detected.txt"))
        for n in ("high", "med")
    ]
    labels = sorted({label for reference, _ in pairs for label in reference.unique_event_labels})
    compare_all(results, sed_eval_directly(pairs, labels))


@pytest.mark.slow
def test_no_reference_events_give_undefined_figures_and_a_clean_stderr(tmp_path):
    """A recording without reference events: error rates are undefined (sed_eval: 9.0e15)."""
    (tmp_path / "ref.tsv").write_text("")
    (tmp_path / "est.tsv").write_text("1.0\t2.0\tdog\n")
    results = sed_evaluate(
        tmp_path, "--reference", "ref.tsv", "--estimated", "est.tsv", as_subprocess=True
    )
    overall = results["event_based"]["overall"]
    assert overall["error_rate"]["error_rate"] is None
    assert overall["f_measure"] == {"f_measure": None, "precision": 0.0, "recall": None}
    assert results["event_based"]["class_wise_average"]["error_rate"]["error_rate"] is None
    direct = sed_eval_directly([(container([]), load_rows([(1.0, 2.0, "dog")]))], ["dog"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert direct.event.results()["overall"]["error_rate"]["error_rate"] > 1e15
    compare_all(results, direct)
    assert not math.isnan(results["segment_based"]["overall"]["accuracy"]["accuracy"])


def load_rows(rows):
    return container(
        [{"filename": "f", "onset": a, "offset": b, "event_label": c} for a, b, c in rows]
    )
