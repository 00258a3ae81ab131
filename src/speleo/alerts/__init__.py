"""Alerts: saved searches run on a schedule, trigger conditions, throttling, actions.

See docs/alerts.md. Modules: `spec` (Splunk's keys, canonical spelling), `conf`
(savedsearches.conf), `cron`, `store` (saved searches in the ops DB), `state` (scheduler state,
runs, throttle keys, fired alerts), `conditions` (trigger conditions, pure), `throttle`,
`runner` (one run of a saved search), `scheduler` (the server thread), `actions/` (one module
per action and the `register_action` hook), `rules/` (ElastAlert rule types, pure).
`fschange/` is the file-change monitor (docs/alerts-fschange.md).
"""

from speleo import hooks


def _saved_search_text(home, name: str) -> str:
    """The search text of saved search NAME of `home`, for `| savedsearch` (spl/savedsearch.py)."""
    from speleo.alerts.store import for_home

    return for_home(home).get(name).spec["search"]


hooks.saved_search_source = _saved_search_text
