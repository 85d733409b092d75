"""`sed listen` and its library: the events of `sed detect`, from a stream, as they happen.

References nobody here wrote: `sed detect` (and ``detect_file``) on the same real recordings,
soundfile's decoding of the same WAV bytes, and sounddevice's interface (its stream replaced by
a generator, as no CI machine has a sound card).
"""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import subprocess
import threading
import time

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from click.testing import CliRunner

import sed
from sed.cli import cli
from sed.errors import AudioError, ParameterError
from sed.events import read_events
from sed.heads.head import Head
from sed.listen import (
    DeviceSource,
    Listener,
    PcmFormat,
    PcmSource,
    StopRequest,
    import_sounddevice,
    listen,
)
from sed.pipeline import class_selection, detect_file, score_files, top_classes
from sed.postprocessing import PostProcessing
from tests.test_cli import SED

#: A configuration with every stage at work (median filter, hysteresis, gaps, durations).
TUNED = PostProcessing(
    threshold_on=0.3,
    threshold_off=0.15,
    median_filter_seconds=1.5,
    min_gap_seconds=1.0,
    min_duration_seconds=0.5,
)


def read_int16(path):
    samples, rate = sf.read(path, dtype="int16", always_2d=True)
    return samples, rate


def listen_to(listener: Listener, samples: np.ndarray, rng, max_block=20000):
    """Push the samples in random blocks; return every decided item."""
    decided, i = [], 0
    while i < len(samples):
        n = int(rng.integers(1, max_block))
        decided += listener.push(samples[i : i + n])
        i += n
    return decided + listener.finish()


def assert_same_events(table: pd.DataFrame, events, *, exact=True):
    """Same onsets, offsets and labels (exactly: JSON lines and files round times by one rule),
    scores within 1e-5."""
    expected = table.sort_values(["onset", "offset", "event_label"])
    if exact:  # Event objects
        got = sorted((e.onset, e.offset, e.event_label, e.score) for e in events)
    else:  # JSON lines
        got = sorted((e["onset"], e["offset"], e["event_label"], e["score"]) for e in events)
    assert [g[2] for g in got] == list(expected["event_label"])
    tolerance = 0
    np.testing.assert_allclose([g[0] for g in got], expected["onset"], rtol=0, atol=tolerance)
    np.testing.assert_allclose([g[1] for g in got], expected["offset"], rtol=0, atol=tolerance)
    np.testing.assert_allclose([g[3] for g in got], expected["score"], rtol=0, atol=1e-5)


# ---- the listener against detect_file, on real recordings ---------------------------------


def test_listening_to_the_bells_gives_the_events_of_detect(model, bells_wav, rng):
    """All 521 classes, default post-processing: 48 events, most of them before the end."""
    expected = detect_file(bells_wav, model=model).events
    samples, rate = read_int16(bells_wav)
    listener = Listener(model, sample_rate=rate)
    decided, early, i = [], 0, 0
    while i < len(samples):
        n = int(rng.integers(1, 4000))
        got = listener.push(samples[i : i + n].astype(np.float32) / 32768)
        decided += got
        i += n
    early = len(decided)
    decided += listener.finish()
    assert len(expected) > 20
    assert_same_events(expected, decided)
    assert early >= 0.7 * len(decided)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["office", "animals"])
def test_listening_to_soundscapes_gives_the_events_of_detect(model, shared_data, kind, rng):
    """Real soundscapes at 44.1 kHz (resampled by the stream), label maps, every stage."""
    audio = sorted((shared_data / "sed_dev" / kind / "audio").glob("*.flac"))[:3]
    label_map = shared_data / "labels" / f"{kind}_to_yamnet.csv"
    for path in audio:
        for config in (PostProcessing(), TUNED):
            expected = detect_file(path, model=model, label_map=label_map, postprocessing=config)
            samples, rate = sf.read(path, dtype="float32", always_2d=True)
            listener = Listener(model, sample_rate=rate, label_map=label_map, postprocessing=config)
            assert_same_events(expected.events, listen_to(listener, samples, rng))


class LinearNetwork:
    """A stand-in for a trained Keras head: sigmoid of a fixed linear map of the embeddings."""

    input_shape = (None, 1024)

    def __init__(self, rng, n_labels):
        self.weights = rng.normal(0, 0.05, (1024, n_labels)).astype(np.float32)

    def __call__(self, embeddings, training=False):
        logits = np.asarray(embeddings) @ self.weights - 1.0
        scores = (1 / (1 + np.exp(-logits))).astype(np.float32)
        return type("Tensor", (), {"numpy": lambda self: scores})()


def test_a_head_listens_as_it_detects(model, bells_wav, rng):
    head = Head(
        LinearNetwork(rng, 3),
        ("bell", "car", "voice"),
        {"yamnet": {"hop_seconds": 0.5, "sample_rate": 16000}, "head": {"activation": "sigmoid"}},
    )
    config = PostProcessing(threshold_on=0.6, boundaries="centres", median_filter_seconds=1.0)
    expected = detect_file(bells_wav, model=model, head=head, postprocessing=config).events
    samples, rate = sf.read(bells_wav, dtype="float32")
    listener = Listener(model, sample_rate=rate, head=head, postprocessing=config)
    decided = listen_to(listener, samples, rng)
    assert len(expected) > 0
    assert_same_events(expected, decided)
    with pytest.raises(ParameterError, match="a head sets the classes"):
        Listener(model, sample_rate=rate, head=head, classes="Speech")


def test_every_gives_the_top_classes_of_each_stretch(model, bells_wav, rng):
    samples, rate = sf.read(bells_wav, dtype="float32")
    listener = Listener(model, sample_rate=rate, every_seconds=3.0, top_k=3)
    stretches = listen_to(listener, samples, rng)
    (scores,) = score_files([bells_wav], model=model)
    assert [s.onset for s in stretches] == [3.0 * i for i in range(20)]
    assert stretches[-1].offset == 60.0
    for stretch in stretches:
        inside = (scores.starts >= stretch.onset) & (scores.starts < stretch.offset)
        part = sed.ScoreGrid("", scores.starts[inside], scores.ends[inside],
                                scores.scores[inside], scores.labels, 0.0)  # fmt: skip
        top = top_classes(part, 3)
        assert stretch.labels == tuple(top["label"])
        np.testing.assert_allclose(stretch.scores, top["score"], atol=1e-5)
    with pytest.raises(ParameterError, match="at least the window hop"):
        Listener(model, sample_rate=rate, every_seconds=0.1)


def test_bad_samples_and_an_empty_stream_are_errors(model):
    listener = Listener(model, sample_rate=16000)
    listener.push(np.zeros(1000, np.float32))
    with pytest.raises(AudioError, match=r"NaN or infinite samples, the first at 0\.066 s"):
        listener.push(np.r_[np.zeros(50), np.nan].astype(np.float32))
    with pytest.raises(AudioError, match="no audio samples"):
        Listener(model, sample_rate=16000).finish()
    with pytest.raises(ParameterError, match="sample rate"):
        Listener(model, sample_rate=0)


# ---- decoding streams ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "subtype,container",
    [
        ("PCM_U8", "WAV"),
        ("PCM_16", "WAV"),
        ("PCM_24", "WAV"),
        ("PCM_32", "WAV"),
        ("FLOAT", "WAV"),
        ("DOUBLE", "WAV"),
        ("PCM_16", "WAVEX"),
        ("PCM_24", "RF64"),
    ],
)
def test_wav_streams_decode_as_soundfile_reads_the_file(subtype, container, rng):
    samples = np.clip(rng.normal(0, 0.3, (3001, 2)), -1, 1)
    wav = io.BytesIO()
    sf.write(wav, samples, 22050, format=container, subtype=subtype)
    source = PcmSource(io.BytesIO(wav.getvalue()))
    assert source.is_wav and source.format.sample_rate == 22050 and source.format.channels == 2
    decoded = np.concatenate(list(source.blocks()))
    expected, _ = sf.read(io.BytesIO(wav.getvalue()), dtype="float32", always_2d=True)
    np.testing.assert_array_equal(decoded, expected)


def wav_header(data_bytes, *, extra_chunk=b"", rate=16000):
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra_chunk
    return b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + body + b"data" + struct.pack("<I", data_bytes)


def test_wav_headers_of_live_streams(rng):
    pcm = (rng.normal(0, 3000, 1000)).astype("<i2").tobytes()
    # Streamed by ffmpeg or sox: the length is unknown (0xFFFFFFFF or 0).
    for size in (0xFFFFFFFF, 0):
        blocks = list(PcmSource(io.BytesIO(wav_header(size) + pcm)).blocks())
        assert sum(map(len, blocks)) == 1000
    # A declared length ends the samples (a LIST chunk may follow); an odd chunk is padded.
    odd = b"odd " + struct.pack("<I", 3) + b"abc\0"
    stream = io.BytesIO(wav_header(200, extra_chunk=odd) + pcm + b"LIST....")
    blocks = list(PcmSource(stream).blocks())
    assert sum(map(len, blocks)) == 100
    with pytest.raises(AudioError, match="unsupported WAV encoding"):
        PcmSource(
            io.BytesIO(wav_header(0).replace(struct.pack("<HH", 1, 1), struct.pack("<HH", 6, 1), 1))
        )
    with pytest.raises(AudioError, match="ends before its samples"):
        PcmSource(io.BytesIO(b"RIFF\0\0\0\0WAVEfmt "))
    with pytest.raises(AudioError, match="the stream is empty"):
        PcmSource(io.BytesIO(b""))
    with pytest.raises(ParameterError, match="does not start with a WAV header"):
        PcmSource(io.BytesIO(pcm))


def test_raw_pcm_keeps_partial_frames_for_the_next_read(rng):
    samples = rng.normal(0, 0.2, (500, 2)).astype("<f4")
    data = samples.tobytes()
    reader = io.BufferedReader(io.BytesIO(data), buffer_size=7)  # reads of 7 bytes
    source = PcmSource(reader, raw_format=PcmFormat(8000, 2, "f32le"))
    np.testing.assert_array_equal(np.concatenate(list(source.blocks())), samples)


def test_a_stop_request_wakes_a_blocked_read():
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"\0\0" * 10)
    with os.fdopen(read_fd, "rb", buffering=0) as stream:
        source = PcmSource(stream, raw_format=PcmFormat(16000, 1, "s16le"))
        stop = StopRequest()
        threading.Timer(0.3, stop.request, args=(signal.SIGINT,)).start()
        started = time.monotonic()
        blocks = list(source.blocks(stop))  # the writer never closes: only the stop ends it
        assert time.monotonic() - started < 5 and sum(map(len, blocks)) == 10
        assert stop.signum == signal.SIGINT
        stop.close()
    os.close(write_fd)


# ---- the device path, with sounddevice's stream replaced by a generator -------------------


class FakeSoundDevice:
    """sounddevice's ``query_devices``, ``InputStream`` and ``PortAudioError``, with a sound
    card that delivers the blocks of a generator (and the status flags it gives with them)."""

    class PortAudioError(Exception):
        pass

    def __init__(self, blocks, rate=16000, name="Fake microphone"):
        self.blocks, self.rate, self.name = blocks, rate, name
        self.opened = []

    def query_devices(self, device=None, kind=None):
        assert kind == "input"
        if device not in (None, 0, "Fake"):
            raise ValueError(f"No input device matching {device!r}")
        return {"name": self.name, "default_samplerate": float(self.rate), "max_input_channels": 2}

    def InputStream(self, **settings):  # noqa: N802 (sounddevice's name)
        self.opened.append(settings)
        return FakeStream(self.blocks, settings)


class FakeStream:
    def __init__(self, blocks, settings):
        self.blocks, self.settings = blocks, settings
        self._stop = threading.Event()

    def __enter__(self):
        self._thread = threading.Thread(target=self._run)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        callback, channels = self.settings["callback"], self.settings["channels"]
        try:
            for block, flags in self.blocks:
                if self._stop.is_set():
                    return
                status = type("Flags", (), {"input_overflow": False, "input_underflow": False})()
                for name in flags:
                    setattr(status, name, True)
                callback(np.tile(block[:, None], (1, channels)), len(block), None, status)
                time.sleep(0.0005)  # a fast sound card, that still lets the listener keep up
        finally:
            self.settings["finished_callback"]()


def device_blocks(samples, block=800, flagged=()):
    for n, start in enumerate(range(0, len(samples), block)):
        yield samples[start : start + block], [flagged[n]] if n in flagged else []


def test_a_sound_card_is_listened_to_like_a_stream(model, bells_wav):
    samples, rate = sf.read(bells_wav, dtype="float32", frames=16000 * 30)
    flags = {5: "input_overflow", 9: "input_overflow", 30: "input_underflow"}
    fake = FakeSoundDevice(device_blocks(samples, flagged=flags))
    source = DeviceSource(channels=2, sounddevice=fake)
    assert source.sample_rate == 16000 and fake.opened[0]["channels"] == 2
    listener = Listener(model, sample_rate=source.sample_rate, classes="Bicycle bell,Speech")
    items, warnings = [], []
    summary = listen(source, listener, items.append, warn=warnings.append)
    expected = sed.detect(samples, rate, model=model, classes="Bicycle bell,Speech").events
    assert_same_events(expected, items, exact=False)
    assert (summary.overflows, summary.underflows, summary.signum) == (2, 1, None)
    assert warnings[0].startswith("input overflows: ") and "samples were lost" in warnings[0]
    with pytest.raises(AudioError, match="no input device 'USB'"):
        DeviceSource("USB", sounddevice=fake)
    with pytest.raises(ParameterError, match="at most 2 channels"):
        DeviceSource(channels=4, sounddevice=fake)


def test_the_cli_records_the_default_device(model, bells_wav, monkeypatch):
    samples, _ = sf.read(bells_wav, dtype="float32", frames=16000 * 20)
    fake = FakeSoundDevice(device_blocks(samples, flagged={3: "input_overflow"}))
    monkeypatch.setattr("sed.listen.sources.import_sounddevice", lambda: fake)
    result = CliRunner().invoke(cli, ["listen", "--classes", "Bicycle bell"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (
        "sed listen: listening to 'Fake microphone' (16000 Hz, 1 channel); "
        "events as JSON lines on stdout"
    )
    events = [json.loads(line) for line in lines if line.startswith("{")]
    assert [e["event_label"] for e in events] == ["Bicycle bell", "Bicycle bell"]
    assert any(line.startswith("sed listen: input overflows: 1, underflows: 0") for line in lines)
    assert lines[-1] == "sed listen: 20.0 s of audio, 2 events (1 overflows, 0 underflows)"


def test_missing_portaudio_is_one_clear_line(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_portaudio(name, *args, **kwargs):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(__import__("sys").modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_portaudio)
    with pytest.raises(AudioError, match="apt install libportaudio2"):
        import_sounddevice()
    result = CliRunner().invoke(cli, ["listen", "--classes", "Speech"], prog_name="sed")
    assert result.exit_code == 1
    assert result.output.startswith("sed listen: error: the PortAudio library is not installed")
    assert len(result.output.splitlines()) == 1


# ---- the command line, as users pipe audio into it ---------------------------------------


def run_listen(*args, stdin: bytes, timeout=300):
    return subprocess.run(
        [SED, "listen", *map(str, args)], input=stdin, capture_output=True, timeout=timeout
    )


def json_lines(output: bytes) -> list[dict]:
    return [json.loads(line) for line in output.decode().splitlines()]


@pytest.mark.slow
def test_piping_a_files_pcm_gives_the_events_of_sed_detect(bells_wav, shared_data, tmp_path):
    """The issue's promise, through the command line: `sed listen -` on a file's PCM (raw and
    as WAV) prints the events `sed detect` writes for that file."""
    office = sorted((shared_data / "sed_dev" / "office" / "audio").glob("*.flac"))[0]
    label_map = shared_data / "labels" / "office_to_yamnet.csv"
    cases = [
        (bells_wav, ["--classes", "Bicycle bell,Speech,Vehicle"]),
        (office, ["--label-map", label_map, "--median-filter", "1.5", "--min-gap", "1"]),
    ]
    for path, options in cases:
        detected = tmp_path / f"{path.stem}.json"
        # The reference in-process; `sed listen` reads its standard input as a real process.
        args = ["detect", path, "-o", detected, "--format", "json", *options]
        done = CliRunner().invoke(cli, [str(a) for a in args])
        assert done.exit_code == 0, done.output
        expected = read_events(detected).events
        samples, rate = read_int16(path)
        raw = run_listen("-", "--rate", rate, "--channels", samples.shape[1], *options,
                         stdin=samples.tobytes())  # fmt: skip
        assert raw.returncode == 0, raw.stderr
        assert_same_events(expected, json_lines(raw.stdout), exact=False)
        wav = run_listen("-", *options, "--quiet", stdin=path.read_bytes() if path.suffix == ".wav"
                         else _wav_bytes(samples, rate))  # fmt: skip
        assert wav.returncode == 0 and wav.stderr == b""
        assert_same_events(expected, json_lines(wav.stdout), exact=False)


def _wav_bytes(samples, rate):
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


@pytest.mark.slow
def test_events_are_appended_to_files_of_every_format(bells_wav, tmp_path):
    samples, _ = read_int16(bells_wav)
    pcm = samples[: 16000 * 40].tobytes()
    args = ["-", "--rate", "16000", "--classes", "Bicycle bell", "--start-time",
            "2025-06-01T05:30:00+02:00", "-o", tmp_path / "ev.csv"]  # fmt: skip
    formats = [
        x for name in ("csv", "tsv", "audacity", "raven", "json") for x in ("--format", name)
    ]
    first = run_listen(*args, *formats, stdin=pcm)
    assert first.returncode == 0, first.stderr
    printed = json_lines(first.stdout)
    assert len(printed) == 4  # the last bell is cut where the 40 s end
    assert printed[0]["start_time"] == "2025-06-01T05:30:07.778+02:00"
    assert list(printed[0]) == ["onset", "offset", "event_label", "score", "mean_score",
                                "start_time", "end_time"]  # fmt: skip
    second = run_listen(*args, *formats, stdin=pcm)  # a second run appends
    assert second.returncode == 0, second.stderr
    for suffix in (".csv", ".tsv", ".audacity.txt", ".selections.txt", ".json"):
        events = read_events(tmp_path / f"ev{suffix}").events
        assert len(events) == 8, suffix
        # Two runs, each appending the same 4 events: the file holds them in that order.
        assert list(events["onset"]) == [e["onset"] for e in printed] * 2, suffix
    table = pd.read_csv(tmp_path / "ev.csv")
    assert list(table["start_time"])[:2] == [e["start_time"] for e in printed][:2]
    raven = (tmp_path / "ev.selections.txt").read_text().splitlines()
    assert [line.split("\t")[0] for line in raven] == ["Selection", *map(str, range(1, 9))]
    recordings = json.loads((tmp_path / "ev.json").read_text())["recordings"]
    assert [r["duration_seconds"] for r in recordings] == [40.0, 40.0]
    assert recordings[0]["start_time"] == "2025-06-01T05:30:00.000+02:00"


def test_a_file_that_is_not_an_events_file_is_never_touched(bells_wav, tmp_path):
    notes = tmp_path / "notes.csv"
    notes.write_text("my,own,data\n1,2,3\n")
    result = run_listen("-", "--rate", "16000", "-o", notes, stdin=b"\0\0" * 16000)
    assert result.returncode == 1
    assert b"exists and is not a csv events file to append to" in result.stderr
    assert notes.read_text() == "my,own,data\n1,2,3\n"


@pytest.mark.parametrize(
    "args,stdin,message,status",
    [
        (["-"], b"\1\2" * 100, "stdin does not start with a WAV header: for raw PCM give", 2),
        (["-", "--rate", "16000"], b"", "no audio: the stream is empty", 1),
        (["take.wav"], b"", "the source is '-' (standard input) or nothing", 2),
        (["-", "--device", "1"], b"", "give either '-' (standard input) or --device", 2),
        (["-", "--top", "3"], b"", "--top goes with --every", 2),
        (["-", "--every", "3", "--min-gap", "1"], b"", "--every prints the top classes", 2),
        (["-", "--start-time", "dawn"], b"", "start time 'dawn' is not an ISO 8601", 2),
        (["-", "--rate", "8000"], None, "WAV stream with --rate 16000, not 8000", 2),
        (["-", "--rate", "0"], b"", "Invalid value for '--rate'", 2),
    ],
)
def test_mistakes_are_one_line(bells_wav, args, stdin, message, status):
    stdin = bells_wav.read_bytes()[:4000] if stdin is None else stdin
    result = CliRunner().invoke(cli, ["listen", *args], input=stdin, prog_name="sed")
    assert result.exit_code == status, result.output
    assert message in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


@pytest.mark.slow
@pytest.mark.parametrize("signum,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_closes_the_open_events_and_exits(bells_wav, signum, status):
    """The stream stays open; the signal ends it: the event still undecided (the bell from
    15.2 s, which refined boundaries decide 5 s after its end at 22.6 s) is closed as at the
    end of a recording, and the exit status tells the signal."""
    samples, _ = read_int16(bells_wav)
    process = subprocess.Popen(
        [SED, "listen", "-", "--rate", "16000", "--classes", "Bicycle bell"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    watchdog = threading.Timer(300, process.kill)  # a failing test must not hang the suite
    watchdog.start()
    process.stdin.write(samples[: 16000 * 25].tobytes())
    process.stdin.flush()
    first = json.loads(process.stdout.readline())  # listening: the first bell (to 14.8 s)
    assert first["onset"] == 7.778  # (milliseconds) is decided by 21 s of audio
    time.sleep(1.0)  # the rest of the 25 s is read
    process.send_signal(signum)
    rest = process.stdout.read().decode().splitlines()
    assert process.wait(timeout=60) == status
    process.stdin.close()
    closed = [json.loads(line) for line in rest]
    assert [e["onset"] for e in closed] == [15.228]
    assert 22.0 < closed[0]["offset"] <= 25.0
    assert process.stderr.read().decode().splitlines()[-1].startswith("sed listen: 25.0 s")
    watchdog.cancel()


def wait_until_it_waits_for_input(process, at_most: float = 8.0) -> bool:
    """Wait until ``process``'s main thread sleeps in select(2) or poll(2), as ``sed listen``
    does for its first bytes (Linux: ``/proc/PID/wchan``): True, or False after ``at_most``
    seconds where that cannot be seen (by then the model has loaded on the machines we know)."""
    wchan = f"/proc/{process.pid}/wchan"
    end = time.monotonic() + at_most
    while time.monotonic() < end:
        try:
            with open(wchan) as handle:
                if "poll_schedule_timeout" in handle.read():
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


@pytest.mark.slow
def test_a_signal_before_any_audio_stops_the_wait(model):  # model: the LiteRT cache is warm
    """A producer that never writes (a camera that does not answer): Ctrl-C still stops it,
    whether it comes while Python starts, while the model loads, or while the first bytes are
    awaited (a shell shows 130 for both endings)."""
    for wait in (0.5, 3.0, None):
        process = subprocess.Popen([SED, "listen", "-", "--rate", "16000"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        waiting = False
        if wait is None:
            waiting = wait_until_it_waits_for_input(process)
        else:
            time.sleep(wait)
        process.send_signal(signal.SIGINT)
        try:
            status = process.wait(timeout=300)
        finally:
            process.kill()
        assert status in (130, -signal.SIGINT)  # handled, or before the handler existed
        if waiting:  # the handler is in place while it waits
            assert status == 130
        assert process.stdout.read() == b""
        if status == 130:
            assert b"Traceback" not in process.stderr.read()
        process.stdin.close()


@pytest.mark.slow
def test_a_reader_that_goes_away_ends_the_listening(bells_wav):
    samples, _ = read_int16(bells_wav)
    process = subprocess.Popen(
        f"{SED} listen - --rate 16000 --quiet | head -n 1",
        shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = process.communicate(samples.tobytes(), timeout=300)
    assert len(out.decode().splitlines()) == 1 and b"Traceback" not in err


def test_classes_and_mode_options_are_those_of_detect():
    detect_options = {p.name for p in cli.commands["detect"].params}
    listen_options = {p.name for p in cli.commands["listen"].params}
    batch_only = {"inputs", "output", "formats", "scores_path", "pattern", "jobs", "quiet",
                  "basenames", "scheduler", "overwrite", "combine"}  # fmt: skip
    shared = detect_options - batch_only
    assert shared <= listen_options


def test_a_label_map_selection_is_resolved_once(model, shared_data):
    selection = class_selection(label_map=shared_data / "labels" / "animals_to_yamnet.csv")
    listener = Listener(model, sample_rate=44100, selection=selection)
    assert listener.labels == selection.event_labels
