"""The search loop: an excerpt table (hits judged on the review page) as training data for
`sed train`, and the head it gives ranking an index (`sed search --head`) and detecting."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from click.testing import CliRunner

from sed.cli import cli
from sed.errors import AnnotationError, ParameterError
from sed.heads.config import EXCERPT_TRAINING
from sed.heads.excerpts import excerpt_dataset, is_excerpt_table, read_excerpts
from sed.heads.head import BACKGROUND_LABEL

HEADER = "filename,onset,offset,event_label,score,verdict,corrected_label\n"
#: examples/bicycle_bells.tsv: bells at 0-1.3, 6.9-24.9, 25.9-37.0 and 54.9-60.1 s.
BELLS = [(8.0, 9.0), (12.0, 12.3), (16.0, 18.0), (21.0, 22.0), (28.0, 29.0), (33.0, 34.0)]
QUIET = [(2.0, 3.0), (4.5, 5.5), (39.0, 40.0), (43.0, 44.0), (47.0, 48.0), (51.0, 52.0)]


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def verdicts_file(folder, wav, rows) -> str:
    path = folder / "review_verdicts.csv"
    path.write_text(
        HEADER + "".join(f"{wav},{a},{b},{lab},0.5,{v},{c}\n" for a, b, lab, v, c in rows)
    )
    return path


def test_verdicts_are_read_as_positives_negatives_and_new_labels(tmp_path, bells_wav):
    path = verdicts_file(
        tmp_path,
        bells_wav,
        [
            (8.0, 9.0, "bell", "correct", ""),
            (2.0, 3.0, "bell", "wrong", ""),
            (16.0, 17.0, "horn", "relabelled", "bell"),
            (40.0, 41.0, "bell", "", ""),  # not judged: left out
        ],
    )
    assert is_excerpt_table(path)
    excerpts = read_excerpts(path)
    assert [(e.onset_seconds, e.label, e.verdict) for e in excerpts] == [
        (8.0, "bell", "correct"),
        (2.0, BACKGROUND_LABEL, "wrong"),
        (16.0, "bell", "relabelled"),
    ]
    assert [e.line for e in excerpts] == [2, 3, 4]


def test_an_event_table_is_an_excerpt_table_of_positives(tmp_path, bells_wav):
    path = tmp_path / "hits.tsv"
    path.write_text(f"filename\tonset\toffset\tevent_label\n{bells_wav}\t8\t9\tbell\n")
    assert [(e.label, e.verdict) for e in read_excerpts(path)] == [("bell", "")]
    clips = tmp_path / "clips.csv"
    clips.write_text("filename,label\na.wav,dog\n")
    assert not is_excerpt_table(clips) and not is_excerpt_table(tmp_path)


@pytest.mark.parametrize(
    "row,message",
    [
        ("{wav},8,9,bell,0.5,maybe,", "line 2: unknown verdict 'maybe'"),
        ("{wav},8,9,bell,0.5,relabelled,", "line 2: empty corrected_label"),
        ("{wav},9,8,bell,0.5,correct,", "line 2: offset 8 is not after onset 9"),
        ("{wav},x,9,bell,0.5,correct,", "line 2: onset 'x' is not a number"),
        ("nowhere.wav,8,9,bell,0.5,correct,", "line 2: audio file 'nowhere.wav' not found"),
    ],
)
def test_a_bad_row_is_named_by_its_line(tmp_path, bells_wav, row, message):
    path = tmp_path / "v.csv"
    path.write_text(HEADER + row.format(wav=bells_wav) + "\n")
    with pytest.raises(AnnotationError, match=message):
        read_excerpts(path)


def test_short_excerpts_are_cut_as_the_window_centred_on_them(tmp_path, bells_wav):
    path = verdicts_file(
        tmp_path,
        bells_wav,
        [
            (8.0, 8.2, "bell", "correct", ""),  # shorter than a window
            (8.1, 8.3, "bell", "correct", ""),  # overlaps the first once widened: one group
            (16.0, 18.0, "bell", "correct", ""),  # longer: as it is
            (2.0, 3.0, "bell", "wrong", ""),
        ],
    )
    data = excerpt_dataset(path, folder=tmp_path / "cut")
    assert data.classes == ("bell",) and data.has_background
    lengths = [sf.info(p).frames for p in data.clips["path"]]
    assert lengths[0] == lengths[1] == 15360 and lengths[2] == 32000
    groups = list(data.clips["group"])
    assert groups[0] == groups[1] and len(set(groups)) == 3
    samples, rate = sf.read(bells_wav, dtype="float32")
    centre = int(8.1 * rate)
    original = samples[centre - int(0.48 * rate) : centre + int(0.48 * rate)]
    cut, _ = sf.read(data.clips["path"][0], dtype="float32")
    # The same sound (at 16 kHz here, the file's own rate there): the same level.
    assert np.sqrt(np.mean(cut**2)) == pytest.approx(np.sqrt(np.mean(original**2)), rel=0.05)
    again = excerpt_dataset(path, folder=tmp_path / "cut")
    assert list(again.clips["path"]) == list(data.clips["path"])


def test_positives_alone_are_refused(tmp_path, bells_wav):
    path = verdicts_file(tmp_path, bells_wav, [(8.0, 9.0, "bell", "correct", "")])
    with pytest.raises(ParameterError, match="at least two labels"):
        excerpt_dataset(path, folder=tmp_path / "cut")


@pytest.fixture(scope="module")
def excerpt_head(tmp_path_factory, bells_wav):
    folder = tmp_path_factory.mktemp("loop")
    rows = [(a, b, "bell", "correct", "") for a, b in BELLS]
    rows += [(a, b, "bell", "wrong", "") for a, b in QUIET]
    path = verdicts_file(folder, bells_wav, rows)
    run("train", path, "-o", folder / "head", "--epochs", 15)
    return folder / "head"


@pytest.mark.slow
def test_a_head_trained_on_verdicts_ranks_the_index(tmp_path, excerpt_head, bells_wav):
    run("index", bells_wav, "-o", tmp_path / "idx", "--quiet")
    result = run(
        "search", tmp_path / "idx", "--head", excerpt_head, "-k", 10, "-o", tmp_path / "h.csv"
    )
    assert "10 windows" in result.output
    hits = pd.read_csv(tmp_path / "h.csv")
    assert set(hits["event_label"]) == {"bell"}
    assert hits["score"].between(0, 1).all() and hits["score"].is_monotonic_decreasing
    bells = [(0.0, 1.326), (6.893, 24.892), (25.904, 36.974), (54.863, 60.103)]
    inside = [any(a < off and on < b for a, b in bells) for on, off in zip(hits.onset, hits.offset)]
    assert all(inside), hits


@pytest.mark.slow
def test_a_filtered_head_search_scores_only_the_windows_it_keeps(tmp_path, excerpt_head, bells_wav):
    from sed.heads.head import Head
    from sed.index import open_index
    from sed.search import head_scores, search_with_head

    run("index", bells_wav, "-o", tmp_path / "idx", "--quiet", "--no-frames")
    index, head = open_index(tmp_path / "idx"), Head.load(excerpt_head)
    every = head_scores(index, head, "bell")
    within = np.arange(40, 80, dtype=np.int64)  # 20 to 40 s of the recording
    np.testing.assert_array_equal(head_scores(index, head, "bell", within), every[within])
    hits = search_with_head(index, head, label="bell", k=5, within=within)
    best = within[np.argsort(-every[within], kind="stable")[:5]]
    np.testing.assert_array_equal(hits.rows, best)
    np.testing.assert_array_equal(hits.scores, every[best])


@pytest.mark.slow
def test_an_excerpt_table_trains_with_its_own_defaults(excerpt_head):
    config = json.loads((excerpt_head / "head.json").read_text())["training"]["config"]
    # --epochs was given; the validation split and the mixtures take the excerpt table's.
    assert config["max_epochs"] == 15
    assert config["validation_fraction"] == EXCERPT_TRAINING["validation_fraction"] == 0
    assert config["mixtures"] == 0


@pytest.mark.slow
def test_a_head_trained_on_verdicts_detects(tmp_path, excerpt_head, bells_wav):
    run("detect", bells_wav, "--head", excerpt_head, "-o", tmp_path / "events.csv")
    events = pd.read_csv(tmp_path / "events.csv")
    assert len(events) and set(events["event_label"]) == {"bell"}


@pytest.mark.slow
def test_search_head_refuses_query_options_and_unknown_labels(tmp_path, excerpt_head, bells_wav):
    run("index", bells_wav, "-o", tmp_path / "idx", "--quiet")
    runner = CliRunner()
    for extra, message in [
        (["--centre", "none"], "--centre apply to --query, not --head"),
        (["--expand", "0"], "--expand apply to --query, not --head"),
        (["--label", "dog"], "the head has no label 'dog'"),
        (["--query", bells_wav], "give --query (one or more examples) or --head"),
    ]:
        args = ["search", tmp_path / "idx", "--head", excerpt_head, "-o", tmp_path / "h.csv"]
        result = runner.invoke(cli, [str(a) for a in [*args, *extra]])
        assert result.exit_code != 0 and message in result.output, result.output
