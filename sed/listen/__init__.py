"""Listening: sound events as they happen, from a sound card or a live stream.

A :class:`Listener` is ``sed detect`` turned inside out: it is fed blocks of audio as they
arrive, at their own sample rate and channel count, and gives out each event as soon as the
post-processing can decide it (:class:`sed.postprocessing.EventStream`). The audio goes through
the decode path of files (channels averaged, :class:`sed.audio.StreamResampler`) and the
scorer's own stream (:class:`sed.segmenter.ScoreStream`: YAMNet with a class selection, a
window head or a frame-level head), the same that ``sed detect`` runs over a file, so a stream
holding a file's samples gives the events ``sed detect`` finds in that file:

    >>> import sed
    >>> from sed.listen import Listener
    >>> listener = Listener(sed.load_model(), sample_rate=16000, classes="Dog,Bark")
    >>> for block in blocks:                # (n,) or (n, channels) float32 arrays
    ...     for event in listener.push(block):
    ...         print(event.onset, event.offset, event.event_label)
    >>> leftovers = listener.finish()       # the end of the stream closes the open events

Sources: a byte stream such as standard input (:class:`PcmSource`: WAV with its header, or raw
PCM) and a sound card through PortAudio (:class:`DeviceSource`). :func:`listen` runs a source
into a listener until the source ends or a :class:`StopRequest` (SIGINT, SIGTERM) arrives.

The package's modules, one per job: :mod:`sed.listen.listener` (the :class:`Listener`),
:mod:`sed.listen.records` (what it gives out, as JSON records with wall-clock times),
:mod:`sed.listen.sources` (PCM and WAV decoding, standard input, sound cards),
:mod:`sed.listen.signals` (:class:`StopRequest`) and :mod:`sed.listen.loop` (:func:`listen`).
"""

from sed.listen.listener import Listener
from sed.listen.loop import WARN_EVERY_SECONDS, ListenSummary, listen
from sed.listen.records import TopClasses, parse_start_time, record, rounded, wall_time
from sed.listen.signals import StopRequest
from sed.listen.sources import (
    DEFAULT_CHANNELS,
    DEFAULT_SAMPLE_FORMAT,
    DEVICE_BLOCK_SECONDS,
    DEVICE_QUEUE_SECONDS,
    ENCODINGS,
    MAX_BLOCK_SECONDS,
    PORTAUDIO_PACKAGE,
    SAMPLE_FORMATS,
    DeviceSource,
    PcmFormat,
    PcmSource,
    Stopped,
    import_sounddevice,
    read_wav_header,
)

__all__ = [
    "DEFAULT_CHANNELS",
    "DEFAULT_SAMPLE_FORMAT",
    "DEVICE_BLOCK_SECONDS",
    "DEVICE_QUEUE_SECONDS",
    "ENCODINGS",
    "MAX_BLOCK_SECONDS",
    "PORTAUDIO_PACKAGE",
    "SAMPLE_FORMATS",
    "WARN_EVERY_SECONDS",
    "DeviceSource",
    "ListenSummary",
    "Listener",
    "PcmFormat",
    "PcmSource",
    "StopRequest",
    "Stopped",
    "TopClasses",
    "import_sounddevice",
    "listen",
    "parse_start_time",
    "read_wav_header",
    "record",
    "rounded",
    "wall_time",
]
