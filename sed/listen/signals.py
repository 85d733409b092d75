"""Stopping a listening session on a signal (SIGINT, SIGTERM), waking any wait at once."""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager, suppress


class StopRequest:
    """A request to stop listening (SIGINT, SIGTERM, or :meth:`request` from any thread).

    The source stops at its next block; a source blocked on a read wakes up at once (the
    request also writes to a pipe the read waits on). Nothing is interrupted half-way, so the
    open events can be closed.
    """

    def __init__(self):
        self.signum: int | None = None
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)

    @property
    def requested(self) -> bool:
        """Whether a stop was requested."""
        return self.signum is not None

    def request(self, signum: int = signal.SIGTERM) -> None:
        """Ask the listening to stop (as if ``signum`` had been received)."""
        self.signum = signum
        with suppress(OSError):  # a full pipe: already woken up
            os.write(self._write_fd, b"\0")

    def fileno(self) -> int:
        """A file descriptor that becomes readable when a stop is requested."""
        return self._read_fd

    @contextmanager
    def on_signals(self, *signums: int):
        """Turn the given signals into stop requests while the block runs (main thread only)."""
        previous = {
            s: signal.signal(s, lambda number, frame: self.request(number)) for s in signums
        }
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def close(self) -> None:
        """Release the pipe."""
        for fd in (self._read_fd, self._write_fd):
            with suppress(OSError):
                os.close(fd)
