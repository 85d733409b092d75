"""Audio input: formats, rates, channels, resampling, and every kind of bad file."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import soundfile as sf

from sed.audio import audio_info, load_audio, read_audio, resample, to_mono
from sed.errors import AudioError, ParameterError


def tone(rate, seconds=1.0, frequency=1000.0, channels=1, amplitude=0.5):
    t = np.arange(int(rate * seconds)) / rate
    x = amplitude * np.sin(2 * np.pi * frequency * t)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def dominant_frequency(waveform, rate):
    spectrum = np.abs(np.fft.rfft(waveform * np.hanning(len(waveform))))
    return np.fft.rfftfreq(len(waveform), 1 / rate)[spectrum.argmax()]


@pytest.mark.parametrize("extension,subtype,rate,channels", [
    ("wav", "PCM_16", 16000, 1),
    ("wav", "PCM_24", 44100, 2),
    ("wav", "FLOAT", 48000, 6),
    ("wav", "PCM_U8", 8000, 1),
    ("flac", "PCM_16", 22050, 2),
    ("ogg", "VORBIS", 32000, 2),
    ("mp3", "MPEG_LAYER_III", 44100, 2),
])
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
    np.testing.assert_array_equal(resample(x, 22050, 16000, resampler="resampy"),
                                  resampy.resample(x, 22050, 16000, filter="kaiser_best"))


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


@pytest.mark.parametrize("name,message", [
    ("missing.wav", "no such file"),
    ("empty.wav", "file is empty"),
    ("header_only.wav", "not a readable audio file"),
    ("truncated.wav", "truncated: header declares 64000 bytes"),
    ("notes.wav", "not a readable audio file .Format not recognised"),
    ("truncated.flac", "decode|not a readable"),
    ("all_nan.wav", "all samples are NaN or infinite"),
    ("some_inf.wav", "10 of 16000 samples are NaN or infinite"),
    ("no_samples.wav", "no audio samples"),
])
def test_bad_files_raise_audio_error_naming_the_file(tmp_path, name, message):
    write_bad_files(tmp_path)
    with pytest.raises(AudioError, match=message) as error:
        read_audio(tmp_path / name)
    assert str(error.value).startswith(str(tmp_path / name) + ": ")


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

@pytest.mark.parametrize("resampler", ["soxr", "resampy"])
@pytest.mark.parametrize("rate", [44100, 22050, 11025, 48000, 8000, 16000])
def test_stream_resampler_equals_whole_signal_resampling(rng, resampler, rate):
    from sed.audio import StreamResampler

    x = (0.3 * rng.standard_normal(2 * rate + 77)).astype(np.float32)
    whole = resample(x, rate, 16000, resampler=resampler)
    for block in (1, 97, 4096, 10 * rate):
        if block == 1:  # sample by sample, on a shorter signal to stay fast
            x_short = x[:3000]
            expected = resample(x_short, rate, 16000, resampler=resampler)
        else:
            x_short, expected = x, whole
        stream = StreamResampler(rate, 16000, resampler=resampler)
        pieces = [stream.push(x_short[i:i + block]) for i in range(0, len(x_short), block)]
        np.testing.assert_array_equal(np.concatenate(pieces + [stream.finish()]), expected)


@pytest.mark.parametrize("rate,channels,resampler", [
    (44100, 2, "soxr"), (22050, 1, "resampy"), (11025, 2, "soxr"), (16000, 1, "soxr")])
def test_stream_audio_joins_to_load_audio(tmp_path, rate, channels, resampler):
    from sed.audio import stream_audio

    path = tmp_path / "x.flac"
    sf.write(path, tone(rate, seconds=3.3, channels=channels, frequency=440.0), rate)
    whole, info = load_audio(path, resampler=resampler)
    blocks, streamed_info = stream_audio(path, resampler=resampler, block_frames=12345)
    assert streamed_info == info
    np.testing.assert_array_equal(np.concatenate(list(blocks)), whole)


def test_downmix_of_stereo_is_the_mean_bit_for_bit(rng):
    stereo = rng.standard_normal((1000, 2)).astype(np.float32)
    np.testing.assert_array_equal(to_mono(stereo), stereo.mean(axis=1, dtype=np.float32))


def test_stream_audio_reports_the_time_of_the_first_nan(tmp_path):
    from sed.audio import stream_audio

    samples = tone(16000, seconds=5.0)
    samples[40000:40010] = np.nan
    sf.write(tmp_path / "nan.wav", samples, 16000, subtype="FLOAT")
    blocks, _ = stream_audio(tmp_path / "nan.wav", block_frames=16000)
    first = next(blocks)  # the first second is fine
    assert len(first) == 16000
    with pytest.raises(AudioError, match=r"nan\.wav: NaN or infinite samples, the first at 2\.500 s"):
        list(blocks)


@pytest.mark.parametrize("name,message", [
    ("missing.wav", "no such file"),
    ("empty.wav", "file is empty"),
    ("truncated.wav", "truncated: header declares"),
    ("notes.wav", "not a readable audio file"),
    ("truncated.flac", "decode|not a readable"),
    ("all_nan.wav", "NaN or infinite samples, the first at 0.000 s"),
    ("no_samples.wav", "no audio samples"),
])
def test_streaming_bad_files_raise_audio_error_naming_the_file(tmp_path, name, message):
    from sed.audio import stream_audio

    write_bad_files(tmp_path)
    with pytest.raises(AudioError, match=message) as error:
        list(stream_audio(tmp_path / name, block_frames=1000)[0])
    assert str(error.value).startswith(str(tmp_path / name) + ": ")


def test_stream_audio_rejects_bad_block_sizes(tmp_path):
    from sed.audio import stream_audio

    with pytest.raises(ParameterError, match="block_frames must be a positive integer"):
        stream_audio(tmp_path / "x.wav", block_frames=0)
