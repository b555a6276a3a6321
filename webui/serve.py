"""Serving the web admin with waitress."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from waitress.server import BaseWSGIServer, create_server

from orchestrator.settings import Settings
from webui import create_app

log = logging.getLogger(__name__)

THREADS = 8


def make_server(settings: Settings) -> BaseWSGIServer:
    """A bound, listening waitress server for the web admin; ``run()`` serves.

    Tests run ``server.run`` in a thread and end it with :func:`stop`.
    """
    server = create_server(create_app(settings), host=settings.web_host,
                           port=settings.web_port, threads=THREADS, ident="orchestrator")
    assert isinstance(server, BaseWSGIServer)  # one host, one socket
    return server


def stop(server: BaseWSGIServer) -> None:
    """Make a running ``server.run()`` return: close every socket, end the workers.

    The sockets are closed from the server's own loop thread (through its trigger),
    since waitress's loop is not thread-safe.
    """
    loop: Any = server  # the stubs know neither its socket map nor its trigger's type

    def close_all() -> None:
        for channel in list(loop._map.values()):
            channel.close()

    try:
        loop.trigger.pull_trigger(close_all)
    except OSError as exc:
        # The trigger's pipe is gone (seen once in the full test suite: EBADF, cause
        # not found). Close from here instead: the loop ends within its 1 s poll
        # timeout once its map is empty.
        log.warning("web admin trigger unusable (%s): closing its sockets directly", exc)
        # the trigger's descriptors may be reused by now: only forget it, never close
        loop.trigger.del_channel()
        for channel in list(loop._map.values()):
            with contextlib.suppress(OSError):
                channel.close()
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)


def serve(settings: Settings) -> None:
    """Serve on web_host:web_port until interrupted."""
    server = make_server(settings)
    print(f"web admin listening on http://{settings.web_host}:{settings.web_port}/",
          flush=True)
    server.run()
