"""Audio input: formats, rates, channels, resampling, and every kind of bad file."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import soundfile as sf

from sed.audio import (
    Recording,
    audio_info,
    find_audio_files,
    load_audio,
    resample,
    stream_audio,
    to_mono,
)
from sed.errors import AudioError, ParameterError


def tone(rate, seconds=1.0, frequency=1000.0, channels=1, amplitude=0.5):
    t = np.arange(int(rate * seconds)) / rate
    x = amplitude * np.sin(2 * np.pi * frequency * t)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def dominant_frequency(waveform, rate):
    spectrum = np.abs(np.fft.rfft(waveform * np.hanning(len(waveform))))
    return np.fft.rfftfreq(len(waveform), 1 / rate)[spectrum.argmax()]


@pytest.mark.parametrize(
    "extension,subtype,rate,channels",
    [
        ("wav", "PCM_16", 16000, 1),
        ("wav", "PCM_24", 44100, 2),
        ("wav", "FLOAT", 48000, 6),
        ("wav", "PCM_U8", 8000, 1),
        ("flac", "PCM_16", 22050, 2),
        ("ogg", "VORBIS", 32000, 2),
        ("mp3", "MPEG_LAYER_III", 44100, 2),
    ],
)
def test_reads_formats_rates_and_channels(tmp_path, extension, subtype, rate, channels):
    path = tmp_path / f"tone.{extension}"
    sf.write(path, tone(rate, channels=channels), rate, subtype=subtype)
    waveform, info = load_audio(path)
    assert (info.sample_rate, info.channels) == (rate, channels)
    assert waveform.dtype == np.float32 and waveform.ndim == 1
    assert abs(len(waveform) - 16000 * info.frames / rate) <= 1
    assert abs(dominant_frequency(waveform, 16000) - 1000.0) < 5
    assert np.abs(waveform).max() <= 1.0


def test_pcm16_is_scaled_as_the_reference(tmp_path):
    """The reference reads int16 and divides by 32768."""
    samples = np.array([0, 16384, -32768, 32767] * 10, dtype=np.int16)
    sf.write(tmp_path / "x.wav", samples, 16000, subtype="PCM_16")
    waveform, _ = load_audio(tmp_path / "x.wav")
    np.testing.assert_array_equal(waveform, samples / 32768.0)


def test_downmix_averages_channels():
    stereo = np.array([[1.0, 0.0], [0.5, -0.5], [0.25, 0.75]], np.float32)
    np.testing.assert_allclose(to_mono(stereo), [0.5, 0.0, 0.5])


@pytest.mark.parametrize("resampler", ["soxr", "resampy"])
def test_resamplers_keep_frequency_and_level(resampler):
    x = tone(44100, seconds=2.0)[:, 0]
    y = resample(x, 44100, 16000, resampler=resampler)
    assert len(y) == 32000
    assert abs(dominant_frequency(y, 16000) - 1000.0) < 2
    assert abs(np.sqrt(np.mean(y[1000:-1000] ** 2)) - 0.5 / np.sqrt(2)) < 0.005


def test_resampy_is_kaiser_best():
    import resampy

    x = tone(22050)[:, 0]
    np.testing.assert_array_equal(
        resample(x, 22050, 16000, resampler="resampy"),
        resampy.resample(x, 22050, 16000, filter="kaiser_best"),
    )


def test_unknown_resampler():
    with pytest.raises(ParameterError, match="unknown resampler 'librosa'"):
        resample(np.zeros(10, np.float32), 8000, 16000, resampler="librosa")


def write_bad_files(directory):
    good = directory / "good.wav"
    sf.write(good, tone(16000, channels=2), 16000, subtype="PCM_16")
    data = good.read_bytes()
    (directory / "empty.wav").write_bytes(b"")
    (directory / "header_only.wav").write_bytes(data[:30])
    (directory / "truncated.wav").write_bytes(data[: len(data) // 2])
    (directory / "notes.wav").write_text("this is not audio\n" * 50)
    sf.write(directory / "good.flac", tone(44100, 2.0), 44100)
    flac = (directory / "good.flac").read_bytes()
    (directory / "truncated.flac").write_bytes(flac[: len(flac) // 2])
    nan = tone(16000)
    nan[:] = np.nan
    sf.write(directory / "all_nan.wav", nan, 16000, subtype="FLOAT")
    some = tone(16000)
    some[100:110] = np.inf
    sf.write(directory / "some_inf.wav", some, 16000, subtype="FLOAT")
    sf.write(directory / "no_samples.wav", np.zeros((0, 1), np.float32), 16000)


@pytest.mark.parametrize(
    "name,message",
    [
        ("missing.wav", "no such file"),
        ("empty.wav", "file is empty"),
        ("header_only.wav", "not a readable audio file"),
        ("truncated.wav", "truncated: header declares 64000 bytes"),
        ("notes.wav", "not a readable audio file .Format not recognised"),
        ("truncated.flac", "decode|not a readable"),
        ("all_nan.wav", "NaN or infinite samples, the first at 0.000 s"),
        ("some_inf.wav", "NaN or infinite samples, the first at 0.006 s"),
        ("no_samples.wav", "no audio samples"),
    ],
)
def test_bad_files_get_one_message_whole_or_streamed(tmp_path, name, message):
    # One decode path: reading a whole file and streaming it report a bad file alike.
    write_bad_files(tmp_path)
    with pytest.raises(AudioError, match=message) as whole:
        load_audio(tmp_path / name)
    assert str(whole.value).startswith(str(tmp_path / name) + ": ")
    with pytest.raises(AudioError) as streamed:
        list(stream_audio(tmp_path / name, block_samples=1000)[0])
    assert str(streamed.value) == str(whole.value)


def test_directory_is_not_audio(tmp_path):
    with pytest.raises(AudioError, match="is a directory"):
        audio_info(tmp_path)


def test_reading_never_modifies_the_input(tmp_path):
    path = tmp_path / "x.flac"
    sf.write(path, tone(44100, channels=2), 44100)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    load_audio(path, resampler="resampy")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


# --- Streaming: blocks of any size give exactly the whole-file samples. -------------------------


def streamed(x, rate, block, resampler):
    """``x`` through a StreamResampler to 16 kHz, pushed ``block`` samples at a time."""
    from sed.audio import StreamResampler

    stream = StreamResampler(rate, 16000, resampler=resampler)
    pieces = [stream.push(x[i : i + block]) for i in range(0, len(x), block)]
    return np.concatenate(pieces + [stream.finish()])


@pytest.mark.parametrize("rate", [44100, 22050, 11025, 48000, 8000, 44101, 16000])
def test_soxr_stream_equals_whole_signal_resampling(rng, rate):
    x = (0.3 * rng.standard_normal(2 * rate + 77)).astype(np.float32)
    whole = resample(x, rate, 16000, resampler="soxr")
    for block in (97, 4096, 10 * rate):
        np.testing.assert_array_equal(streamed(x, rate, block, "soxr"), whole)
    np.testing.assert_array_equal(
        streamed(x[:3000], rate, 1, "soxr"), resample(x[:3000], rate, 16000, resampler="soxr")
    )


# The resampy stream cuts the signal into pieces of whole rate periods (441 input samples from
# 44.1 kHz; 44101 samples, one second, from 44101 Hz) and calls resampy.resample on each with
# context around it. A piece's output times, j * orig / target in float64, differ from the whole
# signal's (t * orig / target, rounded at a larger magnitude) in the last bits, which can flip one
# of the float32 roundings resampy makes as it adds each tap into a float32 output sample: a
# difference of about one float32 step of the running sum (|sums| < 1.5 here, so steps <= 1.2e-7).
# Measured: at most 3e-8 on these signals, 6e-8 on 10 minutes of 44.1 kHz noise. Where the ratio
# orig / target is exact in binary (48, 32, 8 kHz) the times are equal and so is the output, bit
# for bit; a context that misses the filter's last taps shows there (7e-8 at 48 kHz with 147
# context samples instead of 153).
EXACT_RATIO_RATES = (48000, 32000, 8000)
RESAMPY_STREAM_TOLERANCE = 2 * float(np.finfo(np.float32).eps)  # 2.4e-7, two steps at 1.0


@pytest.mark.parametrize("rate", [44100, 22050, 11025, 44101, 48000, 32000, 8000])
def test_resampy_stream_equals_whole_signal_resampling(rng, rate):
    import resampy

    x = (0.3 * rng.standard_normal(2 * rate + 77)).astype(np.float32)
    whole = resampy.resample(x, rate, 16000, filter="kaiser_best")
    # 97 samples is shorter than a period at 44.1, 22.05, 11.025 kHz and 44101 Hz.
    for block in (1, 97, 4096, 10 * rate):
        x_block = x[:3000] if block == 1 else x  # sample by sample on a shorter signal (speed)
        expected = whole if block != 1 else resampy.resample(x_block, rate, 16000)
        got = streamed(x_block, rate, block, "resampy")
        assert got.shape == expected.shape and got.dtype == np.float32
        if block >= len(x_block) or rate in EXACT_RATIO_RATES:  # one piece, or exact times
            np.testing.assert_array_equal(got, expected)
        else:
            assert np.abs(got - expected).max() <= RESAMPY_STREAM_TOLERANCE


def test_resampy_stream_of_fewer_samples_than_one_output():
    for n in (0, 1, 2):
        assert streamed(np.ones(n, np.float32), 44100, 1, "resampy").shape == (0,)
    assert len(resample(np.ones(2, np.float32), 44100, 16000, resampler="resampy")) == 0


def test_load_audio_with_resampy_is_the_reference_call(tmp_path):
    """A file longer than one decoded block is resampled whole, by the reference's call."""
    import resampy

    from sed.audio import DEFAULT_BLOCK_SAMPLES

    samples = tone(44100, seconds=1.5 * DEFAULT_BLOCK_SAMPLES / 44100, frequency=440.0)[:, 0]
    sf.write(tmp_path / "x.wav", samples, 44100, subtype="FLOAT")
    waveform, _ = load_audio(tmp_path / "x.wav", resampler="resampy")
    np.testing.assert_array_equal(
        waveform, resampy.resample(samples, 44100, 16000, filter="kaiser_best")
    )


@pytest.mark.parametrize(
    "rate,channels,resampler",
    [(44100, 2, "soxr"), (22050, 1, "resampy"), (11025, 2, "soxr"), (16000, 1, "soxr")],
)
def test_stream_audio_joins_to_load_audio(tmp_path, rate, channels, resampler):
    from sed.audio import stream_audio

    path = tmp_path / "x.flac"
    sf.write(path, tone(rate, seconds=3.3, channels=channels, frequency=440.0), rate)
    whole, info = load_audio(path, resampler=resampler)
    blocks, streamed_info = stream_audio(path, resampler=resampler, block_samples=12345)
    assert streamed_info == info
    joined = np.concatenate(list(blocks))
    if resampler == "soxr":
        np.testing.assert_array_equal(joined, whole)
    else:
        assert joined.shape == whole.shape
        assert np.abs(joined - whole).max() <= RESAMPY_STREAM_TOLERANCE


def test_downmix_of_stereo_is_the_mean_bit_for_bit(rng):
    stereo = rng.standard_normal((1000, 2)).astype(np.float32)
    np.testing.assert_array_equal(to_mono(stereo), stereo.mean(axis=1, dtype=np.float32))


def test_stream_audio_reports_the_time_of_the_first_nan(tmp_path):
    from sed.audio import stream_audio

    samples = tone(16000, seconds=5.0)
    samples[40000:40010] = np.nan
    sf.write(tmp_path / "nan.wav", samples, 16000, subtype="FLOAT")
    blocks, _ = stream_audio(tmp_path / "nan.wav", block_samples=16000)
    first = next(blocks)  # the first second is fine
    assert len(first) == 16000
    with pytest.raises(
        AudioError, match=r"nan\.wav: NaN or infinite samples, the first at 2\.500 s"
    ):
        list(blocks)


def test_stream_audio_rejects_bad_block_sizes(tmp_path):
    from sed.audio import stream_audio

    with pytest.raises(ParameterError, match="block_samples must be a positive integer"):
        stream_audio(tmp_path / "x.wav", block_samples=0)


def make_tree(root):
    """Two sites of (empty) files with audio names and others."""
    for relative in (
        "siteA/a1.wav",
        "siteA/deep/a2.flac",
        "siteB/b1.ogg",
        "siteB/broken.wav",
        "siteB/empty.flac",
        "siteB/notes.txt",
    ):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(b"")


def test_find_audio_files(tmp_path):
    make_tree(tmp_path / "in")
    found = find_audio_files([str(tmp_path / "in")]).files
    assert [r.relative for r in found] == [
        "siteA/a1.wav",
        "siteA/deep/a2.flac",
        "siteB/b1.ogg",
        "siteB/broken.wav",
        "siteB/empty.flac",
    ]
    flac = find_audio_files([str(tmp_path / "in")], pattern="*.flac").files
    assert [r.relative for r in flac] == ["siteA/deep/a2.flac", "siteB/empty.flac"]
    two = find_audio_files(
        [str(tmp_path / "in" / "siteA"), str(tmp_path / "in" / "siteB" / "b1.ogg")]
    ).files
    assert [r.relative for r in two] == ["siteA/a1.wav", "siteA/deep/a2.flac", "siteB/b1.ogg"]
    listed = find_audio_files(
        ["-"], stdin=[f"{tmp_path}/in/siteA/a1.wav\n", "\n", f"{tmp_path}/in/siteB/b1.ogg\n"]
    ).files
    assert listed == [
        Recording(f"{tmp_path}/in/siteA/a1.wav", "siteA/a1.wav"),
        Recording(f"{tmp_path}/in/siteB/b1.ogg", "siteB/b1.ogg"),
    ]


def test_find_audio_files_in_a_tricky_folder(tmp_path):
    root = tmp_path / "tricky"
    for relative in (
        "a.WAV",
        "b.Flac",
        ".hidden.wav",
        "notes.txt",
        "c.wav.bak",
        ".cache/x.wav",
        "sub/d.mp3",
        "sub/e.OPUS",
    ):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(b"")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "f.wav").write_bytes(b"")
    (root / "linked").symlink_to(tmp_path / "elsewhere")  # a link to a folder is followed
    (root / "sub" / "loop").symlink_to(root)  # a loop ends where it began
    (root / "g.wav").symlink_to(root / "a.WAV")  # the same file twice: once
    found = find_audio_files([root])
    assert [r.relative for r in found.files] == [
        "a.WAV",
        "b.Flac",
        "linked/f.wav",
        "sub/d.mp3",
        "sub/e.OPUS",
    ]
    assert found.duplicates == 1
    # The sub-folder again (its 2 files, and through its loop the 4 of the root and g.wav) and
    # a.WAV named on its own: all already found, so dropped.
    again = find_audio_files([root, root / "sub", root / "a.WAV"])
    assert len(again) == 5 and again.duplicates == 1 + 6 + 1
    assert find_audio_files([root], pattern="*.mp3").paths == [str(root / "sub" / "d.mp3")]


@pytest.mark.parametrize("head", [b"", b"ID3\x03\x00\x00\x00\x00\x00\x00"])
def test_random_bytes_named_mp3_are_one_error_without_decoder_notes(tmp_path, capfd, rng, head):
    # libmpg123 prints "Note: Illegal Audio-MPEG-Header..." on file descriptor 2, and libsndfile
    # then says "(possibly a pipe?)" of a regular file: neither reaches the user.
    path = tmp_path / "junk.mp3"
    path.write_bytes(head + rng.bytes(5000))
    with pytest.raises(
        AudioError, match=r"not a readable audio file \(no audio data found in it\)"
    ):
        audio_info(path)
    assert capfd.readouterr().err == ""
