"""sed: sound event detection with YAMNet.

The public API is re-exported here lazily, so that ``import sed`` (and ``sed --help``) stays fast
and TensorFlow is imported only when a model is loaded.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sed")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

_EXPORTS = {
    "load_model": "sed.pipeline",
    "class_selection": "sed.pipeline",
    "detect": "sed.pipeline",
    "detect_file": "sed.pipeline",
    "top_classes": "sed.pipeline",
    "tag_file": "sed.pipeline",
    "tag_files": "sed.pipeline",
    "plot_file": "sed.pipeline",
    "load_head": "sed.pipeline",
    "Detection": "sed.pipeline",
    "DetectorSpec": "sed.pipeline",
    "Listener": "sed.listen",
    "EventStream": "sed.postprocessing",
    "PostProcessing": "sed.postprocessing",
    "load_config": "sed.postprocessing",
    "save_config": "sed.postprocessing",
    "score_files": "sed.pipeline",
    "development_set": "sed.annotations",
    "Evaluation": "sed.evaluation",
    "evaluate_files": "sed.annotations",
    "evaluate_score_files": "sed.annotations",
    "evaluate_scores": "sed.psds",
    "score_table": "sed.events",
    "write_score_table": "sed.events",
    "tune": "sed.tuning",
    "read_events": "sed.events",
    "write_events": "sed.events",
    "index_recordings": "sed.indexing",
    "open_index": "sed.index",
    "query_embeddings": "sed.search",
    "hits_to_events": "sed.search",
    "ScoreGrid": "sed.scores",
    "score_file": "sed.segmenter",
    "score_waveform": "sed.segmenter",
    "score_stream": "sed.segmenter",
    "Scorer": "sed.segmenter",
    "YamnetScorer": "sed.segmenter",
    "resolve_scorer": "sed.pipeline",
    "train_head_files": "sed.pipeline",
    "train_frame_head_files": "sed.pipeline",
    "load_audio": "sed.audio",
    "find_audio_files": "sed.audio",
    "stream_audio": "sed.audio",
    "load_class_map": "sed.classes",
    "YamnetParams": "sed.params",
    "run_batch": "sed.batch",
    "SedError": "sed.errors",
    "AudioError": "sed.errors",
    "AnnotationError": "sed.errors",
    "ModelError": "sed.errors",
    "ParameterError": "sed.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sed' has no attribute {name!r}")
