"""Alerts: saved searches run on a schedule, trigger conditions, throttling, actions.

See docs/alerts.md. Modules: `spec` (Splunk's keys, canonical spelling), `conf`
(savedsearches.conf), `cron`, `store` (saved searches in the ops DB), `state` (scheduler state,
runs, throttle keys, fired alerts), `conditions` (trigger conditions, pure), `throttle`,
`runner` (one run of a saved search), `scheduler` (the server thread), `actions/` (one module
per action and the `register_action` hook), `rules/` (ElastAlert rule types, pure).
`fschange/` is the file-change monitor (docs/alerts-fschange.md).
"""

from speleo import hooks


def _saved_search_text(home, name: str, reader=None) -> str:
    """The search text of saved search NAME of `home`, for `| savedsearch` (spl/savedsearch.py),
    among those `reader(saved) -> bool` accepts (the searcher's: another user's private saved
    search is neither run nor named, as if it did not exist); None: any. Raises NotFoundError,
    InputError (several that the searcher may read)."""
    from speleo.alerts.store import for_home
    from speleo.errors import InputError, NotFoundError

    store = for_home(home)
    if reader is None:
        return store.get(name).spec["search"]
    seen = [s for s in store.named(name) if reader(s)]
    if not seen:
        raise NotFoundError(f"no saved search named '{name}' that you may read (see 'speleo saved list')")
    if len(seen) > 1:
        raise InputError(f"several owners have a saved search named '{name}' "
                         f"({', '.join(s.owner for s in seen)}); name the owner")
    return seen[0].spec["search"]


hooks.saved_search_source = _saved_search_text
