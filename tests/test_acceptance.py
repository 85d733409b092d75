"""Acceptance: the CLI on a real street recording, scored with sed_eval against its annotation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dcase_util
import pandas as pd
import sed_eval
import soundfile as sf

from tests.conftest import EXAMPLES


def test_bicycle_bells_segment_f1(tmp_path, bells_wav, model):
    # `model` converts YAMNet for LiteRT first, so this run is not the first (which says so).
    sed = Path(sys.executable).parent / "sed"
    result = subprocess.run(
        [
            str(sed),
            "detect",
            str(bells_wav),
            "-o",
            str(tmp_path / "ev.csv"),
            "--classes",
            "Bicycle bell",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # TensorFlow's start-up chatter is kept off the terminal

    annotation = pd.read_csv(EXAMPLES / "bicycle_bells.csv")
    reference = dcase_util.containers.MetaDataContainer(
        [
            {
                "filename": "bells",
                "onset": r.onset,
                "offset": r.offset,
                "event_label": "Bicycle bell",
            }
            for r in annotation[annotation["is_bell"]].itertuples()
        ]
    )
    estimated = dcase_util.containers.MetaDataContainer(
        [
            {
                "filename": "bells",
                "onset": r.onset,
                "offset": r.offset,
                "event_label": r.event_label,
            }
            for r in pd.read_csv(tmp_path / "ev.csv").itertuples()
        ]
    )
    metrics = sed_eval.sound_event.SegmentBasedMetrics(["Bicycle bell"], time_resolution=1.0)
    metrics.evaluate(
        reference, estimated, evaluated_length_seconds=sf.info(str(bells_wav)).duration
    )
    f1 = metrics.results_overall_metrics()["f_measure"]["f_measure"]
    print(f"segment-based F1 (1 s) on bicycle_bells.wav: {f1:.3f}")
    assert f1 >= 0.80
