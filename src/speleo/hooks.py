"""Functions a higher layer provides to a lower one, which may not import it (docs/architecture.md:
imports point one way). Set at import time by their owner; None until then.

`saved_search_source(home, name, reader=None) -> str`: the search text of a home's saved search,
for `| savedsearch` (spl/savedsearch.py through query.macrostore), among those `reader(saved)`
accepts (None: any); provided by `speleo.alerts`, which owns saved searches. Raises NotFoundError
or InputError.
"""

from __future__ import annotations

from collections.abc import Callable

saved_search_source: Callable[..., str] | None = None
