"""Password-guessing protection: failed sign-ins slow down per account and per client address.

Each key (`user:<name>`, `ip:<address>`) keeps the times of its recent failures within a
sliding window (`window_secs`, 15 minutes). Once a key has `free` failures in the window (5 per
account, 20 per address), it must wait `base_delay_secs * 2**(n - free)` seconds after its
latest failure (n failures; capped at `max_delay_secs`) before another attempt is even checked:
1, 2, 4, 8... seconds. A success
clears the account's failures (not the address's: one good account must not reset the count of
a client guessing others). The account key counts names that do not exist too, so the answers
tell nothing about which names exist.

Memory is bounded: at most `max_keys` keys are tracked (the least recently failed are
forgotten first) and at most `max_failures_kept` times per key. Times come from the injectable
clock (`speleo.clock`), epoch seconds.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque

from speleo.clock import Clock, SystemClock


class LoginThrottle:
    """Tracks failed sign-ins; `retry_after(keys)` says how long a caller must wait (0: go)."""

    def __init__(self, clock: Clock | None = None, *, window_secs: float = 900.0, free: dict | None = None,
                 base_delay_secs: float = 1.0, max_delay_secs: float = 900.0, max_keys: int = 10_000,
                 max_failures_kept: int = 64) -> None:
        self.clock = clock or SystemClock()
        self.window_secs = window_secs
        # a shared address (NAT, a proxy) serves many people: it gets more free failures
        self.free = free or {"user": 5, "ip": 20}
        self.base_delay_secs = base_delay_secs
        self.max_delay_secs = max_delay_secs
        self.max_keys = max_keys
        self.max_failures_kept = max_failures_kept
        self._fails: OrderedDict[str, deque] = OrderedDict()
        self._lock = threading.Lock()
        self.lockouts = 0   # attempts refused (429) since start, shown in the status

    @staticmethod
    def keys(user: str, address: str | None) -> list[str]:
        return [f"user:{user.lower()[:64]}", f"ip:{address or 'unknown'}"]

    def retry_after(self, keys: list[str]) -> int:
        """Whole seconds to wait before the next attempt on any of `keys` (0 = may try now)."""
        now = self.clock.time()
        wait = 0.0
        with self._lock:
            for key in keys:
                wait = max(wait, self._wait(key, now))
            if wait > 0:
                self.lockouts += 1
        return int(math.ceil(wait))

    def failed(self, keys: list[str]) -> int:
        """Record a failure on every key; returns the failures of the first key in the window."""
        now = self.clock.time()
        with self._lock:
            for key in keys:
                q = self._fails.pop(key, None) or deque(maxlen=self.max_failures_kept)
                q.append(now)
                self._fails[key] = q          # most recent last
                while len(self._fails) > self.max_keys:
                    self._fails.popitem(last=False)
            return len(self._recent(keys[0], now))

    def succeeded(self, user_key: str) -> None:
        with self._lock:
            self._fails.pop(user_key, None)

    def tracked(self) -> int:
        return len(self._fails)

    def _recent(self, key: str, now: float) -> deque:
        q = self._fails.get(key)
        if q is None:
            return deque()
        while q and q[0] <= now - self.window_secs:
            q.popleft()
        if not q:
            del self._fails[key]
        return q

    def _wait(self, key: str, now: float) -> float:
        q = self._recent(key, now)
        free = self.free.get(key.split(":", 1)[0], 5)
        over = len(q) - free
        if over < 0:
            return 0.0
        delay = min(self.max_delay_secs, self.base_delay_secs * 2 ** over)
        return max(0.0, q[-1] + delay - now)


def sign_in(runtime, web, name: str, password: str, src: str, via: str):
    """Check a password as every sign-in does (the web form, Splunk's `auth/login`, Basic auth):
    the user when it is theirs (their account's failures cleared), else None; failures and
    refusals go to the audit trail (never the password), success is for the caller to record.
    Raises ThrottledError (429) while the account or the address must wait."""
    from speleo.errors import ThrottledError
    from speleo.server.audit import audit

    keys = web.throttle.keys(name, src)
    wait = web.throttle.retry_after(keys)
    extra = {} if via == "web" else {"via": via}
    if wait:
        audit(runtime, name, "login attempt", info="failed", reason="throttled", src=src, retry_after=wait, **extra)
        raise ThrottledError(f"too many failed sign-ins; try again in {wait} seconds", wait)
    user = web.users.authenticate(name, password)
    if user is None:
        failures = web.throttle.failed(keys)
        audit(runtime, name, "login attempt", info="failed", reason="bad credentials", src=src,
              failures_in_window=failures, **extra)
        return None
    web.throttle.succeeded(keys[0])
    return user
