"""Running the enabled actions of one trigger: each on a worker thread with its `maxtime`,
none able to stop another (Splunk limits.conf `action_execution_threads`, alert_actions.conf
`maxtime`). Returns one outcome per action: {"action", "status": success|failed, "reason"}.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from typing import Callable

from speleo.alerts.actions import ActionContext, get_action

ACTION_THREADS = 10


class ActionPool:
    """A bounded pool of action workers shared by every run of a scheduler."""

    def __init__(self, threads: int = ACTION_THREADS) -> None:
        self.pool = cf.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="speleo-action")

    def run(self, names: list[str], make_ctx: Callable[[str], ActionContext]) -> list[dict]:
        """Run each named action with its context; wait for each at most its maxtime."""
        started = []
        for name in names:
            action = get_action(name)
            if action is None:
                started.append((name, None, 0.0, f"no alert action named '{name}' is registered"))
                continue
            try:
                ctx = make_ctx(name)
            except Exception as e:  # a parameter that does not render: this action fails alone
                started.append((name, None, 0.0, f"{type(e).__name__}: {e}"))
                continue
            started.append((name, self.pool.submit(action.handler, ctx), action.maxtime_secs, None))
        return [self._outcome(n, f, maxtime, early) for n, f, maxtime, early in started]

    @staticmethod
    def _outcome(name: str, fut, maxtime: float, early: str | None) -> dict:
        if fut is None:
            return {"action": name, "status": "failed", "reason": early}
        t0 = time.monotonic()
        try:
            msg = fut.result(timeout=maxtime)
            return {"action": name, "status": "success", "reason": msg or ""}
        except cf.TimeoutError:
            fut.cancel()
            return {"action": name, "status": "failed",
                    "reason": f"did not finish within its maxtime of {maxtime:g} s (still running in the background)"}
        except Exception as e:
            return {"action": name, "status": "failed", "reason": f"{e}" or type(e).__name__,
                    "secs": round(time.monotonic() - t0, 3)}

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
