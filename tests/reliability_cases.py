"""The bad inputs and faults of ``docs/reliability.md``: what each is, how to cause it, and
what it gets.

One list, three uses: ``tests/test_reliability.py`` runs every case that is a command here and
checks its exit status and message; the cases that need a run stopped from outside (signals,
``SIGKILL``, a full disk, two batches at once) or Python name the test that does it, and that
test must assert the case's message fragments; ``scripts/reliability_table.py`` writes the
document's table from this list, and a test keeps the document equal to it.

Commands run in a fresh copy of the workspace :func:`make_workspace` builds: a 10 s recording
``rec.wav`` (from ``examples/bicycle_bells.wav``), its annotation ``ref.tsv``, and the bad files
the cases read.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.conftest import EXAMPLES
from tests.helpers import write_clip


@dataclass(frozen=True)
class Case:
    """One bad input or fault.

    Attributes
    ----------
    id : str
        Short and unique.
    what : str
        The bad input or fault, as the table says it.
    command : str
        What shows it: a shell command run in the workspace (``sed`` is this checkout's), or,
        with ``verified_by``, what the named test does.
    status : int
        Exit status of the (last) ``sed`` command.
    gets : str
        The line the user gets, ``...`` standing for any text (paths of the machine, numbers).
    setup : str
        Shell commands that make the bad input, run first and shown before the command.
    mount : str
        ``"ro"``: a read-only file system at ``ro/``; ``"full"``: a full one at ``full/`` (root
        only; skipped elsewhere).
    slow : bool
        Loads the model: only in the full test run.
    verified_by : str
        ``tests/<file>.py::<test>`` that causes the fault; it must assert every fragment.
    fragments : tuple of str
        Literal parts of ``gets`` that ``verified_by`` asserts.
    """

    id: str
    group: str
    what: str
    command: str
    status: int
    gets: str
    setup: str = ""
    mount: str = ""
    slow: bool = False
    verified_by: str = ""
    fragments: tuple[str, ...] = ()

    @property
    def shown(self) -> str:
        """The command as the table shows it (setup first)."""
        return f"{self.setup}; {self.command}" if self.setup else self.command


RECORDINGS = "Recordings"
OUTPUTS = "Outputs (checked before any work)"
OPTIONS = "Options"
FILES = "Annotations, label maps, configurations"
BATCHES = "Batches"
TRAINING = "Training"
FAULTS = "Faults: runs stopped or disturbed from outside"
LIBRARY = "Library API"

CASES = [
    # ---- recordings -------------------------------------------------------------------------
    Case(
        "missing",
        RECORDINGS,
        "missing recording",
        "sed detect missing.wav -o ev.csv",
        1,
        "sed detect: error: missing.wav: no such file",
    ),
    Case(
        "empty",
        RECORDINGS,
        "empty file (0 bytes)",
        "sed detect empty.wav -o ev.csv",
        1,
        "sed detect: error: empty.wav: file is empty (0 bytes)",
    ),
    Case(
        "text",
        RECORDINGS,
        "text file named .wav",
        "sed detect notes.wav -o ev.csv",
        1,
        "sed detect: error: notes.wav: not a readable audio file (Format not recognised.)",
    ),
    Case(
        "truncated",
        RECORDINGS,
        "WAV cut short (header says more data than the file holds)",
        "sed detect truncated.wav -o ev.csv",
        1,
        "sed detect: error: truncated.wav: truncated: header declares 320000 bytes of audio "
        "data, the file holds 160000",
    ),
    Case(
        "junk-mp3",
        RECORDINGS,
        "random bytes named .mp3 (no decoder notes, no 'possibly a pipe?')",
        "sed detect junk.mp3 -o ev.csv",
        1,
        "sed detect: error: junk.mp3: not a readable audio file (no audio data found in it)",
    ),
    Case(
        "no-frames",
        RECORDINGS,
        "WAV with a header and no samples",
        "sed detect header_only.wav -o ev.csv",
        1,
        "sed detect: error: header_only.wav: file contains no audio samples",
    ),
    Case(
        "nan",
        RECORDINGS,
        "float WAV with NaN samples",
        "sed detect nan.wav -o ev.csv",
        1,
        "sed detect: error: nan.wav: NaN or infinite samples, the first at 2.000 s",
        slow=True,
    ),
    Case(
        "folder-as-file",
        RECORDINGS,
        "a folder where a recording is expected",
        "sed plot audio -o fig.png",
        1,
        "sed plot: error: audio: is a directory, not an audio file",
    ),
    Case(
        "tag-folder-no-table",
        RECORDINGS,
        "sed tag of a folder without a table to write",
        "sed tag audio",
        2,
        "sed tag: error: several recordings make one table: give -o TABLE.csv",
    ),
    Case(
        "short",
        RECORDINGS,
        "recording shorter than one 0.96 s window (0.1 s)",
        "sed detect short.wav -o ev.csv --classes Speech",
        0,
        "0 events in 0.1 s of audio",
        slow=True,
    ),
    Case(
        "latin-name",
        RECORDINGS,
        "file name that is not UTF-8 (an old archive's caf\\xe9.wav)",
        "sed detect latin -o out --quiet",
        0,
        "1 recording: 1 processed, 0 already done, 0 failed; ...",
        slow=True,
    ),
    # ---- outputs ----------------------------------------------------------------------------
    Case(
        "out-is-input",
        OUTPUTS,
        "-o names the recording",
        'sed detect rec.wav -o rec.wav --classes "Bicycle bell"',
        2,
        "sed detect: error: rec.wav: -o would replace an input of this run (INPUT rec.wav); "
        "write it elsewhere",
    ),
    Case(
        "scores-is-input",
        OUTPUTS,
        "--scores names the recording",
        "sed detect rec.wav -o ev.csv --scores rec.wav",
        2,
        "sed detect: error: rec.wav: --scores would replace an input of this run (INPUT "
        "rec.wav); write it elsewhere",
    ),
    Case(
        "symlink",
        OUTPUTS,
        "-o is a symbolic link to the recording",
        "sed detect rec.wav -o link.csv",
        2,
        "sed detect: error: link.csv: -o would replace an input of this run (INPUT rec.wav, "
        "through a link); write it elsewhere",
        setup="ln -s rec.wav link.csv",
    ),
    Case(
        "hardlink",
        OUTPUTS,
        "-o is a hard link to the recording",
        "sed detect rec.wav -o hard.csv",
        2,
        "sed detect: error: hard.csv: -o would replace an input of this run (INPUT rec.wav, "
        "as a hard link); write it elsewhere",
        setup="ln rec.wav hard.csv",
    ),
    Case(
        "tune-reference",
        OUTPUTS,
        "sed tune -o names the reference annotation",
        'sed tune --audio audio --reference ref.tsv --classes "Bicycle bell" -o ref.tsv',
        2,
        "sed tune: error: ref.tsv: -o would replace an input of this run (--reference ref.tsv); "
        "write it elsewhere",
    ),
    Case(
        "json-in-reference",
        OUTPUTS,
        "--json names a file of the reference folder",
        "sed evaluate --reference annotations --estimated events.csv --json annotations/rec.tsv",
        2,
        "sed evaluate: error: annotations/rec.tsv: --json would replace a file inside "
        "annotations (--reference), which this run reads; write it elsewhere",
    ),
    Case(
        "same-output",
        OUTPUTS,
        "two outputs are one file",
        "sed detect rec.wav -o ev.csv --save-config ev.csv",
        2,
        "sed detect: error: ev.csv: --save-config and -o name the same file",
    ),
    Case(
        "folder-is-file",
        OUTPUTS,
        "several recordings, -o an existing file",
        "sed detect rec.wav audio/rec.wav -o notes.txt",
        2,
        "sed detect: error: notes.txt: -o needs a folder, and this is a file",
    ),
    Case(
        "under-file",
        OUTPUTS,
        "-o under a file",
        "sed detect rec.wav -o rec.wav/ev.csv",
        2,
        "sed detect: error: rec.wav/ev.csv: -o cannot be created: .../rec.wav is a file, not a "
        "folder",
    ),
    Case(
        "figure-suffix",
        OUTPUTS,
        "sed plot -o with a suffix that is no figure format",
        "sed plot rec.wav -o b.txt",
        2,
        "sed plot: error: a figure file must end in .png, .pdf, .svg, got 'b.txt'",
    ),
    Case(
        "name-too-long",
        OUTPUTS,
        "output name too long for the file system's temporary file",
        "sed detect rec.wav -o $(printf 'a%.0s' $(seq 250)).csv",
        2,
        "sed detect: error: aaa...aaa.csv: -o has a name too long for this file system (254 "
        "bytes; at most 241)",
    ),
    Case(
        "read-only",
        OUTPUTS,
        "-o on a read-only file system",
        "sed detect rec.wav -o ro/ev.csv",
        2,
        "sed detect: error: ro/ev.csv: -o cannot be written: .../ro is on a read-only file system",
        mount="ro",
    ),
    Case(
        "train-read-only",
        OUTPUTS,
        "sed train -o on a read-only file system (refused before training)",
        "sed train train -o ro/head",
        2,
        "sed train: error: ro/head: -o cannot be written: .../ro is on a read-only file system",
        mount="ro",
    ),
    Case(
        "disk-full-before",
        OUTPUTS,
        "-o on a full file system",
        "sed detect rec.wav -o full/ev.csv",
        2,
        "sed detect: error: full/ev.csv: -o cannot be written: no space left on the device of "
        ".../full",
        mount="full",
    ),
    Case(
        "train-foreign-folder",
        OUTPUTS,
        "sed train -o a folder of other files",
        "sed train train -o audio",
        2,
        "sed train: error: audio: -o is a folder that holds other files (no head.json); give a "
        "new or empty folder",
    ),
    # ---- options ----------------------------------------------------------------------------
    Case(
        "hop-3",
        OPTIONS,
        "--hop 3 (windows would skip audio)",
        "sed detect rec.wav -o ev.csv --hop 3",
        2,
        "sed detect: error: --hop: window hop must be at most the window length (0.96 s), or "
        "windows would skip audio; got 3.0 s",
    ),
    Case(
        "hop-097",
        OPTIONS,
        "--hop 0.97",
        "sed detect rec.wav -o ev.csv --hop 0.97",
        2,
        "sed detect: error: --hop: window hop must be at most the window length (0.96 s), or "
        "windows would skip audio; got 0.97 s",
    ),
    Case(
        "hop-0333",
        OPTIONS,
        "--hop 0.333 (not a multiple of the 10 ms STFT hop)",
        "sed detect rec.wav -o ev.csv --hop 0.333",
        2,
        "sed detect: error: --hop: window hop must be a multiple of 0.01 s (the STFT hop), got "
        "0.333 s",
    ),
    Case(
        "hop-nan",
        OPTIONS,
        "--hop nan",
        "sed detect rec.wav -o ev.csv --hop nan",
        2,
        "sed detect: error: --hop: window hop must be a positive number of seconds, got nan",
    ),
    Case(
        "threshold",
        OPTIONS,
        "--threshold 1.5",
        "sed detect rec.wav -o ev.csv --threshold 1.5",
        2,
        "Error: Invalid value for '--threshold-on' / '--threshold': 1.5 is not in the range "
        "0<=x<=1.",
    ),
    Case(
        "hysteresis",
        OPTIONS,
        "--threshold-off above --threshold-on",
        "sed detect rec.wav -o ev.csv --threshold-on 0.3 --threshold-off 0.6",
        2,
        "sed detect: error: --threshold-off (0.6) must not exceed --threshold-on (0.3)",
    ),
    Case(
        "jobs-0",
        OPTIONS,
        "--jobs 0",
        "sed detect audio -o out --jobs 0",
        2,
        "Error: Invalid value for '--jobs': 0 is not in the range x>=1.",
    ),
    Case(
        "unknown-class",
        OPTIONS,
        "a misspelt class",
        'sed detect rec.wav -o ev.csv --classes "Bicycle bel"',
        2,
        "sed detect: error: unknown YAMNet class 'Bicycle bel'; did you mean 'Bicycle bell', "
        "'Bicycle', 'Jingle bell'? (`sed classes --search TEXT` lists class names)",
    ),
    Case(
        "no-class",
        OPTIONS,
        "--classes with no name",
        'sed detect rec.wav -o ev.csv --classes ","',
        2,
        "sed detect: error: no class names given",
    ),
    Case(
        "classes-and-map",
        OPTIONS,
        "--classes and --label-map together",
        "sed detect rec.wav -o ev.csv --classes Dog --label-map labels.csv",
        2,
        "sed detect: error: give either a class list or a label map, not both",
    ),
    Case(
        "head-and-classes",
        OPTIONS,
        "--head and --classes together",
        "sed detect rec.wav -o ev.csv --head head --classes Dog",
        2,
        "sed detect: error: --head sets the classes: give no --classes or --label-map with it",
    ),
    Case(
        "head-hop",
        OPTIONS,
        "--hop that does not fit the head",
        "sed detect rec.wav -o ev.csv --head head --hop 0.48",
        2,
        "sed detect: error: head: --hop 0.48 does not fit the head, trained with hop 0.5 s "
        "(leave --hop out, or give --hop 0.5)",
    ),
    Case(
        "not-a-head",
        OPTIONS,
        "--head names a folder that is not a head",
        "sed tag rec.wav --head audio",
        1,
        "sed tag: error: audio: not a head directory: model.keras is missing",
    ),
    Case(
        "weights",
        OPTIONS,
        "--weights names nothing",
        "sed detect rec.wav -o ev.csv --weights missing.h5",
        1,
        "sed detect: error: missing.h5: YAMNet weights given by --weights do not exist",
        slow=True,
    ),
    Case(
        "format",
        OPTIONS,
        "an unknown --format",
        "sed detect rec.wav -o ev.xml --format xml",
        2,
        "Error: Invalid value for '--format': 'xml' is not one of 'csv', 'tsv', 'audacity', "
        "'raven', 'json'.",
    ),
    # ---- annotation, label map, configuration files -----------------------------------------
    Case(
        "config-key",
        FILES,
        "configuration with a misspelt key",
        "sed detect rec.wav -o ev.csv --config typo.toml",
        2,
        "sed detect: error: typo.toml: line 2: unknown key 'treshold_on'; known keys: ...",
    ),
    Case(
        "config-toml",
        FILES,
        "configuration that is not TOML",
        "sed detect rec.wav -o ev.csv --config broken.toml",
        2,
        "sed detect: error: broken.toml: line 2: not valid TOML (Invalid value)",
    ),
    Case(
        "config-utf8",
        FILES,
        "configuration that is not UTF-8",
        "sed detect rec.wav -o ev.csv --config latin1.toml",
        2,
        "sed detect: error: latin1.toml: line 2: not UTF-8 text (byte 0xe9)",
    ),
    Case(
        "config-json",
        FILES,
        "JSON configuration with a value out of range",
        "sed detect rec.wav -o ev.csv --config range.json",
        2,
        "sed detect: error: range.json: line 3: threshold_on must be in [0, 1], got 3",
    ),
    Case(
        "thresholds-label",
        FILES,
        "per-class thresholds for a label not detected",
        "sed detect rec.wav -o ev.csv --classes Speech --class-thresholds cow.csv",
        2,
        "sed detect: error: per-class thresholds name labels that are not detected: 'cow'",
    ),
    Case(
        "thresholds-value",
        FILES,
        "per-class threshold that is not a number",
        "sed detect rec.wav -o ev.csv --classes Speech --class-thresholds high.csv",
        2,
        "sed detect: error: high.csv: line 2: threshold_on must be a number, got 'high'",
    ),
    Case(
        "map-header",
        FILES,
        "label map without its header",
        "sed detect rec.wav -o ev.csv --label-map noheader.csv",
        2,
        "sed detect: error: noheader.csv: label map must start with the header "
        "event_label,yamnet_display_names",
    ),
    Case(
        "map-class",
        FILES,
        "label map naming an unknown class",
        "sed detect rec.wav -o ev.csv --label-map unknown.csv",
        2,
        "sed detect: error: unknown.csv: line 3: unknown YAMNet class 'Barking dog'; did you "
        "mean ...",
    ),
    Case(
        "map-utf8",
        FILES,
        "label map that is not UTF-8",
        "sed detect rec.wav -o ev.csv --label-map latin1.csv",
        2,
        "sed detect: error: latin1.csv: line 2: not UTF-8 text (byte 0xe9)",
    ),
    Case(
        "ref-number",
        FILES,
        "annotation with a time that is not a number",
        "sed evaluate --reference bad_time.tsv --estimated events.csv",
        1,
        "sed evaluate: error: bad_time.tsv: line 2: offset 'later' is not a number",
    ),
    Case(
        "ref-order",
        FILES,
        "annotation with an offset before its onset",
        "sed evaluate --reference reversed.tsv --estimated events.csv",
        1,
        "sed evaluate: error: reversed.tsv: line 1: offset 1 s is before onset 3 s",
    ),
    Case(
        "ref-negative",
        FILES,
        "annotation with a negative time",
        "sed evaluate --reference negative.tsv --estimated events.csv",
        1,
        "sed evaluate: error: negative.tsv: line 1: onset '-1.0' is not a time >= 0 s",
    ),
    Case(
        "ref-label",
        FILES,
        "annotation with an empty label (read as dcase_util does: an event without a label)",
        "sed evaluate --reference nolabel.tsv --estimated events.csv",
        0,
        "sed evaluate: warning: skipped 1 reference event without a label (nolabel.tsv: 1)",
    ),
    Case(
        "ref-fields",
        FILES,
        "annotation with two fields on a line (dcase_util's onset, offset: no label)",
        "sed evaluate --reference fields.tsv --estimated events.csv",
        0,
        "sed evaluate: warning: skipped 1 reference event without a label (fields.tsv: 1)",
    ),
    Case(
        "est-column",
        FILES,
        "events CSV without an offset column",
        "sed evaluate --reference ref.tsv --estimated nocolumn.csv",
        1,
        "sed evaluate: error: nocolumn.csv: line 1: missing column 'offset'; the columns are "
        "filename, onset, event_label",
    ),
    Case(
        "est-json",
        FILES,
        "events JSON cut short",
        "sed evaluate --reference ref.tsv --estimated cut.json",
        1,
        "sed evaluate: error: cut.json: line 1: not valid JSON (Expecting value)",
    ),
    Case(
        "raven",
        FILES,
        "Raven table without its time columns",
        "sed evaluate --reference ref.tsv --estimated notimes.selections.txt",
        1,
        "sed evaluate: error: notimes.selections.txt: line 1: missing Raven column 'Begin Time "
        "(s)'; the columns are ...",
    ),
    Case(
        "ref-utf8",
        FILES,
        "annotation that is not UTF-8",
        "sed evaluate --reference latin1.tsv --estimated events.csv",
        1,
        "sed evaluate: error: latin1.tsv: line 2: not UTF-8 text (byte 0xe9)",
    ),
    Case(
        "ref-empty-folder",
        FILES,
        "reference folder without files",
        "sed evaluate --reference nothing --estimated events.csv",
        1,
        "sed evaluate: error: nothing: folder holds no event files",
    ),
    # ---- batches ----------------------------------------------------------------------------
    Case(
        "duplicates",
        BATCHES,
        "the same recording three times (two names, a link)",
        "sed detect rec.wav ./rec.wav link.wav -o out --quiet",
        0,
        "sed detect: note: 2 inputs named a recording already listed (the same file twice, a "
        "folder and its sub-folder, or a link): each recording is processed once",
        setup="ln -s rec.wav link.wav",
        slow=True,
    ),
    Case(
        "subfolder",
        BATCHES,
        "a folder and its sub-folder",
        "sed detect archive archive/site -o out --quiet",
        0,
        "sed detect: note: 1 input named a recording already listed (the same file twice, a "
        "folder and its sub-folder, or a link): each recording is processed once",
        slow=True,
    ),
    Case(
        "bad-in-batch",
        BATCHES,
        "one broken recording among good ones",
        "sed detect archive broken.wav -o out --quiet",
        1,
        "sed detect: 1 recording failed: see out/failures.csv",
        slow=True,
    ),
    Case(
        "stdin-bytes",
        BATCHES,
        "path list on stdin with bytes that are not UTF-8, a NUL, blank lines",
        "printf 'caf\\351.wav\\nnul\\000.wav\\n\\n' | sed detect - -o out --quiet",
        1,
        "sed detect: 2 recordings failed: see out/failures.csv",
        slow=True,
    ),
    Case(
        "beside-annotations",
        BATCHES,
        "output folder = input folder, annotations beside the recordings (kept; outputs are "
        "NAME.sed.*)",
        "sed detect annotated -o annotated --format csv --format tsv --quiet",
        0,
        "1 recording: 1 processed, 0 already done, 0 failed; ...",
        slow=True,
    ),
    Case(
        "foreign-file",
        BATCHES,
        "a file the batch would write exists and it did not write it",
        "sed detect archive -o out --quiet",
        2,
        "sed detect: error: out/site/a.sed.csv: exists and was not written by a sed batch; it "
        "will not be replaced: move it away or choose another output folder",
        setup="mkdir -p out/site; echo mine > out/site/a.sed.csv",
    ),
    Case(
        "foreign-run-file",
        BATCHES,
        "output folder holds an all_events.csv no batch wrote",
        "sed detect archive -o notes --quiet",
        2,
        "sed detect: error: notes/all_events.csv: exists and was not written by a sed batch; it "
        "will not be replaced: move it away or choose another output folder",
        setup="mkdir notes; echo mine > notes/all_events.csv",
    ),
    Case(
        "no-audio",
        BATCHES,
        "folder without audio files",
        "sed detect nothing -o out",
        2,
        "sed detect: error: no audio files found in nothing",
    ),
    # ---- training ---------------------------------------------------------------------------
    Case(
        "train-no-classes",
        TRAINING,
        "training folder without class folders",
        "sed train audio -o head2",
        2,
        "sed train: error: audio: training folder holds no class folders: give a folder with "
        "one sub-folder of audio files per class",
    ),
    Case(
        "train-folds",
        TRAINING,
        "more cross-validation folds than recordings",
        "sed train train -o head2 --cross-validate 9",
        2,
        "sed train: error: train: --cross-validate needs at least 9 groups of clips "
        "(recordings); the data has 7",
    ),
    Case(
        "train-mixtures",
        TRAINING,
        "--mixtures without background recordings",
        "sed train train_no_background -o head2 --mixtures 3",
        2,
        "sed train: error: train_no_background: --mixtures needs background recordings to mix "
        "over (a _background folder or --background)",
    ),
    Case(
        "train-csv",
        TRAINING,
        "training CSV with a quote never closed",
        "sed train meta.csv -o head2",
        1,
        "sed train: error: meta.csv: line 2: not a readable CSV file (unexpected end of data)",
    ),
    Case(
        "train-no-clip-left",
        TRAINING,
        "every clip of a class unreadable",
        "sed train train_broken -o head2",
        1,
        "sed train: error: train_broken: no readable clip of 'tone' is left (3 unreadable, such "
        "as train_broken/tone/t0.wav: file is empty (0 bytes))",
        slow=True,
    ),
    Case(
        "train-skip",
        TRAINING,
        "one unreadable clip among hundreds",
        "sed train DATA -o head (DATA/tone/broken.wav is not audio)",
        0,
        "sed train: warning: skipped unreadable clip .../broken.wav: not a readable audio file "
        "(...); head written",
        verified_by="tests/test_cli_heads.py::"
        "test_train_skips_unreadable_clips_and_names_a_class_left_without_any",
        fragments=("sed train: warning: skipped unreadable clip", "1 unreadable clip skipped"),
    ),
    Case(
        "train-split",
        TRAINING,
        "2 clips and --validation-fraction 0.5: a class never trained on",
        "sed train DATA -o head --validation-fraction 0.5",
        0,
        "sed train: warning: 'noise' has no training clip after the split (...): the head never "
        "learns it; ...",
        verified_by="tests/test_cli_heads.py::"
        "test_train_warns_of_a_class_the_split_leaves_without_clips",
        fragments=("has no training clip after the split", "has no validation clip after the"),
    ),
    # ---- faults -----------------------------------------------------------------------------
    Case(
        "sigterm-jobs",
        FAULTS,
        "kill -TERM (timeout, systemd, SLURM) of a batch with --jobs 2",
        "sed detect archive -o out --jobs 2 & kill -TERM $!",
        143,
        "sed detect: interrupted by SIGTERM: 3 of 16 recordings done; run the same command "
        "again to resume (workers gone within 10 s; the same command resumes)",
        verified_by="tests/test_batch.py::test_a_signal_stops_a_parallel_batch_and_its_workers",
        fragments=(
            "sed detect: interrupted by",
            "recordings done; run the same command again to resume",
            "wait_for(lambda: not alive(workers), 10)",
        ),
    ),
    Case(
        "ctrl-c-jobs",
        FAULTS,
        "Ctrl-C (SIGINT to the process group) of a batch with --jobs 2",
        "sed detect archive -o out --jobs 2, then Ctrl-C",
        130,
        "sed detect: interrupted by SIGINT: 2 of 16 recordings done; run the same command "
        "again to resume (no traceback from the workers)",
        verified_by="tests/test_batch.py::test_a_signal_stops_a_parallel_batch_and_its_workers",
        fragments=("os.killpg(process.pid, signal.SIGINT)", '"Traceback" not in stderr'),
    ),
    Case(
        "sigterm",
        FAULTS,
        "kill -TERM of a batch in one process",
        "sed detect archive -o out & kill -TERM $!",
        143,
        "sed detect: interrupted by SIGTERM: 1 of 12 recordings done; run the same command "
        "again to resume",
        verified_by="tests/test_batch.py::test_sigterm_stops_a_batch_without_jobs",
        fragments=('startswith("sed detect: interrupted by SIGTERM: ")',),
    ),
    Case(
        "sigkill",
        FAULTS,
        "kill -9 of a batch with --jobs 2",
        "sed detect archive -o out --jobs 2 | cat & kill -9 (the sed process)",
        137,
        "the workers end within 10 s (they watch the parent's pipe), the pipeline reading "
        "stdout ends; the same command resumes",
        verified_by="tests/test_batch.py::test_workers_end_when_the_parent_is_killed",
        fragments=("process.kill()", "wait_for(lambda: not alive(workers), 10)"),
    ),
    Case(
        "killed-mid-write",
        FAULTS,
        "kill -9 of a batch in the middle of writing",
        "sed detect archive -o out & kill -9 $!",
        137,
        "no partial file: every events file visible is complete; the same command resumes",
        verified_by="tests/test_batch.py::test_killed_run_leaves_no_partial_output_and_resumes",
        fragments=("every visible output is a complete events file", "already done"),
    ),
    Case(
        "disk-full",
        FAULTS,
        "disk full in the middle of a batch",
        "sed detect archive -o full/out (a 256 KiB file system)",
        1,
        "sed detect: error: .../rec03.sed.csv: cannot write (No space left on device); the batch "
        "stopped with 3 of 10 recordings done: make room on the device (or make it writable), "
        "then run the same command again to resume",
        verified_by="tests/test_batch.py::"
        "test_a_full_disk_stops_the_batch_and_the_same_command_resumes",
        fragments=(
            "cannot write (No space left on device); the batch stopped with ",
            "of 10 recordings done: make room on the device",
        ),
    ),
    Case(
        "read-only-mid-run",
        FAULTS,
        "file system made read-only in the middle of a batch",
        "sed detect archive -o disk/out & mount -o remount,ro disk",
        1,
        "sed detect: error: ...: cannot write (Read-only file system); the batch stopped with ... "
        "run the same command again to resume",
        verified_by="tests/test_batch.py::test_a_file_system_made_read_only_mid_run_stops_the_batch",
        fragments=("cannot write (Read-only file system); the batch stopped with ",),
    ),
    Case(
        "permission-mid-run",
        FAULTS,
        "one output folder loses its write permission in the middle of a batch",
        "run_batch(...) with os.replace refused for siteA/deep",
        1,
        "failures.csv: .../a2.flac, .../a2.sed.csv: cannot write (Permission denied); the "
        "others are done",
        verified_by="tests/test_batch.py::test_a_write_that_fails_is_a_failed_recording",
        fragments=("cannot write (Permission denied)",),
    ),
    Case(
        "two-batches",
        FAULTS,
        "a second batch into the folder a batch is writing",
        "sed detect archive -o out & sed detect archive -o out",
        2,
        "sed detect: error: out: another sed batch is writing into this folder (pid 4242, "
        "started ...); wait for it to end or choose another output folder",
        verified_by="tests/test_batch.py::test_a_second_batch_is_refused_while_the_first_runs",
        fragments=("another sed batch is writing into this folder (pid",),
    ),
    Case(
        "no-dask",
        FAULTS,
        "--scheduler where Dask is not installed",
        "sed detect archive -o out --scheduler tcp://10.0.0.5:8786 (no sed[dask])",
        2,
        "sed detect: error: --scheduler needs Dask distributed (No module named 'distributed'): "
        "pip install 'sed[dask]'",
        verified_by="tests/test_cluster.py::test_scheduler_without_dask_is_one_clear_line",
        fragments=("--scheduler needs Dask distributed (", "): pip install 'sed[dask]'"),
    ),
    Case(
        "scheduler-unreachable",
        FAULTS,
        "a Dask scheduler that cannot be reached (not started, wrong address, firewall)",
        "sed detect archive -o out --scheduler 127.0.0.1:9",
        1,
        "sed detect: error: cannot reach the Dask scheduler at 127.0.0.1:9 (Timed out trying to "
        "connect to tcp://127.0.0.1:9 after 30 s); is `dask scheduler` running there, and "
        "reachable from this machine?",
        verified_by="tests/test_cluster.py::test_an_unreachable_scheduler_is_one_clear_line",
        fragments=(
            "sed detect: error: cannot reach the Dask scheduler at 127.0.0.1:9 (",
            "); is `dask scheduler` running there, and reachable from this machine?",
        ),
    ),
    Case(
        "worker-dies",
        FAULTS,
        "the Dask worker processes running a recording keep dying (killed, out of memory)",
        "sed detect archive -o out --scheduler ... (a worker dies on a2.flac, every time)",
        1,
        "failures.csv: .../a2.flac, the Dask worker processes running it died 4 times (killed, or "
        "out of memory?), the last one at tcp://...; the others are done (a worker that dies "
        "once: its task is done by another worker)",
        verified_by="tests/test_cluster.py::test_a_recording_whose_workers_keep_dying_is_a_failure_row",
        fragments=("the Dask worker processes running it died", "(killed, or out of memory?)"),
    ),
    Case(
        "scheduler-lost",
        FAULTS,
        "the Dask scheduler killed in the middle of a batch",
        "sed detect archive -o out --scheduler ... & kill -9 (the scheduler)",
        1,
        "sed detect: error: lost the connection to the Dask scheduler at tcp://...; the batch "
        "stopped with 3 of 20 recordings done: run the same command again to resume",
        verified_by="tests/test_cluster.py::"
        "test_a_lost_scheduler_stops_the_batch_with_the_resume_hint",
        fragments=(
            "sed detect: error: lost the connection to the Dask scheduler at ",
            " of 20 recordings done: run the same command again to resume",
        ),
    ),
    # ---- library ----------------------------------------------------------------------------
    Case(
        "api-channels-first",
        LIBRARY,
        "sed.detect with a (2, n) array (librosa.load(mono=False))",
        "sed.detect(np.stack([a, a]), 44100, model=model)",
        0,
        "ParameterError: audio of shape (2, 441000) looks channels first; pass waveform.T, of "
        "shape (n_samples, n_channels), or a mono waveform of shape (n_samples,)",
        verified_by="tests/test_pipeline.py::test_arrays_that_are_not_audio_samples_are_refused",
        fragments=(r"looks channels first; pass waveform\.T",),
    ),
    Case(
        "api-int16",
        LIBRARY,
        "sed.detect with int16 samples",
        "sed.detect((a * 32767).astype(np.int16), 44100, model=model)",
        0,
        "ParameterError: audio samples must be floating point in [-1, 1], got int16; scale "
        "integer samples first (int16: waveform / 32768, ...)",
        verified_by="tests/test_pipeline.py::test_arrays_that_are_not_audio_samples_are_refused",
        fragments=("scale integer samples first",),
    ),
    Case(
        "api-classes",
        LIBRARY,
        'classes=["Bicycle bell", "Ding"] (a list), ("Bicycle bell",) (a tuple)',
        'sed.detect(a, 44100, model=model, classes=["Bicycle bell", "Ding"])',
        0,
        'the same events as classes="Bicycle bell,Ding"; a set or a number: ParameterError',
        verified_by="tests/test_pipeline.py::test_detect_takes_class_lists_as_a_string_a_list_or_a_tuple",
        fragments=('("Bicycle bell", "Ding")', "a string or a list of strings"),
    ),
    Case(
        "api-fuzz",
        LIBRARY,
        "arbitrary bytes and near-valid variations of every file a user gives (hypothesis)",
        "uv run pytest tests/test_readers.py",
        0,
        "a result or a one-line SedError naming the file and the line (or key, recording, event)",
        verified_by="tests/test_readers.py::test_event_files_near_valid",
        fragments=("read_events",),
    ),
    # ---- data loss: special files, files sed did not write, re-runs, nested batches ----------
    Case(
        "out-fifo",
        OUTPUTS,
        "-o is a FIFO (mkfifo p.csv)",
        "sed detect rec.wav -o p.csv, with a reader on p.csv",
        0,
        "events written to p.csv (streamed to the FIFO's reader; p.csv stays a FIFO)",
        verified_by="tests/test_cli.py::test_detect_into_a_fifo_streams_to_it",
        fragments=('startswith(b"filename,onset,offset,event_label")', "fifo.is_fifo()"),
        slow=True,
    ),
    Case(
        "out-device",
        OUTPUTS,
        "-o is a character device (/dev/null, or a link to it)",
        "sed detect rec.wav -o null.csv (null.csv -> /dev/null)",
        0,
        "written to the device; the device node is never replaced",
        verified_by="tests/test_outputs.py::test_a_character_device_is_written_to_not_replaced",
        fragments=("null.is_symlink()", "is_char_device()"),
    ),
    Case(
        "out-socket",
        OUTPUTS,
        "-o is a socket",
        "sed detect rec.wav -o s.csv (s.csv a Unix socket)",
        2,
        "sed detect: error: s.csv: -o is a socket; sed writes regular files, FIFOs and character "
        "devices only",
        verified_by="tests/test_outputs.py::test_a_socket_is_refused",
        fragments=("-o is a socket; sed writes regular files, FIFOs and character devices only",),
    ),
    Case(
        "stdout-full",
        OUTPUTS,
        "-o - into a full disk (standard output is /dev/full)",
        "sed detect rec.wav -o - > /dev/full",
        1,
        "sed detect: error: standard output (-o -): cannot write (No space left on device)",
        verified_by="tests/test_cli.py::test_detect_to_a_full_standard_output_is_one_line",
        fragments=("standard output (-o -): cannot write (No space left on device)",),
        slow=True,
    ),
    Case(
        "out-not-sed",
        OUTPUTS,
        "-o names an existing file sed did not write (the user's annotation table)",
        "sed detect rec.wav -o ref.tsv",
        2,
        "sed detect: error: ref.tsv: -o exists and sed did not write it (or it was changed "
        "since); it will not be replaced: give --overwrite to replace it, or another name",
    ),
    Case(
        "json-not-sed",
        OUTPUTS,
        "--json names an existing file sed did not write",
        "sed evaluate --reference ref.tsv --estimated ref.tsv --json notes.txt",
        2,
        "sed evaluate: error: notes.txt: --json exists and sed did not write it (or it was "
        "changed since); it will not be replaced: give --overwrite to replace it, or another name",
        setup="echo mine > notes.txt",
    ),
    Case(
        "format-suffix",
        OUTPUTS,
        "-o ev.csv --format raven: the suffix contradicts the format",
        "sed detect rec.wav -o ev.csv --format raven",
        2,
        "sed detect: error: -o ev.csv has the suffix of csv (.csv), and --format raven writes "
        ".selections.txt files: name it ev.selections.txt, or leave out --format",
    ),
    Case(
        "scores-suffix",
        OUTPUTS,
        "--scores s.csv: a score table named as a CSV",
        "sed detect rec.wav -o ev.csv --scores s.csv",
        2,
        "sed detect: error: --scores s.csv has the suffix of csv (.csv), and score tables are "
        "tab-separated: name it s.scores.tsv",
    ),
    Case(
        "batch-out-file",
        OUTPUTS,
        "a batch given -o out.csv (a file name)",
        "sed detect . -o out.csv",
        2,
        "sed detect: error: -o out.csv is named as a csv file, and a batch writes into a folder: "
        "give a folder name (or create the folder first)",
    ),
    Case(
        "batch-settings",
        BATCHES,
        "a batch re-run into the same folder with another --threshold",
        "sed detect in -o out, then sed detect in -o out --threshold 0.3",
        2,
        "sed detect: error: out: holds the results of 1 recording made with other settings "
        "(parameters.json: threshold_on 0.5, now 0.3); they will not be replaced: give "
        "--overwrite to redo them, or choose another output folder",
        verified_by="tests/test_batch.py::"
        "test_a_rerun_with_another_threshold_is_refused_unless_overwrite",
        fragments=(
            "made with other settings",
            "(parameters.json: threshold_on 0.5, now 0.3); they will not be replaced: give",
        ),
    ),
    Case(
        "batch-nested",
        BATCHES,
        "two batches at once into nested folders (-o out and -o out/sub)",
        "sed detect in -o out & sed detect in -o out/sub",
        2,
        "sed detect: error: out/sub: is inside out, the folder of another sed batch (a batch is "
        "writing there); their files would mix: choose a folder outside it",
        verified_by="tests/test_batch.py::test_a_batch_into_a_folder_inside_a_running_one_is_refused",
        fragments=(
            "the folder of another sed batch (a",
            "batch is writing there); their files would mix: choose a folder outside it",
        ),
        slow=True,
    ),
    Case(
        "batch-around",
        BATCHES,
        "a batch into a folder that holds another batch's folder",
        "sed detect in -o out/sub, then (while it runs, or after) sed detect in -o out",
        2,
        "sed detect: error: out: holds out/sub, the folder of another sed batch (...); their "
        "files would mix: choose a folder that does not hold it",
        verified_by="tests/test_batch.py::"
        "test_a_batch_is_refused_inside_or_around_another_batchs_folder",
        fragments=("their files would mix: choose a folder that does not hold it", "a batch wrote"),
    ),
    Case(
        "batch-special",
        BATCHES,
        "a FIFO, a link to /dev/zero and a dangling link in a batch folder",
        "sed detect in -o out (in/fifo.wav, in/zero.wav -> /dev/zero, in/gone.wav -> missing)",
        1,
        "failures.csv: fifo.wav: is a pipe (a FIFO, or a shell's <(...)), not a regular file: "
        "sed reads a recording from a file it can seek in; ...; zero.wav: is a character "
        "device, not a regular file: ...; gone.wav: a symbolic link to a missing file (...)",
        verified_by="tests/test_batch.py::test_special_files_in_a_batch_folder_are_failures_not_skipped",
        fragments=(
            "is a pipe (a FIFO, or a shell's <(...))",
            "is a character device",
            "a symbolic link to a missing file",
        ),
    ),
    # ---- names, numbers and files that gave a wrong result or a traceback ------------------
    Case(
        "name-tab-newline",
        BATCHES,
        "recordings named with tabs, line breaks, quotes, commas, non-UTF-8 bytes (hypothesis)",
        "write every table (CSV, TSV, JSON, Raven --combine, Audacity, score tables, durations) "
        "for such names; read them with sed, pandas, crowsetta, sed_scores_eval, dcase_util",
        0,
        "one row per event: names written a\\tb.wav, a\\nb.wav, caf\\xe9.wav (display_path), "
        "a cell starting with a quote quoted as CSV quotes it",
        verified_by="tests/test_bad_inputs.py::test_every_table_round_trips_for_any_file_name",
        fragments=(
            "read_ground_truth_events",
            "load_event_list",
            "read_durations",
            "Raven.from_file",
            "read_sed_scores",
        ),
    ),
    Case(
        "plot-all-events",
        FILES,
        "sed plot --events all_events.csv: a table of several recordings",
        "sed plot rec.wav --events out/all_events.csv -o fig.png",
        0,
        "rec.wav's events drawn alone; none there: sed plot: note: --events ... has no event of "
        "rec.wav (72 events of 14 other recordings, ...); none drawn",
        verified_by="tests/test_bad_inputs.py::test_plot_draws_only_the_events_of_the_recording_plotted",
        fragments=("has no event of audio/third.wav (3 events of 2 other recordings", "none drawn"),
    ),
    Case(
        "evaluate-unfinished-batch",
        FILES,
        "sed evaluate --audio DIR against a batch that did not process every reference recording",
        "sed evaluate annotations out --audio audio",
        0,
        "sed evaluate: warning: 2 reference recordings not processed by the batch out (not in its "
        "durations.tsv), scored as no detections: b, c; finish the batch (run it again to "
        "resume) or evaluate against the references of what it processed",
        verified_by="tests/test_bad_inputs.py::test_evaluate_warns_of_reference_recordings_the_batch_did_not_process",
        fragments=(
            "2 reference recordings not processed by the batch",
            "(not in its durations.tsv), scored as no detections: b, c",
        ),
    ),
    Case(
        "scores-nan",
        FILES,
        "NaN (or an empty cell) in a score table",
        "sed evaluate --scores rec.scores.tsv --reference ref.tsv",
        1,
        "sed evaluate: error: rec.scores.tsv: line 3: column 'dog' holds nan (or an empty cell), "
        "not a score",
        verified_by="tests/test_bad_inputs.py::test_nan_in_a_score_table_is_refused_with_its_line",
        fragments=("line 3: column 'dog' holds nan (or an empty cell), not a score",),
    ),
    Case(
        "class-folder-newline",
        TRAINING,
        "a class folder named with a line break",
        "sed train train -o head (train/two<newline>lines/)",
        2,
        "sed train: error: train/two\\nlines: class 'two\\nlines' has a tab, a line break or "
        "bytes that are not UTF-8 in its name, which a head's labels.txt and the event tables "
        "cannot hold; rename it",
        verified_by="tests/test_bad_inputs.py::test_a_class_folder_named_with_a_line_break_is_refused",
        fragments=("has a tab, a line break",),
    ),
    Case(
        "train-audio-file",
        TRAINING,
        "sed train given a recording",
        "sed train rec.wav -o head",
        2,
        "sed train: error: rec.wav: is an audio file, not training data: give a folder with a "
        "sub-folder of audio files per class, or a CSV table of clips and their labels",
        verified_by="tests/test_bad_inputs.py::test_sed_train_on_an_audio_file_says_it_is_one",
        fragments=("is an audio file, not training data",),
    ),
    Case(
        "offset-1e12",
        FILES,
        "a reference offset or a duration of 1e12 or 1e308 s",
        "sed evaluate ref.tsv ev.csv (ref.tsv: 3.0<TAB>1e12<TAB>dog)",
        1,
        "sed evaluate: error: ref.tsv: line 2: offset '1e12' is more than 7 days, longer than any "
        "recording sed reads (a time in milliseconds or samples, not seconds?)",
        verified_by="tests/test_bad_inputs.py::test_a_reference_offset_beyond_days_is_refused",
        fragments=("is more than 7 days",),
    ),
    Case(
        "long-integer",
        FILES,
        "an integer of more than 4,300 digits in a --config, head.json or an events JSON",
        "sed detect rec.wav --config big.toml -o ev.csv",
        2,
        "sed detect: error: big.toml: line 2: an integer of more than 4,300 digits, longer than "
        "any number sed reads",
        verified_by="tests/test_bad_inputs.py::test_integers_of_more_than_4300_digits_are_one_line",
        fragments=("line 2: an integer of more than 4,300 digits",),
    ),
    Case(
        "fifo-device",
        RECORDINGS,
        "a FIFO, a link to /dev/zero, or <(cat rec.wav) given as a recording",
        "mkfifo p.wav; sed detect p.wav -o ev.csv",
        1,
        "sed detect: error: p.wav: is a pipe (a FIFO, or a shell's <(...)), not a regular file: "
        "sed reads a recording from a file it can seek in; save the audio to a file first",
        verified_by="tests/test_bad_inputs.py::test_pipes_and_devices_are_named_for_what_they_are",
        fragments=("is a pipe (a FIFO", "is a character device"),
    ),
    Case(
        "wav-unknown-length",
        RECORDINGS,
        "a WAV whose data size is 0xFFFFFFFF (a streaming recorder's header)",
        "sed detect stream.wav -o ev.csv",
        0,
        "read whole, as libsndfile reads it",
        verified_by="tests/test_bad_inputs.py::test_a_wav_of_unknown_length_is_read_whole",
        fragments=("0xFFFFFFFF",),
    ),
    # ---- messages that name what the user typed, or the source -------------------------------
    Case(
        "option-name",
        OPTIONS,
        "a post-processing option out of range that click lets through (NaN)",
        "sed detect rec.wav -o ev.csv --min-gap nan",
        2,
        "sed detect: error: --min-gap must be in [0, inf), got nan",
    ),
    Case(
        "empty-reference",
        FILES,
        "an empty reference file",
        "sed evaluate --reference empty.tsv --estimated events.csv",
        0,
        "sed evaluate: warning: the reference holds no events (1 recording): recall, F-scores "
        "and error rates are n/a; only false alarms are counted",
        setup=": > empty.tsv",
    ),
    Case(
        "stdin-partial-frame",
        RECORDINGS,
        "three bytes of s16le on standard input (one sample and half of the next)",
        "printf '\\001\\002\\003' | sed listen - --rate 16000",
        0,
        "sed listen: the stream ended inside a sample frame: its last byte was dropped",
        slow=True,
    ),
    Case(
        "stdin-nan",
        RECORDINGS,
        "a NaN sample in f32le on standard input",
        "printf '\\000\\000\\300\\177' | sed listen - --rate 16000 --sample-format f32le --quiet",
        1,
        "sed listen: error: stdin: NaN or infinite samples, the first at 0.000 s",
        slow=True,
    ),
    # ---- the second day: damaged and odd recordings -----------------------------------------
    Case(
        "cut-flac",
        RECORDINGS,
        "FLAC cut short (a copy that stopped)",
        "sed detect cut.flac -o ev.csv",
        1,
        "sed detect: error: cut.flac: cannot decode audio (flac decoder lost sync.)",
    ),
    Case(
        "cut-ogg",
        RECORDINGS,
        "OGG/Vorbis cut short inside its headers",
        "sed detect cut.ogg -o ev.csv",
        1,
        "sed detect: error: cut.ogg: not a readable audio file (Supported file format but file "
        "is malformed.)",
    ),
    Case(
        "cut-mp3",
        RECORDINGS,
        "MP3 cut short: its Xing header still declares the whole length (read on, it gave the "
        "header's duration)",
        "sed detect cut.mp3 -o ev.csv",
        1,
        "sed detect: error: cut.mp3: truncated: the header declares 3.000 s of audio, the file "
        "holds ... s",
    ),
    Case(
        "junk-ogg",
        RECORDINGS,
        "an Ogg page header followed by random bytes",
        "sed detect junk.ogg -o ev.csv",
        1,
        "sed detect: error: junk.ogg: not a readable audio file (File contains data in an "
        "unimplemented format.)",
    ),
    Case(
        "no-channels",
        RECORDINGS,
        "WAV header declaring 0 channels",
        "sed detect no_channels.wav -o ev.csv",
        1,
        "sed detect: error: no_channels.wav: not a readable audio file (Channel count is zero.)",
    ),
    Case(
        "rate-0",
        RECORDINGS,
        "WAV header declaring a sample rate of 0 Hz",
        "sed detect rate0.wav -o ev.csv",
        1,
        "sed detect: error: rate0.wav: not a readable audio file (Internal error : SF_INFO "
        "struct incomplete.)",
    ),
    Case(
        "rate-1",
        RECORDINGS,
        "WAV of 20 samples at 1 Hz (was stretched into 20 s of 'Silence')",
        "sed detect rate1.wav -o ev.csv",
        1,
        "sed detect: error: rate1.wav: sample rate 1 Hz in its header, below the 1000 Hz of any "
        "sound recording (a broken header?)",
    ),
    Case(
        "rate-10M",
        RECORDINGS,
        "WAV at 10 MHz (resampled to 16 kHz like any rate)",
        "sed detect rate10M.wav -o ev.csv --classes Speech",
        0,
        "0 events in 0.0 s of audio",
        slow=True,
    ),
    Case(
        "u8",
        RECORDINGS,
        "8-bit unsigned WAV",
        "sed detect u8.wav -o ev.csv --classes Speech",
        0,
        "0 events in 2.0 s of audio",
        slow=True,
    ),
    Case(
        "pcm24",
        RECORDINGS,
        "24-bit WAV",
        "sed detect pcm24.wav -o ev.csv --classes Speech",
        0,
        "0 events in 2.0 s of audio",
        slow=True,
    ),
    Case(
        "one-sample",
        RECORDINGS,
        "a recording of one sample",
        "sed detect one_sample.wav -o ev.csv --classes Speech",
        0,
        "0 events in 0.0 s of audio",
        slow=True,
    ),
    Case(
        "channels-1000",
        RECORDINGS,
        "WAV with 1000 channels (averaged to mono)",
        "sed detect channels1000.wav -o ev.csv --classes Speech",
        0,
        "0 events in 0.0 s of audio",
        slow=True,
    ),
    Case(
        "wav-named-mp3",
        RECORDINGS,
        "a WAV named .mp3 (read by its content, not its name)",
        "sed detect wav_named.mp3 -o ev.csv --classes Speech",
        0,
        "0 events in 10.0 s of audio",
        slow=True,
    ),
    Case(
        "folder-named-wav",
        RECORDINGS,
        "an empty folder named like a recording (dir.wav)",
        "sed detect folder.wav -o out",
        2,
        "sed detect: error: no audio files found in folder.wav",
    ),
    Case(
        "dangling-input",
        RECORDINGS,
        "the recording is a symbolic link to a missing file",
        "sed detect dangling.wav -o ev.csv",
        1,
        "sed detect: error: dangling.wav: a symbolic link to a missing file (gone.wav)",
        setup="ln -s gone.wav dangling.wav",
    ),
    Case(
        "crlf-list",
        BATCHES,
        "a path list with Windows line ends (CRLF) on stdin",
        "sed detect - -o out --quiet --classes Speech < crlf.txt",
        0,
        "2 recordings: 2 processed, 0 already done, 0 failed; ...",
        slow=True,
    ),
    Case(
        "bom-list",
        BATCHES,
        "a path list starting with a byte order mark (Notepad) on stdin (its first name was "
        "not found)",
        "sed detect - -o out --quiet --classes Speech < bom.txt",
        0,
        "1 recording: 1 processed, 0 already done, 0 failed; ...",
        slow=True,
    ),
    # ---- the second day: outputs onto inputs, folders and odd names -----------------------------
    Case(
        "save-config-is-config",
        OUTPUTS,
        "--save-config names the --config it reads",
        "sed detect rec.wav -o ev.csv --config range.json --save-config range.json",
        2,
        "sed detect: error: range.json: --save-config would replace an input of this run "
        "(--config range.json); write it elsewhere",
    ),
    Case(
        "json-is-estimated",
        OUTPUTS,
        "sed evaluate --json names the estimated events",
        "sed evaluate --reference ref.tsv --estimated events.csv --json events.csv",
        2,
        "sed evaluate: error: events.csv: --json would replace an input of this run "
        "(--estimated events.csv); write it elsewhere",
    ),
    Case(
        "tag-out-is-input",
        OUTPUTS,
        "sed tag -o names one of the recordings",
        "sed tag rec.wav audio/rec.wav -o rec.wav",
        2,
        "sed tag: error: rec.wav: -o would replace an input of this run (INPUT rec.wav); write "
        "it elsewhere",
    ),
    Case(
        "embed-suffix",
        OUTPUTS,
        "sed embed -o names the recording (no .npz or .parquet)",
        "sed embed rec.wav -o rec.wav",
        2,
        "sed embed: error: embeddings output must end in .npz or .parquet, got 'rec.wav'",
    ),
    Case(
        "plot-out-folder",
        OUTPUTS,
        "sed plot -o names a folder",
        "sed plot rec.wav -o fig.png",
        2,
        "Error: Invalid value for '-o' / '--output': File 'fig.png' is a directory.",
        setup="mkdir fig.png",
    ),
    Case(
        "scores-folder",
        OUTPUTS,
        "--scores names a folder",
        "sed detect rec.wav -o ev.csv --scores s.scores.tsv",
        2,
        "sed detect: error: s.scores.tsv: --scores needs a file name, and this is a folder",
        setup="mkdir s.scores.tsv",
    ),
    Case(
        "search-out-is-query",
        OUTPUTS,
        "sed search -o names the query",
        "sed search idx --query rec.wav -o rec.wav",
        2,
        "sed search: error: rec.wav: -o would replace an input of this run (--query rec.wav); "
        "write it elsewhere",
    ),
    Case(
        "review-suffix",
        OUTPUTS,
        "sed review -o names the annotation (not .html)",
        "sed review annotated -o ref.tsv",
        2,
        "sed review: error: the review page must end in .html, got 'ref.tsv'",
    ),
    Case(
        "tune-out-is-config",
        OUTPUTS,
        "sed tune -o names the --config it starts from",
        'sed tune --audio audio --reference annotations --classes "Bicycle bell" --config '
        "range.json -o range.json",
        2,
        "sed tune: error: range.json: -o would replace an input of this run (--config "
        "range.json); write it elsewhere",
    ),
    Case(
        "index-into-audio",
        OUTPUTS,
        "sed index -o names the folder of recordings it indexes",
        "sed index audio -o audio",
        2,
        "sed index: error: audio: holds files but no sed index; give an empty or new folder",
    ),
    Case(
        "index-into-file",
        OUTPUTS,
        "sed index -o names a file",
        "sed index audio -o notes.txt",
        2,
        "Error: Invalid value for '-o' / '--output': Directory 'notes.txt' is a file.",
    ),
    Case(
        "listen-out-config",
        OUTPUTS,
        "sed listen -o names its configuration file",
        "sed listen - --rate 16000 --config c.toml -o c.toml < /dev/null",
        1,
        "sed listen: error: c.toml: exists and is not a csv events file to append to (its first "
        "line is not ...)",
        setup="echo 'mode = \"multi\"' > c.toml",
    ),
    Case(
        "out-new-parent",
        OUTPUTS,
        "-o in folders that do not exist yet (created)",
        "sed detect rec.wav -o new/sub/ev.csv --classes Speech",
        0,
        "events written to new/sub/ev.csv",
        slow=True,
    ),
    # ---- the second day: configuration values ------------------------------------------------
    Case(
        "config-type",
        FILES,
        "configuration value of the wrong type (a string)",
        "sed detect rec.wav -o ev.csv --config c.toml",
        2,
        "sed detect: error: c.toml: line 1: threshold_on must be a number, got 'high'",
        setup="echo 'threshold_on = \"high\"' > c.toml",
    ),
    Case(
        "config-bool",
        FILES,
        "configuration value true for a threshold",
        "sed detect rec.wav -o ev.csv --config c.toml",
        2,
        "sed detect: error: c.toml: line 1: threshold_on must be a number, got True",
        setup="echo 'threshold_on = true' > c.toml",
    ),
    Case(
        "config-nan",
        FILES,
        "min_duration_seconds = nan (TOML has nan)",
        "sed detect rec.wav -o ev.csv --config c.toml",
        2,
        "sed detect: error: c.toml: line 1: min_duration_seconds must be in [0, inf), got nan",
        setup="echo 'min_duration_seconds = nan' > c.toml",
    ),
    Case(
        "config-median",
        FILES,
        "a negative median_filter_seconds",
        "sed detect rec.wav -o ev.csv --config c.toml",
        2,
        "sed detect: error: c.toml: line 1: median_filter_seconds must be in [0, inf), got -1.0",
        setup="echo 'median_filter_seconds = -1.0' > c.toml",
    ),
    Case(
        "config-inf",
        FILES,
        "min_gap_seconds = inf",
        "sed detect rec.wav -o ev.csv --config c.toml",
        2,
        "sed detect: error: c.toml: line 1: min_gap_seconds must be in [0, inf), got inf",
        setup="echo 'min_gap_seconds = inf' > c.toml",
    ),
    Case(
        "config-margin",
        FILES,
        "a negative refine_margin_db",
        "sed detect rec.wav -o ev.csv --config c.toml",
        2,
        "sed detect: error: c.toml: line 1: refine_margin_db must be in [0, inf), got -3",
        setup="echo 'refine_margin_db = -3' > c.toml",
    ),
    Case(
        "config-mode",
        FILES,
        "an unknown mode",
        "sed detect rec.wav -o ev.csv --config c.toml",
        2,
        "sed detect: error: c.toml: line 1: unknown post-processing mode 'both'; choose one of "
        "multi, top",
        setup="echo 'mode = \"both\"' > c.toml",
    ),
    Case(
        "config-boundaries",
        FILES,
        "an unknown boundary convention",
        "sed detect rec.wav -o ev.csv --config c.toml",
        2,
        "sed detect: error: c.toml: line 1: unknown boundary convention 'edges'; choose one of "
        "extents, centres, refined",
        setup="echo 'boundaries = \"edges\"' > c.toml",
    ),
    Case(
        "config-twice-toml",
        FILES,
        "a TOML configuration setting one key twice",
        "sed detect rec.wav -o ev.csv --config c.toml",
        2,
        "sed detect: error: c.toml: line 2: not valid TOML (Cannot overwrite a value)",
        setup="printf 'threshold_on = 0.3\\nthreshold_on = 0.4\\n' > c.toml",
    ),
    Case(
        "config-twice-json",
        FILES,
        "a JSON configuration naming one key twice (the last value was taken without a word)",
        "sed detect rec.wav -o ev.csv --config c.json",
        2,
        "sed detect: error: c.json: line 2: key 'threshold_on' is given twice",
        setup='printf \'{"threshold_on": 0.3,\\n "threshold_on": 0.4}\\n\' > c.json',
    ),
    Case(
        "config-list",
        FILES,
        "a JSON configuration that is a list",
        "sed detect rec.wav -o ev.csv --config c.json",
        2,
        "sed detect: error: c.json: a post-processing configuration must be a table of keys",
        setup="echo '[0.3]' > c.json",
    ),
    Case(
        "config-yaml",
        FILES,
        "a YAML configuration (it was read as JSON without saying why)",
        "sed detect rec.wav -o ev.csv --config c.yaml",
        2,
        "sed detect: error: c.yaml: line 1: not valid JSON (Expecting value); a configuration "
        "ending in .toml is read as TOML, any other as JSON",
        setup="echo 'threshold_on: 0.3' > c.yaml",
    ),
    Case(
        "config-folder",
        FILES,
        "--config names a folder",
        "sed detect rec.wav -o ev.csv --config nothing",
        2,
        "Error: Invalid value for '--config': File 'nothing' is a directory.",
    ),
    Case(
        "config-section",
        FILES,
        "the keys under a [postprocessing] table",
        "sed detect rec.wav -o ev.csv --config c.toml",
        2,
        "sed detect: error: c.toml: line 1: unknown key 'postprocessing'; known keys: ...",
        setup="printf '[postprocessing]\\nthreshold_on = 0.3\\n' > c.toml",
    ),
    Case(
        "config-hysteresis",
        FILES,
        "threshold_off above threshold_on in a configuration",
        "sed detect rec.wav -o ev.csv --config c.toml",
        2,
        "sed detect: error: c.toml: line 2: threshold_off (0.6) must not exceed threshold_on (0.3)",
        setup="printf 'threshold_on = 0.3\\nthreshold_off = 0.6\\n' > c.toml",
    ),
    Case(
        "config-class-threshold",
        FILES,
        "a class threshold of 2 in a configuration",
        "sed detect rec.wav -o ev.csv --config c.toml --classes Speech",
        2,
        "sed detect: error: c.toml: line 1: threshold_on must be in [0, 1], got 2",
        setup="printf '[class_thresholds]\\nSpeech = 2\\n' > c.toml",
    ),
    Case(
        "thresholds-range",
        FILES,
        "a per-class threshold of 1.5",
        "sed detect rec.wav -o ev.csv --classes Speech --class-thresholds t.csv",
        2,
        "sed detect: error: t.csv: line 2: threshold_on must be in [0, 1], got '1.5'",
        setup="printf 'event_label,threshold_on\\nSpeech,1.5\\n' > t.csv",
    ),
    Case(
        "thresholds-twice",
        FILES,
        "per-class thresholds naming a label twice",
        "sed detect rec.wav -o ev.csv --classes Speech --class-thresholds t.csv",
        2,
        "sed detect: error: t.csv: line 3: event label 'Speech' appears twice",
        setup="printf 'event_label,threshold_on\\nSpeech,0.5\\nSpeech,0.3\\n' > t.csv",
    ),
    Case(
        "map-twice",
        FILES,
        "a label map naming an event label twice",
        "sed detect rec.wav -o ev.csv --label-map m.csv",
        2,
        "sed detect: error: m.csv: line 3: event label 'bell' appears twice",
        setup="printf 'event_label,yamnet_display_names\\nbell,Bicycle bell\\nbell,Ding\\n' "
        "> m.csv",
    ),
    Case(
        "map-empty",
        FILES,
        "an empty label map",
        "sed detect rec.wav -o ev.csv --label-map m.csv",
        2,
        "sed detect: error: m.csv: label map must start with the header "
        "event_label,yamnet_display_names",
        setup=": > m.csv",
    ),
    # ---- the second day: annotations and evaluation inputs ------------------------------------
    Case(
        "ref-nan",
        FILES,
        "a reference offset of nan",
        "sed evaluate --reference r.tsv --estimated events.csv",
        1,
        "sed evaluate: error: r.tsv: line 1: offset 'nan' is not a time >= 0 s",
        setup="printf '1.0\\tnan\\tdog\\n' > r.tsv",
    ),
    Case(
        "ref-bom",
        FILES,
        "a reference starting with a byte order mark",
        "sed evaluate --reference r.tsv --estimated events.csv --brief",
        0,
        "segment F1 66.7 %, ER 0.50; event F1 0.0 %, ER 2.00 (1 recording, 1 label)",
        setup="printf '\\357\\273\\2772.0\\t3.5\\tBicycle bell\\n' > r.tsv",
    ),
    Case(
        "ref-excel",
        FILES,
        "an Excel CSV: byte order mark, header, CRLF line ends",
        "sed evaluate --reference r.csv --estimated events.csv --brief",
        0,
        "segment F1 66.7 %, ER 0.50; event F1 0.0 %, ER 2.00 (1 recording, 1 label)",
        setup="printf '\\357\\273\\277onset,offset,event_label\\r\\n2.0,3.5,Bicycle bell\\r\\n' "
        "> r.csv",
    ),
    Case(
        "ref-excel-sep",
        FILES,
        "an Excel CSV starting with its sep=, line (was: expected onset, offset...)",
        "sed evaluate --reference r.csv --estimated events.csv --brief",
        0,
        "segment F1 66.7 %, ER 0.50; event F1 0.0 %, ER 2.00 (1 recording, 1 label)",
        setup="printf 'sep=,\\r\\nonset,offset,event_label\\r\\n2.0,3.5,Bicycle bell\\r\\n' "
        "> r.csv",
    ),
    Case(
        "ref-decimal-comma",
        FILES,
        "a spreadsheet's decimal commas (2,0;3,5)",
        "sed evaluate --reference r.csv --estimated events.csv",
        1,
        "sed evaluate: error: r.csv: line 2: onset '2,0' is not a number (a decimal comma? "
        "write 2.0)",
        setup="printf 'onset;offset;event_label\\n2,0;3,5;Bicycle bell\\n' > r.csv",
    ),
    Case(
        "ref-mixed",
        FILES,
        "a reference mixing tabs and commas",
        "sed evaluate --reference r.tsv --estimated events.csv",
        1,
        "sed evaluate: error: r.tsv: line 2: expected onset, offset and event_label ...; got 1 "
        "field",
        setup="printf '2.0\\t3.5\\tBicycle bell\\n4.0,5.0,dog\\n' > r.tsv",
    ),
    Case(
        "ref-blank-lines",
        FILES,
        "blank lines before, between and after the events",
        "sed evaluate --reference r.tsv --estimated events.csv --brief",
        0,
        "segment F1 66.7 %, ER 0.50; event F1 0.0 %, ER 2.00 (1 recording, 1 label)",
        setup="printf '\\n2.0\\t3.5\\tBicycle bell\\n\\n\\n' > r.tsv",
    ),
    Case(
        "ref-jams",
        FILES,
        "a JAMS annotation (was read as a table: expected onset...)",
        "sed evaluate --reference r.jams --estimated events.csv",
        1,
        "sed evaluate: error: r.jams: a JAMS file, which sed does not read: convert its sound "
        "events to a table of onset, offset, event_label (CSV or TSV) first",
        setup="echo '{\"annotations\": []}' > r.jams",
    ),
    Case(
        "ref-zero-length",
        FILES,
        "a reference event with onset = offset",
        "sed evaluate --reference r.tsv --estimated events.csv --brief",
        0,
        "segment F1 n/a, ER n/a; event F1 0.0 %, ER 2.00 (1 recording, 2 labels)",
        setup="printf '2.0\\t2.0\\tdog\\n' > r.tsv",
    ),
    Case(
        "est-score",
        FILES,
        "an events score that is not a number",
        "sed evaluate --reference ref.tsv --estimated e.csv",
        1,
        "sed evaluate: error: e.csv: line 2: score 'high' is not a number",
        setup="printf 'filename,onset,offset,event_label,score\\nrec.wav,2,3,bell,high\\n' > e.csv",
    ),
    Case(
        "est-missing",
        FILES,
        "--estimated names nothing",
        "sed evaluate --reference ref.tsv --estimated gone.csv",
        1,
        "sed evaluate: error: gone.csv: no such file or folder",
    ),
    Case(
        "durations-number",
        FILES,
        "a durations table with a duration that is not a number",
        "sed evaluate --reference ref.tsv --estimated events.csv --durations d.tsv",
        1,
        "sed evaluate: error: d.tsv: line 2: duration 'long' is not a number",
        setup="printf 'filename\\tduration\\nrec.wav\\tlong\\n' > d.tsv",
    ),
    Case(
        "durations-missing",
        FILES,
        "a durations table without the reference's recording",
        "sed evaluate --reference ref.tsv --estimated events.csv --durations d.tsv",
        1,
        "sed evaluate: error: d.tsv: no duration for recording 'ref' (ref.tsv)",
        setup="printf 'filename\\tduration\\nother.wav\\t1.0\\n' > d.tsv",
    ),
    Case(
        "file-list-missing",
        FILES,
        "a --file-list naming an estimated file that is not there",
        "sed evaluate --file-list fl.txt",
        1,
        "sed evaluate: error: gone.csv: no such file or folder",
        setup="printf 'ref.tsv\\tgone.csv\\n' > fl.txt",
    ),
    Case(
        "labels-file-missing",
        FILES,
        "--labels names a labels file that is not there (was taken as one label: every event "
        "left out)",
        "sed evaluate --reference ref.tsv --estimated events.csv --labels gone.txt",
        2,
        "sed evaluate: error: --labels gone.txt: no such file (a list of labels is "
        "comma-separated)",
    ),
    Case(
        "time-resolution-0",
        OPTIONS,
        "--time-resolution 0",
        "sed evaluate --reference ref.tsv --estimated events.csv --time-resolution 0",
        2,
        "Error: Invalid value for '--time-resolution': 0.0 is not in the range x>0.",
    ),
    # ---- the second day: heads ------------------------------------------------------------------
    Case(
        "head-no-labels",
        OPTIONS,
        "a head folder without labels.txt",
        "sed tag rec.wav --head head",
        1,
        "sed tag: error: head: not a head directory: labels.txt is missing",
        setup="rm head/labels.txt",
    ),
    Case(
        "head-json",
        OPTIONS,
        "a head.json cut short",
        "sed tag rec.wav --head head",
        1,
        "sed tag: error: head: head.json: line 1: not valid JSON (Expecting property name "
        "enclosed in double quotes)",
        setup="printf '{\"format\": 1,' > head/head.json",
    ),
    Case(
        "head-future",
        OPTIONS,
        "a head of a newer format (was: not a sed head description (format 1))",
        "sed tag rec.wav --head head",
        1,
        "sed tag: error: head: head.json is of format 99, written by a newer sed (this one "
        "reads format 1): upgrade sed to use this head",
        setup="echo '{\"format\": 99}' > head/head.json",
    ),
    Case(
        "head-kind",
        OPTIONS,
        "a head of an unknown kind",
        "sed tag rec.wav --head head",
        1,
        "sed tag: error: head: head.json: unknown kind of head 'transformer' (a newer sed?)",
        setup='echo \'{"format": 1, "kind": "transformer", "labels": ["tone"]}\' > head/head.json',
    ),
    Case(
        "head-model-damaged",
        OPTIONS,
        "a model.keras that is not a Keras archive (keras said: File not found)",
        "sed tag rec.wav --head head",
        1,
        "sed tag: error: head: model.keras is not a Keras model (a .keras file is a zip "
        "archive; this one is damaged, cut short or another file)",
    ),
    Case(
        "head-is-file",
        OPTIONS,
        "--head names a file (was: no such head directory)",
        "sed tag rec.wav --head notes.txt",
        1,
        "sed tag: error: notes.txt: is a file, not a head directory (the folder `sed train` wrote)",
    ),
    # ---- the second day: index and search, review, listen, classes ------------------------------
    Case(
        "search-not-index",
        OPTIONS,
        "sed search of a folder that is not an index",
        "sed search audio --query rec.wav -o hits.csv",
        2,
        "sed search: error: audio: not a sed index (no index.sqlite; build one with `sed index`)",
    ),
    Case(
        "search-no-query",
        OPTIONS,
        "sed search without --query or --head",
        "sed search audio -o hits.csv",
        2,
        "sed search: error: give --query (one or more examples) or --head (a trained head)",
    ),
    Case(
        "index-junk",
        FILES,
        "an index whose index.sqlite is not a database",
        "sed search idx --query rec.wav -o hits.csv",
        2,
        "sed search: error: idx: not a readable sed index (file is not a database)",
        setup="mkdir idx; echo junk > idx/index.sqlite",
    ),
    Case(
        "index-half-written",
        FILES,
        "an index whose vectors file was cut short",
        "sed search idx --query rec.wav -o hits.csv",
        2,
        "sed search: error: idx: vectors.f32 is shorter than its 20 committed rows",
        setup="sed index audio -o idx -q; truncate -s 1000 idx/vectors.f32",
        slow=True,
    ),
    Case(
        "search-silent",
        RECORDINGS,
        "a silent query",
        "sed search idx --query silent.wav -k 3 -o hits.csv",
        1,
        "sed search: error: silent.wav: the query is silent (all samples are zero)",
        setup="sed index audio -o idx -q; sox -n -r 16000 silent.wav trim 0 2 2>/dev/null || "
        "python -c \"import soundfile as f; f.write('silent.wav', [0.0] * 32000, 16000)\"",
        slow=True,
    ),
    Case(
        "search-span",
        OPTIONS,
        "a query span that ends before it starts",
        "sed search idx --query rec.wav --start 5 --end 2 -o hits.csv",
        2,
        "sed search: error: rec.wav: the query span 5-2 s is empty or outside the file (10 s long)",
        setup="sed index audio -o idx -q",
        slow=True,
    ),
    Case(
        "review-recordings",
        FILES,
        "sed review of a folder of recordings (was: rec.wav: line 1: not UTF-8 text)",
        "sed review audio -o page.html",
        1,
        "sed review: error: audio: holds recordings, and is not the output folder of a `sed "
        "detect` batch (no parameters.json and .sed/results): give that folder, or an events "
        "file, and the recordings with --audio",
    ),
    Case(
        "review-missing",
        FILES,
        "sed review of a folder that is not there",
        "sed review gone -o page.html",
        1,
        "sed review: error: gone: no such file or folder",
    ),
    Case(
        "listen-start-time",
        OPTIONS,
        "--start-time that is not a date",
        "sed listen - --rate 16000 --start-time yesterday",
        2,
        "sed listen: error: start time 'yesterday' is not an ISO 8601 date and time (e.g. "
        "2025-06-01T05:30:00)",
    ),
    Case(
        "listen-empty",
        RECORDINGS,
        "an empty standard input",
        "sed listen - --rate 16000 --quiet < /dev/null",
        1,
        "sed listen: error: stdin: no audio: the stream is empty",
        slow=True,
    ),
    Case(
        "classes-nothing",
        OPTIONS,
        "a class search that finds nothing (was: a header alone)",
        "sed classes --search zzqq",
        0,
        "sed classes: note: no class name or mid contains every word of 'zzqq'; try fewer or "
        "shorter words",
    ),
    # ---- the second day: batches and the environment ------------------------------------------
    Case(
        "stale-lock",
        BATCHES,
        "the lock file of a batch killed long ago (a dead pid in it)",
        "sed detect audio -o out --quiet --classes Speech",
        0,
        "1 recording: 1 processed, 0 already done, 0 failed; ...",
        setup="mkdir -p out/.sed; echo 'pid 999999' > out/.sed/lock",
        slow=True,
    ),
    Case(
        "result-deleted",
        BATCHES,
        "a batch's events file deleted by hand, then a re-run",
        "sed detect audio -o out --quiet --classes Speech && test -f out/rec.sed.csv",
        0,
        "1 recording: 0 processed, 1 already done, 0 failed; ...",
        setup="sed detect audio -o out --quiet --classes Speech; rm out/rec.sed.csv",
        slow=True,
    ),
    Case(
        "home-unset",
        OPTIONS,
        "HOME unset",
        'env -u HOME sed classes --search "Bicycle bell"',
        0,
        "198,/m/0gy1t2s,Bicycle bell",
    ),
    Case(
        "tmpdir-missing",
        OUTPUTS,
        "TMPDIR names a folder that does not exist",
        "TMPDIR=/nonexistent sed detect rec.wav -o ev.csv --classes Speech",
        0,
        "events written to ev.csv",
        slow=True,
    ),
    Case(
        "lang-c",
        BATCHES,
        "LANG=C and a recording named café.wav",
        "LANG=C LC_ALL=C sed detect n -o out --quiet --classes Speech && ls out/café.sed.csv",
        0,
        "out/café.sed.csv",
        setup="mkdir n; cp rec.wav n/café.wav",
        slow=True,
    ),
]


def make_workspace(root: Path, bells_wav: Path) -> Path:
    """The files the commands read: one good recording and every bad input of the cases."""
    root.mkdir(parents=True, exist_ok=True)
    audio, rate = sf.read(bells_wav, dtype="float32", frames=10 * 16000, start=5 * 16000)
    sf.write(root / "rec.wav", audio, rate)
    (root / "audio").mkdir()
    sf.write(root / "audio" / "rec.wav", audio, rate)
    (root / "ref.tsv").write_text("2.0\t3.5\tBicycle bell\n")
    (root / "annotations").mkdir()
    (root / "annotations" / "rec.tsv").write_text("2.0\t3.5\tBicycle bell\n")
    (root / "events.csv").write_text(
        "filename,onset,offset,event_label,score\nrec.wav,2.0,3.0,Bicycle bell,0.8\n"
    )
    (root / "notes.txt").write_text("field notes\n")
    _bad_recordings(root, audio, rate)
    _odd_recordings(root, audio, rate)
    _bad_files(root)
    _batches(root, audio, rate)
    _training(root)
    (root / "head").mkdir()
    for name in ("model.keras", "labels.txt"):
        (root / "head" / name).write_text("tone\n")
    (root / "head" / "head.json").write_text(
        json.dumps({"format": 1, "yamnet": {"hop_seconds": 0.5}, "labels": ["tone"]})
    )
    return root


def _wav_header(channels: int, rate: int, data: bytes) -> bytes:
    """A PCM 16-bit WAV with the header fields as given (zero channels, a rate of 0 Hz...)."""
    block = 2 * max(channels, 1)
    fmt = struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block, block, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVEfmt "
        + fmt
        + b"data"
        + (struct.pack("<I", len(data)) + data)
    )


def _odd_recordings(root: Path, audio: np.ndarray, rate: int) -> None:
    """Cut, damaged and unusual recordings: compressed files cut short, odd header fields."""
    noise = np.random.default_rng(3).uniform(-0.5, 0.5, rate * 3).astype(np.float32)
    for suffix in ("flac", "ogg", "mp3"):
        whole = root / f"whole.{suffix}"
        sf.write(whole, noise, rate)
        (root / f"cut.{suffix}").write_bytes(
            whole.read_bytes()[: 3000 if suffix != "mp3" else 2000]
        )
        whole.unlink()
    (root / "junk.ogg").write_bytes(b"OggS\0\2" + np.random.default_rng(4).bytes(500))
    (root / "no_channels.wav").write_bytes(_wav_header(0, rate, bytes(100)))
    (root / "rate0.wav").write_bytes(_wav_header(1, 0, bytes(100)))
    sf.write(root / "rate1.wav", np.zeros(20, np.float32), 1)
    sf.write(root / "rate10M.wav", np.zeros(2 * 10**5, np.float32), 10_000_000, subtype="PCM_16")
    sf.write(root / "u8.wav", audio[: 2 * rate], rate, subtype="PCM_U8")
    sf.write(root / "pcm24.wav", audio[: 2 * rate], rate, subtype="PCM_24")
    sf.write(root / "one_sample.wav", audio[:1], rate)
    sf.write(root / "channels1000.wav", np.zeros((16, 1000), np.float32), rate)
    shutil.copy(root / "rec.wav", root / "wav_named.mp3")
    (root / "folder.wav").mkdir()
    (root / "crlf.txt").write_bytes(b"rec.wav\r\naudio/rec.wav\r\n")
    (root / "bom.txt").write_bytes(b"\xef\xbb\xbfrec.wav\n")


def _bad_recordings(root: Path, audio: np.ndarray, rate: int) -> None:
    (root / "empty.wav").write_bytes(b"")
    (root / "notes.wav").write_text("field notes, not audio\n")
    full = root / "full.wav"
    sf.write(full, audio, rate, subtype="PCM_16")  # 320000 bytes of samples
    data = full.read_bytes()
    (root / "truncated.wav").write_bytes(data[: len(data) - 160000])
    full.unlink()
    (root / "junk.mp3").write_bytes(np.random.default_rng(13).bytes(5000))
    sf.write(root / "header_only.wav", np.zeros(0, np.float32), rate)
    nan = audio.copy()
    nan[2 * rate] = np.nan
    sf.write(root / "nan.wav", nan, rate, subtype="FLOAT")
    sf.write(root / "short.wav", audio[: rate // 10], rate)
    (root / "latin").mkdir()
    sf.write(os.fsencode(root / "latin" / "caf\udce9.wav"), audio, rate)  # bytes caf\xe9.wav


def _bad_files(root: Path) -> None:
    (root / "typo.toml").write_text("mode = 'multi'\ntreshold_on = 0.3\n")
    (root / "broken.toml").write_text("mode = 'multi'\nthreshold_on = \n")
    (root / "latin1.toml").write_bytes(b"mode = 'multi'\n# caf\xe9\n")
    (root / "range.json").write_text('{\n  "mode": "multi",\n  "threshold_on": 3\n}\n')
    (root / "cow.csv").write_text("event_label,threshold_on\ncow,0.2\n")
    (root / "high.csv").write_text("event_label,threshold_on\nSpeech,high\n")
    (root / "labels.csv").write_text("event_label,yamnet_display_names\nbell,Bicycle bell\n")
    (root / "noheader.csv").write_text("bell,Bicycle bell\n")
    (root / "unknown.csv").write_text(
        "event_label,yamnet_display_names\nbell,Bicycle bell\ndog,Barking dog\n"
    )
    (root / "latin1.csv").write_bytes(b"event_label,yamnet_display_names\ncaf\xe9,Speech\n")
    (root / "bad_time.tsv").write_text("1.0\t2.0\tdog\n3.0\tlater\tdog\n")
    (root / "reversed.tsv").write_text("3.0\t1.0\tdog\n")
    (root / "negative.tsv").write_text("-1.0\t1.0\tdog\n")
    (root / "nolabel.tsv").write_text("1.0\t2.0\t \n")
    (root / "fields.tsv").write_text("1.0\t2.0\tdog\n3.0\t4.0\n")
    (root / "nocolumn.csv").write_text("filename,onset,event_label\nrec.wav,1.0,dog\n")
    (root / "cut.json").write_text('{"recordings": [\n')
    (root / "notimes.selections.txt").write_text(
        "Selection\tView\tAnnotation\n1\tSpectrogram 1\tdog\n"
    )
    (root / "latin1.tsv").write_bytes(b"1.0\t2.0\tdog\n3.0\t4.0\tcaf\xe9\n")
    (root / "nothing").mkdir()


def _batches(root: Path, audio: np.ndarray, rate: int) -> None:
    (root / "archive" / "site").mkdir(parents=True)
    sf.write(root / "archive" / "site" / "a.wav", audio, rate)
    (root / "broken.wav").write_bytes(b"RIFF")
    shutil.copytree(EXAMPLES, root / "annotated")


def _training(root: Path) -> None:
    rng = np.random.default_rng(5)
    for kind, count in (("tone", 3), ("noise", 3)):
        for i in range(count):
            write_clip(root / "train" / kind / f"{kind[0]}{i}.wav", kind, rng)
    write_clip(root / "train" / "_background" / "quiet.wav", "noise", rng)
    shutil.copytree(root / "train", root / "train_no_background")
    shutil.rmtree(root / "train_no_background" / "_background")
    shutil.copytree(root / "train", root / "train_broken")
    for clip in (root / "train_broken" / "tone").iterdir():
        clip.write_bytes(b"")
    (root / "meta.csv").write_text('filename,category\n"t0.wav,tone\n')


# ---- the document's table ------------------------------------------------------------------

GROUPS = [RECORDINGS, OUTPUTS, OPTIONS, FILES, BATCHES, TRAINING, FAULTS, LIBRARY]
TABLE_START = (
    "<!-- cases: written by scripts/reliability_table.py from tests/reliability_cases.py -->"
)
TABLE_END = "<!-- end of cases -->"


def code(text: str) -> str:
    """``text`` as a Markdown code span inside a table cell."""
    text = text.replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def render_table(cases: list[Case] = CASES) -> str:
    """The Markdown tables of the document: one per group, cases numbered throughout."""
    stopped = [case for case in cases if case.status > 2]
    refused = [case for case in cases if case.status in (1, 2)]
    lines = [
        TABLE_START,
        "",
        f"**{len(cases)} bad inputs and faults** tried: {len(refused)} end in one line that names "
        f"the file or option and the problem (exit status 1 or 2), "
        f"{len(cases) - len(refused) - len(stopped)} complete with a note, a warning or the "
        f"right error from the library, {len(stopped)} are runs stopped from outside that end "
        "cleanly and resume. None gives a traceback; none replaces or loses a file the user "
        "owns.",
        "",
    ]
    number = 0
    for group in GROUPS:
        members = [case for case in cases if case.group == group]
        if not members:
            continue
        lines += [f"### {group}", "", "| # | bad input or fault | command | exit | what it gets |"]
        lines.append("| --- | --- | --- | --- | --- |")
        for case in members:
            number += 1
            how = case.shown if not case.verified_by else f"{case.command} ({case.verified_by})"
            cells = [str(number), case.what.replace("|", "\\|"), code(how), str(case.status)]
            lines.append("| " + " | ".join([*cells, code(case.gets)]) + " |")
        lines.append("")
    lines.append(TABLE_END)
    return "\n".join(lines)
