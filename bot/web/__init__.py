"""The daemon's one HTTP side: WordPress's ping, health, metrics and the newsroom console, on one port.

- ``server``: uvicorn on a thread of its own, with the connection limits the bot keeps (a head timeout, a bound
  on open connections) and a guard that checks a request's body before the app sees it.
- ``app``: the Starlette application: ping, ``/healthz``, ``/metrics``, and the console when configured.
- ``auth``, ``i18n``, ``pages``, ``forms``: the console's sessions and roles, its message catalogues, its pages.
"""

from bot.web.server import HEAD_TIMEOUT, IDLE_TIMEOUT, MAX_BODY, MAX_CONNECTIONS, MAX_HEAD, WebSide

__all__ = ["HEAD_TIMEOUT", "IDLE_TIMEOUT", "MAX_BODY", "MAX_CONNECTIONS", "MAX_HEAD", "WebSide"]
