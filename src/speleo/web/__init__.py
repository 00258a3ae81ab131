"""The web interface: sign-in, the search page and the overview page (see docs/web.md).

`install(app, runtime)` adds the routes to the API's FastAPI app and lets the API accept a
signed-in browser session (with its CSRF header) wherever it accepts the API token.
"""

from speleo.web.routes import install

__all__ = ["install"]
