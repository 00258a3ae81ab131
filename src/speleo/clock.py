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
