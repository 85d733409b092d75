"""Infrastructure: atomic output files, content fingerprints, the cache folder, signals."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import weakref

import pytest

from sed.errors import Interrupted
from sed.infra import atomic_open, atomic_path, cache_dir, content_sha256, stop_on_signals


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write("partial")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.csv"]  # no temporary file left behind


def test_atomic_path_honours_the_umask(tmp_path):
    # mkstemp makes 0600 files; an output must get the permissions any new file would.
    target = tmp_path / "out.bin"
    with atomic_path(target) as temporary, open(temporary, "wb") as handle:
        handle.write(b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~umask)


def test_content_sha256_sees_content_and_names_not_location(tmp_path):
    for root in ("a", "b"):
        (tmp_path / root / "sub").mkdir(parents=True)
        (tmp_path / root / "sub" / "x.bin").write_bytes(b"weights")
    assert content_sha256(tmp_path / "a") == content_sha256(tmp_path / "b")
    (tmp_path / "b" / "sub" / "x.bin").write_bytes(b"Weights")
    assert content_sha256(tmp_path / "a") != content_sha256(tmp_path / "b")
    (tmp_path / "b" / "sub" / "x.bin").write_bytes(b"weights")
    (tmp_path / "b" / "sub" / "x.bin").rename(tmp_path / "b" / "sub" / "y.bin")
    assert content_sha256(tmp_path / "a") != content_sha256(tmp_path / "b")
    # A single file: only its bytes count, not its name.
    (tmp_path / "c.bin").write_bytes(b"weights")
    assert content_sha256(tmp_path / "c.bin") == content_sha256(tmp_path / "b" / "sub" / "y.bin")


def test_cache_directory_choice(monkeypatch, tmp_path):
    monkeypatch.setenv("SED_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == str(tmp_path / "mine")
    monkeypatch.delenv("SED_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == str(tmp_path / "xdg" / "sed")


def test_a_signal_during_an_import_stops_the_block_once_the_import_is_over(tmp_path, monkeypatch):
    # Raised inside an import, the exception would leave importlib's module lock held (a thread
    # importing the same module then hangs) or a C extension half-initialised.
    name = "sed_test_signalled_while_imported"
    (tmp_path / f"{name}.py").write_text(
        "import os, signal, time\n"
        "os.kill(os.getpid(), signal.SIGTERM)\n"
        "time.sleep(0.2)  # the signal is handled here, inside the import\n"
        "COMPLETE = True\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    alarm_handler_before = signal.getsignal(signal.SIGALRM)
    after_import = []
    readable, writable = os.pipe()
    # Wakes the read below if the signal never reaches the main thread (the test then fails).
    watchdog = threading.Timer(10, os.write, (writable, b"x"))
    watchdog.start()
    try:
        with pytest.raises(Interrupted) as stopped, stop_on_signals():
            __import__(name)
            after_import.append(time.monotonic())
            os.read(readable, 1)  # a system call that only a signal to this thread interrupts
    finally:
        watchdog.cancel()
        os.close(readable)
        os.close(writable)
    assert sys.modules[name].COMPLETE
    assert after_import  # stopped after the import, not inside it
    assert time.monotonic() - after_import[0] < 2  # and at once, not when the read ended
    assert stopped.value.signal_number == signal.SIGTERM
    assert signal.getsignal(signal.SIGALRM) == alarm_handler_before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    monkeypatch.delitem(sys.modules, name)


def test_a_signal_outside_imports_stops_the_block_at_once():
    handler_before = signal.getsignal(signal.SIGINT)
    started = time.monotonic()
    with pytest.raises(Interrupted) as stopped, stop_on_signals():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    assert time.monotonic() - started < 2
    assert stopped.value.signal_number == signal.SIGINT
    assert signal.getsignal(signal.SIGINT) is handler_before


def test_a_signal_lost_in_a_callback_python_ignores_is_raised_again(capsys):
    # Exceptions raised in a weakref callback or a __del__ are printed and dropped by Python
    # ("Exception ignored in"); the signal must not be lost with them.
    class Thing:
        pass

    def signalled_callback(_reference):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)  # the signal is handled here, inside the callback

    thing = Thing()
    reference = weakref.ref(thing, signalled_callback)
    hook_before = sys.unraisablehook
    started = time.monotonic()
    with pytest.raises(Interrupted) as stopped, stop_on_signals():
        del thing  # runs the callback
        time.sleep(5)
    assert reference() is None
    assert time.monotonic() - started < 2
    assert stopped.value.signal_number == signal.SIGTERM
    assert "Exception ignored" not in capsys.readouterr().err
    assert sys.unraisablehook is hook_before


def test_a_signal_held_back_past_the_end_of_the_block_is_raised_as_it_ends(tmp_path, monkeypatch):
    # The block's last instruction is an import that takes the signal: there is no instruction
    # left for the alarm, so the end of the block raises it.
    name = "sed_test_signalled_at_the_end"
    (tmp_path / f"{name}.py").write_text(
        "import os, signal, time\n"
        "os.kill(os.getpid(), signal.SIGTERM)\n"
        "time.sleep(0.005)  # the signal is handled here, inside the import\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr("sed.infra.SIGNAL_RETRY_SECONDS", 60.0)  # the alarm would come too late
    with pytest.raises(Interrupted) as stopped, stop_on_signals():
        __import__(name)
    assert stopped.value.signal_number == signal.SIGTERM
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    monkeypatch.delitem(sys.modules, name)
