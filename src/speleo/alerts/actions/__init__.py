"""Alert actions and THE alert action hook.

Every action (email, webhook, script, logevent, lookup, summary_index, and whatever later
work adds, such as opening an incident) is a handler registered by name:

    from speleo.alerts.actions import register_action, ActionContext

    def open_incident(ctx: ActionContext) -> str:
        ...                      # raise ActionError("why", ...) when it cannot
        return "incident 42 opened"

    register_action("incident", open_incident, track_alert=True, maxtime_secs=60)

A saved search enables it with `action.incident = 1` and passes parameters with
`action.incident.<param> = value` (they arrive in `ctx.params`, tokens not yet expanded:
call `ctx.render(text)`). The scheduler calls each enabled action once per trigger (digest
mode) or once per result (per-result mode), each on its own worker thread with the action's
`maxtime_secs`; an action that raises or times out is recorded (`alert_actions` in the run
record and an `_internal` event with sourcetype `alert_actions`) and never stops the others.
Splunk alert_actions.conf.spec: `maxtime`, `track_alert`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from speleo.alerts.actions.base import ActionContext, ActionError, ServerContext

__all__ = ["ActionContext", "ActionError", "ServerContext", "Action", "register_action", "registered_actions",
           "get_action"]


@dataclass(frozen=True)
class Action:
    name: str
    handler: Callable[[ActionContext], str | None]
    track_alert: bool = False
    maxtime_secs: float = 300.0
    defaults: tuple[tuple[str, str], ...] = ()


_REGISTRY: dict[str, Action] = {}


def register_action(name: str, handler: Callable[[ActionContext], str | None], *, track_alert: bool = False,
                    maxtime_secs: float = 300.0, defaults: dict[str, str] | None = None) -> None:
    """Register (or replace) the alert action NAME. `defaults`: parameter values used when the
    saved search does not set `action.<name>.<param>` (Splunk's alert_actions.conf)."""
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"alert action names are letters, digits and '_': {name!r}")
    _REGISTRY[name] = Action(name, handler, track_alert, maxtime_secs, tuple(sorted((defaults or {}).items())))


def registered_actions() -> dict[str, Action]:
    _load_builtins()
    return dict(_REGISTRY)


def get_action(name: str) -> Action | None:
    _load_builtins()
    return _REGISTRY.get(name)


_loaded = False


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    from speleo.alerts.actions import builtins  # noqa: F401  (registers email, webhook, ...)
