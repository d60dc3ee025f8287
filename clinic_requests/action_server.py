"""``python -m clinic_requests.action_server``: the action server, with its request work.

The same server as ``python -m rasa_sdk``: Rasa SDK's own command line, app and options
(``--actions`` defaults to ``actions``; ``--port 5055``, ``SANIC_HOST``, ``SANIC_WORKERS``,
``--cors``, TLS), plus two listeners on its Sanic app, attached through Rasa SDK's plugin hook
(``attach_sanic_app_extensions``, run by :func:`rasa_sdk.endpoint.run`):

* before the server starts, in every serving process: that process's delivery worker and daily
  retention purge (:func:`clinic_requests.background.start`), so requests left pending before
  a restart are delivered as soon as the server runs, whether or not anyone chats;
* after the server stopped (SIGTERM, SIGINT / Ctrl-C), once the calls in progress were
  answered: both stopped (:func:`clinic_requests.background.stop`), each with a log line; a
  delivery in progress finishes first, and whatever is still pending waits in the outbox.

Started by ``scripts/serve.sh`` (``make run``), ``clinic_scaled`` (``make run-scaled``), and
the systemd unit and compose file in ``deploy/``. Plain ``python -m rasa_sdk`` still answers,
but delivers nothing (requests wait for another action server).
"""

import logging
from typing import List, Optional

import pluggy
from sanic import Sanic

from clinic_requests import background

logger = logging.getLogger("clinic_requests.action_server")  # also when run as __main__

ACTIONS_PACKAGE = "actions"
hookimpl = pluggy.HookimplMarker("rasa_sdk")


class RequestWork:
    """Rasa SDK plugin: this process's delivery worker and purge live as long as its server."""

    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        app.register_listener(_start, "before_server_start")
        app.register_listener(_stop, "after_server_stop")


async def _start(_app: Sanic, _loop: object) -> None:
    background.start()


async def _stop(_app: Sanic, _loop: object) -> None:
    background.stop()


PLUGIN = RequestWork()


def main(argv: Optional[List[str]] = None) -> None:
    """Parse Rasa SDK's options, attach the listeners, run Rasa SDK's server until stopped."""
    from rasa_sdk.__main__ import main_from_args
    from rasa_sdk.endpoint import create_argument_parser
    from rasa_sdk.plugin import plugin_manager

    parser = create_argument_parser()
    parser.prog = "python -m clinic_requests.action_server"
    args = parser.parse_args(argv)
    args.actions = args.actions or ACTIONS_PACKAGE
    manager = plugin_manager()
    if not manager.is_registered(PLUGIN):
        manager.register(PLUGIN)
    main_from_args(args)
    logger.info("Action server stopped.")


if __name__ == "__main__":
    main()
