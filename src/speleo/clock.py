"""One clock for everything that depends on time (schedules, escalations, reminders, retention).

Code that waits or compares with "now" takes a `Clock`; the server passes `SystemClock()`,
tests pass a `ManualClock` and move time with `advance()` instead of sleeping.
"""

from __future__ import annotations

import threading
import time


class Clock:
    """Wall-clock seconds since the epoch (UTC) and an interruptible wait."""

    def time(self) -> float:
        raise NotImplementedError

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Wait up to `seconds` or until `stop` is set; True when stopped."""
        raise NotImplementedError


class SystemClock(Clock):
    def time(self) -> float:
        return time.time()

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(max(0.0, seconds))


class ManualClock(Clock):
    """A clock that moves only when told (`set`, `advance`); waits return when time passes."""

    def __init__(self, start: float) -> None:
        self._now = float(start)
        self._cond = threading.Condition()

    def time(self) -> float:
        with self._cond:
            return self._now

    def set(self, when: float) -> None:
        with self._cond:
            self._now = float(when)
            self._cond.notify_all()

    def advance(self, seconds: float) -> float:
        with self._cond:
            self._now += seconds
            self._cond.notify_all()
            return self._now

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        deadline = self.time() + seconds
        with self._cond:
            while self._now < deadline and not stop.is_set():
                self._cond.wait(0.05)
        return stop.is_set()


class OffsetFileClock(Clock):
    """The system clock plus an offset (seconds) read from a file: end-to-end tests move a real
    server's time forward by writing a number into the file (`SPELEO_TEST_CLOCK_FILE`, see
    `from_environment`). A missing or unreadable file means no offset. Never used unless that
    variable is set."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._cache: tuple[float, float] = (-1.0, 0.0)   # (file mtime, offset)

    def offset(self) -> float:
        import os

        try:
            mtime = os.stat(self.path).st_mtime
        except OSError:
            return 0.0
        if mtime != self._cache[0]:
            try:
                with open(self.path) as f:
                    value = float(f.read().strip() or 0)
            except (OSError, ValueError):
                value = 0.0
            self._cache = (mtime, value)
        return self._cache[1]

    def time(self) -> float:
        return time.time() + self.offset()

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        # waits are short slices so that a jump of the offset is seen within 0.25 s
        deadline = self.time() + seconds
        while not stop.is_set():
            left = deadline - self.time()
            if left <= 0:
                return False
            stop.wait(min(left, 0.25))
        return True


TEST_CLOCK_ENV = "SPELEO_TEST_CLOCK_FILE"


def from_environment() -> Clock:
    """`OffsetFileClock($SPELEO_TEST_CLOCK_FILE)` when that variable is set (end-to-end tests),
    else `SystemClock()`."""
    import os

    path = os.environ.get(TEST_CLOCK_ENV)
    return OffsetFileClock(path) if path else SystemClock()
